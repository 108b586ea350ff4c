/* Preprocessing: one pass from a video frame region (RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA,
 * BGRA, ARGB, ABGR, NV12, NV21, I420, YV12; any size; strides from GstVideoFrame) into a
 * model's float32 input tensor — colour conversion, scaling, channel order and per-channel
 * normalisation together, so no videoconvert/videoscale is needed upstream. */
#ifndef LENS_GST_PREPROCESS_H
#define LENS_GST_PREPROCESS_H

#include <gst/video/video.h>

G_BEGIN_DECLS

typedef enum {
  LENS_RESIZE_STRETCH = 0,  /* scale each axis to fill the input */
  LENS_RESIZE_LETTERBOX,    /* keep aspect; pad (with pad_value before normalisation) */
  LENS_RESIZE_CROP,         /* keep aspect; scale to cover, centre-crop the excess */
} LensResizeMode;

typedef enum {
  LENS_CHANNELS_RGB = 0,
  LENS_CHANNELS_BGR,
} LensChannelOrder;

typedef enum {
  LENS_LAYOUT_NCHW = 0,
  LENS_LAYOUT_NHWC,
} LensTensorLayout;

typedef struct {
  gint width, height;          /* the model input's spatial size */
  LensTensorLayout layout;
  LensResizeMode resize;
  LensChannelOrder channels;
  /* value = (pixel - mean[c]) * scale[c], pixel in 0..255, c in the tensor's channel order */
  gfloat mean[3];
  gfloat scale[3];
  guint8 pad_value;            /* letterbox border colour (grey level, before normalisation) */
} LensPreprocessParams;

/* Where the region landed in the tensor, to map model coordinates back to the frame:
 * frame_x = src_x + (tensor_x - offset_x) / scale_x, likewise for y (tensor pixels). */
typedef struct {
  gdouble scale_x, scale_y;
  gdouble offset_x, offset_y;
  gint src_x, src_y;           /* the region's top-left in the frame */
  gint src_w, src_h;           /* the region's size after clipping to the frame; it covers
                                * src_w * scale_x x src_h * scale_y tensor pixels */
} LensPreprocessTransform;

/* Errors from lens_preprocess_frame(), in the LENS_PREPROCESS_ERROR domain. */
#define LENS_PREPROCESS_ERROR (lens_preprocess_error_quark ())
GQuark lens_preprocess_error_quark (void);

typedef enum {
  LENS_PREPROCESS_ERROR_FORMAT,  /* the frame's video format is not supported */
  LENS_PREPROCESS_ERROR_REGION,  /* the region is empty or outside the frame */
  LENS_PREPROCESS_ERROR_PARAMS,  /* invalid parameters (size 1..32768 per side, layout,
                                  * channel order, resize mode) */
} LensPreprocessError;

/* Defaults: NCHW, stretch, RGB, mean 0, scale 1/255, pad 114. */
void lens_preprocess_params_init (LensPreprocessParams * params);

/* Whether the frame's format is one preprocessing reads. */
gboolean lens_preprocess_format_supported (GstVideoFormat format);

/* Converts region (NULL: the whole frame; clipped to the frame) of a mapped frame into dst,
 * which holds width*height*3 floats for one batch item. Bilinear sampling with pixel-centre
 * alignment (half-pixel). Returns FALSE (and sets *error) for an unsupported format or an
 * empty region.
 *
 * Geometry, for a clipped region of rw x rh pixels at (rx, ry) and a model input W x H:
 * the region is scaled to cw x ch tensor pixels placed at (ox, oy) —
 *   stretch:   cw = W, ch = H, ox = oy = 0;
 *   letterbox: s = min (W/rw, H/rh), cw = round (rw*s), ch = round (rh*s) (at least 1),
 *              ox = (W - cw) / 2, oy = (H - ch) / 2 (integer division), the rest pad_value;
 *   crop:      s = max (W/rw, H/rh), cw = max (round (rw*s), W), likewise ch,
 *              ox = -((cw - W) / 2), oy = -((ch - H) / 2).
 * Tensor pixel (tx, ty) samples the frame at x = rx + clamp ((tx + 0.5 - ox) * rw/cw - 0.5,
 * 0, rw - 1) (pixel-centre coordinates), likewise y; samples outside the region are never
 * read (edges clamp to the region). Subsampled chroma is read at its own positions (the
 * frame's chroma-site: co-sited or centred) clamped to the chroma samples that cover the
 * region. YUV is converted with the frame's colorimetry matrix (BT.601, BT.709, BT.2020,
 * SMPTE 240M, FCC; unknown: BT.709 above 576 lines, BT.601 otherwise) and range (full or
 * limited; unknown: limited), clamped to 0..255, then normalised. The whole conversion
 * runs in float32. */
gboolean lens_preprocess_frame (const GstVideoFrame * frame,
    const GstVideoRectangle * region, const LensPreprocessParams * params,
    gfloat * dst, LensPreprocessTransform * transform, GError ** error);

/* The row kernels in use: "avx512", "avx2" or "generic", chosen once from the CPU. Setting
 * LENS_PREPROCESS_ISA=generic (or avx2) in the environment caps the choice; the tests run
 * the generic kernels too. For logs and benchmarks. */
const gchar *lens_preprocess_kernels (void);

/* Maps a point normalised to the model input ([0,1]) back to frame pixels. */
void lens_preprocess_map_point (const LensPreprocessTransform * transform,
    const LensPreprocessParams * params, gdouble nx, gdouble ny,
    gdouble * frame_x, gdouble * frame_y);

G_END_DECLS

#endif
