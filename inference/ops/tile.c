/* Tile: repeats the input repeats[d] times along each dim d. */
#include "ops/shape_common.h"

static lens_status *tile_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "input", &es));
  out[0].dtype = in[0].dtype;
  if (in[1].rank != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "repeats must be 1-D, found rank %d",
                           in[1].rank);
  if (in[1].dims[0] != in[0].rank)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "repeats has %lld values for a rank-%d input",
                           (long long)in[1].dims[0], in[0].rank);
  if (!in[1].data) {
    out[0].rank = -1;
    return NULL;
  }
  int64_t repeats[LENS_MAX_RANK];
  size_t n;
  LENS_TRY(lens_value_read_ints(node, &in[1], "repeats", repeats, LENS_MAX_RANK, &n));
  out[0].rank = in[0].rank;
  for (int d = 0; d < in[0].rank; d++) {
    if (repeats[d] < 0)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "repeats value %lld at %d is negative",
                             (long long)repeats[d], d);
    if (!lens_mul_i64(in[0].dims[d], repeats[d], &out[0].dims[d]))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "output size overflows");
  }
  return lens_check_output_shape(node, &out[0]);
}

static lens_status *tile_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx) {
  (void)node;
  /* view the output as [r0, d0, r1, d1, ...]: the repeat dims have source stride 0 */
  int rank = in[0].rank;
  int64_t in_strides[LENS_MAX_RANK];
  int64_t dims[LENS_SHAPE_COPY_MAX_DIMS], strides[LENS_SHAPE_COPY_MAX_DIMS];
  lens_contiguous_strides(in[0].dims, rank, in_strides);
  for (int d = 0; d < rank; d++) {
    int64_t dim = in[0].dims[d];
    dims[2 * d] = dim ? out[0].dims[d] / dim : 0;
    strides[2 * d] = 0;
    dims[2 * d + 1] = dim;
    strides[2 * d + 1] = in_strides[d];
  }
  lens_shape_strided_copy(ctx, out[0].data, in[0].data, lens_dtype_size(in[0].dtype), 2 * rank,
                          dims, strides);
  return NULL;
}

const lens_op_def lens_op_tile = {
    .name = "Tile",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = tile_infer,
    .compute = tile_compute,
};
