/* ReduceMax: the largest element over the given axes (all when none) for float32, float16,
 * int32 and int64; NaN if any element is NaN, -inf (or the type's minimum) when empty.
 * keepdims keeps reduced axes as size 1. axes is an attribute (an input from opset 18). */
#include "ops/shape_common.h"

static lens_status *reducemax_prepare(lens_node *node) {
  return lens_reduce_prepare(node, LENS_REDUCE_MAX);
}

const lens_op_def lens_op_reducemax = {
    .name = "ReduceMax",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = reducemax_prepare,
    .infer = lens_reduce_infer,
    .flops = lens_reduce_flops,
    .compute = lens_reduce_compute,
};
