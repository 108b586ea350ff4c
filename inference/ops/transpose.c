/* Transpose: output dim i is input dim perm[i]; perm defaults to reversing the dims. */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

typedef struct transpose_params {
  bool has_perm;
  size_t n_perm;
  int64_t perm[LENS_MAX_RANK];
} transpose_params;

static lens_status *transpose_parse(lens_node *node, void *out) {
  transpose_params *p = out;
  const int64_t *perm;
  size_t n;
  LENS_TRY(lens_attr_ints(node, "perm", &perm, &n));
  if (n > LENS_MAX_RANK)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "perm has %zu values, at most %d supported",
                           n, LENS_MAX_RANK);
  p->has_perm = lens_node_attr(node, "perm") != NULL;
  p->n_perm = n;
  if (n) memcpy(p->perm, perm, n * sizeof *perm);
  return NULL;
}

static lens_status *transpose_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(transpose_params), transpose_parse);
}

/* The permutation for this rank, validated. */
static lens_status *transpose_perm(const lens_node *node, int rank, int *perm) {
  const transpose_params *p = node->params;
  if (!p->has_perm) {
    for (int d = 0; d < rank; d++) perm[d] = rank - 1 - d;
    return NULL;
  }
  if ((int)p->n_perm != rank)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "perm has %zu values for a rank-%d input",
                           p->n_perm, rank);
  bool seen[LENS_MAX_RANK] = {false};
  for (int d = 0; d < rank; d++) {
    int64_t v = p->perm[d];
    if (v < 0 || v >= rank || seen[v])
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "perm is not a permutation of 0..%d (value %lld at %d)", rank - 1,
                             (long long)v, d);
    seen[v] = true;
    perm[d] = (int)v;
  }
  return NULL;
}

static lens_status *transpose_infer(const lens_node *node, const lens_value *in,
                                    lens_value *out) {
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "data", &es));
  int perm[LENS_MAX_RANK];
  LENS_TRY(transpose_perm(node, in[0].rank, perm));
  out[0].dtype = in[0].dtype;
  out[0].rank = in[0].rank;
  for (int d = 0; d < in[0].rank; d++) out[0].dims[d] = in[0].dims[perm[d]];
  return NULL;
}

static lens_status *transpose_compute(const lens_node *node, const lens_value *in,
                                      lens_value *out, lens_exec_ctx *ctx) {
  int perm[LENS_MAX_RANK];
  LENS_TRY(transpose_perm(node, in[0].rank, perm));
  int64_t in_strides[LENS_MAX_RANK], strides[LENS_MAX_RANK];
  lens_contiguous_strides(in[0].dims, in[0].rank, in_strides);
  for (int d = 0; d < in[0].rank; d++) strides[d] = in_strides[perm[d]];
  lens_shape_strided_copy(ctx, out[0].data, in[0].data, lens_dtype_size(in[0].dtype), out[0].rank,
                          out[0].dims, strides);
  return NULL;
}

const lens_op_def lens_op_transpose = {
    .name = "Transpose",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = transpose_prepare,
    .infer = transpose_infer,
    .compute = transpose_compute,
};
