/* Log: elementwise natural logarithm (NaN below 0, -inf at 0). float32, float16 (through
 * float). */
#include <math.h>

#include "ops/elementwise_common.h"

LENS_EW_UNARY(log_f32, float, float, void, logf(x))

static const lens_ew_op log_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_FLOAT32] = log_f32,
    },
    .float16_via_float32 = true,
};

static lens_status *log_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &log_op, in, out);
}

static double log_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &log_op, in, out);
}

static lens_status *log_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &log_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_log = {
    .name = "Log",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = log_infer,
    .flops = log_flops,
    .compute = log_compute,
};
