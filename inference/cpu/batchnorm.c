/* batchnorm_affine: inference BatchNormalization over float32 N-C-... tensors with
 * per-channel parameters, as y = a[c] * x + b[c] with a and b folded once at session
 * creation (in double, as the reference does), plus a fused residual and activation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/epilogue.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"

typedef void (*affine_fn)(float *y, const float *x, int64_t n, float a, float b);

#define LENS_DEFINE_AFFINE(NAME, ATTR)                                                        \
  ATTR static void NAME(float *restrict y, const float *restrict x, int64_t n, float a,       \
                        float b) {                                                            \
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * a + b;                                      \
  }

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_AFFINE(affine_avx512, __attribute__((target("avx512f"))))
LENS_DEFINE_AFFINE(affine_avx2, __attribute__((target("avx2,fma"))))
#endif
LENS_DEFINE_AFFINE(affine_baseline, )

static affine_fn current_affine(void) {
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: return affine_avx512;
  case LENS_CPU_ISA_AVX2: return affine_avx2;
  default: break;
  }
#endif
  return affine_baseline;
}

static bool bn_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  if (strcmp(node->op_type, "BatchNormalization") != 0 || (node->domain && node->domain[0]) ||
      in[0].dtype != LENS_DTYPE_FLOAT32 || in[0].rank < 2 || node->n_inputs != 5)
    return false;
  int64_t spatial = 1;
  if (node->opset < 9) {
    lens_status *st = lens_attr_int(node, "spatial", 1, &spatial);
    if (st) {
      lens_status_free(st);
      return false;
    }
  }
  if (spatial != 1) return false;
  for (int i = 1; i < 5; i++)
    if (in[i].dtype != LENS_DTYPE_FLOAT32 || in[i].rank != 1 || in[i].dims[0] != in[0].dims[1])
      return false;
  return true;
}

/* a and b, channels floats each. */
static lens_status *fold(const lens_node *node, const lens_value *in, float *ab) {
  float eps;
  LENS_TRY(lens_attr_float(node, "epsilon", 1e-5f, &eps));
  int64_t c = in[0].dims[1];
  const float *scale = in[1].data, *bias = in[2].data, *mean = in[3].data, *var = in[4].data;
  for (int64_t i = 0; i < c; i++) {
    double a = scale[i] / sqrt((double)var[i] + (double)eps);
    ab[i] = (float)a;
    ab[c + i] = (float)(bias[i] - mean[i] * a);
  }
  return NULL;
}

static lens_status *bn_prepare(const lens_node *node, const lens_value *in,
                               const lens_value *out, void **state) {
  *state = NULL;
  for (int i = 1; i < 5; i++)
    if (!in[i].data) return NULL; /* parameters known only at run time: folded then */
  float *ab = malloc(sizeof(float) * (size_t)(2 * in[0].dims[1]) + 1);
  if (!ab) return lens_error_oom();
  lens_status *st = fold(node, in, ab);
  if (st) {
    free(ab);
    return st;
  }
  *state = ab;
  return NULL;
}

static size_t bn_scratch(const lens_node *node, const lens_value *in, const lens_value *out) {
  return sizeof(float) * (size_t)(2 * in[0].dims[1]);
}

typedef struct bn_job {
  const float *x, *ab;
  float *y;
  int64_t channels, inner;
  const lens_epilogue *ep;
  affine_fn affine;
  lens_cpu_epilogue_fn epi;
} bn_job;

static void bn_planes(void *arg, size_t begin, size_t end) {
  const bn_job *j = arg;
  for (size_t p = begin; p < end; p++) {
    int64_t c = (int64_t)p % j->channels, off = (int64_t)p * j->inner;
    j->affine(j->y + off, j->x + off, j->inner, j->ab[c], j->ab[j->channels + c]);
    if (j->ep)
      j->epi(j->ep, 0.0f, j->y + off, j->ep->residual ? j->ep->residual + off : NULL,
             (size_t)j->inner);
  }
}

static lens_status *bn_compute(const lens_node *node, const lens_value *in, lens_value *out,
                               lens_exec_ctx *ctx) {
  const float *ab = lens_exec_kernel_state(ctx);
  if (!ab) {
    float *tmp = lens_exec_scratch(ctx);
    LENS_TRY(fold(node, in, tmp));
    ab = tmp;
  }
  bn_job job = {in[0].data, ab, out[0].data, in[0].dims[1], 1, lens_exec_epilogue(ctx),
                current_affine(), lens_cpu_epilogue_select()};
  for (int d = 2; d < in[0].rank; d++) job.inner *= in[0].dims[d];
  size_t planes = (size_t)(in[0].dims[0] * in[0].dims[1]);
  if (job.inner * (int64_t)planes < 32768) bn_planes(&job, 0, planes);
  else lens_parallel_for(ctx, planes, bn_planes, &job);
  return NULL;
}

const lens_kernel lens_kernel_batchnorm_affine = {
    .name = "batchnorm_affine",
    .op_type = "BatchNormalization",
    .precision = "fp32",
    .supports = bn_supports,
    .prepare = bn_prepare,
    .scratch_bytes = bn_scratch,
    .compute = bn_compute,
    .fuses = LENS_FUSE_ACTIVATION | LENS_FUSE_RESIDUAL,
};
