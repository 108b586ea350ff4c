/* lensoverlay: draws the regions of interest of each frame (boxes, labels, confidences,
 * classifications and recognised text) and optionally the measured FPS, in place. */

/**
 * SECTION:element-lensoverlay
 * @title: lensoverlay
 *
 * Draws every #GstVideoRegionOfInterestMeta on the frame it belongs to: the box (strokes of
 * #GstLensOverlay:thickness pixels inside the box, clipped to the frame), a label line with
 * the detection's label and confidence, and one line per classifier with its label or
 * recognised text. Full-frame regions (roi_type "full-frame") draw no box; their labels are
 * stacked in the top-left corner. With #GstLensOverlay:show-fps the frame rate measured by
 * the overlay itself (wall clock, one-second windows) is drawn in the top-left corner.
 *
 * Text is rendered with cairo into small ARGB surfaces and blended into the frame in its
 * own format, so no conversion is needed for packed RGB, NV12 or I420 video.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=300 ! video/x-raw,format=NV12 ! lensoverlay show-fps=true ! videoconvert ! autovideosink
 * ]|
 * With a detector:
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! lensdetect model=det.onnx ! lensoverlay thickness=3 font-size=16 ! videoconvert ! autovideosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>
#include <string.h>

#include "lensmeta.h"
#include "overlay_draw.h"

GST_DEBUG_CATEGORY_STATIC (gst_lens_overlay_debug);
#define GST_CAT_DEFAULT gst_lens_overlay_debug

#define GST_TYPE_LENS_OVERLAY (gst_lens_overlay_get_type ())
G_DECLARE_FINAL_TYPE (GstLensOverlay, gst_lens_overlay, GST, LENS_OVERLAY,
    GstVideoFilter);

#define DEFAULT_THICKNESS 2
#define DEFAULT_FONT_SIZE 14.0
#define DEFAULT_SHOW_LABELS TRUE
#define DEFAULT_SHOW_CONFIDENCE TRUE
#define DEFAULT_SHOW_FPS FALSE
#define DEFAULT_COLOR 0

/* Rendered label surfaces are kept between frames (labels repeat); past this many the cache
 * is emptied, which bounds memory when recognised text never repeats. */
#define LABEL_CACHE_MAX 256
/* Length of the FPS measurement window. */
#define FPS_WINDOW_US G_USEC_PER_SEC
/* At most this many lines of text per region. */
#define MAX_LINES_PER_REGION 16

enum
{
  PROP_0,
  PROP_THICKNESS,
  PROP_FONT_SIZE,
  PROP_SHOW_LABELS,
  PROP_SHOW_CONFIDENCE,
  PROP_SHOW_FPS,
  PROP_COLOR,
};

struct _GstLensOverlay
{
  GstVideoFilter parent;

  /* properties, under the object lock */
  guint thickness;
  gdouble font_size;
  gboolean show_labels;
  gboolean show_confidence;
  gboolean show_fps;
  guint color;

  /* streaming thread only */
  GHashTable *label_cache;      /* "argb|size|text" -> cairo_surface_t (or NULL) */
  gint64 fps_window_start;      /* monotonic us; 0 = no frame yet */
  guint fps_window_frames;
  gdouble fps;                  /* last measured; < 0 until a measure exists */
  gchar *fps_text;
  gdouble fps_font_size;
  cairo_surface_t *fps_surface;
};

/* A snapshot of the properties for one frame. */
typedef struct
{
  guint thickness;
  gdouble font_size;
  gboolean show_labels;
  gboolean show_confidence;
  gboolean show_fps;
  guint color;
} OverlaySettings;

#define OVERLAY_FORMATS \
  "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, NV12, I420 }"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (OVERLAY_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (OVERLAY_FORMATS)));

G_DEFINE_TYPE (GstLensOverlay, gst_lens_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (lensoverlay, "lensoverlay", GST_RANK_NONE,
    GST_TYPE_LENS_OVERLAY);

static GQuark detection_quark;
static GQuark full_frame_quark;

/* A palette of distinct, saturated colours (0xAARRGGBB), indexed by class. */
static const guint32 class_palette[] = {
  0xffff3838, 0xff48f90a, 0xff00c2ff, 0xffffb21d, 0xffcb38ff, 0xff3ddb86,
  0xffff701f, 0xff6473ff, 0xffcfd231, 0xffff37c7, 0xff00d4bb, 0xff8438ff,
  0xff92cc17, 0xffff9d97, 0xff2c99a8, 0xff1a9334, 0xff344593, 0xffff95c8,
  0xff0018ec, 0xff520085,
};

static void
gst_lens_overlay_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstLensOverlay *self = GST_LENS_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THICKNESS:
      self->thickness = g_value_get_uint (value);
      break;
    case PROP_FONT_SIZE:
      self->font_size = g_value_get_double (value);
      break;
    case PROP_SHOW_LABELS:
      self->show_labels = g_value_get_boolean (value);
      break;
    case PROP_SHOW_CONFIDENCE:
      self->show_confidence = g_value_get_boolean (value);
      break;
    case PROP_SHOW_FPS:
      self->show_fps = g_value_get_boolean (value);
      break;
    case PROP_COLOR:
      self->color = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lens_overlay_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstLensOverlay *self = GST_LENS_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THICKNESS:
      g_value_set_uint (value, self->thickness);
      break;
    case PROP_FONT_SIZE:
      g_value_set_double (value, self->font_size);
      break;
    case PROP_SHOW_LABELS:
      g_value_set_boolean (value, self->show_labels);
      break;
    case PROP_SHOW_CONFIDENCE:
      g_value_set_boolean (value, self->show_confidence);
      break;
    case PROP_SHOW_FPS:
      g_value_set_boolean (value, self->show_fps);
      break;
    case PROP_COLOR:
      g_value_set_uint (value, self->color);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
clear_fps_label (GstLensOverlay * self)
{
  g_clear_pointer (&self->fps_surface, cairo_surface_destroy);
  g_clear_pointer (&self->fps_text, g_free);
}

static gboolean
gst_lens_overlay_start (GstBaseTransform * trans)
{
  GstLensOverlay *self = GST_LENS_OVERLAY (trans);

  self->label_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      (GDestroyNotify) cairo_surface_destroy);
  self->fps_window_start = 0;
  self->fps_window_frames = 0;
  self->fps = -1.0;
  return TRUE;
}

static gboolean
gst_lens_overlay_stop (GstBaseTransform * trans)
{
  GstLensOverlay *self = GST_LENS_OVERLAY (trans);

  g_clear_pointer (&self->label_cache, g_hash_table_unref);
  clear_fps_label (self);
  return TRUE;
}

static void
color_from_argb (guint32 argb, LensColor * color)
{
  color->a = (argb >> 24) & 0xff;
  color->r = (argb >> 16) & 0xff;
  color->g = (argb >> 8) & 0xff;
  color->b = argb & 0xff;
}

static gboolean
structure_get_number (const GstStructure * s, const gchar * field,
    gdouble * out)
{
  const GValue *v = gst_structure_get_value (s, field);
  if (!v)
    return FALSE;
  if (G_VALUE_HOLDS_DOUBLE (v))
    *out = g_value_get_double (v);
  else if (G_VALUE_HOLDS_FLOAT (v))
    *out = g_value_get_float (v);
  else if (G_VALUE_HOLDS_INT (v))
    *out = g_value_get_int (v);
  else if (G_VALUE_HOLDS_UINT (v))
    *out = g_value_get_uint (v);
  else
    return FALSE;
  return TRUE;
}

/* The label's surface, from the cache or freshly rendered; owned by the cache. */
static cairo_surface_t *
get_label_surface (GstLensOverlay * self, const gchar * text, gdouble font_size,
    const LensColor * background)
{
  gchar *key;
  gpointer surface = NULL;
  guint32 argb = ((guint32) background->a << 24) |
      ((guint32) background->r << 16) | ((guint32) background->g << 8) |
      background->b;

  key = g_strdup_printf ("%08x|%g|%s", argb, font_size, text);
  if (g_hash_table_lookup_extended (self->label_cache, key, NULL, &surface)) {
    g_free (key);
    return surface;
  }
  if (g_hash_table_size (self->label_cache) >= LABEL_CACHE_MAX)
    g_hash_table_remove_all (self->label_cache);
  surface = lens_label_render (text, font_size, background);
  if (!surface)
    GST_DEBUG_OBJECT (self, "label '%s' could not be rendered", text);
  g_hash_table_insert (self->label_cache, key, surface);
  return surface;
}

static gchar *
format_label (const gchar * label, gboolean has_confidence, gdouble confidence,
    gboolean show_confidence)
{
  gboolean has_label = label && *label;
  if (show_confidence && has_confidence)
    return has_label ? g_strdup_printf ("%s %.2f", label, confidence) :
        g_strdup_printf ("%.2f", confidence);
  return has_label ? g_strdup (label) : NULL;
}

/* Collects the text lines of one region: its detection label, then each classifier. */
static guint
region_lines (GstVideoRegionOfInterestMeta * roi, const GstStructure * det,
    gboolean full_frame, const OverlaySettings * settings,
    gchar * lines[MAX_LINES_PER_REGION])
{
  guint n = 0;
  const gchar *label = NULL;
  gdouble confidence = 0.0;
  gboolean has_confidence = FALSE;
  gchar *line;

  if (det) {
    label = gst_structure_get_string (det, "label");
    has_confidence = structure_get_number (det, "confidence", &confidence);
  }
  if (!label && !full_frame && roi->roi_type)
    label = g_quark_to_string (roi->roi_type);
  line = format_label (label, has_confidence, confidence,
      settings->show_confidence);
  if (line)
    lines[n++] = line;

  for (GList * l = roi->params; l && n < MAX_LINES_PER_REGION; l = l->next) {
    const GstStructure *s = l->data;
    const gchar *text;
    if (!s || gst_structure_get_name_id (s) == detection_quark)
      continue;
    text = gst_structure_get_string (s, "text");
    if (text && *text) {
      lines[n++] = g_strdup (text);
      continue;
    }
    has_confidence = structure_get_number (s, "confidence", &confidence);
    line = format_label (gst_structure_get_string (s, "label"), has_confidence,
        confidence, settings->show_confidence);
    if (line)
      lines[n++] = line;
  }
  return n;
}

/* Draws a stack of labels with its top-left corner near (x, y), kept inside the frame
 * horizontally; returns the stack's height. */
static gint64
draw_label_stack (GstLensOverlay * self, LensCanvas * canvas,
    cairo_surface_t * surfaces[], guint n, gint64 x, gint64 y)
{
  gint64 dy = 0;
  for (guint i = 0; i < n; i++) {
    gint64 w, lx = x;
    if (!surfaces[i])
      continue;
    w = cairo_image_surface_get_width (surfaces[i]);
    if (lx + w > canvas->width)
      lx = MAX (0, canvas->width - w);
    lens_canvas_blend_image (canvas, surfaces[i], lx, y + dy);
    dy += cairo_image_surface_get_height (surfaces[i]);
  }
  return dy;
}

static void
draw_region (GstLensOverlay * self, LensCanvas * canvas,
    GstVideoRegionOfInterestMeta * roi, const OverlaySettings * settings,
    gint64 * full_frame_y)
{
  const GstStructure *det = gst_video_region_of_interest_meta_get_param (roi,
      LENS_DETECTION_STRUCTURE);
  gboolean full_frame = roi->roi_type == full_frame_quark;
  gint64 x = roi->x, y = roi->y, w = roi->w, h = roi->h;
  gchar *lines[MAX_LINES_PER_REGION];
  cairo_surface_t *surfaces[MAX_LINES_PER_REGION];
  guint n_lines = 0;
  gint64 stack_h = 0;
  LensColor color;

  if (!full_frame && (w == 0 || h == 0 || x >= canvas->width
          || y >= canvas->height))
    return;

  if (settings->color) {
    color_from_argb (settings->color, &color);
  } else {
    gint label_id = -1;
    const gchar *label = det ? gst_structure_get_string (det, "label") : NULL;
    guint key;
    if (det)
      gst_structure_get_int (det, "label_id", &label_id);
    if (label_id >= 0)
      key = (guint) label_id;
    else if (label)
      key = g_str_hash (label);
    else
      key = roi->roi_type;
    color_from_argb (class_palette[key % G_N_ELEMENTS (class_palette)], &color);
  }
  lens_canvas_prepare_color (canvas, &color);

  if (!full_frame)
    lens_canvas_draw_box (canvas, x, y, w, h, settings->thickness, &color);

  if (!settings->show_labels)
    return;
  n_lines = region_lines (roi, det, full_frame, settings, lines);
  for (guint i = 0; i < n_lines; i++) {
    surfaces[i] = get_label_surface (self, lines[i], settings->font_size,
        &color);
    if (surfaces[i])
      stack_h += cairo_image_surface_get_height (surfaces[i]);
    g_free (lines[i]);
  }
  if (n_lines == 0)
    return;

  if (full_frame) {
    *full_frame_y += draw_label_stack (self, canvas, surfaces, n_lines, 0,
        *full_frame_y);
  } else {
    /* above the box, or inside its top edge when there is no room above */
    gint64 ly = y - stack_h >= 0 ? y - stack_h : y;
    draw_label_stack (self, canvas, surfaces, n_lines, x, ly);
  }
}

static void
update_fps (GstLensOverlay * self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 elapsed;

  if (self->fps_window_start == 0) {
    self->fps_window_start = now;
    self->fps_window_frames = 0;
    return;
  }
  self->fps_window_frames++;
  elapsed = now - self->fps_window_start;
  if (elapsed >= FPS_WINDOW_US || self->fps < 0.0) {
    /* the first window reports as it goes, later ones once per window */
    if (elapsed > 0)
      self->fps = self->fps_window_frames * (gdouble) G_USEC_PER_SEC / elapsed;
    if (elapsed >= FPS_WINDOW_US) {
      self->fps_window_start = now;
      self->fps_window_frames = 0;
    }
  }
}

static gint64
draw_fps (GstLensOverlay * self, LensCanvas * canvas,
    const OverlaySettings * settings)
{
  gchar *text;
  LensColor background = { 0, 0, 0, 160, 0, 0, 0 };

  if (self->fps < 0.0)
    text = g_strdup ("FPS --");
  else
    text = g_strdup_printf ("FPS %.1f", self->fps);
  if (!self->fps_text || strcmp (text, self->fps_text) != 0
      || self->fps_font_size != settings->font_size) {
    clear_fps_label (self);
    self->fps_surface = lens_label_render (text, settings->font_size,
        &background);
    self->fps_text = text;
    self->fps_font_size = settings->font_size;
  } else {
    g_free (text);
  }
  if (!self->fps_surface)
    return 0;
  lens_canvas_blend_image (canvas, self->fps_surface, 0, 0);
  return cairo_image_surface_get_height (self->fps_surface);
}

static GstFlowReturn
gst_lens_overlay_transform_frame_ip (GstVideoFilter * filter,
    GstVideoFrame * frame)
{
  GstLensOverlay *self = GST_LENS_OVERLAY (filter);
  OverlaySettings settings;
  LensCanvas canvas;
  gpointer state = NULL;
  GstMeta *meta;
  gint64 full_frame_y = 0;

  GST_OBJECT_LOCK (self);
  settings.thickness = self->thickness;
  settings.font_size = self->font_size;
  settings.show_labels = self->show_labels;
  settings.show_confidence = self->show_confidence;
  settings.show_fps = self->show_fps;
  settings.color = self->color;
  GST_OBJECT_UNLOCK (self);

  if (!lens_canvas_init (&canvas, frame)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("cannot draw on %s frames",
            gst_video_format_to_string (GST_VIDEO_FRAME_FORMAT (frame))));
    return GST_FLOW_ERROR;
  }

  if (settings.show_fps)
    full_frame_y += draw_fps (self, &canvas, &settings);

  while ((meta = gst_buffer_iterate_meta_filtered (frame->buffer, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
    draw_region (self, &canvas, (GstVideoRegionOfInterestMeta *) meta,
        &settings, &full_frame_y);

  return GST_FLOW_OK;
}

static GstFlowReturn
gst_lens_overlay_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstLensOverlay *self = GST_LENS_OVERLAY (trans);
  gboolean show_fps;

  GST_OBJECT_LOCK (self);
  show_fps = self->show_fps;
  GST_OBJECT_UNLOCK (self);

  /* the rate counts every frame, drawn or not */
  update_fps (self);

  /* mapping for writing copies shared memory: skip it when there is nothing to draw */
  if (!show_fps && !gst_buffer_get_meta (buffer,
          GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
    return GST_FLOW_OK;

  return GST_BASE_TRANSFORM_CLASS (gst_lens_overlay_parent_class)->transform_ip
      (trans, buffer);
}

static void
gst_lens_overlay_class_init (GstLensOverlayClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_lens_overlay_debug, "lensoverlay", 0,
      "Lens region of interest overlay");
  detection_quark = g_quark_from_static_string (LENS_DETECTION_STRUCTURE);
  full_frame_quark = g_quark_from_static_string (LENS_FULL_FRAME_ROI_TYPE);

  gobject_class->set_property = gst_lens_overlay_set_property;
  gobject_class->get_property = gst_lens_overlay_get_property;

  g_object_class_install_property (gobject_class, PROP_THICKNESS,
      g_param_spec_uint ("thickness", "Thickness",
          "Width of the box outlines in pixels, drawn inside the box", 1, 100,
          DEFAULT_THICKNESS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_FONT_SIZE,
      g_param_spec_double ("font-size", "Font size",
          "Height of the label text in pixels", 4.0, 256.0, DEFAULT_FONT_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SHOW_LABELS,
      g_param_spec_boolean ("show-labels", "Show labels",
          "Draw the detection label and the classification results and "
          "recognised text of each region", DEFAULT_SHOW_LABELS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SHOW_CONFIDENCE,
      g_param_spec_boolean ("show-confidence", "Show confidence",
          "Append the confidence to each label (when show-labels is set)",
          DEFAULT_SHOW_CONFIDENCE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SHOW_FPS,
      g_param_spec_boolean ("show-fps", "Show FPS",
          "Draw the frame rate measured by the overlay (wall clock, "
          "one-second windows) in the top-left corner", DEFAULT_SHOW_FPS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_COLOR,
      g_param_spec_uint ("color", "Color",
          "Colour of boxes and label backgrounds as 0xAARRGGBB (the alpha "
          "blends); 0 picks a colour per class from a palette", 0, G_MAXUINT32,
          DEFAULT_COLOR,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Lens overlay",
      "Filter/Effect/Video",
      "Draws regions of interest with their labels, confidences, "
      "classifications and recognised text, and the FPS", "Lens");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_lens_overlay_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_lens_overlay_stop);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_lens_overlay_transform_ip);
  trans_class->passthrough_on_same_caps = FALSE;
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_lens_overlay_transform_frame_ip);
}

static void
gst_lens_overlay_init (GstLensOverlay * self)
{
  self->thickness = DEFAULT_THICKNESS;
  self->font_size = DEFAULT_FONT_SIZE;
  self->show_labels = DEFAULT_SHOW_LABELS;
  self->show_confidence = DEFAULT_SHOW_CONFIDENCE;
  self->show_fps = DEFAULT_SHOW_FPS;
  self->color = DEFAULT_COLOR;
  self->fps = -1.0;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
