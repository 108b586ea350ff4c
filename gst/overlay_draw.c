/* Drawing primitives for lensoverlay: see overlay_draw.h. */
#include "overlay_draw.h"

#include <math.h>
#include <string.h>

/* Longest label drawn, in bytes and in pixels: region labels come from model files and
 * recognisers, so their length is data and must not size an unbounded surface. */
#define LABEL_MAX_BYTES 256
#define LABEL_MAX_WIDTH 4096

static inline guint8
blend8 (guint8 dst, guint8 src, guint8 alpha)
{
  guint v = (guint) src * alpha + (guint) dst * (255u - alpha) + 128u;
  return (guint8) ((v + (v >> 8)) >> 8);
}

static inline guint8
clamp_u8 (gdouble v)
{
  if (v <= 0.0)
    return 0;
  if (v >= 255.0)
    return 255;
  return (guint8) (v + 0.5);
}

gboolean
lens_canvas_init (LensCanvas * canvas, GstVideoFrame * frame)
{
  const GstVideoFormatInfo *finfo = frame->info.finfo;
  memset (canvas, 0, sizeof *canvas);
  canvas->frame = frame;
  canvas->width = GST_VIDEO_FRAME_WIDTH (frame);
  canvas->height = GST_VIDEO_FRAME_HEIGHT (frame);
  if (canvas->width <= 0 || canvas->height <= 0)
    return FALSE;

  if (GST_VIDEO_FORMAT_INFO_IS_RGB (finfo)) {
    if (GST_VIDEO_FRAME_N_PLANES (frame) != 1
        || GST_VIDEO_FORMAT_INFO_DEPTH (finfo, 0) != 8)
      return FALSE;
    canvas->pixels = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
    canvas->stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
    canvas->pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, GST_VIDEO_COMP_R);
    canvas->off_r = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_R);
    canvas->off_g = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_G);
    canvas->off_b = GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_B);
    canvas->off_a = GST_VIDEO_FORMAT_INFO_HAS_ALPHA (finfo) ?
        (gint) GST_VIDEO_FRAME_COMP_POFFSET (frame, GST_VIDEO_COMP_A) : -1;
    return canvas->pstride == 3 || canvas->pstride == 4;
  }

  if (GST_VIDEO_FORMAT_INFO_IS_YUV (finfo)
      && GST_VIDEO_FRAME_N_COMPONENTS (frame) == 3) {
    gdouble kr, kb;
    for (guint c = 0; c < 3; c++) {
      if (GST_VIDEO_FORMAT_INFO_DEPTH (finfo, c) != 8)
        return FALSE;
      canvas->comp[c] = GST_VIDEO_FRAME_COMP_DATA (frame, c);
      canvas->comp_stride[c] = GST_VIDEO_FRAME_COMP_STRIDE (frame, c);
      canvas->comp_pstride[c] = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, c);
      canvas->comp_width[c] = GST_VIDEO_FRAME_COMP_WIDTH (frame, c);
      canvas->comp_height[c] = GST_VIDEO_FRAME_COMP_HEIGHT (frame, c);
      canvas->wsub[c] = GST_VIDEO_FORMAT_INFO_W_SUB (finfo, c);
      canvas->hsub[c] = GST_VIDEO_FORMAT_INFO_H_SUB (finfo, c);
      if (canvas->wsub[c] > 2 || canvas->hsub[c] > 2)
        return FALSE;
    }
    if (!gst_video_color_matrix_get_Kr_Kb (frame->info.colorimetry.matrix, &kr,
            &kb)) {
      kr = 0.299;
      kb = 0.114;
    }
    canvas->kr = kr;
    canvas->kb = kb;
    canvas->full_range =
        frame->info.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
    canvas->is_yuv = TRUE;
    return TRUE;
  }
  return FALSE;
}

/* Premultiplied (or straight) RGB in 0..255 -> Y', Cb', Cr' without the offsets. */
static inline void
rgb_to_yuv_linear (const LensCanvas * canvas, gdouble r, gdouble g, gdouble b,
    gdouble * y, gdouble * u, gdouble * v)
{
  gdouble kr = canvas->kr, kb = canvas->kb;
  gdouble luma = kr * r + (1.0 - kr - kb) * g + kb * b;
  gdouble cb = (b - luma) / (2.0 * (1.0 - kb));
  gdouble cr = (r - luma) / (2.0 * (1.0 - kr));
  if (canvas->full_range) {
    *y = luma;
    *u = cb;
    *v = cr;
  } else {
    *y = luma * (219.0 / 255.0);
    *u = cb * (224.0 / 255.0);
    *v = cr * (224.0 / 255.0);
  }
}

void
lens_canvas_prepare_color (const LensCanvas * canvas, LensColor * color)
{
  gdouble y, u, v;
  rgb_to_yuv_linear (canvas, color->r, color->g, color->b, &y, &u, &v);
  color->y = clamp_u8 (y + (canvas->full_range ? 0.0 : 16.0));
  color->u = clamp_u8 (u + 128.0);
  color->v = clamp_u8 (v + 128.0);
}

static inline void
blend_alpha_channel (guint8 * p, guint8 alpha)
{
  /* "over": the drawn pixel is at least as opaque as what it covers */
  *p = (guint8) (alpha + blend8 (*p, 0, alpha));
}

/* Clips [*a0, *a1) to [0, limit); FALSE when nothing is left. */
static inline gboolean
clip_span (gint64 * a0, gint64 * a1, gint64 limit)
{
  if (*a0 < 0)
    *a0 = 0;
  if (*a1 > limit)
    *a1 = limit;
  return *a0 < *a1;
}

static void
fill_plane (guint8 * data, gint stride, gint pstride, gint64 x0, gint64 y0,
    gint64 x1, gint64 y1, guint8 value, guint8 alpha)
{
  for (gint64 y = y0; y < y1; y++) {
    guint8 *p = data + y * stride + x0 * pstride;
    for (gint64 x = x0; x < x1; x++, p += pstride)
      *p = alpha == 255 ? value : blend8 (*p, value, alpha);
  }
}

void
lens_canvas_fill_rect (LensCanvas * canvas, gint64 x0, gint64 y0, gint64 x1,
    gint64 y1, const LensColor * color)
{
  if (color->a == 0)
    return;
  if (!clip_span (&x0, &x1, canvas->width)
      || !clip_span (&y0, &y1, canvas->height))
    return;

  if (!canvas->is_yuv) {
    for (gint64 y = y0; y < y1; y++) {
      guint8 *p = canvas->pixels + y * canvas->stride + x0 * canvas->pstride;
      for (gint64 x = x0; x < x1; x++, p += canvas->pstride) {
        if (color->a == 255) {
          p[canvas->off_r] = color->r;
          p[canvas->off_g] = color->g;
          p[canvas->off_b] = color->b;
          if (canvas->off_a >= 0)
            p[canvas->off_a] = 255;
        } else {
          p[canvas->off_r] = blend8 (p[canvas->off_r], color->r, color->a);
          p[canvas->off_g] = blend8 (p[canvas->off_g], color->g, color->a);
          p[canvas->off_b] = blend8 (p[canvas->off_b], color->b, color->a);
          if (canvas->off_a >= 0)
            blend_alpha_channel (&p[canvas->off_a], color->a);
        }
      }
    }
    return;
  }

  fill_plane (canvas->comp[0], canvas->comp_stride[0], canvas->comp_pstride[0],
      x0, y0, x1, y1, color->y, color->a);
  for (guint c = 1; c < 3; c++) {
    /* every chroma sample whose block the rectangle touches */
    gint64 cx0 = x0 >> canvas->wsub[c], cx1 = ((x1 - 1) >> canvas->wsub[c]) + 1;
    gint64 cy0 = y0 >> canvas->hsub[c], cy1 = ((y1 - 1) >> canvas->hsub[c]) + 1;
    if (!clip_span (&cx0, &cx1, canvas->comp_width[c])
        || !clip_span (&cy0, &cy1, canvas->comp_height[c]))
      continue;
    fill_plane (canvas->comp[c], canvas->comp_stride[c],
        canvas->comp_pstride[c], cx0, cy0, cx1, cy1,
        c == 1 ? color->u : color->v, color->a);
  }
}

void
lens_canvas_draw_box (LensCanvas * canvas, gint64 x, gint64 y, gint64 w,
    gint64 h, guint thickness, const LensColor * color)
{
  gint64 t = thickness ? thickness : 1;
  if (w <= 0 || h <= 0)
    return;
  if (2 * t >= w || 2 * t >= h) {
    lens_canvas_fill_rect (canvas, x, y, x + w, y + h, color);
    return;
  }
  /* four disjoint strokes, so that a translucent colour is blended once per pixel */
  lens_canvas_fill_rect (canvas, x, y, x + w, y + t, color);
  lens_canvas_fill_rect (canvas, x, y + h - t, x + w, y + h, color);
  lens_canvas_fill_rect (canvas, x, y + t, x + t, y + h - t, color);
  lens_canvas_fill_rect (canvas, x + w - t, y + t, x + w, y + h - t, color);
}

static inline void
unpack_argb (guint32 px, guint * a, guint * r, guint * g, guint * b)
{
  *a = px >> 24;
  *r = (px >> 16) & 0xff;
  *g = (px >> 8) & 0xff;
  *b = px & 0xff;
}

static void
blend_image_rgb (LensCanvas * canvas, const guint8 * src, gint src_stride,
    gint64 sx0, gint64 sy0, gint64 dx0, gint64 dy0, gint64 w, gint64 h)
{
  for (gint64 j = 0; j < h; j++) {
    const guint32 *s = (const guint32 *) (src + (sy0 + j) * src_stride) + sx0;
    guint8 *p = canvas->pixels + (dy0 + j) * canvas->stride +
        dx0 * canvas->pstride;
    for (gint64 i = 0; i < w; i++, p += canvas->pstride) {
      guint a, r, g, b;
      unpack_argb (s[i], &a, &r, &g, &b);
      if (a == 0)
        continue;
      /* premultiplied "over": out = src + dst * (1 - a) */
      p[canvas->off_r] = (guint8) (r + blend8 (p[canvas->off_r], 0, a));
      p[canvas->off_g] = (guint8) (g + blend8 (p[canvas->off_g], 0, a));
      p[canvas->off_b] = (guint8) (b + blend8 (p[canvas->off_b], 0, a));
      if (canvas->off_a >= 0)
        blend_alpha_channel (&p[canvas->off_a], (guint8) a);
    }
  }
}

static void
blend_image_yuv (LensCanvas * canvas, const guint8 * src, gint src_stride,
    gint64 sx0, gint64 sy0, gint64 dx0, gint64 dy0, gint64 w, gint64 h)
{
  gdouble yoff = canvas->full_range ? 0.0 : 16.0;

  for (gint64 j = 0; j < h; j++) {
    const guint32 *s = (const guint32 *) (src + (sy0 + j) * src_stride) + sx0;
    guint8 *p = canvas->comp[0] + (dy0 + j) * canvas->comp_stride[0] +
        dx0 * canvas->comp_pstride[0];
    for (gint64 i = 0; i < w; i++, p += canvas->comp_pstride[0]) {
      guint a, r, g, b;
      gdouble y, u, v, alpha;
      unpack_argb (s[i], &a, &r, &g, &b);
      if (a == 0)
        continue;
      alpha = a / 255.0;
      rgb_to_yuv_linear (canvas, r, g, b, &y, &u, &v);
      *p = clamp_u8 (y + alpha * yoff + (1.0 - alpha) * *p);
    }
  }

  /* chroma: each sample gets the mean premultiplied colour and coverage of its block */
  for (guint c = 1; c < 3; c++) {
    guint ws = canvas->wsub[c], hs = canvas->hsub[c];
    gint64 cx0 = dx0 >> ws, cx1 = ((dx0 + w - 1) >> ws) + 1;
    gint64 cy0 = dy0 >> hs, cy1 = ((dy0 + h - 1) >> hs) + 1;
    if (!clip_span (&cx0, &cx1, canvas->comp_width[c])
        || !clip_span (&cy0, &cy1, canvas->comp_height[c]))
      continue;
    for (gint64 cy = cy0; cy < cy1; cy++) {
      guint8 *p = canvas->comp[c] + cy * canvas->comp_stride[c] +
          cx0 * canvas->comp_pstride[c];
      for (gint64 cx = cx0; cx < cx1; cx++, p += canvas->comp_pstride[c]) {
        gdouble sum_alpha = 0.0, sum_value = 0.0;
        guint n = 0;
        for (gint64 ly = cy << hs; ly < (cy + 1) << hs; ly++) {
          for (gint64 lx = cx << ws; lx < (cx + 1) << ws; lx++) {
            guint a, r, g, b;
            gdouble y, u, v, alpha;
            if (lx >= canvas->width || ly >= canvas->height)
              continue;
            n++;
            if (lx < dx0 || lx >= dx0 + w || ly < dy0 || ly >= dy0 + h)
              continue;
            unpack_argb (((const guint32 *) (src + (sy0 + ly - dy0) *
                        src_stride))[sx0 + lx - dx0], &a, &r, &g, &b);
            if (a == 0)
              continue;
            alpha = a / 255.0;
            rgb_to_yuv_linear (canvas, r, g, b, &y, &u, &v);
            sum_alpha += alpha;
            sum_value += (c == 1 ? u : v) + alpha * 128.0;
          }
        }
        if (n == 0 || sum_alpha == 0.0)
          continue;
        *p = clamp_u8 (sum_value / n + (1.0 - sum_alpha / n) * *p);
      }
    }
  }
}

void
lens_canvas_blend_image (LensCanvas * canvas, cairo_surface_t * image, gint64 x,
    gint64 y)
{
  gint64 iw, ih, x0, y0, x1, y1;
  const guint8 *data;

  if (!image || cairo_surface_status (image) != CAIRO_STATUS_SUCCESS
      || cairo_image_surface_get_format (image) != CAIRO_FORMAT_ARGB32)
    return;
  cairo_surface_flush (image);
  data = cairo_image_surface_get_data (image);
  iw = cairo_image_surface_get_width (image);
  ih = cairo_image_surface_get_height (image);
  if (!data || iw <= 0 || ih <= 0)
    return;

  x0 = x;
  y0 = y;
  x1 = x + iw;
  y1 = y + ih;
  if (!clip_span (&x0, &x1, canvas->width)
      || !clip_span (&y0, &y1, canvas->height))
    return;

  if (canvas->is_yuv)
    blend_image_yuv (canvas, data, cairo_image_surface_get_stride (image),
        x0 - x, y0 - y, x0, y0, x1 - x0, y1 - y0);
  else
    blend_image_rgb (canvas, data, cairo_image_surface_get_stride (image),
        x0 - x, y0 - y, x0, y0, x1 - x0, y1 - y0);
}

cairo_surface_t *
lens_label_render (const gchar * text, gdouble font_size,
    const LensColor * background)
{
  cairo_surface_t *scratch, *surface = NULL;
  cairo_t *cr;
  cairo_text_extents_t te;
  cairo_font_extents_t fe;
  gchar *valid;
  gdouble pad, luma, ink;
  gint w, h;

  if (!text || !*text || !(font_size > 0.0))
    return NULL;

  /* cairo refuses invalid UTF-8; recognisers and label files may produce it */
  valid = g_utf8_make_valid (text, MIN (strlen (text), LABEL_MAX_BYTES));

  scratch = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 1, 1);
  cr = cairo_create (scratch);
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL,
      CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, font_size);
  cairo_text_extents (cr, valid, &te);
  cairo_font_extents (cr, &fe);
  if (cairo_status (cr) != CAIRO_STATUS_SUCCESS)
    goto done;

  pad = MAX (1.0, floor (font_size / 6.0));
  w = (gint) MIN (ceil (te.x_advance) + 2 * pad, (gdouble) LABEL_MAX_WIDTH);
  h = (gint) MIN (ceil (fe.ascent + fe.descent) + 2 * pad,
      (gdouble) LABEL_MAX_WIDTH);
  if (w <= 0 || h <= 0)
    goto done;

  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy (surface);
    surface = NULL;
    goto done;
  }
  cairo_destroy (cr);
  cr = cairo_create (surface);
  cairo_set_source_rgba (cr, background->r / 255.0, background->g / 255.0,
      background->b / 255.0, background->a / 255.0);
  cairo_set_operator (cr, CAIRO_OPERATOR_SOURCE);
  cairo_paint (cr);
  cairo_set_operator (cr, CAIRO_OPERATOR_OVER);

  luma = 0.299 * background->r + 0.587 * background->g + 0.114 * background->b;
  ink = luma > 140.0 ? 0.0 : 1.0;
  cairo_set_source_rgba (cr, ink, ink, ink, 1.0);
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL,
      CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, font_size);
  cairo_move_to (cr, pad, pad + fe.ascent);
  cairo_show_text (cr, valid);
  cairo_surface_flush (surface);

done:
  cairo_destroy (cr);
  cairo_surface_destroy (scratch);
  g_free (valid);
  return surface;
}
