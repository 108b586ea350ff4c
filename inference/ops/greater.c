/* Greater: elementwise A > B as bool, with multidirectional broadcasting. Inputs:
 * float32, float16 (through float), int64, int32, int8, uint8. */
#include "ops/elementwise_common.h"

LENS_EW_BINARY(greater_f32, float, uint8_t, x > y)
LENS_EW_BINARY(greater_i64, int64_t, uint8_t, x > y)
LENS_EW_BINARY(greater_i32, int32_t, uint8_t, x > y)
LENS_EW_BINARY(greater_i8, int8_t, uint8_t, x > y)
LENS_EW_BINARY(greater_u8, uint8_t, uint8_t, x > y)

static const lens_ew_op greater_op = {
    .arity = 2,
    .fn = {
        [LENS_DTYPE_FLOAT32] = greater_f32,
        [LENS_DTYPE_INT64] = greater_i64,
        [LENS_DTYPE_INT32] = greater_i32,
        [LENS_DTYPE_INT8] = greater_i8,
        [LENS_DTYPE_UINT8] = greater_u8,
    },
    .float16_via_float32 = true,
    .bool_output = true,
};

static lens_status *greater_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &greater_op, in, out);
}

static double greater_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &greater_op, in, out);
}

static lens_status *greater_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                    lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &greater_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_greater = {
    .name = "Greater",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = greater_infer,
    .flops = greater_flops,
    .compute = greater_compute,
};
