/* Equal: elementwise A == B as bool, with multidirectional broadcasting. Inputs:
 * float32, float16 (through float), int64, int32, int8, uint8, bool. */
#include "ops/elementwise_common.h"

LENS_EW_BINARY(equal_f32, float, uint8_t, x == y)
LENS_EW_BINARY(equal_i64, int64_t, uint8_t, x == y)
LENS_EW_BINARY(equal_i32, int32_t, uint8_t, x == y)
LENS_EW_BINARY(equal_i8, int8_t, uint8_t, x == y)
LENS_EW_BINARY(equal_u8, uint8_t, uint8_t, x == y)
/* bool values are compared by truth, whatever the nonzero byte. */
LENS_EW_BINARY(equal_bool, uint8_t, uint8_t, (x != 0) == (y != 0))

static const lens_ew_op equal_op = {
    .arity = 2,
    .fn = {
        [LENS_DTYPE_FLOAT32] = equal_f32,
        [LENS_DTYPE_INT64] = equal_i64,
        [LENS_DTYPE_INT32] = equal_i32,
        [LENS_DTYPE_INT8] = equal_i8,
        [LENS_DTYPE_UINT8] = equal_u8,
        [LENS_DTYPE_BOOL] = equal_bool,
    },
    .float16_via_float32 = true,
    .bool_output = true,
};

static lens_status *equal_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &equal_op, in, out);
}

static double equal_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &equal_op, in, out);
}

static lens_status *equal_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                  lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &equal_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_equal = {
    .name = "Equal",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = equal_infer,
    .flops = equal_flops,
    .compute = equal_compute,
};
