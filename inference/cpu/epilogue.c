/* Vector epilogues: one pass that adds the bias and residual and applies the activation.
 * Relu, Clip, LeakyRelu, HardSigmoid and HardSwish are plain loops the compiler vectorises
 * for each ISA; Sigmoid and Tanh use the library's expf/tanhf after the vector add. */
#include "cpu/epilogue.h"

#include "cpu/gemm.h"

#define EPI_LOOP(EXPR)                                                                        \
  do {                                                                                        \
    if (r) {                                                                                  \
      for (size_t i = 0; i < n; i++) {                                                        \
        float v = (o[i] + bias) + r[i];                                                       \
        o[i] = (EXPR);                                                                        \
      }                                                                                       \
    } else {                                                                                  \
      for (size_t i = 0; i < n; i++) {                                                        \
        float v = o[i] + bias;                                                                \
        o[i] = (EXPR);                                                                        \
      }                                                                                       \
    }                                                                                         \
  } while (0)

#define LENS_DEFINE_EPILOGUE(NAME, ATTR)                                                      \
  ATTR static void NAME(const lens_epilogue *ep, float bias, float *restrict o,               \
                        const float *restrict r, size_t n) {                                  \
    lens_activation_kind act = ep ? ep->act : LENS_ACT_NONE;                                  \
    float lo = ep ? ep->alpha : 0.0f, hi = ep ? ep->beta : 0.0f;                              \
    switch (act) {                                                                            \
    case LENS_ACT_RELU: EPI_LOOP(v > 0 ? v : 0.0f); break;                                   \
    case LENS_ACT_CLIP: EPI_LOOP(v < lo ? lo : v > hi ? hi : v); break;                       \
    case LENS_ACT_LEAKYRELU: EPI_LOOP(v >= 0 ? v : v * lo); break;                           \
    case LENS_ACT_HARDSIGMOID: {                                                              \
      EPI_LOOP(lo * v + hi < 0 ? 0.0f : lo * v + hi > 1 ? 1.0f : lo * v + hi);                \
      break;                                                                                  \
    }                                                                                         \
    case LENS_ACT_HARDSWISH: {                                                                \
      EPI_LOOP(v * (v / 6.0f + 0.5f < 0    ? 0.0f                                             \
                    : v / 6.0f + 0.5f > 1 ? 1.0f                                              \
                                          : v / 6.0f + 0.5f));                                \
      break;                                                                                  \
    }                                                                                         \
    case LENS_ACT_NONE:                                                                       \
      if (r || bias != 0.0f) EPI_LOOP(v);                                                     \
      break;                                                                                  \
    default: {                                                                                \
      if (r || bias != 0.0f) EPI_LOOP(v);                                                     \
      lens_epilogue rest = *ep;                                                               \
      rest.residual = NULL;                                                                   \
      lens_epilogue_apply(&rest, o, 0, n);                                                    \
      break;                                                                                  \
    }                                                                                         \
    }                                                                                         \
  }

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_EPILOGUE(epilogue_avx512, __attribute__((target("avx512f"))))
LENS_DEFINE_EPILOGUE(epilogue_avx2, __attribute__((target("avx2,fma"))))
#endif
LENS_DEFINE_EPILOGUE(epilogue_baseline, )

lens_cpu_epilogue_fn lens_cpu_epilogue_select(void) {
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: return epilogue_avx512;
  case LENS_CPU_ISA_AVX2: return epilogue_avx2;
  default: break;
  }
#endif
  return epilogue_baseline;
}
