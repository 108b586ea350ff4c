/* Software prefetch: for writing, for kernels whose stores the hardware does not prefetch;
 * and streams read in bursts too fast for the hardware's prefetch. */
#ifndef LENS_CPU_PREFETCH_H
#define LENS_CPU_PREFETCH_H

#include <stdint.h>

#include "ops/nn_common.h"

/* Asks for the cache line at p with intent to write. PREFETCHW in assembly: GCC drops
 * __builtin_prefetch's write hint, or the whole prefetch, in code not compiled for PRFCHW
 * (CPUs without it run the instruction as a no-op). */
static inline void lens_prefetch_line_for_write(const void *p) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
  __builtin_prefetch(p, 1, 3);
#endif
}

/* The lines of floats [0, n) from p, to write. */
static inline void lens_prefetch_for_write(const float *p, int64_t n) {
  for (int64_t q = 0; q < n; q += 16) lens_prefetch_line_for_write(p + q);
  if (n > 0) lens_prefetch_line_for_write(p + n - 1);
}

/* The lines of floats [0, n) from p, to read into L1. */
static inline void lens_prefetch_for_read(const float *p, int64_t n) {
  for (int64_t q = 0; q < n; q += 16) __builtin_prefetch(p + q, 0, 3);
  if (n > 0) __builtin_prefetch(p + n - 1, 0, 3);
}

/* For a 2-D window w over one plane (in_plane to out_plane): the input rows that output
 * rows [oh_begin, oh_end) read, to read into L1, and those output rows, to write. */
static inline void lens_prefetch_window_rows(const lens_window *w, const float *in_plane,
                                             float *out_plane, int64_t oh_begin,
                                             int64_t oh_end) {
  int64_t ih0 = oh_begin * w->stride[0] - w->pad_begin[0];
  int64_t ih1 = (oh_end - 1) * w->stride[0] - w->pad_begin[0] +
                (w->kernel[0] - 1) * w->dilation[0] + 1;
  if (ih0 < 0) ih0 = 0;
  if (ih1 > w->in[0]) ih1 = w->in[0];
  if (ih0 < ih1) lens_prefetch_for_read(in_plane + ih0 * w->in[1], (ih1 - ih0) * w->in[1]);
  lens_prefetch_for_write(out_plane + oh_begin * w->out[1], (oh_end - oh_begin) * w->out[1]);
}

/* Slice i of n of the lines of floats [0, count) from p, to read into L2: a stream asked
 * for a piece at a time while other work runs. */
static inline void lens_prefetch_share(const float *p, int64_t count, int i, int n) {
  int64_t per = (count + 16 * (int64_t)n - 1) / (16 * (int64_t)n) * 16;
  int64_t a = per * i, b = a + per < count ? a + per : count;
  for (int64_t q = a; q < b; q += 16) __builtin_prefetch(p + q, 0, 2);
}

#endif
