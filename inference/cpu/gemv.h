/* Single-row float32 GEMM for the CPU kernels (batch-1 Gemm and MatMul heads). */
#ifndef LENS_CPU_GEMV_H
#define LENS_CPU_GEMV_H

#include "ops/op.h"

/* y[0:n] = alpha * x[0:k] op(B) + beta * y (y not read when beta == 0), op(B) being k x n:
 * B stored k x n (ldb) or, when trans_b, n x k. Runs on ctx's threads. */
void lens_sgemv(lens_exec_ctx *ctx, bool trans_b, int64_t n, int64_t k, float alpha,
                const float *x, const float *b, int64_t ldb, float beta, float *y);

#endif
