/* Exp: elementwise e^X. float32, float16 (through float). */
#include <math.h>

#include "ops/elementwise_common.h"

LENS_EW_UNARY(exp_f32, float, float, void, expf(x))

static const lens_ew_op exp_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_FLOAT32] = exp_f32,
    },
    .float16_via_float32 = true,
};

static lens_status *exp_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &exp_op, in, out);
}

static double exp_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &exp_op, in, out);
}

static lens_status *exp_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &exp_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_exp = {
    .name = "Exp",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = exp_infer,
    .flops = exp_flops,
    .compute = exp_compute,
};
