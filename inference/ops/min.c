/* Min: elementwise smallest of 1 or more inputs with multidirectional broadcasting,
 * folded left to right. float32, float16 (through float), int64, int32, int8, uint8. A NaN
 * in any input gives NaN, as numpy's minimum does. */
#include <limits.h>

#include "ops/elementwise_common.h"

/* x is kept when it wins or is NaN; a NaN y loses every comparison and so is kept too. */
LENS_EW_BINARY(min_f32, float, float, (x < y || x != x) ? x : y)
LENS_EW_BINARY(min_i64, int64_t, int64_t, x < y ? x : y)
LENS_EW_BINARY(min_i32, int32_t, int32_t, x < y ? x : y)
LENS_EW_BINARY(min_i8, int8_t, int8_t, x < y ? x : y)
LENS_EW_BINARY(min_u8, uint8_t, uint8_t, x < y ? x : y)

static const lens_ew_op min_op = {
    .arity = 2,
    .fn = {
        [LENS_DTYPE_FLOAT32] = min_f32,
        [LENS_DTYPE_INT64] = min_i64,
        [LENS_DTYPE_INT32] = min_i32,
        [LENS_DTYPE_INT8] = min_i8,
        [LENS_DTYPE_UINT8] = min_u8,
    },
    .float16_via_float32 = true,
};

static lens_status *min_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &min_op, in, out);
}

static double min_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &min_op, in, out);
}

static lens_status *min_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &min_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_min = {
    .name = "Min",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = INT_MAX,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = min_infer,
    .flops = min_flops,
    .compute = min_compute,
};
