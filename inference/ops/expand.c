/* Expand: broadcasts the input to the numpy broadcast of its shape and the shape input. */
#include "ops/shape_common.h"

static lens_status *expand_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "input", &es));
  out[0].dtype = in[0].dtype;
  if (in[1].rank != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "shape must be 1-D, found rank %d",
                           in[1].rank);
  if (!in[1].data) {
    out[0].rank = -1;
    return NULL;
  }
  lens_value shape = {.dtype = LENS_DTYPE_INT64};
  size_t n;
  LENS_TRY(lens_value_read_ints(node, &in[1], "shape", shape.dims, LENS_MAX_RANK, &n));
  shape.rank = (int)n;
  for (size_t i = 0; i < n; i++)
    if (shape.dims[i] < 0)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "shape value %lld at %zu is negative",
                             (long long)shape.dims[i], i);
  const lens_value *both[2] = {&in[0], &shape};
  LENS_TRY(lens_broadcast_shape(node, both, 2, &out[0]));
  return lens_check_output_shape(node, &out[0]);
}

static lens_status *expand_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                   lens_exec_ctx *ctx) {
  (void)node;
  int64_t strides[LENS_MAX_RANK];
  lens_broadcast_strides(&in[0], out[0].rank, out[0].dims, strides);
  lens_shape_strided_copy(ctx, out[0].data, in[0].data, lens_dtype_size(in[0].dtype), out[0].rank,
                          out[0].dims, strides);
  return NULL;
}

const lens_op_def lens_op_expand = {
    .name = "Expand",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = expand_infer,
    .compute = expand_compute,
};
