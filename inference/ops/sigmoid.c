/* Sigmoid: elementwise 1 / (1 + e^-X). float32, float16 (through float). */
#include <math.h>

#include "ops/elementwise_common.h"

/* With e = e^-|x|, which never overflows: 1 / (1 + e) for x >= 0 and e / (1 + e) below,
 * so small results keep their relative precision (no 1 - s cancellation). */
static inline float sigmoid(float x) {
  float e = expf(-fabsf(x));
  return (x >= 0 ? 1.0f : e) / (1.0f + e);
}

LENS_EW_UNARY(sigmoid_f32, float, float, void, sigmoid(x))

static const lens_ew_op sigmoid_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_FLOAT32] = sigmoid_f32,
    },
    .float16_via_float32 = true,
    .flops_per_element = 4,
};

static lens_status *sigmoid_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &sigmoid_op, in, out);
}

static double sigmoid_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &sigmoid_op, in, out);
}

static lens_status *sigmoid_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                    lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &sigmoid_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_sigmoid = {
    .name = "Sigmoid",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = sigmoid_infer,
    .flops = sigmoid_flops,
    .compute = sigmoid_compute,
};
