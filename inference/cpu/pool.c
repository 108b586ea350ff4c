/* maxpool2d_direct, avgpool2d_direct and global_average_pool: float32 pooling over N-C-H-W
 * planes, compiled per ISA where it pays. MaxPool takes each output row's maximum down the
 * window, then across it: windows up to 3 columns wide at column stride 2 (the common 3x3
 * and 2x2 pools) by deinterleaving shuffles (max_s2_regs_avx512, LENS_DEFINE_MAX_S2),
 * others through stride phases (see LENS_DEFINE_MAX_PLANE); the Indices output is left to
 * the reference kernel. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/mask16.h"
#include "cpu/pool.h"
#include "cpu/prefetch.h"
#include "ops/nn_common.h"

static bool is_default_domain(const lens_node *node) {
  return !node->domain || !node->domain[0];
}

/* ---- MaxPool ---------------------------------------------------------------------------- */

/* Widest input row the two-pass path takes (its rows live on the stack). */
#define MAX_ROW 4096

/* The reference's rule: a later value wins when it is greater or NaN (NaN then sticks), so
 * the result is NaN if any tap is, else the maximum, whatever the order of the taps. */
#define MAX_TAKE(v, best) ((v) > (best) || (v) != (v) ? (v) : (best))

typedef lens_max_plane_fn max_plane_fn;

/* Each output row in two vector passes: the maximum down the kernel's rows into one padded
 * row split into stride phases (column c to phase c % stride, index c / stride), then
 * across the kernel's columns, each tap a contiguous run of a phase. MAX_TAKE is written
 * with vector masks (GCC does not vectorise its scalar form). */
#define LENS_DEFINE_MAX_PLANE(NAME, ATTR, VL)                                                 \
  typedef float NAME##_vf __attribute__((vector_size(VL * sizeof(float))));                   \
  typedef int32_t NAME##_vi __attribute__((vector_size(VL * sizeof(float))));                 \
  /* d[i] = MAX_TAKE(s[i], d[i]) */                                                           \
  ATTR static inline void NAME##_take(float *restrict d, const float *restrict s, int64_t n) { \
    int64_t i = 0;                                                                            \
    for (; i + VL <= n; i += VL) {                                                            \
      NAME##_vf v, b;                                                                         \
      memcpy(&v, s + i, sizeof v);                                                            \
      memcpy(&b, d + i, sizeof b);                                                            \
      NAME##_vi m = (v > b) | (v != v);                                                       \
      NAME##_vi r = ((NAME##_vi)v & m) | ((NAME##_vi)b & ~m);                                 \
      memcpy(d + i, &r, sizeof r);                                                            \
    }                                                                                         \
    for (; i < n; i++) d[i] = MAX_TAKE(s[i], d[i]);                                           \
  }                                                                                           \
  ATTR static void NAME(const lens_window *w, const float *restrict x, float *restrict y) {   \
    int64_t ih_n = w->in[0], iw_n = w->in[1], oh_n = w->out[0], ow_n = w->out[1];             \
    int64_t kh = w->kernel[0], kw = w->kernel[1], sw = w->stride[1], pl = w->pad_begin[1];    \
    int64_t lp = ow_n + ((kw - 1) * w->dilation[1]) / sw + 1;                                 \
    float col[MAX_ROW], ph[2 * MAX_ROW + 64];                                                 \
    for (int64_t oh = 0; oh < oh_n; oh++) {                                                   \
      for (int64_t i = 0; i < iw_n; i++) col[i] = -INFINITY;                                  \
      for (int64_t ki = 0; ki < kh; ki++) {                                                   \
        int64_t ih = oh * w->stride[0] - w->pad_begin[0] + ki * w->dilation[0];               \
        if (ih < 0 || ih >= ih_n) continue;                                                   \
        NAME##_take(col, x + ih * iw_n, iw_n);                                                \
      }                                                                                       \
      float *yrow = y + oh * ow_n;                                                            \
      for (int64_t p = 0; p < sw; p++)                                                        \
        for (int64_t i = 0; i < lp; i++) {                                                    \
          int64_t c = i * sw + p - pl;                                                        \
          ph[p * lp + i] = c >= 0 && c < iw_n ? col[c] : -INFINITY;                           \
        }                                                                                     \
      for (int64_t i = 0; i < ow_n; i++) yrow[i] = -INFINITY;                                 \
      for (int64_t kj = 0; kj < kw; kj++) {                                                   \
        int64_t t = kj * w->dilation[1];                                                      \
        NAME##_take(yrow, ph + (t % sw) * lp + t / sw, ow_n);                                 \
      }                                                                                       \
    }                                                                                         \
  }

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_MAX_PLANE(max_plane_avx512, __attribute__((target("avx512f"))), 16)
LENS_DEFINE_MAX_PLANE(max_plane_avx2, __attribute__((target("avx2,fma"))), 8)
#endif
LENS_DEFINE_MAX_PLANE(max_plane_baseline, , 4)

/* Floats of -INFINITY left of column 0 in the stride-2 path's row buffer. */
#define S2_LEFT 16

/* Windows 1 to 3 columns wide at column stride 2 (the 3x3/2x2 stride-2 pools of the common
 * models), one output row at a time: the maximum down the window's rows goes once into a
 * row buffer with -INFINITY borders, then even and odd columns come out of it by two-vector
 * shuffles. Tails reuse the last whole vector (moved back to end at the row's end), since
 * both passes only read the input or the buffer, so every access is a whole vector. */
#define LENS_DEFINE_MAX_S2(NAME, ATTR, VL, EVEN, ODD)                                         \
  typedef float NAME##_vf __attribute__((vector_size(VL * sizeof(float))));                   \
  typedef int32_t NAME##_vi __attribute__((vector_size(VL * sizeof(float))));                 \
  /* MAX_TAKE(a, b) in either order: NaN when either is */                                   \
  ATTR static inline NAME##_vf NAME##_max(NAME##_vf a, NAME##_vf b) {                         \
    NAME##_vi m = (a > b) | (a != a);                                                         \
    return (NAME##_vf)(((NAME##_vi)a & m) | ((NAME##_vi)b & ~m));                             \
  }                                                                                           \
  ATTR static inline NAME##_vf NAME##_load(const float *p) {                                  \
    NAME##_vf v;                                                                              \
    memcpy(&v, p, sizeof v);                                                                  \
    return v;                                                                                 \
  }                                                                                           \
  ATTR static void NAME(const lens_window *w, const float *restrict x, float *restrict y) {   \
    int64_t ih_n = w->in[0], iw_n = w->in[1], oh_n = w->out[0], ow_n = w->out[1];             \
    int64_t kh = w->kernel[0], kw = w->kernel[1], pl = w->pad_begin[1];                       \
    int64_t sh = w->stride[0], dh = w->dilation[0], pt = w->pad_begin[0];                     \
    float buf[S2_LEFT + 2 * MAX_ROW + 64] __attribute__((aligned(64)));                       \
    float *row = buf + S2_LEFT;                                                               \
    int64_t ow_r = (ow_n + VL - 1) / VL * VL, end = S2_LEFT + 2 * ow_r + 2;                   \
    for (int64_t i = 0; i < S2_LEFT; i++) buf[i] = -INFINITY;                                 \
    for (int64_t i = S2_LEFT + iw_n; i < end; i++) buf[i] = -INFINITY;                        \
    const NAME##_vi even = EVEN, odd = ODD;                                                   \
    const float *cp = row - pl;                                                               \
    for (int64_t oh = 0; oh < oh_n; oh++) {                                                   \
      int64_t ih0 = oh * sh - pt, k0 = 0, k1 = kh;                                            \
      while (k0 < kh && ih0 + k0 * dh < 0) k0++;                                              \
      while (k1 > k0 && ih0 + (k1 - 1) * dh >= ih_n) k1--;                                    \
      if (k0 == k1) {                                                                         \
        for (int64_t i = 0; i < iw_n; i++) row[i] = -INFINITY;                                \
      } else if (iw_n < VL) {                                                                 \
        for (int64_t i = 0; i < iw_n; i++) {                                                  \
          float m = x[(ih0 + k0 * dh) * iw_n + i];                                            \
          for (int64_t ki = k0 + 1; ki < k1; ki++) m = MAX_TAKE(x[(ih0 + ki * dh) * iw_n + i], m); \
          row[i] = m;                                                                         \
        }                                                                                     \
      } else {                                                                                \
        const float *x0 = x + (ih0 + k0 * dh) * iw_n;                                         \
        for (int64_t i = 0;; i += VL) {                                                       \
          if (i + VL > iw_n) i = iw_n - VL;                                                   \
          NAME##_vf m = NAME##_load(x0 + i);                                                  \
          for (int64_t ki = k0 + 1; ki < k1; ki++)                                            \
            m = NAME##_max(NAME##_load(x0 + (ki - k0) * dh * iw_n + i), m);                   \
          memcpy(row + i, &m, sizeof m);                                                      \
          if (i + VL >= iw_n) break;                                                          \
        }                                                                                     \
      }                                                                                       \
      float *yrow = y + oh * ow_n;                                                            \
      for (int64_t o = 0;; o += VL) {                                                         \
        if (o + VL > ow_n && ow_n >= VL) o = ow_n - VL;                                       \
        NAME##_vf a = NAME##_load(cp + 2 * o), b = NAME##_load(cp + 2 * o + VL);              \
        NAME##_vf m = __builtin_shuffle(a, b, even);                                          \
        if (kw >= 2) m = NAME##_max(__builtin_shuffle(a, b, odd), m);                         \
        if (kw == 3) {                                                                        \
          a = NAME##_load(cp + 2 * o + 2), b = NAME##_load(cp + 2 * o + 2 + VL);              \
          m = NAME##_max(__builtin_shuffle(a, b, even), m);                                   \
        }                                                                                     \
        if (o + VL <= ow_n) memcpy(yrow + o, &m, sizeof m);                                   \
        else                                                                                  \
          for (int64_t l = 0; l < ow_n; l++) yrow[l] = m[l];                                  \
        if (o + VL >= ow_n) break;                                                            \
      }                                                                                       \
    }                                                                                         \
  }

#if defined(__x86_64__) || defined(__i386__)
/* MAX_TAKE(a, b) in either order, NaN when either is: vmaxps gives its second operand when
 * either is NaN, which covers a; a NaN b is put back by the mask. */
__attribute__((target("avx512f"))) static inline __m512 max_take16(__m512 a, __m512 b) {
  __m512 r = _mm512_max_ps(b, a);
  return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q), b);
}

/* The maximum down the window's rows [0, rows) of 16 columns from start: masked loads
 * read -INFINITY outside the row, so the borders need no padded copy. Inlined, so that a
 * constant rows unrolls. */
__attribute__((target("avx512f"), always_inline)) static inline __m512 column_max16(
    const float *x0, int64_t row_step, int64_t rows, int64_t start, __mmask16 m) {
  const __m512 ninf = _mm512_set1_ps(-INFINITY);
  __m512 v = _mm512_mask_loadu_ps(ninf, m, x0 + start);
  for (int64_t r = 1; r < rows; r++)
    v = max_take16(_mm512_mask_loadu_ps(ninf, m, x0 + r * row_step + start), v);
  return v;
}

/* One output row of the stride-2 path from the window's rows [0, rows) at x0 (kw columns
 * wide): the column maxima of 48 input columns give 16 outputs (even, odd and next-even
 * columns by permutes), and the last 16 are the first of the next step. Inlined, so that
 * the common 3x3 window compiles with its row and column counts constant (the row loop
 * of column_max16 unrolled: 1.3-1.4x on SqueezeNet's pools). */
__attribute__((target("avx512f"), always_inline)) static inline void max_s2_row16(
    const float *x0, int64_t step, int64_t rows, int64_t kw, int64_t pl, int64_t steps,
    __mmask16 first, __mmask16 (*mk)[3], float *yrow) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                         28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i next = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
  __m512 a = column_max16(x0, step, rows, -pl, first);
  for (int64_t s = 0; s < steps; s++) {
    int64_t p = 32 * s - pl;
    __m512 b = column_max16(x0, step, rows, p + 16, mk[s][0]);
    __m512 c = kw == 3 ? column_max16(x0, step, rows, p + 32, mk[s][1]) : b;
    __m512 e = _mm512_permutex2var_ps(a, even, b), m = e;
    if (kw >= 2) m = max_take16(_mm512_permutex2var_ps(a, odd, b), m);
    if (kw == 3) m = max_take16(_mm512_permutex2var_ps(e, next, c), m);
    if (kw == 3) a = c;
    else if (s + 1 < steps) a = column_max16(x0, step, rows, p + 32, mk[s][1]);
    if (mk[s][2] == 0xffff) _mm512_storeu_ps(yrow + 16 * s, m);
    else _mm512_mask_storeu_ps(yrow + 16 * s, mk[s][2], m);
  }
}

/* The stride-2 path for AVX-512 in registers (max_s2_row16 per output row). No row buffer,
 * so no store is read back before it has retired. */
__attribute__((target("avx512f"))) static void max_s2_regs_avx512(const lens_window *w,
                                                                  const float *restrict x,
                                                                  float *restrict y) {
  int64_t ih_n = w->in[0], iw_n = w->in[1], oh_n = w->out[0], ow_n = w->out[1];
  int64_t kh = w->kernel[0], kw = w->kernel[1], pl = w->pad_begin[1];
  int64_t sh = w->stride[0], dh = w->dilation[0], pt = w->pad_begin[0];
  int64_t steps = (ow_n + 15) / 16;
  __mmask16 mk[MAX_ROW / 16 + 1][3];
  for (int64_t s = 0; s < steps; s++) {
    for (int l = 0; l < 2; l++) mk[s][l] = lens_row_mask16(32 * s - pl + 16 * l + 16, iw_n);
    mk[s][2] = lens_row_mask16(16 * s, ow_n);
  }
  __mmask16 first = lens_row_mask16(-pl, iw_n);
  for (int64_t oh = 0; oh < oh_n; oh++) {
    int64_t ih0 = oh * sh - pt, k0 = 0, k1 = kh;
    while (k0 < kh && ih0 + k0 * dh < 0) k0++;
    while (k1 > k0 && ih0 + (k1 - 1) * dh >= ih_n) k1--;
    float *yrow = y + oh * ow_n;
    if (k0 == k1) { /* a window wholly in the padding */
      for (int64_t i = 0; i < ow_n; i++) yrow[i] = -INFINITY;
      continue;
    }
    const float *x0 = x + (ih0 + k0 * dh) * iw_n;
    int64_t rows = k1 - k0, step = dh * iw_n;
    if (rows == 3 && kw == 3) max_s2_row16(x0, step, 3, 3, pl, steps, first, mk, yrow);
    else max_s2_row16(x0, step, rows, kw, pl, steps, first, mk, yrow);
  }
}
#endif

#define EVEN8 {0, 2, 4, 6, 8, 10, 12, 14}
#define ODD8 {1, 3, 5, 7, 9, 11, 13, 15}
#define EVEN4 {0, 2, 4, 6}
#define ODD4 {1, 3, 5, 7}
#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_MAX_S2(max_s2_avx2, __attribute__((target("avx2,fma"))), 8, EVEN8, ODD8)
#endif
LENS_DEFINE_MAX_S2(max_s2_baseline, , 4, EVEN4, ODD4)

/* Output columns [*lo, *hi) whose tap at offset off reads inside an input row of iw_n. */
static void tap_range(int64_t off, int64_t sw, int64_t iw_n, int64_t ow_n, int64_t *lo,
                      int64_t *hi) {
  *lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
  *hi = iw_n - 1 - off < 0 ? 0 : (iw_n - 1 - off) / sw + 1;
  if (*hi > ow_n) *hi = ow_n;
  if (*lo > *hi) *lo = *hi;
}

/* Rows too wide for the stack: every tap over a strided input row. */
static void max_plane_rows(const lens_window *w, const float *x, float *y) {
  int64_t ih_n = w->in[0], iw_n = w->in[1], oh_n = w->out[0], ow_n = w->out[1];
  int64_t kh = w->kernel[0], kw = w->kernel[1], sw = w->stride[1];
  for (int64_t oh = 0; oh < oh_n; oh++) {
    float *yrow = y + oh * ow_n;
    for (int64_t ow = 0; ow < ow_n; ow++) yrow[ow] = -INFINITY;
    for (int64_t ki = 0; ki < kh; ki++) {
      int64_t ih = oh * w->stride[0] - w->pad_begin[0] + ki * w->dilation[0];
      if (ih < 0 || ih >= ih_n) continue;
      const float *xrow = x + ih * iw_n;
      for (int64_t kj = 0; kj < kw; kj++) {
        int64_t off = kj * w->dilation[1] - w->pad_begin[1], lo, hi;
        tap_range(off, sw, iw_n, ow_n, &lo, &hi);
        for (int64_t ow = lo; ow < hi; ow++) yrow[ow] = MAX_TAKE(xrow[ow * sw + off], yrow[ow]);
      }
    }
  }
}

static max_plane_fn current_max_plane(const lens_window *w) {
  int64_t lp = w->out[1] + ((w->kernel[1] - 1) * w->dilation[1]) / w->stride[1] + 1;
  if (w->in[1] > MAX_ROW || w->out[1] > MAX_ROW || lp * w->stride[1] > 2 * MAX_ROW ||
      2 * w->out[1] + 64 > 2 * MAX_ROW || w->in[1] + 2 > 2 * MAX_ROW)
    return max_plane_rows;
  bool s2 = w->stride[1] == 2 && w->kernel[1] <= 3 && w->dilation[1] == 1 &&
            w->pad_begin[1] < w->kernel[1];
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: return s2 ? max_s2_regs_avx512 : max_plane_avx512;
  case LENS_CPU_ISA_AVX2: return s2 ? max_s2_avx2 : max_plane_avx2;
  default: break;
  }
#endif
  return s2 ? max_s2_baseline : max_plane_baseline;
}

/* The 2-D window of a MaxPool or AveragePool node over x (kernel names the kernel in the
 * error for other ranks). */
static lens_status *pool2d_window(const lens_node *node, const lens_value *x, const char *kernel,
                                  lens_window *w) {
  lens_window_attrs a;
  int64_t ceil_mode;
  LENS_TRY(lens_window_attrs_parse(node, true, &a));
  LENS_TRY(lens_attr_int(node, "ceil_mode", 0, &ceil_mode));
  if (a.n_kernel != 2) return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%s: not 2-D", kernel);
  return lens_window_resolve(node, &a, 2, x->dims + 2, a.kernel, ceil_mode == 1, w);
}

static lens_status *maxpool_window(const lens_node *node, const lens_value *x, lens_window *w) {
  return pool2d_window(node, x, "maxpool2d_direct", w);
}

lens_max_plane_fn lens_cpu_max_plane(const lens_window *w) { return current_max_plane(w); }

bool lens_cpu_maxpool_window(const lens_node *node, const lens_value *x, lens_window *w) {
  if (strcmp(node->op_type, "MaxPool") != 0 || !is_default_domain(node) ||
      x->dtype != LENS_DTYPE_FLOAT32 || x->rank != 4)
    return false;
  if (node->n_outputs > 1 && node->outputs && node->outputs[1] >= 0) return false; /* Indices */
  lens_status *st = maxpool_window(node, x, w);
  bool ok = !st;
  lens_status_free(st);
  return ok;
}

static bool maxpool_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  lens_window w;
  return lens_cpu_maxpool_window(node, &in[0], &w);
}

typedef struct maxpool_job {
  lens_window w;
  const float *x;
  float *y;
  max_plane_fn plane;
  int64_t planes;
  size_t bands; /* with threads: bands of output rows, each over every plane */
  /* With threads, the next plane's input lines (to L1) and output lines (to write) are
   * asked for while one is pooled: a thread's planes are its share of the channels, which
   * the convolutions around (split by positions) wrote and will read half on the other
   * core. SqueezeNet at two threads 1.5-2.5% faster (one process, runs alternating, in fast
   * and slow states of the machine). */
  bool prefetch_next;
} maxpool_job;

static void maxpool_planes(void *arg, size_t begin, size_t end) {
  const maxpool_job *j = arg;
  int64_t in_hw = j->w.in[0] * j->w.in[1], out_hw = j->w.out[0] * j->w.out[1];
  for (size_t p = begin; p < end; p++) {
    if (j->prefetch_next && p + 1 < end)
      lens_prefetch_window_rows(&j->w, j->x + (int64_t)(p + 1) * in_hw,
                                j->y + (int64_t)(p + 1) * out_hw, 0, j->w.out[0]);
    j->plane(&j->w, j->x + (int64_t)p * in_hw, j->y + (int64_t)p * out_hw);
  }
}

/* Bands [begin, end) of output rows of every plane: a band is the window with fewer output
 * rows, its top padding moved up by the rows before it (negative past the first band; the
 * plane kernels clip input rows to [0, in[0]) either way). */
static void maxpool_bands(void *arg, size_t begin, size_t end) {
  const maxpool_job *j = arg;
  int64_t in_hw = j->w.in[0] * j->w.in[1], out_hw = j->w.out[0] * j->w.out[1];
  for (size_t b = begin; b < end; b++) {
    int64_t r0 = j->w.out[0] * (int64_t)b / (int64_t)j->bands;
    int64_t r1 = j->w.out[0] * ((int64_t)b + 1) / (int64_t)j->bands;
    if (r0 >= r1) continue;
    lens_window band = j->w;
    band.out[0] = r1 - r0;
    band.pad_begin[0] = j->w.pad_begin[0] - r0 * j->w.stride[0];
    for (int64_t p = 0; p < j->planes; p++) {
      if (j->prefetch_next && p + 1 < j->planes)
        lens_prefetch_window_rows(&j->w, j->x + (p + 1) * in_hw, j->y + (p + 1) * out_hw, r0, r1);
      j->plane(&band, j->x + p * in_hw, j->y + p * out_hw + r0 * j->w.out[1]);
    }
  }
}

static lens_status *maxpool_compute(const lens_node *node, const lens_value *in,
                                    lens_value *out, lens_exec_ctx *ctx) {
  maxpool_job job;
  LENS_TRY(maxpool_window(node, &in[0], &job.w));
  job.x = in[0].data;
  job.y = out[0].data;
  job.plane = current_max_plane(&job.w);
  job.planes = in[0].dims[0] * in[0].dims[1];
  /* With threads, each takes a band of rows of every plane rather than whole planes: the
   * convolutions around a pool split their planes by position (GEMM columns), so a band
   * reads what its own core wrote and writes what it will read next (a line written by the
   * other core costs about three times as much). SqueezeNet's first pool (55 rows out):
   * 0.21 -> 0.155 ms on two threads. Bands of fewer than 16 rows pay more in per-call setup
   * than they save (its 13-row pool: 0.06 -> 0.11 ms as bands). */
  int threads = lens_exec_threads(ctx);
  job.bands = (size_t)threads;
  job.prefetch_next = threads > 1;
  if (threads > 1 && job.w.out[0] >= 16 * (int64_t)threads)
    lens_parallel_for(ctx, job.bands, maxpool_bands, &job);
  else
    lens_parallel_for(ctx, (size_t)job.planes, maxpool_planes, &job);
  return NULL;
}

const lens_kernel lens_kernel_maxpool2d_direct = {
    .name = "maxpool2d_direct",
    .op_type = "MaxPool",
    .precision = "fp32",
    .supports = maxpool_supports,
    .compute = maxpool_compute,
};

/* ---- AveragePool ------------------------------------------------------------------------ */

/* 2-D float32 AveragePool with any window: the taps of an output that fall inside the input
 * form a rectangle of kernel rows and columns, found per row and per column, so each output
 * is a plain sum over it (in float) divided by its count, the reference's rule kept:
 * count_include_pad counts the explicit padding but not a ceil_mode overhang. */

typedef struct avgpool_job {
  lens_window w;
  bool count_include_pad;
  const float *x;
  float *y;
} avgpool_job;

/* Kernel taps [*lo, *hi) along one axis that read inside [0, n), and how many fall inside
 * the explicitly padded extent [-pad_begin, n + pad_end). */
static void avg_taps(int64_t o, int64_t stride, int64_t pad_begin, int64_t pad_end,
                     int64_t kernel, int64_t dilation, int64_t n, int64_t *lo, int64_t *hi,
                     int64_t *padded) {
  int64_t start = o * stride - pad_begin;
  *lo = kernel, *hi = 0, *padded = 0;
  for (int64_t k = 0; k < kernel; k++) {
    int64_t pos = start + k * dilation;
    if (pos >= 0 && pos < n) {
      if (k < *lo) *lo = k;
      *hi = k + 1;
    }
    if (pos >= -pad_begin && pos < n + pad_end) (*padded)++;
  }
  if (*lo > *hi) *lo = *hi;
}

static void avgpool_planes(void *arg, size_t begin, size_t end) {
  const avgpool_job *j = arg;
  const lens_window *w = &j->w;
  int64_t ih_n = w->in[0], iw_n = w->in[1], oh_n = w->out[0], ow_n = w->out[1];
  int64_t dh = w->dilation[0], dw = w->dilation[1];
  for (size_t p = begin; p < end; p++) {
    const float *x = j->x + (int64_t)p * ih_n * iw_n;
    float *y = j->y + (int64_t)p * oh_n * ow_n;
    for (int64_t oh = 0; oh < oh_n; oh++) {
      int64_t klo, khi, kpad;
      avg_taps(oh, w->stride[0], w->pad_begin[0], w->pad_end[0], w->kernel[0], dh, ih_n, &klo,
               &khi, &kpad);
      int64_t row0 = oh * w->stride[0] - w->pad_begin[0];
      for (int64_t ow = 0; ow < ow_n; ow++) {
        int64_t llo, lhi, lpad;
        avg_taps(ow, w->stride[1], w->pad_begin[1], w->pad_end[1], w->kernel[1], dw, iw_n,
                 &llo, &lhi, &lpad);
        int64_t col0 = ow * w->stride[1] - w->pad_begin[1];
        float sum = 0.0f;
        for (int64_t ki = klo; ki < khi; ki++) {
          const float *row = x + (row0 + ki * dh) * iw_n + col0;
          for (int64_t kj = llo; kj < lhi; kj++) sum += row[kj * dw];
        }
        int64_t count = j->count_include_pad ? kpad * lpad : (khi - klo) * (lhi - llo);
        y[oh * ow_n + ow] = count ? sum / (float)count : 0.0f;
      }
    }
  }
}

static lens_status *avgpool_window(const lens_node *node, const lens_value *x, lens_window *w,
                                   bool *count_include_pad) {
  int64_t include_pad;
  LENS_TRY(lens_attr_int(node, "count_include_pad", 0, &include_pad));
  *count_include_pad = include_pad == 1;
  return pool2d_window(node, x, "avgpool2d_direct", w);
}

static bool avgpool_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  if (strcmp(node->op_type, "AveragePool") != 0 || !is_default_domain(node) ||
      in[0].dtype != LENS_DTYPE_FLOAT32 || in[0].rank != 4)
    return false;
  lens_window w;
  bool include_pad;
  lens_status *st = avgpool_window(node, &in[0], &w, &include_pad);
  if (st) {
    lens_status_free(st);
    return false;
  }
  return true;
}

static lens_status *avgpool_compute(const lens_node *node, const lens_value *in,
                                    lens_value *out, lens_exec_ctx *ctx) {
  avgpool_job job;
  LENS_TRY(avgpool_window(node, &in[0], &job.w, &job.count_include_pad));
  job.x = in[0].data;
  job.y = out[0].data;
  size_t planes = (size_t)(in[0].dims[0] * in[0].dims[1]);
  /* small inputs: one thread, the fork costs more than the sums */
  if (lens_value_elements(&in[0]) < 65536) avgpool_planes(&job, 0, planes);
  else lens_parallel_for(ctx, planes, avgpool_planes, &job);
  return NULL;
}

const lens_kernel lens_kernel_avgpool2d_direct = {
    .name = "avgpool2d_direct",
    .op_type = "AveragePool",
    .precision = "fp32",
    .supports = avgpool_supports,
    .compute = avgpool_compute,
};

/* ---- GlobalAveragePool ------------------------------------------------------------------ */

typedef float (*plane_sum_fn)(const float *x, int64_t n);

/* Sixteen partial sums, so the loop vectorises without reassociation flags. */
#define LENS_DEFINE_PLANE_SUM(NAME, ATTR)                                                     \
  ATTR static float NAME(const float *restrict x, int64_t n) {                                \
    float part[16] = {0};                                                                     \
    int64_t i = 0;                                                                            \
    for (; i + 16 <= n; i += 16)                                                              \
      for (int l = 0; l < 16; l++) part[l] += x[i + l];                                       \
    float s = 0.0f;                                                                           \
    for (; i < n; i++) s += x[i];                                                             \
    for (int l = 0; l < 16; l++) s += part[l];                                                \
    return s;                                                                                 \
  }

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_PLANE_SUM(plane_sum_avx512, __attribute__((target("avx512f"))))
LENS_DEFINE_PLANE_SUM(plane_sum_avx2, __attribute__((target("avx2,fma"))))
#endif
LENS_DEFINE_PLANE_SUM(plane_sum_baseline, )

static plane_sum_fn current_plane_sum(void) {
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: return plane_sum_avx512;
  case LENS_CPU_ISA_AVX2: return plane_sum_avx2;
  default: break;
  }
#endif
  return plane_sum_baseline;
}

static bool gap_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  return strcmp(node->op_type, "GlobalAveragePool") == 0 && is_default_domain(node) &&
         in[0].dtype == LENS_DTYPE_FLOAT32 && in[0].rank >= 3;
}

typedef struct gap_job {
  const float *x;
  float *y;
  int64_t plane;
  plane_sum_fn sum;
} gap_job;

static void gap_planes(void *arg, size_t begin, size_t end) {
  const gap_job *j = arg;
  for (size_t p = begin; p < end; p++) {
    const float *x = j->x + (int64_t)p * j->plane;
    j->y[p] = j->plane ? j->sum(x, j->plane) / (float)j->plane : 0.0f;
  }
}

static lens_status *gap_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  gap_job job = {in[0].data, out[0].data, 1, current_plane_sum()};
  for (int d = 2; d < in[0].rank; d++) job.plane *= in[0].dims[d];
  size_t planes = (size_t)(in[0].dims[0] * in[0].dims[1]);
  /* small planes: one thread, the fork costs more than the sum */
  if (job.plane * (int64_t)planes < 65536) gap_planes(&job, 0, planes);
  else lens_parallel_for(ctx, planes, gap_planes, &job);
  return NULL;
}

const lens_kernel lens_kernel_global_average_pool = {
    .name = "global_average_pool",
    .op_type = "GlobalAveragePool",
    .precision = "fp32",
    .supports = gap_supports,
    .compute = gap_compute,
};
