/* 16-lane AVX-512 masks for rows whose ends do not fall on whole vectors. */
#ifndef LENS_CPU_MASK16_H
#define LENS_CPU_MASK16_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <stdint.h>

/* Lanes of a 16-wide access at column start of a row of n values that lie inside it: a
 * masked load reads zeros for the rest and never touches memory outside the row. */
static inline __mmask16 lens_row_mask16(int64_t start, int64_t n) {
  int64_t lo = start < 0 ? -start : 0, hi = n - start < 16 ? n - start : 16;
  if (hi <= lo) return 0;
  return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}
#endif

#endif
