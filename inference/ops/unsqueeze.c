/* Unsqueeze: inserts size-1 dimensions at the positions axes names in the output (an
 * attribute before opset 13, a required input from 13). */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

typedef struct unsqueeze_params {
  bool axes_from_input;
  size_t n_axes;
  int64_t axes[LENS_MAX_RANK];
} unsqueeze_params;

static lens_status *unsqueeze_parse(lens_node *node, void *out) {
  unsqueeze_params *p = out;
  p->axes_from_input = node->opset >= 13;
  if (p->axes_from_input) {
    if (lens_node_attr(node, "axes"))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "axes is an input from opset 13, not an attribute");
    if (node->n_inputs < 2)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axes input is required from opset 13");
    return NULL;
  }
  if (node->n_inputs > 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "takes one input before opset 13 (axes is an attribute)");
  const int64_t *axes;
  size_t n;
  LENS_TRY(lens_attr_ints(node, "axes", &axes, &n));
  if (!lens_node_attr(node, "axes"))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axes attribute is required");
  if (n > LENS_MAX_RANK)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "axes has %zu values, at most %d supported",
                           n, LENS_MAX_RANK);
  p->n_axes = n;
  if (n) memcpy(p->axes, axes, n * sizeof *axes);
  return NULL;
}

static lens_status *unsqueeze_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(unsqueeze_params), unsqueeze_parse);
}

static lens_status *unsqueeze_infer(const lens_node *node, const lens_value *in,
                                    lens_value *out) {
  const unsqueeze_params *p = node->params;
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "data", &es));
  out[0].dtype = in[0].dtype;
  int64_t axes[LENS_MAX_RANK];
  size_t n = p->n_axes;
  memcpy(axes, p->axes, sizeof axes);
  if (p->axes_from_input) {
    const lens_value *a = lens_shape_input(node, in, 1);
    if (!a) return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axes input is missing");
    if (a->rank > 1)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axes must be 1-D, found rank %d",
                             a->rank);
    if (!a->data && lens_value_elements(a) > 0) {
      out[0].rank = -1;
      return NULL;
    }
    if (lens_value_elements(a) + in[0].rank > LENS_MAX_RANK)
      return lens_node_error(node, LENS_ERR_UNSUPPORTED, "output rank %lld exceeds %d",
                             (long long)(lens_value_elements(a) + in[0].rank), LENS_MAX_RANK);
    LENS_TRY(lens_value_read_ints(node, a, "axes", axes, LENS_MAX_RANK, &n));
  }
  int out_rank = in[0].rank + (int)n;
  if (out_rank > LENS_MAX_RANK)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "output rank %d exceeds %d", out_rank,
                           LENS_MAX_RANK);
  int norm[LENS_MAX_RANK];
  LENS_TRY(lens_shape_normalize_axes(node, axes, n, out_rank, "axes", norm));
  bool inserted[LENS_MAX_RANK] = {false};
  for (size_t i = 0; i < n; i++) inserted[norm[i]] = true;
  int src = 0;
  for (int d = 0; d < out_rank; d++) out[0].dims[d] = inserted[d] ? 1 : in[0].dims[src++];
  out[0].rank = out_rank;
  return NULL;
}

const lens_op_def lens_op_unsqueeze = {
    .name = "Unsqueeze",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = unsqueeze_prepare,
    .infer = unsqueeze_infer,
    .compute = lens_shape_copy_view,
};
