/* Flatten: a 2-D view [prod(dims[0..axis)), prod(dims[axis..))]; axis in [-rank, rank]. */
#include <stdlib.h>

#include "ops/shape_common.h"

typedef struct flatten_params {
  int64_t axis;
} flatten_params;

static lens_status *flatten_parse(lens_node *node, void *out) {
  flatten_params *p = out;
  return lens_attr_int(node, "axis", 1, &p->axis);
}

static lens_status *flatten_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(flatten_params), flatten_parse);
}

static lens_status *flatten_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const flatten_params *p = node->params;
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "input", &es));
  int rank = in[0].rank;
  int64_t axis = p->axis;
  if (axis < -(int64_t)rank || axis > rank)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axis %lld out of range for rank %d",
                           (long long)axis, rank);
  if (axis < 0) axis += rank;
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < rank; d++) {
    if (d < axis) outer *= in[0].dims[d];
    else inner *= in[0].dims[d];
  }
  out[0].dtype = in[0].dtype;
  out[0].rank = 2;
  out[0].dims[0] = outer;
  out[0].dims[1] = inner;
  return lens_check_output_shape(node, &out[0]);
}

const lens_op_def lens_op_flatten = {
    .name = "Flatten",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = flatten_prepare,
    .infer = flatten_infer,
    .compute = lens_shape_copy_view,
};
