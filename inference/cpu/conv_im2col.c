/* conv2d_im2col_sgemm: 2-D convolution (any groups, strides, dilations, pads) as GEMMs.
 * For each (batch, group), the weights (Mg x Cg*kh*kw, packed once at session creation) are
 * multiplied with the input's im2col columns, which are never stored: the GEMM gathers each
 * panel of them as it multiplies it (lens_sgemm_prepacked_gather), from stride-phase planes
 * of the input built first (see planes_job), or from the input itself when the planes would
 * exceed PLANES_BUDGET. A 1x1, stride-1, unpadded convolution multiplies the input directly,
 * any other 1x1 its one plane. Against columns built in bands and then packed (9x the input
 * for a 3x3 kernel, written and read back through memory): resnet50's 3x3 stride-2 layer at
 * 56x56, 128 channels, 1.54 -> 1.38 ms on one thread, 0.96 -> 0.75 on two. Bias, a fused
 * residual and activation are applied to each GEMM tile as it is finished. With at most 4
 * input channels per group (image models' first layer), each thread takes a share of the
 * image: with AVX-512 it multiplies straight from stride-phase copies of the input rows (no
 * columns), otherwise from L2-sized chunks of columns. That path also absorbs a following
 * MaxPool (pool_part): the first convolution and pool of SqueezeNet and ResNet. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "core/exec.h"
#include "cpu/epilogue.h"
#include "cpu/conv_depthwise.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/pool.h"
#include "ops/nn_common.h"

/* Bytes of stride-phase planes at most (larger inputs are gathered from directly). */
#define PLANES_BUDGET ((int64_t)8 << 20)
/* Floats of zeros before and after the planes: the masked loads that gather from them
 * start up to 15 floats before a run and end up to 15 after it. */
#define PLANE_SLACK 16
/* Plane floats below which the planes are built on the calling thread only. */
#define PLANES_SERIAL ((int64_t)32768)

/* Few input channels (the first layer of image models): a short GEMM depth, so the 8 MiB
 * bands above spend as long writing and re-reading columns from memory as multiplying
 * them. Instead each thread builds chunks of columns small enough to stay in L2 and
 * multiplies each at once, all in one parallel region per image. */
#define CHUNKED_MAX_CIN 4
/* Within one K block of the GEMM (its KC is 512): the packed weights are read whole per
 * chunk. */
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
/* A MaxPool fused into the few-channel path (pool_scratch_bytes): each thread takes a share
 * of the pooled rows and, band by band, computes the rows of convolution output they read
 * into a buffer of its own, then pools them while they are in L2; the convolution's output
 * never goes to memory and is not read back from it. Convolution rows per band, about: */
#define POOL_BAND_CONV_ROWS 16
/* Bytes of one thread's band of convolution rows above which the pool is not fused. */
#define POOL_BAND_MAX_BYTES ((int64_t)1 << 20)

typedef struct conv_plan {
  lens_window w;
  int64_t batch, c_in, m_out, group;
  int64_t cg, mg, kg;       /* per group: input channels, output channels, GEMM depth */
  int64_t in_hw, out_hw;
  bool direct;              /* 1x1, stride 1, no padding: the input is the GEMM's B */
  bool chunked;             /* few input channels: L2-sized chunks per thread */
  /* The general path's stride-phase planes (see planes_job), when they fit the
   * budget: rows and columns of a plane, floats of all the group's planes. */
  bool planes;
  int64_t plane_h, plane_w, planes_floats;
  int64_t phases_h, phases_w; /* phases taken along each axis (see planes_job) */
  int64_t row_stride;         /* floats from one plane row to the next */
  int64_t channel_stride;     /* floats from one channel's phases to the next */
  /* 1x1 (strided or padded): the one plane, channel-major, is the GEMM's B as the input is
   * for a 1x1 stride-1 unpadded convolution. Multiplied in place like that input, it
   * measured no slower than gathered, and faster at two threads (256 -> 512 channels from
   * 56x56 at stride 2: 0.77 ms against 0.83); its build is split in channels, as the band
   * path's columns were. */
  bool subsample;
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
    p->ws_bytes = lens_sgemm_workspace_bytes(p->mg, p->out_hw, p->kg);
  } else {
    const lens_window *w = &p->w;
    p->plane_h = w->out[0] + (w->kernel[0] - 1) * w->dilation[0] / w->stride[0];
    p->plane_w = w->out[1] + (w->kernel[1] - 1) * w->dilation[1] / w->stride[1];
    /* with dilation 1 the taps read the phases below the kernel's extent only (a 1x1
     * stride-2 convolution one in four); otherwise all of them */
    p->phases_h =
        w->dilation[0] == 1 && w->kernel[0] < w->stride[0] ? w->kernel[0] : w->stride[0];
    p->phases_w =
        w->dilation[1] == 1 && w->kernel[1] < w->stride[1] ? w->kernel[1] : w->stride[1];
    p->row_stride = p->cg * p->phases_h * p->phases_w * p->plane_w;
    p->channel_stride = p->phases_h * p->phases_w * p->plane_w;
    p->planes_floats = p->row_stride * p->plane_h;
    p->planes = p->kg > 0 && p->out_hw > 0 &&
                (p->planes_floats + 2 * PLANE_SLACK) * (int64_t)sizeof(float) <= PLANES_BUDGET;
    if (p->planes)
      p->col_bytes = align64((size_t)(p->planes_floats + 2 * PLANE_SLACK) * sizeof(float));
    p->subsample = w->kernel[0] == 1 && w->kernel[1] == 1;
    if (p->subsample) {
      p->row_stride = p->plane_w;
      p->channel_stride = p->plane_h * p->plane_w;
      /* the GEMM that multiplies the plane in place packs its panels into a workspace */
      if (p->planes) p->ws_bytes = lens_sgemm_workspace_bytes(p->mg, p->out_hw, p->kg);
    }
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

/* Pooled rows per band and the convolution rows a band holds at most. */
static int64_t pool_band_rows(const lens_window *pw) {
  int64_t r = POOL_BAND_CONV_ROWS / pw->stride[0];
  return r > 0 ? r : 1;
}

static int64_t pool_band_capacity(const lens_window *pw) {
  return (pool_band_rows(pw) - 1) * pw->stride[0] + (pw->kernel[0] - 1) * pw->dilation[0] + 1;
}

/* Bytes of one thread's band of convolution rows for a fused pool of window pw; 0: the pool
 * is not fused (not the few-channel path, groups, a window that does not fit). */
static size_t pool_band_bytes(const conv_plan *p, const lens_window *pw) {
  if (!p->chunked || p->group != 1 || p->batch < 1 || pw->n != 2 ||
      pw->in[0] != p->w.out[0] || pw->in[1] != p->w.out[1] || pw->out[0] < 1 ||
      pw->out[1] < 1)
    return 0;
  int64_t bytes = p->mg * pool_band_capacity(pw) * p->w.out[1] * (int64_t)sizeof(float);
  return bytes > POOL_BAND_MAX_BYTES ? 0 : align64((size_t)bytes);
}

static size_t conv_pool_scratch(const lens_node *node, const lens_value *in,
                                const struct lens_window *pool) {
  conv_plan p;
  lens_status *st = conv_plan_of(node, in, &p);
  if (st) {
    lens_status_free(st);
    return 0;
  }
  size_t band = pool_band_bytes(&p, pool);
  if (!band) return 0;
  return p.col_bytes + p.ws_bytes + (in[1].data ? 0 : p.packed_bytes) +
         band * (size_t)p.chunk_slots;
}

/* A depthwise convolution absorbed (dw_scratch_bytes): a 1x1 convolution that multiplies its
 * input in place (one group, one image, weights prepared) makes the depthwise layer's input
 * rows band by band into a buffer (lens_cpu_dw_bands); its own output is never stored.
 * MobileNetV2's 16 -> 96 channels at 112x112 and the stride-2 depthwise after it: 0.63 ms
 * at one thread, 0.52 fused (the expanded tensor, 4.8 MB, was written to memory and read
 * back). Whole models at one thread, against unfused (4-8 paired runs): mobilenet_v2 1.9%
 * faster, ssdlite320_mobilenet_v3_large 3.1%, PP-OCR det 3.6%. Only at one thread: at two,
 * the unfused layers' memory traffic splits across both cores while the fused GEMM of 16
 * or 24 deep runs at half the FMA peak, and waits on the slower core when the cores are
 * unequal: mobilenet_v2 2% slower with equal cores, 5% with one at 60%. And only where the
 * expanded tensor is larger than the caches keep: the layers whose tensor stayed near the
 * core measured no faster fused, and stride-1 ones slower (the bands' shared rows moved,
 * the depthwise rows started per band): at one thread, unfused against fused, MobileNetV2's
 * 144 channels at 56x56 (1.8 MB) 0.28 against 0.30-0.34 ms, 192 at 28x28 0.11 against
 * 0.12-0.13; SSDlite's 64 channels at 160x160 (6.5 MB) 0.97-1.13 against 0.64-0.66. */
#define DW_FUSE_MAX_THREADS 1
#define DW_FUSE_MIN_BYTES ((int64_t)3 << 20)
static bool dw_fusable(const conv_plan *p, const lens_value *in, const lens_fused_dw *dw) {
  return p->direct && p->group == 1 && p->batch == 1 && in[1].data && dw->in[0].rank == 4 &&
         dw->in[0].dims[0] == 1 && dw->in[0].dims[1] == p->m_out &&
         dw->in[0].dims[2] == p->w.out[0] && dw->in[0].dims[3] == p->w.out[1];
}

static size_t conv_dw_scratch(const lens_node *node, const lens_value *in,
                              const lens_fused_dw *dw, int threads) {
  conv_plan p;
  lens_status *st = conv_plan_of(node, in, &p);
  if (st) {
    lens_status_free(st);
    return 0;
  }
  if (threads > DW_FUSE_MAX_THREADS || !dw_fusable(&p, in, dw) ||
      p.m_out * p.out_hw * (int64_t)sizeof(float) < DW_FUSE_MIN_BYTES)
    return 0;
  return lens_cpu_dw_band_scratch(dw, threads);
}

typedef struct dw_source {
  const conv_plan *p;
  const float *x, *packed_w;
  const lens_sgemm_epilogue *epi;
} dw_source;

/* Rows [r0, r1) of the 1x1 convolution's output, every channel, into dst (ld apart). */
static void dw_source_rows(const void *arg, int64_t r0, int64_t r1, float *dst, int64_t ld) {
  const dw_source *d = arg;
  const conv_plan *p = d->p;
  int64_t w = p->w.out[1], n = (r1 - r0) * w;
  lens_sgemm_prepacked_range(false, p->mg, n, p->kg, d->packed_w, d->x + r0 * w, p->in_hw, dst,
                             ld, 0, p->mg, 0, n, d->epi);
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

/* Output columns [*lo, *hi) of n whose tap, at input column off + i * sw, lies inside a row
 * of iw_n columns (the rest read padding). */
static void tap_span(int64_t off, int64_t sw, int64_t iw_n, int64_t n, int64_t *lo,
                     int64_t *hi) {
  *lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
  *hi = iw_n - 1 - off < 0 ? 0 : (iw_n - 1 - off) / sw + 1;
  if (*hi > n) *hi = n;
  if (*lo > *hi) *lo = *hi;
}

/* dst[0:n] = the row (iw_n columns; NULL: padding) at columns off + i * sw, zero outside
 * it: one stride phase of a padded row, off being the phase less the left padding. */
static void row_phase(float *dst, const float *row, int64_t iw_n, int64_t off, int64_t sw,
                      int64_t n, gather2_fn g2) {
  int64_t lo, hi;
  tap_span(off, sw, iw_n, n, &lo, &hi);
  gather_segment(dst, row, off, sw, lo, hi, 0, n, g2);
}

/* Offset from the planes' start of tap (ki, kj) of channel 0 at output (0, 0); channel c
 * adds c * channel_stride. */
static inline int64_t tap_offset(const conv_plan *p, int64_t ki, int64_t kj) {
  const lens_window *w = &p->w;
  int64_t sh = w->stride[0], sw = w->stride[1];
  int64_t dy = ki * w->dilation[0], dx = kj * w->dilation[1];
  return dy / sh * p->row_stride + (dy % sh * p->phases_w + dx % sw) * p->plane_w + dx / sw;
}

/* Rows of the column matrix one after another (row r: channel r / (kh kw), kernel row, kernel
 * column), counted up rather than divided out per row, with the offset of each row's first
 * tap in the stride-phase planes (see planes_job). The tap offsets are tabled for kernels of
 * up to TAPS_MAX taps, to keep the divisions out of the rows. */
#define TAPS_MAX 64
typedef struct tap_cursor {
  const conv_plan *p;
  int64_t c, ki, kj;
  bool tabled;
  int64_t taps[TAPS_MAX]; /* taps[ki * kw + kj] when tabled */
} tap_cursor;

static void tap_cursor_start(tap_cursor *t, const conv_plan *p, int64_t r0, bool table) {
  int64_t kh = p->w.kernel[0], kw = p->w.kernel[1];
  t->p = p;
  t->c = r0 / (kh * kw);
  t->ki = r0 / kw % kh;
  t->kj = r0 % kw;
  t->tabled = table && kh * kw <= TAPS_MAX;
  if (t->tabled)
    for (int64_t ki = 0; ki < kh; ki++)
      for (int64_t kj = 0; kj < kw; kj++) t->taps[ki * kw + kj] = tap_offset(p, ki, kj);
}

static inline int64_t tap_cursor_offset(const tap_cursor *t) {
  const conv_plan *p = t->p;
  return t->c * p->channel_stride +
         (t->tabled ? t->taps[t->ki * p->w.kernel[1] + t->kj] : tap_offset(p, t->ki, t->kj));
}

static inline void tap_cursor_next(tap_cursor *t) {
  if (++t->kj < t->p->w.kernel[1]) return;
  t->kj = 0;
  if (++t->ki < t->p->w.kernel[0]) return;
  t->ki = 0;
  t->c++;
}

/* Rows [r0, r1) and columns [q0, q1) of the group's column matrix (row r: channel, kernel
 * row, kernel column; column q = oh * OW + ow) into dst, rows ld floats apart (ld >= q1 - q0,
 * the columns past q1 - q0 zero). Output-row and kernel counters advance instead of being
 * divided out per row: the GEMM calls this for every panel of every K block. */
static void im2col_block(const conv_plan *p, const float *x, int64_t q0, int64_t q1,
                         int64_t r0, int64_t r1, int64_t ld, float *dst, gather2_fn g2) {
  const lens_window *w = &p->w;
  int64_t ih_n = w->in[0], iw_n = w->in[1], ow_n = w->out[1];
  int64_t sh = w->stride[0], sw = w->stride[1];
  int64_t oh_first = q0 / ow_n, ow_first = q0 % ow_n;
  tap_cursor t;
  tap_cursor_start(&t, p, r0, false);
  for (int64_t r = r0; r < r1; r++, tap_cursor_next(&t)) {
    int64_t c = t.c, ki = t.ki, kj = t.kj;
    const float *xc = x + c * p->in_hw;
    float *d = dst + (r - r0) * ld;
    int64_t off = kj * w->dilation[1] - w->pad_begin[1], lo, hi;
    tap_span(off, sw, iw_n, ow_n, &lo, &hi);
    int64_t ih = oh_first * sh - w->pad_begin[0] + ki * w->dilation[0];
    for (int64_t q = q0, ow0 = ow_first; q < q1; ih += sh, ow0 = 0) {
      int64_t n = ow_n - ow0 < q1 - q ? ow_n - ow0 : q1 - q;
      gather_segment(d, ih >= 0 && ih < ih_n ? xc + ih * iw_n : NULL, off, sw, lo, hi, ow0, n,
                     g2);
      d += n;
      q += n;
    }
    for (int64_t i = q1 - q0; i < ld; i++) dst[(r - r0) * ld + i] = 0.0f;
  }
}

/* The group's columns as the GEMM's B, gathered a panel at a time (lens_sgemm_gather_b). */
typedef struct gathered_cols {
  const conv_plan *p;
  const float *x; /* the group's first input channel */
  gather2_fn gather2;
} gathered_cols;

static void gather_panel(const void *arg, int64_t j0, int64_t cols, int64_t p0, int64_t kc,
                         int64_t ld, float *dst) {
  const gathered_cols *g = arg;
  im2col_block(g->p, g->x, j0, j0 + cols, p0, p0 + kc, ld, dst, g->gather2);
}

/* The general path splits each input channel once into stride phases of the zero-padded
 * input: phase (a, b) holds padded rows a, a + sh, ... at padded columns b, b + sw, ....
 * Tap (ki, kj) of output (oh, ow) is then element (oh + ki dh / sh, ow + kj dw / sw) of phase
 * (ki dh % sh, kj dw % sw), so that every run of output columns along a row reads a
 * contiguous run of one plane, padding included: the GEMM's panels are gathered by plain
 * (masked) copies instead of strided gathers with bounds. Rows are outermost (row i of
 * every channel's phases, then row i + 1, ...; each plane_w floats): the threads build and
 * read contiguous bands of rows, as the GEMM's column split reads them, rather than
 * interleaved pieces of every plane, whose shared cache lines cost more at two threads than
 * the gather saves. A 1x1 kernel's one plane is laid out channel-major instead (see
 * conv_plan's subsample). Strides: row_stride from a plane row to the next, channel_stride
 * from a channel's phases to the next. */
typedef void (*phase_row_fn)(const conv_plan *p, const float *row, float *dst,
                             gather2_fn g2);

typedef struct planes_job {
  const conv_plan *p;
  const float *x; /* the group's first input channel */
  float *planes;
  phase_row_fn row;
  gather2_fn gather2;
} planes_job;

/* Row i of the phases (a, 0 .. phases_w - 1) of one channel, adjacent in dst, from input row
 * `row` (the padded row a + i sh). */
static void phase_row(const conv_plan *p, const float *row, float *dst, gather2_fn g2) {
  for (int64_t b = 0; b < p->phases_w; b++)
    row_phase(dst + b * p->plane_w, row, p->w.in[1], b - p->w.pad_begin[1], p->w.stride[1],
              p->plane_w, g2);
}

#if defined(__x86_64__) || defined(__i386__)
/* Input columns col0 .. col0 + 15 of a row of iw_n, zero outside it. */
__attribute__((target("avx512f"))) static inline __m512 row_load16(const float *row,
                                                                   int64_t col0, int64_t iw_n) {
  if (col0 >= 0 && col0 + 16 <= iw_n) return _mm512_loadu_ps(row + col0);
  int64_t lo = col0 < 0 ? -col0 : 0, hi = iw_n - col0 < 16 ? iw_n - col0 : 16;
  if (hi <= lo) return _mm512_setzero_ps();
  unsigned m = ((1u << hi) - 1u) & ~((1u << lo) - 1u);
  /* an address outside the row only for masked-off lanes: formed as an integer */
  const float *at = (const float *)((uintptr_t)row + (uintptr_t)(col0 * (int64_t)sizeof(float)));
  return _mm512_maskz_loadu_ps((__mmask16)m, at);
}

/* Strides 1 and 2 sixteen plane columns at a time: loads of the input columns they read
 * (masked at the row's ends: the padding), split into the phases by permutes. A channel's
 * row at a small plane is a single step, where a call per phase and span cost more than
 * the copy (14x14 input at 512 channels: a fifth of the convolution). */
__attribute__((target("avx512f"))) static void phase_row_avx512(const conv_plan *p,
                                                                const float *row, float *dst,
                                                                gather2_fn g2) {
  int64_t sw = p->w.stride[1], pw = p->plane_w, iw_n = p->w.in[1], pl = p->w.pad_begin[1];
  if (sw > 2) {
    phase_row(p, row, dst, g2);
    return;
  }
  for (int64_t q0 = 0; q0 < pw; q0 += 16) {
    __mmask16 out = (__mmask16)(pw - q0 >= 16 ? 0xffffu : (1u << (pw - q0)) - 1u);
    int64_t col0 = q0 * sw - pl;
    __m512 lo = row_load16(row, col0, iw_n);
    if (sw == 1) {
      _mm512_mask_storeu_ps(dst + q0, out, lo);
      continue;
    }
    __m512 hi = row_load16(row, col0 + 16, iw_n);
    /* phase b of plane column q0 + t is input column col0 + 2 t + b: lane 2 t + b */
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    for (int64_t b = 0; b < p->phases_w; b++)
      _mm512_mask_storeu_ps(dst + b * pw + q0, out,
                            _mm512_permutex2var_ps(
                                lo, _mm512_add_epi32(even, _mm512_set1_epi32((int)b)), hi));
  }
}
#endif

static phase_row_fn phase_row_select(void) {
#if defined(__x86_64__) || defined(__i386__)
  if (lens_cpu_isa() == LENS_CPU_ISA_AVX512) return phase_row_avx512;
#endif
  return phase_row;
}

/* Plane row i of channel c's phases. */
static void build_phase_row(const planes_job *j, int64_t i, int64_t c) {
  const conv_plan *p = j->p;
  const lens_window *w = &p->w;
  int64_t row_floats = p->phases_w * p->plane_w;
  float *dst = j->planes + i * p->row_stride + c * p->channel_stride;
  for (int64_t a = 0; a < p->phases_h; a++, dst += row_floats) {
    int64_t ih = a + i * w->stride[0] - w->pad_begin[0];
    if (ih < 0 || ih >= w->in[0]) {
      memset(dst, 0, (size_t)row_floats * sizeof *dst);
      continue;
    }
    j->row(p, j->x + (c * w->in[0] + ih) * w->in[1], dst, j->gather2);
  }
}

/* Plane rows [begin, end), every channel: for a GEMM split in columns, so that each thread
 * builds the rows its columns read. Channel by channel, so that the input is read in
 * order (across channels first, the reads are a plane apart and the prefetchers, which
 * stop at page boundaries, miss them: a 1x1 stride-2 convolution from 14x14 at 1024
 * channels spent 9% building instead of 1%). */
static void build_plane_rows(void *arg, size_t begin, size_t end) {
  const planes_job *j = arg;
  for (int64_t c = 0; c < j->p->cg; c++)
    for (int64_t i = (int64_t)begin; i < (int64_t)end; i++) build_phase_row(j, i, c);
}

/* Channels [begin, end), every row: for a GEMM split in rows (small planes), where every
 * thread reads all of B anyway, so that each reads the input channels the layer before it
 * wrote (also split in rows, mostly) rather than half the other core's. */
static void build_plane_channels(void *arg, size_t begin, size_t end) {
  const planes_job *j = arg;
  for (int64_t c = (int64_t)begin; c < (int64_t)end; c++)
    for (int64_t i = 0; i < j->p->plane_h; i++) build_phase_row(j, i, c);
}

/* The planes as the GEMM's B (lens_sgemm_gather_b). */
typedef struct plane_cols {
  const conv_plan *p;
  const float *planes;
} plane_cols;

static void gather_planes_panel(const void *arg, int64_t j0, int64_t cols, int64_t p0,
                                int64_t kc, int64_t ld, float *dst) {
  const plane_cols *g = arg;
  const conv_plan *p = g->p;
  int64_t ow_n = p->w.out[1], oh0 = j0 / ow_n, ow0 = j0 % ow_n;
  tap_cursor t;
  tap_cursor_start(&t, p, p0, true);
  for (int64_t r = 0; r < kc; r++, tap_cursor_next(&t)) {
    const float *base = g->planes + tap_cursor_offset(&t);
    float *d = dst + r * ld;
    for (int64_t q = 0, oh = oh0, o = ow0; q < cols; oh++, o = 0) {
      int64_t n = ow_n - o < cols - q ? ow_n - o : cols - q;
      memcpy(d + q, base + oh * p->row_stride + o, (size_t)n * sizeof *d);
      q += n;
    }
    for (int64_t q = cols; q < ld; q++) d[q] = 0.0f;
  }
}

#if defined(__x86_64__) || defined(__i386__)
/* The same with masked loads: the runs of output columns a panel crosses are the same for
 * each of its rows, so they are turned once into a list of (vector, offset, lane mask)
 * loads, and each row is a few merging loads and full stores. */
#define PANEL_LOADS_MAX 160
__attribute__((target("avx512f"))) static void gather_planes_panel_avx512(
    const void *arg, int64_t j0, int64_t cols, int64_t p0, int64_t kc, int64_t ld,
    float *dst) {
  const plane_cols *g = arg;
  const conv_plan *p = g->p;
  int64_t ow_n = p->w.out[1], vecs = ld / 16, row_stride = p->row_stride;
  if (ld % 16 != 0 || vecs * 16 + vecs > PANEL_LOADS_MAX) {
    gather_planes_panel(arg, j0, cols, p0, kc, ld, dst);
    return;
  }
  int32_t off[PANEL_LOADS_MAX];
  __mmask16 mask[PANEL_LOADS_MAX];
  int first[PANEL_LOADS_MAX / 16 + 2];
  int loads = 0;
  /* column q of the panel reads plane offset run_start + (q - q_start) of its run */
  int64_t oh = j0 / ow_n, o = j0 % ow_n, q = 0;
  for (int64_t v = 0; v < vecs; v++) {
    first[v] = loads;
    int64_t v_end = (v + 1) * 16 < cols ? (v + 1) * 16 : cols;
    while (q < v_end) {
      int64_t n = ow_n - o < v_end - q ? ow_n - o : v_end - q;
      off[loads] = (int32_t)(oh * row_stride + o - (q - v * 16));
      mask[loads] = (__mmask16)(((1u << n) - 1u) << (q - v * 16));
      loads++;
      q += n;
      o += n;
      if (o == ow_n) {
        o = 0;
        oh++;
      }
    }
  }
  first[vecs] = loads;
  tap_cursor t;
  tap_cursor_start(&t, p, p0, true);
  for (int64_t r = 0; r < kc; r++, tap_cursor_next(&t)) {
    const float *base = g->planes + tap_cursor_offset(&t);
    float *d = dst + r * ld;
    for (int64_t v = 0; v < vecs; v++) {
      /* zeroing loads ORed together: merging loads would chain each on the last */
      __m512i x = _mm512_setzero_si512();
      for (int l = first[v]; l < first[v + 1]; l++)
        x = _mm512_or_si512(
            x, _mm512_castps_si512(_mm512_maskz_loadu_ps(mask[l], base + off[l])));
      _mm512_storeu_si512(d + v * 16, x);
    }
  }
}
#endif

typedef struct chunk_job {
  const conv_plan *p;
  const float *x;       /* the group's first input channel */
  const float *packed_w; /* the group's packed weights (GEMM layout) */
  const float *phase_w;  /* the same in the phase path's layout */
  float *y;             /* the group's first output channel */
  char *col;            /* chunk_slots buffers, slot_bytes apart */
  size_t slot_bytes;
  const lens_sgemm_epilogue *epi; /* bias and residual of the group, or NULL */
  lens_split split; /* of the image among the parts, one per thread (lens_exec_split) */
  gather2_fn gather2;
  lens_cpu_epilogue_fn epi_fn; /* the phase path's, applied row by row */
  /* a fused MaxPool: its window, plane function and the threads' bands of convolution
   * rows (band_bytes apart); y is then the group's first pooled channel */
  const lens_window *pool;
  lens_max_plane_fn max_plane;
  char *bands;
  size_t band_bytes;
} chunk_job;

/* One thread's share of an image's columns, chunk by chunk through its own buffer. */
static void chunk_part(void *arg, size_t begin, size_t end) {
  const chunk_job *j = arg;
  const conv_plan *p = j->p;
  for (size_t part = begin; part < end; part++) {
    int64_t a, b;
    lens_sgemm_split_cols(&j->split, p->out_hw, (int)part, &a, &b);
    float *col = (float *)(j->col + part * j->slot_bytes);
    for (int64_t q0 = a; q0 < b; q0 += p->chunk_cols) {
      int64_t n = b - q0 < p->chunk_cols ? b - q0 : p->chunk_cols;
      im2col_block(p, j->x, q0, q0 + n, 0, p->kg, n, col, j->gather2);
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
      const float *row = ih >= 0 && ih < w->in[0] ? x + (c * w->in[0] + ih) * iw_n : NULL;
      for (int64_t f = 0; f < sw; f++)
        row_phase(buf + ((c * p->phase_rows + r) * sw + f) * len, row, iw_n, f - pl, sw, len,
                  gather2_avx512);
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

/* Offsets of the kg taps into a band's phase rows (off[t] for tap t, from output (0, 0)). */
static void phase_offsets(const conv_plan *p, int32_t *off) {
  const lens_window *w = &p->w;
  int64_t kh = w->kernel[0], kw = w->kernel[1], sw = w->stride[1];
  for (int64_t t = 0; t < p->kg; t++) {
    int64_t c = t / (kh * kw), ki = t / kw % kh, kj = t % kw;
    int64_t tap = kj * w->dilation[1];
    off[t] = (int32_t)(((c * p->phase_rows + ki * w->dilation[0]) * sw + tap % sw) *
                           p->phase_len + tap / sw);
  }
}

/* Output rows [b0, b1) (at most PHASE_BAND_ROWS) of every channel through buf (the thread's
 * phase rows): row b0 of channel m at dst + m * ldc. The band's output vectors (16 columns
 * of one row) are taken 3 at a time, across rows, so that a row's last, partial vector
 * does not get a tile of its own. */
static void phase_band(const chunk_job *j, int64_t b0, int64_t b1, float *buf, float *dst,
                       int64_t ldc, const int32_t *off) {
  static const phase_tile_fn tiles[3] = {phase_tile_x1, phase_tile_x2, phase_tile_x3};
  const conv_plan *p = j->p;
  const lens_window *w = &p->w;
  int64_t ow_n = w->out[1], sw = w->stride[1];
  int64_t row_step = w->stride[0] * sw * p->phase_len; /* floats from one output row's taps
                                                           to the next's */
  int64_t per_row = (ow_n + 15) / 16;
  const lens_epilogue *ep = j->epi ? j->epi->ep : NULL;
  bool fused = lens_cpu_epilogue_in_registers(ep);
  const float *residual = j->epi ? j->epi->residual : NULL;
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
      float *dsts[3];
      const float *res[3];
      int cols[3];
      for (int v = 0; v < k; v++) {
        int64_t r = (g + v) / per_row, q = (g + v) % per_row * 16;
        src[v] = buf + r * row_step + q;
        dsts[v] = dst + i0 * ldc + r * ow_n + q;
        res[v] = residual ? residual + i0 * p->out_hw + (b0 + r) * ow_n + q : NULL;
        cols[v] = (int)(ow_n - q < 16 ? ow_n - q : 16);
      }
      tiles[k - 1](p->kg, pa, src, off, dsts, fused && residual ? res : NULL, cols, ldc, rows,
                   &pe);
    }
    if (fused || !j->epi) continue;
    for (int i = 0; i < rows; i++)
      for (int64_t r = 0; r < b1 - b0; r++) {
        const float *res_row = residual ? residual + (i0 + i) * p->out_hw + (b0 + r) * ow_n : NULL;
        j->epi_fn(ep, j->epi->bias ? j->epi->bias[i0 + i] : 0.0f,
                  dst + (i0 + i) * ldc + r * ow_n, res_row, (size_t)ow_n);
      }
  }
}

/* One thread's share of an image's output rows, a band at a time through its own buffer. */
static void phase_part(void *arg, size_t begin, size_t end) {
  const chunk_job *j = arg;
  const conv_plan *p = j->p;
  int64_t oh_n = p->w.out[0], ow_n = p->w.out[1];
  int32_t off[CHUNKED_MAX_DEPTH];
  phase_offsets(p, off);
  for (size_t part = begin; part < end; part++) {
    int64_t r0, r1;
    lens_split_range(&j->split, oh_n, 1, (int)part, &r0, &r1);
    float *buf = (float *)(j->col + part * j->slot_bytes);
    for (int64_t b0 = r0; b0 < r1; b0 += PHASE_BAND_ROWS) {
      int64_t b1 = b0 + PHASE_BAND_ROWS < r1 ? b0 + PHASE_BAND_ROWS : r1;
      phase_band(j, b0, b1, buf, j->y + b0 * ow_n, p->out_hw, off);
    }
  }
}
#endif

/* Output rows [r0, r1) of every channel into dst (row r0 of channel m at dst + m * ldc),
 * through buf, one thread's slot: by the phase path when phase, else by chunks of columns.
 * No residual (a fused pool has none). */
static void conv_rows(const chunk_job *j, bool phase, const int32_t *off, int64_t r0,
                      int64_t r1, float *buf, float *dst, int64_t ldc) {
  const conv_plan *p = j->p;
  int64_t ow_n = p->w.out[1];
#if defined(__x86_64__) || defined(__i386__)
  if (phase) {
    for (int64_t b0 = r0; b0 < r1; b0 += PHASE_BAND_ROWS) {
      int64_t b1 = b0 + PHASE_BAND_ROWS < r1 ? b0 + PHASE_BAND_ROWS : r1;
      phase_band(j, b0, b1, buf, dst + (b0 - r0) * ow_n, ldc, off);
    }
    return;
  }
#else
  (void)phase;
  (void)off;
#endif
  for (int64_t q0 = r0 * ow_n; q0 < r1 * ow_n; q0 += p->chunk_cols) {
    int64_t n = r1 * ow_n - q0 < p->chunk_cols ? r1 * ow_n - q0 : p->chunk_cols;
    im2col_block(p, j->x, q0, q0 + n, 0, p->kg, n, buf, j->gather2);
    lens_sgemm_prepacked_range(false, p->mg, n, p->kg, j->packed_w, buf, n,
                               dst + (q0 - r0 * ow_n), ldc, 0, p->mg, 0, n, j->epi);
  }
}

/* One thread's share of the pooled rows: band by band, the convolution rows its windows
 * read (those the last band already holds moved up, not computed again), then the pool. */
static void pool_part(void *arg, size_t begin, size_t end) {
  const chunk_job *j = arg;
  const conv_plan *p = j->p;
  const lens_window *pw = j->pool;
  int64_t oh_n = p->w.out[0], ow_n = p->w.out[1], ph_n = pw->out[0];
  int64_t pool_hw = pw->out[0] * pw->out[1], sh = pw->stride[0], pt = pw->pad_begin[0];
  int64_t span = (pw->kernel[0] - 1) * pw->dilation[0] + 1;
  int64_t per_band = pool_band_rows(pw), ldc = pool_band_capacity(pw) * ow_n;
  bool phase = false;
  int32_t off[CHUNKED_MAX_DEPTH];
#if defined(__x86_64__) || defined(__i386__)
  phase = lens_cpu_isa() == LENS_CPU_ISA_AVX512;
  if (phase) phase_offsets(p, off);
#endif
  for (size_t part = begin; part < end; part++) {
    int64_t q_begin, q_end;
    lens_split_range(&j->split, ph_n, 1, (int)part, &q_begin, &q_end);
    float *buf = (float *)(j->col + part * j->slot_bytes);
    float *rows = (float *)(j->bands + part * j->band_bytes);
    int64_t have0 = 0, have1 = 0; /* convolution rows in rows, have0 first */
    for (int64_t q0 = q_begin; q0 < q_end; q0 += per_band) {
      int64_t q1 = q0 + per_band < q_end ? q0 + per_band : q_end;
      int64_t need0 = q0 * sh - pt, need1 = (q1 - 1) * sh - pt + span;
      need0 = need0 < 0 ? 0 : need0 > oh_n ? oh_n : need0;
      need1 = need1 < need0 ? need0 : need1 > oh_n ? oh_n : need1;
      int64_t from = need0;
      if (need0 >= have0 && need0 < have1 && have1 <= need1) {
        if (need0 > have0)
          for (int64_t m = 0; m < p->mg; m++)
            memmove(rows + m * ldc, rows + m * ldc + (need0 - have0) * ow_n,
                    (size_t)((have1 - need0) * ow_n) * sizeof(float));
        from = have1;
      }
      if (from < need1)
        conv_rows(j, phase, off, from, need1, buf, rows + (from - need0) * ow_n, ldc);
      have0 = need0;
      have1 = need1;
      lens_window band = *pw;
      band.in[0] = need1 - need0;
      band.out[0] = q1 - q0;
      band.pad_begin[0] = pt + need0 - q0 * sh;
      for (int64_t m = 0; m < p->mg; m++)
        j->max_plane(&band, rows + m * ldc, j->y + m * pool_hw + q0 * pw->out[1]);
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
  const lens_epilogue *ep = lens_exec_epilogue(ctx);
  if (ep && ep->dw) {
    if (!s || !dw_fusable(&p, in, ep->dw) || ep->residual || ep->pool)
      return lens_node_error(node, LENS_ERR_UNSUPPORTED,
                             "conv2d_im2col_sgemm: a fused depthwise convolution needs a 1x1 "
                             "convolution of one image that reads its input in place");
    const float *bias = lens_node_has_input(node, in, 2) ? in[2].data : NULL;
    lens_sgemm_epilogue epi = {bias, NULL, ep};
    dw_source src = {&p, in[0].data, s->packed_w, &epi};
    return lens_cpu_dw_bands(ctx, ep->dw, out[0].data, dw_source_rows, &src, scratch,
                             ctx->scratch_bytes);
  }
  const lens_window *pool = ep ? ep->pool : NULL;
  size_t band_bytes = pool ? pool_band_bytes(&p, pool) : 0;
  if (pool && (!band_bytes || ep->residual))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED,
                           "conv2d_im2col_sgemm: a fused MaxPool needs the few-channel path, "
                           "one group, no residual and a band of at most %lld bytes",
                           (long long)POOL_BAND_MAX_BYTES);
  char *bands = scratch ? scratch + need : NULL;
  need += band_bytes * (size_t)p.chunk_slots;
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
  float *y = out[0].data;
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
                         {0}, gather2_select(), lens_cpu_epilogue_select(), NULL, NULL,
                         NULL, 0};
        void (*part_fn)(void *, size_t, size_t) = chunk_part;
#if defined(__x86_64__) || defined(__i386__)
        if (lens_cpu_isa() == LENS_CPU_ISA_AVX512) part_fn = phase_part;
#endif
        if (pool) {
          job.y = y + n * p.m_out * pool->out[0] * pool->out[1];
          job.pool = pool;
          job.max_plane = lens_cpu_max_plane(pool);
          job.bands = bands;
          job.band_bytes = band_bytes;
          if (parts > pool->out[0]) parts = (int)pool->out[0];
          part_fn = pool_part;
        }
        lens_exec_split(ctx, parts, &job.split);
        if (parts > 1) lens_parallel_for(ctx, (size_t)parts, part_fn, &job);
        else part_fn(&job, 0, 1);
        continue;
      }
      if (p.direct) {
        lens_sgemm_prepacked_epilogue(ctx, false, p.mg, p.out_hw, p.kg, wg, xg, p.in_hw, yg,
                                      p.out_hw, ws, epi_or_null);
        continue;
      }
      if (p.planes) {
        float *planes = col + PLANE_SLACK;
        planes_job pj = {&p, xg, planes, phase_row_select(), gather2_select()};
        if (p.planes_floats < PLANES_SERIAL)
          build_plane_rows(&pj, 0, (size_t)p.plane_h);
        else if (p.subsample || lens_sgemm_splits_rows(lens_exec_threads(ctx), p.mg, p.out_hw))
          lens_parallel_for(ctx, (size_t)p.cg, build_plane_channels, &pj);
        else
          lens_parallel_for(ctx, (size_t)p.plane_h, build_plane_rows, &pj);
        if (p.subsample) {
          lens_sgemm_prepacked_epilogue(ctx, false, p.mg, p.out_hw, p.kg, wg, planes, p.out_hw,
                                        yg, p.out_hw, ws, epi_or_null);
          continue;
        }
        plane_cols pc = {&p, planes};
        lens_sgemm_gather_b fn = gather_planes_panel;
#if defined(__x86_64__) || defined(__i386__)
        if (lens_cpu_isa() == LENS_CPU_ISA_AVX512) fn = gather_planes_panel_avx512;
#endif
        lens_sgemm_prepacked_gather(ctx, p.mg, p.out_hw, p.kg, wg, fn, &pc, yg, p.out_hw,
                                    epi_or_null);
        continue;
      }
      gathered_cols cols = {&p, xg, gather2_select()};
      lens_sgemm_prepacked_gather(ctx, p.mg, p.out_hw, p.kg, wg, gather_panel, &cols, yg,
                                  p.out_hw, epi_or_null);
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
    .pool_scratch_bytes = conv_pool_scratch,
    .dw_scratch_bytes = conv_dw_scratch,
};
