/* Tests of gst/preprocess.c: lens_preprocess_frame() against a straightforward
 * double-precision reference written here from the geometry and colour rules documented in
 * preprocess.h, on awkward sizes, every supported format, padded strides and plane offsets
 * (GstVideoMeta), regions, resize modes, layouts, channel orders and normalisation; the
 * transform mapping; and the error paths.
 *
 * Frames are written from a pattern function through a layout of the test's own (strides,
 * plane offsets, garbage in every byte that is not a sample), and the reference reads the
 * pattern function, not the buffer, so a stride or offset mistake cannot cancel out.
 *
 * meson runs this program twice: with the best kernels for the CPU and with
 * LENS_PREPROCESS_ISA=generic. */
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <math.h>
#include <string.h>

#include "preprocess.h"

/* Error budget, in grey levels (0..255 before normalisation).
 * The vertical weight is rounded to 1/256, which moves a sample by at most 1/512 of a pixel,
 * so a blended sample is off by at most (largest vertical step between neighbours) / 512.
 * YUV -> RGB multiplies such errors by at most y_scale + |largest chroma coefficient| *
 * c_scale (1.164 + 2.141 for BT.2020 limited range), hence YUV_ERROR_GAIN. Float32
 * arithmetic adds FLOAT_ERROR. */
#define VERTICAL_WEIGHT_SHIFT (1.0 / 512.0)
#define YUV_ERROR_GAIN 3.31
#define FLOAT_ERROR 0.01

typedef enum
{
  PATTERN_NOISE,                /* independent bytes: worst case for interpolation errors */
  PATTERN_SMOOTH,               /* slow waves: small steps, tight tolerance */
} Pattern;

typedef struct
{
  GstVideoFormat format;
  gint width, height;
  Pattern pattern;
  guint seed;
  GstBuffer *buffer;
  GstVideoFrame frame;
  gint max_vertical_step;       /* largest |p(x, y+1) - p(x, y)| over the components */
} TestFrame;

typedef struct
{
  gint extra_stride;            /* bytes added to every plane's natural row size */
  gint plane_gap;               /* bytes before each plane */
  gboolean with_meta;           /* FALSE: GstVideoInfo's default layout, no meta */
  GstVideoColorMatrix matrix;
  GstVideoColorRange range;
  GstVideoChromaSite chroma_site;
} FrameLayout;

static const FrameLayout default_layout = {
  0, 0, FALSE, GST_VIDEO_COLOR_MATRIX_BT601, GST_VIDEO_COLOR_RANGE_16_235,
  GST_VIDEO_CHROMA_SITE_MPEG2
};

static const GstVideoFormat all_formats[] = {
  GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBx,
  GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_xBGR,
  GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_ARGB,
  GST_VIDEO_FORMAT_ABGR, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_NV21,
  GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_YV12,
};

static guint32
hash32 (guint32 h)
{
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  return h;
}

/* The sample of component comp (R, G, B or Y, U, V) at (x, y) in that component's grid. */
static guint8
pattern_value (const TestFrame * tf, gint comp, gint x, gint y)
{
  if (tf->pattern == PATTERN_NOISE)
    return hash32 (tf->seed * 0x9e3779b9u + comp * 0x85ebca6bu +
        (guint32) x * 0xc2b2ae35u + (guint32) y * 0x27d4eb2fu) >> 24;
  return (guint8) lround (127.5 + 110.0 * sin (x * 0.21 + comp * 1.3 +
          tf->seed) * cos (y * 0.17 - comp * 0.7));
}

static void
test_frame_init (TestFrame * tf, GstVideoFormat format, gint width,
    gint height, Pattern pattern, guint seed, const FrameLayout * layout)
{
  const GstVideoFormatInfo *finfo = gst_video_format_get_info (format);
  GstVideoInfo info;
  gsize offset[GST_VIDEO_MAX_PLANES] = { 0 };
  gint stride[GST_VIDEO_MAX_PLANES] = { 0 };
  gint plane_rows[GST_VIDEO_MAX_PLANES] = { 0 };
  gsize size;
  GstMapInfo map;
  guint p, c;
  gint x, y;
  guint32 h = seed;

  tf->format = format;
  tf->width = width;
  tf->height = height;
  tf->pattern = pattern;
  tf->seed = seed;

  fail_unless (gst_video_info_set_format (&info, format, width, height));
  info.colorimetry.matrix = layout->matrix;
  info.colorimetry.range = layout->range;
  info.chroma_site = layout->chroma_site;

  if (layout->with_meta) {
    size = 0;
    for (p = 0; p < GST_VIDEO_FORMAT_INFO_N_PLANES (finfo); p++) {
      gint row_bytes = 0;
      for (c = 0; c < GST_VIDEO_FORMAT_INFO_N_COMPONENTS (finfo); c++) {
        if (GST_VIDEO_FORMAT_INFO_PLANE (finfo, c) != p)
          continue;
        row_bytes = MAX (row_bytes,
            GST_VIDEO_FORMAT_INFO_SCALE_WIDTH (finfo, c, width) *
            GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, c));
        plane_rows[p] = GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (finfo, c, height);
      }
      stride[p] = row_bytes + layout->extra_stride;
      offset[p] = size + layout->plane_gap;
      size = offset[p] + (gsize) stride[p] * plane_rows[p];
    }
    size += layout->plane_gap;
  } else {
    for (p = 0; p < GST_VIDEO_INFO_N_PLANES (&info); p++) {
      offset[p] = GST_VIDEO_INFO_PLANE_OFFSET (&info, p);
      stride[p] = GST_VIDEO_INFO_PLANE_STRIDE (&info, p);
    }
    size = GST_VIDEO_INFO_SIZE (&info);
  }

  tf->buffer = gst_buffer_new_allocate (NULL, size, NULL);
  fail_unless (gst_buffer_map (tf->buffer, &map, GST_MAP_WRITE));
  for (gsize i = 0; i < map.size; i++) {
    h = hash32 (h + 1);
    map.data[i] = h >> 24;      /* garbage wherever no sample is written */
  }
  tf->max_vertical_step = 0;
  for (c = 0; c < 3; c++) {
    gint cw = GST_VIDEO_FORMAT_INFO_SCALE_WIDTH (finfo, c, width);
    gint ch = GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (finfo, c, height);
    gint plane = GST_VIDEO_FORMAT_INFO_PLANE (finfo, c);
    gint ps = GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, c);
    gint po = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, c);

    for (y = 0; y < ch; y++) {
      for (x = 0; x < cw; x++) {
        gint v = pattern_value (tf, c, x, y);
        map.data[offset[plane] + (gsize) y * stride[plane] + (gsize) x * ps +
            po] = (guint8) v;
        if (y + 1 < ch)
          tf->max_vertical_step = MAX (tf->max_vertical_step,
              ABS (pattern_value (tf, c, x, y + 1) - v));
      }
    }
  }
  gst_buffer_unmap (tf->buffer, &map);

  if (layout->with_meta) {
    gst_buffer_add_video_meta_full (tf->buffer, GST_VIDEO_FRAME_FLAG_NONE,
        format, width, height, GST_VIDEO_FORMAT_INFO_N_PLANES (finfo), offset,
        stride);
  }
  fail_unless (gst_video_frame_map (&tf->frame, &info, tf->buffer,
          GST_MAP_READ));
  /* the frame really carries the layout under test */
  for (p = 0; p < GST_VIDEO_FRAME_N_PLANES (&tf->frame); p++)
    fail_unless_equals_int (GST_VIDEO_FRAME_PLANE_STRIDE (&tf->frame, p),
        stride[p]);
}

static void
test_frame_clear (TestFrame * tf)
{
  gst_video_frame_unmap (&tf->frame);
  gst_buffer_unref (tf->buffer);
}

/* ---------------------------------------------------------------------------------------
 * The reference: preprocess.h's rules, in double precision, one tensor pixel at a time.
 * ------------------------------------------------------------------------------------- */

typedef struct
{
  gint rx, ry, rw, rh;          /* clipped region */
  gint cw, ch, ox, oy;          /* placement */
} RefGeometry;

static gboolean
ref_geometry (const TestFrame * tf, const GstVideoRectangle * region,
    const LensPreprocessParams * params, RefGeometry * g)
{
  gint x0 = 0, y0 = 0, x1 = tf->width, y1 = tf->height;
  gdouble s;

  if (region) {
    x0 = MAX (region->x, 0);
    y0 = MAX (region->y, 0);
    x1 = MIN (region->x + region->w, tf->width);
    y1 = MIN (region->y + region->h, tf->height);
  }
  if (x1 <= x0 || y1 <= y0)
    return FALSE;
  g->rx = x0;
  g->ry = y0;
  g->rw = x1 - x0;
  g->rh = y1 - y0;

  switch (params->resize) {
    case LENS_RESIZE_STRETCH:
      g->cw = params->width;
      g->ch = params->height;
      g->ox = g->oy = 0;
      break;
    case LENS_RESIZE_LETTERBOX:
      s = MIN ((gdouble) params->width / g->rw, (gdouble) params->height / g->rh);
      g->cw = CLAMP ((gint) round (g->rw * s), 1, params->width);
      g->ch = CLAMP ((gint) round (g->rh * s), 1, params->height);
      g->ox = (params->width - g->cw) / 2;
      g->oy = (params->height - g->ch) / 2;
      break;
    case LENS_RESIZE_CROP:
      s = MAX ((gdouble) params->width / g->rw, (gdouble) params->height / g->rh);
      g->cw = MAX ((gint) round (g->rw * s), params->width);
      g->ch = MAX ((gint) round (g->rh * s), params->height);
      g->ox = -((g->cw - params->width) / 2);
      g->oy = -((g->ch - params->height) / 2);
      break;
  }
  return TRUE;
}

/* Bilinear sample of component comp at full-resolution position (ax, ay). */
static gdouble
ref_sample (const TestFrame * tf, const RefGeometry * g, gint comp, gdouble ax,
    gdouble ay)
{
  const GstVideoFormatInfo *finfo = gst_video_format_get_info (tf->format);
  gint ws = GST_VIDEO_FORMAT_INFO_W_SUB (finfo, comp);
  gint hs = GST_VIDEO_FORMAT_INFO_H_SUB (finfo, comp);
  GstVideoChromaSite site = tf->frame.info.chroma_site;
  gint lox = g->rx >> ws, hix = (g->rx + g->rw - 1) >> ws;
  gint loy = g->ry >> hs, hiy = (g->ry + g->rh - 1) >> hs;
  gdouble px = ax, py = ay, wx, wy;
  gint x0, x1, y0, y1;

  if (ws)
    px = (site & GST_VIDEO_CHROMA_SITE_H_COSITED) ? ax / 2 : (ax - 0.5) / 2;
  if (hs)
    py = (site & GST_VIDEO_CHROMA_SITE_V_COSITED) ? ay / 2 : (ay - 0.5) / 2;
  px = CLAMP (px, lox, hix);
  py = CLAMP (py, loy, hiy);
  x0 = (gint) floor (px);
  y0 = (gint) floor (py);
  x1 = MIN (x0 + 1, hix);
  y1 = MIN (y0 + 1, hiy);
  wx = px - x0;
  wy = py - y0;
  return (1 - wy) * ((1 - wx) * pattern_value (tf, comp, x0, y0) +
      wx * pattern_value (tf, comp, x1, y0)) +
      wy * ((1 - wx) * pattern_value (tf, comp, x0, y1) +
      wx * pattern_value (tf, comp, x1, y1));
}

static void
ref_yuv_to_rgb (const TestFrame * tf, const gdouble yuv[3], gdouble rgb[3])
{
  GstVideoColorMatrix m = tf->frame.info.colorimetry.matrix;
  gboolean full = tf->frame.info.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  gdouble kr, kb, kg, y, u, v;
  gint c;

  if (m != GST_VIDEO_COLOR_MATRIX_BT601 && m != GST_VIDEO_COLOR_MATRIX_BT709
      && m != GST_VIDEO_COLOR_MATRIX_BT2020)
    m = tf->height > 576 ? GST_VIDEO_COLOR_MATRIX_BT709 :
        GST_VIDEO_COLOR_MATRIX_BT601;
  if (m == GST_VIDEO_COLOR_MATRIX_BT601) {
    kr = 0.299;
    kb = 0.114;
  } else if (m == GST_VIDEO_COLOR_MATRIX_BT709) {
    kr = 0.2126;
    kb = 0.0722;
  } else {
    kr = 0.2627;
    kb = 0.0593;
  }
  kg = 1 - kr - kb;
  y = full ? yuv[0] : (yuv[0] - 16) * 255 / 219;
  u = (yuv[1] - 128) * (full ? 1.0 : 255.0 / 224);
  v = (yuv[2] - 128) * (full ? 1.0 : 255.0 / 224);
  rgb[0] = y + 2 * (1 - kr) * v;
  rgb[1] = y - 2 * kb * (1 - kb) / kg * u - 2 * kr * (1 - kr) / kg * v;
  rgb[2] = y + 2 * (1 - kb) * u;
  for (c = 0; c < 3; c++)
    rgb[c] = CLAMP (rgb[c], 0.0, 255.0);
}

/* The tensor (layout as in params) the rules give; FALSE for an empty region. */
static gboolean
ref_preprocess (const TestFrame * tf, const GstVideoRectangle * region,
    const LensPreprocessParams * params, gdouble * out)
{
  const GstVideoFormatInfo *finfo = gst_video_format_get_info (tf->format);
  RefGeometry g;
  gint tx, ty, c;

  if (!ref_geometry (tf, region, params, &g))
    return FALSE;

  for (ty = 0; ty < params->height; ty++) {
    for (tx = 0; tx < params->width; tx++) {
      gdouble rgb[3], val[3];
      gboolean inside = tx >= g.ox && tx < g.ox + g.cw && ty >= g.oy
          && ty < g.oy + g.ch;

      if (inside) {
        gdouble fx = (tx + 0.5 - g.ox) * g.rw / g.cw - 0.5;
        gdouble fy = (ty + 0.5 - g.oy) * g.rh / g.ch - 0.5;
        gdouble ax = g.rx + CLAMP (fx, 0.0, g.rw - 1.0);
        gdouble ay = g.ry + CLAMP (fy, 0.0, g.rh - 1.0);
        gdouble s[3];

        for (c = 0; c < 3; c++)
          s[c] = ref_sample (tf, &g, c, ax, ay);
        if (GST_VIDEO_FORMAT_INFO_IS_YUV (finfo))
          ref_yuv_to_rgb (tf, s, rgb);
        else
          memcpy (rgb, s, sizeof (rgb));
      }
      for (c = 0; c < 3; c++) {
        gint colour = params->channels == LENS_CHANNELS_RGB ? c : 2 - c;
        gdouble pixel = inside ? rgb[colour] : params->pad_value;
        val[c] = (pixel - params->mean[c]) * params->scale[c];
      }
      for (c = 0; c < 3; c++) {
        gsize i = params->layout == LENS_LAYOUT_NCHW ?
            ((gsize) c * params->height + ty) * params->width + tx :
            ((gsize) ty * params->width + tx) * 3 + c;
        out[i] = val[c];
      }
    }
  }
  return TRUE;
}

/* Runs both and compares; the tolerance follows the error budget above. */
static void
check_against_reference (const TestFrame * tf,
    const GstVideoRectangle * region, const LensPreprocessParams * params,
    const gchar * what)
{
  const GstVideoFormatInfo *finfo = gst_video_format_get_info (tf->format);
  gsize n = (gsize) params->width * params->height * 3;
  gfloat *got = g_new (gfloat, n + 1);
  gdouble *want = g_new (gdouble, n);
  gdouble tol_grey, worst = 0.0, max_scale = 0.0;
  gsize i, worst_i = 0;
  GError *err = NULL;
  LensPreprocessTransform tr;
  gint c;

  got[n] = 12345.0f;            /* must stay: nothing is written past the tensor */
  fail_unless (lens_preprocess_frame (&tf->frame, region, params, got, &tr,
          &err), "%s: %s", what, err ? err->message : "?");
  fail_unless (got[n] == 12345.0f, "%s: wrote past the tensor", what);
  fail_unless (ref_preprocess (tf, region, params, want));

  tol_grey = tf->max_vertical_step * VERTICAL_WEIGHT_SHIFT *
      (GST_VIDEO_FORMAT_INFO_IS_YUV (finfo) ? YUV_ERROR_GAIN : 1.0) +
      FLOAT_ERROR;
  for (c = 0; c < 3; c++)
    max_scale = MAX (max_scale, fabs (params->scale[c]));
  for (i = 0; i < n; i++) {
    gdouble d = fabs (got[i] - want[i]);
    if (!(d <= worst)) {        /* catches NaN too */
      worst = d;
      worst_i = i;
    }
  }
  fail_unless (worst <= tol_grey * max_scale,
      "%s: %s %dx%d -> %dx%d: max error %.4f grey levels at element %"
      G_GSIZE_FORMAT " (got %f, want %f), tolerance %.4f", what,
      gst_video_format_to_string (tf->format), tf->width, tf->height,
      params->width, params->height, worst / max_scale, worst_i, got[worst_i],
      want[worst_i], tol_grey);
  g_free (got);
  g_free (want);
}

static void
params_for (LensPreprocessParams * params, gint w, gint h,
    LensResizeMode resize, LensTensorLayout layout, LensChannelOrder order)
{
  lens_preprocess_params_init (params);
  params->width = w;
  params->height = h;
  params->resize = resize;
  params->layout = layout;
  params->channels = order;
}

/* ---------------------------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------------------------- */

GST_START_TEST (test_preprocess_params_defaults)
{
  LensPreprocessParams params;

  memset (&params, 0xab, sizeof (params));
  lens_preprocess_params_init (&params);
  fail_unless_equals_int (params.layout, LENS_LAYOUT_NCHW);
  fail_unless_equals_int (params.resize, LENS_RESIZE_STRETCH);
  fail_unless_equals_int (params.channels, LENS_CHANNELS_RGB);
  fail_unless_equals_int (params.pad_value, 114);
  fail_unless_equals_float (params.mean[1], 0.0f);
  fail_unless_equals_float (params.scale[2], 1.0f / 255.0f);
  fail_unless (lens_preprocess_kernels () != NULL);
  GST_INFO ("kernels: %s", lens_preprocess_kernels ());
}

GST_END_TEST;

GST_START_TEST (test_preprocess_supported_formats)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (all_formats); i++)
    fail_unless (lens_preprocess_format_supported (all_formats[i]));
  fail_if (lens_preprocess_format_supported (GST_VIDEO_FORMAT_GRAY8));
  fail_if (lens_preprocess_format_supported (GST_VIDEO_FORMAT_YUY2));
  fail_if (lens_preprocess_format_supported (GST_VIDEO_FORMAT_I420_10LE));
  fail_if (lens_preprocess_format_supported (GST_VIDEO_FORMAT_UNKNOWN));
}

GST_END_TEST;

/* Every format, awkward frame and tensor sizes (down- and upscaling, 1x1 both ways), all
 * resize modes, both layouts, both channel orders. */
GST_START_TEST (test_preprocess_every_format_matches_reference)
{
  static const gint frame_sizes[][2] = { {1, 1}, {3, 5}, {17, 9}, {2, 2} };
  static const gint tensor_sizes[][2] = { {1, 1}, {7, 3}, {16, 16}, {33, 17} };
  guint f, s, t, mode;

  for (f = 0; f < G_N_ELEMENTS (all_formats); f++) {
    for (s = 0; s < G_N_ELEMENTS (frame_sizes); s++) {
      TestFrame tf;
      test_frame_init (&tf, all_formats[f], frame_sizes[s][0],
          frame_sizes[s][1], PATTERN_NOISE, f * 10 + s, &default_layout);
      for (t = 0; t < G_N_ELEMENTS (tensor_sizes); t++) {
        for (mode = LENS_RESIZE_STRETCH; mode <= LENS_RESIZE_CROP; mode++) {
          LensPreprocessParams params;
          params_for (&params, tensor_sizes[t][0], tensor_sizes[t][1], mode,
              (t & 1) ? LENS_LAYOUT_NHWC : LENS_LAYOUT_NCHW,
              (mode & 1) ? LENS_CHANNELS_BGR : LENS_CHANNELS_RGB);
          check_against_reference (&tf, NULL, &params, "small");
        }
      }
      test_frame_clear (&tf);
    }
  }
}

GST_END_TEST;

/* A larger odd frame, both patterns (noise: worst-case budget; smooth: tight budget). */
GST_START_TEST (test_preprocess_large_odd_frame_matches_reference)
{
  static const GstVideoFormat formats[] = {
    GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_RGB,
    GST_VIDEO_FORMAT_BGRx,
  };
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    TestFrame noise, smooth;
    LensPreprocessParams params;

    test_frame_init (&noise, formats[f], 641, 479, PATTERN_NOISE, 7,
        &default_layout);
    test_frame_init (&smooth, formats[f], 641, 479, PATTERN_SMOOTH, 3,
        &default_layout);
    fail_unless (smooth.max_vertical_step < 30);

    params_for (&params, 224, 160, LENS_RESIZE_STRETCH, LENS_LAYOUT_NCHW,
        LENS_CHANNELS_RGB);
    check_against_reference (&noise, NULL, &params, "641x479 noise stretch");
    check_against_reference (&smooth, NULL, &params, "641x479 smooth stretch");
    params_for (&params, 97, 131, LENS_RESIZE_LETTERBOX, LENS_LAYOUT_NHWC,
        LENS_CHANNELS_BGR);
    check_against_reference (&smooth, NULL, &params, "641x479 letterbox");
    params_for (&params, 131, 97, LENS_RESIZE_CROP, LENS_LAYOUT_NCHW,
        LENS_CHANNELS_RGB);
    check_against_reference (&smooth, NULL, &params, "641x479 crop");
    /* upscaling past the frame size */
    params_for (&params, 700, 9, LENS_RESIZE_STRETCH, LENS_LAYOUT_NCHW,
        LENS_CHANNELS_RGB);
    check_against_reference (&noise, NULL, &params, "641x479 -> 700x9");

    test_frame_clear (&noise);
    test_frame_clear (&smooth);
  }
}

GST_END_TEST;

/* The benchmark's case, big enough for the non-temporal store path. */
GST_START_TEST (test_preprocess_1080p_nv12_to_640x640)
{
  TestFrame tf;
  LensPreprocessParams params;

  test_frame_init (&tf, GST_VIDEO_FORMAT_NV12, 1920, 1080, PATTERN_SMOOTH, 1,
      &default_layout);
  params_for (&params, 640, 640, LENS_RESIZE_STRETCH, LENS_LAYOUT_NCHW,
      LENS_CHANNELS_RGB);
  check_against_reference (&tf, NULL, &params, "1080p NCHW");
  params_for (&params, 640, 640, LENS_RESIZE_LETTERBOX, LENS_LAYOUT_NHWC,
      LENS_CHANNELS_BGR);
  check_against_reference (&tf, NULL, &params, "1080p NHWC letterbox");
  test_frame_clear (&tf);
}

GST_END_TEST;

/* Strides larger than a row (odd extra bytes too) and planes at odd offsets, from a
 * GstVideoMeta that the frame's GstVideoInfo does not know about. */
GST_START_TEST (test_preprocess_honours_strides_and_plane_offsets)
{
  static const gint extras[][2] = { {0, 0}, {1, 3}, {13, 1}, {64, 17} };
  guint f, e;

  for (f = 0; f < G_N_ELEMENTS (all_formats); f++) {
    for (e = 0; e < G_N_ELEMENTS (extras); e++) {
      FrameLayout layout = default_layout;
      TestFrame tf;
      LensPreprocessParams params;
      GstVideoRectangle region = { 3, 1, 20, 9 };

      layout.with_meta = TRUE;
      layout.extra_stride = extras[e][0];
      layout.plane_gap = extras[e][1];
      test_frame_init (&tf, all_formats[f], 37, 23, PATTERN_NOISE, e, &layout);
      params_for (&params, 19, 11, LENS_RESIZE_STRETCH, LENS_LAYOUT_NCHW,
          LENS_CHANNELS_RGB);
      check_against_reference (&tf, NULL, &params, "strided");
      params_for (&params, 8, 8, LENS_RESIZE_LETTERBOX, LENS_LAYOUT_NHWC,
          LENS_CHANNELS_RGB);
      check_against_reference (&tf, &region, &params, "strided region");
      test_frame_clear (&tf);
    }
  }
}

GST_END_TEST;

/* Regions at odd positions (chroma pairs split), partly outside the frame (clipped), one
 * pixel wide or high, and the transform they report. */
GST_START_TEST (test_preprocess_regions)
{
  static const GstVideoRectangle regions[] = {
    {0, 0, 29, 21}, {1, 1, 7, 5}, {5, 3, 1, 9}, {6, 2, 11, 1}, {28, 20, 1, 1},
    {-4, -3, 10, 8}, {20, 15, 100, 100}, {-100, -100, 1000, 1000}, {3, 0, 2, 21},
  };
  static const GstVideoFormat formats[] = {
    GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_RGB,
    GST_VIDEO_FORMAT_ABGR,
  };
  guint f, r, mode;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    TestFrame tf;
    test_frame_init (&tf, formats[f], 29, 21, PATTERN_NOISE, 100 + f,
        &default_layout);
    for (r = 0; r < G_N_ELEMENTS (regions); r++) {
      for (mode = LENS_RESIZE_STRETCH; mode <= LENS_RESIZE_CROP; mode++) {
        LensPreprocessParams params;
        LensPreprocessTransform tr;
        RefGeometry g;
        gfloat *dst = g_new (gfloat, 12 * 10 * 3);

        params_for (&params, 12, 10, mode, LENS_LAYOUT_NCHW, LENS_CHANNELS_RGB);
        check_against_reference (&tf, &regions[r], &params, "region");

        fail_unless (lens_preprocess_frame (&tf.frame, &regions[r], &params,
                dst, &tr, NULL));
        fail_unless (ref_geometry (&tf, &regions[r], &params, &g));
        fail_unless_equals_int (tr.src_x, g.rx);
        fail_unless_equals_int (tr.src_y, g.ry);
        fail_unless_equals_int (tr.src_w, g.rw);
        fail_unless_equals_int (tr.src_h, g.rh);
        fail_unless_equals_float (tr.offset_x, g.ox);
        fail_unless_equals_float (tr.offset_y, g.oy);
        fail_unless (fabs (tr.scale_x - (gdouble) g.cw / g.rw) < 1e-12);
        fail_unless (fabs (tr.scale_y - (gdouble) g.ch / g.rh) < 1e-12);
        g_free (dst);
      }
    }
    test_frame_clear (&tf);
  }
}

GST_END_TEST;

/* Matrices, ranges and chroma sitings from the frame's colorimetry, on a smooth frame where
 * the budget is tight enough to tell BT.601 from BT.709. */
GST_START_TEST (test_preprocess_colorimetry)
{
  static const GstVideoColorMatrix matrices[] = {
    GST_VIDEO_COLOR_MATRIX_BT601, GST_VIDEO_COLOR_MATRIX_BT709,
    GST_VIDEO_COLOR_MATRIX_BT2020, GST_VIDEO_COLOR_MATRIX_UNKNOWN,
  };
  static const GstVideoColorRange ranges[] = {
    GST_VIDEO_COLOR_RANGE_16_235, GST_VIDEO_COLOR_RANGE_0_255,
    GST_VIDEO_COLOR_RANGE_UNKNOWN,
  };
  static const GstVideoChromaSite sites[] = {
    GST_VIDEO_CHROMA_SITE_MPEG2, GST_VIDEO_CHROMA_SITE_JPEG,
    GST_VIDEO_CHROMA_SITE_COSITED, GST_VIDEO_CHROMA_SITE_V_COSITED,
  };
  guint m, r, s;

  for (m = 0; m < G_N_ELEMENTS (matrices); m++) {
    for (r = 0; r < G_N_ELEMENTS (ranges); r++) {
      for (s = 0; s < G_N_ELEMENTS (sites); s++) {
        FrameLayout layout = default_layout;
        TestFrame tf;
        LensPreprocessParams params;
        GstVideoRectangle region = { 3, 5, 41, 33 };

        layout.matrix = matrices[m];
        layout.range = ranges[r];
        layout.chroma_site = sites[s];
        test_frame_init (&tf, (s & 1) ? GST_VIDEO_FORMAT_I420 :
            GST_VIDEO_FORMAT_NV21, 57, 45, PATTERN_SMOOTH, m * 7 + r, &layout);
        params_for (&params, 23, 29, LENS_RESIZE_STRETCH, LENS_LAYOUT_NCHW,
            LENS_CHANNELS_RGB);
        check_against_reference (&tf, &region, &params, "colorimetry");
        test_frame_clear (&tf);
      }
    }
  }

  /* an unknown matrix above 576 lines is BT.709, as GStreamer's default */
  {
    FrameLayout layout = default_layout;
    TestFrame tf;
    LensPreprocessParams params;

    layout.matrix = GST_VIDEO_COLOR_MATRIX_UNKNOWN;
    test_frame_init (&tf, GST_VIDEO_FORMAT_NV12, 24, 600, PATTERN_SMOOTH, 4,
        &layout);
    params_for (&params, 16, 40, LENS_RESIZE_STRETCH, LENS_LAYOUT_NCHW,
        LENS_CHANNELS_RGB);
    check_against_reference (&tf, NULL, &params, "unknown matrix, 600 lines");
    test_frame_clear (&tf);
  }
}

GST_END_TEST;

/* BT.601 and BT.709 really differ by more than the budget (so the test above can tell). */
GST_START_TEST (test_preprocess_matrix_changes_output)
{
  FrameLayout l601 = default_layout, l709 = default_layout;
  TestFrame a, b;
  LensPreprocessParams params;
  gfloat *oa = g_new (gfloat, 8 * 8 * 3), *ob = g_new (gfloat, 8 * 8 * 3);
  gdouble diff = 0.0;
  gint i;

  l709.matrix = GST_VIDEO_COLOR_MATRIX_BT709;
  test_frame_init (&a, GST_VIDEO_FORMAT_NV12, 16, 16, PATTERN_SMOOTH, 2, &l601);
  test_frame_init (&b, GST_VIDEO_FORMAT_NV12, 16, 16, PATTERN_SMOOTH, 2, &l709);
  params_for (&params, 8, 8, LENS_RESIZE_STRETCH, LENS_LAYOUT_NCHW,
      LENS_CHANNELS_RGB);
  params.scale[0] = params.scale[1] = params.scale[2] = 1.0f;
  fail_unless (lens_preprocess_frame (&a.frame, NULL, &params, oa, NULL, NULL));
  fail_unless (lens_preprocess_frame (&b.frame, NULL, &params, ob, NULL, NULL));
  for (i = 0; i < 8 * 8 * 3; i++)
    diff = MAX (diff, fabs (oa[i] - ob[i]));
  fail_unless (diff > 5.0, "BT.601 and BT.709 differ by only %f", diff);
  test_frame_clear (&a);
  test_frame_clear (&b);
  g_free (oa);
  g_free (ob);
}

GST_END_TEST;

/* Mean and scale per channel in the tensor's channel order; BGR swaps channels; NHWC is
 * NCHW transposed. */
GST_START_TEST (test_preprocess_normalisation_order_and_layout)
{
  TestFrame tf;
  LensPreprocessParams params;
  const gint w = 13, h = 7;
  gfloat *nchw = g_new (gfloat, w * h * 3), *nhwc = g_new (gfloat, w * h * 3);
  gfloat *bgr = g_new (gfloat, w * h * 3);
  gint c, i;

  test_frame_init (&tf, GST_VIDEO_FORMAT_BGRx, 40, 30, PATTERN_NOISE, 5,
      &default_layout);
  params_for (&params, w, h, LENS_RESIZE_LETTERBOX, LENS_LAYOUT_NCHW,
      LENS_CHANNELS_RGB);
  params.mean[0] = 123.675f;
  params.mean[1] = 116.28f;
  params.mean[2] = 103.53f;
  params.scale[0] = 1.0f / 58.395f;
  params.scale[1] = 1.0f / 57.12f;
  params.scale[2] = -1.0f / 57.375f;
  params.pad_value = 0;
  check_against_reference (&tf, NULL, &params, "imagenet normalisation");
  fail_unless (lens_preprocess_frame (&tf.frame, NULL, &params, nchw, NULL,
          NULL));

  params.layout = LENS_LAYOUT_NHWC;
  check_against_reference (&tf, NULL, &params, "imagenet NHWC");
  fail_unless (lens_preprocess_frame (&tf.frame, NULL, &params, nhwc, NULL,
          NULL));
  for (c = 0; c < 3; c++)
    for (i = 0; i < w * h; i++)
      fail_unless_equals_float (nchw[c * w * h + i], nhwc[i * 3 + c]);

  /* mean and scale follow the tensor's channels, whatever colour they hold */
  params.channels = LENS_CHANNELS_BGR;
  check_against_reference (&tf, NULL, &params, "imagenet BGR NHWC");

  /* BGR with the same numbers per tensor channel: channel 0 is now blue */
  params.layout = LENS_LAYOUT_NCHW;
  params.mean[0] = params.mean[1] = params.mean[2] = 0.0f;
  params.scale[0] = params.scale[1] = params.scale[2] = 1.0f;
  check_against_reference (&tf, NULL, &params, "BGR");
  fail_unless (lens_preprocess_frame (&tf.frame, NULL, &params, bgr, NULL,
          NULL));
  params.channels = LENS_CHANNELS_RGB;
  fail_unless (lens_preprocess_frame (&tf.frame, NULL, &params, nchw, NULL,
          NULL));
  for (i = 0; i < w * h; i++) {
    fail_unless_equals_float (bgr[i], nchw[2 * w * h + i]);
    fail_unless_equals_float (bgr[w * h + i], nchw[w * h + i]);
    fail_unless_equals_float (bgr[2 * w * h + i], nchw[i]);
  }

  test_frame_clear (&tf);
  g_free (nchw);
  g_free (nhwc);
  g_free (bgr);
}

GST_END_TEST;

/* Letterbox: 200x100 into 64x64 is 64x32 content at row 16, pad_value around it. Crop:
 * 64x32 of the middle of 100x50 scaled. */
GST_START_TEST (test_preprocess_letterbox_and_crop_geometry)
{
  TestFrame tf;
  LensPreprocessParams params;
  LensPreprocessTransform tr;
  gfloat *dst = g_new (gfloat, 64 * 64 * 3);
  gint x, y, c;

  test_frame_init (&tf, GST_VIDEO_FORMAT_RGBA, 200, 100, PATTERN_NOISE, 9,
      &default_layout);
  params_for (&params, 64, 64, LENS_RESIZE_LETTERBOX, LENS_LAYOUT_NCHW,
      LENS_CHANNELS_RGB);
  params.pad_value = 77;
  params.scale[0] = params.scale[1] = params.scale[2] = 1.0f;
  params.mean[1] = 7.0f;
  fail_unless (lens_preprocess_frame (&tf.frame, NULL, &params, dst, &tr,
          NULL));
  fail_unless_equals_float (tr.offset_x, 0.0);
  fail_unless_equals_float (tr.offset_y, 16.0);
  fail_unless_equals_float (tr.scale_x, 64.0 / 200.0);
  fail_unless_equals_float (tr.scale_y, 32.0 / 100.0);
  for (c = 0; c < 3; c++) {
    for (y = 0; y < 64; y++) {
      for (x = 0; x < 64; x++) {
        gfloat v = dst[(c * 64 + y) * 64 + x];
        if (y < 16 || y >= 48)
          fail_unless_equals_float (v, 77.0f - (c == 1 ? 7.0f : 0.0f));
      }
    }
  }
  check_against_reference (&tf, NULL, &params, "letterbox");

  /* a tall region letterboxes sideways */
  {
    GstVideoRectangle region = { 10, 0, 25, 100 };
    fail_unless (lens_preprocess_frame (&tf.frame, &region, &params, dst, &tr,
            NULL));
    fail_unless_equals_float (tr.offset_x, 24.0);    /* 25 * 0.64 = 16 wide */
    fail_unless_equals_float (tr.offset_y, 0.0);
    fail_unless_equals_int (tr.src_x, 10);
    check_against_reference (&tf, &region, &params, "letterbox sideways");
  }

  params.resize = LENS_RESIZE_CROP;
  fail_unless (lens_preprocess_frame (&tf.frame, NULL, &params, dst, &tr,
          NULL));
  fail_unless_equals_float (tr.scale_x, 128.0 / 200.0);
  fail_unless_equals_float (tr.scale_y, 64.0 / 100.0);
  fail_unless_equals_float (tr.offset_x, -32.0);
  fail_unless_equals_float (tr.offset_y, 0.0);
  check_against_reference (&tf, NULL, &params, "crop");

  test_frame_clear (&tf);
  g_free (dst);
}

GST_END_TEST;

/* A frame point goes to the tensor by the documented transform and comes back through
 * lens_preprocess_map_point(); and a bright square lands where the mapping says. */
GST_START_TEST (test_preprocess_map_point_round_trip)
{
  static const GstVideoRectangle regions[] = {
    {0, 0, 320, 180}, {40, 30, 100, 120}, {-10, 50, 90, 40},
  };
  guint r, mode;
  TestFrame tf;

  test_frame_init (&tf, GST_VIDEO_FORMAT_RGB, 320, 180, PATTERN_NOISE, 1,
      &default_layout);
  for (r = 0; r < G_N_ELEMENTS (regions); r++) {
    for (mode = LENS_RESIZE_STRETCH; mode <= LENS_RESIZE_CROP; mode++) {
      LensPreprocessParams params;
      LensPreprocessTransform tr;
      gfloat *dst = g_new (gfloat, 96 * 64 * 3);
      gdouble px = MAX (regions[r].x, 0) + 17.25, py = regions[r].y + 11.5;
      gdouble tx, ty, fx, fy;

      py = MAX (py, 11.5);
      params_for (&params, 96, 64, mode, LENS_LAYOUT_NCHW, LENS_CHANNELS_RGB);
      fail_unless (lens_preprocess_frame (&tf.frame, &regions[r], &params, dst,
              &tr, NULL));
      tx = tr.offset_x + (px - tr.src_x) * tr.scale_x;
      ty = tr.offset_y + (py - tr.src_y) * tr.scale_y;
      lens_preprocess_map_point (&tr, &params, tx / params.width,
          ty / params.height, &fx, &fy);
      fail_unless (fabs (fx - px) < 1e-9 && fabs (fy - py) < 1e-9,
          "(%f, %f) came back as (%f, %f)", px, py, fx, fy);
      /* the tensor's corners map to the region's (stretch) */
      if (mode == LENS_RESIZE_STRETCH) {
        lens_preprocess_map_point (&tr, &params, 0.0, 0.0, &fx, &fy);
        fail_unless (fabs (fx - MAX (regions[r].x, 0)) < 1e-9);
        fail_unless (fabs (fy - MAX (regions[r].y, 0)) < 1e-9);
      }
      g_free (dst);
    }
  }
  test_frame_clear (&tf);

  /* the centre of a white 20x20 square at (201, 61) in a black 320x180 frame: bilinear
   * at 1/2 scale keeps the square's centroid exactly */
  {
    GstVideoInfo info;
    GstBuffer *buf;
    GstVideoFrame frame;
    LensPreprocessParams params;
    LensPreprocessTransform tr;
    gfloat *dst = g_new (gfloat, 160 * 160 * 3);
    gdouble sx = 0, sy = 0, sw = 0, fx, fy;
    gint x, y;

    gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGBx, 320, 180);
    buf = gst_buffer_new_allocate (NULL, info.size, NULL);
    gst_buffer_memset (buf, 0, 0, info.size);
    fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_READWRITE));
    for (y = 61; y < 81; y++)
      memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
          y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0) + 201 * 4, 255, 20 * 4);
    params_for (&params, 160, 160, LENS_RESIZE_LETTERBOX, LENS_LAYOUT_NCHW,
        LENS_CHANNELS_RGB);
    params.pad_value = 0;
    fail_unless (lens_preprocess_frame (&frame, NULL, &params, dst, &tr, NULL));
    fail_unless_equals_float (tr.offset_y, 35.0);
    for (y = 0; y < 160; y++) {
      for (x = 0; x < 160; x++) {
        gdouble v = dst[y * 160 + x];
        sx += v * (x + 0.5);
        sy += v * (y + 0.5);
        sw += v;
      }
    }
    fail_unless (sw > 0.0);
    lens_preprocess_map_point (&tr, &params, sx / sw / 160, sy / sw / 160, &fx,
        &fy);
    fail_unless (fabs (fx - 211.0) < 1e-3 && fabs (fy - 71.0) < 1e-3,
        "square centre (211, 71) mapped back as (%f, %f)", fx, fy);
    gst_video_frame_unmap (&frame);
    gst_buffer_unref (buf);
    g_free (dst);
  }
}

GST_END_TEST;

GST_START_TEST (test_preprocess_rejects_unsupported_format)
{
  static const GstVideoFormat formats[] = {
    GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_YUY2, GST_VIDEO_FORMAT_Y444,
    GST_VIDEO_FORMAT_P010_10LE,
  };
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstVideoInfo info;
    GstBuffer *buf;
    GstVideoFrame frame;
    LensPreprocessParams params;
    gfloat dst[4 * 4 * 3];
    GError *err = NULL;

    gst_video_info_set_format (&info, formats[f], 8, 8);
    buf = gst_buffer_new_allocate (NULL, info.size, NULL);
    fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_READ));
    params_for (&params, 4, 4, LENS_RESIZE_STRETCH, LENS_LAYOUT_NCHW,
        LENS_CHANNELS_RGB);
    fail_if (lens_preprocess_frame (&frame, NULL, &params, dst, NULL, &err));
    fail_unless (err != NULL);
    fail_unless (g_error_matches (err, LENS_PREPROCESS_ERROR,
            LENS_PREPROCESS_ERROR_FORMAT), "%s", err->message);
    fail_unless (strstr (err->message,
            gst_video_format_to_string (formats[f])) != NULL);
    g_clear_error (&err);
    /* a NULL error is fine too */
    fail_if (lens_preprocess_frame (&frame, NULL, &params, dst, NULL, NULL));
    gst_video_frame_unmap (&frame);
    gst_buffer_unref (buf);
  }
}

GST_END_TEST;

GST_START_TEST (test_preprocess_rejects_empty_region)
{
  static const GstVideoRectangle regions[] = {
    {0, 0, 0, 5}, {0, 0, 5, 0}, {2, 2, -3, 4}, {16, 0, 4, 4}, {0, 12, 4, 4},
    {-5, 0, 5, 4}, {0, -4, 4, 4}, {G_MAXINT - 1, 0, G_MAXINT, 4},
    {G_MININT, G_MININT, G_MAXINT, G_MAXINT},
  };
  TestFrame tf;
  guint r;

  test_frame_init (&tf, GST_VIDEO_FORMAT_NV12, 16, 12, PATTERN_NOISE, 0,
      &default_layout);
  for (r = 0; r < G_N_ELEMENTS (regions); r++) {
    LensPreprocessParams params;
    gfloat dst[4 * 4 * 3];
    GError *err = NULL;

    params_for (&params, 4, 4, LENS_RESIZE_LETTERBOX, LENS_LAYOUT_NCHW,
        LENS_CHANNELS_RGB);
    fail_if (lens_preprocess_frame (&tf.frame, &regions[r], &params, dst, NULL,
            &err), "region %u accepted", r);
    fail_unless (g_error_matches (err, LENS_PREPROCESS_ERROR,
            LENS_PREPROCESS_ERROR_REGION));
    g_clear_error (&err);
  }
  test_frame_clear (&tf);
}

GST_END_TEST;

GST_START_TEST (test_preprocess_rejects_invalid_params)
{
  TestFrame tf;
  LensPreprocessParams params;
  gfloat dst[4 * 4 * 3];
  GError *err = NULL;
  gint i;

  test_frame_init (&tf, GST_VIDEO_FORMAT_RGB, 16, 12, PATTERN_NOISE, 0,
      &default_layout);
  for (i = 0; i < 7; i++) {
    params_for (&params, 4, 4, LENS_RESIZE_STRETCH, LENS_LAYOUT_NCHW,
        LENS_CHANNELS_RGB);
    switch (i) {
      case 0:
        params.width = 0;
        break;
      case 1:
        params.height = -3;
        break;
      case 2:
        params.width = params.height = G_MAXINT;
        break;
      case 3:
        params.layout = (LensTensorLayout) 7;
        break;
      case 4:
        params.channels = (LensChannelOrder) - 1;
        break;
      case 5:
        params.resize = (LensResizeMode) 3;
        break;
      case 6:
        params.width = 32769;   /* above the documented limit */
        break;
    }
    fail_if (lens_preprocess_frame (&tf.frame, NULL, &params, dst, NULL,
            &err), "params %d accepted", i);
    fail_unless (g_error_matches (err, LENS_PREPROCESS_ERROR,
            LENS_PREPROCESS_ERROR_PARAMS));
    g_clear_error (&err);
  }
  test_frame_clear (&tf);
}

GST_END_TEST;

/* A one-pixel-wide region centre-cropped into a wide tensor would need a huge scaled size;
 * refused rather than overflowing. */
GST_START_TEST (test_preprocess_rejects_degenerate_crop)
{
  GstVideoInfo info;
  GstBuffer *buf;
  GstVideoFrame frame;
  LensPreprocessParams params;
  GstVideoRectangle region = { 0, 0, 1, 30000 };
  gfloat *dst;
  GError *err = NULL;

  /* a 1 x 30000 RGB frame into a 30000 x 1 tensor: 30000 * 30000 rows when cropped */
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 1, 30000);
  buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_READ));
  params_for (&params, 30000, 1, LENS_RESIZE_CROP, LENS_LAYOUT_NCHW,
      LENS_CHANNELS_RGB);
  dst = g_new (gfloat, 30000 * 3);
  fail_if (lens_preprocess_frame (&frame, &region, &params, dst, NULL, &err));
  fail_unless (g_error_matches (err, LENS_PREPROCESS_ERROR,
          LENS_PREPROCESS_ERROR_REGION));
  g_clear_error (&err);
  g_free (dst);
  gst_video_frame_unmap (&frame);
  gst_buffer_unref (buf);
}

GST_END_TEST;

static Suite *
preprocess_suite (void)
{
  Suite *s = suite_create ("preprocess");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_preprocess_params_defaults);
  tcase_add_test (tc, test_preprocess_supported_formats);
  tcase_add_test (tc, test_preprocess_every_format_matches_reference);
  tcase_add_test (tc, test_preprocess_large_odd_frame_matches_reference);
  tcase_add_test (tc, test_preprocess_1080p_nv12_to_640x640);
  tcase_add_test (tc, test_preprocess_honours_strides_and_plane_offsets);
  tcase_add_test (tc, test_preprocess_regions);
  tcase_add_test (tc, test_preprocess_colorimetry);
  tcase_add_test (tc, test_preprocess_matrix_changes_output);
  tcase_add_test (tc, test_preprocess_normalisation_order_and_layout);
  tcase_add_test (tc, test_preprocess_letterbox_and_crop_geometry);
  tcase_add_test (tc, test_preprocess_map_point_round_trip);
  tcase_add_test (tc, test_preprocess_rejects_unsupported_format);
  tcase_add_test (tc, test_preprocess_rejects_empty_region);
  tcase_add_test (tc, test_preprocess_rejects_invalid_params);
  tcase_add_test (tc, test_preprocess_rejects_degenerate_crop);
  return s;
}

int
main (int argc, char **argv)
{
  Suite *s;
  SRunner *sr;
  gint run, failed;

  gst_check_init (&argc, &argv);
  g_print ("preprocess kernels: %s\n", lens_preprocess_kernels ());
  s = preprocess_suite ();
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  run = srunner_ntests_run (sr);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  g_print ("%d passed, %d failed\n", run - failed, failed);
  return failed == 0 ? 0 : 1;
}
