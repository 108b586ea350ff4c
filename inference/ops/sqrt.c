/* Sqrt: elementwise square root (NaN below 0). float32, float16 (through float). */
#include <math.h>

#include "ops/elementwise_common.h"

LENS_EW_UNARY(sqrt_f32, float, float, void, sqrtf(x))

static const lens_ew_op sqrt_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_FLOAT32] = sqrt_f32,
    },
    .float16_via_float32 = true,
};

static lens_status *sqrt_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &sqrt_op, in, out);
}

static double sqrt_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &sqrt_op, in, out);
}

static lens_status *sqrt_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &sqrt_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_sqrt = {
    .name = "Sqrt",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = sqrt_infer,
    .flops = sqrt_flops,
    .compute = sqrt_compute,
};
