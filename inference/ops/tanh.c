/* Tanh: elementwise hyperbolic tangent. float32, float16 (through float). */
#include <math.h>

#include "ops/elementwise_common.h"

LENS_EW_UNARY(tanh_f32, float, float, void, tanhf(x))

static const lens_ew_op tanh_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_FLOAT32] = tanh_f32,
    },
    .float16_via_float32 = true,
    .flops_per_element = 4,
};

static lens_status *tanh_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &tanh_op, in, out);
}

static double tanh_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &tanh_op, in, out);
}

static lens_status *tanh_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &tanh_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_tanh = {
    .name = "Tanh",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = tanh_infer,
    .flops = tanh_flops,
    .compute = tanh_compute,
};
