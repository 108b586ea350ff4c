/* ReduceMean: the mean over the given axes (all when none) for float32, float16 (NaN when
 * empty), int32 and int64 (truncated). keepdims keeps reduced axes as size 1. axes is an
 * attribute (an input from opset 18). */
#include "ops/shape_common.h"

static lens_status *reducemean_prepare(lens_node *node) {
  return lens_reduce_prepare(node, LENS_REDUCE_MEAN);
}

const lens_op_def lens_op_reducemean = {
    .name = "ReduceMean",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = reducemean_prepare,
    .infer = lens_reduce_infer,
    .flops = lens_reduce_flops,
    .compute = lens_reduce_compute,
};
