/* Concat: joins inputs of the same dtype and rank along axis (required; negative from 11). */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

typedef struct concat_params {
  int64_t axis;
} concat_params;

static lens_status *concat_parse(lens_node *node, void *out) {
  concat_params *p = out;
  if (!lens_node_attr(node, "axis"))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axis attribute is required");
  return lens_attr_int(node, "axis", 0, &p->axis);
}

static lens_status *concat_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(concat_params), concat_parse);
}

static lens_status *concat_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const concat_params *p = node->params;
  size_t es;
  for (int i = 0; i < node->n_inputs; i++)
    if (!lens_value_present(&in[i]))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "input %d is missing", i);
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "input 0", &es));
  int rank = in[0].rank;
  if (rank == 0)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "cannot concatenate scalars");
  int axis;
  LENS_TRY(lens_normalize_axis(node, p->axis, rank, &axis));
  out[0].dtype = in[0].dtype;
  out[0].rank = rank;
  memcpy(out[0].dims, in[0].dims, sizeof out[0].dims);
  for (int i = 1; i < node->n_inputs; i++) {
    char a[160], b[160];
    if (in[i].dtype != in[0].dtype)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "input %d is %s, input 0 is %s", i,
                             lens_dtype_name(in[i].dtype), lens_dtype_name(in[0].dtype));
    bool same = in[i].rank == rank;
    for (int d = 0; same && d < rank; d++)
      if (d != axis && in[i].dims[d] != in[0].dims[d]) same = false;
    if (!same)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "input %d has shape %s, incompatible with %s along axis %d", i,
                             lens_format_dims(a, sizeof a, in[i].dims, in[i].rank),
                             lens_format_dims(b, sizeof b, in[0].dims, rank), axis);
    if (!lens_add_i64(out[0].dims[axis], in[i].dims[axis], &out[0].dims[axis]))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "output size overflows");
  }
  return lens_check_output_shape(node, &out[0]);
}

static lens_status *concat_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                   lens_exec_ctx *ctx) {
  (void)ctx;
  const concat_params *p = node->params;
  int rank = out[0].rank, axis;
  LENS_TRY(lens_normalize_axis(node, p->axis, rank, &axis));
  size_t es = lens_dtype_size(out[0].dtype);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= out[0].dims[d];
  for (int d = axis + 1; d < rank; d++) inner *= out[0].dims[d];
  uint8_t *dst = out[0].data;
  for (int64_t o = 0; o < outer; o++) {
    for (int i = 0; i < node->n_inputs; i++) {
      size_t block = (size_t)(in[i].dims[axis] * inner) * es;
      if (block == 0) continue;
      memcpy(dst, (const uint8_t *)in[i].data + (size_t)o * block, block);
      dst += block;
    }
  }
  return NULL;
}

const lens_op_def lens_op_concat = {
    .name = "Concat",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 65535,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = concat_prepare,
    .infer = concat_infer,
    .compute = concat_compute,
};
