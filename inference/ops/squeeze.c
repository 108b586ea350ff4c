/* Squeeze: removes size-1 dimensions, those listed in axes (an attribute before opset 13,
 * an optional input from 13) or every one when axes is absent. */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

typedef struct squeeze_params {
  bool axes_from_input;
  bool has_axes;
  size_t n_axes;
  int64_t axes[LENS_MAX_RANK];
} squeeze_params;

static lens_status *squeeze_parse(lens_node *node, void *out) {
  squeeze_params *p = out;
  p->axes_from_input = node->opset >= 13;
  if (p->axes_from_input) {
    if (lens_node_attr(node, "axes"))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "axes is an input from opset 13, not an attribute");
    return NULL;
  }
  if (node->n_inputs > 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "takes one input before opset 13 (axes is an attribute)");
  const int64_t *axes;
  size_t n;
  LENS_TRY(lens_attr_ints(node, "axes", &axes, &n));
  if (n > LENS_MAX_RANK)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axes has %zu values, more than rank %d",
                           n, LENS_MAX_RANK);
  p->has_axes = lens_node_attr(node, "axes") != NULL;
  p->n_axes = n;
  if (n) memcpy(p->axes, axes, n * sizeof *axes);
  return NULL;
}

static lens_status *squeeze_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(squeeze_params), squeeze_parse);
}

static lens_status *squeeze_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const squeeze_params *p = node->params;
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "data", &es));
  out[0].dtype = in[0].dtype;
  int rank = in[0].rank;
  int64_t axes[LENS_MAX_RANK];
  size_t n = p->n_axes;
  bool given = p->has_axes;
  memcpy(axes, p->axes, sizeof axes);
  if (p->axes_from_input) {
    const lens_value *a = lens_shape_input(node, in, 1);
    given = a != NULL;
    n = 0;
    if (a) {
      if (a->rank > 1)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axes must be 1-D, found rank %d",
                               a->rank);
      if (!a->data && lens_value_elements(a) > 0) {
        out[0].rank = -1;
        return NULL;
      }
      if (lens_value_elements(a) > rank)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                               "axes has %lld values for a rank-%d input",
                               (long long)lens_value_elements(a), rank);
      LENS_TRY(lens_value_read_ints(node, a, "axes", axes, LENS_MAX_RANK, &n));
    }
  }
  bool drop[LENS_MAX_RANK] = {false};
  if (given && n > 0) {
    int norm[LENS_MAX_RANK];
    LENS_TRY(lens_shape_normalize_axes(node, axes, n, rank, "axes", norm));
    for (size_t i = 0; i < n; i++) {
      if (in[0].dims[norm[i]] != 1)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                               "cannot squeeze axis %d of size %lld", norm[i],
                               (long long)in[0].dims[norm[i]]);
      drop[norm[i]] = true;
    }
  } else {
    for (int d = 0; d < rank; d++) drop[d] = in[0].dims[d] == 1;
  }
  int r = 0;
  for (int d = 0; d < rank; d++)
    if (!drop[d]) out[0].dims[r++] = in[0].dims[d];
  out[0].rank = r;
  return NULL;
}

const lens_op_def lens_op_squeeze = {
    .name = "Squeeze",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = squeeze_prepare,
    .infer = squeeze_infer,
    .compute = lens_shape_copy_view,
};
