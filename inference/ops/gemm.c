/* Gemm (opsets 1..13): Y = alpha * op(A) * op(B) + beta * C with op = transpose when
 * transA / transB, C optional and unidirectionally broadcast to (M, N). float32, float16. */
#include <stdlib.h>

#include "ops/nn_common.h"

static lens_status *gemm_parse(lens_node *node, void *out) {
  lens_gemm_params *p = out;
  int64_t ta, tb;
  LENS_TRY(lens_attr_float(node, "alpha", 1.0f, &p->alpha));
  LENS_TRY(lens_attr_float(node, "beta", 1.0f, &p->beta));
  LENS_TRY(lens_attr_int(node, "transA", 0, &ta));
  LENS_TRY(lens_attr_int(node, "transB", 0, &tb));
  if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "transA and transB must be 0 or 1");
  p->trans_a = ta == 1;
  p->trans_b = tb == 1;
  return NULL;
}

static lens_status *gemm_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(lens_gemm_params), gemm_parse);
}

static lens_status *gemm_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const lens_gemm_params *p = node->params;
  const lens_value *a = &in[0], *b = &in[1];
  char da[160], db[160];
  if (a->dtype != LENS_DTYPE_FLOAT32 && a->dtype != LENS_DTYPE_FLOAT16)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "dtype %s is not supported",
                           lens_dtype_name(a->dtype));
  if (b->dtype != a->dtype)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "B is %s, A is %s",
                           lens_dtype_name(b->dtype), lens_dtype_name(a->dtype));
  if (a->rank != 2 || b->rank != 2)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "A and B must be 2-D, found %s and %s",
                           lens_format_dims(da, sizeof da, a->dims, a->rank),
                           lens_format_dims(db, sizeof db, b->dims, b->rank));
  int64_t m = a->dims[p->trans_a ? 1 : 0], k = a->dims[p->trans_a ? 0 : 1];
  int64_t kb = b->dims[p->trans_b ? 1 : 0], n = b->dims[p->trans_b ? 0 : 1];
  if (k != kb)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "A %s and B %s do not agree on K (transA=%d, transB=%d)",
                           lens_format_dims(da, sizeof da, a->dims, a->rank),
                           lens_format_dims(db, sizeof db, b->dims, b->rank), p->trans_a,
                           p->trans_b);
  if (lens_node_has_input(node, in, 2)) {
    const lens_value *c = &in[2];
    if (c->dtype != a->dtype)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "C is %s, A is %s",
                             lens_dtype_name(c->dtype), lens_dtype_name(a->dtype));
    bool ok = c->rank <= 2;
    if (ok && c->rank == 2) ok = (c->dims[0] == m || c->dims[0] == 1);
    if (ok && c->rank >= 1) ok = (c->dims[c->rank - 1] == n || c->dims[c->rank - 1] == 1);
    if (!ok)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "C %s cannot be broadcast to [%lld,%lld]",
                             lens_format_dims(da, sizeof da, c->dims, c->rank), (long long)m,
                             (long long)n);
  }
  out[0].dtype = a->dtype;
  out[0].rank = 2;
  out[0].dims[0] = m;
  out[0].dims[1] = n;
  return lens_check_output_shape(node, &out[0]);
}

static double gemm_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  const lens_gemm_params *p = node->params;
  double k = (double)in[0].dims[p->trans_a ? 0 : 1];
  return (2.0 * k + 1.0) * (double)lens_value_elements(&out[0]);
}

typedef struct gemm_job {
  const lens_gemm_params *p;
  const lens_value *a, *b, *c;
  lens_value *y;
  int64_t k;
} gemm_job;

static void gemm_rows(void *arg, size_t begin, size_t end) {
  const gemm_job *j = arg;
  const lens_gemm_params *p = j->p;
  int64_t n_cols = j->y->dims[1];
  int64_t a_cols = j->a->dims[1], b_cols = j->b->dims[1];
  for (size_t row = begin; row < end; row++) {
    int64_t i = (int64_t)row;
    for (int64_t n = 0; n < n_cols; n++) {
      double acc = 0.0;
      for (int64_t k = 0; k < j->k; k++) {
        int64_t ai = p->trans_a ? k * a_cols + i : i * a_cols + k;
        int64_t bi = p->trans_b ? n * b_cols + k : k * b_cols + n;
        acc += lens_value_get_f64(j->a->dtype, j->a->data, ai) *
               lens_value_get_f64(j->b->dtype, j->b->data, bi);
      }
      double y = (double)p->alpha * acc;
      if (j->c) {
        /* Broadcast C: a size-1 (or missing) dim repeats. */
        int64_t cr = j->c->rank == 2 && j->c->dims[0] != 1 ? i : 0;
        int64_t cc = j->c->rank >= 1 && j->c->dims[j->c->rank - 1] != 1 ? n : 0;
        int64_t c_cols = j->c->rank >= 1 ? j->c->dims[j->c->rank - 1] : 1;
        y += (double)p->beta * lens_value_get_f64(j->c->dtype, j->c->data, cr * c_cols + cc);
      }
      lens_value_set_f64(j->y->dtype, j->y->data, i * n_cols + n, y);
    }
  }
}

static lens_status *gemm_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx) {
  const lens_gemm_params *p = node->params;
  gemm_job job = {p, &in[0], &in[1], lens_node_has_input(node, in, 2) ? &in[2] : NULL, &out[0],
                  in[0].dims[p->trans_a ? 0 : 1]};
  lens_parallel_for(ctx, (size_t)out[0].dims[0], gemm_rows, &job);
  return NULL;
}

const lens_op_def lens_op_gemm = {
    .name = "Gemm",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = gemm_prepare,
    .infer = gemm_infer,
    .flops = gemm_flops,
    .compute = gemm_compute,
};
