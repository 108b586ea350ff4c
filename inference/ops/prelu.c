/* PRelu: elementwise X < 0 ? slope * X : X, where slope broadcasts unidirectionally to X
 * (the output has X's shape). float32, float16 (through float), and (opset 16) int64,
 * int32 (wrapping on overflow). */
#include "ops/elementwise_common.h"

LENS_EW_BINARY(prelu_f32, float, float, x < 0 ? y * x : x)
LENS_EW_BINARY(prelu_i64, int64_t, int64_t, x < 0 ? LENS_EW_WRAP(int64_t, uint64_t, y, *, x) : x)
LENS_EW_BINARY(prelu_i32, int32_t, int32_t, x < 0 ? LENS_EW_WRAP(int32_t, uint32_t, y, *, x) : x)

static const lens_ew_op prelu_op = {
    .arity = 2,
    .fn = {
        [LENS_DTYPE_FLOAT32] = prelu_f32,
        [LENS_DTYPE_INT64] = prelu_i64,
        [LENS_DTYPE_INT32] = prelu_i32,
    },
    .float16_via_float32 = true,
    .unidirectional = true,
    .flops_per_element = 2,
};

static lens_status *prelu_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &prelu_op, in, out);
}

static double prelu_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &prelu_op, in, out);
}

static lens_status *prelu_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                  lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &prelu_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_prelu = {
    .name = "PRelu",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = prelu_infer,
    .flops = prelu_flops,
    .compute = prelu_compute,
};
