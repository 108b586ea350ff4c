/* Drawing on mapped video frames for lensoverlay: clipped, alpha-blended rectangles and
 * cairo-rendered text labels, in every packed RGB layout and in planar/semi-planar YUV 4:2:0.
 *
 * Coordinates are gint64 so that regions of interest with huge or out-of-frame boxes (their
 * x + w may not fit a guint) can be clipped without overflow; everything outside the frame is
 * silently skipped. */
#ifndef LENS_GST_OVERLAY_DRAW_H
#define LENS_GST_OVERLAY_DRAW_H

#include <gst/video/video.h>
#include <cairo.h>

G_BEGIN_DECLS

/* A colour in straight (not premultiplied) 8-bit RGBA, with its YUV equivalent for the
 * canvas it is used on (filled in by lens_canvas_prepare_color()). */
typedef struct _LensColor
{
  guint8 r, g, b, a;
  guint8 y, u, v;
} LensColor;

/* A mapped frame and what the drawing functions need to address its pixels. */
typedef struct _LensCanvas
{
  GstVideoFrame *frame;
  gint width, height;
  gboolean is_yuv;
  /* packed RGB: one plane; offsets of R, G, B, A (A is -1 when the format has none) */
  guint8 *pixels;
  gint stride, pstride;
  gint off_r, off_g, off_b, off_a;
  /* YUV: component data, strides and subsampling shifts (component 0 is luma) */
  guint8 *comp[3];
  gint comp_stride[3], comp_pstride[3];
  gint comp_width[3], comp_height[3];
  guint wsub[3], hsub[3];
  /* BT.601/709/2020 coefficients and range of the frame's colorimetry */
  gdouble kr, kb;
  gboolean full_range;
} LensCanvas;

/* Returns FALSE when the frame's format is not one lensoverlay supports. */
gboolean lens_canvas_init (LensCanvas * canvas, GstVideoFrame * frame);

/* Sets the colour's y, u, v from its r, g, b for the canvas's colour matrix and range. */
void lens_canvas_prepare_color (const LensCanvas * canvas, LensColor * color);

/* Fills [x0, x1) x [y0, y1), clipped to the frame, blending the colour by its alpha. */
void lens_canvas_fill_rect (LensCanvas * canvas, gint64 x0, gint64 y0,
    gint64 x1, gint64 y1, const LensColor * color);

/* Draws the outline of the box (x, y, w, h) with strokes of the given thickness inside the
 * box; parts outside the frame are clipped. Zero-size boxes draw nothing. */
void lens_canvas_draw_box (LensCanvas * canvas, gint64 x, gint64 y,
    gint64 w, gint64 h, guint thickness, const LensColor * color);

/* Blends a cairo ARGB32 (premultiplied, native-endian) image with its top-left corner at
 * (x, y), clipped to the frame. */
void lens_canvas_blend_image (LensCanvas * canvas, cairo_surface_t * image,
    gint64 x, gint64 y);

/* Renders one line of text on a filled background into a new ARGB32 surface (NULL on
 * failure). The text colour is black or white, whichever contrasts with the background. */
cairo_surface_t *lens_label_render (const gchar * text, gdouble font_size,
    const LensColor * background);

G_END_DECLS

#endif
