/* gemm_sgemm and matmul_sgemm: float32 Gemm and MatMul on lens_sgemm. */
#include <string.h>

#include "core/exec.h"
#include "cpu/gemm.h"
#include "cpu/gemv.h"
#include "cpu/kernels.h"
#include "ops/nn_common.h"

static bool is_default_domain(const lens_node *node) {
  return !node->domain || !node->domain[0];
}

static lens_status *check_scratch(const lens_node *node, const char *kernel,
                                  lens_exec_ctx *ctx, size_t need) {
  if (need && (!lens_exec_scratch(ctx) || ctx->scratch_bytes < need))
    return lens_node_error(node, LENS_ERR_RUNTIME, "%s: scratch of %zu bytes needed, %zu given",
                           kernel, need, ctx->scratch_bytes);
  return NULL;
}

/* ---- Gemm ------------------------------------------------------------------------------- */

typedef struct gemm_dims {
  int64_t m, n, k;
} gemm_dims;

static gemm_dims gemm_dims_of(const lens_node *node, const lens_value *in) {
  const lens_gemm_params *p = node->params;
  gemm_dims d = {in[0].dims[p->trans_a ? 1 : 0], in[1].dims[p->trans_b ? 0 : 1],
                 in[0].dims[p->trans_a ? 0 : 1]};
  return d;
}

static bool gemm_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  return strcmp(node->op_type, "Gemm") == 0 && is_default_domain(node) && node->params &&
         in[0].dtype == LENS_DTYPE_FLOAT32 && in[1].dtype == LENS_DTYPE_FLOAT32 &&
         in[0].rank == 2 && in[1].rank == 2;
}

static size_t gemm_scratch(const lens_node *node, const lens_value *in, const lens_value *out) {
  gemm_dims d = gemm_dims_of(node, in);
  return lens_sgemm_workspace_bytes(d.m, d.n, d.k);
}

static lens_status *gemm_compute_kernel(const lens_node *node, const lens_value *in,
                                        lens_value *out, lens_exec_ctx *ctx) {
  const lens_gemm_params *p = node->params;
  gemm_dims d = gemm_dims_of(node, in);
  LENS_TRY(check_scratch(node, "gemm_sgemm", ctx, lens_sgemm_workspace_bytes(d.m, d.n, d.k)));
  float *y = out[0].data;
  float beta = 0.0f;
  if (lens_node_has_input(node, in, 2)) {
    /* Y starts as beta * C broadcast to (M, N); the product then accumulates onto it. */
    const lens_value *c = &in[2];
    const float *cd = c->data;
    int64_t c_rows = c->rank == 2 ? c->dims[0] : 1;
    int64_t c_cols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    for (int64_t i = 0; i < d.m; i++) {
      const float *crow = cd + (c_rows == 1 ? 0 : i) * c_cols;
      float *yrow = y + i * d.n;
      if (c_cols == 1) {
        for (int64_t j = 0; j < d.n; j++) yrow[j] = p->beta * crow[0];
      } else {
        for (int64_t j = 0; j < d.n; j++) yrow[j] = p->beta * crow[j];
      }
    }
    beta = 1.0f;
  }
  if (d.m == 1) {
    /* one row of A, contiguous either way (A is 1 x k or k x 1) */
    lens_sgemv(ctx, p->trans_b, d.n, d.k, p->alpha, in[0].data, in[1].data, in[1].dims[1],
               beta, y);
    return NULL;
  }
  lens_sgemm(ctx, p->trans_a, p->trans_b, d.m, d.n, d.k, p->alpha, in[0].data, in[0].dims[1],
             in[1].data, in[1].dims[1], beta, y, d.n, lens_exec_scratch(ctx));
  return NULL;
}

const lens_kernel lens_kernel_gemm_sgemm = {
    .name = "gemm_sgemm",
    .op_type = "Gemm",
    .precision = "fp32",
    .supports = gemm_supports,
    .scratch_bytes = gemm_scratch,
    .compute = gemm_compute_kernel,
};

/* ---- MatMul ----------------------------------------------------------------------------- */

/* When B is shared by every batch entry and A's batch entries are contiguous, the batch
 * folds into M: one GEMM of (batch * m) rows. */
static bool matmul_folds(const lens_matmul_shape *s) {
  for (int d = 0; d < s->batch_rank; d++)
    if (s->b_batch_stride[d] != 0 || (s->a_batch_stride[d] == 0 && s->batch_dims[d] != 1))
      return false;
  return true;
}

static bool matmul_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  if (strcmp(node->op_type, "MatMul") != 0 || !is_default_domain(node) ||
      in[0].dtype != LENS_DTYPE_FLOAT32 || in[1].dtype != LENS_DTYPE_FLOAT32)
    return false;
  lens_matmul_shape s;
  lens_status *st = lens_matmul_shape_of(node, &in[0], &in[1], &s, NULL);
  if (st) {
    lens_status_free(st);
    return false;
  }
  return true;
}

static size_t matmul_scratch(const lens_node *node, const lens_value *in, const lens_value *out) {
  lens_matmul_shape s;
  lens_status *st = lens_matmul_shape_of(node, &in[0], &in[1], &s, NULL);
  if (st) {
    lens_status_free(st);
    return 0;
  }
  int64_t m = matmul_folds(&s) ? s.batch * s.m : s.m;
  return lens_sgemm_workspace_bytes(m, s.n, s.k);
}

static lens_status *matmul_compute_kernel(const lens_node *node, const lens_value *in,
                                          lens_value *out, lens_exec_ctx *ctx) {
  lens_matmul_shape s;
  LENS_TRY(lens_matmul_shape_of(node, &in[0], &in[1], &s, NULL));
  const float *a = in[0].data, *b = in[1].data;
  float *y = out[0].data;
  void *ws = lens_exec_scratch(ctx);
  if (matmul_folds(&s)) {
    int64_t m = s.batch * s.m;
    if (m == 1) {
      lens_sgemv(ctx, false, s.n, s.k, 1.0f, a, b, s.n, 0.0f, y);
      return NULL;
    }
    LENS_TRY(check_scratch(node, "matmul_sgemm", ctx, lens_sgemm_workspace_bytes(m, s.n, s.k)));
    lens_sgemm(ctx, false, false, m, s.n, s.k, 1.0f, a, s.k, b, s.n, 0.0f, y, s.n, ws);
    return NULL;
  }
  LENS_TRY(check_scratch(node, "matmul_sgemm", ctx, lens_sgemm_workspace_bytes(s.m, s.n, s.k)));
  for (int64_t i = 0; i < s.batch; i++) {
    int64_t a_off, b_off;
    lens_matmul_offsets(&s, i, &a_off, &b_off);
    lens_sgemm(ctx, false, false, s.m, s.n, s.k, 1.0f, a + a_off, s.k, b + b_off, s.n, 0.0f,
               y + i * s.m * s.n, s.n, ws);
  }
  return NULL;
}

const lens_kernel lens_kernel_matmul_sgemm = {
    .name = "matmul_sgemm",
    .op_type = "MatMul",
    .precision = "fp32",
    .supports = matmul_supports,
    .scratch_bytes = matmul_scratch,
    .compute = matmul_compute_kernel,
};
