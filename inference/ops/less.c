/* Less: elementwise A < B as bool, with multidirectional broadcasting. Inputs:
 * float32, float16 (through float), int64, int32, int8, uint8. */
#include "ops/elementwise_common.h"

LENS_EW_BINARY(less_f32, float, uint8_t, x < y)
LENS_EW_BINARY(less_i64, int64_t, uint8_t, x < y)
LENS_EW_BINARY(less_i32, int32_t, uint8_t, x < y)
LENS_EW_BINARY(less_i8, int8_t, uint8_t, x < y)
LENS_EW_BINARY(less_u8, uint8_t, uint8_t, x < y)

static const lens_ew_op less_op = {
    .arity = 2,
    .fn = {
        [LENS_DTYPE_FLOAT32] = less_f32,
        [LENS_DTYPE_INT64] = less_i64,
        [LENS_DTYPE_INT32] = less_i32,
        [LENS_DTYPE_INT8] = less_i8,
        [LENS_DTYPE_UINT8] = less_u8,
    },
    .float16_via_float32 = true,
    .bool_output = true,
};

static lens_status *less_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &less_op, in, out);
}

static double less_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &less_op, in, out);
}

static lens_status *less_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &less_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_less = {
    .name = "Less",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = less_infer,
    .flops = less_flops,
    .compute = less_compute,
};
