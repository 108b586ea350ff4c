/* Reshape: the same elements under a new shape given by input 1 (opset 5+). A 0 copies the
 * input's dimension at that index (unless allowzero, opset 14), one -1 is inferred. */
#include <stdlib.h>

#include "ops/shape_common.h"

typedef struct reshape_params {
  bool allowzero;
} reshape_params;

static lens_status *reshape_parse(lens_node *node, void *out) {
  reshape_params *p = out;
  int64_t allowzero = 0;
  if (node->opset >= 14) LENS_TRY(lens_attr_int(node, "allowzero", 0, &allowzero));
  else if (lens_node_attr(node, "allowzero"))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "allowzero needs opset 14, model has %lld",
                           (long long)node->opset);
  if (allowzero != 0 && allowzero != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "allowzero must be 0 or 1, found %lld",
                           (long long)allowzero);
  p->allowzero = allowzero != 0;
  return NULL;
}

static lens_status *reshape_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(reshape_params), reshape_parse);
}

static lens_status *reshape_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const reshape_params *p = node->params;
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "data", &es));
  out[0].dtype = in[0].dtype;
  if (in[1].rank != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "shape must be 1-D, found rank %d",
                           in[1].rank);
  if (!in[1].data) {
    out[0].rank = -1;
    return NULL;
  }
  int64_t shape[LENS_MAX_RANK];
  size_t n;
  LENS_TRY(lens_value_read_ints(node, &in[1], "shape", shape, LENS_MAX_RANK, &n));
  int infer_at = -1;
  bool has_zero = false;
  int64_t known = 1;
  for (size_t i = 0; i < n; i++) {
    int64_t v = shape[i];
    if (v == -1) {
      if (infer_at >= 0)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL, "shape has more than one -1");
      infer_at = (int)i;
      continue;
    }
    if (v < -1)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "shape value %lld at %zu is negative",
                             (long long)v, i);
    if (v == 0) {
      has_zero = true;
      if (!p->allowzero) {
        if ((int)i >= in[0].rank)
          return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                                 "shape value 0 at %zu copies a dimension the rank-%d input lacks",
                                 i, in[0].rank);
        v = in[0].dims[i];
      }
    }
    out[0].dims[i] = v;
    if (!lens_mul_i64(known, v, &known))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "shape overflows");
  }
  if (p->allowzero && has_zero && infer_at >= 0)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "shape has both 0 and -1 with allowzero=1");
  out[0].rank = (int)n;
  int64_t total = lens_value_elements(&in[0]);
  char a[160], b[160];
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "cannot infer the -1 of shape %s for input %s",
                             lens_format_dims(a, sizeof a, shape, (int)n),
                             lens_format_dims(b, sizeof b, in[0].dims, in[0].rank));
    out[0].dims[infer_at] = total / known;
  } else if (known != total) {
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "cannot reshape input %s (%lld elements) to %s (%lld elements)",
                           lens_format_dims(a, sizeof a, in[0].dims, in[0].rank),
                           (long long)total, lens_format_dims(b, sizeof b, out[0].dims, (int)n),
                           (long long)known);
  }
  return lens_check_output_shape(node, &out[0]);
}

const lens_op_def lens_op_reshape = {
    .name = "Reshape",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = reshape_prepare,
    .infer = reshape_infer,
    .compute = lens_shape_copy_view,
};
