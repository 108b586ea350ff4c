/* What conv2d_depthwise_direct shares with kernels that absorb a following depthwise
 * convolution (their dw_scratch_bytes): its rows, computed band by band from input rows that
 * the absorbing kernel makes as they are needed. */
#ifndef LENS_CPU_CONV_DEPTHWISE_H
#define LENS_CPU_CONV_DEPTHWISE_H

#include "cpu/kernels.h"

extern const lens_kernel lens_kernel_conv2d_depthwise_direct;

/* Makes input rows [r0, r1) of every channel of the depthwise convolution into dst, channel
 * c's at dst + c * ld (row after row, each the input's width), on the calling thread. */
typedef void (*lens_dw_source_fn)(const void *arg, int64_t r0, int64_t r1, float *dst,
                                  int64_t ld);

/* Scratch lens_cpu_dw_bands needs on that many threads; 0: dw cannot run in bands
 * (batch 1, one output channel per input channel, and planes wide enough to pay). */
size_t lens_cpu_dw_band_scratch(const lens_fused_dw *dw, int threads);

/* Runs dw into y (its output, NCHW), each thread over its share of the output rows in
 * bands, asking src for the input rows each band reads that it does not hold yet. */
lens_status *lens_cpu_dw_bands(lens_exec_ctx *ctx, const lens_fused_dw *dw, float *y,
                               lens_dw_source_fn src, const void *src_arg, void *scratch,
                               size_t scratch_bytes);

#endif
