/* Div: elementwise A / B with multidirectional broadcasting. float32, float16 (through
 * float), int64, int32, int8, uint8. Integer division truncates toward zero as in C; an
 * integer division by zero is a runtime error, and INT_MIN / -1 wraps to INT_MIN. */
#include "ops/elementwise_common.h"

/* x / y for signed T, never trapping: y == -1 is negation with wrap-around (the one
 * quotient that overflows). */
#define DIV_SIGNED(T, UT, x, y, ok)                                                           \
  ((y) == 0 ? ((ok) = false, (T)0) : (y) == -1 ? (T)((UT)0 - (UT)(x)) : (T)((x) / (y)))

LENS_EW_BINARY(div_f32, float, float, x / y)
LENS_EW_BINARY(div_i64, int64_t, int64_t, DIV_SIGNED(int64_t, uint64_t, x, y, ok))
LENS_EW_BINARY(div_i32, int32_t, int32_t, DIV_SIGNED(int32_t, uint32_t, x, y, ok))
LENS_EW_BINARY(div_i8, int8_t, int8_t, DIV_SIGNED(int8_t, uint32_t, x, y, ok))
LENS_EW_BINARY(div_u8, uint8_t, uint8_t, y == 0 ? (ok = false, (uint8_t)0) : (uint8_t)(x / y))

static const lens_ew_op div_op = {
    .arity = 2,
    .fn = {
        [LENS_DTYPE_FLOAT32] = div_f32,
        [LENS_DTYPE_INT64] = div_i64,
        [LENS_DTYPE_INT32] = div_i32,
        [LENS_DTYPE_INT8] = div_i8,
        [LENS_DTYPE_UINT8] = div_u8,
    },
    .float16_via_float32 = true,
    .failure = "integer division by zero",
};

static lens_status *div_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &div_op, in, out);
}

static double div_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &div_op, in, out);
}

static lens_status *div_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &div_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_div = {
    .name = "Div",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = div_infer,
    .flops = div_flops,
    .compute = div_compute,
};
