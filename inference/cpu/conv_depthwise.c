/* conv2d_depthwise_direct: 2-D convolution with one input channel per group (depthwise,
 * any channel multiplier, stride, dilation and padding), computed directly.
 *
 * Small planes with channel multiplier 1 take groups of VL channels interleaved into one
 * padded buffer, one vector per position (dw_channels16_avx512 by register transposes, and
 * LENS_DEFINE_DW_CHANNELS): on AVX-512 for 3x3 outputs up to 12 wide and 5x5 up to 31.
 *
 * On AVX-512, square 3x3 and 5x5 kernels at stride 1 or 2 without dilation read the input
 * rows in place, two output rows at a time (LENS_DEFINE_DW_DIRECT_AVX512, and for 3x3 with
 * one column of left padding dw_direct3s1p1_avx512 / dw_direct3s2p1_avx512). Otherwise:
 *
 * A band of input rows is copied into a zero-padded buffer on the stack, each row split
 * into its stride phases (column c goes to phase c % stride, index c / stride), so that
 * every kernel tap reads a contiguous run for any stride. A block of VL outputs then keeps
 * its sum in one register over all taps; the bias starts the sum and the fused residual
 * and activation are applied to each finished row. Compiled per ISA with GCC vector
 * extensions. Planes too wide for the band buffer take a row-at-a-time path.
 *
 * Threads take whole planes, or, for planes lens_plane_parts splits, a band of rows of every
 * plane: the rows nearest the positions the GEMM-based convolutions around give the same
 * thread. */
#if defined(__GNUC__) && !defined(__clang__)
/* short row copies and tails stay inline instead of becoming memcpy/memset calls */
#pragma GCC optimize("fp-contract=fast", "no-tree-loop-distribute-patterns")
#endif

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "cpu/conv_depthwise.h"
#include "cpu/epilogue.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/mask16.h"
#include "cpu/prefetch.h"
#include "ops/nn_common.h"

/* Floats of the padded band buffer (on each thread's stack; fits in L1). */
#define BAND_FLOATS 8192
#define VL_MAX 16

typedef struct dw_job dw_job;
/* Computes output rows [oh_begin, oh_end) of one plane. */
typedef void (*dw_plane_fn)(const dw_job *j, const float *x, const float *wm, float bias,
                            float *y, const float *residual, int64_t oh_begin, int64_t oh_end);

struct dw_job {
  lens_window w;
  const float *x, *wt, *b;
  float *y;
  int64_t c_in, m_out;
  const lens_epilogue *ep;
  lens_cpu_epilogue_fn epi;
  dw_plane_fn plane;
  int64_t phase_len; /* Lp: floats per stride phase of a padded row */
  int64_t band_rows; /* output rows per band */
  /* small planes: VL channels at a time, interleaved (see LENS_DEFINE_DW_CHANNELS) */
  void (*channels)(const dw_job *j, int64_t n, int64_t c0);
  int vl;
  int64_t groups;        /* full groups of vl channels per image */
  int64_t first_channel; /* the plane path takes output channels from here on */
  size_t planes;         /* (batch, output channel) planes of the plane path */
  /* threads' parts of each plane's positions, bands of rows (parts 1: whole planes) */
  lens_split split;
  /* with threads, each plane's lines are asked for while the one before it is computed
   * (dw_prefetch_rows; see prefetch_c in gemm.c). Its output lines, to write: mobilenet_v2
   * at two threads 3.2-3.8%, ssdlite 3.4% faster. Its input lines too: mobilenet_v2 at two
   * threads 3-5% faster in the machines' slow memory states (4.72 -> 4.54 ms), no slower in
   * their fastest (2.66 both; one process, runs alternating, across 26 pairs of runs). */
  bool prefetch_next;
};

/* Padded geometry for vector length vl: Lp per phase, output rows per band (0: too wide). */
static void band_geometry(const lens_window *w, int vl, int64_t *phase_len, int64_t *rows) {
  int64_t sw = w->stride[1], sh = w->stride[0];
  int64_t ow_r = (w->out[1] + vl - 1) / vl * vl;
  *phase_len = ow_r + ((w->kernel[1] - 1) * w->dilation[1]) / sw + 1;
  int64_t row_floats = *phase_len * sw;
  int64_t fixed = (w->kernel[0] - 1) * w->dilation[0] + 1;
  int64_t max_rows = BAND_FLOATS / row_floats;
  *rows = max_rows < fixed ? 0 : (max_rows - fixed) / sh + 1;
  if (*rows > w->out[0]) *rows = w->out[0];
}

/* Fills padded rows [rho0, rho0 + n) (row rho is input row rho - pad_top) of plane x.
 * Plain loops, inlined into each ISA's plane function so that they vectorise there. */
static inline __attribute__((always_inline)) void fill_band(const lens_window *w,
                                                            const float *restrict x,
                                                            int64_t rho0, int64_t n,
                                                            int64_t phase_len,
                                                            float *restrict buf) {
  int64_t sw = w->stride[1], ih_n = w->in[0], iw_n = w->in[1], pl = w->pad_begin[1];
  int64_t row_floats = phase_len * sw;
  /* per phase p, index i reads input column i * sw + p - pl: inside for i in [lo, hi) */
  int64_t lo[8], hi[8];
  for (int64_t p = 0; p < sw; p++) {
    lo[p] = pl - p <= 0 ? 0 : (pl - p + sw - 1) / sw;
    hi[p] = iw_n + pl - p <= 0 ? 0 : (iw_n + pl - p + sw - 1) / sw;
    if (hi[p] > phase_len) hi[p] = phase_len;
    if (lo[p] > hi[p]) lo[p] = hi[p];
  }
  for (int64_t r = 0; r < n; r++) {
    float *dst = buf + r * row_floats;
    int64_t ih = rho0 + r - w->pad_begin[0];
    if (ih < 0 || ih >= ih_n) {
      for (int64_t i = 0; i < row_floats; i++) dst[i] = 0.0f;
      continue;
    }
    const float *src = x + ih * iw_n;
    if (sw == 1) {
      for (int64_t i = 0; i < lo[0]; i++) dst[i] = 0.0f;
      for (int64_t i = lo[0]; i < hi[0]; i++) dst[i] = src[i - pl];
      for (int64_t i = hi[0]; i < phase_len; i++) dst[i] = 0.0f;
      continue;
    }
    for (int64_t p = 0; p < sw; p++) {
      float *ph = dst + p * phase_len;
      for (int64_t i = 0; i < lo[p]; i++) ph[i] = 0.0f;
      if (sw == 2 && hi[p] > lo[p]) { /* a constant stride: the vectoriser uses shuffles */
        const float *sp = src + 2 * lo[p] + p - pl; /* in the row: lo[p] is its first index */
        for (int64_t i = 0; i < hi[p] - lo[p]; i++) ph[lo[p] + i] = sp[2 * i];
      } else {
        for (int64_t i = lo[p]; i < hi[p]; i++) ph[i] = src[i * sw + p - pl];
      }
      for (int64_t i = hi[p]; i < phase_len; i++) ph[i] = 0.0f;
    }
  }
}

/* Stores the first n (< VL) lanes of a vector. */
#if defined(__x86_64__) || defined(__i386__)
typedef float vec16 __attribute__((vector_size(64)));
__attribute__((target("avx512f"))) static inline void store_part_avx512(float *dst, vec16 v,
                                                                        int64_t n) {
  _mm512_mask_storeu_ps(dst, (__mmask16)((1u << n) - 1u), (__m512)v);
}
#endif
static inline void store_part_scalar(float *dst, const float *lanes, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = lanes[i];
}

#define LENS_DEFINE_DW_PLANE(NAME, ATTR, VL, STORE_PART)                                      \
  typedef float NAME##_vec __attribute__((vector_size(VL * sizeof(float))));                  \
  ATTR static inline void NAME##_store_part(float *dst, NAME##_vec v, int64_t n) {            \
    STORE_PART;                                                                               \
  }                                                                                           \
  ATTR static void NAME(const dw_job *j, const float *x, const float *wm, float bias,         \
                        float *y, const float *residual, int64_t oh_begin, int64_t oh_end) {  \
    const lens_window *w = &j->w;                                                             \
    int64_t ow_n = w->out[1], kh = w->kernel[0], kw = w->kernel[1];                           \
    int64_t sh = w->stride[0], sw = w->stride[1], dh = w->dilation[0], dw = w->dilation[1];   \
    int64_t lp = j->phase_len, row_floats = lp * sw;                                          \
    float buf[BAND_FLOATS] __attribute__((aligned(64)));                                      \
    int64_t tap_off[64];                                                                      \
    for (int64_t ki = 0; ki < kh; ki++)                                                       \
      for (int64_t kj = 0; kj < kw; kj++) {                                                   \
        int64_t t = kj * dw;                                                                  \
        tap_off[ki * kw + kj] = ki * dh * row_floats + (t % sw) * lp + t / sw;                \
      }                                                                                       \
    for (int64_t oh0 = oh_begin; oh0 < oh_end; oh0 += j->band_rows) {                         \
      int64_t rows = oh_end - oh0 < j->band_rows ? oh_end - oh0 : j->band_rows;               \
      fill_band(w, x, oh0 * sh, (rows - 1) * sh + (kh - 1) * dh + 1, lp, buf);                \
      int64_t r = 0;                                                                          \
      /* four output rows at a time: four independent sums per tap */                         \
      for (; r + 4 <= rows; r += 4) {                                                         \
        const float *base = buf + r * sh * row_floats;                                        \
        int64_t rstep = sh * row_floats;                                                      \
        float *yrow = y + (oh0 + r) * ow_n;                                                   \
        for (int64_t ow = 0; ow < ow_n; ow += VL) {                                           \
          NAME##_vec a0 = (NAME##_vec){0} + bias, a1 = a0, a2 = a0, a3 = a0;                  \
          for (int64_t t = 0; t < kh * kw; t++) {                                             \
            const float *q = base + tap_off[t] + ow;                                          \
            NAME##_vec v0, v1, v2, v3;                                                        \
            memcpy(&v0, q, sizeof v0);                                                        \
            memcpy(&v1, q + rstep, sizeof v1);                                                \
            memcpy(&v2, q + 2 * rstep, sizeof v2);                                            \
            memcpy(&v3, q + 3 * rstep, sizeof v3);                                            \
            float wt = wm[t];                                                                 \
            a0 += wt * v0;                                                                    \
            a1 += wt * v1;                                                                    \
            a2 += wt * v2;                                                                    \
            a3 += wt * v3;                                                                    \
          }                                                                                   \
          if (ow + VL <= ow_n) {                                                              \
            memcpy(yrow + ow, &a0, sizeof a0);                                                \
            memcpy(yrow + ow_n + ow, &a1, sizeof a1);                                         \
            memcpy(yrow + 2 * ow_n + ow, &a2, sizeof a2);                                     \
            memcpy(yrow + 3 * ow_n + ow, &a3, sizeof a3);                                     \
          } else {                                                                            \
            NAME##_store_part(yrow + ow, a0, ow_n - ow);                                      \
            NAME##_store_part(yrow + ow_n + ow, a1, ow_n - ow);                               \
            NAME##_store_part(yrow + 2 * ow_n + ow, a2, ow_n - ow);                           \
            NAME##_store_part(yrow + 3 * ow_n + ow, a3, ow_n - ow);                           \
          }                                                                                   \
        }                                                                                     \
        if (j->ep)                                                                            \
          j->epi(j->ep, 0.0f, yrow, residual ? residual + (oh0 + r) * ow_n : NULL,            \
                 (size_t)(4 * ow_n));                                                         \
      }                                                                                       \
      for (; r < rows; r++) {                                                                 \
        const float *base = buf + r * sh * row_floats;                                        \
        float *yrow = y + (oh0 + r) * ow_n;                                                   \
        for (int64_t ow = 0; ow < ow_n; ow += VL) {                                           \
          NAME##_vec acc = (NAME##_vec){0} + bias;                                            \
          for (int64_t t = 0; t < kh * kw; t++) {                                             \
            NAME##_vec v;                                                                     \
            memcpy(&v, base + tap_off[t] + ow, sizeof v);                                     \
            acc += wm[t] * v;                                                                 \
          }                                                                                   \
          if (ow + VL <= ow_n) memcpy(yrow + ow, &acc, sizeof acc);                           \
          else NAME##_store_part(yrow + ow, acc, ow_n - ow);                                  \
        }                                                                                     \
        if (j->ep)                                                                            \
          j->epi(j->ep, 0.0f, yrow, residual ? residual + (oh0 + r) * ow_n : NULL,            \
                 (size_t)ow_n);                                                               \
      }                                                                                       \
    }                                                                                         \
  }

/* Rows and columns of the zero-padded input the outputs of window w read (the channel
 * paths' buffers). */
static inline void padded_extent(const lens_window *w, int64_t *hp, int64_t *wp) {
  *hp = (w->out[0] - 1) * w->stride[0] + (w->kernel[0] - 1) * w->dilation[0] + 1;
  *wp = (w->out[1] - 1) * w->stride[1] + (w->kernel[1] - 1) * w->dilation[1] + 1;
}

/* Floats of the interleaved buffer of the small-plane path (on the stack). */
#define CHANNEL_FLOATS 16384

/* Small planes (a row shorter than two vectors) waste most of each vector in the plane
 * path. Here VL channels are interleaved into one zero-padded [row][column][VL] buffer, so a
 * vector holds one position of VL channels, each tap's VL weights stay in a register, and
 * every output position is kh*kw FMAs; the sums are then written back plane by plane.
 * Channel multiplier 1 only. */
#define LENS_DEFINE_DW_CHANNELS(NAME, ATTR, VL)                                               \
  typedef float NAME##_vec __attribute__((vector_size(VL * sizeof(float))));                  \
  ATTR static void NAME(const dw_job *j, int64_t n, int64_t c0) {                             \
    const lens_window *w = &j->w;                                                             \
    int64_t ih_n = w->in[0], iw_n = w->in[1], oh_n = w->out[0], ow_n = w->out[1];             \
    int64_t kh = w->kernel[0], kw = w->kernel[1], kk = kh * kw;                               \
    int64_t sh = w->stride[0], sw = w->stride[1], dh = w->dilation[0], dw = w->dilation[1];   \
    int64_t hp, wp;                                                                           \
    padded_extent(w, &hp, &wp);                                                               \
    int64_t pt = w->pad_begin[0], pl = w->pad_begin[1];                                       \
    NAME##_vec buf[CHANNEL_FLOATS / VL], wv[64], bias;                                        \
    float out[CHANNEL_FLOATS] __attribute__((aligned(64)));                                   \
    for (int64_t r = 0; r < hp; r++)                                                          \
      for (int64_t q = 0; q < wp; q++) {                                                      \
        int64_t ih = r - pt, iw = q - pl;                                                     \
        NAME##_vec v = (NAME##_vec){0};                                                       \
        if (ih >= 0 && ih < ih_n && iw >= 0 && iw < iw_n) {                                   \
          const float *x = j->x + ((n * j->c_in + c0) * ih_n + ih) * iw_n + iw;               \
          for (int l = 0; l < VL; l++) v[l] = x[l * ih_n * iw_n];                             \
        }                                                                                     \
        buf[r * wp + q] = v;                                                                  \
      }                                                                                       \
    for (int64_t t = 0; t < kk; t++)                                                          \
      for (int l = 0; l < VL; l++) wv[t][l] = j->wt[(c0 + l) * kk + t];                       \
    for (int l = 0; l < VL; l++) bias[l] = j->b ? j->b[c0 + l] : 0.0f;                        \
    for (int64_t oh = 0; oh < oh_n; oh++)                                                     \
      for (int64_t ow = 0; ow < ow_n; ow++) {                                                 \
        NAME##_vec acc = bias;                                                                \
        const NAME##_vec *b0 = buf + oh * sh * wp + ow * sw;                                  \
        for (int64_t ki = 0; ki < kh; ki++)                                                   \
          for (int64_t kj = 0; kj < kw; kj++)                                                 \
            acc += wv[ki * kw + kj] * b0[ki * dh * wp + kj * dw];                             \
        memcpy(out + (oh * ow_n + ow) * VL, &acc, sizeof acc);                                \
      }                                                                                       \
    int64_t plane = oh_n * ow_n;                                                              \
    for (int l = 0; l < VL; l++) {                                                            \
      int64_t off = (n * j->m_out + c0 + l) * plane;                                          \
      float *y = j->y + off;                                                                  \
      for (int64_t i = 0; i < plane; i++) y[i] = out[i * VL + l];                             \
      if (j->ep)                                                                              \
        j->epi(j->ep, 0.0f, y, j->ep->residual ? j->ep->residual + off : NULL, (size_t)plane); \
    }                                                                                         \
  }

#if defined(__x86_64__) || defined(__i386__)
/* Transposes a 16x16 block in registers: r[i] lane l becomes r[l] lane i (unpacks within
 * 128-bit lanes, then two rounds of 128-bit lane shuffles). */
__attribute__((target("avx512f"), always_inline)) static inline void transpose16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) { /* rows 4i..4i+3, columns 4q+c of each 128-bit lane */
    u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int c = 0; c < 4; c++) { /* lanes 0 and 2, then 1 and 3, of rows 0-7 and 8-15 */
    t[c] = _mm512_shuffle_f32x4(u[c], u[c + 4], 0x88);
    t[c + 4] = _mm512_shuffle_f32x4(u[c], u[c + 4], 0xDD);
    t[c + 8] = _mm512_shuffle_f32x4(u[c + 8], u[c + 12], 0x88);
    t[c + 12] = _mm512_shuffle_f32x4(u[c + 8], u[c + 12], 0xDD);
  }
  for (int c = 0; c < 4; c++) {
    r[c] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0x88);
    r[c + 8] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0xDD);
    r[c + 4] = _mm512_shuffle_f32x4(t[c + 4], t[c + 12], 0x88);
    r[c + 12] = _mm512_shuffle_f32x4(t[c + 4], t[c + 12], 0xDD);
  }
}

/* The output rows of dw_channels16_avx512 for a K x K kernel at stride S (0: any window,
 * from the job), four outputs of a row at a time so that four FMA chains run side by side.
 * Relu and Clip (without a residual) are applied here; the rest by the caller. */
__attribute__((target("avx512f"), always_inline)) static inline void dw16_rows(
    const dw_job *j, const __m512 *buf, int64_t wp, const __m512 *wv, __m512 bias, int K,
    int S, __m512 *out, bool relu, bool clip, __m512 lo, __m512 hi) {
  const lens_window *w = &j->w;
  int64_t oh_n = w->out[0], ow_n = w->out[1];
  int64_t kh = K ? K : w->kernel[0], kw = K ? K : w->kernel[1];
  int64_t sh = S ? S : w->stride[0], sw = S ? S : w->stride[1];
  int64_t dh = K ? 1 : w->dilation[0], dw = K ? 1 : w->dilation[1];
  for (int64_t oh = 0; oh < oh_n; oh++) {
    const __m512 *row = buf + oh * sh * wp;
    for (int64_t ow = 0; ow < ow_n; ow += 4) {
      int n = ow_n - ow < 4 ? (int)(ow_n - ow) : 4;
      __m512 acc[4] = {bias, bias, bias, bias};
      for (int64_t ki = 0; ki < kh; ki++)
        for (int64_t kj = 0; kj < kw; kj++) {
          __m512 wt = wv[ki * kw + kj];
          const __m512 *b = row + ki * dh * wp + kj * dw + ow * sw;
          for (int u = 0; u < 4; u++)
            if (u < n) acc[u] = _mm512_fmadd_ps(wt, b[u * sw], acc[u]);
        }
      for (int u = 0; u < n; u++) {
        __m512 v = acc[u];
        if (relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
        if (clip) v = _mm512_min_ps(hi, _mm512_max_ps(lo, v)); /* NaN stays NaN */
        out[oh * ow_n + ow + u] = v;
      }
    }
  }
}

/* Small planes on AVX-512: 16 channels transposed into one zero-padded [row][column][16]
 * buffer, 16 positions at a time by a register transpose (the plane path would leave most
 * lanes of each row empty: 7 of 16 for a 7x7 plane), every output 16 channels of kh*kw
 * FMAs, and the sums transposed back 16 positions at a time. Channel multiplier 1. */
__attribute__((target("avx512f"))) static void dw_channels16_avx512(const dw_job *j, int64_t n,
                                                                    int64_t c0) {
  const lens_window *w = &j->w;
  int64_t ih_n = w->in[0], iw_n = w->in[1], oh_n = w->out[0], ow_n = w->out[1];
  int64_t kh = w->kernel[0], kw = w->kernel[1], kk = kh * kw;
  int64_t hp, wp, pt = w->pad_begin[0], pl = w->pad_begin[1];
  int64_t in_hw = ih_n * iw_n, out_hw = oh_n * ow_n;
  padded_extent(w, &hp, &wp);
  __m512 buf[CHANNEL_FLOATS / 16], out[CHANNEL_FLOATS / 16], wv[64], r[16];
  for (int64_t i = 0; i < hp * wp; i++) buf[i] = _mm512_setzero_ps();
  const float *x = j->x + (n * j->c_in + c0) * in_hw;
  int64_t ih = 0, iw = 0; /* of position f */
  for (int64_t f0 = 0; f0 < in_hw; f0 += 16) {
    __mmask16 m = lens_row_mask16(f0, in_hw);
    for (int l = 0; l < 16; l++) r[l] = _mm512_maskz_loadu_ps(m, x + l * in_hw + f0);
    transpose16(r);
    for (int64_t q = 0; q < 16 && f0 + q < in_hw; q++) {
      int64_t rr = ih + pt, cc = iw + pl; /* rows and columns no output reads are dropped */
      if (rr < hp && cc < wp) buf[rr * wp + cc] = r[q];
      if (++iw == iw_n) iw = 0, ih++;
    }
  }
  const __m512i tap = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                           11, 12, 13, 14, 15),
                                         _mm512_set1_epi32((int)kk));
  for (int64_t t = 0; t < kk; t++) wv[t] = _mm512_i32gather_ps(tap, j->wt + c0 * kk + t, 4);
  __m512 bias = j->b ? _mm512_loadu_ps(j->b + c0) : _mm512_setzero_ps();
  lens_activation_kind act = j->ep ? j->ep->act : LENS_ACT_NONE;
  bool inline_act = !j->ep || (!j->ep->residual && (act == LENS_ACT_RELU || act == LENS_ACT_CLIP));
  bool relu = inline_act && act == LENS_ACT_RELU, clip = inline_act && act == LENS_ACT_CLIP;
  __m512 lo = _mm512_set1_ps(clip ? j->ep->alpha : 0.0f);
  __m512 hi = _mm512_set1_ps(clip ? j->ep->beta : 0.0f);
  bool plain = w->dilation[0] == 1 && w->dilation[1] == 1 && w->stride[0] == w->stride[1];
  if (plain && kh == 3 && kw == 3 && w->stride[0] == 1)
    dw16_rows(j, buf, wp, wv, bias, 3, 1, out, relu, clip, lo, hi);
  else if (plain && kh == 3 && kw == 3 && w->stride[0] == 2)
    dw16_rows(j, buf, wp, wv, bias, 3, 2, out, relu, clip, lo, hi);
  else if (plain && kh == 5 && kw == 5 && w->stride[0] == 1)
    dw16_rows(j, buf, wp, wv, bias, 5, 1, out, relu, clip, lo, hi);
  else if (plain && kh == 5 && kw == 5 && w->stride[0] == 2)
    dw16_rows(j, buf, wp, wv, bias, 5, 2, out, relu, clip, lo, hi);
  else dw16_rows(j, buf, wp, wv, bias, 0, 0, out, relu, clip, lo, hi);
  float *y = j->y + (n * j->m_out + c0) * out_hw;
  for (int64_t f0 = 0; f0 < out_hw; f0 += 16) {
    for (int q = 0; q < 16; q++) r[q] = f0 + q < out_hw ? out[f0 + q] : _mm512_setzero_ps();
    transpose16(r);
    __mmask16 m = lens_row_mask16(f0, out_hw);
    for (int l = 0; l < 16; l++) _mm512_mask_storeu_ps(y + l * out_hw + f0, m, r[l]);
  }
  if (j->ep && !inline_act)
    for (int l = 0; l < 16; l++) {
      int64_t off = (n * j->m_out + c0 + l) * out_hw;
      j->epi(j->ep, 0.0f, j->y + off, j->ep->residual ? j->ep->residual + off : NULL,
             (size_t)out_hw);
    }
}
#endif

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_DW_CHANNELS(dw_channels_avx2, __attribute__((target("avx2,fma"))), 8)
#endif
LENS_DEFINE_DW_CHANNELS(dw_channels_baseline, , 4)

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_DW_PLANE(dw_plane_avx512, __attribute__((target("avx512f"))), 16,
                     store_part_avx512(dst, v, n))
LENS_DEFINE_DW_PLANE(dw_plane_avx2, __attribute__((target("avx2,fma"))), 8,
                     store_part_scalar(dst, (const float *)&v, n))
#endif
LENS_DEFINE_DW_PLANE(dw_plane_baseline, , 4, store_part_scalar(dst, (const float *)&v, n))

#if defined(__x86_64__) || defined(__i386__)
/* Widest output row the direct path takes (its load masks live on the stack). */
#define DIRECT_MAX_STEPS 256

/* The end of 16 outputs of the direct paths: residual, Relu or Clip in registers, the
 * store (a whole vector when it can: masked stores are slower on some cores). */
__attribute__((target("avx512f"))) static inline void dw_store16(float *dst, __m512 sum,
                                                                 const float *res,
                                                                 __mmask16 om,
                                                                 lens_activation_kind act,
                                                                 __m512 lo, __m512 hi) {
  if (res) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(om, res));
  if (act == LENS_ACT_RELU) sum = _mm512_max_ps(sum, _mm512_setzero_ps());
  /* constant first: a NaN sum stays NaN, as in the plain Clip */
  if (act == LENS_ACT_CLIP) sum = _mm512_min_ps(hi, _mm512_max_ps(lo, sum));
  if (om == 0xffff) _mm512_storeu_ps(dst, sum);
  else _mm512_mask_storeu_ps(dst, om, sum);
}

/* Activations the direct paths leave to the epilogue function, on output rows [oh, oh+n). */
static inline void dw_rows_epilogue(const dw_job *j, bool inline_epi, float *y,
                                    const float *residual, int64_t oh, int64_t n,
                                    int64_t ow_n) {
  if (!j->ep || inline_epi) return;
  for (int64_t h = 0; h < n; h++)
    j->epi(j->ep, 0.0f, y + (oh + h) * ow_n, residual ? residual + (oh + h) * ow_n : NULL,
           (size_t)ow_n);
}

/* Square K x K kernels at column stride 1 or 2, no dilation, straight from the input rows:
 * 16 outputs of a row per step, borders by masked loads (masks worked out once per plane)
 * instead of a padded copy, the K*K weights in registers, one sum per kernel row so that
 * the FMA chains stay short. Stride 2 splits 32 input columns into even and odd ones with
 * two permutes; the taps further right shift in lanes of the next 16 columns. Relu and
 * Clip, and the residual before them, are applied in registers; other activations by the
 * epilogue per row. */
#define LENS_DEFINE_DW_DIRECT_AVX512(NAME, K, S)                                              \
  __attribute__((target("avx512f"))) static void NAME(                                        \
      const dw_job *j, const float *x, const float *wm, float bias, float *y,                 \
      const float *residual, int64_t oh_begin, int64_t oh_end) {                              \
    const lens_window *w = &j->w;                                                             \
    int64_t ih_n = w->in[0], iw_n = w->in[1], ow_n = w->out[1];                               \
    int64_t pt = w->pad_begin[0], pl = w->pad_begin[1];                                       \
    enum { LOADS = S == 1 ? K : 3 };                                                          \
    __mmask16 mk[DIRECT_MAX_STEPS][LOADS + 1];                                                \
    int64_t steps = (ow_n + 15) / 16;                                                         \
    for (int64_t s = 0; s < steps; s++) {                                                     \
      int64_t p = s * 16 * S - pl;                                                            \
      for (int l = 0; l < LOADS; l++)                                                         \
        mk[s][l] = lens_row_mask16(p + (S == 1 ? l : 16 * l), iw_n);                          \
      mk[s][LOADS] = lens_row_mask16(s * 16, ow_n);                                           \
    }                                                                                         \
    __m512 wv[K * K];                                                                         \
    for (int t = 0; t < K * K; t++) wv[t] = _mm512_set1_ps(wm[t]);                            \
    lens_activation_kind act = j->ep ? j->ep->act : LENS_ACT_NONE;                            \
    bool inline_epi = act == LENS_ACT_NONE || act == LENS_ACT_RELU || act == LENS_ACT_CLIP;   \
    const float *res = inline_epi ? residual : NULL;                                          \
    __m512 lo = _mm512_set1_ps(act == LENS_ACT_CLIP ? j->ep->alpha : 0.0f);                   \
    __m512 hi = _mm512_set1_ps(act == LENS_ACT_CLIP ? j->ep->beta : 0.0f);                    \
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, \
                                           28, 30);                                           \
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));                         \
    const __m512i next = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, \
                                           16);                                               \
    /* two output rows at a time: the K + S input rows they read are loaded (and split)    \
     * once for both */                                                                       \
    for (int64_t oh = oh_begin; oh < oh_end; oh += 2) {                                       \
      int64_t ih0 = oh * S - pt;                                                              \
      bool two = oh + 1 < oh_end;                                                             \
      const float *xr[K + S];                                                                 \
      bool in_rows[K + S];                                                                    \
      for (int r = 0; r < K + S; r++) {                                                       \
        in_rows[r] = ih0 + r >= 0 && ih0 + r < ih_n;                                          \
        xr[r] = x + (in_rows[r] ? ih0 + r : 0) * iw_n;                                        \
      }                                                                                       \
      for (int64_t s = 0; s < steps; s++) {                                                   \
        int64_t p = s * 16 * S - pl;                                                          \
        const __mmask16 *m = mk[s];                                                           \
        /* NA sums per output row (one per kernel row when the registers allow) keep the   \
         * FMA chains short */                                                                \
        enum { NA = K <= 3 ? K : 2 };                                                         \
        __m512 a0[NA], a1[NA];                                                                \
        a0[0] = a1[0] = _mm512_set1_ps(bias);                                                 \
        for (int i = 1; i < NA; i++) a0[i] = a1[i] = _mm512_setzero_ps();                     \
        _Pragma("GCC unroll 8") for (int r = 0; r < K + S; r++) {                             \
          if (!in_rows[r]) continue;                                                          \
          const float *q = xr[r] + p;                                                         \
          __m512 t[K];                                                                        \
          if (S == 1) {                                                                       \
            _Pragma("GCC unroll 8") for (int kj = 0; kj < K; kj++)                            \
                t[kj] = _mm512_maskz_loadu_ps(m[kj], q + kj);                                 \
          } else {                                                                            \
            __m512 a = _mm512_maskz_loadu_ps(m[0], q);                                        \
            __m512 b = _mm512_maskz_loadu_ps(m[1], q + 16);                                   \
            __m512 c = _mm512_maskz_loadu_ps(m[2], q + 32);                                   \
            t[0] = _mm512_permutex2var_ps(a, even, b);                                        \
            if (K > 1) t[1] = _mm512_permutex2var_ps(a, odd, b);                              \
            /* one column pair further: lanes move down, lane 15 from the next 16 */         \
            _Pragma("GCC unroll 8") for (int kj = 2; kj < K; kj++)                            \
              t[kj] = _mm512_permutex2var_ps(                                                 \
                  t[kj - 2], _mm512_add_epi32(next, _mm512_maskz_set1_epi32(0x8000, kj - 2)), \
                  c);                                                                         \
          }                                                                                   \
          /* unrolled, or the taps and sums of a 5x5 go through the stack */                 \
          if (r < K)                                                                          \
            _Pragma("GCC unroll 8") for (int kj = 0; kj < K; kj++)                            \
              a0[r % NA] = _mm512_fmadd_ps(wv[r * K + kj], t[kj], a0[r % NA]);                \
          if (r >= S && r - S < K)                                                            \
            _Pragma("GCC unroll 8") for (int kj = 0; kj < K; kj++)                            \
              a1[(r - S) % NA] = _mm512_fmadd_ps(wv[(r - S) * K + kj], t[kj], a1[(r - S) % NA]); \
        }                                                                                     \
        __mmask16 om = m[LOADS];                                                              \
        for (int h = 0; h < 1 + two; h++) {                                                   \
          __m512 sum = h ? a1[0] : a0[0];                                                     \
          for (int i = 1; i < NA; i++) sum = _mm512_add_ps(sum, h ? a1[i] : a0[i]);           \
          int64_t off = (oh + h) * ow_n + s * 16;                                             \
          dw_store16(y + off, sum, res ? res + off : NULL, om, act, lo, hi);                  \
        }                                                                                     \
      }                                                                                       \
      dw_rows_epilogue(j, inline_epi, y, residual, oh, 1 + two, ow_n);                        \
    }                                                                                         \
  }

LENS_DEFINE_DW_DIRECT_AVX512(dw_direct3s1_avx512, 3, 1)
LENS_DEFINE_DW_DIRECT_AVX512(dw_direct3s2_avx512, 3, 2)
LENS_DEFINE_DW_DIRECT_AVX512(dw_direct5s1_avx512, 5, 1)
LENS_DEFINE_DW_DIRECT_AVX512(dw_direct5s2_avx512, 5, 2)

/* 3x3, stride 1, one column of padding each side (MobileNet's stride-1 depthwise layers):
 * as dw_direct3s1_avx512, but each input row is read in 16-column blocks on the row's own
 * grid, one new block per step, and the taps one column left and right come from the block
 * before and after by valignd, not from loads across cache lines. */
__attribute__((target("avx512f"))) static void dw_direct3s1p1_avx512(
    const dw_job *j, const float *x, const float *wm, float bias, float *y,
    const float *residual, int64_t oh_begin, int64_t oh_end) {
  const lens_window *w = &j->w;
  int64_t ih_n = w->in[0], iw_n = w->in[1], ow_n = w->out[1];
  int64_t pt = w->pad_begin[0], steps = (ow_n + 15) / 16;
  __mmask16 mk[DIRECT_MAX_STEPS + 1][2];
  for (int64_t s = 0; s <= steps; s++) {
    mk[s][0] = lens_row_mask16(16 * s, iw_n); /* the block a step reads: one ahead of its own */
    mk[s][1] = lens_row_mask16(16 * s, ow_n);
  }
  __m512 wv[9];
  for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(wm[t]);
  lens_activation_kind act = j->ep ? j->ep->act : LENS_ACT_NONE;
  bool inline_epi = act == LENS_ACT_NONE || act == LENS_ACT_RELU || act == LENS_ACT_CLIP;
  const float *res = inline_epi ? residual : NULL;
  __m512 lo = _mm512_set1_ps(act == LENS_ACT_CLIP ? j->ep->alpha : 0.0f);
  __m512 hi = _mm512_set1_ps(act == LENS_ACT_CLIP ? j->ep->beta : 0.0f);
  for (int64_t oh = oh_begin; oh < oh_end; oh += 2) {
    int64_t ih0 = oh - pt;
    bool two = oh + 1 < oh_end;
    const float *xr[4];
    bool in_rows[4];
    __m512 prev[4], cur[4];
    for (int r = 0; r < 4; r++) {
      in_rows[r] = ih0 + r >= 0 && ih0 + r < ih_n;
      xr[r] = x + (in_rows[r] ? ih0 + r : 0) * iw_n;
      prev[r] = _mm512_setzero_ps();
      cur[r] = in_rows[r] ? _mm512_maskz_loadu_ps(mk[0][0], xr[r]) : prev[r];
    }
    for (int64_t s = 0; s < steps; s++) {
      __mmask16 mn = mk[s + 1][0], om = mk[s][1];
      __m512 a0[3], a1[3];
      a0[0] = a1[0] = _mm512_set1_ps(bias);
      a0[1] = a1[1] = a0[2] = a1[2] = _mm512_setzero_ps();
      _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {
        if (!in_rows[r]) continue;
        __m512 nxt = _mm512_maskz_loadu_ps(mn, xr[r] + 16 * s + 16);
        __m512 t0 = (__m512)_mm512_alignr_epi32((__m512i)cur[r], (__m512i)prev[r], 15);
        __m512 t2 = (__m512)_mm512_alignr_epi32((__m512i)nxt, (__m512i)cur[r], 1);
        if (r < 3) {
          a0[r] = _mm512_fmadd_ps(wv[3 * r], t0, a0[r]);
          a0[r] = _mm512_fmadd_ps(wv[3 * r + 1], cur[r], a0[r]);
          a0[r] = _mm512_fmadd_ps(wv[3 * r + 2], t2, a0[r]);
        }
        if (r >= 1) {
          a1[r - 1] = _mm512_fmadd_ps(wv[3 * r - 3], t0, a1[r - 1]);
          a1[r - 1] = _mm512_fmadd_ps(wv[3 * r - 2], cur[r], a1[r - 1]);
          a1[r - 1] = _mm512_fmadd_ps(wv[3 * r - 1], t2, a1[r - 1]);
        }
        prev[r] = cur[r];
        cur[r] = nxt;
      }
      for (int h = 0; h < 1 + two; h++) {
        __m512 sum = h ? _mm512_add_ps(_mm512_add_ps(a1[0], a1[1]), a1[2])
                       : _mm512_add_ps(_mm512_add_ps(a0[0], a0[1]), a0[2]);
        int64_t off = (oh + h) * ow_n + s * 16;
        dw_store16(y + off, sum, res ? res + off : NULL, om, act, lo, hi);
      }
    }
    dw_rows_epilogue(j, inline_epi, y, residual, oh, 1 + two, ow_n);
  }
}

/* 3x3, stride 2, one column of padding on the left (MobileNet's stride-2 layers): two
 * blocks of 32 columns on the row's own grid per step; the centre and right taps are their
 * even and odd columns, the left tap the odd columns moved one lane up with the last column
 * of the step before (valignd), so no load crosses a cache line. */
__attribute__((target("avx512f"))) static void dw_direct3s2p1_avx512(
    const dw_job *j, const float *x, const float *wm, float bias, float *y,
    const float *residual, int64_t oh_begin, int64_t oh_end) {
  const lens_window *w = &j->w;
  int64_t ih_n = w->in[0], iw_n = w->in[1], ow_n = w->out[1];
  int64_t pt = w->pad_begin[0], steps = (ow_n + 15) / 16;
  __mmask16 mk[DIRECT_MAX_STEPS][3];
  for (int64_t s = 0; s < steps; s++) {
    mk[s][0] = lens_row_mask16(32 * s, iw_n);
    mk[s][1] = lens_row_mask16(32 * s + 16, iw_n);
    mk[s][2] = lens_row_mask16(16 * s, ow_n);
  }
  __m512 wv[9];
  for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(wm[t]);
  lens_activation_kind act = j->ep ? j->ep->act : LENS_ACT_NONE;
  bool inline_epi = act == LENS_ACT_NONE || act == LENS_ACT_RELU || act == LENS_ACT_CLIP;
  const float *res = inline_epi ? residual : NULL;
  __m512 lo = _mm512_set1_ps(act == LENS_ACT_CLIP ? j->ep->alpha : 0.0f);
  __m512 hi = _mm512_set1_ps(act == LENS_ACT_CLIP ? j->ep->beta : 0.0f);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                         28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int64_t oh = oh_begin; oh < oh_end; oh += 2) {
    int64_t ih0 = oh * 2 - pt;
    bool two = oh + 1 < oh_end;
    const float *xr[5];
    bool in_rows[5];
    __m512 prev[5];
    for (int r = 0; r < 5; r++) {
      in_rows[r] = ih0 + r >= 0 && ih0 + r < ih_n;
      xr[r] = x + (in_rows[r] ? ih0 + r : 0) * iw_n;
      prev[r] = _mm512_setzero_ps();
    }
    for (int64_t s = 0; s < steps; s++) {
      __mmask16 om = mk[s][2];
      __m512 a0[3], a1[3];
      a0[0] = a1[0] = _mm512_set1_ps(bias);
      a0[1] = a1[1] = a0[2] = a1[2] = _mm512_setzero_ps();
      _Pragma("GCC unroll 5") for (int r = 0; r < 5; r++) {
        if (!in_rows[r]) continue;
        __m512 q0 = _mm512_maskz_loadu_ps(mk[s][0], xr[r] + 32 * s);
        __m512 q1 = _mm512_maskz_loadu_ps(mk[s][1], xr[r] + 32 * s + 16);
        __m512 t1 = _mm512_permutex2var_ps(q0, even, q1);
        __m512 t2 = _mm512_permutex2var_ps(q0, odd, q1);
        __m512 t0 = (__m512)_mm512_alignr_epi32((__m512i)t2, (__m512i)prev[r], 15);
        prev[r] = q1;
        if (r < 3) {
          a0[r] = _mm512_fmadd_ps(wv[3 * r], t0, a0[r]);
          a0[r] = _mm512_fmadd_ps(wv[3 * r + 1], t1, a0[r]);
          a0[r] = _mm512_fmadd_ps(wv[3 * r + 2], t2, a0[r]);
        }
        if (r >= 2) {
          a1[r - 2] = _mm512_fmadd_ps(wv[3 * r - 6], t0, a1[r - 2]);
          a1[r - 2] = _mm512_fmadd_ps(wv[3 * r - 5], t1, a1[r - 2]);
          a1[r - 2] = _mm512_fmadd_ps(wv[3 * r - 4], t2, a1[r - 2]);
        }
      }
      for (int h = 0; h < 1 + two; h++) {
        __m512 sum = h ? _mm512_add_ps(_mm512_add_ps(a1[0], a1[1]), a1[2])
                       : _mm512_add_ps(_mm512_add_ps(a0[0], a0[1]), a0[2]);
        int64_t off = (oh + h) * ow_n + s * 16;
        dw_store16(y + off, sum, res ? res + off : NULL, om, act, lo, hi);
      }
    }
    dw_rows_epilogue(j, inline_epi, y, residual, oh, 1 + two, ow_n);
  }
}
#endif

/* Output columns [*lo, *hi) whose tap at offset off (kernel column * dilation - pad) reads
 * inside an input row of iw_n values. */
static void tap_range(int64_t off, int64_t sw, int64_t iw_n, int64_t ow_n, int64_t *lo,
                      int64_t *hi) {
  *lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
  *hi = iw_n - 1 - off < 0 ? 0 : (iw_n - 1 - off) / sw + 1;
  if (*hi > ow_n) *hi = ow_n;
  if (*lo > *hi) *lo = *hi;
}

/* Planes too wide for the band buffer: each output row accumulates, per tap, a scaled
 * (strided) input row. */
static void dw_plane_rows(const dw_job *j, const float *x, const float *wm, float bias,
                          float *y, const float *residual, int64_t oh_begin, int64_t oh_end) {
  const lens_window *w = &j->w;
  int64_t ih_n = w->in[0], iw_n = w->in[1], ow_n = w->out[1];
  int64_t kh = w->kernel[0], kw = w->kernel[1], sw = w->stride[1];
  for (int64_t oh = oh_begin; oh < oh_end; oh++) {
    float *yrow = y + oh * ow_n;
    for (int64_t ow = 0; ow < ow_n; ow++) yrow[ow] = bias;
    for (int64_t ki = 0; ki < kh; ki++) {
      int64_t ih = oh * w->stride[0] - w->pad_begin[0] + ki * w->dilation[0];
      if (ih < 0 || ih >= ih_n) continue;
      const float *xrow = x + ih * iw_n;
      for (int64_t kj = 0; kj < kw; kj++) {
        int64_t off = kj * w->dilation[1] - w->pad_begin[1], lo, hi;
        tap_range(off, sw, iw_n, ow_n, &lo, &hi);
        float wt = wm[ki * kw + kj];
        for (int64_t ow = lo; ow < hi; ow++) yrow[ow] += wt * xrow[ow * sw + off];
      }
    }
    if (j->ep)
      j->epi(j->ep, 0.0f, yrow, residual ? residual + oh * ow_n : NULL, (size_t)ow_n);
  }
}

static void choose_plane_fn(dw_job *j) {
  int vl = 4;
  dw_plane_fn fn = dw_plane_baseline;
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: vl = 16, fn = dw_plane_avx512; break;
  case LENS_CPU_ISA_AVX2: vl = 8, fn = dw_plane_avx2; break;
  default: break;
  }
#endif
  band_geometry(&j->w, vl, &j->phase_len, &j->band_rows);
  /* small planes, multiplier 1: the channel-interleaved path for whole groups */
  const lens_window *w = &j->w;
  int64_t hp, wp;
  padded_extent(w, &hp, &wp);
  j->vl = vl;
  j->groups = 0;
  j->channels = NULL;
  if (j->m_out == j->c_in && w->out[1] < 2 * vl && w->kernel[0] * w->kernel[1] <= 64 &&
      hp * wp * vl <= CHANNEL_FLOATS && w->out[0] * w->out[1] * vl <= CHANNEL_FLOATS) {
    j->groups = j->c_in / vl;
    j->channels = dw_channels_baseline;
#if defined(__x86_64__) || defined(__i386__)
    if (vl == 16) j->channels = dw_channels16_avx512;
    if (vl == 8) j->channels = dw_channels_avx2;
#endif
  }
  if (j->band_rows < 1 || j->w.kernel[0] * j->w.kernel[1] > 64 || j->w.stride[1] > 8)
    fn = dw_plane_rows;
#if defined(__x86_64__) || defined(__i386__)
  int64_t k = w->kernel[0];
  if (vl == 16 && w->kernel[1] == k && (k == 3 || k == 5) && w->dilation[0] == 1 &&
      w->out[1] <= 16 * DIRECT_MAX_STEPS &&
      w->dilation[1] == 1 && (w->stride[1] == 1 || w->stride[1] == 2) &&
      w->stride[0] == w->stride[1]) {
    if (k == 3) fn = w->stride[1] == 1 ? dw_direct3s1_avx512 : dw_direct3s2_avx512;
    else fn = w->stride[1] == 1 ? dw_direct5s1_avx512 : dw_direct5s2_avx512;
    /* the usual one column of left padding: the loads on the row's own grid */
    if (k == 3 && w->pad_begin[1] == 1)
      fn = w->stride[1] == 1 ? dw_direct3s1p1_avx512 : dw_direct3s2p1_avx512;
    /* Rows of 3x3 outputs over 12 wide fill most of each vector: the direct path is as fast
     * (14x14: 0.027 ms either way for 384 channels) and faster on larger planes. Under
     * that, and for 5x5 (whose 25 weights and sums overflow the registers of the direct
     * path), the channel-interleaved path: 7x7, 960 channels 0.042 -> 0.020 ms; 5x5 at
     * 10x10, 960 channels 0.158 -> 0.066 ms. */
    if (k == 3 && w->out[1] > 12) j->groups = 0;
  }
#endif
  j->plane = fn;
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

/* The image n and output channel m of the plane path's plane q (output channels from
 * first_channel on); dw_out_offset and dw_in_plane give that plane's output and input. */
static void dw_plane_channel(const dw_job *j, int64_t q, int64_t *n, int64_t *m) {
  int64_t per_image = j->m_out - j->first_channel;
  *n = q / per_image;
  *m = j->first_channel + q % per_image;
}

static int64_t dw_out_offset(const dw_job *j, int64_t n, int64_t m) {
  return (n * j->m_out + m) * j->w.out[0] * j->w.out[1];
}

static const float *dw_in_plane(const dw_job *j, int64_t n, int64_t m) {
  return j->x + (n * j->c_in + m / (j->m_out / j->c_in)) * j->w.in[0] * j->w.in[1];
}

/* Output rows [oh_begin, oh_end) of plane q. */
static void dw_plane(const dw_job *j, int64_t q, int64_t oh_begin, int64_t oh_end) {
  int64_t n, m;
  dw_plane_channel(j, q, &n, &m);
  int64_t off = dw_out_offset(j, n, m), kk = j->w.kernel[0] * j->w.kernel[1];
  const float *res = j->ep && j->ep->residual ? j->ep->residual + off : NULL;
  j->plane(j, dw_in_plane(j, n, m), j->wt + m * kk, j->b ? j->b[m] : 0.0f, j->y + off, res,
           oh_begin, oh_end);
}

/* Asks for the lines that output rows [oh_begin, oh_end) of plane q read (input rows, to
 * L1) and write, while the plane before is computed. With threads, a thread's planes, or
 * its rows of each plane, are pieces of memory too short for the hardware's prefetch to
 * follow, and their input lines are often where the other core wrote them; the stores wait
 * for lines they do not own. */
static void dw_prefetch_rows(const dw_job *j, int64_t q, int64_t oh_begin, int64_t oh_end) {
  int64_t n, m;
  dw_plane_channel(j, q, &n, &m);
  lens_prefetch_window_rows(&j->w, dw_in_plane(j, n, m), j->y + dw_out_offset(j, n, m),
                            oh_begin, oh_end);
}

static void dw_planes(void *arg, size_t begin, size_t end) {
  const dw_job *j = arg;
  int64_t out_hw = j->w.out[0] * j->w.out[1];
  if (j->prefetch_next && begin < end) {
    int64_t n, m;
    dw_plane_channel(j, (int64_t)begin, &n, &m);
    lens_prefetch_for_write(j->y + dw_out_offset(j, n, m), out_hw);
  }
  for (size_t q = begin; q < end; q++) {
    if (j->prefetch_next && q + 1 < end) dw_prefetch_rows(j, (int64_t)q + 1, 0, j->w.out[0]);
    dw_plane(j, (int64_t)q, 0, j->w.out[0]);
  }
}

/* The rows of a plane nearest to the positions part takes in a GEMM's column split. The
 * same rows of the plane the part takes next are asked for first (dw_prefetch_rows): its
 * output lines alone took MobileNetV2's 144 channels at 56x56 on two threads from 0.127 to
 * 0.066 ms, 96 channels from 112x112 at stride 2 from 0.113 to 0.081 (convbench, runs
 * alternating); in the model those layers 10-20% faster. */
static void dw_plane_part(void *arg, size_t plane, int part) {
  const dw_job *j = arg;
  int64_t ow = j->w.out[1], out_hw = j->w.out[0] * ow, b, e;
  lens_sgemm_split_cols(&j->split, out_hw, part, &b, &e);
  int64_t r0 = (b + ow / 2) / ow, r1 = (e + ow / 2) / ow;
  if (r0 >= r1) return;
  int64_t next = lens_plane_parts_next(j->planes, plane, part);
  if (next >= 0) dw_prefetch_rows(j, next, r0, r1);
  dw_plane(j, (int64_t)plane, r0, r1);
}

/* One (batch, group of vl channels) per index. */
static void dw_groups(void *arg, size_t begin, size_t end) {
  const dw_job *j = arg;
  for (size_t i = begin; i < end; i++)
    j->channels(j, (int64_t)i / j->groups, (int64_t)i % j->groups * j->vl);
}

/* The job of node over in (output y), its epilogue ep applied (NULL: none). */
static lens_status *dw_job_init(const lens_node *node, const lens_value *in,
                                const lens_epilogue *ep, float *y, dw_job *job) {
  LENS_TRY(lens_conv_resolve(node, in, &job->w));
  job->x = in[0].data;
  job->wt = in[1].data;
  job->b = lens_node_has_input(node, in, 2) ? in[2].data : NULL;
  job->y = y;
  job->c_in = in[0].dims[1];
  job->m_out = in[1].dims[0];
  job->ep = lens_cpu_epilogue_is_empty(ep) ? NULL : ep;
  job->epi = lens_cpu_epilogue_select();
  choose_plane_fn(job);
  job->prefetch_next = false;
  return NULL;
}

static lens_status *dw_compute(const lens_node *node, const lens_value *in, lens_value *out,
                               lens_exec_ctx *ctx) {
  dw_job job;
  LENS_TRY(dw_job_init(node, in, lens_exec_epilogue(ctx), out[0].data, &job));
  job.prefetch_next = lens_exec_threads(ctx) > 1;
  int64_t batch = in[0].dims[0], work = batch * job.m_out * job.w.out[0] * job.w.out[1];
  bool serial = work < 16384;
  if (job.groups > 0) {
    size_t tasks = (size_t)(batch * job.groups);
    if (serial) dw_groups(&job, 0, tasks);
    else lens_parallel_for(ctx, tasks, dw_groups, &job);
  }
  /* the channels left after whole groups (all of them when there are no groups) */
  job.first_channel = job.groups * job.vl;
  size_t planes = (size_t)(batch * (job.m_out - job.first_channel));
  job.planes = planes;
  int parts = serial ? 1 : lens_plane_parts(ctx, job.w.out[0], job.w.out[1]);
  lens_exec_split(ctx, parts, &job.split);
  if (parts > 1) lens_parallel_plane_parts(ctx, planes, parts, dw_plane_part, &job);
  else if (serial) dw_planes(&job, 0, planes);
  else lens_parallel_for(ctx, planes, dw_planes, &job);
  return NULL;
}

const lens_kernel lens_kernel_conv2d_depthwise_direct = {
    .name = "conv2d_depthwise_direct",
    .op_type = "Conv",
    .precision = "fp32",
    .supports = dw_supports,
    .compute = dw_compute,
    .fuses = LENS_FUSE_ACTIVATION | LENS_FUSE_RESIDUAL,
};

/* ---- bands of a depthwise convolution whose input is made as it is needed ----------------
 * The absorbing kernel (a 1x1 convolution: MobileNet's expansion before each depthwise
 * layer) writes the rows a band of output rows reads into a buffer of the thread's, every
 * channel, and the plane functions read them there: the expanded tensor, the largest of the
 * model (96 x 112 x 112 floats, 4.8 MB), never goes to memory and back. Consecutive bands of
 * a thread keep the rows they share. A channel's rows sit at band + c * ld; the plane
 * functions index rows from the plane's start, so that start, lo rows before the first row
 * held, lies inside the thread's region: each region begins with a plane's worth of room.
 * The direct AVX-512 paths read two output rows' input rows even for a band's odd last row
 * (unused sums), up to two rows past those held: room after the last channel too. */

/* Bytes of a band's rows (every channel) the band size aims at: with the 1x1
 * convolution's input rows and weights, within the 1 MiB L2. */
#define DW_BAND_BYTES ((int64_t)320 << 10)
/* Threads that can share the bands (each has a region of the scratch). */
#define DW_BAND_MAX_THREADS 16
/* Runs of bands per thread. */
#define DW_BAND_TASKS_PER_THREAD 4
/* Floats of room around a region's rows for the vector loads' overreach. */
#define DW_BAND_SLACK 64

typedef struct dw_band_geometry {
  int64_t out_rows;  /* output rows per band (even unless the plane has fewer) */
  int64_t cap;       /* input rows a band holds at most */
  int64_t ld;        /* floats from one channel's rows to the next's */
  int64_t head;      /* floats of room before the first channel's rows */
  size_t region;     /* bytes of one thread's region */
} dw_band_geometry;

/* Input rows [*lo, *hi) that output rows [o0, o1) read (clamped to the plane). */
static void dw_band_rows(const lens_window *w, int64_t o0, int64_t o1, int64_t *lo,
                         int64_t *hi) {
  int64_t a = o0 * w->stride[0] - w->pad_begin[0];
  int64_t b = (o1 - 1) * w->stride[0] - w->pad_begin[0] + (w->kernel[0] - 1) * w->dilation[0] + 1;
  *lo = a < 0 ? 0 : a > w->in[0] ? w->in[0] : a;
  *hi = b < *lo ? *lo : b > w->in[0] ? w->in[0] : b;
}

static bool dw_band_plan(const lens_window *w, int64_t channels, dw_band_geometry *g) {
  int64_t iw = w->in[1], ext = (w->kernel[0] - 1) * w->dilation[0] + 1;
  int64_t row_bytes = channels * iw * (int64_t)sizeof(float);
  if (row_bytes <= 0 || w->out[0] < 1) return false;
  int64_t rows = DW_BAND_BYTES / row_bytes; /* input rows that fit the aim */
  int64_t out_rows = rows >= ext ? (rows - ext) / w->stride[0] + 1 : 1;
  if (out_rows >= 2) out_rows -= out_rows % 2;
  if (out_rows > w->out[0]) out_rows = w->out[0];
  g->out_rows = out_rows;
  g->cap = (out_rows - 1) * w->stride[0] + ext;
  g->ld = (g->cap * iw + 15) / 16 * 16;
  g->head = (w->in[0] * iw + DW_BAND_SLACK + 15) / 16 * 16;
  int64_t floats = g->head + channels * g->ld + 2 * iw + DW_BAND_SLACK;
  g->region = ((size_t)floats * sizeof(float) + 63) / 64 * 64;
  return true;
}

/* Planes narrower than this leave too little per band row to pay for the bands (the
 * channel-interleaved path takes them whole). */
#define DW_BAND_MIN_WIDTH 24

size_t lens_cpu_dw_band_scratch(const lens_fused_dw *dw, int threads) {
  if (!dw || dw->n_in < 2 || !dw->in[1].data || dw->in[0].rank != 4 || dw->in[1].rank != 4 ||
      dw->in[0].dims[0] != 1 || dw->in[0].dtype != LENS_DTYPE_FLOAT32 ||
      dw->in[1].dtype != LENS_DTYPE_FLOAT32 || !dw_supports(dw->node, dw->in, NULL) ||
      dw->in[1].dims[0] != dw->in[0].dims[1] || dw->ep.residual || dw->ep.pool || dw->ep.dw)
    return 0;
  if (dw->n_in > 2 && (!dw->in[2].data || dw->in[2].dtype != LENS_DTYPE_FLOAT32)) return 0;
  lens_window w;
  lens_status *st = lens_conv_resolve(dw->node, dw->in, &w);
  if (st) {
    lens_status_free(st);
    return 0;
  }
  dw_band_geometry g;
  if (w.in[1] < DW_BAND_MIN_WIDTH || w.out[1] < 1 || !dw_band_plan(&w, dw->in[0].dims[1], &g))
    return 0;
  if (threads > DW_BAND_MAX_THREADS) return 0;
  return g.region * (size_t)(threads < 1 ? 1 : threads);
}

/* Rows a thread's buffer holds, [lo, hi) of the input: kept from one of its tasks to the
 * next, which often starts where the last ended. */
typedef struct dw_band_held {
  _Alignas(64) int64_t lo, hi;
} dw_band_held;

typedef struct dw_band_job {
  dw_job job;
  dw_band_geometry g;
  lens_dw_source_fn src;
  const void *src_arg;
  char *scratch;
  int64_t tasks; /* runs of output rows, several per thread: the threads balance them */
  dw_band_held held[DW_BAND_MAX_THREADS];
} dw_band_job;

/* Tasks [begin, end): their runs of output rows, band by band, in the calling thread's
 * region of the scratch. */
static void dw_band_tasks(void *arg, size_t begin, size_t end) {
  dw_band_job *b = arg;
  const dw_job *j = &b->job;
  const lens_window *w = &j->w;
  int self = lens_exec_thread_index();
  dw_band_held *h = &b->held[self];
  float *band = (float *)(b->scratch + b->g.region * (size_t)self) + b->g.head;
  int64_t iw = w->in[1], out_hw = w->out[0] * w->out[1], kk = w->kernel[0] * w->kernel[1];
  for (size_t task = begin; task < end; task++) {
    int64_t t0 = w->out[0] * (int64_t)task / b->tasks;
    int64_t t1 = w->out[0] * ((int64_t)task + 1) / b->tasks;
    for (int64_t o0 = t0; o0 < t1;) {
      int64_t o1 = o0 + b->g.out_rows < t1 ? o0 + b->g.out_rows : t1, lo, hi;
      dw_band_rows(w, o0, o1, &lo, &hi);
      if (lo >= h->lo && lo < h->hi) {
        if (lo > h->lo)
          for (int64_t c = 0; c < j->c_in; c++)
            memmove(band + c * b->g.ld, band + c * b->g.ld + (lo - h->lo) * iw,
                    (size_t)((h->hi - lo) * iw) * sizeof(float));
      } else {
        h->hi = lo;
      }
      h->lo = lo;
      if (hi > h->hi) {
        b->src(b->src_arg, h->hi, hi, band + (h->hi - lo) * iw, b->g.ld);
        h->hi = hi;
      }
      for (int64_t c = 0; c < j->c_in; c++)
        j->plane(j, band + c * b->g.ld - lo * iw, j->wt + c * kk, j->b ? j->b[c] : 0.0f,
                 j->y + c * out_hw, NULL, o0, o1);
      o0 = o1;
    }
  }
}

lens_status *lens_cpu_dw_bands(lens_exec_ctx *ctx, const lens_fused_dw *dw, float *y,
                               lens_dw_source_fn src, const void *src_arg, void *scratch,
                               size_t scratch_bytes) {
  int threads = lens_exec_threads(ctx);
  size_t need = lens_cpu_dw_band_scratch(dw, threads);
  if (!need || !scratch || scratch_bytes < need)
    return lens_node_error(dw->node, LENS_ERR_RUNTIME,
                           "conv2d_depthwise_direct: bands of a fused depthwise convolution "
                           "need %zu bytes of scratch, %zu given", need, scratch_bytes);
  dw_band_job b;
  LENS_TRY(dw_job_init(dw->node, dw->in, &dw->ep, y, &b.job));
  dw_band_plan(&b.job.w, b.job.c_in, &b.g);
  b.src = src;
  b.src_arg = src_arg;
  b.scratch = scratch;
  /* a few runs of bands per thread, so that a thread done early takes over another's */
  int64_t bands = (b.job.w.out[0] + b.g.out_rows - 1) / b.g.out_rows;
  b.tasks = threads > 1 ? (int64_t)threads * DW_BAND_TASKS_PER_THREAD : 1;
  if (b.tasks > bands) b.tasks = bands;
  for (int t = 0; t < threads; t++) b.held[t].lo = b.held[t].hi = 0;
  if (b.tasks > 1) lens_parallel_for(ctx, (size_t)b.tasks, dw_band_tasks, &b);
  else dw_band_tasks(&b, 0, 1);
  return NULL;
}
