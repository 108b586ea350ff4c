/* Vector epilogues: one pass that adds the bias and residual and applies the activation.
 * Relu, Clip, LeakyRelu, HardSigmoid and HardSwish are plain loops the compiler vectorises
 * for each ISA; Sigmoid has a vector exponential of its own (the library's expf, one value
 * at a time, made a 640x640 Sigmoid cost 1.8 ms); Tanh uses tanhf after the vector add. */
#include "cpu/epilogue.h"

#include <stdint.h>
#include <string.h>

#include "cpu/gemm.h"
#include "cpu/kernels.h"

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

/* e^x for x <= 0 (Cephes' expf: x = n ln 2 + r, |r| <= ln 2 / 2, a degree-7 polynomial
 * for e^r, then 2^n through the exponent bits), within 2 ulp of expf; below -87.3 it
 * gives 0 rather than denormals. */
#define LENS_DEFINE_VEC_SIGMOID(NAME, ATTR, VL)                                               \
  typedef float NAME##_vf __attribute__((vector_size(VL * sizeof(float))));                   \
  typedef int32_t NAME##_vi __attribute__((vector_size(VL * sizeof(float))));                 \
  ATTR static inline NAME##_vf NAME##_exp_neg(NAME##_vf x) {                                  \
    NAME##_vf zero = (NAME##_vf){0};                                                          \
    NAME##_vi tiny = x < -87.3f;                                                              \
    x = (NAME##_vf)(((NAME##_vi)x & ~tiny) | ((NAME##_vi)(zero - 87.3f) & tiny));             \
    NAME##_vf fx = x * 1.44269504088896341f + 0.5f;                                           \
    NAME##_vf t = __builtin_convertvector(__builtin_convertvector(fx, NAME##_vi), NAME##_vf);  \
    NAME##_vf n = t - (NAME##_vf)((NAME##_vi)(zero + 1.0f) & (t > fx));                       \
    NAME##_vf r = x - n * 0.693359375f - n * -2.12194440e-4f;                                 \
    NAME##_vf y = 1.9875691500e-4f * r + 1.3981999507e-3f;                                    \
    y = y * r + 8.3334519073e-3f;                                                             \
    y = y * r + 4.1665795894e-2f;                                                             \
    y = y * r + 1.6666665459e-1f;                                                             \
    y = y * r + 5.0000001201e-1f;                                                             \
    y = y * (r * r) + r + 1.0f;                                                               \
    NAME##_vi bits = (__builtin_convertvector(n, NAME##_vi) + 127) << 23;                     \
    return (NAME##_vf)(((NAME##_vi)(y * (NAME##_vf)bits)) & ~tiny);                           \
  }                                                                                           \
  /* as the Sigmoid operator computes it: e = e^-|v|, (v >= 0 ? 1 : e) / (1 + e); NaN stays */\
  ATTR static inline NAME##_vf NAME##_of(NAME##_vf v) {                                       \
    NAME##_vf zero = (NAME##_vf){0};                                                          \
    NAME##_vi neg = v < zero;                                                                 \
    NAME##_vf mag = (NAME##_vf)(((NAME##_vi)v & ~neg) | ((NAME##_vi)(zero - v) & neg));       \
    NAME##_vf e = NAME##_exp_neg(zero - mag);                                                 \
    NAME##_vi pos = v >= zero;                                                                \
    NAME##_vf num = (NAME##_vf)(((NAME##_vi)(zero + 1.0f) & pos) | ((NAME##_vi)e & ~pos));    \
    NAME##_vf s = num / (1.0f + e);                                                           \
    NAME##_vi nan = v != v;                                                                   \
    return (NAME##_vf)(((NAME##_vi)v & nan) | ((NAME##_vi)s & ~nan));                         \
  }                                                                                           \
  ATTR static void NAME(float *restrict o, const float *restrict r, float bias, size_t n) {   \
    size_t i = 0;                                                                             \
    for (; i + VL <= n; i += VL) {                                                            \
      NAME##_vf v, rv;                                                                        \
      memcpy(&v, o + i, sizeof v);                                                            \
      v = v + bias;                                                                           \
      if (r) {                                                                                \
        memcpy(&rv, r + i, sizeof rv);                                                        \
        v = v + rv;                                                                           \
      }                                                                                       \
      v = NAME##_of(v);                                                                       \
      memcpy(o + i, &v, sizeof v);                                                            \
    }                                                                                         \
    if (i < n) { /* the tail through a whole vector, so that it rounds the same */            \
      NAME##_vf v = (NAME##_vf){0}, rv = (NAME##_vf){0};                                      \
      memcpy(&v, o + i, (n - i) * sizeof(float));                                             \
      v = v + bias;                                                                           \
      if (r) {                                                                                \
        memcpy(&rv, r + i, (n - i) * sizeof(float));                                          \
        v = v + rv;                                                                           \
      }                                                                                       \
      v = NAME##_of(v);                                                                       \
      memcpy(o + i, &v, (n - i) * sizeof(float));                                             \
    }                                                                                         \
  }

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_VEC_SIGMOID(sigmoid_avx512, __attribute__((target("avx512f"))), 16)
LENS_DEFINE_VEC_SIGMOID(sigmoid_avx2, __attribute__((target("avx2,fma"))), 8)
#endif
LENS_DEFINE_VEC_SIGMOID(sigmoid_baseline, , 4)

#define LENS_DEFINE_EPILOGUE(NAME, ATTR, SIGMOID)                                             \
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
    case LENS_ACT_SIGMOID: SIGMOID(o, r, bias, n); break;                                     \
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
LENS_DEFINE_EPILOGUE(epilogue_avx512, __attribute__((target("avx512f"))), sigmoid_avx512)
LENS_DEFINE_EPILOGUE(epilogue_avx2, __attribute__((target("avx2,fma"))), sigmoid_avx2)
#endif
LENS_DEFINE_EPILOGUE(epilogue_baseline, , sigmoid_baseline)

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

/* ---- sigmoid_f32: a float32 Sigmoid node on its own ------------------------------------ */

typedef struct sigmoid_job {
  const float *x;
  float *y;
  int64_t n;
  lens_cpu_epilogue_fn fn;
} sigmoid_job;

#define SIGMOID_BLOCK 16384 /* elements per task */

static void sigmoid_blocks(void *arg, size_t begin, size_t end) {
  const sigmoid_job *j = arg;
  static const lens_epilogue sigmoid = {NULL, LENS_ACT_SIGMOID, 0.0f, 0.0f, NULL, NULL};
  for (size_t b = begin; b < end; b++) {
    int64_t i0 = (int64_t)b * SIGMOID_BLOCK;
    int64_t n = j->n - i0 < SIGMOID_BLOCK ? j->n - i0 : SIGMOID_BLOCK;
    if (j->y != j->x) memcpy(j->y + i0, j->x + i0, (size_t)n * sizeof(float));
    j->fn(&sigmoid, 0.0f, j->y + i0, NULL, (size_t)n);
  }
}

static bool sigmoid_supports(const lens_node *node, const lens_value *in,
                             const lens_value *out) {
  return strcmp(node->op_type, "Sigmoid") == 0 && (!node->domain || !node->domain[0]) &&
         in[0].dtype == LENS_DTYPE_FLOAT32;
}

static lens_status *sigmoid_compute(const lens_node *node, const lens_value *in,
                                    lens_value *out, lens_exec_ctx *ctx) {
  sigmoid_job job = {in[0].data, out[0].data, lens_value_elements(&in[0]),
                     lens_cpu_epilogue_select()};
  size_t blocks = (size_t)((job.n + SIGMOID_BLOCK - 1) / SIGMOID_BLOCK);
  if (blocks <= 1) sigmoid_blocks(&job, 0, blocks);
  else lens_parallel_for(ctx, blocks, sigmoid_blocks, &job);
  return NULL;
}

const lens_kernel lens_kernel_sigmoid_f32 = {
    .name = "sigmoid_f32",
    .op_type = "Sigmoid",
    .precision = "fp32",
    .supports = sigmoid_supports,
    .compute = sigmoid_compute,
};
