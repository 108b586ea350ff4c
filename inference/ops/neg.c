/* Neg: elementwise -X. float32, float16 (through float), int64, int32, int8; integers wrap
 * (-INT_MIN is INT_MIN). */
#include "ops/elementwise_common.h"

LENS_EW_UNARY(neg_f32, float, float, void, -x)
LENS_EW_UNARY(neg_i64, int64_t, int64_t, void, LENS_EW_WRAP(int64_t, uint64_t, 0, -, x))
LENS_EW_UNARY(neg_i32, int32_t, int32_t, void, LENS_EW_WRAP(int32_t, uint32_t, 0, -, x))
LENS_EW_UNARY(neg_i8, int8_t, int8_t, void, LENS_EW_WRAP(int8_t, uint32_t, 0, -, x))

static const lens_ew_op neg_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_FLOAT32] = neg_f32,
        [LENS_DTYPE_INT64] = neg_i64,
        [LENS_DTYPE_INT32] = neg_i32,
        [LENS_DTYPE_INT8] = neg_i8,
    },
    .float16_via_float32 = true,
};

static lens_status *neg_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &neg_op, in, out);
}

static double neg_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &neg_op, in, out);
}

static lens_status *neg_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &neg_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_neg = {
    .name = "Neg",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = neg_infer,
    .flops = neg_flops,
    .compute = neg_compute,
};
