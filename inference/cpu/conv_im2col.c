/* conv2d_im2col_sgemm: 2-D convolution (any groups, strides, dilations, pads) as GEMMs.
 * For each (batch, group), the weights (Mg x Cg*kh*kw, packed once at session creation) are
 * multiplied with im2col columns of the input, built a band of output rows at a time into
 * the scratch buffer. A 1x1, stride-1, unpadded convolution multiplies the input directly.
 * Bias, a fused residual and activation are applied to each GEMM tile as it is finished.
 * With at most 4 input channels per group (image models' first layer), each thread takes a
 * share of the image: with AVX-512 it multiplies straight from stride-phase copies of the
 * input rows (no columns), otherwise from L2-sized chunks of columns. */
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "core/exec.h"
#include "cpu/epilogue.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "ops/nn_common.h"

/* Bytes of im2col columns built at a time. */
#define IM2COL_BUDGET ((int64_t)8 << 20)
/* Column elements below which a band is built on the calling thread only. */
#define IM2COL_SERIAL ((int64_t)65536)

/* Few input channels (the first layer of image models): a short GEMM depth, so the 8 MiB
 * bands above spend as long writing and re-reading columns from memory as multiplying
 * them. Instead each thread builds chunks of columns small enough to stay in L2 and
 * multiplies each at once, all in one parallel region per image. */
#define CHUNKED_MAX_CIN 4
/* One K block of the GEMM (its KC): the packed weights are read whole per chunk. */
#define CHUNKED_MAX_DEPTH 256
/* Bytes of one chunk of columns: with the output tile it writes, within a 1 MiB L2. */
#define CHUNK_BYTES ((int64_t)160 << 10)
/* Column granularity of a chunk: the AVX-512 micro-kernel's width (a multiple of AVX2's). */
#define CHUNK_COL_UNIT 48
/* Chunk buffers in the scratch: at most this many threads share an image. */
#define CHUNK_SLOTS_MAX 16
/* With AVX-512 the few-channel path skips the columns: input rows are split once into
 * their stride phases (padding included), and an 8-channel x 48-column tile of an output
 * row accumulates every tap from those rows directly. Output rows per band of phase rows: */
#define PHASE_BAND_ROWS 8
/* Bytes of one thread's phase rows above which the few-channel path is not taken (very wide
 * images); also keeps every offset into them within int32. */
#define PHASE_MAX_BYTES ((int64_t)4 << 20)
/* Multiply-adds per image below which one thread does it all (a hand-off costs ~18 us). */
#define CHUNKED_SERIAL_MACS (2.0 * 1024.0 * 1024.0)

typedef struct conv_plan {
  lens_window w;
  int64_t batch, c_in, m_out, group;
  int64_t cg, mg, kg;       /* per group: input channels, output channels, GEMM depth */
  int64_t in_hw, out_hw;
  bool direct;              /* 1x1, stride 1, no padding: the input is the GEMM's B */
  bool chunked;             /* few input channels: L2-sized chunks per thread */
  int64_t band_rows;        /* output rows per im2col band */
  int64_t chunk_cols, chunk_slots; /* chunked: columns per chunk, chunk buffers */
  int64_t phase_rows, phase_len;   /* phase path: input rows per band, floats per phase row */
  size_t slot_bytes;               /* chunked: bytes per thread's buffer, either path */
  size_t col_bytes, ws_bytes, packed_bytes;
  size_t phase_w_offset; /* chunked: floats from the packed weights to the phase path's */
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
  p->chunked = !p->direct && p->cg <= CHUNKED_MAX_CIN && p->kg <= CHUNKED_MAX_DEPTH &&
               p->out_hw > 0 && p->w.stride[0] <= 8 && p->w.stride[1] <= 8 &&
               p->w.dilation[0] <= 8 && p->w.dilation[1] <= 8 &&
               p->cg * ((PHASE_BAND_ROWS - 1) * p->w.stride[0] +
                        (p->w.kernel[0] - 1) * p->w.dilation[0] + 1) *
                       p->w.stride[1] * (ow + 64 + (p->w.kernel[1] - 1) * p->w.dilation[1]) *
                       (int64_t)sizeof(float) <=
                   PHASE_MAX_BYTES;
  if (p->chunked) {
    int64_t cols = CHUNK_BYTES / (p->kg * (int64_t)sizeof(float)) / CHUNK_COL_UNIT;
    p->chunk_cols = (cols > 1 ? cols : 1) * CHUNK_COL_UNIT;
    if (p->chunk_cols > p->out_hw) p->chunk_cols = p->out_hw;
    int64_t chunks = (p->out_hw + p->chunk_cols - 1) / p->chunk_cols;
    p->chunk_slots = chunks < CHUNK_SLOTS_MAX ? chunks : CHUNK_SLOTS_MAX;
    int64_t sw = p->w.stride[1], kw_span = (p->w.kernel[1] - 1) * p->w.dilation[1];
    p->phase_rows = (PHASE_BAND_ROWS - 1) * p->w.stride[0] +
                    (p->w.kernel[0] - 1) * p->w.dilation[0] + 1;
    /* a row's last 16-column vector may read past its last output column, into zeros */
    p->phase_len = (ow + 47) / 48 * 48 + kw_span / sw + 1;
    p->phase_len = (p->phase_len + 15) / 16 * 16;
    size_t phase_bytes = (size_t)(p->cg * p->phase_rows * sw * p->phase_len) * sizeof(float);
    size_t chunk_bytes = (size_t)(p->kg * p->chunk_cols) * sizeof(float);
    /* each slot on its own cache lines, so that no two threads write one; sized for either
     * path, since the ISA level is read again at compute time */
    p->slot_bytes = align64(phase_bytes > chunk_bytes ? phase_bytes : chunk_bytes);
    int64_t slots = p->w.out[0] > p->chunk_slots ? p->w.out[0] : p->chunk_slots;
    p->chunk_slots = slots < CHUNK_SLOTS_MAX ? slots : CHUNK_SLOTS_MAX;
    p->col_bytes = p->slot_bytes * (size_t)p->chunk_slots;
  } else if (p->direct) {
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
  if (p->chunked) {
    p->phase_w_offset = p->packed_bytes / sizeof(float);
    p->packed_bytes += align64((size_t)((p->mg + 7) / 8 * 8 * p->kg * p->group) * sizeof(float));
  }
  return NULL;
}

static void pack_weights(const conv_plan *p, const float *w, float *packed) {
  size_t per_group = lens_sgemm_packed_a_floats(p->mg, p->kg);
  for (int64_t g = 0; g < p->group; g++)
    lens_sgemm_pack_a(false, p->mg, p->kg, w + g * p->mg * p->kg, p->kg,
                      packed + (size_t)g * per_group);
  if (!p->chunked) return;
  /* the phase path's own layout, independent of the GEMM's: per group, panels of 8 output
   * channels (zero rows past mg), each kg taps x 8 */
  float *phase = packed + p->phase_w_offset;
  int64_t mg8 = (p->mg + 7) / 8 * 8;
  for (int64_t g = 0; g < p->group; g++)
    for (int64_t m = 0; m < mg8; m++)
      for (int64_t t = 0; t < p->kg; t++)
        phase[(g * mg8 + m / 8 * 8) * p->kg + t * 8 + m % 8] =
            m < p->mg ? w[(g * p->mg + m) * p->kg + t] : 0.0f;
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

/* dst[i] = src[i * 2] for i in [0, n): a stride-2 convolution's taps along a row. Scalar,
 * building the columns of resnet50's first layer took 70% as long as multiplying them. */
typedef void (*gather2_fn)(float *dst, const float *src, int64_t n);

static void gather2_baseline(float *dst, const float *src, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = src[i * 2];
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f"))) static void gather2_avx512(float *dst, const float *src,
                                                              int64_t n) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                         28, 30);
  int64_t i = 0;
  /* strictly inside, as in the AVX2 version: the tail takes the last 1 to 16 */
  for (; i + 16 < n; i += 16) {
    __m512 a = _mm512_loadu_ps(src + 2 * i), b = _mm512_loadu_ps(src + 2 * i + 16);
    _mm512_storeu_ps(dst + i, _mm512_permutex2var_ps(a, even, b));
  }
  if (i < n) {
    /* masked loads: src[2 * n - 1] and beyond may lie past the end of the input */
    int64_t want = 2 * (n - i) - 1;
    __mmask16 ma = (__mmask16)(want >= 16 ? 0xffffu : (1u << want) - 1u);
    __mmask16 mb = (__mmask16)(want > 16 ? (1u << (want - 16)) - 1u : 0u);
    __m512 a = _mm512_maskz_loadu_ps(ma, src + 2 * i);
    __m512 b = _mm512_maskz_loadu_ps(mb, src + 2 * i + 16);
    _mm512_mask_storeu_ps(dst + i, (__mmask16)((1u << (n - i)) - 1u),
                          _mm512_permutex2var_ps(a, even, b));
  }
}

__attribute__((target("avx2,fma"))) static void gather2_avx2(float *dst, const float *src,
                                                             int64_t n) {
  int64_t i = 0;
  /* strictly inside: the second load's last float, src[2 * i + 15], is read only when
   * src[2 * i + 16] is a wanted tap */
  for (; i + 8 < n; i += 8) {
    __m256 a = _mm256_loadu_ps(src + 2 * i), b = _mm256_loadu_ps(src + 2 * i + 8);
    __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    _mm256_storeu_ps(dst + i,
                     _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xd8)));
  }
  for (; i < n; i++) dst[i] = src[i * 2];
}
#endif

static gather2_fn gather2_select(void) {
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: return gather2_avx512;
  case LENS_CPU_ISA_AVX2: return gather2_avx2;
  default: break;
  }
#endif
  return gather2_baseline;
}

/* dst[0:n] = the input row at columns off + (ow0 + i) * sw, zero where outside [lo, hi)
 * (output columns whose tap reads inside the row); src_row NULL: all padding. */
static void gather_segment(float *dst, const float *src_row, int64_t off, int64_t sw,
                           int64_t lo, int64_t hi, int64_t ow0, int64_t n, gather2_fn g2) {
  if (!src_row) {
    memset(dst, 0, (size_t)n * sizeof *dst);
    return;
  }
  int64_t a = lo - ow0, b = hi - ow0;
  if (a < 0) a = 0;
  if (b > n) b = n;
  if (a > b) a = b;
  for (int64_t i = 0; i < a; i++) dst[i] = 0.0f;
  const float *src = src_row + off + ow0 * sw;
  if (sw == 1) {
    memcpy(dst + a, src + a, (size_t)(b - a) * sizeof *dst);
  } else if (sw == 2) {
    if (b > a) g2(dst + a, src + 2 * a, b - a);
  } else {
    for (int64_t i = a; i < b; i++) dst[i] = src[i * sw];
  }
  for (int64_t i = b; i < n; i++) dst[i] = 0.0f;
}

/* Columns [q0, q1) of the whole image's column matrix (q = oh * OW + ow) into col
 * (kg x (q1 - q0), rows q1 - q0 apart). */
static void im2col_span(const conv_plan *p, const float *x, float *col, int64_t q0,
                        int64_t q1, gather2_fn g2) {
  const lens_window *w = &p->w;
  int64_t kh = w->kernel[0], kw = w->kernel[1];
  int64_t ih_n = w->in[0], iw_n = w->in[1], ow_n = w->out[1];
  int64_t sh = w->stride[0], sw = w->stride[1], ld = q1 - q0;
  for (int64_t r = 0; r < p->kg; r++) {
    int64_t c = r / (kh * kw), ki = r / kw % kh, kj = r % kw;
    const float *xc = x + c * p->in_hw;
    float *dst = col + r * ld;
    int64_t off = kj * w->dilation[1] - w->pad_begin[1];
    int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
    int64_t hi = iw_n - 1 - off < 0 ? 0 : (iw_n - 1 - off) / sw + 1;
    if (hi > ow_n) hi = ow_n;
    if (lo > hi) lo = hi;
    for (int64_t q = q0; q < q1;) {
      int64_t oh = q / ow_n, ow0 = q % ow_n;
      int64_t n = ow_n - ow0 < q1 - q ? ow_n - ow0 : q1 - q;
      int64_t ih = oh * sh - w->pad_begin[0] + ki * w->dilation[0];
      gather_segment(dst, ih >= 0 && ih < ih_n ? xc + ih * iw_n : NULL, off, sw, lo, hi, ow0,
                     n, g2);
      dst += n;
      q += n;
    }
  }
}

typedef struct chunk_job {
  const conv_plan *p;
  const float *x;       /* the group's first input channel */
  const float *packed_w; /* the group's packed weights (GEMM layout) */
  const float *phase_w;  /* the same in the phase path's layout */
  float *y;             /* the group's first output channel */
  char *col;            /* chunk_slots buffers, slot_bytes apart */
  size_t slot_bytes;
  const lens_sgemm_epilogue *epi; /* bias and residual of the group, or NULL */
  int parts;
  gather2_fn gather2;
  lens_cpu_epilogue_fn epi_fn; /* the phase path's, applied row by row */
} chunk_job;

/* One thread's share of an image's columns, chunk by chunk through its own buffer. */
static void chunk_part(void *arg, size_t begin, size_t end) {
  const chunk_job *j = arg;
  const conv_plan *p = j->p;
  for (size_t part = begin; part < end; part++) {
    int64_t a, b;
    lens_sgemm_split_cols(p->out_hw, j->parts, (int)part, &a, &b);
    float *col = (float *)(j->col + part * j->slot_bytes);
    for (int64_t q0 = a; q0 < b; q0 += p->chunk_cols) {
      int64_t n = b - q0 < p->chunk_cols ? b - q0 : p->chunk_cols;
      im2col_span(p, j->x, col, q0, q0 + n, j->gather2);
      lens_sgemm_epilogue band;
      if (j->epi) {
        band = *j->epi;
        if (band.residual) band.residual += q0;
      }
      lens_sgemm_prepacked_range(false, p->mg, n, p->kg, j->packed_w, col, n, j->y + q0,
                                 p->out_hw, 0, p->mg, 0, n, j->epi ? &band : NULL);
    }
  }
}

#if defined(__x86_64__) || defined(__i386__)
/* Input rows [ih0, ih0 + p->phase_rows) of each channel, stride phase by phase, into buf:
 * phase f of row r holds the padded row's columns f, f + sw, f + 2 sw, ... (zero outside
 * the input), so that tap kj of 16 consecutive output columns is one contiguous load. */
__attribute__((target("avx512f"))) static void build_phase_rows(const conv_plan *p,
                                                                const float *x, int64_t ih0,
                                                                float *buf) {
  const lens_window *w = &p->w;
  int64_t sw = w->stride[1], len = p->phase_len, iw_n = w->in[1], pl = w->pad_begin[1];
  for (int64_t c = 0; c < p->cg; c++)
    for (int64_t r = 0; r < p->phase_rows; r++) {
      int64_t ih = ih0 + r;
      for (int64_t f = 0; f < sw; f++) {
        float *dst = buf + ((c * p->phase_rows + r) * sw + f) * len;
        if (ih < 0 || ih >= w->in[0]) {
          memset(dst, 0, (size_t)len * sizeof *dst);
          continue;
        }
        /* entries i with input column i * sw + f - pl inside [0, iw_n) */
        int64_t lo = pl - f <= 0 ? 0 : (pl - f + sw - 1) / sw;
        int64_t hi = iw_n - 1 + pl - f < 0 ? 0 : (iw_n - 1 + pl - f) / sw + 1;
        if (hi > len) hi = len;
        if (lo > hi) lo = hi;
        const float *src = x + (c * w->in[0] + ih) * iw_n + lo * sw + f - pl;
        for (int64_t i = 0; i < lo; i++) dst[i] = 0.0f;
        if (sw == 1) memcpy(dst + lo, src, (size_t)(hi - lo) * sizeof *dst);
        else if (sw == 2) gather2_avx512(dst + lo, src, hi - lo);
        else
          for (int64_t i = lo; i < hi; i++) dst[i] = src[(i - lo) * sw];
        for (int64_t i = hi; i < len; i++) dst[i] = 0.0f;
      }
    }
}

/* The activations lens_cpu_epilogue_in_registers allows, with the same operations in the
 * same order as lens_cpu_epilogue_fn (and the GEMM's tile epilogue), so that both paths give
 * the same bits; the others are applied row by row after the raw sums are stored. */
__attribute__((target("avx512f"))) static inline __m512 phase_act(__m512 v, int act, float lo,
                                                                  float hi) {
  __m512 zero = _mm512_setzero_ps();
  switch (act) {
  case LENS_ACT_RELU: return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_GT_OQ), zero, v);
  case LENS_ACT_CLIP: {
    __m512 l = _mm512_set1_ps(lo), h = _mm512_set1_ps(hi);
    __m512 t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, h, _CMP_GT_OQ), v, h);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, l, _CMP_LT_OQ), t, l);
  }
  case LENS_ACT_LEAKYRELU:
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_GE_OQ),
                                _mm512_mul_ps(v, _mm512_set1_ps(lo)), v);
  case LENS_ACT_HARDSWISH: {
    __m512 t = _mm512_add_ps(_mm512_div_ps(v, _mm512_set1_ps(6.0f)), _mm512_set1_ps(0.5f));
    __m512 one = _mm512_set1_ps(1.0f);
    t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, one, _CMP_GT_OQ), t, one);
    t = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, zero, _CMP_LT_OQ), t, zero);
    return _mm512_mul_ps(v, t);
  }
  default: return v;
  }
}

/* What a tile does with its sums: act((sum + bias[row]) + residual) when fused, else the
 * raw sums (the epilogue follows row by row). */
typedef struct phase_epi {
  bool fused;
  const float *bias; /* 8 values, or NULL */
  int act;
  float lo, hi;
} phase_epi;

/* An 8-channel tile of NV vectors of 16 output columns (cols[v] of them used), each
 * anywhere in the band: vector v sums, over the kg taps, pa[tap] (kg x 8, one packed weight
 * panel) times the 16 floats at src[v] + off[tap], into dst[v] (rows ldy apart; residual
 * res[v] laid out alike, or res NULL). */
#define LENS_DEFINE_PHASE_TILE(NAME, NV)                                                      \
  __attribute__((target("avx512f"))) static void NAME(                                       \
      int64_t kg, const float *pa, const float *const *src, const int32_t *off,             \
      float *const *dst, const float *const *res, const int *cols, int64_t ldy, int rows,  \
      const phase_epi *pe) {                                                                 \
    __m512 acc[8][NV];                                                                         \
    const float *s[NV];                                                                       \
    _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++) s[v] = src[v];                       \
    _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++)                                       \
        _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps(); \
    for (int64_t t = 0; t < kg; t++) {                                                        \
      __m512 bv[NV];                                                                          \
      _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++) bv[v] = _mm512_loadu_ps(s[v] + off[t]); \
      _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) {                                   \
        __m512 a = _mm512_set1_ps(pa[t * 8 + i]);                                             \
        _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++)                                  \
            acc[i][v] = _mm512_fmadd_ps(a, bv[v], acc[i][v]);                                 \
      }                                                                                       \
    }                                                                                         \
    __mmask16 mask[NV];                                                                       \
    _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++)                                      \
        mask[v] = (__mmask16)(cols[v] >= 16 ? 0xffffu : (1u << cols[v]) - 1u);                \
    _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) {                                     \
      if (i >= rows) break;                                                                   \
      __m512 bias = _mm512_set1_ps(pe->fused && pe->bias ? pe->bias[i] : 0.0f);              \
      _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++) {                                  \
        __m512 x = acc[i][v];                                                                 \
        if (pe->fused) {                                                                      \
          x = _mm512_add_ps(x, bias);                                                         \
          if (res) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask[v], res[v] + i * ldy));   \
          x = phase_act(x, pe->act, pe->lo, pe->hi);                                          \
        }                                                                                     \
        _mm512_mask_storeu_ps(dst[v] + i * ldy, mask[v], x);                                  \
      }                                                                                       \
    }                                                                                         \
  }

LENS_DEFINE_PHASE_TILE(phase_tile_x3, 3)
LENS_DEFINE_PHASE_TILE(phase_tile_x2, 2)
LENS_DEFINE_PHASE_TILE(phase_tile_x1, 1)

typedef void (*phase_tile_fn)(int64_t, const float *, const float *const *, const int32_t *,
                              float *const *, const float *const *, const int *, int64_t, int,
                              const phase_epi *);

/* One thread's share of an image's output rows, a band at a time through its own buffer;
 * the band's output vectors (16 columns of one row) are taken 3 at a time, across rows, so
 * that a row's last, partial vector does not get a tile of its own. */
static void phase_part(void *arg, size_t begin, size_t end) {
  static const phase_tile_fn tiles[3] = {phase_tile_x1, phase_tile_x2, phase_tile_x3};
  const chunk_job *j = arg;
  const conv_plan *p = j->p;
  const lens_window *w = &p->w;
  int64_t oh_n = w->out[0], ow_n = w->out[1], sw = w->stride[1];
  int64_t kh = w->kernel[0], kw = w->kernel[1];
  int64_t row_step = w->stride[0] * sw * p->phase_len; /* floats from one output row's taps
                                                           to the next's */
  int64_t per_row = (ow_n + 15) / 16;
  const lens_epilogue *ep = j->epi ? j->epi->ep : NULL;
  bool fused = lens_cpu_epilogue_in_registers(ep);
  const float *residual = j->epi ? j->epi->residual : NULL;
  int32_t off[CHUNKED_MAX_DEPTH];
  for (int64_t t = 0; t < p->kg; t++) {
    int64_t c = t / (kh * kw), ki = t / kw % kh, kj = t % kw;
    int64_t tap = kj * w->dilation[1];
    off[t] = (int32_t)(((c * p->phase_rows + ki * w->dilation[0]) * sw + tap % sw) *
                           p->phase_len + tap / sw);
  }
  for (size_t part = begin; part < end; part++) {
    int64_t r0 = oh_n * (int64_t)part / j->parts, r1 = oh_n * (int64_t)(part + 1) / j->parts;
    float *buf = (float *)(j->col + part * j->slot_bytes);
    for (int64_t b0 = r0; b0 < r1; b0 += PHASE_BAND_ROWS) {
      int64_t b1 = b0 + PHASE_BAND_ROWS < r1 ? b0 + PHASE_BAND_ROWS : r1;
      build_phase_rows(p, j->x, b0 * w->stride[0] - w->pad_begin[0], buf);
      int64_t nvec = (b1 - b0) * per_row;
      for (int64_t i0 = 0; i0 < p->mg; i0 += LENS_SGEMM_MR) {
        const float *pa = j->phase_w + i0 * p->kg;
        int rows = (int)(p->mg - i0 < LENS_SGEMM_MR ? p->mg - i0 : LENS_SGEMM_MR);
        phase_epi pe = {fused, j->epi && j->epi->bias ? j->epi->bias + i0 : NULL,
                        ep ? (int)ep->act : LENS_ACT_NONE, ep ? ep->alpha : 0.0f,
                        ep ? ep->beta : 0.0f};
        for (int64_t g = 0; g < nvec; g += 3) {
          int k = (int)(nvec - g < 3 ? nvec - g : 3);
          const float *src[3];
          float *dst[3];
          const float *res[3];
          int cols[3];
          for (int v = 0; v < k; v++) {
            int64_t r = (g + v) / per_row, q = (g + v) % per_row * 16;
            int64_t o = i0 * p->out_hw + (b0 + r) * ow_n + q;
            src[v] = buf + r * row_step + q;
            dst[v] = j->y + o;
            res[v] = residual ? residual + o : NULL;
            cols[v] = (int)(ow_n - q < 16 ? ow_n - q : 16);
          }
          tiles[k - 1](p->kg, pa, src, off, dst, fused && residual ? res : NULL, cols,
                       p->out_hw, rows, &pe);
        }
        if (fused || !j->epi) continue;
        for (int i = 0; i < rows; i++)
          for (int64_t oh = b0; oh < b1; oh++) {
            int64_t o = (i0 + i) * p->out_hw + oh * ow_n;
            j->epi_fn(ep, j->epi->bias ? j->epi->bias[i0 + i] : 0.0f, j->y + o,
                      residual ? residual + o : NULL, (size_t)ow_n);
          }
      }
    }
  }
}
#endif

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
      if (p.chunked) {
        int parts = lens_exec_threads(ctx);
        if (parts > p.chunk_slots) parts = (int)p.chunk_slots;
        if ((double)p.mg * (double)p.out_hw * (double)p.kg < CHUNKED_SERIAL_MACS) parts = 1;
        const float *phase_wg =
            packed_w + p.phase_w_offset + (size_t)(g * ((p.mg + 7) / 8 * 8) * p.kg);
        chunk_job job = {&p, xg, wg, phase_wg, yg, (char *)col, p.slot_bytes, epi_or_null,
                         parts, gather2_select(), lens_cpu_epilogue_select()};
        void (*part_fn)(void *, size_t, size_t) = chunk_part;
#if defined(__x86_64__) || defined(__i386__)
        if (lens_cpu_isa() == LENS_CPU_ISA_AVX512) part_fn = phase_part;
#endif
        if (parts > 1) lens_parallel_for(ctx, (size_t)parts, part_fn, &job);
        else part_fn(&job, 0, 1);
        continue;
      }
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
