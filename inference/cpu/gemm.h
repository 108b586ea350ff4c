/* Single-precision GEMM for the CPU kernels: cache-blocked, packed, with a register-tiled
 * micro-kernel compiled for AVX-512, AVX2+FMA and a portable baseline, chosen at run time
 * from the CPU's features (the library itself is built without -march flags). */
#ifndef LENS_CPU_GEMM_H
#define LENS_CPU_GEMM_H

#include "ops/op.h"

/* Instruction-set levels, in increasing order. */
enum {
  LENS_CPU_ISA_BASELINE = 0, /* portable C (SSE2 on x86-64) */
  LENS_CPU_ISA_AVX2 = 1,     /* AVX2 + FMA */
  LENS_CPU_ISA_AVX512 = 2,   /* AVX-512F */
};

/* The level lens_sgemm uses: the best the CPU (and OS) supports, capped by
 * lens_cpu_force_isa. */
int lens_cpu_isa(void);
const char *lens_cpu_isa_name(int level);
/* For tests and benchmarks: caps the level (a negative value restores the automatic
 * choice). Process-wide; call it only while no session is running. */
void lens_cpu_force_isa(int level);

/* Rows of A per packed panel, the same at every ISA level, so that A packed by
 * lens_sgemm_pack_a stays valid whichever level later runs. */
#define LENS_SGEMM_MR 8

/* Bytes of workspace lens_sgemm and lens_sgemm_prepacked need for these sizes; the
 * workspace must be 64-byte aligned. Bounded by the cache blocking (a few MiB at most). */
size_t lens_sgemm_workspace_bytes(int64_t m, int64_t n, int64_t k);

/* C = alpha * op(A) * op(B) + beta * C, all row-major: op(A) is m x k, stored as A (m x k,
 * leading dimension lda) or, when trans_a, as A^T (k x m); likewise op(B) is k x n. With
 * beta == 0, C is only written (never read). Runs on ctx's threads. */
void lens_sgemm(lens_exec_ctx *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n,
                int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                int64_t ldb, float beta, float *c, int64_t ldc, void *workspace);

/* Constant A (weights), packed once: floats needed, then packing. */
size_t lens_sgemm_packed_a_floats(int64_t m, int64_t k);
void lens_sgemm_pack_a(bool trans_a, int64_t m, int64_t k, const float *a, int64_t lda,
                       float *packed);
/* lens_sgemm with A given as lens_sgemm_pack_a produced it for the same m and k. */
void lens_sgemm_prepacked(lens_exec_ctx *ctx, bool trans_b, int64_t m, int64_t n, int64_t k,
                          float alpha, const float *packed_a, const float *b, int64_t ldb,
                          float beta, float *c, int64_t ldc, void *workspace);

/* Work done on each finished tile of C while it is in cache:
 * C = act(C + bias[row] + residual), the activation and its parameters taken from ep. */
typedef struct lens_sgemm_epilogue {
  const float *bias;       /* one value per row of C, or NULL */
  const float *residual;   /* laid out like C (same ldc), or NULL */
  const lens_epilogue *ep; /* activation (its residual member is ignored), or NULL */
} lens_sgemm_epilogue;

/* lens_sgemm_prepacked with alpha 1, beta 0 and an epilogue (NULL: none). */
void lens_sgemm_prepacked_epilogue(lens_exec_ctx *ctx, bool trans_b, int64_t m, int64_t n,
                                   int64_t k, const float *packed_a, const float *b,
                                   int64_t ldb, float *c, int64_t ldc, void *workspace,
                                   const lens_sgemm_epilogue *epilogue);

/* For kernels that run their own parallel region: part `part` of split s of n columns, in
 * whole micro-kernel vectors ([*j0, *j1), possibly empty), as the GEMMs split theirs. */
void lens_sgemm_split_cols(const lens_split *s, int64_t n, int part, int64_t *j0,
                           int64_t *j1);

/* Rows [i0, i1) (i0 a multiple of LENS_SGEMM_MR) and columns [j0, j1) of
 * lens_sgemm_prepacked_epilogue's product, computed on the calling thread without workspace
 * (B panels are packed on the stack). Safe to run concurrently on disjoint parts of C. */
void lens_sgemm_prepacked_range(bool trans_b, int64_t m, int64_t n, int64_t k,
                                const float *packed_a, const float *b, int64_t ldb, float *c,
                                int64_t ldc, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                                const lens_sgemm_epilogue *epilogue);

/* Whether a prepacked product of m x n on that many threads splits C in rows (each thread
 * reading all of B) rather than in columns: for kernels that prepare B for it. */
bool lens_sgemm_splits_rows(int threads, int64_t m, int64_t n);

/* Columns [j0, j0 + cols) of rows [p0, p0 + kc) of a B that is never stored whole (a
 * convolution's im2col columns) into dst, rows ld floats apart, columns cols .. ld - 1 zero.
 * Called on every thread of the product, for its own columns. */
typedef void (*lens_sgemm_gather_b)(const void *arg, int64_t j0, int64_t cols, int64_t p0,
                                    int64_t kc, int64_t ld, float *dst);

/* lens_sgemm_prepacked_epilogue with B gathered panel by panel as the product needs it (k
 * > 0; no workspace: the panels are on each thread's stack). */
void lens_sgemm_prepacked_gather(lens_exec_ctx *ctx, int64_t m, int64_t n, int64_t k,
                                 const float *packed_a, lens_sgemm_gather_b gather_b,
                                 const void *gather_arg, float *c, int64_t ldc,
                                 const lens_sgemm_epilogue *epilogue);

#endif
