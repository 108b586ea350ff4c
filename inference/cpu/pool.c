/* maxpool2d_direct and global_average_pool: float32 pooling over N-C-H-W planes, compiled
 * per ISA. MaxPool takes each output row's maximum down the window, then across it (see
 * LENS_DEFINE_MAX_PLANE); the Indices output is left to the reference kernel. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu/gemm.h"
#include "cpu/kernels.h"
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

typedef void (*max_plane_fn)(const lens_window *w, const float *x, float *y);

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
    /* 3 wide, stride 2: the vertical maximum goes straight into a padded row */            \
    bool s2 = sw == 2 && kw == 3 && w->dilation[1] == 1 && pl <= 2;                           \
    int64_t len = 2 * ((ow_n + VL - 1) / VL * VL) + 2 + VL;                                   \
    float *vrow = s2 ? ph + pl : col;                                                         \
    for (int64_t oh = 0; oh < oh_n; oh++) {                                                   \
      for (int64_t i = 0; i < iw_n; i++) vrow[i] = -INFINITY;                                 \
      for (int64_t ki = 0; ki < kh; ki++) {                                                   \
        int64_t ih = oh * w->stride[0] - w->pad_begin[0] + ki * w->dilation[0];               \
        if (ih < 0 || ih >= ih_n) continue;                                                   \
        NAME##_take(vrow, x + ih * iw_n, iw_n);                                               \
      }                                                                                       \
      float *yrow = y + oh * ow_n;                                                            \
      if (s2) {                                                                               \
        /* even and odd columns by two-vector shuffles of the padded row */                   \
        float *cp = ph;                                                                       \
        for (int64_t i = 0; i < pl; i++) cp[i] = -INFINITY;                                   \
        for (int64_t i = pl + iw_n; i < len; i++) cp[i] = -INFINITY;                          \
        NAME##_vi even, odd;                                                                  \
        for (int l = 0; l < VL; l++) even[l] = 2 * l, odd[l] = 2 * l + 1;                     \
        int64_t i = 0;                                                                        \
        for (; i < ow_n; i += VL) {                                                           \
          NAME##_vf v0, v1, v2, v3;                                                           \
          memcpy(&v0, cp + 2 * i, sizeof v0);                                                 \
          memcpy(&v1, cp + 2 * i + VL, sizeof v1);                                            \
          memcpy(&v2, cp + 2 * i + 2, sizeof v2);                                             \
          memcpy(&v3, cp + 2 * i + 2 + VL, sizeof v3);                                        \
          NAME##_vf a = __builtin_shuffle(v0, v1, even);                                      \
          NAME##_vf b = __builtin_shuffle(v0, v1, odd);                                       \
          NAME##_vf c = __builtin_shuffle(v2, v3, even);                                      \
          NAME##_vi m = (b > a) | (b != b);                                                   \
          a = (NAME##_vf)(((NAME##_vi)b & m) | ((NAME##_vi)a & ~m));                          \
          m = (c > a) | (c != c);                                                             \
          a = (NAME##_vf)(((NAME##_vi)c & m) | ((NAME##_vi)a & ~m));                          \
          if (i + VL <= ow_n) memcpy(yrow + i, &a, sizeof a);                                 \
          else                                                                                \
            for (int64_t l = 0; l < ow_n - i; l++) yrow[i + l] = a[l];                        \
        }                                                                                     \
        continue;                                                                             \
      }                                                                                       \
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
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: return max_plane_avx512;
  case LENS_CPU_ISA_AVX2: return max_plane_avx2;
  default: break;
  }
#endif
  return max_plane_baseline;
}

static lens_status *maxpool_window(const lens_node *node, const lens_value *x, lens_window *w) {
  lens_window_attrs a;
  int64_t ceil_mode;
  LENS_TRY(lens_window_attrs_parse(node, true, &a));
  LENS_TRY(lens_attr_int(node, "ceil_mode", 0, &ceil_mode));
  if (a.n_kernel != 2)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "maxpool2d_direct: not 2-D");
  return lens_window_resolve(node, &a, 2, x->dims + 2, a.kernel, ceil_mode == 1, w);
}

static bool maxpool_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  if (strcmp(node->op_type, "MaxPool") != 0 || !is_default_domain(node) ||
      in[0].dtype != LENS_DTYPE_FLOAT32 || in[0].rank != 4)
    return false;
  if (node->n_outputs > 1 && node->outputs && node->outputs[1] >= 0) return false; /* Indices */
  lens_window w;
  lens_status *st = maxpool_window(node, &in[0], &w);
  if (st) {
    lens_status_free(st);
    return false;
  }
  return true;
}

typedef struct maxpool_job {
  lens_window w;
  const float *x;
  float *y;
  max_plane_fn plane;
} maxpool_job;

static void maxpool_planes(void *arg, size_t begin, size_t end) {
  const maxpool_job *j = arg;
  int64_t in_hw = j->w.in[0] * j->w.in[1], out_hw = j->w.out[0] * j->w.out[1];
  for (size_t p = begin; p < end; p++)
    j->plane(&j->w, j->x + (int64_t)p * in_hw, j->y + (int64_t)p * out_hw);
}

static lens_status *maxpool_compute(const lens_node *node, const lens_value *in,
                                    lens_value *out, lens_exec_ctx *ctx) {
  maxpool_job job;
  LENS_TRY(maxpool_window(node, &in[0], &job.w));
  job.x = in[0].data;
  job.y = out[0].data;
  job.plane = current_max_plane(&job.w);
  lens_parallel_for(ctx, (size_t)(in[0].dims[0] * in[0].dims[1]), maxpool_planes, &job);
  return NULL;
}

const lens_kernel lens_kernel_maxpool2d_direct = {
    .name = "maxpool2d_direct",
    .op_type = "MaxPool",
    .precision = "fp32",
    .supports = maxpool_supports,
    .compute = maxpool_compute,
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
