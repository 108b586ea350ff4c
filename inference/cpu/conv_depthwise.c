/* conv2d_depthwise_direct: 2-D convolution with one input channel per group (depthwise,
 * any channel multiplier), computed directly: each output row accumulates, per kernel tap,
 * a scaled (strided) input row. The row update is compiled per ISA like the GEMM kernels. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#endif

#include <string.h>

#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "ops/nn_common.h"

typedef void (*row_fn)(float *y, const float *x, int64_t n, int64_t stride, float w);

#define LENS_DEFINE_DW_ROW(NAME, ATTR)                                                        \
  ATTR static void NAME(float *restrict y, const float *restrict x, int64_t n, int64_t stride, \
                        float w) {                                                            \
    if (stride == 1) {                                                                        \
      for (int64_t i = 0; i < n; i++) y[i] += w * x[i];                                       \
    } else {                                                                                  \
      for (int64_t i = 0; i < n; i++) y[i] += w * x[i * stride];                              \
    }                                                                                         \
  }

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_DW_ROW(dw_row_avx512, __attribute__((target("avx512f"))))
LENS_DEFINE_DW_ROW(dw_row_avx2, __attribute__((target("avx2,fma"))))
#endif
LENS_DEFINE_DW_ROW(dw_row_baseline, )

static row_fn current_row_fn(void) {
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: return dw_row_avx512;
  case LENS_CPU_ISA_AVX2: return dw_row_avx2;
  default: break;
  }
#endif
  return dw_row_baseline;
}

static bool dw_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  if (strcmp(node->op_type, "Conv") != 0 || (node->domain && node->domain[0]) ||
      in[0].dtype != LENS_DTYPE_FLOAT32 || in[0].rank != 4 || !node->params)
    return false;
  lens_window w;
  lens_status *st = lens_conv_resolve(node, in, &w);
  if (st) {
    lens_status_free(st);
    return false;
  }
  const lens_conv_params *p = node->params;
  return p->group > 1 && p->group == in[0].dims[1];
}

typedef struct dw_job {
  lens_window w;
  const float *x, *wt, *b;
  float *y;
  int64_t c_in, m_out;
  row_fn row;
} dw_job;

/* Output columns [*lo, *hi) whose tap at offset off (kernel column * dilation - pad) reads
 * inside an input row of iw_n values. */
static void tap_range(int64_t off, int64_t sw, int64_t iw_n, int64_t ow_n, int64_t *lo,
                      int64_t *hi) {
  *lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
  *hi = iw_n - 1 - off < 0 ? 0 : (iw_n - 1 - off) / sw + 1;
  if (*hi > ow_n) *hi = ow_n;
  if (*lo > *hi) *lo = *hi;
}

/* One (batch, output channel) plane per index. */
static void dw_planes(void *arg, size_t begin, size_t end) {
  const dw_job *j = arg;
  const lens_window *w = &j->w;
  int64_t ih_n = w->in[0], iw_n = w->in[1], oh_n = w->out[0], ow_n = w->out[1];
  int64_t kh = w->kernel[0], kw = w->kernel[1], sw = w->stride[1];
  int64_t multiplier = j->m_out / j->c_in;
  for (size_t plane = begin; plane < end; plane++) {
    int64_t n = (int64_t)plane / j->m_out, m = (int64_t)plane % j->m_out;
    const float *x = j->x + (n * j->c_in + m / multiplier) * ih_n * iw_n;
    const float *wm = j->wt + m * kh * kw;
    float *y = j->y + (int64_t)plane * oh_n * ow_n;
    float bias = j->b ? j->b[m] : 0.0f;
    for (int64_t oh = 0; oh < oh_n; oh++) {
      float *yrow = y + oh * ow_n;
      for (int64_t ow = 0; ow < ow_n; ow++) yrow[ow] = bias;
      for (int64_t ki = 0; ki < kh; ki++) {
        int64_t ih = oh * w->stride[0] - w->pad_begin[0] + ki * w->dilation[0];
        if (ih < 0 || ih >= ih_n) continue;
        const float *xrow = x + ih * iw_n;
        for (int64_t kj = 0; kj < kw; kj++) {
          int64_t off = kj * w->dilation[1] - w->pad_begin[1], lo, hi;
          tap_range(off, sw, iw_n, ow_n, &lo, &hi);
          if (lo < hi) j->row(yrow + lo, xrow + lo * sw + off, hi - lo, sw, wm[ki * kw + kj]);
        }
      }
    }
  }
}

static lens_status *dw_compute(const lens_node *node, const lens_value *in, lens_value *out,
                               lens_exec_ctx *ctx) {
  dw_job job;
  LENS_TRY(lens_conv_resolve(node, in, &job.w));
  job.x = in[0].data;
  job.wt = in[1].data;
  job.b = lens_node_has_input(node, in, 2) ? in[2].data : NULL;
  job.y = out[0].data;
  job.c_in = in[0].dims[1];
  job.m_out = in[1].dims[0];
  job.row = current_row_fn();
  lens_parallel_for(ctx, (size_t)(in[0].dims[0] * job.m_out), dw_planes, &job);
  return NULL;
}

const lens_kernel lens_kernel_conv2d_depthwise_direct = {
    .name = "conv2d_depthwise_direct",
    .op_type = "Conv",
    .precision = "fp32",
    .supports = dw_supports,
    .compute = dw_compute,
};
