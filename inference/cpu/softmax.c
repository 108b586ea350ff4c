/* softmax_lastaxis: float32 Softmax normalised over contiguous rows (the last axis from
 * opset 13; the flattened trailing dims before it), with a vector exp: the row maximum,
 * exp(x - max) and its sum in one pass, then one scaling pass. Compiled per ISA. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu/gemm.h"
#include "cpu/kernels.h"

/* exp(x) for x <= 0 (x - max): 2^n * p(r), r = x - n ln 2 in [-ln2/2, ln2/2], p the
 * degree-6 Taylor polynomial (relative error below 2e-7); below -87.3 the result is 0. */
#define LENS_DEFINE_SOFTMAX_ROW(NAME, ATTR, VL)                                               \
  typedef float NAME##_vf __attribute__((vector_size(VL * sizeof(float))));                   \
  typedef int32_t NAME##_vi __attribute__((vector_size(VL * sizeof(float))));                 \
  ATTR static inline NAME##_vf NAME##_exp(NAME##_vf x) {                                      \
    const NAME##_vf magic = (NAME##_vf){0} + 12582912.0f; /* 1.5 * 2^23: rounds to int */    \
    NAME##_vi under = x < -87.3f;                                                             \
    x = (NAME##_vf)(((NAME##_vi)x & ~under) | ((NAME##_vi)((NAME##_vf){0} - 87.3f) & under)); \
    NAME##_vf n = (x * 1.44269504f + magic) - magic;                                          \
    NAME##_vf r = x - n * 0.693359375f;                                                       \
    r = r + n * 2.12194440e-4f;                                                               \
    NAME##_vf p = (NAME##_vf){0} + 1.0f / 720;                                                \
    p = p * r + 1.0f / 120;                                                                   \
    p = p * r + 1.0f / 24;                                                                    \
    p = p * r + 1.0f / 6;                                                                     \
    p = p * r + 0.5f;                                                                         \
    p = p * r + 1.0f;                                                                         \
    p = p * r + 1.0f;                                                                         \
    NAME##_vi e = (__builtin_convertvector(n, NAME##_vi) + 127) << 23;                        \
    NAME##_vf y = p * (NAME##_vf)e;                                                           \
    return (NAME##_vf)((NAME##_vi)y & ~under);                                                \
  }                                                                                           \
  ATTR static void NAME(float *restrict y, const float *restrict x, int64_t n) {              \
    float mx = -INFINITY;                                                                     \
    for (int64_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;                               \
    NAME##_vf sum = (NAME##_vf){0};                                                           \
    int64_t i = 0;                                                                            \
    for (; i + VL <= n; i += VL) {                                                            \
      NAME##_vf v;                                                                            \
      memcpy(&v, x + i, sizeof v);                                                            \
      v = NAME##_exp(v - mx);                                                                 \
      sum += v;                                                                               \
      memcpy(y + i, &v, sizeof v);                                                            \
    }                                                                                         \
    if (i < n) {                                                                              \
      NAME##_vf v = (NAME##_vf){0} - INFINITY;                                                \
      memcpy(&v, x + i, (size_t)(n - i) * sizeof(float));                                     \
      v = NAME##_exp(v - mx);                                                                 \
      sum += v;                                                                               \
      memcpy(y + i, &v, (size_t)(n - i) * sizeof(float));                                     \
    }                                                                                         \
    float s = 0.0f;                                                                           \
    for (int l = 0; l < VL; l++) s += sum[l];                                                 \
    float inv = 1.0f / s;                                                                     \
    for (int64_t k = 0; k < n; k++) y[k] *= inv;                                              \
  }

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_SOFTMAX_ROW(softmax_row_avx512, __attribute__((target("avx512f"))), 16)
LENS_DEFINE_SOFTMAX_ROW(softmax_row_avx2, __attribute__((target("avx2,fma"))), 8)
#endif
LENS_DEFINE_SOFTMAX_ROW(softmax_row_baseline, , 4)

typedef void (*softmax_row_fn)(float *y, const float *x, int64_t n);

/* Rows of the normalisation: (outer, len) when the normalised span is contiguous. */
static bool rows_of(const lens_node *node, const lens_value *x, int64_t *rows, int64_t *len) {
  int64_t axis;
  lens_status *st = lens_attr_int(node, "axis", node->opset >= 13 ? -1 : 1, &axis);
  if (st) {
    lens_status_free(st);
    return false;
  }
  if (axis < 0) axis += x->rank;
  if (axis < 0 || axis >= x->rank) return false;
  if (node->opset >= 13 && axis != x->rank - 1) return false;
  *rows = 1;
  *len = 1;
  for (int d = 0; d < axis; d++) *rows *= x->dims[d];
  for (int d = (int)axis; d < x->rank; d++) *len *= x->dims[d];
  return true;
}

static bool softmax_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  int64_t rows, len;
  return strcmp(node->op_type, "Softmax") == 0 && (!node->domain || !node->domain[0]) &&
         in[0].dtype == LENS_DTYPE_FLOAT32 && in[0].rank >= 1 && rows_of(node, &in[0], &rows, &len);
}

typedef struct softmax_job {
  const float *x;
  float *y;
  int64_t len;
  softmax_row_fn row;
} softmax_job;

static void softmax_rows(void *arg, size_t begin, size_t end) {
  const softmax_job *j = arg;
  for (size_t r = begin; r < end; r++)
    j->row(j->y + (int64_t)r * j->len, j->x + (int64_t)r * j->len, j->len);
}

static lens_status *softmax_compute(const lens_node *node, const lens_value *in,
                                    lens_value *out, lens_exec_ctx *ctx) {
  int64_t rows, len;
  if (!rows_of(node, &in[0], &rows, &len))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "softmax_lastaxis: unsupported axis");
  softmax_job job = {in[0].data, out[0].data, len, softmax_row_baseline};
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: job.row = softmax_row_avx512; break;
  case LENS_CPU_ISA_AVX2: job.row = softmax_row_avx2; break;
  default: break;
  }
#endif
  if (len == 0) return NULL;
  if (rows * len < 16384) softmax_rows(&job, 0, (size_t)rows);
  else lens_parallel_for(ctx, (size_t)rows, softmax_rows, &job);
  return NULL;
}

const lens_kernel lens_kernel_softmax_lastaxis = {
    .name = "softmax_lastaxis",
    .op_type = "Softmax",
    .precision = "fp32",
    .supports = softmax_supports,
    .compute = softmax_compute,
};
