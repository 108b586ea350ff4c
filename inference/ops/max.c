/* Max: elementwise largest of 1 or more inputs with multidirectional broadcasting,
 * folded left to right. float32, float16 (through float), int64, int32, int8, uint8. A NaN
 * in any input gives NaN, as numpy's maximum does. */
#include <limits.h>

#include "ops/elementwise_common.h"

/* x is kept when it wins or is NaN; a NaN y loses every comparison and so is kept too. */
LENS_EW_BINARY(max_f32, float, float, (x > y || x != x) ? x : y)
LENS_EW_BINARY(max_i64, int64_t, int64_t, x > y ? x : y)
LENS_EW_BINARY(max_i32, int32_t, int32_t, x > y ? x : y)
LENS_EW_BINARY(max_i8, int8_t, int8_t, x > y ? x : y)
LENS_EW_BINARY(max_u8, uint8_t, uint8_t, x > y ? x : y)

static const lens_ew_op max_op = {
    .arity = 2,
    .fn = {
        [LENS_DTYPE_FLOAT32] = max_f32,
        [LENS_DTYPE_INT64] = max_i64,
        [LENS_DTYPE_INT32] = max_i32,
        [LENS_DTYPE_INT8] = max_i8,
        [LENS_DTYPE_UINT8] = max_u8,
    },
    .float16_via_float32 = true,
};

static lens_status *max_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &max_op, in, out);
}

static double max_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &max_op, in, out);
}

static lens_status *max_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &max_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_max = {
    .name = "Max",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = INT_MAX,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = max_infer,
    .flops = max_flops,
    .compute = max_compute,
};
