/* Relu: elementwise max(X, 0). float32, float16 (through float), and (opset 14) int64, int32,
 * int8. NaN stays NaN. */
#include "ops/elementwise_common.h"

LENS_EW_UNARY(relu_f32, float, float, void, x < 0 ? 0.0f : x)
LENS_EW_UNARY(relu_i64, int64_t, int64_t, void, x < 0 ? 0 : x)
LENS_EW_UNARY(relu_i32, int32_t, int32_t, void, x < 0 ? 0 : x)
LENS_EW_UNARY(relu_i8, int8_t, int8_t, void, x < 0 ? 0 : x)

static const lens_ew_op relu_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_FLOAT32] = relu_f32,
        [LENS_DTYPE_INT64] = relu_i64,
        [LENS_DTYPE_INT32] = relu_i32,
        [LENS_DTYPE_INT8] = relu_i8,
    },
    .float16_via_float32 = true,
};

static lens_status *relu_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &relu_op, in, out);
}

static double relu_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &relu_op, in, out);
}

static lens_status *relu_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &relu_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_relu = {
    .name = "Relu",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = relu_infer,
    .flops = relu_flops,
    .compute = relu_compute,
};
