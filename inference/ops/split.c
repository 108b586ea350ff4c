/* Split: cuts input 0 along axis into the node's outputs, by the sizes in split (an attribute
 * before opset 13, an optional input from 13) or into equal parts. */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

typedef struct split_params {
  int64_t axis;
  bool split_from_input;
  size_t n_split;  /* entries in split (attribute form), 0 when absent */
  int64_t split[]; /* n_split entries */
} split_params;

static lens_status *split_prepare(lens_node *node) {
  const int64_t *split = NULL;
  size_t n = 0;
  bool from_input = node->opset >= 13;
  if (from_input) {
    if (lens_node_attr(node, "split"))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "split is an input from opset 13, not an attribute");
  } else {
    if (node->n_inputs > 1)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "takes one input before opset 13 (split is an attribute)");
    LENS_TRY(lens_attr_ints(node, "split", &split, &n));
  }
  if (lens_node_attr(node, "num_outputs"))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "num_outputs (opset 18) is not supported");
  if (n && n != (size_t)node->n_outputs)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "split has %zu values for %d outputs", n,
                           node->n_outputs);
  split_params *p = calloc(1, sizeof *p + n * sizeof(int64_t));
  if (!p) return lens_error_oom();
  free(node->params);
  node->params = p;
  p->split_from_input = from_input;
  p->n_split = n;
  if (n) memcpy(p->split, split, n * sizeof *split);
  for (size_t i = 0; i < n; i++)
    if (split[i] < 0)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "split value %lld is negative",
                             (long long)split[i]);
  return lens_attr_int(node, "axis", 0, &p->axis);
}

/* The size of each output along the axis, into a malloc'd array (n_outputs entries);
 * *sizes stays NULL when the split input is not known yet. */
static lens_status *split_sizes(const lens_node *node, const lens_value *in, int axis,
                                int64_t **sizes) {
  const split_params *p = node->params;
  int n_out = node->n_outputs;
  int64_t dim = in[0].dims[axis];
  *sizes = NULL;
  int64_t *s = NULL;
  size_t n = 0;
  const lens_value *sv = p->split_from_input ? lens_shape_input(node, in, 1) : NULL;
  if (sv && lens_value_elements(sv) > 0) {
    if (!sv->data) return NULL;
    if (lens_value_elements(sv) != n_out)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "split has %lld values for %d outputs",
                             (long long)lens_value_elements(sv), n_out);
    LENS_TRY(lens_shape_read_ints_alloc(node, sv, "split", (size_t)n_out, &s, &n));
  } else {
    s = malloc((size_t)n_out * sizeof *s);
    if (!s) return lens_error_oom();
    if (p->n_split) {
      memcpy(s, p->split, p->n_split * sizeof *s);
      n = p->n_split;
    } else {
      if (dim % n_out != 0) {
        free(s);
        return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                               "axis %d of size %lld does not split into %d equal parts", axis,
                               (long long)dim, n_out);
      }
      for (int i = 0; i < n_out; i++) s[i] = dim / n_out;
      n = (size_t)n_out;
    }
  }
  int64_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < 0 || !lens_add_i64(total, s[i], &total)) {
      long long bad = (long long)s[i];
      free(s);
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "split value %lld is invalid", bad);
    }
  }
  if (total != dim) {
    free(s);
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "split sizes sum to %lld but axis %d has size %lld", (long long)total,
                           axis, (long long)dim);
  }
  *sizes = s;
  return NULL;
}

static lens_status *split_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const split_params *p = node->params;
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "input", &es));
  int axis;
  LENS_TRY(lens_normalize_axis(node, p->axis, in[0].rank, &axis));
  int64_t *sizes;
  LENS_TRY(split_sizes(node, in, axis, &sizes));
  for (int i = 0; i < node->n_outputs; i++) {
    out[i].dtype = in[0].dtype;
    if (!sizes) {
      out[i].rank = -1;
      continue;
    }
    out[i].rank = in[0].rank;
    memcpy(out[i].dims, in[0].dims, sizeof out[i].dims);
    out[i].dims[axis] = sizes[i];
  }
  free(sizes);
  return NULL;
}

static lens_status *split_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                  lens_exec_ctx *ctx) {
  (void)ctx;
  const split_params *p = node->params;
  int rank = in[0].rank, axis;
  LENS_TRY(lens_normalize_axis(node, p->axis, rank, &axis));
  int64_t *sizes;
  LENS_TRY(split_sizes(node, in, axis, &sizes));
  if (!sizes) return lens_node_error(node, LENS_ERR_RUNTIME, "split input has no data");
  for (int i = 0; i < node->n_outputs; i++) {
    if (out[i].data && (out[i].rank != rank || out[i].dims[axis] != sizes[i])) {
      free(sizes);
      return lens_node_error(node, LENS_ERR_RUNTIME, "output %d does not match the split", i);
    }
  }
  size_t es = lens_dtype_size(in[0].dtype);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= in[0].dims[d];
  for (int d = axis + 1; d < rank; d++) inner *= in[0].dims[d];
  const uint8_t *src = in[0].data;
  for (int64_t o = 0; o < outer; o++) {
    for (int i = 0; i < node->n_outputs; i++) {
      size_t block = (size_t)(sizes[i] * inner) * es;
      if (block == 0) continue;
      if (out[i].data) memcpy((uint8_t *)out[i].data + (size_t)o * block, src, block);
      src += block;
    }
  }
  free(sizes);
  return NULL;
}

const lens_op_def lens_op_split = {
    .name = "Split",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 65535,
    .prepare = split_prepare,
    .infer = split_infer,
    .compute = split_compute,
};
