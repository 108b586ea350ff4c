/* The fused epilogue in vector form, for kernels that finish a row or tile of output while
 * it is still in cache: out = act(out + bias + residual), compiled per ISA like the GEMM
 * micro-kernels and chosen once per compute call. */
#ifndef LENS_CPU_EPILOGUE_H
#define LENS_CPU_EPILOGUE_H

#include "ops/op.h"

/* out[0:n] = act(out[0:n] + bias + residual[0:n]); residual may be NULL, ep may be NULL
 * (bias only). Matches lens_epilogue_apply after adding the bias. */
typedef void (*lens_cpu_epilogue_fn)(const lens_epilogue *ep, float bias, float *out,
                                     const float *residual, size_t n);

/* The implementation for the current ISA level (lens_cpu_isa). */
lens_cpu_epilogue_fn lens_cpu_epilogue_select(void);

/* Whether applying ep costs nothing beyond the bias (no residual, no activation). */
static inline bool lens_cpu_epilogue_is_empty(const lens_epilogue *ep) {
  return !ep || (!ep->residual && ep->act == LENS_ACT_NONE);
}

/* Whether ep's activation has a register form in the fused kernels (GEMM tiles, few-channel
 * convolutions) that gives the same bits as lens_cpu_epilogue_fn: NONE, RELU, CLIP,
 * LEAKYRELU and HARDSWISH. The others (Sigmoid, Tanh, HardSigmoid) are applied by the
 * epilogue function after the raw sums are stored. */
static inline bool lens_cpu_epilogue_in_registers(const lens_epilogue *ep) {
  if (!ep) return true;
  switch (ep->act) {
  case LENS_ACT_NONE:
  case LENS_ACT_RELU:
  case LENS_ACT_CLIP:
  case LENS_ACT_LEAKYRELU:
  case LENS_ACT_HARDSWISH: return true;
  default: return false;
  }
}

#endif
