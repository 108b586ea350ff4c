/* ReduceSum: the sum over the given axes (all when none) for float32, float16 (both
 * accumulated in double), int32 and int64 (wrapping). keepdims keeps reduced axes as size 1.
 * From opset 13 axes is an optional input, and noop_with_empty_axes passes the input through
 * when it is empty. */
#include "ops/shape_common.h"

static lens_status *reducesum_prepare(lens_node *node) {
  return lens_reduce_prepare(node, LENS_REDUCE_SUM);
}

const lens_op_def lens_op_reducesum = {
    .name = "ReduceSum",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = reducesum_prepare,
    .infer = lens_reduce_infer,
    .flops = lens_reduce_flops,
    .compute = lens_reduce_compute,
};
