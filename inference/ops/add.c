/* Add: elementwise A + B with multidirectional broadcasting. float32, float16 (through
 * float), int64, int32, int8, uint8; integers wrap around on overflow. */
#include "ops/elementwise_common.h"

LENS_EW_BINARY(add_f32, float, float, x + y)
LENS_EW_BINARY(add_i64, int64_t, int64_t, LENS_EW_WRAP(int64_t, uint64_t, x, +, y))
LENS_EW_BINARY(add_i32, int32_t, int32_t, LENS_EW_WRAP(int32_t, uint32_t, x, +, y))
LENS_EW_BINARY(add_i8, int8_t, int8_t, LENS_EW_WRAP(int8_t, uint32_t, x, +, y))
LENS_EW_BINARY(add_u8, uint8_t, uint8_t, LENS_EW_WRAP(uint8_t, uint32_t, x, +, y))

static const lens_ew_op add_op = {
    .arity = 2,
    .fn = {
        [LENS_DTYPE_FLOAT32] = add_f32,
        [LENS_DTYPE_INT64] = add_i64,
        [LENS_DTYPE_INT32] = add_i32,
        [LENS_DTYPE_INT8] = add_i8,
        [LENS_DTYPE_UINT8] = add_u8,
    },
    .float16_via_float32 = true,
};

static lens_status *add_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &add_op, in, out);
}

static double add_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &add_op, in, out);
}

static lens_status *add_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &add_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_add = {
    .name = "Add",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = add_infer,
    .flops = add_flops,
    .compute = add_compute,
};
