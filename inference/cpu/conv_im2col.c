/* conv2d_im2col_sgemm: 2-D convolution (any groups, strides, dilations, pads) as GEMMs.
 * For each (batch, group), the weights (Mg x Cg*kh*kw, packed once at session creation) are
 * multiplied with im2col columns of the input, built a band of output rows at a time into
 * the scratch buffer. A 1x1, stride-1, unpadded convolution multiplies the input directly.
 * Bias, a fused residual and activation are applied to each GEMM tile as it is finished. */
#include <stdlib.h>
#include <string.h>

#include "core/exec.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "ops/nn_common.h"

/* Bytes of im2col columns built at a time. */
#define IM2COL_BUDGET ((int64_t)8 << 20)
/* Column elements below which a band is built on the calling thread only. */
#define IM2COL_SERIAL ((int64_t)65536)

typedef struct conv_plan {
  lens_window w;
  int64_t batch, c_in, m_out, group;
  int64_t cg, mg, kg;       /* per group: input channels, output channels, GEMM depth */
  int64_t in_hw, out_hw;
  bool direct;              /* 1x1, stride 1, no padding: the input is the GEMM's B */
  int64_t band_rows;        /* output rows per im2col band */
  size_t col_bytes, ws_bytes, packed_bytes;
} conv_plan;

typedef struct conv_state {
  float *packed_w; /* group after group, lens_sgemm_packed_a_floats(mg, kg) floats each */
} conv_state;

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

static lens_status *conv_plan_of(const lens_node *node, const lens_value *in, conv_plan *p) {
  memset(p, 0, sizeof *p);
  if (in[0].dtype != LENS_DTYPE_FLOAT32 || in[0].rank != 4)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "conv2d_im2col_sgemm: not 2-D float32");
  LENS_TRY(lens_conv_resolve(node, in, &p->w));
  const lens_conv_params *cp = node->params;
  p->batch = in[0].dims[0];
  p->c_in = in[0].dims[1];
  p->m_out = in[1].dims[0];
  p->group = cp->group;
  p->cg = p->c_in / p->group;
  p->mg = p->m_out / p->group;
  p->kg = p->cg * p->w.kernel[0] * p->w.kernel[1];
  p->in_hw = p->w.in[0] * p->w.in[1];
  p->out_hw = p->w.out[0] * p->w.out[1];
  p->direct = p->w.kernel[0] == 1 && p->w.kernel[1] == 1 && p->w.stride[0] == 1 &&
              p->w.stride[1] == 1 && p->w.pad_begin[0] == 0 && p->w.pad_begin[1] == 0 &&
              p->w.pad_end[0] == 0 && p->w.pad_end[1] == 0;
  int64_t ow = p->w.out[1] > 0 ? p->w.out[1] : 1;
  if (p->direct) {
    p->band_rows = p->w.out[0];
    p->ws_bytes = lens_sgemm_workspace_bytes(p->mg, p->out_hw, p->kg);
  } else {
    int64_t row_bytes = p->kg * ow * (int64_t)sizeof(float);
    p->band_rows = IM2COL_BUDGET / (row_bytes > 0 ? row_bytes : 1);
    if (p->band_rows < 1) p->band_rows = 1;
    if (p->band_rows > p->w.out[0]) p->band_rows = p->w.out[0];
    p->col_bytes = align64((size_t)(p->kg * p->band_rows * ow) * sizeof(float));
    p->ws_bytes = lens_sgemm_workspace_bytes(p->mg, p->band_rows * ow, p->kg);
  }
  p->ws_bytes = align64(p->ws_bytes);
  p->packed_bytes =
      align64(lens_sgemm_packed_a_floats(p->mg, p->kg) * sizeof(float) * (size_t)p->group);
  return NULL;
}

static void pack_weights(const conv_plan *p, const float *w, float *packed) {
  size_t per_group = lens_sgemm_packed_a_floats(p->mg, p->kg);
  for (int64_t g = 0; g < p->group; g++)
    lens_sgemm_pack_a(false, p->mg, p->kg, w + g * p->mg * p->kg, p->kg,
                      packed + (size_t)g * per_group);
}

static bool conv_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  if (strcmp(node->op_type, "Conv") != 0 || (node->domain && node->domain[0]) ||
      !node->params || in[0].dtype != LENS_DTYPE_FLOAT32 || in[0].rank != 4)
    return false;
  conv_plan p;
  lens_status *st = conv_plan_of(node, in, &p);
  if (st) {
    lens_status_free(st);
    return false;
  }
  return true;
}

static lens_status *conv_prepare_kernel(const lens_node *node, const lens_value *in,
                                        const lens_value *out, void **state) {
  *state = NULL;
  if (!in[1].data) return NULL; /* weights known only at run time: packed then */
  conv_plan p;
  LENS_TRY(conv_plan_of(node, in, &p));
  conv_state *s = calloc(1, sizeof *s);
  if (!s) return lens_error_oom();
  s->packed_w = aligned_alloc(64, p.packed_bytes ? p.packed_bytes : 64);
  if (!s->packed_w) {
    free(s);
    return lens_error_oom();
  }
  pack_weights(&p, in[1].data, s->packed_w);
  *state = s;
  return NULL;
}

static void conv_release(void *state) {
  conv_state *s = state;
  if (!s) return;
  free(s->packed_w);
  free(s);
}

static size_t conv_scratch(const lens_node *node, const lens_value *in, const lens_value *out) {
  conv_plan p;
  lens_status *st = conv_plan_of(node, in, &p);
  if (st) {
    lens_status_free(st);
    return 0;
  }
  return p.col_bytes + p.ws_bytes + (in[1].data ? 0 : p.packed_bytes);
}

typedef struct im2col_job {
  const conv_plan *p;
  const float *x; /* the group's first input channel */
  float *col;     /* kg x (rows * OW) */
  int64_t oh0, rows;
} im2col_job;

/* Rows of the column matrix: one (channel, kernel row, kernel column) each. */
static void im2col_rows(void *arg, size_t begin, size_t end) {
  const im2col_job *j = arg;
  const lens_window *w = &j->p->w;
  int64_t kh = w->kernel[0], kw = w->kernel[1];
  int64_t ih_n = w->in[0], iw_n = w->in[1], ow_n = w->out[1];
  int64_t sh = w->stride[0], sw = w->stride[1];
  for (size_t r = begin; r < end; r++) {
    int64_t c = (int64_t)r / (kh * kw), ki = (int64_t)r / kw % kh, kj = (int64_t)r % kw;
    const float *xc = j->x + c * j->p->in_hw;
    float *dst = j->col + (int64_t)r * j->rows * ow_n;
    /* Output columns [lo, hi) read inside the input row; the rest read padding. */
    int64_t off = kj * w->dilation[1] - w->pad_begin[1];
    int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
    int64_t hi = iw_n - 1 - off < 0 ? 0 : (iw_n - 1 - off) / sw + 1;
    if (hi > ow_n) hi = ow_n;
    if (lo > hi) lo = hi;
    for (int64_t oh = j->oh0; oh < j->oh0 + j->rows; oh++, dst += ow_n) {
      int64_t ih = oh * sh - w->pad_begin[0] + ki * w->dilation[0];
      if (ih < 0 || ih >= ih_n) {
        memset(dst, 0, (size_t)ow_n * sizeof *dst);
        continue;
      }
      const float *src = xc + ih * iw_n + off;
      for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0.0f;
      if (sw == 1) {
        memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof *dst);
      } else {
        for (int64_t ow = lo; ow < hi; ow++) dst[ow] = src[ow * sw];
      }
      for (int64_t ow = hi; ow < ow_n; ow++) dst[ow] = 0.0f;
    }
  }
}

static lens_status *conv_compute_kernel(const lens_node *node, const lens_value *in,
                                        lens_value *out, lens_exec_ctx *ctx) {
  conv_plan p;
  LENS_TRY(conv_plan_of(node, in, &p));
  const conv_state *s = lens_exec_kernel_state(ctx);
  char *scratch = lens_exec_scratch(ctx);
  size_t need = p.col_bytes + p.ws_bytes + (s ? 0 : p.packed_bytes);
  if (need && (!scratch || ctx->scratch_bytes < need))
    return lens_node_error(node, LENS_ERR_RUNTIME,
                           "conv2d_im2col_sgemm: scratch of %zu bytes needed, %zu given", need,
                           ctx->scratch_bytes);
  float *col = (float *)scratch;
  void *ws = scratch + p.col_bytes;
  const float *packed_w;
  if (s) {
    packed_w = s->packed_w;
  } else {
    float *packed = (float *)(scratch + p.col_bytes + p.ws_bytes);
    pack_weights(&p, in[1].data, packed);
    packed_w = packed;
  }
  size_t per_group = lens_sgemm_packed_a_floats(p.mg, p.kg);
  const float *x = in[0].data, *bias = lens_node_has_input(node, in, 2) ? in[2].data : NULL;
  const lens_epilogue *ep = lens_exec_epilogue(ctx);
  float *y = out[0].data;
  int64_t ow = p.w.out[1];
  for (int64_t n = 0; n < p.batch; n++) {
    for (int64_t g = 0; g < p.group; g++) {
      const float *xg = x + (n * p.c_in + g * p.cg) * p.in_hw;
      int64_t y_off = (n * p.m_out + g * p.mg) * p.out_hw;
      float *yg = y + y_off;
      const float *wg = packed_w + (size_t)g * per_group;
      /* bias, residual and activation on each finished tile */
      lens_sgemm_epilogue epi = {bias ? bias + g * p.mg : NULL,
                                 ep && ep->residual ? ep->residual + y_off : NULL, ep};
      const lens_sgemm_epilogue *epi_or_null = epi.bias || ep ? &epi : NULL;
      if (p.direct) {
        lens_sgemm_prepacked_epilogue(ctx, false, p.mg, p.out_hw, p.kg, wg, xg, p.in_hw, yg,
                                      p.out_hw, ws, epi_or_null);
        continue;
      }
      for (int64_t oh0 = 0; oh0 < p.w.out[0]; oh0 += p.band_rows) {
        int64_t rows = p.w.out[0] - oh0 < p.band_rows ? p.w.out[0] - oh0 : p.band_rows;
        int64_t cols = rows * ow;
        im2col_job job = {&p, xg, col, oh0, rows};
        /* a small band costs less to copy than to hand to the other threads */
        if (p.kg * cols < IM2COL_SERIAL) im2col_rows(&job, 0, (size_t)p.kg);
        else lens_parallel_for(ctx, (size_t)p.kg, im2col_rows, &job);
        lens_sgemm_epilogue band = epi;
        if (band.residual) band.residual += oh0 * ow;
        lens_sgemm_prepacked_epilogue(ctx, false, p.mg, cols, p.kg, wg, col, cols,
                                      yg + oh0 * ow, p.out_hw, ws,
                                      epi_or_null ? &band : NULL);
      }
    }
  }
  return NULL;
}

const lens_kernel lens_kernel_conv2d_im2col_sgemm = {
    .name = "conv2d_im2col_sgemm",
    .op_type = "Conv",
    .precision = "fp32",
    .supports = conv_supports,
    .prepare = conv_prepare_kernel,
    .release = conv_release,
    .scratch_bytes = conv_scratch,
    .compute = conv_compute_kernel,
    .fuses = LENS_FUSE_ACTIVATION | LENS_FUSE_RESIDUAL,
};
