/* Preprocessing: one pass from a video frame region into a model's float32 input tensor.
 *
 * The work is separable and is planned once per call: for every tensor column, the source
 * sample pair it blends (i0, i0 + 1) and the weight, one table at full resolution and one at
 * chroma resolution and siting. Then, per tensor row:
 *   1. vertical: the two source rows that bracket the tensor row are blended into a u16 row
 *      per plane (8 fractional bits; the vertical weight is rounded to 1/256, which moves a
 *      sample by at most 1/512 pixel), contiguous, so GCC vectorises it;
 *   2. gather: each tensor column copies the adjacent pair it needs (both taps, and for
 *      NV12 both U and V, in one 32/64/128-bit copy) into a dense array: scalar copies,
 *      the one thing that does not vectorise, kept to one or two per pixel;
 *   3. math: horizontal blend with float weights, YUV -> RGB with the frame's colorimetry,
 *      clamp, normalise, in float over the dense arrays (vectorised), stored straight into
 *      an NCHW tensor (plain stores: they drain while the next row is computed, which
 *      measured faster than staging the row and streaming it out with non-temporal
 *      stores); for NHWC into three rows in L1 that one more loop interleaves.
 * The row loop is compiled three times, for the generic target, AVX2+FMA and AVX-512, one
 * picked once from the CPU (LENS_PREPROCESS_ISA=generic or avx2 caps the choice; the
 * tests run the generic kernels too). The library is built with -ffp-contract=fast, so the
 * FMA kernels round slightly differently from the generic ones (well inside the tests'
 * tolerance).
 *
 * Interpolation is linear, so blending Y, U and V before converting gives the value that
 * converting first would, up to the clamp to 0..255 which is applied after conversion. */
#include "preprocess.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define LENS_X86_KERNELS 1
#endif

G_DEFINE_QUARK (lens-preprocess-error-quark, lens_preprocess_error);

/* Beyond this a crop's scaled size could overflow gint arithmetic. */
#define MAX_SCALED_SIZE (G_MAXINT / 4)
/* Largest model input side: keeps every per-call size far from overflow, even with 32-bit
 * sizes. */
#define MAX_TENSOR_SIDE 32768
/* u16 elements past the end of each vertical row buffer: a gather copies up to 8 elements
 * from a sample's start, which may run past the last sample. Kept at zero. */
#define ROW_SLACK 8

void
lens_preprocess_params_init (LensPreprocessParams * params)
{
  gint c;

  g_return_if_fail (params != NULL);

  memset (params, 0, sizeof (*params));
  params->layout = LENS_LAYOUT_NCHW;
  params->resize = LENS_RESIZE_STRETCH;
  params->channels = LENS_CHANNELS_RGB;
  for (c = 0; c < 3; c++) {
    params->mean[c] = 0.0f;
    params->scale[c] = 1.0f / 255.0f;
  }
  params->pad_value = 114;
}

gboolean
lens_preprocess_format_supported (GstVideoFormat format)
{
  switch (format) {
    case GST_VIDEO_FORMAT_RGB:
    case GST_VIDEO_FORMAT_BGR:
    case GST_VIDEO_FORMAT_RGBx:
    case GST_VIDEO_FORMAT_BGRx:
    case GST_VIDEO_FORMAT_xRGB:
    case GST_VIDEO_FORMAT_xBGR:
    case GST_VIDEO_FORMAT_RGBA:
    case GST_VIDEO_FORMAT_BGRA:
    case GST_VIDEO_FORMAT_ARGB:
    case GST_VIDEO_FORMAT_ABGR:
    case GST_VIDEO_FORMAT_NV12:
    case GST_VIDEO_FORMAT_NV21:
    case GST_VIDEO_FORMAT_I420:
    case GST_VIDEO_FORMAT_YV12:
      return TRUE;
    default:
      return FALSE;
  }
}

/* ---------------------------------------------------------------------------------------
 * Geometry
 * ------------------------------------------------------------------------------------- */

/* Where the region lands in the tensor: content_w x content_h tensor pixels at
 * (offset_x, offset_y); the offsets are negative when cropping. */
typedef struct
{
  gint content_w, content_h;
  gint offset_x, offset_y;
} Placement;

static gboolean
compute_placement (const LensPreprocessParams * params, gint region_w,
    gint region_h, Placement * place, GError ** error)
{
  gdouble sx = (gdouble) params->width / region_w;
  gdouble sy = (gdouble) params->height / region_h;
  gdouble s, cw, ch;

  switch (params->resize) {
    case LENS_RESIZE_STRETCH:
      place->content_w = params->width;
      place->content_h = params->height;
      place->offset_x = place->offset_y = 0;
      return TRUE;
    case LENS_RESIZE_LETTERBOX:
      s = MIN (sx, sy);
      cw = CLAMP (round (region_w * s), 1.0, (gdouble) params->width);
      ch = CLAMP (round (region_h * s), 1.0, (gdouble) params->height);
      place->content_w = (gint) cw;
      place->content_h = (gint) ch;
      place->offset_x = (params->width - place->content_w) / 2;
      place->offset_y = (params->height - place->content_h) / 2;
      return TRUE;
    case LENS_RESIZE_CROP:
      s = MAX (sx, sy);
      cw = MAX (round (region_w * s), (gdouble) params->width);
      ch = MAX (round (region_h * s), (gdouble) params->height);
      if (cw > MAX_SCALED_SIZE || ch > MAX_SCALED_SIZE) {
        g_set_error (error, LENS_PREPROCESS_ERROR, LENS_PREPROCESS_ERROR_REGION,
            "a %dx%d region is too thin to centre-crop into %dx%d", region_w,
            region_h, params->width, params->height);
        return FALSE;
      }
      place->content_w = (gint) cw;
      place->content_h = (gint) ch;
      place->offset_x = -((place->content_w - params->width) / 2);
      place->offset_y = -((place->content_h - params->height) / 2);
      return TRUE;
  }
  g_set_error (error, LENS_PREPROCESS_ERROR, LENS_PREPROCESS_ERROR_PARAMS,
      "unknown resize mode %d", (gint) params->resize);
  return FALSE;
}

/* One axis: the region along it (full-resolution pixels) and where it lands (tensor
 * pixels). */
typedef struct
{
  gint start, size;
  gint offset, content;
} Axis;

/* How a plane samples an axis: subsampled by 2 (shift 1) or not, and for subsampled planes
 * whether sample j sits at full-resolution position 2j (co-sited) or 2j + 0.5 (centred). */
typedef struct
{
  gint shift;
  gboolean cosited;
} Sampling;

/* The plane's sample position, continuous, clamped to the samples covering the region,
 * for tensor coordinate t; see the geometry in preprocess.h. */
static gdouble
axis_sample_position (const Axis * axis, const Sampling * smp, gint t,
    gint * lo, gint * hi)
{
  gdouble f = (t + 0.5 - axis->offset) * axis->size / axis->content - 0.5;
  gdouble a = axis->start + CLAMP (f, 0.0, (gdouble) (axis->size - 1));
  gdouble p = a;

  *lo = axis->start >> smp->shift;
  *hi = (axis->start + axis->size - 1) >> smp->shift;
  if (smp->shift)
    p = (a - (smp->cosited ? 0.0 : 0.5)) * 0.5;
  return CLAMP (p, (gdouble) * lo, (gdouble) * hi);
}

/* Columns read the pair (i0, i0 + 1) whenever the region has two samples, so that one copy
 * fetches both taps: the last sample is read as (hi - 1, hi) with weight 1. */
static void
column_sample (const Axis * axis, const Sampling * smp, gint t, gint * i0,
    gdouble * w)
{
  gint lo, hi, i;
  gdouble p = axis_sample_position (axis, smp, t, &lo, &hi);

  i = (gint) floor (p);
  if (i >= hi) {
    *i0 = hi > lo ? hi - 1 : hi;
    *w = hi > lo ? 1.0 : 0.0;
  } else {
    *i0 = i;
    *w = p - i;
  }
}

/* Rows: the two rows and the weight of the second, rounded to 1/256. */
static void
row_sample (const Axis * axis, const Sampling * smp, gint t, gint * y0,
    gint * y1, guint * wq)
{
  gint lo, hi, i;
  gdouble p = axis_sample_position (axis, smp, t, &lo, &hi);

  i = (gint) floor (p);
  *y0 = i;
  *y1 = MIN (i + 1, hi);
  *wq = (guint) lround ((p - i) * 256.0);
}

/* ---------------------------------------------------------------------------------------
 * The per-call plan and the row kernels
 * ------------------------------------------------------------------------------------- */

typedef enum
{
  LAYOUT_YUV_PLANAR,            /* I420, YV12: U and V in planes of their own */
  LAYOUT_YUV_SEMI_UV,           /* NV12: U and V interleaved in one plane */
  LAYOUT_YUV_SEMI_VU,           /* NV21: V and U interleaved in one plane */
  LAYOUT_PACKED3,               /* RGB, BGR */
  LAYOUT_PACKED4,               /* RGBx and friends */
} PixelLayout;

typedef struct
{
  const guint8 *data;
  gint stride;
  gint cls;                     /* sampling class: 0 full resolution, 1 chroma */
  gint pstride;                 /* bytes per sample */
  gint span_offset;             /* first byte of a row that is read */
  gint span_len;                /* bytes of a row that are read */
  gint lane;                    /* u16 elements gathered per tensor column: 2, 4 or 8 */
  guint16 *vrow;                /* span_len + ROW_SLACK */
  guint16 *gathered;            /* lane * n */
} Plane;

typedef struct
{
  /* geometry */
  Axis ay;
  Sampling row_smp[2];
  gint width, height;           /* tensor */
  gint tx0, n;                  /* tensor columns that show the region */
  gint ty0, ty1;                /* tensor rows that show the region */
  /* source */
  PixelLayout pixels;
  gint n_planes;
  Plane planes[GST_VIDEO_MAX_PLANES];
  gint comp_plane[3];           /* R, G, B or Y, U, V */
  gint comp_offset[3];          /* u16 element of the component in its plane's lane */
  guint32 *col_index[2];        /* per class: u16 element in vrow where column t's pair starts */
  gfloat *col_weight[2];
  /* conversion and normalisation, per colour R, G, B: value * scale + bias */
  gfloat y_mul, y_add, c_mul, c_add;   /* Q8 sample -> Y' (0..255) and U', V' (centred) */
  gfloat r_v, g_u, g_v, b_u;
  gfloat rgb_mul;               /* Q8 -> 0..255 for RGB formats */
  gfloat scale[3], bias[3];
  gint channel[3];              /* tensor channel of R, G, B */
  gfloat pad[3];                /* per tensor channel */
  /* output */
  LensTensorLayout layout;
  gfloat *dst;
  gfloat *tmp;                  /* NHWC: 3 * n floats, the row's channels before interleaving */
} Plan;

/* Written as MAXPS/MINPS compute, so that GCC emits those. */
static inline gfloat
clamp_255 (gfloat v)
{
  v = v > 0.0f ? v : 0.0f;
  return v < 255.0f ? v : 255.0f;
}

/* out[i] = r0[i] * (256 - wq) + r1[i] * wq, exactly (at most 255 * 256). */
G_ALWAYS_INLINE static inline void
vertical_blend (const guint8 * restrict r0, const guint8 * restrict r1,
    guint wq, guint16 * restrict out, gint n)
{
  const guint16 w1 = (guint16) wq, w0 = (guint16) (256 - wq);
  gint i;

  if (wq == 0 || r0 == r1) {
    for (i = 0; i < n; i++)
      out[i] = (guint16) (r0[i] << 8);
  } else {
    for (i = 0; i < n; i++)
      out[i] = (guint16) (r0[i] * w0 + r1[i] * w1);
  }
}

/* Copies lane u16 elements from vrow + index[t] to out + lane * t. The empty asm keeps GCC
 * from turning this into emulated gathers, which are slower than plain copies. */
G_ALWAYS_INLINE static inline void
gather_pairs (const guint16 * restrict vrow, const guint32 * restrict index,
    guint16 * restrict out, const gint lane, gint n)
{
  gint t;

#pragma GCC unroll 8
  for (t = 0; t < n; t++) {
    guint32 i = index[t];
    __asm__ ("":"+r" (i));
    memcpy (out + (gsize) lane * t, vrow + i, (gsize) lane * sizeof (guint16));
  }
}

/* Splits a gathered pair of Q8 u16 samples, read as one 32-bit word, into floats. */
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
#define PAIR_LO(x) ((gfloat) (gint32) ((x) & 0xffff))
#define PAIR_HI(x) ((gfloat) (gint32) ((x) >> 16))
#else
#define PAIR_LO(x) ((gfloat) (gint32) ((x) >> 16))
#define PAIR_HI(x) ((gfloat) (gint32) ((x) & 0xffff))
#endif

/* Y from gathered pairs (Y0, Y1); U and V from (U0, U1) and (V0, V1) for planar chroma,
 * from (U0, V0), (U1, V1) for NV12 and the same with U and V swapped for NV21. The pairs
 * are read as 32-bit words so that no strided 16-bit shuffles are needed. Writes colour k
 * of column t to o[k][t * os]. */
G_ALWAYS_INLINE static inline void
math_yuv (const Plan * plan, const guint32 * restrict gy,
    const guint32 * restrict gu, const guint32 * restrict gv,
    gfloat * restrict o_r, gfloat * restrict o_g, gfloat * restrict o_b,
    const PixelLayout pixels, const gint os)
{
  const gfloat *restrict wl = plan->col_weight[0];
  const gfloat *restrict wc = plan->col_weight[1];
  const gfloat y_mul = plan->y_mul, y_add = plan->y_add;
  const gfloat c_mul = plan->c_mul, c_add = plan->c_add;
  const gfloat r_v = plan->r_v, g_u = plan->g_u, g_v = plan->g_v;
  const gfloat b_u = plan->b_u;
  const gfloat sr = plan->scale[0], sg = plan->scale[1], sb = plan->scale[2];
  const gfloat br = plan->bias[0], bg = plan->bias[1], bb = plan->bias[2];
  const gint n = plan->n;
  gint t;

  for (t = 0; t < n; t++) {
    gfloat ya = PAIR_LO (gy[t]), yb = PAIR_HI (gy[t]);
    gfloat ua, ub, va, vb, y, u, v;

    if (pixels == LAYOUT_YUV_PLANAR) {
      ua = PAIR_LO (gu[t]);
      ub = PAIR_HI (gu[t]);
      va = PAIR_LO (gv[t]);
      vb = PAIR_HI (gv[t]);
    } else if (pixels == LAYOUT_YUV_SEMI_UV) {
      ua = PAIR_LO (gu[2 * t]);
      va = PAIR_HI (gu[2 * t]);
      ub = PAIR_LO (gu[2 * t + 1]);
      vb = PAIR_HI (gu[2 * t + 1]);
    } else {
      va = PAIR_LO (gu[2 * t]);
      ua = PAIR_HI (gu[2 * t]);
      vb = PAIR_LO (gu[2 * t + 1]);
      ub = PAIR_HI (gu[2 * t + 1]);
    }
    y = (ya + wl[t] * (yb - ya)) * y_mul + y_add;
    u = (ua + wc[t] * (ub - ua)) * c_mul + c_add;
    v = (va + wc[t] * (vb - va)) * c_mul + c_add;
    o_r[t * os] = clamp_255 (y + r_v * v) * sr + br;
    o_g[t * os] = clamp_255 (y + g_u * u + g_v * v) * sg + bg;
    o_b[t * os] = clamp_255 (y + b_u * u) * sb + bb;
  }
}

/* R, G, B from a lane of 8 holding two pixels cd elements apart. */
G_ALWAYS_INLINE static inline void
math_rgb (const Plan * plan, const guint16 * restrict g_r,
    const guint16 * restrict g_g, const guint16 * restrict g_b,
    gfloat * restrict o_r, gfloat * restrict o_g, gfloat * restrict o_b,
    const gint cd, const gint os)
{
  const gfloat *restrict w = plan->col_weight[0];
  const gfloat m = plan->rgb_mul;
  const gfloat sr = plan->scale[0] * m, sg = plan->scale[1] * m;
  const gfloat sb = plan->scale[2] * m;
  const gfloat br = plan->bias[0], bg = plan->bias[1], bb = plan->bias[2];
  const gint n = plan->n;
  gint t;

  for (t = 0; t < n; t++) {
    gfloat ra = g_r[8 * t], rb = g_r[8 * t + cd];
    gfloat ga = g_g[8 * t], gb = g_g[8 * t + cd];
    gfloat ba = g_b[8 * t], bb_ = g_b[8 * t + cd];
    o_r[t * os] = (ra + w[t] * (rb - ra)) * sr + br;
    o_g[t * os] = (ga + w[t] * (gb - ga)) * sg + bg;
    o_b[t * os] = (ba + w[t] * (bb_ - ba)) * sb + bb;
  }
}

G_ALWAYS_INLINE static inline void
math_row (const Plan * plan, gfloat * o_r, gfloat * o_g, gfloat * o_b,
    const gint os)
{
  const guint16 *g[3];
  const guint32 *gy, *gu, *gv;
  gint c;

  for (c = 0; c < 3; c++)
    g[c] = plan->planes[plan->comp_plane[c]].gathered + plan->comp_offset[c];
  /* the chroma pairs start at the plane's lane, whichever component comes first in it */
  gy = (const guint32 *) plan->planes[plan->comp_plane[0]].gathered;
  gu = (const guint32 *) plan->planes[plan->comp_plane[1]].gathered;
  gv = (const guint32 *) plan->planes[plan->comp_plane[2]].gathered;

  switch (plan->pixels) {
    case LAYOUT_YUV_PLANAR:
      math_yuv (plan, gy, gu, gv, o_r, o_g, o_b, LAYOUT_YUV_PLANAR, os);
      break;
    case LAYOUT_YUV_SEMI_UV:
      math_yuv (plan, gy, gu, gv, o_r, o_g, o_b, LAYOUT_YUV_SEMI_UV, os);
      break;
    case LAYOUT_YUV_SEMI_VU:
      math_yuv (plan, gy, gu, gv, o_r, o_g, o_b, LAYOUT_YUV_SEMI_VU, os);
      break;
    case LAYOUT_PACKED3:
      math_rgb (plan, g[0], g[1], g[2], o_r, o_g, o_b, 3, os);
      break;
    case LAYOUT_PACKED4:
      math_rgb (plan, g[0], g[1], g[2], o_r, o_g, o_b, 4, os);
      break;
  }
}

static void
fill_pad (const Plan * plan, gint ty, gint tx_begin, gint tx_end)
{
  gsize plane_size = (gsize) plan->width * plan->height;
  gint c, t;

  if (plan->layout == LENS_LAYOUT_NCHW) {
    for (c = 0; c < 3; c++) {
      gfloat *o = plan->dst + c * plane_size + (gsize) ty * plan->width;
      for (t = tx_begin; t < tx_end; t++)
        o[t] = plan->pad[c];
    }
  } else {
    gfloat *o = plan->dst + (gsize) ty * plan->width * 3;
    for (t = tx_begin; t < tx_end; t++) {
      o[t * 3 + 0] = plan->pad[0];
      o[t * 3 + 1] = plan->pad[1];
      o[t * 3 + 2] = plan->pad[2];
    }
  }
}

/* NHWC: the row's three channel rows (n floats each, in L1) interleaved into the tensor;
 * measured faster than letting the math store with a stride of 3. */
G_ALWAYS_INLINE static inline void
interleave3 (const gfloat * restrict planar, gint n, gfloat * restrict out)
{
  const gfloat *restrict c0 = planar, *restrict c1 = planar + n;
  const gfloat *restrict c2 = planar + 2 * (gsize) n;
  gint t;

  for (t = 0; t < n; t++) {
    out[3 * t] = c0[t];
    out[3 * t + 1] = c1[t];
    out[3 * t + 2] = c2[t];
  }
}

/* Tensor rows [ty_begin, ty_end) that show the region, through steps 1 to 3. */
G_ALWAYS_INLINE static inline void
process_rows_body (const Plan * plan, gint ty_begin, gint ty_end)
{
  const gsize plane_size = (gsize) plan->width * plan->height;
  const gint n = plan->n;
  gint ty, p, k;

  for (ty = ty_begin; ty < ty_end; ty++) {
    gint y0[2], y1[2];
    guint wq[2];

    for (k = 0; k < 2; k++)
      row_sample (&plan->ay, &plan->row_smp[k], ty, &y0[k], &y1[k], &wq[k]);

    for (p = 0; p < plan->n_planes; p++) {
      const Plane *pl = &plan->planes[p];
      const guint8 *r0 =
          pl->data + (gssize) y0[pl->cls] * pl->stride + pl->span_offset;
      const guint8 *r1 =
          pl->data + (gssize) y1[pl->cls] * pl->stride + pl->span_offset;
      vertical_blend (r0, r1, wq[pl->cls], pl->vrow, pl->span_len);
      switch (pl->lane) {
        case 2:
          gather_pairs (pl->vrow, plan->col_index[pl->cls], pl->gathered, 2, n);
          break;
        case 4:
          gather_pairs (pl->vrow, plan->col_index[pl->cls], pl->gathered, 4, n);
          break;
        default:
          gather_pairs (pl->vrow, plan->col_index[pl->cls], pl->gathered, 8, n);
          break;
      }
    }

    if (plan->layout == LENS_LAYOUT_NCHW) {
      gfloat *row = plan->dst + (gsize) ty * plan->width + plan->tx0;
      math_row (plan, row + plan->channel[0] * plane_size,
          row + plan->channel[1] * plane_size,
          row + plan->channel[2] * plane_size, 1);
    } else {
      math_row (plan, plan->tmp + plan->channel[0] * (gsize) n,
          plan->tmp + plan->channel[1] * (gsize) n,
          plan->tmp + plan->channel[2] * (gsize) n, 1);
      interleave3 (plan->tmp, n,
          plan->dst + ((gsize) ty * plan->width + plan->tx0) * 3);
    }
  }
}

static void
process_rows_generic (const Plan * plan, gint ty_begin, gint ty_end)
{
  process_rows_body (plan, ty_begin, ty_end);
}

#ifdef LENS_X86_KERNELS
__attribute__ ((target ("avx2,fma")))
static void
process_rows_avx2 (const Plan * plan, gint ty_begin, gint ty_end)
{
  process_rows_body (plan, ty_begin, ty_end);
}

/* 256-bit vectors still (the default preference): the gain is AVX-512VL's shuffles and
 * masked loop tails, without the clock penalty that 512-bit vectors cost on some CPUs. */
__attribute__ ((target ("avx512f,avx512bw,avx512vl,avx512dq,fma")))
static void
process_rows_avx512 (const Plan * plan, gint ty_begin, gint ty_end)
{
  process_rows_body (plan, ty_begin, ty_end);
}
#endif

typedef void (*ProcessRowsFunc) (const Plan * plan, gint ty_begin,
    gint ty_end);

static ProcessRowsFunc process_rows;
static const gchar *process_rows_name;

static void
choose_kernels (void)
{
  static gsize chosen = 0;

  if (g_once_init_enter (&chosen)) {
    const gchar *isa = g_getenv ("LENS_PREPROCESS_ISA");

    process_rows = process_rows_generic;
    process_rows_name = "generic";
#ifdef LENS_X86_KERNELS
    __builtin_cpu_init ();
    if (g_strcmp0 (isa, "generic") == 0) {
      /* forced */
    } else if (g_strcmp0 (isa, "avx2") != 0
        && __builtin_cpu_supports ("avx512f")
        && __builtin_cpu_supports ("avx512bw")
        && __builtin_cpu_supports ("avx512vl")
        && __builtin_cpu_supports ("avx512dq")
        && __builtin_cpu_supports ("fma")) {
      process_rows = process_rows_avx512;
      process_rows_name = "avx512";
    } else if (__builtin_cpu_supports ("avx2")
        && __builtin_cpu_supports ("fma")) {
      process_rows = process_rows_avx2;
      process_rows_name = "avx2";
    }
#else
    (void) isa;
#endif
    g_once_init_leave (&chosen, 1);
  }
}

const gchar *
lens_preprocess_kernels (void)
{
  choose_kernels ();
  return process_rows_name;
}

/* ---------------------------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------------------------- */

/* YUV -> RGB for the frame's colorimetry: any matrix GStreamer knows Kr/Kb for (BT.601,
 * BT.709, BT.2020, SMPTE 240M, FCC), limited or full range; an unknown matrix gets
 * GStreamer's default for the frame size, an unknown range limited range. Folds in the
 * 1/256 of the Q8 samples. */
static void
plan_yuv_coefficients (Plan * plan, const GstVideoInfo * info)
{
  GstVideoColorMatrix matrix = info->colorimetry.matrix;
  gboolean full = info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  gdouble kr, kb, kg, y_scale, c_scale;

  if (!gst_video_color_matrix_get_Kr_Kb (matrix, &kr, &kb)) {
    matrix = GST_VIDEO_INFO_HEIGHT (info) > 576 ?
        GST_VIDEO_COLOR_MATRIX_BT709 : GST_VIDEO_COLOR_MATRIX_BT601;
    gst_video_color_matrix_get_Kr_Kb (matrix, &kr, &kb);
  }
  kg = 1.0 - kr - kb;
  y_scale = full ? 1.0 : 255.0 / 219.0;
  c_scale = full ? 1.0 : 255.0 / 224.0;

  plan->y_mul = (gfloat) (y_scale / 256.0);
  plan->y_add = (gfloat) (-(full ? 0.0 : 16.0) * y_scale);
  plan->c_mul = (gfloat) (c_scale / 256.0);
  plan->c_add = (gfloat) (-128.0 * c_scale);
  plan->r_v = (gfloat) (2.0 * (1.0 - kr));
  plan->g_u = (gfloat) (-2.0 * kb * (1.0 - kb) / kg);
  plan->g_v = (gfloat) (-2.0 * kr * (1.0 - kr) / kg);
  plan->b_u = (gfloat) (2.0 * (1.0 - kb));
}

/* u16 elements for a plane's vertical row: the span, the slack, rounded to 16 bytes so that
 * the gathered pairs after it stay aligned for 32-bit reads. */
static gsize
vrow_alloc (const Plane * pl)
{
  return ((gsize) pl->span_len + ROW_SLACK + 7) & ~(gsize) 7;
}

static gboolean
clip_region (const GstVideoFrame * frame, const GstVideoRectangle * region,
    GstVideoRectangle * out, GError ** error)
{
  gint64 fw = GST_VIDEO_FRAME_WIDTH (frame);
  gint64 fh = GST_VIDEO_FRAME_HEIGHT (frame);
  gint64 x0 = 0, y0 = 0, x1 = fw, y1 = fh;

  if (region) {
    if (region->w <= 0 || region->h <= 0) {
      g_set_error (error, LENS_PREPROCESS_ERROR, LENS_PREPROCESS_ERROR_REGION,
          "empty region %dx%d at (%d,%d)", region->w, region->h, region->x,
          region->y);
      return FALSE;
    }
    x0 = MAX ((gint64) region->x, 0);
    y0 = MAX ((gint64) region->y, 0);
    x1 = MIN ((gint64) region->x + region->w, fw);
    y1 = MIN ((gint64) region->y + region->h, fh);
  }
  if (x1 <= x0 || y1 <= y0) {
    g_set_error (error, LENS_PREPROCESS_ERROR, LENS_PREPROCESS_ERROR_REGION,
        "region %dx%d at (%d,%d) does not overlap the %" G_GINT64_FORMAT "x%"
        G_GINT64_FORMAT " frame", region ? region->w : 0,
        region ? region->h : 0, region ? region->x : 0, region ? region->y : 0,
        fw, fh);
    return FALSE;
  }
  out->x = (gint) x0;
  out->y = (gint) y0;
  out->w = (gint) (x1 - x0);
  out->h = (gint) (y1 - y0);
  return TRUE;
}

static gboolean
check_params (const LensPreprocessParams * params, GError ** error)
{
  if (params->width <= 0 || params->height <= 0
      || params->width > MAX_TENSOR_SIDE || params->height > MAX_TENSOR_SIDE
      || (gsize) params->width > G_MAXSIZE / 3 / sizeof (gfloat)
      / (gsize) params->height) {
    g_set_error (error, LENS_PREPROCESS_ERROR, LENS_PREPROCESS_ERROR_PARAMS,
        "invalid model input size %dx%d (1 to %d per side)", params->width,
        params->height, MAX_TENSOR_SIDE);
    return FALSE;
  }
  if ((guint) params->layout > LENS_LAYOUT_NHWC
      || (guint) params->channels > LENS_CHANNELS_BGR
      || (guint) params->resize > LENS_RESIZE_CROP) {
    g_set_error (error, LENS_PREPROCESS_ERROR, LENS_PREPROCESS_ERROR_PARAMS,
        "invalid layout %d, channel order %d or resize mode %d",
        (gint) params->layout, (gint) params->channels, (gint) params->resize);
    return FALSE;
  }
  return TRUE;
}

gboolean
lens_preprocess_frame (const GstVideoFrame * frame,
    const GstVideoRectangle * region, const LensPreprocessParams * params,
    gfloat * dst, LensPreprocessTransform * transform, GError ** error)
{
  const GstVideoFormatInfo *finfo;
  GstVideoRectangle rect;
  Placement place;
  Axis ax;
  Sampling col_smp[2];
  Plan plan;
  gboolean yuv;
  gint c, k, p, t, ty, n_cls;
  gint first[2], last[2];
  gsize n_u16, n_f32, n_u32;
  gpointer mem;
  guint16 *u16p;
  gfloat *f32p;
  guint32 *u32p;

  g_return_val_if_fail (frame != NULL && params != NULL && dst != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  finfo = frame->info.finfo;
  if (finfo == NULL || !lens_preprocess_format_supported (finfo->format)) {
    g_set_error (error, LENS_PREPROCESS_ERROR, LENS_PREPROCESS_ERROR_FORMAT,
        "video format %s is not supported by preprocessing",
        finfo ? gst_video_format_to_string (finfo->format) : "(none)");
    return FALSE;
  }
  if (!check_params (params, error) || !clip_region (frame, region, &rect,
          error) || !compute_placement (params, rect.w, rect.h, &place, error))
    return FALSE;

  if (transform) {
    transform->scale_x = (gdouble) place.content_w / rect.w;
    transform->scale_y = (gdouble) place.content_h / rect.h;
    transform->offset_x = place.offset_x;
    transform->offset_y = place.offset_y;
    transform->src_x = rect.x;
    transform->src_y = rect.y;
    transform->src_w = rect.w;
    transform->src_h = rect.h;
  }
  choose_kernels ();

  memset (&plan, 0, sizeof (plan));
  ax.start = rect.x;
  ax.size = rect.w;
  ax.offset = place.offset_x;
  ax.content = place.content_w;
  plan.ay.start = rect.y;
  plan.ay.size = rect.h;
  plan.ay.offset = place.offset_y;
  plan.ay.content = place.content_h;
  plan.width = params->width;
  plan.height = params->height;
  plan.layout = params->layout;
  plan.dst = dst;

  /* tensor pixels that show the region; the rest is letterbox padding */
  plan.tx0 = MAX (place.offset_x, 0);
  plan.n = MIN (place.offset_x + place.content_w, params->width) - plan.tx0;
  plan.ty0 = MAX (place.offset_y, 0);
  plan.ty1 = MIN (place.offset_y + place.content_h, params->height);

  yuv = GST_VIDEO_FORMAT_INFO_IS_YUV (finfo);
  n_cls = yuv ? 2 : 1;
  col_smp[0].shift = 0;
  col_smp[0].cosited = TRUE;
  col_smp[1] = plan.row_smp[0] = plan.row_smp[1] = col_smp[0];
  if (yuv) {
    col_smp[1].shift = GST_VIDEO_FORMAT_INFO_W_SUB (finfo, 1);
    col_smp[1].cosited =
        (frame->info.chroma_site & GST_VIDEO_CHROMA_SITE_H_COSITED) != 0;
    plan.row_smp[1].shift = GST_VIDEO_FORMAT_INFO_H_SUB (finfo, 1);
    plan.row_smp[1].cosited =
        (frame->info.chroma_site & GST_VIDEO_CHROMA_SITE_V_COSITED) != 0;
    plan_yuv_coefficients (&plan, &frame->info);
  }
  plan.rgb_mul = 1.0f / 256.0f;

  /* planes and components */
  plan.n_planes = GST_VIDEO_FRAME_N_PLANES (frame);
  for (p = 0; p < plan.n_planes; p++) {
    plan.planes[p].data = GST_VIDEO_FRAME_PLANE_DATA (frame, p);
    plan.planes[p].stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, p);
  }
  for (c = 0; c < 3; c++) {
    Plane *pl;

    p = GST_VIDEO_FORMAT_INFO_PLANE (finfo, c);
    pl = &plan.planes[p];
    pl->cls = (yuv && c > 0) ? 1 : 0;
    pl->pstride = GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, c);
    plan.comp_plane[c] = p;
    plan.comp_offset[c] = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, c);
  }
  if (yuv && plan.planes[plan.comp_plane[1]].pstride == 1)
    plan.pixels = LAYOUT_YUV_PLANAR;
  else if (yuv)
    plan.pixels = plan.comp_offset[1] == 0 ? LAYOUT_YUV_SEMI_UV :
        LAYOUT_YUV_SEMI_VU;
  else
    plan.pixels = plan.planes[0].pstride == 3 ? LAYOUT_PACKED3 :
        LAYOUT_PACKED4;

  /* the column tables: first and last sample read per class */
  for (k = 0; k < n_cls; k++) {
    first[k] = G_MAXINT;
    last[k] = 0;
    for (t = 0; t < plan.n; t++) {
      gint i0, lo, hi;
      gdouble w;
      column_sample (&ax, &col_smp[k], plan.tx0 + t, &i0, &w);
      axis_sample_position (&ax, &col_smp[k], plan.tx0 + t, &lo, &hi);
      first[k] = MIN (first[k], i0);
      last[k] = MAX (last[k], MIN (i0 + 1, hi));
    }
  }

  /* one allocation for everything per call */
  n_u32 = (gsize) plan.n * n_cls;
  n_f32 = (gsize) plan.n * n_cls + (gsize) plan.n * 3;
  n_u16 = 0;
  for (p = 0; p < plan.n_planes; p++) {
    Plane *pl = &plan.planes[p];
    pl->span_offset = first[pl->cls] * pl->pstride;
    pl->span_len = (last[pl->cls] - first[pl->cls] + 1) * pl->pstride;
    pl->lane = pl->pstride == 1 ? 2 : pl->pstride == 2 ? 4 : 8;
    n_u16 += vrow_alloc (pl) + (gsize) pl->lane * plan.n;
  }
  mem = g_try_malloc0 (n_f32 * sizeof (gfloat) + n_u32 * sizeof (guint32) +
      n_u16 * sizeof (guint16));
  if (mem == NULL) {
    g_set_error (error, LENS_PREPROCESS_ERROR, LENS_PREPROCESS_ERROR_PARAMS,
        "out of memory for %d tensor columns", plan.n);
    return FALSE;
  }
  f32p = mem;
  u32p = (guint32 *) (f32p + n_f32);
  u16p = (guint16 *) (u32p + n_u32);

  plan.tmp = f32p;
  f32p += (gsize) plan.n * 3;

  for (k = 0; k < n_cls; k++) {
    const gint ps = plan.planes[GST_VIDEO_FORMAT_INFO_PLANE (finfo,
            k == 0 ? 0 : 1)].pstride;
    plan.col_index[k] = u32p;
    plan.col_weight[k] = f32p;
    u32p += plan.n;
    f32p += plan.n;
    for (t = 0; t < plan.n; t++) {
      gint i0;
      gdouble w;
      column_sample (&ax, &col_smp[k], plan.tx0 + t, &i0, &w);
      plan.col_index[k][t] = (guint32) ((i0 - first[k]) * ps);
      plan.col_weight[k][t] = (gfloat) w;
    }
  }
  for (p = 0; p < plan.n_planes; p++) {
    Plane *pl = &plan.planes[p];
    pl->vrow = u16p;
    u16p += vrow_alloc (pl);
    pl->gathered = u16p;
    u16p += (gsize) pl->lane * plan.n;
  }

  /* colour k (R, G, B) goes to tensor channel channel[k] */
  for (k = 0; k < 3; k++) {
    gint ch = params->channels == LENS_CHANNELS_RGB ? k : 2 - k;
    plan.channel[k] = ch;
    plan.scale[k] = params->scale[ch];
    plan.bias[k] = -params->mean[ch] * params->scale[ch];
    plan.pad[k] = ((gfloat) params->pad_value - params->mean[k]) *
        params->scale[k];
  }

  for (ty = 0; ty < plan.ty0; ty++)
    fill_pad (&plan, ty, 0, plan.width);
  for (ty = plan.ty0; ty < plan.ty1; ty++) {
    if (plan.tx0 > 0)
      fill_pad (&plan, ty, 0, plan.tx0);
    if (plan.tx0 + plan.n < plan.width)
      fill_pad (&plan, ty, plan.tx0 + plan.n, plan.width);
  }
  for (ty = plan.ty1; ty < plan.height; ty++)
    fill_pad (&plan, ty, 0, plan.width);

  process_rows (&plan, plan.ty0, plan.ty1);

  g_free (mem);
  return TRUE;
}

void
lens_preprocess_map_point (const LensPreprocessTransform * transform,
    const LensPreprocessParams * params, gdouble nx, gdouble ny,
    gdouble * frame_x, gdouble * frame_y)
{
  g_return_if_fail (transform != NULL && params != NULL);

  if (frame_x)
    *frame_x = transform->src_x +
        (nx * params->width - transform->offset_x) / transform->scale_x;
  if (frame_y)
    *frame_y = transform->src_y +
        (ny * params->height - transform->offset_y) / transform->scale_y;
}
