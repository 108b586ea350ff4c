/* Single-row GEMM (batch-1 classifier heads): y = alpha * x op(B) + beta * y, with B read
 * once, straight from memory, instead of being packed on every run as lens_sgemm would.
 * Dot products (op(B) = B^T, rows of B contiguous) or row updates (op(B) = B), compiled
 * per ISA and split by output columns across the threads. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#endif

#include "cpu/gemv.h"

#include "cpu/gemm.h"

typedef float (*dot_fn)(const float *a, const float *b, int64_t n);
typedef void (*dot4_fn)(const float *x, const float *b, int64_t ldb, int64_t n, float *out);
typedef void (*axpy_fn)(float *y, const float *x, int64_t n, float a);

/* Sixteen partial sums, so the loop vectorises without reassociation flags. dot4 takes four
 * rows of B at once: four independent chains of sums instead of one, and x loaded once for
 * the four (mobilenet_v2's 1280 -> 1000 classifier in the model at one thread: 0.18-0.20 ms
 * against 0.22-0.24). */
#define LENS_DEFINE_GEMV(SUFFIX, ATTR)                                                        \
  ATTR static float dot_##SUFFIX(const float *restrict a, const float *restrict b,            \
                                 int64_t n) {                                                 \
    float part[16] = {0};                                                                     \
    int64_t i = 0;                                                                            \
    for (; i + 16 <= n; i += 16)                                                              \
      for (int l = 0; l < 16; l++) part[l] += a[i + l] * b[i + l];                            \
    float s = 0.0f;                                                                           \
    for (; i < n; i++) s += a[i] * b[i];                                                      \
    for (int l = 0; l < 16; l++) s += part[l];                                                \
    return s;                                                                                 \
  }                                                                                           \
  ATTR static void dot4_##SUFFIX(const float *restrict x, const float *restrict b0,         \
                                 int64_t ldb, int64_t n, float *out) {                        \
    const float *restrict b1 = b0 + ldb, *restrict b2 = b1 + ldb, *restrict b3 = b2 + ldb;   \
    float p0[16] = {0}, p1[16] = {0}, p2[16] = {0}, p3[16] = {0};                             \
    int64_t i = 0;                                                                            \
    for (; i + 16 <= n; i += 16)                                                              \
      for (int l = 0; l < 16; l++) {                                                          \
        float xv = x[i + l];                                                                  \
        p0[l] += xv * b0[i + l];                                                              \
        p1[l] += xv * b1[i + l];                                                              \
        p2[l] += xv * b2[i + l];                                                              \
        p3[l] += xv * b3[i + l];                                                              \
      }                                                                                       \
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;                                         \
    for (; i < n; i++) {                                                                      \
      s0 += x[i] * b0[i];                                                                     \
      s1 += x[i] * b1[i];                                                                     \
      s2 += x[i] * b2[i];                                                                     \
      s3 += x[i] * b3[i];                                                                     \
    }                                                                                         \
    for (int l = 0; l < 16; l++) {                                                            \
      s0 += p0[l];                                                                            \
      s1 += p1[l];                                                                            \
      s2 += p2[l];                                                                            \
      s3 += p3[l];                                                                            \
    }                                                                                         \
    out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;                                       \
  }                                                                                           \
  ATTR static void axpy_##SUFFIX(float *restrict y, const float *restrict x, int64_t n,       \
                                 float a) {                                                   \
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];                                         \
  }

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_GEMV(avx512, __attribute__((target("avx512f"))))
LENS_DEFINE_GEMV(avx2, __attribute__((target("avx2,fma"))))
#endif
LENS_DEFINE_GEMV(baseline, )

typedef struct gemv_job {
  bool trans_b;
  int64_t n, k, ldb;
  float alpha, beta;
  const float *x, *b;
  float *y;
  dot_fn dot;
  axpy_fn axpy;
  dot4_fn dot4;
} gemv_job;

/* Output columns in blocks of 64 per index. */
#define COLS 64

static void gemv_cols(void *arg, size_t begin, size_t end) {
  const gemv_job *j = arg;
  int64_t j0 = (int64_t)begin * COLS, j1 = (int64_t)end * COLS;
  if (j1 > j->n) j1 = j->n;
  if (j->trans_b) {
    int64_t c0 = j0;
    for (; c0 + 4 <= j1; c0 += 4) {
      float r[4];
      j->dot4(j->x, j->b + c0 * j->ldb, j->ldb, j->k, r);
      for (int q = 0; q < 4; q++) {
        float v = j->alpha * r[q];
        j->y[c0 + q] = j->beta == 0.0f ? v : v + j->beta * j->y[c0 + q];
      }
    }
    for (int64_t c = c0; c < j1; c++) {
      float r = j->alpha * j->dot(j->x, j->b + c * j->ldb, j->k);
      j->y[c] = j->beta == 0.0f ? r : r + j->beta * j->y[c];
    }
    return;
  }
  float acc[COLS];
  for (int64_t c0 = j0; c0 < j1; c0 += COLS) {
    int64_t w = j1 - c0 < COLS ? j1 - c0 : COLS;
    for (int64_t c = 0; c < w; c++) acc[c] = 0.0f;
    for (int64_t p = 0; p < j->k; p++) j->axpy(acc, j->b + p * j->ldb + c0, w, j->x[p]);
    for (int64_t c = 0; c < w; c++) {
      float r = j->alpha * acc[c];
      j->y[c0 + c] = j->beta == 0.0f ? r : r + j->beta * j->y[c0 + c];
    }
  }
}

void lens_sgemv(lens_exec_ctx *ctx, bool trans_b, int64_t n, int64_t k, float alpha,
                const float *x, const float *b, int64_t ldb, float beta, float *y) {
  gemv_job job = {trans_b, n, k, ldb, alpha, beta, x, b, y, dot_baseline, axpy_baseline,
                  dot4_baseline};
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512:
    job.dot = dot_avx512, job.axpy = axpy_avx512, job.dot4 = dot4_avx512;
    break;
  case LENS_CPU_ISA_AVX2: job.dot = dot_avx2, job.axpy = axpy_avx2, job.dot4 = dot4_avx2; break;
  default: break;
  }
#endif
  size_t blocks = (size_t)((n + COLS - 1) / COLS);
  if ((double)n * (double)k < 65536.0) gemv_cols(&job, 0, blocks);
  else lens_parallel_for(ctx, blocks, gemv_cols, &job);
}
