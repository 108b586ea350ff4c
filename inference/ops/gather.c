/* Gather: picks slices of data along axis by the (int32/int64) indices; a negative index
 * counts from the end, one out of range is a run-time error. */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

typedef struct gather_params {
  int64_t axis;
} gather_params;

static lens_status *gather_parse(lens_node *node, void *out) {
  gather_params *p = out;
  return lens_attr_int(node, "axis", 0, &p->axis);
}

static lens_status *gather_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(gather_params), gather_parse);
}

/* Checks every index against dim; the error names the first bad one. */
static lens_status *gather_check_indices(const lens_node *node, const lens_value *idx,
                                         int64_t dim, lens_status_code code) {
  int64_t n = lens_value_elements(idx);
  for (int64_t i = 0; i < n; i++) {
    int64_t v = idx->dtype == LENS_DTYPE_INT64 ? ((const int64_t *)idx->data)[i]
                                               : ((const int32_t *)idx->data)[i];
    if (v < -dim || v >= dim)
      return lens_node_error(node, code, "index %lld at position %lld is out of range [%lld, %lld)",
                             (long long)v, (long long)i, (long long)-dim, (long long)dim);
  }
  return NULL;
}

static lens_status *gather_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const gather_params *p = node->params;
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "data", &es));
  if (in[1].dtype != LENS_DTYPE_INT64 && in[1].dtype != LENS_DTYPE_INT32)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "indices must be int64 or int32, found %s",
                           lens_dtype_name(in[1].dtype));
  if (in[0].rank < 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "data must have rank >= 1");
  int axis;
  LENS_TRY(lens_normalize_axis(node, p->axis, in[0].rank, &axis));
  int out_rank = in[0].rank - 1 + in[1].rank;
  if (out_rank > LENS_MAX_RANK)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "output rank %d exceeds %d", out_rank,
                           LENS_MAX_RANK);
  int r = 0;
  for (int d = 0; d < axis; d++) out[0].dims[r++] = in[0].dims[d];
  for (int d = 0; d < in[1].rank; d++) out[0].dims[r++] = in[1].dims[d];
  for (int d = axis + 1; d < in[0].rank; d++) out[0].dims[r++] = in[0].dims[d];
  out[0].dtype = in[0].dtype;
  out[0].rank = out_rank;
  if (in[1].data)
    LENS_TRY(gather_check_indices(node, &in[1], in[0].dims[axis], LENS_ERR_INVALID_MODEL));
  return lens_check_output_shape(node, &out[0]);
}

static lens_status *gather_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                   lens_exec_ctx *ctx) {
  (void)ctx;
  const gather_params *p = node->params;
  int axis;
  LENS_TRY(lens_normalize_axis(node, p->axis, in[0].rank, &axis));
  int64_t dim = in[0].dims[axis];
  LENS_TRY(gather_check_indices(node, &in[1], dim, LENS_ERR_RUNTIME));
  size_t es = lens_dtype_size(in[0].dtype);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= in[0].dims[d];
  for (int d = axis + 1; d < in[0].rank; d++) inner *= in[0].dims[d];
  int64_t n_idx = lens_value_elements(&in[1]);
  size_t block = (size_t)inner * es;
  if (block == 0) return NULL;
  const uint8_t *src = in[0].data;
  uint8_t *dst = out[0].data;
  for (int64_t o = 0; o < outer; o++) {
    const uint8_t *slab = src + (size_t)(o * dim) * block;
    for (int64_t j = 0; j < n_idx; j++) {
      int64_t v = in[1].dtype == LENS_DTYPE_INT64 ? ((const int64_t *)in[1].data)[j]
                                                  : ((const int32_t *)in[1].data)[j];
      if (v < 0) v += dim;
      memcpy(dst, slab + (size_t)v * block, block);
      dst += block;
    }
  }
  return NULL;
}

const lens_op_def lens_op_gather = {
    .name = "Gather",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = gather_prepare,
    .infer = gather_infer,
    .compute = gather_compute,
};
