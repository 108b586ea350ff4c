/* conv_transpose2d_sgemm: 2-D ConvTranspose (group 1, explicit pads, any strides, dilations
 * and output_padding) as one GEMM and a scatter. The columns T = W^T X (Cout*kh*kw rows,
 * one per output channel and kernel tap, times H*W input positions) are built in the
 * scratch buffer with the weights packed once at session creation; each column then adds
 * into its output position (col2im). When the kernel equals the stride and nothing is
 * padded, every output is written by exactly one column and the scatter is a copy. */
#include <stdlib.h>
#include <string.h>

#include "core/exec.h"
#include "cpu/epilogue.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "ops/nn_common.h"

typedef struct ct_plan {
  lens_window_attrs a;
  int64_t c_in, c_out, ih, iw, oh, ow, kh, kw;
  int64_t m, k, hw; /* GEMM: m = c_out*kh*kw rows, depth c_in, hw columns */
  bool disjoint;    /* kernel == stride, no pads, dilation 1: one column per output */
  size_t cols_bytes, ws_bytes, packed_bytes;
} ct_plan;

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

static bool ct_plan_of(const lens_node *node, const lens_value *in, const lens_value *out,
                       ct_plan *p) {
  memset(p, 0, sizeof *p);
  if (strcmp(node->op_type, "ConvTranspose") != 0 || (node->domain && node->domain[0]) ||
      in[0].dtype != LENS_DTYPE_FLOAT32 || in[0].rank != 4 || in[1].dtype != LENS_DTYPE_FLOAT32 ||
      in[1].rank != 4 || out[0].rank != 4)
    return false;
  int64_t group;
  const int64_t *shape;
  size_t n_shape;
  lens_status *st = lens_window_attrs_parse(node, true, &p->a);
  if (!st) st = lens_attr_int(node, "group", 1, &group);
  if (!st) st = lens_attr_ints(node, "output_shape", &shape, &n_shape);
  if (st) {
    lens_status_free(st);
    return false;
  }
  if (group != 1 || n_shape || p->a.auto_pad != LENS_AUTO_PAD_NOTSET) return false;
  p->c_in = in[0].dims[1];
  p->c_out = in[1].dims[1];
  p->ih = in[0].dims[2], p->iw = in[0].dims[3];
  p->kh = in[1].dims[2], p->kw = in[1].dims[3];
  p->oh = out[0].dims[2], p->ow = out[0].dims[3];
  if (in[1].dims[0] != p->c_in || out[0].dims[1] != p->c_out) return false;
  if (p->a.n_kernel && (p->a.kernel[0] != p->kh || p->a.kernel[1] != p->kw)) return false;
  for (int i = 0; i < 2; i++) {
    if (!p->a.n_strides) p->a.strides[i] = 1;
    if (!p->a.n_dilations) p->a.dilations[i] = 1;
  }
  if (!p->a.n_pads) memset(p->a.pads, 0, sizeof p->a.pads);
  p->m = p->c_out * p->kh * p->kw;
  p->k = p->c_in;
  p->hw = p->ih * p->iw;
  p->disjoint = p->a.strides[0] == p->kh && p->a.strides[1] == p->kw &&
                p->a.dilations[0] == 1 && p->a.dilations[1] == 1 && p->a.pads[0] == 0 &&
                p->a.pads[1] == 0 && p->oh == p->ih * p->kh && p->ow == p->iw * p->kw;
  p->cols_bytes = align64((size_t)(p->m * p->hw) * sizeof(float));
  p->ws_bytes = align64(lens_sgemm_workspace_bytes(p->m, p->hw, p->k));
  p->packed_bytes = align64(lens_sgemm_packed_a_floats(p->m, p->k) * sizeof(float));
  return p->hw > 0 && p->m > 0;
}

static bool ct_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  ct_plan p;
  return ct_plan_of(node, in, out, &p);
}

/* W is c_in x (c_out*kh*kw): the GEMM's A is its transpose. */
static void pack_weights(const ct_plan *p, const float *w, float *packed) {
  lens_sgemm_pack_a(true, p->m, p->k, w, p->m, packed);
}

static lens_status *ct_prepare(const lens_node *node, const lens_value *in,
                               const lens_value *out, void **state) {
  *state = NULL;
  if (!in[1].data) return NULL;
  ct_plan p;
  if (!ct_plan_of(node, in, out, &p))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "conv_transpose2d_sgemm: unsupported");
  float *packed = aligned_alloc(64, p.packed_bytes ? p.packed_bytes : 64);
  if (!packed) return lens_error_oom();
  pack_weights(&p, in[1].data, packed);
  *state = packed;
  return NULL;
}

static size_t ct_scratch(const lens_node *node, const lens_value *in, const lens_value *out) {
  ct_plan p;
  if (!ct_plan_of(node, in, out, &p)) return 0;
  return p.cols_bytes + p.ws_bytes + (in[1].data ? 0 : p.packed_bytes);
}

typedef struct scatter_job {
  const ct_plan *p;
  const float *cols, *bias;
  float *y;
  const lens_epilogue *ep;
  lens_cpu_epilogue_fn epi;
} scatter_job;

/* One output channel per index: bias, the columns of its taps, then the epilogue. */
static void scatter_channels(void *arg, size_t begin, size_t end) {
  const scatter_job *j = arg;
  const ct_plan *p = j->p;
  int64_t sh = p->a.strides[0], sw = p->a.strides[1], dh = p->a.dilations[0];
  int64_t dw = p->a.dilations[1], pt = p->a.pads[0], pl = p->a.pads[1];
  int64_t plane = p->oh * p->ow;
  for (size_t co = begin; co < end; co++) {
    float *y = j->y + (int64_t)co * plane;
    float b = j->bias ? j->bias[co] : 0.0f;
    if (!p->disjoint)
      for (int64_t i = 0; i < plane; i++) y[i] = 0.0f;
    for (int64_t ki = 0; ki < p->kh; ki++)
      for (int64_t kj = 0; kj < p->kw; kj++) {
        const float *t = j->cols + (((int64_t)co * p->kh + ki) * p->kw + kj) * p->hw;
        for (int64_t ih = 0; ih < p->ih; ih++) {
          int64_t oh = ih * sh - pt + ki * dh;
          if (oh < 0 || oh >= p->oh) continue;
          float *yrow = y + oh * p->ow;
          const float *trow = t + ih * p->iw;
          if (p->disjoint) {
            for (int64_t iw = 0; iw < p->iw; iw++) yrow[iw * sw + kj] = trow[iw];
            continue;
          }
          for (int64_t iw = 0; iw < p->iw; iw++) {
            int64_t ow = iw * sw - pl + kj * dw;
            if (ow >= 0 && ow < p->ow) yrow[ow] += trow[iw];
          }
        }
      }
    for (int64_t r = 0; r < p->oh; r++) {
      int64_t off = (int64_t)co * plane + r * p->ow;
      j->epi(j->ep, b, y + r * p->ow, j->ep && j->ep->residual ? j->ep->residual + off : NULL,
             (size_t)p->ow);
    }
  }
}

static lens_status *ct_compute(const lens_node *node, const lens_value *in, lens_value *out,
                               lens_exec_ctx *ctx) {
  ct_plan p;
  if (!ct_plan_of(node, in, out, &p))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "conv_transpose2d_sgemm: unsupported");
  char *scratch = lens_exec_scratch(ctx);
  const float *packed = lens_exec_kernel_state(ctx);
  size_t need = p.cols_bytes + p.ws_bytes + (packed ? 0 : p.packed_bytes);
  if (!scratch || ctx->scratch_bytes < need)
    return lens_node_error(node, LENS_ERR_RUNTIME,
                           "conv_transpose2d_sgemm: scratch of %zu bytes needed, %zu given", need,
                           ctx->scratch_bytes);
  float *cols = (float *)scratch;
  void *ws = scratch + p.cols_bytes;
  if (!packed) {
    float *tmp = (float *)(scratch + p.cols_bytes + p.ws_bytes);
    pack_weights(&p, in[1].data, tmp);
    packed = tmp;
  }
  const lens_epilogue *ep = lens_exec_epilogue(ctx);
  scatter_job job = {&p, cols, lens_node_has_input(node, in, 2) ? in[2].data : NULL, NULL, ep,
                     lens_cpu_epilogue_select()};
  for (int64_t n = 0; n < in[0].dims[0]; n++) {
    const float *x = (const float *)in[0].data + n * p.c_in * p.hw;
    lens_sgemm_prepacked(ctx, false, p.m, p.hw, p.k, 1.0f, packed, x, p.hw, 0.0f, cols, p.hw,
                         ws);
    job.y = (float *)out[0].data + n * p.c_out * p.oh * p.ow;
    lens_epilogue shifted;
    if (ep && ep->residual) {
      shifted = *ep;
      shifted.residual += n * p.c_out * p.oh * p.ow;
      job.ep = &shifted;
    }
    lens_parallel_for(ctx, (size_t)p.c_out, scatter_channels, &job);
  }
  return NULL;
}

const lens_kernel lens_kernel_conv_transpose2d_sgemm = {
    .name = "conv_transpose2d_sgemm",
    .op_type = "ConvTranspose",
    .precision = "fp32",
    .supports = ct_supports,
    .prepare = ct_prepare,
    .release = free,
    .scratch_bytes = ct_scratch,
    .compute = ct_compute,
    .fuses = LENS_FUSE_ACTIVATION | LENS_FUSE_RESIDUAL,
};
