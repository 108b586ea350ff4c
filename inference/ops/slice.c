/* Slice: a strided window. Before opset 10 starts/ends/axes are attributes; from 10 they
 * are inputs 1..3 and input 4 adds steps (negative steps walk backwards). Out-of-range
 * starts and ends (INT64_MAX, INT64_MIN, ...) clamp to the dimension as ONNX specifies. */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

typedef struct slice_params {
  bool from_inputs;
  bool has_axes;
  size_t n;
  int64_t starts[LENS_MAX_RANK];
  int64_t ends[LENS_MAX_RANK];
  int64_t axes[LENS_MAX_RANK];
} slice_params;

static lens_status *slice_parse(lens_node *node, void *out) {
  slice_params *p = out;
  p->from_inputs = node->opset >= 10;
  if (p->from_inputs) {
    if (lens_node_attr(node, "starts") || lens_node_attr(node, "ends") ||
        lens_node_attr(node, "axes"))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "starts, ends and axes are inputs from opset 10, not attributes");
    if (node->n_inputs < 3)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "needs inputs data, starts and ends from opset 10");
    return NULL;
  }
  if (node->n_inputs > 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "takes one input before opset 10 (starts, ends, axes are attributes)");
  const int64_t *starts, *ends, *axes;
  size_t ns, ne, na;
  LENS_TRY(lens_attr_ints(node, "starts", &starts, &ns));
  LENS_TRY(lens_attr_ints(node, "ends", &ends, &ne));
  LENS_TRY(lens_attr_ints(node, "axes", &axes, &na));
  if (!lens_node_attr(node, "starts") || !lens_node_attr(node, "ends"))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "starts and ends attributes are required");
  p->has_axes = lens_node_attr(node, "axes") != NULL;
  if (ns != ne || (p->has_axes && na != ns))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "starts, ends and axes have different lengths (%zu, %zu, %zu)", ns, ne,
                           na);
  if (ns > LENS_MAX_RANK)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "starts has %zu values, more than rank %d",
                           ns, LENS_MAX_RANK);
  p->n = ns;
  if (ns) {
    memcpy(p->starts, starts, ns * sizeof *starts);
    memcpy(p->ends, ends, ns * sizeof *ends);
    if (p->has_axes) memcpy(p->axes, axes, ns * sizeof *axes);
  }
  return NULL;
}

static lens_status *slice_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(slice_params), slice_parse);
}

/* Reads one of the 1-D index inputs; *known false when it has no data yet. */
static lens_status *slice_read(const lens_node *node, const lens_value *v, const char *what,
                               int64_t *vals, size_t *n, bool *known) {
  if (v->rank != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s must be 1-D, found rank %d", what,
                           v->rank);
  if (!v->data && lens_value_elements(v) > 0) {
    *known = false;
    return NULL;
  }
  return lens_value_read_ints(node, v, what, vals, LENS_MAX_RANK, n);
}

/* Per input dim: first index, step and output size. *known is false when an index input
 * has no data yet. */
static lens_status *slice_plan(const lens_node *node, const lens_value *in, int64_t *first,
                               int64_t *step, int64_t *count, bool *known) {
  const slice_params *p = node->params;
  int rank = in[0].rank;
  int64_t starts[LENS_MAX_RANK], ends[LENS_MAX_RANK], axes[LENS_MAX_RANK], steps[LENS_MAX_RANK];
  size_t n = p->n, na = 0, nsteps = 0;
  bool has_axes = p->has_axes, has_steps = false;
  *known = true;
  if (p->from_inputs) {
    size_t ne = 0;
    LENS_TRY(slice_read(node, &in[1], "starts", starts, &n, known));
    LENS_TRY(slice_read(node, &in[2], "ends", ends, &ne, known));
    const lens_value *a = lens_shape_input(node, in, 3), *s = lens_shape_input(node, in, 4);
    has_axes = a != NULL;
    has_steps = s != NULL;
    if (a) LENS_TRY(slice_read(node, a, "axes", axes, &na, known));
    if (s) LENS_TRY(slice_read(node, s, "steps", steps, &nsteps, known));
    if (!*known) return NULL;
    if (ne != n || (has_axes && na != n) || (has_steps && nsteps != n))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "starts, ends, axes and steps have different lengths (%zu, %zu, %zu, "
                             "%zu)",
                             n, ne, has_axes ? na : n, has_steps ? nsteps : n);
  } else {
    memcpy(starts, p->starts, sizeof starts);
    memcpy(ends, p->ends, sizeof ends);
    memcpy(axes, p->axes, sizeof axes);
  }
  if (n > (size_t)rank)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%zu starts for a rank-%d input", n, rank);
  int norm[LENS_MAX_RANK];
  if (has_axes) {
    LENS_TRY(lens_shape_normalize_axes(node, axes, n, rank, "axes", norm));
  } else {
    for (size_t i = 0; i < n; i++) norm[i] = (int)i;
  }
  for (int d = 0; d < rank; d++) {
    first[d] = 0;
    step[d] = 1;
    count[d] = in[0].dims[d];
  }
  for (size_t i = 0; i < n; i++) {
    int d = norm[i];
    int64_t dim = in[0].dims[d], st = has_steps ? steps[i] : 1;
    int64_t b = starts[i], e = ends[i];
    if (st == 0) return lens_node_error(node, LENS_ERR_INVALID_MODEL, "step for axis %d is 0", d);
    /* a step longer than the dim takes at most one element: clamping it keeps the count and
     * keeps step * stride from overflowing */
    int64_t big = dim > 0 ? dim : 1;
    if (st > big) st = big;
    if (st < -big) st = -big;
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    int64_t c = 0;
    if (dim == 0) {
      b = 0;
    } else if (st > 0) {
      b = b < 0 ? 0 : b > dim ? dim : b;
      e = e < 0 ? 0 : e > dim ? dim : e;
      if (e > b) c = (e - b) / st + ((e - b) % st != 0);
    } else {
      b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
      e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
      if (b > e) c = (b - e) / -st + ((b - e) % -st != 0);
    }
    first[d] = c > 0 ? b : 0;
    step[d] = st;
    count[d] = c;
  }
  return NULL;
}

static lens_status *slice_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "data", &es));
  out[0].dtype = in[0].dtype;
  int64_t first[LENS_MAX_RANK], step[LENS_MAX_RANK];
  bool known;
  LENS_TRY(slice_plan(node, in, first, step, out[0].dims, &known));
  if (!known) {
    out[0].rank = -1;
    return NULL;
  }
  out[0].rank = in[0].rank;
  return lens_check_output_shape(node, &out[0]);
}

static lens_status *slice_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                  lens_exec_ctx *ctx) {
  int64_t first[LENS_MAX_RANK], step[LENS_MAX_RANK], count[LENS_MAX_RANK];
  bool known;
  LENS_TRY(slice_plan(node, in, first, step, count, &known));
  if (!known) return lens_node_error(node, LENS_ERR_RUNTIME, "slice indices have no data");
  int rank = in[0].rank;
  if (out[0].rank != rank || memcmp(out[0].dims, count, (size_t)rank * sizeof *count) != 0)
    return lens_node_error(node, LENS_ERR_RUNTIME, "output shape does not match the slice");
  int64_t in_strides[LENS_MAX_RANK], strides[LENS_MAX_RANK], offset = 0;
  lens_contiguous_strides(in[0].dims, rank, in_strides);
  for (int d = 0; d < rank; d++) {
    if (count[d] == 0) return NULL;
    offset += first[d] * in_strides[d];
    strides[d] = step[d] * in_strides[d];
  }
  size_t es = lens_dtype_size(in[0].dtype);
  lens_shape_strided_copy(ctx, out[0].data, (const uint8_t *)in[0].data + offset * (int64_t)es,
                          es, rank, count, strides);
  return NULL;
}

const lens_op_def lens_op_slice = {
    .name = "Slice",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 5,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = slice_prepare,
    .infer = slice_infer,
    .compute = slice_compute,
};
