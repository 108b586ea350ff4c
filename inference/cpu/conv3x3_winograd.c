/* conv3x3_winograd_f4: 3x3, stride-1, undilated, ungrouped float32 convolution by Winograd's
 * F(4x4, 3x3) (Lavin and Gray's matrices): each 4x4 block of outputs comes from a 6x6
 * input patch with 36 multiplies per input/output channel pair instead of 144.
 *
 *   weights  U = G g G^T, once at session creation, packed as 36 GEMM A matrices (M x C)
 *   input    V = B^T d B per tile and channel, scattered to 36 matrices (C x tiles)
 *   product  36 GEMMs  X_k = U_k V_k (M x tiles)
 *   output   Y = A^T X A per tile and output channel, plus bias; then residual/activation
 *
 * Tiles are processed in blocks so the transformed buffers stay a few MiB. Used where the
 * layer is big enough for the transforms to pay (see wino_worth_it). The transforms scale
 * terms by up to 8 before they cancel, so the rounding differs from the direct sum more than
 * im2col's does (a few 1e-4 of the output's magnitude in the tests' worst case).
 *
 * Small planes (fewer than 32 tiles: 14x14 and 7x7 outputs) leave the 36 GEMMs too few
 * columns for the shared GEMM's 32-wide micro-kernel, so they take a layout of their own:
 * the products run tiles x output channels (X_k^T = V_k^T U_k^T), the output channels
 * vectorised, U packed in blocks of SP_NB channels, with a micro-kernel in this file. Threads
 * take bands of tile rows through every stage, or blocks of output channels when those
 * share out evenly, two or more each (small_parts), each thread then transforming the whole
 * input for itself (small_channel_parts). Planes of up to 49 tiles (27x27, 28x28)
 * have both layouts and take this one when threads split them in bands (banded_plan). */

/* The library is compiled as ISO C11, where GCC does not fuse a * b + c into an FMA; the
 * small-plane micro-kernel depends on that fusion. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "core/exec.h"
#include "cpu/epilogue.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/mask16.h"
#include "cpu/prefetch.h"
#include "ops/nn_common.h"

#define TILE 4   /* outputs per tile side */
#define PATCH 6  /* inputs per tile side */
#define NK 36    /* PATCH * PATCH transformed positions */
#define BLOCK_BYTES ((size_t)6 << 20) /* transformed input + products per block */
#define MAX_ROW 2048 /* widest padded input row (the transforms' rows live on the stack) */
#define SP_NB 64       /* small planes: output channels per packed weight block */
#define SP_TQ 4        /* small planes: tiles padded to a multiple of this */
#define SP_MAX_TILES 31 /* small planes: the most tiles taken by that layout */
/* Planes of up to this many tiles (27x27 and 28x28: 7 x 7) also get the small-plane layout
 * when threads take bands of it (banded_plan). */
#define SP_BANDED_MAX_TILES 49
#define SP_PARTS 4      /* small planes: the most bands of tile rows threads take */
/* Small planes: input channels whose weights are transformed at a time. The transformed
 * weights are 4x the layer's and a layer's weights come from memory (each is used once per
 * run), so they are transformed from the 3x3 ones in chunks that stay in L2 just before
 * use, which costs less than reading them. */
#define SP_CC 32
/* Floats from one position k's transformed weights to the next: a cache line more than
 * SP_CC rows, so that the 36 stores of one channel do not all fall in one L1 set. */
#define SP_KS (SP_CC * SP_NB + 16)

typedef struct wino_plan {
  lens_window w;
  int64_t c, m, oh, ow, th, tw, tiles, tb; /* tb: tiles per block */
  bool small;        /* the small-plane layout (see the file comment) */
  int64_t ld, nmb;   /* small planes: tiles padded to SP_TQ; blocks of SP_NB channels */
  int64_t vks, xks;  /* small planes: floats from V_k to V_k+1, and from X_k to X_k+1 */
  size_t v_bytes, x_bytes, ws_bytes, packed_bytes;
  size_t part_bytes; /* small planes: one band's V, X (one block), U and staged output,
                      * SP_PARTS of them */
  size_t stage_bytes; /* small planes split by channels: every block's staged output */
} wino_plan;

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

/* Small planes: the stride, in floats, between the 36 transformed positions of a buffer
 * whose positions hold n floats each. The transforms touch one line in each of the 36 for
 * every channel and tile row (16 tiles: 4 floats of each line at a time); 36 lines a multiple
 * of 1 KiB apart fall in at most 4 of the L1's sets, more than its ways hold, and evict one
 * another before the rest of each line is written or read. 64 -> 192 channels on 13x13 (V_k
 * 4 KiB apart) took 0.23 ms against 0.1 for 48 -> 192; a cache line more gives each position
 * a set of its own: 0.12 ms. 256 channels on 14x14: 1.04 -> 0.55 ms. (The large-plane
 * layout writes whole lines, and measured no different with the padding.) */
static int64_t spread_stride(int64_t n) { return n % 256 == 0 ? n + 16 : n; }

/* Whether the transforms pay for themselves. Measured on Zen 5 against
 * conv2d_im2col_sgemm, one thread, with the vectorised AVX-512 output transform: 2.5x faster
 * at 64 channels on 56x56, 1.5x for 16 -> 64 channels on 55x55, 1.85x for 16 channels on
 * 112x112, 1.27x for 12 -> 32 on 56x56, 1.06x for 8 -> 64 on 55x55. */
/* Small planes, measured the same way (with spread_stride), one thread: 2.4x faster at 256
 * channels on 14x14, 1.6x at 512 on 7x7, 1.7x for 16 -> 64 channels on 13x13 and 7x7, 1.5x at
 * 256 on 6x6; even at 16 channels on 10x10; slower on fewer than 36 outputs (4x4: 1.4x, 5x5
 * even) and at 1024 channels on 7x7 (1.04x: V no longer stays in L2 while each block of
 * output channels reads it). */
/* In a model, though, a layer's weights come from memory rather than the caches (the
 * layers before it evicted them): at 512 channels on 7x7 (4 tiles, 9.4 MB of weights) the
 * small-plane path took 1.75 ms in resnet50 at one thread (1.05 alone) and im2col 1.45; at
 * two threads 1.06 against 0.80. So no small plane of 4 tiles or fewer whose weights are 8
 * MiB or more. */
#define SMALL_STREAMED_TILES 4
#define SMALL_STREAMED_WEIGHT_BYTES (8.0 * 1024 * 1024)
static bool wino_worth_it(const wino_plan *p) {
  if (p->small && p->tiles <= SMALL_STREAMED_TILES &&
      9.0 * sizeof(float) * (double)p->c * (double)p->m >= SMALL_STREAMED_WEIGHT_BYTES)
    return false;
  if (p->small)
    return p->c >= 16 && p->m >= 32 && p->oh * p->ow >= 36 && p->c * p->m < 1024 * 1024;
  return p->c >= 8 && p->m >= 16 && p->tiles >= 32;
}

/* The plan of the layer: the small-plane layout up to small_max tiles, else the large-plane
 * one. */
static bool wino_plan_layout(const lens_node *node, const lens_value *in, int64_t small_max,
                             wino_plan *p) {
  memset(p, 0, sizeof *p);
  if (strcmp(node->op_type, "Conv") != 0 || (node->domain && node->domain[0]) ||
      !node->params || in[0].dtype != LENS_DTYPE_FLOAT32 || in[0].rank != 4 ||
      in[1].rank != 4)
    return false;
  lens_status *st = lens_conv_resolve(node, in, &p->w);
  if (st) {
    lens_status_free(st);
    return false;
  }
  const lens_conv_params *cp = node->params;
  const lens_window *w = &p->w;
  if (cp->group != 1 || w->kernel[0] != 3 || w->kernel[1] != 3 || w->stride[0] != 1 ||
      w->stride[1] != 1 || w->dilation[0] != 1 || w->dilation[1] != 1)
    return false;
  p->c = in[0].dims[1];
  p->m = in[1].dims[0];
  p->oh = w->out[0];
  p->ow = w->out[1];
  p->th = (p->oh + TILE - 1) / TILE;
  p->tw = (p->ow + TILE - 1) / TILE;
  if (p->tw * TILE + 2 > MAX_ROW) return false;
  p->tiles = p->th * p->tw;
  if (p->tiles <= small_max) {
    p->small = true;
    p->ld = (p->tiles + SP_TQ - 1) / SP_TQ * SP_TQ;
    p->nmb = (p->m + SP_NB - 1) / SP_NB;
    p->vks = spread_stride(p->c * p->ld);
    p->xks = spread_stride(p->ld * SP_NB);
    p->v_bytes = align64((size_t)(NK * p->vks) * sizeof(float));
    p->x_bytes = align64((size_t)(NK * p->xks * p->nmb) * sizeof(float));
    p->ws_bytes = align64((size_t)(NK * SP_KS * p->nmb) * sizeof(float));
    p->stage_bytes = align64((size_t)(p->nmb * SP_NB * p->oh * p->ow) * sizeof(float));
    p->part_bytes = p->v_bytes + align64((size_t)(NK * p->xks) * sizeof(float)) +
                    align64((size_t)(NK * SP_KS) * sizeof(float)) +
                    align64((size_t)(SP_NB * p->oh * p->ow) * sizeof(float));
    p->packed_bytes = align64((size_t)(9 * p->c * p->nmb * SP_NB) * sizeof(float));
    return p->tiles > 0;
  }
  int64_t per_tile = NK * (p->c + p->m) * (int64_t)sizeof(float);
  p->tb = (int64_t)BLOCK_BYTES / per_tile;
  if (p->tb < 16) p->tb = 16;
  if (p->tb > p->tiles) p->tb = p->tiles;
  p->v_bytes = align64((size_t)(NK * p->c * p->tb) * sizeof(float));
  p->x_bytes = align64((size_t)(NK * p->m * p->tb) * sizeof(float));
  p->ws_bytes = align64(lens_sgemm_workspace_bytes(p->m, p->tb, p->c));
  p->packed_bytes = align64(lens_sgemm_packed_a_floats(p->m, p->c) * NK * sizeof(float));
  return p->tiles > 0;
}

static bool wino_plan_of(const lens_node *node, const lens_value *in, wino_plan *p) {
  return wino_plan_layout(node, in, SP_MAX_TILES, p);
}

/* Planes of SP_MAX_TILES to SP_BANDED_MAX_TILES tiles on the small-plane layout: threads
 * take it by bands of tile rows (small_parts) where they can, one thread and the rest the
 * large-plane layout. Two threads, 3 + 4 rows of tiles against the large-plane layout split
 * by channels (convbench, alternating processes): 128 -> 128 channels on 28x28 0.73x the
 * time, 64 -> 64 0.44-0.65x, 32 -> 128 on 27x27 0.7x, 16 -> 64 0.69x; in the models, about
 * 5% on each such layer (their weights come from memory, once per band). At one thread the
 * small-plane layout was 23% faster for 32 -> 128 on 27x27 but 2% slower for 128 -> 128 on
 * 28x28 and 14% for 16 -> 64. False when the layer has no such second layout. */
static bool banded_plan(const lens_node *node, const lens_value *in, const wino_plan *base,
                        wino_plan *p) {
  return !base->small && base->tiles <= SP_BANDED_MAX_TILES && base->th >= 2 &&
         wino_plan_layout(node, in, SP_BANDED_MAX_TILES, p) && p->small && wino_worth_it(p);
}

static bool wino_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  wino_plan p;
  /* the weights are transformed once: they must be constant */
  return in[1].data && wino_plan_of(node, in, &p) && wino_worth_it(&p);
}

/* U_k for every (m, c): G g G^T, then packed per k as an M x C GEMM operand. */
static lens_status *transform_weights(const wino_plan *p, const float *w, float *packed) {
  static const double g[PATCH][3] = {
      {1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
      {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1},
  };
  if (p->small) {
    /* g as [block][c][3x3][SP_NB channels], zero past the last channel: transformed in
     * compute (see SP_CC) */
    memset(packed, 0, p->packed_bytes);
    for (int64_t m = 0; m < p->m; m++)
      for (int64_t c = 0; c < p->c; c++)
        for (int i = 0; i < 9; i++)
          packed[((m / SP_NB * p->c + c) * 9 + i) * SP_NB + m % SP_NB] = w[(m * p->c + c) * 9 + i];
    return NULL;
  }
  float *u = malloc(sizeof(float) * (size_t)(NK * p->m * p->c));
  if (!u) return lens_error_oom();
  for (int64_t m = 0; m < p->m; m++)
    for (int64_t c = 0; c < p->c; c++) {
      const float *k = w + (m * p->c + c) * 9;
      double t[PATCH][3];
      for (int i = 0; i < PATCH; i++)
        for (int j = 0; j < 3; j++)
          t[i][j] = g[i][0] * k[0 * 3 + j] + g[i][1] * k[1 * 3 + j] + g[i][2] * k[2 * 3 + j];
      for (int i = 0; i < PATCH; i++)
        for (int j = 0; j < PATCH; j++)
          u[((int64_t)(i * PATCH + j) * p->m + m) * p->c + c] =
              (float)(t[i][0] * g[j][0] + t[i][1] * g[j][1] + t[i][2] * g[j][2]);
    }
  size_t per_k = lens_sgemm_packed_a_floats(p->m, p->c);
  for (int k = 0; k < NK; k++)
    lens_sgemm_pack_a(false, p->m, p->c, u + (int64_t)k * p->m * p->c, p->c,
                      packed + (size_t)k * per_k);
  free(u);
  return NULL;
}

static lens_status *wino_prepare(const lens_node *node, const lens_value *in,
                                 const lens_value *out, void **state) {
  *state = NULL;
  if (!in[1].data) return NULL;
  wino_plan p, banded;
  if (!wino_plan_of(node, in, &p))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "conv3x3_winograd_f4: unsupported");
  bool both = banded_plan(node, in, &p, &banded);
  float *packed = aligned_alloc(64, p.packed_bytes + (both ? banded.packed_bytes : 0));
  if (!packed) return lens_error_oom();
  lens_status *st = transform_weights(&p, in[1].data, packed);
  /* the banded layout's weights follow the large-plane one's */
  if (!st && both)
    st = transform_weights(&banded, in[1].data, packed + p.packed_bytes / sizeof(float));
  if (st) {
    free(packed);
    return st;
  }
  *state = packed;
  return NULL;
}

/* The layout split by output channels (with a V per thread, up to SP_PARTS), or SP_PARTS
 * bands of tile rows, whichever is bigger. */
static size_t scratch_need(const wino_plan *p) {
  size_t by_channels =
      p->v_bytes * SP_PARTS + p->x_bytes + p->ws_bytes + p->stage_bytes;
  size_t by_bands = p->part_bytes * SP_PARTS;
  return by_channels > by_bands ? by_channels : by_bands;
}

static size_t wino_scratch(const lens_node *node, const lens_value *in, const lens_value *out) {
  wino_plan p, banded;
  if (!wino_plan_of(node, in, &p)) return 0;
  size_t need = scratch_need(&p);
  if (banded_plan(node, in, &p, &banded) && scratch_need(&banded) > need)
    need = scratch_need(&banded);
  return need;
}

typedef struct wino_job {
  const wino_plan *p;
  const float *x, *bias;
  float *y, *v, *xk;
  int64_t t0, nt; /* the block's (or a part of it's) first tile and count */
  const lens_epilogue *ep;
  lens_cpu_epilogue_fn epi;
  int64_t ld;            /* tiles in the whole block: the stride of v and xk rows */
  int64_t vks, xks;      /* floats from V_k to V_k+1, and from X_k to X_k+1 */
  const float *residual; /* ep's residual for the current image */
} wino_job;

/* The input transform's first stage for one row of tiles: input rows r0 .. r0 + 5 of plane
 * x, zero-padded, wp columns from column -pad_begin[1] (d), then s = B^T d down them for
 * every column at once (s's rows s_row floats apart). Inlined into each ISA's transform, so
 * that it vectorises there. */
static inline __attribute__((always_inline)) void patch_rows(const wino_plan *p,
                                                             const float *restrict x,
                                                             int64_t r0, int64_t wp,
                                                             float (*restrict d)[MAX_ROW],
                                                             float *restrict s, int64_t s_row) {
  int64_t ih_n = p->w.in[0], iw_n = p->w.in[1], pl = p->w.pad_begin[1];
  for (int a = 0; a < PATCH; a++) {
    int64_t r = r0 + a;
    float *dr = d[a];
    if (r < 0 || r >= ih_n) {
      for (int64_t q = 0; q < wp; q++) dr[q] = 0.0f;
      continue;
    }
    const float *xr = x + r * iw_n;
    int64_t lo = pl < wp ? pl : wp, hi = pl + iw_n < wp ? pl + iw_n : wp;
    for (int64_t q = 0; q < lo; q++) dr[q] = 0.0f;
    for (int64_t q = lo; q < hi; q++) dr[q] = xr[q - pl];
    for (int64_t q = hi > lo ? hi : lo; q < wp; q++) dr[q] = 0.0f;
  }
  for (int64_t q = 0; q < wp; q++) {
    float d0 = d[0][q], d1 = d[1][q], d2 = d[2][q], d3 = d[3][q], d4 = d[4][q];
    float d5 = d[5][q];
    s[q] = 4 * d0 - 5 * d2 + d4;
    s[s_row + q] = -4 * d1 - 4 * d2 + d3 + d4;
    s[2 * s_row + q] = 4 * d1 - 4 * d2 - d3 + d4;
    s[3 * s_row + q] = -2 * d1 - d2 + 2 * d3 + d4;
    s[4 * s_row + q] = 2 * d1 - d2 - 2 * d3 + d4;
    s[5 * s_row + q] = 4 * d1 - 5 * d3 + d5;
  }
}

/* V[k][c][t] = (B^T d B)[k] for the block's tiles, one input channel per index: per tile
 * row, s = B^T d down the six input rows for every column at once, then s B across each
 * tile's six columns for all the row's tiles at once (stride-4 reads of s). */
#define LENS_DEFINE_INPUT_TRANSFORM(NAME, ATTR)                                               \
  ATTR static void NAME(void *arg, size_t begin, size_t end) {                                \
    const wino_job *j = arg;                                                                  \
    const wino_plan *p = j->p;                                                                \
    int64_t kstride = j->vks, wp = p->tw * TILE + 2;                                          \
    float d[PATCH][MAX_ROW], s[PATCH][MAX_ROW];                                               \
    for (size_t c = begin; c < end; c++) {                                                    \
      const float *x = j->x + (int64_t)c * p->w.in[0] * p->w.in[1];                           \
      float *v = j->v + (int64_t)c * j->ld;                                                   \
      int64_t t = 0;                                                                          \
      while (t < j->nt) {                                                                     \
        int64_t tile = j->t0 + t, row = tile / p->tw, col0 = tile % p->tw;                    \
        int64_t count = p->tw - col0 < j->nt - t ? p->tw - col0 : j->nt - t;                  \
        patch_rows(p, x, row * TILE - p->w.pad_begin[0], wp, d, s[0], MAX_ROW);               \
        for (int a = 0; a < PATCH; a++) {                                                     \
          const float *sa = s[a] + col0 * TILE;                                               \
          float *o = v + t + (int64_t)(a * PATCH) * kstride;                                  \
          for (int64_t u = 0; u < count; u++) {                                               \
            float e0 = sa[4 * u], e1 = sa[4 * u + 1], e2 = sa[4 * u + 2];                     \
            float e3 = sa[4 * u + 3], e4 = sa[4 * u + 4], e5 = sa[4 * u + 5];                 \
            o[u] = 4 * e0 - 5 * e2 + e4;                                                      \
            o[kstride + u] = -4 * e1 - 4 * e2 + e3 + e4;                                      \
            o[2 * kstride + u] = 4 * e1 - 4 * e2 - e3 + e4;                                   \
            o[3 * kstride + u] = -2 * e1 - e2 + 2 * e3 + e4;                                  \
            o[4 * kstride + u] = 2 * e1 - e2 - 2 * e3 + e4;                                   \
            o[5 * kstride + u] = 4 * e1 - 5 * e3 + e5;                                        \
          }                                                                                   \
        }                                                                                     \
        t += count;                                                                           \
      }                                                                                       \
    }                                                                                         \
  }

/* Y = A^T X A + bias for the block's tiles, one output channel per index: per tile row,
 * A^T X down the six k-rows for all the row's tiles at once (contiguous in t), then across.
 * The rows of the next channel's plane are asked for (to write) while this one is done: the
 * transform writes four rows at a time, a pattern the hardware does not prefetch, and an
 * output plane is usually not in this core's cache (last written by the other core or not
 * at all this run). SqueezeNet's 27x27 32 -> 128, two threads, in the model: the output
 * transform took 70-220 us without, 60-75 with. */
#define LENS_DEFINE_OUTPUT_TRANSFORM(NAME, ATTR)                                              \
  ATTR static void NAME(void *arg, size_t begin, size_t end) {                                \
    const wino_job *j = arg;                                                                  \
    const wino_plan *p = j->p;                                                                \
    int64_t kstride = j->xks, plane = p->oh * p->ow;                                          \
    int64_t pf_begin = j->t0 / p->tw * TILE * p->ow;                                          \
    int64_t pf_end = ((j->t0 + j->nt - 1) / p->tw + 1) * TILE * p->ow;                        \
    if (pf_end > plane) pf_end = plane;                                                       \
    float s[TILE][PATCH][MAX_ROW / TILE];                                                     \
    for (size_t m = begin; m < end; m++) {                                                    \
      const float *xm = j->xk + (int64_t)m * j->ld;                                           \
      float *y = j->y + (int64_t)m * plane;                                                   \
      if (m + 1 < end) lens_prefetch_for_write(y + plane + pf_begin, pf_end - pf_begin);           \
      float bias = j->bias ? j->bias[m] : 0.0f;                                               \
      int64_t t = 0;                                                                          \
      while (t < j->nt) {                                                                     \
        int64_t tile = j->t0 + t, row = tile / p->tw, col0 = tile % p->tw;                    \
        int64_t count = p->tw - col0 < j->nt - t ? p->tw - col0 : j->nt - t;                  \
        for (int b = 0; b < PATCH; b++) {                                                     \
          const float *q = xm + t + (int64_t)b * kstride;                                     \
          const float *q0 = q, *q1 = q + PATCH * kstride, *q2 = q + 2 * PATCH * kstride;      \
          const float *q3 = q + 3 * PATCH * kstride, *q4 = q + 4 * PATCH * kstride;           \
          const float *q5 = q + 5 * PATCH * kstride;                                          \
          for (int64_t u = 0; u < count; u++) {                                               \
            float x0 = q0[u], x1 = q1[u], x2 = q2[u], x3 = q3[u], x4 = q4[u], x5 = q5[u];     \
            s[0][b][u] = x0 + x1 + x2 + x3 + x4;                                              \
            s[1][b][u] = x1 - x2 + 2 * x3 - 2 * x4;                                           \
            s[2][b][u] = x1 + x2 + 4 * x3 + 4 * x4;                                           \
            s[3][b][u] = x1 - x2 + 8 * x3 - 8 * x4 + x5;                                      \
          }                                                                                   \
        }                                                                                     \
        int64_t r0 = row * TILE;                                                              \
        for (int a = 0; a < TILE && r0 + a < p->oh; a++) {                                    \
          float *yr = y + (r0 + a) * p->ow + col0 * TILE;                                     \
          int64_t cols = p->ow - col0 * TILE;                                                 \
          for (int64_t u = 0; u < count; u++) {                                               \
            float e0 = s[a][0][u], e1 = s[a][1][u], e2 = s[a][2][u], e3 = s[a][3][u];         \
            float e4 = s[a][4][u], e5 = s[a][5][u];                                           \
            float o[TILE] = {e0 + e1 + e2 + e3 + e4, e1 - e2 + 2 * e3 - 2 * e4,               \
                             e1 + e2 + 4 * e3 + 4 * e4, e1 - e2 + 8 * e3 - 8 * e4 + e5};      \
            for (int b = 0; b < TILE && u * TILE + b < cols; b++)                             \
              yr[u * TILE + b] = o[b] + bias;                                                 \
          }                                                                                   \
          if (j->ep) {                                                                        \
            int64_t len = count * TILE < cols ? count * TILE : cols;                          \
            int64_t off = (int64_t)m * p->oh * p->ow + (r0 + a) * p->ow + col0 * TILE;        \
            j->epi(j->ep, 0.0f, yr, j->residual ? j->residual + off : NULL, (size_t)len);     \
          }                                                                                   \
        }                                                                                     \
        t += count;                                                                           \
      }                                                                                       \
    }                                                                                         \
  }

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_INPUT_TRANSFORM(input_transform_avx2, __attribute__((target("avx2,fma"))))
#endif
LENS_DEFINE_INPUT_TRANSFORM(input_transform_baseline, )
LENS_DEFINE_OUTPUT_TRANSFORM(output_transform_baseline, )

#if defined(__x86_64__) || defined(__i386__)
/* LENS_DEFINE_OUTPUT_TRANSFORM for AVX-512, both stages on 16 tiles at a time. The second
 * (across each tile's six columns) gives four vectors, one per output column of the tiles,
 * interleaved into the row's 64 floats by shuffles; bias, residual and Relu or Clip are
 * applied there too. The compiler had left both stages scalar (the stride-4 stores, and the
 * first stage's ten streams), and the transform was 45% of a 16 -> 64 channel layer on
 * 55x55; the separate epilogue pass another 8%. */
__attribute__((target("avx512f"))) static void output_transform_avx512(void *arg, size_t begin,
                                                                      size_t end) {
  const wino_job *j = arg;
  const wino_plan *p = j->p;
  int64_t kstride = j->xks, plane = p->oh * p->ow;
  int64_t pf_begin = j->t0 / p->tw * TILE * p->ow;
  int64_t pf_end = ((j->t0 + j->nt - 1) / p->tw + 1) * TILE * p->ow;
  if (pf_end > plane) pf_end = plane;
  /* a whole vector past the last tile of a row: the first stage stores whole vectors */
  float s[TILE][PATCH][MAX_ROW / TILE + 16] __attribute__((aligned(64)));
  lens_activation_kind act = j->ep ? j->ep->act : LENS_ACT_NONE;
  bool inline_epi = act == LENS_ACT_NONE || act == LENS_ACT_RELU || act == LENS_ACT_CLIP;
  const __m512 lo = _mm512_set1_ps(act == LENS_ACT_CLIP ? j->ep->alpha : 0.0f);
  const __m512 hi = _mm512_set1_ps(act == LENS_ACT_CLIP ? j->ep->beta : 0.0f);
  const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f);
  const __m512 eight = _mm512_set1_ps(8.0f);
  for (size_t m = begin; m < end; m++) {
    const float *xm = j->xk + (int64_t)m * j->ld;
    float *y = j->y + (int64_t)m * plane;
    const float *res = j->residual ? j->residual + (int64_t)m * plane : NULL;
    if (m + 1 < end) lens_prefetch_for_write(y + plane + pf_begin, pf_end - pf_begin);
    __m512 bias = _mm512_set1_ps(j->bias ? j->bias[m] : 0.0f);
    int64_t t = 0;
    while (t < j->nt) {
      int64_t tile = j->t0 + t, row = tile / p->tw, col0 = tile % p->tw;
      int64_t count = p->tw - col0 < j->nt - t ? p->tw - col0 : j->nt - t;
      for (int b = 0; b < PATCH; b++) {
        const float *q = xm + t + (int64_t)b * kstride;
        const float *q0 = q, *q1 = q + PATCH * kstride, *q2 = q + 2 * PATCH * kstride;
        const float *q3 = q + 3 * PATCH * kstride, *q4 = q + 4 * PATCH * kstride;
        const float *q5 = q + 5 * PATCH * kstride;
        for (int64_t u = 0; u < count; u += 16) {
          __mmask16 lanes = lens_row_mask16(0, count - u);
          __m512 x0 = _mm512_maskz_loadu_ps(lanes, q0 + u), x1 = _mm512_maskz_loadu_ps(lanes, q1 + u);
          __m512 x2 = _mm512_maskz_loadu_ps(lanes, q2 + u), x3 = _mm512_maskz_loadu_ps(lanes, q3 + u);
          __m512 x4 = _mm512_maskz_loadu_ps(lanes, q4 + u), x5 = _mm512_maskz_loadu_ps(lanes, q5 + u);
          __m512 d12 = _mm512_sub_ps(x1, x2), s12 = _mm512_add_ps(x1, x2);
          __m512 d34 = _mm512_sub_ps(x3, x4), s34 = _mm512_add_ps(x3, x4);
          _mm512_store_ps(&s[0][b][u], _mm512_add_ps(_mm512_add_ps(x0, s12), s34));
          _mm512_store_ps(&s[1][b][u], _mm512_fmadd_ps(two, d34, d12));
          _mm512_store_ps(&s[2][b][u], _mm512_fmadd_ps(four, s34, s12));
          _mm512_store_ps(&s[3][b][u], _mm512_add_ps(_mm512_fmadd_ps(eight, d34, d12), x5));
        }
      }
      int64_t r0 = row * TILE, cols = p->ow - col0 * TILE;
      int64_t len = count * TILE < cols ? count * TILE : cols;
      for (int a = 0; a < TILE && r0 + a < p->oh; a++) {
        int64_t row_off = (r0 + a) * p->ow + col0 * TILE;
        float *yr = y + row_off;
        const float *rr = res && inline_epi ? res + row_off : NULL;
        for (int64_t u = 0; u < count; u += 16) {
          __m512 e0 = _mm512_load_ps(&s[a][0][u]), e1 = _mm512_load_ps(&s[a][1][u]);
          __m512 e2 = _mm512_load_ps(&s[a][2][u]), e3 = _mm512_load_ps(&s[a][3][u]);
          __m512 e4 = _mm512_load_ps(&s[a][4][u]), e5 = _mm512_load_ps(&s[a][5][u]);
          __m512 d12 = _mm512_sub_ps(e1, e2), s12 = _mm512_add_ps(e1, e2);
          __m512 d34 = _mm512_sub_ps(e3, e4), s34 = _mm512_add_ps(e3, e4);
          __m512 o0 = _mm512_add_ps(_mm512_add_ps(e0, s12), s34);
          __m512 o1 = _mm512_fmadd_ps(two, d34, d12);
          __m512 o2 = _mm512_fmadd_ps(four, s34, s12);
          __m512 o3 = _mm512_add_ps(_mm512_fmadd_ps(eight, d34, d12), e5);
          o0 = _mm512_add_ps(o0, bias), o1 = _mm512_add_ps(o1, bias);
          o2 = _mm512_add_ps(o2, bias), o3 = _mm512_add_ps(o3, bias);
          /* tile i's four outputs to floats 4i .. 4i + 3: within 128-bit lanes, then the
           * lanes */
          __m512 t0 = _mm512_unpacklo_ps(o0, o1), t1 = _mm512_unpackhi_ps(o0, o1);
          __m512 t2 = _mm512_unpacklo_ps(o2, o3), t3 = _mm512_unpackhi_ps(o2, o3);
          __m512 ta = _mm512_shuffle_ps(t0, t2, 0x44), tb = _mm512_shuffle_ps(t0, t2, 0xee);
          __m512 tc = _mm512_shuffle_ps(t1, t3, 0x44), td = _mm512_shuffle_ps(t1, t3, 0xee);
          __m512 ab_lo = _mm512_shuffle_f32x4(ta, tb, 0x44), ab_hi = _mm512_shuffle_f32x4(ta, tb, 0xee);
          __m512 cd_lo = _mm512_shuffle_f32x4(tc, td, 0x44), cd_hi = _mm512_shuffle_f32x4(tc, td, 0xee);
          __m512 v[4] = {_mm512_shuffle_f32x4(ab_lo, cd_lo, 0x88),
                         _mm512_shuffle_f32x4(ab_lo, cd_lo, 0xdd),
                         _mm512_shuffle_f32x4(ab_hi, cd_hi, 0x88),
                         _mm512_shuffle_f32x4(ab_hi, cd_hi, 0xdd)};
          int64_t left = len - 4 * u;
          for (int k = 0; k < 4; k++) {
            __mmask16 out = lens_row_mask16(0, left - 16 * k);
            if (rr) v[k] = _mm512_add_ps(v[k], _mm512_maskz_loadu_ps(out, rr + 4 * u + 16 * k));
            /* as the epilogue's v > 0 ? v : 0 and v < lo ? lo : v > hi ? hi : v, NaN and
             * signed zeros included (max and min return their second operand then) */
            if (act == LENS_ACT_RELU) v[k] = _mm512_max_ps(v[k], _mm512_setzero_ps());
            if (act == LENS_ACT_CLIP) v[k] = _mm512_min_ps(hi, _mm512_max_ps(lo, v[k]));
            _mm512_mask_storeu_ps(yr + 4 * u + 16 * k, out, v[k]);
          }
        }
        if (j->ep && !inline_epi)
          j->epi(j->ep, 0.0f, yr, res ? res + row_off : NULL, (size_t)len);
      }
      t += count;
    }
  }
}
LENS_DEFINE_OUTPUT_TRANSFORM(output_transform_avx2, __attribute__((target("avx2,fma"))))

/* LENS_DEFINE_INPUT_TRANSFORM for AVX-512 with the second stage (across each tile's six
 * columns, stride-4 reads of s that the compiler left scalar) on 16 tiles at a time: columns
 * 0-3 of the tiles by a 4-way deinterleave of 64 floats, 4 and 5 as 0 and 1 of the next
 * tile, one lane along. */
__attribute__((target("avx512f"))) static void input_transform_avx512(void *arg, size_t begin,
                                                                     size_t end) {
  const wino_job *j = arg;
  const wino_plan *p = j->p;
  int64_t kstride = j->vks, wp = p->tw * TILE + 2;
  /* 16 tiles read 64 floats and the next vector: s is read up to 80 floats past a row's
   * last tile, zeros there */
  float d[PATCH][MAX_ROW], s[PATCH][MAX_ROW + 80] __attribute__((aligned(64)));
  for (int a = 0; a < PATCH; a++)
    for (int64_t q = wp; q < wp + 80; q++) s[a][q] = 0.0f;
  const __m512i lo01 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
  const __m512i lo23 = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
  const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f);
  const __m512 five = _mm512_set1_ps(5.0f);
  for (size_t c = begin; c < end; c++) {
    const float *x = j->x + (int64_t)c * p->w.in[0] * p->w.in[1];
    float *v = j->v + (int64_t)c * j->ld;
    int64_t t = 0;
    while (t < j->nt) {
      int64_t tile = j->t0 + t, row = tile / p->tw, col0 = tile % p->tw;
      int64_t count = p->tw - col0 < j->nt - t ? p->tw - col0 : j->nt - t;
      patch_rows(p, x, row * TILE - p->w.pad_begin[0], wp, d, s[0], MAX_ROW + 80);
      for (int a = 0; a < PATCH; a++) {
        float *o = v + t + (int64_t)(a * PATCH) * kstride;
        for (int64_t u = 0; u < count; u += 16) {
          const float *sa = s[a] + (col0 + u) * TILE;
          __m512 a0 = _mm512_loadu_ps(sa), a1 = _mm512_loadu_ps(sa + 16);
          __m512 a2 = _mm512_loadu_ps(sa + 32), a3 = _mm512_loadu_ps(sa + 48);
          __m512 a4 = _mm512_loadu_ps(sa + 64);
          __m512 l01 = _mm512_permutex2var_ps(a0, lo01, a1), h01 = _mm512_permutex2var_ps(a2, lo01, a3);
          __m512 l23 = _mm512_permutex2var_ps(a0, lo23, a1), h23 = _mm512_permutex2var_ps(a2, lo23, a3);
          __m512 e0 = _mm512_shuffle_f32x4(l01, h01, 0x44), e1 = _mm512_shuffle_f32x4(l01, h01, 0xee);
          __m512 e2 = _mm512_shuffle_f32x4(l23, h23, 0x44), e3 = _mm512_shuffle_f32x4(l23, h23, 0xee);
          __m512 e4 = (__m512)_mm512_alignr_epi32((__m512i)a4, (__m512i)e0, 1);
          __m512 a4_1 = (__m512)_mm512_alignr_epi32((__m512i)a4, (__m512i)a4, 1);
          __m512 e5 = (__m512)_mm512_alignr_epi32((__m512i)a4_1, (__m512i)e1, 1);
          __mmask16 lanes = lens_row_mask16(0, count - u);
          /* B^T across: as the scalar form's rows, in fused steps */
          __m512 e4_e2 = _mm512_sub_ps(e4, e2);
          _mm512_mask_storeu_ps(o + u, lanes, _mm512_fmadd_ps(four, e0, _mm512_fnmadd_ps(five, e2, e4)));
          _mm512_mask_storeu_ps(o + kstride + u, lanes,
                                _mm512_fnmadd_ps(four, _mm512_add_ps(e1, e2), _mm512_add_ps(e3, e4)));
          _mm512_mask_storeu_ps(o + 2 * kstride + u, lanes,
                                _mm512_fmadd_ps(four, _mm512_sub_ps(e1, e2), _mm512_sub_ps(e4, e3)));
          _mm512_mask_storeu_ps(o + 3 * kstride + u, lanes,
                                _mm512_fmadd_ps(two, _mm512_sub_ps(e3, e1), e4_e2));
          _mm512_mask_storeu_ps(o + 4 * kstride + u, lanes,
                                _mm512_fmadd_ps(two, _mm512_sub_ps(e1, e3), e4_e2));
          _mm512_mask_storeu_ps(o + 5 * kstride + u, lanes,
                                _mm512_fmadd_ps(four, e1, _mm512_fnmadd_ps(five, e3, e5)));
        }
      }
      t += count;
    }
  }
}
#endif

/* Small planes: X_k (ld x SP_NB, tiles by channels) = V_k^T (ld x C) U_k (C x SP_NB) for one
 * block of output channels: TB tiles by NV vectors of channels held in registers, each step
 * over C one broadcast per tile and NV loads of U. ld is a multiple of TB. */
#define LENS_DEFINE_SMALL_PRODUCT(NAME, ATTR, VL, NV, TB)                                     \
  typedef float NAME##_vec __attribute__((vector_size(VL * sizeof(float))));                  \
  ATTR static void NAME(int64_t c_n, int64_t ld, const float *restrict v,                     \
                        const float *restrict u, float *restrict x, bool accumulate) {        \
    for (int64_t j0 = 0; j0 < SP_NB; j0 += VL * NV)                                           \
      for (int64_t t0 = 0; t0 < ld; t0 += TB) {                                               \
        NAME##_vec acc[TB][NV];                                                               \
        for (int i = 0; i < TB; i++)                                                          \
          for (int q = 0; q < NV; q++) {                                                      \
            acc[i][q] = (NAME##_vec){0};                                                      \
            if (accumulate)                                                                   \
              memcpy(&acc[i][q], x + (t0 + i) * SP_NB + j0 + q * VL, sizeof acc[i][q]);       \
          }                                                                                   \
        const float *vp = v + t0, *up = u + j0;                                               \
        for (int64_t c = 0; c < c_n; c++, vp += ld, up += SP_NB) {                            \
          NAME##_vec b[NV];                                                                   \
          for (int q = 0; q < NV; q++) memcpy(&b[q], up + q * VL, sizeof b[q]);               \
          for (int i = 0; i < TB; i++) {                                                      \
            float a = vp[i];                                                                  \
            for (int q = 0; q < NV; q++) acc[i][q] += a * b[q];                               \
          }                                                                                   \
        }                                                                                     \
        for (int i = 0; i < TB; i++)                                                          \
          for (int q = 0; q < NV; q++)                                                        \
            memcpy(x + (t0 + i) * SP_NB + j0 + q * VL, &acc[i][q], sizeof acc[i][q]);         \
      }                                                                                       \
  }

/* Small planes: U = G g G^T for cn input channels of one block of output channels, g laid
 * out [c][9][SP_NB] (as prepared), U as [k][c][SP_NB], the channels of the block vectorised. */
#define LENS_DEFINE_SMALL_WEIGHTS(NAME, ATTR, VL)                                             \
  typedef float NAME##_vec __attribute__((vector_size(VL * sizeof(float))));                  \
  ATTR static void NAME(const float *restrict g, int64_t cn, float *restrict u, int i0,      \
                        int i1) {                                                             \
    int64_t ks = SP_KS;                                                                       \
    for (int64_t c = 0; c < cn; c++)                                                          \
      for (int l = 0; l < SP_NB; l += VL) {                                                   \
        const float *gc = g + c * 9 * SP_NB + l;                                              \
        NAME##_vec t[PATCH][3];                                                               \
        for (int j = 0; j < 3; j++) {                                                         \
          NAME##_vec g0, g1, g2;                                                              \
          memcpy(&g0, gc + j * SP_NB, sizeof g0);                                             \
          memcpy(&g1, gc + (3 + j) * SP_NB, sizeof g1);                                       \
          memcpy(&g2, gc + (6 + j) * SP_NB, sizeof g2);                                       \
          t[0][j] = g0 * (1.0f / 4);                                                          \
          t[1][j] = (g0 + g1 + g2) * (-1.0f / 6);                                             \
          t[2][j] = (g0 - g1 + g2) * (-1.0f / 6);                                             \
          t[3][j] = g0 * (1.0f / 24) + g1 * (1.0f / 12) + g2 * (1.0f / 6);                    \
          t[4][j] = g0 * (1.0f / 24) - g1 * (1.0f / 12) + g2 * (1.0f / 6);                    \
          t[5][j] = g2;                                                                       \
        }                                                                                     \
        /* every i spelled out, so that t is indexed by constants and stays in registers */  \
        _Pragma("GCC unroll 6") for (int i = 0; i < PATCH; i++) {                             \
          if (i < i0 || i >= i1) continue;                                                    \
          float *ui = u + c * SP_NB + l + i * PATCH * ks;                                     \
          NAME##_vec a0 = t[i][0], a1 = t[i][1], a2 = t[i][2];                                \
          NAME##_vec o[PATCH] = {a0 * (1.0f / 4), (a0 + a1 + a2) * (-1.0f / 6),               \
                                 (a0 - a1 + a2) * (-1.0f / 6),                                \
                                 a0 * (1.0f / 24) + a1 * (1.0f / 12) + a2 * (1.0f / 6),       \
                                 a0 * (1.0f / 24) - a1 * (1.0f / 12) + a2 * (1.0f / 6), a2};  \
          for (int q = 0; q < PATCH; q++) memcpy(ui + q * ks, &o[q], sizeof o[q]);            \
        }                                                                                     \
      }                                                                                       \
  }

/* Where the small-plane output transform writes one block of output channels: channel
 * mb * SP_NB + l's output row r at at + l * plane + (r - row0) * ow (the output itself,
 * or a staging buffer that holds the rows [row0, ...) of the block's channels).
 * With two or more threads the transform writes to the staging buffer and each channel's
 * rows are then copied out whole. Written in place, one tile's outputs touch 4 rows of 64
 * channels at once, four floats of each line, and the output's lines come from memory
 * (the layers since the last run evicted them); when both cores are busy the caches are
 * contended and those scattered first touches cost more than the copy, whose sequential
 * stores the hardware prefetches. Two threads, alternating processes: SqueezeNet1_1's
 * expand3x3 layers 1-9% faster (32 -> 128 channels on 27x27 0.179 -> 0.155 ms), resnet50's
 * Winograd layers 2-4%. One thread measured 2-3% slower with it on 13x13 and writes in
 * place. */
typedef struct small_dst {
  float *at;
  int64_t plane, row0;
} small_dst;

/* Small planes: Y = A^T X A + bias for every tile of one block of output channels, 16
 * channels at a time (X holds them side by side), then scattered to the channels' planes
 * in d. */
#define LENS_DEFINE_SMALL_OUTPUT(NAME, ATTR)                                                  \
  ATTR static void NAME(const wino_plan *p, const float *xb, int64_t xks, int64_t t_begin,    \
                        int64_t t_end, int64_t mb, const float *bias, const small_dst *d,     \
                        int64_t l_begin, int64_t l_end) {                                     \
    for (int64_t t = t_begin; t < t_end; t++) {                                               \
      int64_t r0 = t / p->tw * TILE, c0 = t % p->tw * TILE;                                   \
      for (int64_t l0 = l_begin; l0 < l_end; l0 += 16) {                                      \
        int64_t m0 = mb * SP_NB + l0;                                                         \
        if (m0 >= p->m) break;                                                                \
        float s[TILE][PATCH][16], o[TILE][TILE][16];                                          \
        for (int b = 0; b < PATCH; b++) {                                                     \
          const float *q = xb + ((t - t_begin) * SP_NB + l0) + (int64_t)b * xks;              \
          int64_t ks = PATCH * xks;                                                           \
          for (int l = 0; l < 16; l++) {                                                      \
            float x0 = q[l], x1 = q[ks + l], x2 = q[2 * ks + l], x3 = q[3 * ks + l];          \
            float x4 = q[4 * ks + l], x5 = q[5 * ks + l];                                     \
            s[0][b][l] = x0 + x1 + x2 + x3 + x4;                                              \
            s[1][b][l] = x1 - x2 + 2 * x3 - 2 * x4;                                           \
            s[2][b][l] = x1 + x2 + 4 * x3 + 4 * x4;                                           \
            s[3][b][l] = x1 - x2 + 8 * x3 - 8 * x4 + x5;                                      \
          }                                                                                   \
        }                                                                                     \
        for (int a = 0; a < TILE; a++)                                                        \
          for (int l = 0; l < 16; l++) {                                                      \
            float e0 = s[a][0][l], e1 = s[a][1][l], e2 = s[a][2][l], e3 = s[a][3][l];         \
            float e4 = s[a][4][l], e5 = s[a][5][l];                                           \
            o[a][0][l] = e0 + e1 + e2 + e3 + e4;                                              \
            o[a][1][l] = e1 - e2 + 2 * e3 - 2 * e4;                                           \
            o[a][2][l] = e1 + e2 + 4 * e3 + 4 * e4;                                           \
            o[a][3][l] = e1 - e2 + 8 * e3 - 8 * e4 + e5;                                      \
          }                                                                                   \
        int64_t rows = p->oh - r0 < TILE ? p->oh - r0 : TILE;                                 \
        int64_t cols = p->ow - c0 < TILE ? p->ow - c0 : TILE;                                 \
        for (int l = 0; l < 16 && m0 + l < p->m; l++) {                                       \
          float bv = bias ? bias[m0 + l] : 0.0f;                                              \
          float *ym = d->at + (l0 + l) * d->plane + (r0 - d->row0) * p->ow + c0;              \
          for (int64_t a = 0; a < rows; a++)                                                  \
            for (int64_t b = 0; b < cols; b++) ym[a * p->ow + b] = o[a][b][l] + bv;           \
        }                                                                                     \
      }                                                                                       \
    }                                                                                         \
  }

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_SMALL_PRODUCT(small_product_avx512, __attribute__((target("avx512f"))), 16, 4, 4)
LENS_DEFINE_SMALL_PRODUCT(small_product_avx2, __attribute__((target("avx2,fma"))), 8, 4, 2)
LENS_DEFINE_SMALL_OUTPUT(small_output_avx512, __attribute__((target("avx512f"))))
LENS_DEFINE_SMALL_OUTPUT(small_output_avx2, __attribute__((target("avx2,fma"))))
LENS_DEFINE_SMALL_WEIGHTS(small_weights_avx512, __attribute__((target("avx512f"))), 16)
LENS_DEFINE_SMALL_WEIGHTS(small_weights_avx2, __attribute__((target("avx2,fma"))), 8)
#endif
LENS_DEFINE_SMALL_WEIGHTS(small_weights_baseline, , 4)
LENS_DEFINE_SMALL_PRODUCT(small_product_baseline, , 4, 4, 2)
LENS_DEFINE_SMALL_OUTPUT(small_output_baseline, )

typedef struct small_region {
  const wino_job *job;
  const float *packed;
  float *u; /* SP_CC input channels of transformed weights per block of output channels */
  void (*product)(int64_t, int64_t, const float *, const float *, float *, bool);
  void (*output)(const wino_plan *, const float *, int64_t, int64_t, int64_t, int64_t,
                 const float *, const small_dst *, int64_t, int64_t);
  void (*weights)(const float *, int64_t, float *, int, int);
  void (*in_fn)(void *, size_t, size_t);
  int row_groups; /* tasks per block: each makes the products of PATCH / row_groups rows */
  int parts;      /* bands of tile rows, one per thread (0: split by output channels) */
  float *stage;   /* split by channels with threads: the blocks' staged output (or NULL) */
  float *own_v; /* split by channels: the V of threads 1 on, v_bytes apart (or NULL) */
  /* bands: copies staged rows out by streaming stores (SMALL_STREAM_MIN_BYTES), or NULL */
  void (*stream)(float *restrict, const float *restrict, int64_t);
  lens_split split; /* of the tile rows among the bands (lens_exec_split) */
} small_region;

/* The epilogue of channels [m_begin, m_end) (clipped to the layer's), output rows
 * [y_begin, y_end). */
static void small_epilogue(const wino_job *j, int64_t m_begin, int64_t m_end, int64_t y_begin,
                           int64_t y_end) {
  const wino_plan *p = j->p;
  int64_t ohw = p->oh * p->ow, at = y_begin * p->ow;
  for (int64_t m = m_begin; m < p->m && m < m_end; m++)
    j->epi(j->ep, 0.0f, j->y + m * ohw + at, j->residual ? j->residual + m * ohw + at : NULL,
           (size_t)((y_end - y_begin) * p->ow));
}

/* Output channel m's rows from y0 on, n floats staged at staged: the epilogue applied there,
 * while they are still in the cache, then copied to the output (by stream, if not NULL). */
static void small_finish_staged(const wino_job *j, int64_t m, int64_t y0, int64_t n,
                                float *staged,
                                void (*stream)(float *restrict, const float *restrict,
                                               int64_t)) {
  int64_t at = m * j->p->oh * j->p->ow + y0 * j->p->ow;
  if (j->ep) j->epi(j->ep, 0.0f, staged, j->residual ? j->residual + at : NULL, (size_t)n);
  if (stream) stream(j->y + at, staged, n);
  else memcpy(j->y + at, staged, (size_t)n * sizeof(float));
}

/* Zeroes the rows of V's padding tiles [nt, ld) of every channel and position: never read
 * into an output, but kept finite. */
static void small_zero_padding(const wino_plan *p, float *v, int64_t vks, int64_t nt,
                               int64_t ld) {
  if (ld > nt)
    for (int k = 0; k < NK; k++)
      for (int64_t c = 0; c < p->c; c++)
        memset(v + k * vks + c * ld + nt, 0, (size_t)(ld - nt) * sizeof(float));
}

/* The products of block mb for the positions in rows [i0, i1) of the 6x6 patch: per chunk
 * of SP_CC input channels their weight transform into u, then X_k += V_k^T U_k for V's ld
 * tiles (vks floats from V_k to V_k+1, xks from X_k to X_k+1). In a model the 3x3 weights
 * come from memory (the layers between two runs evict them), and the weight transform alone
 * reads them too fast for the hardware's prefetch to keep up, so the next chunk's (up to
 * the next block's first) are asked for a slice at a time during this chunk's products:
 * SqueezeNet1_1 2% faster at one thread, resnet50 1% at two (runs alternating one by one). */
static void small_products(const small_region *r, int64_t mb, const float *v, int64_t vks,
                           int64_t ld, float *u, float *x, int64_t xks, int i0, int i1) {
  const wino_plan *p = r->job->p;
  const float *gb = r->packed + mb * p->c * 9 * SP_NB;
  const float *g_end = gb + (mb + 1 < p->nmb ? 2 : 1) * p->c * 9 * SP_NB;
  for (int64_t c0 = 0; c0 < p->c; c0 += SP_CC) {
    int64_t cn = p->c - c0 < SP_CC ? p->c - c0 : SP_CC;
    const float *gc = gb + c0 * 9 * SP_NB;
    r->weights(gc, cn, u, i0, i1);
    const float *ahead = gc + cn * 9 * SP_NB;
    int64_t ahead_n = g_end - ahead < SP_CC * 9 * SP_NB ? g_end - ahead : SP_CC * 9 * SP_NB;
    int k0 = i0 * PATCH, kn = (i1 - i0) * PATCH;
    for (int k = k0; k < k0 + kn; k++) {
      r->product(cn, ld, v + (int64_t)k * vks + c0 * ld, u + (int64_t)k * SP_KS,
                 x + (int64_t)k * xks, c0 > 0);
      lens_prefetch_share(ahead, ahead_n, k - k0, kn);
    }
  }
}

/* The output transform and the epilogue of channels [l_begin, l_end) of block mb. */
static void small_block_output(const small_region *r, int64_t mb, int64_t l_begin,
                               int64_t l_end) {
  const wino_job *j = r->job;
  const wino_plan *p = j->p;
  int64_t ohw = p->oh * p->ow;
  small_dst d = {(r->stage ? r->stage : j->y) + mb * SP_NB * ohw, ohw, 0};
  r->output(p, j->xk + mb * NK * p->xks, p->xks, 0, p->tiles, mb, j->bias, &d, l_begin,
            l_end);
  if (!r->stage) {
    if (j->ep) small_epilogue(j, mb * SP_NB + l_begin, mb * SP_NB + l_end, 0, p->oh);
    return;
  }
  for (int64_t l = l_begin; l < l_end && mb * SP_NB + l < p->m; l++)
    small_finish_staged(j, mb * SP_NB + l, 0, ohw, d.at + l * ohw, NULL);
}

/* Task i: block i / row_groups of SP_NB output channels, the products of its share of the
 * 36 positions (rows of the 6x6 patch, with their weight transforms); with one group, the
 * output transform and the epilogue over the block's planes too. Threads share nothing but
 * the transformed input. The block's output planes are asked for first, so that they
 * arrive during the products (the output transform writes them four floats at a time). */
static void small_blocks(void *arg, size_t begin, size_t end) {
  const small_region *r = arg;
  const wino_job *j = r->job;
  const wino_plan *p = j->p;
  int64_t ohw = p->oh * p->ow;
  for (size_t task = begin; task < end; task++) {
    int64_t mb = (int64_t)task / r->row_groups;
    int g = (int)((int64_t)task % r->row_groups);
    int i0 = PATCH * g / r->row_groups, i1 = PATCH * (g + 1) / r->row_groups;
    int64_t m_end = (mb + 1) * SP_NB < p->m ? (mb + 1) * SP_NB : p->m;
    if (r->row_groups == 1)
      lens_prefetch_for_write(j->y + mb * SP_NB * ohw, (m_end - mb * SP_NB) * ohw);
    small_products(r, mb, j->v, p->vks, p->ld, r->u + mb * NK * SP_KS,
                   j->xk + mb * NK * p->xks, p->xks, i0, i1);
    if (r->row_groups == 1) small_block_output(r, mb, 0, SP_NB);
  }
}

/* Output transform when the products were split by rows: task i is block i / OUT_PARTS,
 * its channels (i % OUT_PARTS) * 16 on. */
#define OUT_PARTS (SP_NB / 16)
static void small_outputs(void *arg, size_t begin, size_t end) {
  const small_region *r = arg;
  for (size_t task = begin; task < end; task++) {
    int64_t mb = (int64_t)task / OUT_PARTS, l0 = (int64_t)task % OUT_PARTS * 16;
    small_block_output(r, mb, l0, l0 + 16);
  }
}

/* Tasks per block for the products: whole blocks when they share out evenly among the
 * threads; otherwise the 6 rows of positions split in 2, 3 or 6 (the weight transform's
 * first stage is then repeated per task, and the output transform runs after a barrier). */
static int small_row_groups(int64_t blocks, int threads) {
  if (threads <= 1 || blocks % threads == 0) return 1;
  static const int groups[] = {2, 3, 6};
  for (int i = 0; i < 3; i++)
    if (blocks * groups[i] % threads == 0) return groups[i];
  return blocks >= 2 * threads ? 1 : PATCH;
}

/* Bands of tile rows for threads threads (as many rows in each), or 0 to split by output
 * channels. Each band transforms every weight (a sixth of the layer's work at one thread)
 * but reads nothing another thread wrote; split by channels, the threads each transform the
 * whole input (blocks that share out evenly) or share the transformed input and the
 * products' output (rows of positions). At two threads, by bands against by channels (with
 * the input shared, as it was when measured): 48 -> 192 channels on 13x13 (3 blocks)
 * 0.82-0.96x the time, 32 -> 128 0.73x, 128 -> 128 on 14x14 0.79x; with two blocks each,
 * 64 -> 256 on 13x13 1.04-1.14x, 256 -> 256 on 14x14 0.95x. */
static int small_parts(const wino_plan *p, int threads) {
  if (threads <= 1 || threads > SP_PARTS || p->th < threads) return 0;
  /* unequal bands only on the planes that have the large-plane layout to fall back on */
  if (p->th % threads != 0 && p->tiles <= SP_MAX_TILES) return 0;
  if (p->nmb % threads == 0 && p->nmb >= 2 * (int64_t)threads) return 0;
  return threads;
}

/* Bytes of a band's output from which its rows leave the staging buffer by streaming
 * (non-temporal) stores: written through the cache, each line of the output is first read
 * from memory, where the layers since the last run left it. 32 -> 128 channels on 27x27 at
 * two threads (188 KB a band): the copy and epilogue 89-106 -> 28-37 thousand TSC ticks a
 * band, the layer 0.143-0.160 -> 0.113-0.135 ms in SqueezeNet1_1, whose run took 2-3% less
 * in 8 of 8 alternations; resnet50's (28x28, 128 channels) 0.5-4%. The next layer then
 * reads the rows from memory; smaller bands (13x13's, 80 KB) are left in the cache. */
#define SMALL_STREAM_MIN_BYTES ((int64_t)128 << 10)

/* dst[0:n] = src[0:n], the whole cache lines of dst by streaming stores (the caller fences
 * them before another thread may read dst). */
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f"))) static void stream_copy_avx512(float *restrict dst,
                                                                 const float *restrict src,
                                                                 int64_t n) {
  int64_t q = 0;
  for (; q < n && ((uintptr_t)(dst + q) & 63) != 0; q++) dst[q] = src[q];
  for (; q + 16 <= n; q += 16) _mm512_stream_ps(dst + q, _mm512_loadu_ps(src + q));
  for (; q < n; q++) dst[q] = src[q];
}
#endif

/* Task i: band i of the tile rows, through every stage: the input transform of its tiles,
 * then per block of output channels the weight transform, the products of its tiles and
 * their output transform and epilogue (whole output rows). Each band has a V, X and U of
 * its own in the scratch; nothing one thread writes is read by another. The bands follow
 * the threads' shares, in whole tile rows: between equal cores they split the rows evenly
 * (27x27's 7 rows 3 + 4); with one core at 60% of the other's speed the faster takes 4 of
 * 7 (or 3 of 4), where equal bands left the slower one 4 (or 2), the layer's time going
 * from 4 / 0.6 to 4 row-times. */
static void small_bands(void *arg, size_t begin, size_t end) {
  const small_region *r = arg;
  const wino_job *j = r->job;
  const wino_plan *p = j->p;
  for (size_t part = begin; part < end; part++) {
    int64_t r0, r1;
    lens_split_range(&r->split, p->th, 1, (int)part, &r0, &r1);
    if (r0 >= r1) continue;
    int64_t t0 = r0 * p->tw, nt = (r1 - r0) * p->tw, ld = (nt + SP_TQ - 1) / SP_TQ * SP_TQ;
    int64_t vks = spread_stride(p->c * ld), xks = spread_stride(ld * SP_NB);
    float *v = (float *)((char *)j->v + p->part_bytes * part); /* j->v: the scratch */
    float *x = (float *)((char *)v + p->v_bytes);
    float *u = (float *)((char *)x + align64((size_t)(NK * p->xks) * sizeof(float)));
    float *stage = (float *)((char *)u + align64((size_t)(NK * SP_KS) * sizeof(float)));
    wino_job own = *j;
    own.t0 = t0;
    own.nt = nt;
    own.ld = ld;
    own.vks = vks;
    own.v = v;
    r->in_fn(&own, 0, (size_t)p->c);
    small_zero_padding(p, v, vks, nt, ld);
    int64_t y0 = r0 * TILE, y1 = r1 * TILE < p->oh ? r1 * TILE : p->oh;
    int64_t band = (y1 - y0) * p->ow;
    small_dst d = {stage, band, y0};
    bool stream = r->stream && p->m * band * (int64_t)sizeof(float) >= SMALL_STREAM_MIN_BYTES;
    for (int64_t mb = 0; mb < p->nmb; mb++) {
      small_products(r, mb, v, vks, ld, u, x, xks, 0, PATCH);
      r->output(p, x, xks, t0, t0 + nt, mb, j->bias, &d, 0, SP_NB);
      int64_t m_end = (mb + 1) * SP_NB < p->m ? (mb + 1) * SP_NB : p->m;
      for (int64_t m = mb * SP_NB; m < m_end; m++)
        small_finish_staged(j, m, y0, band, stage + (m - mb * SP_NB) * band,
                            stream ? r->stream : NULL);
    }
#if defined(__x86_64__) || defined(__i386__)
    if (stream) _mm_sfence();
#endif
  }
}

/* Part i of a split by output channels whose blocks share out whole: a transform of the
 * whole input into a V of its own, then its share of the blocks through every stage, in one
 * parallel region. Transformed by channels into one V that both threads then read, half of
 * each thread's V came from the other core, after a barrier; transforming all of it twice
 * costs less (about 2% of the products' work): at two threads resnet50's 256-channel 14x14
 * layers 8.5% faster (8 of 8 paired runs, the model 2.2%), SqueezeNet1_1's 64 -> 256 on 13x13
 * 3.3%. */
static void small_channel_parts(void *arg, size_t begin, size_t end) {
  const small_region *r = arg;
  const wino_plan *p = r->job->p;
  for (size_t part = begin; part < end; part++) {
    int64_t b0, b1;
    lens_split_range(&r->split, p->nmb, 1, (int)part, &b0, &b1);
    if (b0 >= b1) continue;
    wino_job own = *r->job;
    if (part > 0) own.v = (float *)((char *)r->own_v + (part - 1) * p->v_bytes);
    r->in_fn(&own, 0, (size_t)p->c);
    small_zero_padding(p, own.v, p->vks, p->tiles, p->ld);
    small_region mine = *r;
    mine.job = &own;
    small_blocks(&mine, (size_t)b0, (size_t)b1); /* one task per block: row_groups is 1 */
  }
}

/* One image on the small-plane layout. */
static void small_image(lens_exec_ctx *ctx, wino_job *job, const small_region *r) {
  const wino_plan *p = job->p;
  if (r->parts > 0) {
    small_region banded = *r;
    lens_exec_split(ctx, r->parts, &banded.split);
    lens_parallel_for(ctx, (size_t)r->parts, small_bands, &banded);
    return;
  }
  job->t0 = 0;
  job->nt = p->tiles;
  job->ld = p->ld;
  job->vks = p->vks;
  int threads = lens_exec_threads(ctx);
  if (threads > 1 && r->own_v && r->row_groups == 1) {
    small_region parts = *r;
    lens_exec_split(ctx, threads, &parts.split);
    lens_parallel_for(ctx, (size_t)threads, small_channel_parts, &parts);
    return;
  }
  if (threads > 1) lens_parallel_for(ctx, (size_t)p->c, r->in_fn, job);
  else r->in_fn(job, 0, (size_t)p->c);
  small_zero_padding(p, job->v, p->vks, p->tiles, p->ld);
  if (threads <= 1) {
    small_blocks((void *)r, 0, (size_t)p->nmb);
    return;
  }
  lens_parallel_for(ctx, (size_t)(p->nmb * r->row_groups), small_blocks, (void *)r);
  if (r->row_groups > 1)
    lens_parallel_for(ctx, (size_t)(p->nmb * OUT_PARTS), small_outputs, (void *)r);
}

typedef struct wino_region {
  const wino_job *job;
  const float *packed;
  size_t per_k;
  void (*in_fn)(void *, size_t, size_t);
  void (*out_fn)(void *, size_t, size_t);
  lens_split split; /* of the tiles or channels among the parts (lens_exec_split) */
} wino_region;

/* One thread's share of a block: its range of tiles through the input transform, the 36
 * products and the output transform (and epilogue), touching no other thread's data. */
static void wino_part(void *arg, size_t begin, size_t end) {
  const wino_region *w = arg;
  const wino_job *job = w->job;
  const wino_plan *p = job->p;
  for (size_t part = begin; part < end; part++) {
    /* tiles by the threads' shares, not in whole vectors of them: 49 (28x28) would go
     * 32 + 17 */
    int64_t a, b;
    lens_split_range(&w->split, job->nt, 1, (int)part, &a, &b);
    if (a >= b) continue;
    /* the part's tiles get their own contiguous stretch of v and xk (rows b - a long), so
     * that no cache line is written by two threads */
    wino_job jj = *job;
    jj.t0 = job->t0 + a;
    jj.nt = jj.ld = b - a;
    jj.vks = p->c * jj.ld;
    jj.xks = p->m * jj.ld;
    jj.v = job->v + NK * p->c * a;
    jj.xk = job->xk + NK * p->m * a;
    w->in_fn(&jj, 0, (size_t)p->c);
    for (int k = 0; k < NK; k++)
      lens_sgemm_prepacked_range(false, p->m, jj.ld, p->c, w->packed + (size_t)k * w->per_k,
                                 jj.v + (int64_t)k * jj.vks, jj.ld,
                                 jj.xk + (int64_t)k * jj.xks, jj.ld, 0, p->m, 0, jj.ld,
                                 NULL);
    w->out_fn(&jj, 0, (size_t)p->m);
  }
}

/* One thread's output channels of a block, rows [a, b) of every X_k (a a multiple of
 * LENS_SGEMM_MR): its share of the 36 products over all the block's tiles, then the output
 * transform and epilogue of those channels. */
static void wino_channels(void *arg, size_t begin, size_t end) {
  const wino_region *w = arg;
  const wino_job *job = w->job;
  const wino_plan *p = job->p;
  int64_t panels = (p->m + LENS_SGEMM_MR - 1) / LENS_SGEMM_MR;
  for (size_t part = begin; part < end; part++) {
    int64_t a, b;
    lens_split_range(&w->split, panels, 1, (int)part, &a, &b);
    a *= LENS_SGEMM_MR;
    b = b * LENS_SGEMM_MR < p->m ? b * LENS_SGEMM_MR : p->m;
    if (a >= b) continue;
    for (int k = 0; k < NK; k++)
      lens_sgemm_prepacked_range(false, p->m, job->ld, p->c, w->packed + (size_t)k * w->per_k,
                                 job->v + (int64_t)k * job->vks, job->ld,
                                 job->xk + (int64_t)k * job->xks, job->ld, a, b, 0,
                                 job->ld, NULL);
    w->out_fn((void *)job, (size_t)a, (size_t)b);
  }
}

/* Whether threads split a block of nt tiles by output channels (wino_channels, the
 * transformed input shared) rather than by tiles (wino_part, nothing shared). By tiles, a
 * thread's products are nt / threads columns wide: 28x28's 49 tiles leave 24 and 25, which
 * run the narrow kernels, and the parts meet inside a row of tiles, so that the threads
 * share the output lines there; by channels, each runs 48 + 1 (0.59 -> 0.43 ms for 128
 * channels on 28x28, two threads). With 64 or more tiles each, sharing the transformed input
 * costs more than that (56x56 at 64 channels: 0.56 by tiles, 0.61 by channels). */
static bool split_by_channels(const wino_plan *p, int64_t nt, int threads) {
  return (p->m + LENS_SGEMM_MR - 1) / LENS_SGEMM_MR >= 2 * (int64_t)threads &&
         nt < 64 * (int64_t)threads;
}

static lens_status *wino_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx) {
  wino_plan p;
  if (!wino_plan_of(node, in, &p))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "conv3x3_winograd_f4: unsupported");
  const float *packed = lens_exec_kernel_state(ctx);
  int threads = lens_exec_threads(ctx);
  wino_plan banded;
  if (threads > 1 && banded_plan(node, in, &p, &banded) && small_parts(&banded, threads) > 0) {
    if (packed) packed += p.packed_bytes / sizeof(float);
    p = banded;
  }
  char *scratch = lens_exec_scratch(ctx);
  size_t need = scratch_need(&p);
  if (!packed || !scratch || ctx->scratch_bytes < need)
    return lens_node_error(node, LENS_ERR_RUNTIME,
                           "conv3x3_winograd_f4: weights not prepared or scratch too small");
  const lens_epilogue *ep = lens_exec_epilogue(ctx);
  wino_job job = {.p = &p,
                  .bias = lens_node_has_input(node, in, 2) ? in[2].data : NULL,
                  .v = (float *)scratch,
                  .xk = (float *)(scratch + p.v_bytes),
                  .ep = lens_cpu_epilogue_is_empty(ep) ? NULL : ep,
                  .epi = lens_cpu_epilogue_select()};
  void *ws = scratch + p.v_bytes + p.x_bytes;
  void (*in_fn)(void *, size_t, size_t) = input_transform_baseline;
  void (*out_fn)(void *, size_t, size_t) = output_transform_baseline;
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: in_fn = input_transform_avx512, out_fn = output_transform_avx512; break;
  case LENS_CPU_ISA_AVX2: in_fn = input_transform_avx2, out_fn = output_transform_avx2; break;
  default: break;
  }
#endif
  void (*product)(int64_t, int64_t, const float *, const float *, float *, bool) =
      small_product_baseline;
  void (*weights)(const float *, int64_t, float *, int, int) = small_weights_baseline;
  void (*output)(const wino_plan *, const float *, int64_t, int64_t, int64_t, int64_t,
                 const float *, const small_dst *, int64_t, int64_t) = small_output_baseline;
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512:
    product = small_product_avx512, output = small_output_avx512;
    weights = small_weights_avx512;
    break;
  case LENS_CPU_ISA_AVX2:
    product = small_product_avx2, output = small_output_avx2, weights = small_weights_avx2;
    break;
  default: break;
  }
#endif
  small_region small = {&job,
                        packed,
                        (float *)ws,
                        product,
                        output,
                        weights,
                        in_fn,
                        small_row_groups(p.nmb, threads),
                        small_parts(&p, threads),
                        p.small && threads > 1 ? (float *)((char *)ws + p.ws_bytes) : NULL,
                        p.small && threads > 1 && threads <= SP_PARTS
                            ? (float *)((char *)ws + p.ws_bytes + p.stage_bytes)
                            : NULL,
                        NULL,
                        {0}};
#if defined(__x86_64__) || defined(__i386__)
  if (lens_cpu_isa() == LENS_CPU_ISA_AVX512) small.stream = stream_copy_avx512;
#endif
  size_t per_k = lens_sgemm_packed_a_floats(p.m, p.c);
  int64_t in_image = p.c * p.w.in[0] * p.w.in[1], out_image = p.m * p.oh * p.ow;
  wino_region region = {&job, packed, per_k, in_fn, out_fn, {0}};
  lens_exec_split(ctx, threads, &region.split);
  for (int64_t n = 0; n < in[0].dims[0]; n++) {
    job.x = (const float *)in[0].data + n * in_image;
    job.y = (float *)out[0].data + n * out_image;
    job.residual = job.ep && job.ep->residual ? job.ep->residual + n * out_image : NULL;
    if (p.small) {
      small_image(ctx, &job, &small);
      continue;
    }
    for (job.t0 = 0; job.t0 < p.tiles; job.t0 += p.tb) {
      job.nt = p.tiles - job.t0 < p.tb ? p.tiles - job.t0 : p.tb;
      job.ld = job.nt;
      job.vks = p.c * job.ld;
      job.xks = p.m * job.ld;
      if (threads > 1 && split_by_channels(&p, job.nt, threads)) {
        lens_parallel_for(ctx, (size_t)p.c, in_fn, &job);
        lens_parallel_for(ctx, (size_t)threads, wino_channels, &region);
        continue;
      }
      if (threads > 1) {
        lens_parallel_for(ctx, (size_t)threads, wino_part, &region);
        continue;
      }
      in_fn(&job, 0, (size_t)p.c);
      for (int k = 0; k < NK; k++)
        lens_sgemm_prepacked(ctx, false, p.m, job.nt, p.c, 1.0f, packed + (size_t)k * per_k,
                             job.v + (int64_t)k * job.vks, job.nt, 0.0f,
                             job.xk + (int64_t)k * job.xks, job.nt, ws);
      out_fn(&job, 0, (size_t)p.m);
    }
  }
  return NULL;
}

const lens_kernel lens_kernel_conv3x3_winograd_f4 = {
    .name = "conv3x3_winograd_f4",
    .op_type = "Conv",
    .precision = "fp32",
    .supports = wino_supports,
    .prepare = wino_prepare,
    .release = free,
    .scratch_bytes = wino_scratch,
    .compute = wino_compute,
    .fuses = LENS_FUSE_ACTIVATION | LENS_FUSE_RESIDUAL,
};
