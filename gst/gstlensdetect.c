/**
 * SECTION:element-lensdetect
 * @title: lensdetect
 *
 * Runs an object or text detection model on each frame and attaches one
 * #GstVideoRegionOfInterestMeta per object, in frame pixels, with roi_type set to the label
 * and a "detection" #GstStructure (label, label_id, confidence, x_min, y_min, x_max, y_max
 * normalised to the frame; for text detection (decoder=db) also "quad": the rotated box as
 * 8 normalised doubles x0,y0..x3,y3, clockwise from the top left).
 *
 * Decoders: SSD (torchvision heads, or a [1,1,N,7] detection output), YOLOv5, YOLOv8/v11
 * and DB (PaddleOCR text detection); "auto" picks one from the output shapes. Frames are
 * converted and scaled straight into the model input (no videoconvert or videoscale
 * needed); the defaults follow the decoder (db: letterbox and ImageNet normalisation).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc pattern=white num-buffers=1 ! \
 *   video/x-raw,width=640,height=240 ! \
 *   textoverlay text="HELLO WORLD" font-desc="Sans 48" ! \
 *   lensdetect model=models/real/ppocr_det/model.onnx decoder=db ! \
 *   lensclassify model=models/real/ppocr_rec/model.onnx decoder=ctc \
 *     labels=models/real/ppocr_rec/ppocr_keys_v1.txt inference-region=roi-list ! \
 *   fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>

#include "gstlensbase.h"
#include "lensmeta.h"

GST_DEBUG_CATEGORY_STATIC (gst_lens_detect_debug);
#define GST_CAT_DEFAULT gst_lens_detect_debug

#define GST_TYPE_LENS_DETECT (gst_lens_detect_get_type ())
G_DECLARE_FINAL_TYPE (GstLensDetect, gst_lens_detect, GST, LENS_DETECT,
    GstLensBase);

struct _GstLensDetect
{
  GstLensBase parent;

  /* properties, under the object lock */
  gfloat threshold;
  gfloat nms_threshold;
  gint max_detections;

  /* under the base's metadata lock */
  lens_detection *dets;
  gsize dets_cap;
  gboolean warned;
};

enum
{
  PROP_0,
  PROP_THRESHOLD,
  PROP_NMS_THRESHOLD,
  PROP_MAX_DETECTIONS,
  PROP_DECODER,
};

#define DEFAULT_THRESHOLD 0.5f
#define DEFAULT_NMS_THRESHOLD 0.45f
#define DEFAULT_MAX_DETECTIONS 100

G_DEFINE_TYPE (GstLensDetect, gst_lens_detect, GST_TYPE_LENS_BASE);
GST_ELEMENT_REGISTER_DEFINE (lensdetect, "lensdetect", GST_RANK_NONE,
    GST_TYPE_LENS_DETECT);

static gboolean
gst_lens_detect_prepare (GstLensBase * base, GError ** error)
{
  GstLensDetect *self = GST_LENS_DETECT (base);
  lens_decoder_kind kind = gst_lens_base_get_decoder (base);
  switch (kind) {
    case LENS_DECODER_SSD:
    case LENS_DECODER_YOLOV5:
    case LENS_DECODER_YOLOV8:
    case LENS_DECODER_DB:
      break;
    default:
      g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
          "decoder %s does not detect objects (use ssd, yolov5, yolov8 or db)",
          lens_decoder_name (kind));
      return FALSE;
  }
  /* the shape rules every decoder of this kind needs; the decoder checks the rest */
  const lens_tensor_desc *d = gst_lens_base_get_output_desc (base, 0);
  gboolean fits = d && (kind == LENS_DECODER_DB
      ? (d->rank == 4 && d->dims[1] == 1) || d->rank == 3 : d->rank >= 3);
  if (!fits) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "decoder %s cannot read output 0 of rank %d (%s)",
        lens_decoder_name (kind), d ? d->rank : -1,
        kind == LENS_DECODER_DB ? "expected a [B,1,H,W] probability map" :
        "expected rank 3 or 4");
    return FALSE;
  }
  self->warned = FALSE;
  return TRUE;
}

static void
gst_lens_detect_release (GstLensBase * base)
{
  GstLensDetect *self = GST_LENS_DETECT (base);
  g_clear_pointer (&self->dets, g_free);
  self->dets_cap = 0;
}

static gdouble
clamp01 (gdouble v)
{
  return v > 0.0 ? (v < 1.0 ? v : 1.0) : 0.0;
}

/* Maps a point normalised to the model input to frame pixels, clamped to the frame. */
static void
map_point (GstLensBase * base, const GstLensItem * item, gdouble nx, gdouble ny,
    gdouble * fx, gdouble * fy)
{
  gdouble w = GST_VIDEO_INFO_WIDTH (item->info);
  gdouble h = GST_VIDEO_INFO_HEIGHT (item->info);
  lens_preprocess_map_point (&item->transform,
      gst_lens_base_get_preprocess_params (base), clamp01 (nx), clamp01 (ny),
      fx, fy);
  *fx = isfinite (*fx) ? CLAMP (*fx, 0.0, w) : 0.0;
  *fy = isfinite (*fy) ? CLAMP (*fy, 0.0, h) : 0.0;
}

static void
gst_lens_detect_process_item (GstLensBase * base, const GstLensItem * item,
    const lens_tensor * outputs, gsize n_outputs, gsize batch_index)
{
  GstLensDetect *self = GST_LENS_DETECT (base);
  lens_decoder_kind kind = gst_lens_base_get_decoder (base);
  lens_detect_params p;
  gsize n_labels = 0;
  const gchar *const *labels = gst_lens_base_get_labels (base, &n_labels);
  gint fw = GST_VIDEO_INFO_WIDTH (item->info);
  gint fh = GST_VIDEO_INFO_HEIGHT (item->info);

  lens_detect_params_init (&p);
  GST_OBJECT_LOCK (self);
  p.threshold = self->threshold;
  p.nms_threshold = self->nms_threshold;
  p.max_detections = self->max_detections;
  GST_OBJECT_UNLOCK (self);
  gst_lens_base_get_input_size (base, &p.input_width, &p.input_height);

  if ((gsize) p.max_detections > self->dets_cap) {
    g_free (self->dets);
    self->dets = g_new0 (lens_detection, p.max_detections);
    self->dets_cap = (gsize) p.max_detections;
  }
  gsize n = 0;
  lens_status *st = lens_decode_detections (kind, outputs, n_outputs,
      batch_index, &p, self->dets, (gsize) p.max_detections, &n);
  if (st) {
    if (!self->warned)
      GST_ELEMENT_WARNING (self, STREAM, DECODE,
          ("Could not decode the model's outputs."), ("%s",
              lens_status_message (st)));
    self->warned = TRUE;
    lens_status_free (st);
    return;
  }

  for (gsize i = 0; i < n && i < (gsize) p.max_detections; i++) {
    const lens_detection *d = &self->dets[i];
    if (!isfinite (d->x_min) || !isfinite (d->y_min) || !isfinite (d->x_max)
        || !isfinite (d->y_max) || !isfinite (d->confidence))
      continue;
    gdouble x0, y0, x1, y1;
    map_point (base, item, d->x_min, d->y_min, &x0, &y0);
    map_point (base, item, d->x_max, d->y_max, &x1, &y1);
    if (x1 < x0) {
      gdouble t = x0;
      x0 = x1;
      x1 = t;
    }
    if (y1 < y0) {
      gdouble t = y0;
      y0 = y1;
      y1 = t;
    }
    gint rx = (gint) floor (x0), ry = (gint) floor (y0);
    gint rx1 = MIN ((gint) ceil (x1), fw), ry1 = MIN ((gint) ceil (y1), fh);
    if (rx1 <= rx || ry1 <= ry)
      continue;

    gchar fallback[32];
    const gchar *label;
    if (labels && d->label_id >= 0 && (gsize) d->label_id < n_labels)
      label = labels[d->label_id];
    else if (kind == LENS_DECODER_DB)
      label = "text";
    else {
      g_snprintf (fallback, sizeof fallback, "class_%d", d->label_id);
      label = fallback;
    }

    GstVideoRegionOfInterestMeta *roi =
        gst_buffer_add_video_region_of_interest_meta (item->buffer, label,
        (guint) rx, (guint) ry, (guint) (rx1 - rx), (guint) (ry1 - ry));
    GstStructure *s = gst_structure_new (LENS_DETECTION_STRUCTURE,
        "label", G_TYPE_STRING, label,
        "label_id", G_TYPE_INT, d->label_id,
        "confidence", G_TYPE_DOUBLE, clamp01 (d->confidence),
        "x_min", G_TYPE_DOUBLE, x0 / fw,
        "y_min", G_TYPE_DOUBLE, y0 / fh,
        "x_max", G_TYPE_DOUBLE, x1 / fw,
        "y_max", G_TYPE_DOUBLE, y1 / fh, NULL);
    if (d->has_quad) {
      GValue quad = G_VALUE_INIT;
      g_value_init (&quad, GST_TYPE_ARRAY);
      for (gint k = 0; k < 4; k++) {
        gdouble qx, qy;
        gdouble nx = isfinite (d->quad[2 * k]) ? d->quad[2 * k] : 0.0;
        gdouble ny = isfinite (d->quad[2 * k + 1]) ? d->quad[2 * k + 1] : 0.0;
        map_point (base, item, nx, ny, &qx, &qy);
        GValue v = G_VALUE_INIT;
        g_value_init (&v, G_TYPE_DOUBLE);
        g_value_set_double (&v, qx / fw);
        gst_value_array_append_value (&quad, &v);
        g_value_set_double (&v, qy / fh);
        gst_value_array_append_value (&quad, &v);
        g_value_unset (&v);
      }
      gst_structure_take_value (s, "quad", &quad);
    }
    gst_video_region_of_interest_meta_add_param (roi, s);
  }
}

static void
gst_lens_detect_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstLensDetect *self = GST_LENS_DETECT (object);

  switch (prop_id) {
    case PROP_DECODER:
      gst_lens_base_set_decoder_property (GST_LENS_BASE (self),
          g_value_get_enum (value));
      return;
    default:
      break;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THRESHOLD:
      self->threshold = g_value_get_float (value);
      break;
    case PROP_NMS_THRESHOLD:
      self->nms_threshold = g_value_get_float (value);
      break;
    case PROP_MAX_DETECTIONS:
      self->max_detections = g_value_get_int (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lens_detect_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstLensDetect *self = GST_LENS_DETECT (object);

  if (prop_id == PROP_DECODER) {
    g_value_set_enum (value,
        gst_lens_base_get_decoder_property (GST_LENS_BASE (self)));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THRESHOLD:
      g_value_set_float (value, self->threshold);
      break;
    case PROP_NMS_THRESHOLD:
      g_value_set_float (value, self->nms_threshold);
      break;
    case PROP_MAX_DETECTIONS:
      g_value_set_int (value, self->max_detections);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lens_detect_finalize (GObject * object)
{
  GstLensDetect *self = GST_LENS_DETECT (object);
  g_free (self->dets);
  G_OBJECT_CLASS (gst_lens_detect_parent_class)->finalize (object);
}

static void
gst_lens_detect_init (GstLensDetect * self)
{
  self->threshold = DEFAULT_THRESHOLD;
  self->nms_threshold = DEFAULT_NMS_THRESHOLD;
  self->max_detections = DEFAULT_MAX_DETECTIONS;
}

static void
gst_lens_detect_class_init (GstLensDetectClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstLensBaseClass *base_class = GST_LENS_BASE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_PLAYING;

  GST_DEBUG_CATEGORY_INIT (gst_lens_detect_debug, "lensdetect", 0,
      "Lens object detection");

  gobject_class->set_property = gst_lens_detect_set_property;
  gobject_class->get_property = gst_lens_detect_get_property;
  gobject_class->finalize = gst_lens_detect_finalize;

  base_class->classification = FALSE;
  base_class->prepare = gst_lens_detect_prepare;
  base_class->release = gst_lens_detect_release;
  base_class->process_item = gst_lens_detect_process_item;

  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_float ("threshold", "Threshold",
          "Minimum confidence of a detection", 0.0f, 1.0f, DEFAULT_THRESHOLD,
          flags));
  g_object_class_install_property (gobject_class, PROP_NMS_THRESHOLD,
      g_param_spec_float ("nms-threshold", "NMS threshold",
          "Overlap (IoU) above which the weaker of two boxes of the same label "
          "is dropped", 0.0f, 1.0f, DEFAULT_NMS_THRESHOLD, flags));
  g_object_class_install_property (gobject_class, PROP_MAX_DETECTIONS,
      g_param_spec_int ("max-detections", "Maximum detections",
          "Most objects reported per frame", 1, 10000, DEFAULT_MAX_DETECTIONS,
          flags));
  gst_lens_base_class_install_decoder_property (base_class, PROP_DECODER,
      "How to read the model's outputs (auto: from their shapes)");

  gst_element_class_set_static_metadata (element_class, "Lens object detection",
      "Filter/Analyzer/Video",
      "Detects objects or text with an ONNX model and attaches regions of "
      "interest", "Lens");
}
