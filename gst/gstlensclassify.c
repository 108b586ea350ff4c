/**
 * SECTION:element-lensclassify
 * @title: lensclassify
 *
 * Runs a classification or text recognition model on whole frames or on the regions of
 * interest found upstream (lensdetect), and adds the result to each region's
 * #GstVideoRegionOfInterestMeta as a #GstStructure named after the classifier
 * (classifier-name, default: the element's name) with label, label_id and confidence; for
 * text recognition (decoder=ctc, labels = the character dictionary) also text.
 *
 * inference-region=roi-list crops each region whose roi_type is in object-class (all but
 * the full-frame region when object-class is empty) and batches the crops, up to
 * batch-size per inference. For text regions the axis-aligned bounds of the quad are read.
 * inference-region=full-frame classifies the whole frame and stores the result on a region
 * covering the frame with roi_type "full-frame" (added once, shared by classifiers).
 *
 * flip-if="NAME:LABEL" rotates the crop by 180 degrees for regions that an upstream
 * classifier NAME labelled LABEL: e.g. PaddleOCR's direction classifier before the
 * recogniser.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc pattern=white num-buffers=1 ! \
 *   video/x-raw,width=640,height=240 ! \
 *   textoverlay text="HELLO WORLD" font-desc="Sans 48" ! \
 *   lensdetect model=models/real/ppocr_det/model.onnx decoder=db ! \
 *   lensclassify name=direction model=models/real/ppocr_cls/model.onnx \
 *     decoder=softmax labels=angles.txt inference-region=roi-list \
 *     resize=aspect-pad-right mean=127.5 scale=0.0078431 ! \
 *   lensclassify name=ocr model=models/real/ppocr_rec/model.onnx decoder=ctc \
 *     labels=models/real/ppocr_rec/ppocr_keys_v1.txt inference-region=roi-list \
 *     flip-if=direction:180 ! \
 *   fakesink
 * ]| (angles.txt holds the two lines "0" and "180")
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include "gstlensbase.h"
#include "lensmeta.h"

GST_DEBUG_CATEGORY_STATIC (gst_lens_classify_debug);
#define GST_CAT_DEFAULT gst_lens_classify_debug

#define GST_TYPE_LENS_CLASSIFY (gst_lens_classify_get_type ())
G_DECLARE_FINAL_TYPE (GstLensClassify, gst_lens_classify, GST, LENS_CLASSIFY,
    GstLensBase);

typedef enum {
  GST_LENS_INFERENCE_REGION_FULL_FRAME = 0,
  GST_LENS_INFERENCE_REGION_ROI_LIST,
} GstLensInferenceRegion;

#define GST_TYPE_LENS_INFERENCE_REGION (gst_lens_inference_region_get_type ())
static GType
gst_lens_inference_region_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_LENS_INFERENCE_REGION_FULL_FRAME, "The whole frame", "full-frame"},
    {GST_LENS_INFERENCE_REGION_ROI_LIST, "Each region of interest",
        "roi-list"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstLensInferenceRegion", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

struct _GstLensClassify
{
  GstLensBase parent;

  /* properties, under the object lock */
  GstLensInferenceRegion inference_region;
  gchar *object_class;
  gchar *classifier_name;
  gchar *flip_if;

  /* running configuration (start to stop) */
  GstLensInferenceRegion region_mode;
  gchar **classes;              /* NULL: every region but the full-frame one */
  gchar *name;                  /* the result structure's name */
  gchar *flip_name;             /* flip-if split in two; NULL: never */
  gchar *flip_label;
  gboolean warned;
};

enum
{
  PROP_0,
  PROP_INFERENCE_REGION,
  PROP_OBJECT_CLASS,
  PROP_CLASSIFIER_NAME,
  PROP_FLIP_IF,
  PROP_DECODER,
};

G_DEFINE_TYPE (GstLensClassify, gst_lens_classify, GST_TYPE_LENS_BASE);
GST_ELEMENT_REGISTER_DEFINE (lensclassify, "lensclassify", GST_RANK_NONE,
    GST_TYPE_LENS_CLASSIFY);

/* GstStructure names: a letter, then letters, digits and / - _ . : + */
static gboolean
valid_structure_name (const gchar * name)
{
  if (!name || !g_ascii_isalpha (name[0]))
    return FALSE;
  for (const gchar * p = name + 1; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("/-_.:+", *p))
      return FALSE;
  return TRUE;
}

static void
gst_lens_classify_release (GstLensBase * base)
{
  GstLensClassify *self = GST_LENS_CLASSIFY (base);
  g_clear_pointer (&self->classes, g_strfreev);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->flip_name, g_free);
  g_clear_pointer (&self->flip_label, g_free);
}

static gboolean
gst_lens_classify_prepare (GstLensBase * base, GError ** error)
{
  GstLensClassify *self = GST_LENS_CLASSIFY (base);
  lens_decoder_kind kind = gst_lens_base_get_decoder (base);
  gsize n_labels = 0;

  if (kind != LENS_DECODER_SOFTMAX && kind != LENS_DECODER_CTC) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "decoder %s does not classify (use softmax or ctc)",
        lens_decoder_name (kind));
    return FALSE;
  }
  const lens_tensor_desc *d = gst_lens_base_get_output_desc (base, 0);
  gboolean fits = d && (kind == LENS_DECODER_CTC ? d->rank == 3
      : d->rank == 2 || (d->rank == 4 && d->dims[2] == 1 && d->dims[3] == 1));
  if (!fits) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "decoder %s cannot read output 0 of rank %d (expected %s)",
        lens_decoder_name (kind), d ? d->rank : -1,
        kind == LENS_DECODER_CTC ? "[B,T,C]" : "[B,C] or [B,C,1,1]");
    return FALSE;
  }
  if (kind == LENS_DECODER_CTC && !gst_lens_base_get_labels (base, &n_labels)) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "decoder ctc needs the character dictionary: set labels");
    return FALSE;
  }

  GST_OBJECT_LOCK (self);
  self->region_mode = self->inference_region;
  self->name = g_strdup (self->classifier_name && *self->classifier_name
      ? self->classifier_name : GST_OBJECT_NAME (self));
  if (self->object_class && *self->object_class) {
    self->classes = g_strsplit (self->object_class, ",", -1);
    for (gchar ** c = self->classes; *c; c++)
      g_strstrip (*c);
  }
  gchar *flip_if = g_strdup (self->flip_if);
  GST_OBJECT_UNLOCK (self);

  gboolean ok = TRUE;
  if (!valid_structure_name (self->name)) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
        "classifier name \"%s\" must start with a letter and hold only "
        "letters, digits and / - _ . : +", self->name);
    ok = FALSE;
  } else if (flip_if && *flip_if) {
    const gchar *colon = strrchr (flip_if, ':');
    if (!colon || colon == flip_if || !colon[1]) {
      g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
          "flip-if \"%s\" is not CLASSIFIER:LABEL", flip_if);
      ok = FALSE;
    } else {
      self->flip_name = g_strndup (flip_if, colon - flip_if);
      self->flip_label = g_strdup (colon + 1);
    }
  }
  g_free (flip_if);
  self->warned = FALSE;
  return ok;
}

static gboolean
class_selected (GstLensClassify * self, const gchar * roi_type)
{
  if (!self->classes)
    return g_strcmp0 (roi_type, LENS_FULL_FRAME_ROI_TYPE) != 0;
  for (gchar ** c = self->classes; *c; c++)
    if (g_strcmp0 (*c, roi_type) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
should_flip (GstLensClassify * self, GstVideoRegionOfInterestMeta * roi)
{
  if (!self->flip_name)
    return FALSE;
  GstStructure *s = gst_video_region_of_interest_meta_get_param (roi,
      self->flip_name);
  return s && g_strcmp0 (gst_structure_get_string (s, "label"),
      self->flip_label) == 0;
}

static void
gst_lens_classify_collect_regions (GstLensBase * base, GstBuffer * buffer,
    const GstVideoInfo * info, GArray * regions)
{
  GstLensClassify *self = GST_LENS_CLASSIFY (base);
  gint64 fw = GST_VIDEO_INFO_WIDTH (info), fh = GST_VIDEO_INFO_HEIGHT (info);
  GstVideoRegionOfInterestMeta *roi;
  gpointer state = NULL;

  if (self->region_mode == GST_LENS_INFERENCE_REGION_FULL_FRAME) {
    GstVideoRegionOfInterestMeta *full = NULL;
    GQuark q = g_quark_from_static_string (LENS_FULL_FRAME_ROI_TYPE);
    while (!full && (roi = (GstVideoRegionOfInterestMeta *)
            gst_buffer_iterate_meta_filtered (buffer, &state,
                GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
      if (roi->roi_type == q)
        full = roi;
    if (!full) {
      full = gst_buffer_add_video_region_of_interest_meta (buffer,
          LENS_FULL_FRAME_ROI_TYPE, 0, 0, (guint) fw, (guint) fh);
    }
    GstLensRegion r = { {0, 0, (gint) fw, (gint) fh}, full, should_flip (self,
          full)
    };
    g_array_append_val (regions, r);
    return;
  }

  while ((roi = (GstVideoRegionOfInterestMeta *)
          gst_buffer_iterate_meta_filtered (buffer, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    if (!class_selected (self, g_quark_to_string (roi->roi_type)))
      continue;
    gint64 x0 = MIN ((gint64) roi->x, fw), y0 = MIN ((gint64) roi->y, fh);
    gint64 x1 = MIN ((gint64) roi->x + roi->w, fw);
    gint64 y1 = MIN ((gint64) roi->y + roi->h, fh);
    if (x1 <= x0 || y1 <= y0)
      continue;
    GstLensRegion r = { {(gint) x0, (gint) y0, (gint) (x1 - x0),
            (gint) (y1 - y0)}, roi, should_flip (self, roi)
    };
    g_array_append_val (regions, r);
  }
}

static void
gst_lens_classify_process_item (GstLensBase * base, const GstLensItem * item,
    const lens_tensor * outputs, gsize n_outputs, gsize batch_index)
{
  GstLensClassify *self = GST_LENS_CLASSIFY (base);
  lens_decoder_kind kind = gst_lens_base_get_decoder (base);
  gsize n_labels = 0;
  const gchar *const *labels = gst_lens_base_get_labels (base, &n_labels);
  lens_classification cls;

  memset (&cls, 0, sizeof cls);
  lens_status *st = lens_decode_classification (kind, outputs, n_outputs,
      batch_index, (const char *const *) labels, n_labels, &cls);
  if (st) {
    if (!self->warned)
      GST_ELEMENT_WARNING (self, STREAM, DECODE,
          ("Could not decode the model's outputs."), ("%s",
              lens_status_message (st)));
    self->warned = TRUE;
    lens_status_free (st);
    return;
  }
  cls.text[sizeof cls.text - 1] = '\0';

  gchar fallback[32];
  const gchar *label;
  if (kind == LENS_DECODER_CTC)
    label = cls.text;
  else if (labels && cls.label_id >= 0 && (gsize) cls.label_id < n_labels)
    label = labels[cls.label_id];
  else {
    g_snprintf (fallback, sizeof fallback, "%d", cls.label_id);
    label = fallback;
  }
  gdouble confidence = isfinite (cls.confidence)
      ? CLAMP (cls.confidence, 0.0, 1.0) : 0.0;
  GstStructure *s = gst_structure_new (self->name,
      "label", G_TYPE_STRING, label,
      "label_id", G_TYPE_INT, cls.label_id,
      "confidence", G_TYPE_DOUBLE, confidence, NULL);
  if (kind == LENS_DECODER_CTC)
    gst_structure_set (s, "text", G_TYPE_STRING, cls.text, NULL);
  GST_LOG_OBJECT (self, "%" GST_PTR_FORMAT, s);
  gst_video_region_of_interest_meta_add_param (item->region.roi, s);
}

static void
gst_lens_classify_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstLensClassify *self = GST_LENS_CLASSIFY (object);

  if (prop_id == PROP_DECODER) {
    gst_lens_base_set_decoder_property (GST_LENS_BASE (self),
        g_value_get_enum (value));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_INFERENCE_REGION:
      self->inference_region = g_value_get_enum (value);
      break;
    case PROP_OBJECT_CLASS:
      g_free (self->object_class);
      self->object_class = g_value_dup_string (value);
      break;
    case PROP_CLASSIFIER_NAME:
      g_free (self->classifier_name);
      self->classifier_name = g_value_dup_string (value);
      break;
    case PROP_FLIP_IF:
      g_free (self->flip_if);
      self->flip_if = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lens_classify_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstLensClassify *self = GST_LENS_CLASSIFY (object);

  if (prop_id == PROP_DECODER) {
    g_value_set_enum (value,
        gst_lens_base_get_decoder_property (GST_LENS_BASE (self)));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_INFERENCE_REGION:
      g_value_set_enum (value, self->inference_region);
      break;
    case PROP_OBJECT_CLASS:
      g_value_set_string (value, self->object_class);
      break;
    case PROP_CLASSIFIER_NAME:
      g_value_set_string (value, self->classifier_name);
      break;
    case PROP_FLIP_IF:
      g_value_set_string (value, self->flip_if);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lens_classify_finalize (GObject * object)
{
  GstLensClassify *self = GST_LENS_CLASSIFY (object);
  g_free (self->object_class);
  g_free (self->classifier_name);
  g_free (self->flip_if);
  gst_lens_classify_release (GST_LENS_BASE (self));
  G_OBJECT_CLASS (gst_lens_classify_parent_class)->finalize (object);
}

static void
gst_lens_classify_init (GstLensClassify * self)
{
  self->inference_region = GST_LENS_INFERENCE_REGION_FULL_FRAME;
}

static void
gst_lens_classify_class_init (GstLensClassifyClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstLensBaseClass *base_class = GST_LENS_BASE_CLASS (klass);
  const GParamFlags ready = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  GST_DEBUG_CATEGORY_INIT (gst_lens_classify_debug, "lensclassify", 0,
      "Lens classification");

  gobject_class->set_property = gst_lens_classify_set_property;
  gobject_class->get_property = gst_lens_classify_get_property;
  gobject_class->finalize = gst_lens_classify_finalize;

  base_class->classification = TRUE;
  base_class->prepare = gst_lens_classify_prepare;
  base_class->release = gst_lens_classify_release;
  base_class->collect_regions = gst_lens_classify_collect_regions;
  base_class->process_item = gst_lens_classify_process_item;

  g_object_class_install_property (gobject_class, PROP_INFERENCE_REGION,
      g_param_spec_enum ("inference-region", "Inference region",
          "Classify the whole frame or each region of interest",
          GST_TYPE_LENS_INFERENCE_REGION, GST_LENS_INFERENCE_REGION_FULL_FRAME,
          ready));
  g_object_class_install_property (gobject_class, PROP_OBJECT_CLASS,
      g_param_spec_string ("object-class", "Object class",
          "Comma-separated region labels to classify (roi-list; empty: every "
          "region but the full-frame one)", NULL, ready));
  g_object_class_install_property (gobject_class, PROP_CLASSIFIER_NAME,
      g_param_spec_string ("classifier-name", "Classifier name",
          "Name of the result structure added to each region (empty: the "
          "element's name)", NULL, ready));
  g_object_class_install_property (gobject_class, PROP_FLIP_IF,
      g_param_spec_string ("flip-if", "Flip if",
          "CLASSIFIER:LABEL - rotate the crop by 180 degrees for regions that "
          "classifier labelled LABEL (e.g. \"direction:180\")", NULL, ready));
  gst_lens_base_class_install_decoder_property (base_class, PROP_DECODER,
      "How to read the model's outputs: softmax or ctc (auto: from their "
      "shapes)");

  gst_type_mark_as_plugin_api (GST_TYPE_LENS_INFERENCE_REGION, 0);
  gst_element_class_set_static_metadata (element_class,
      "Lens classification", "Filter/Analyzer/Video",
      "Classifies frames or regions of interest (or reads their text) with an "
      "ONNX model", "Lens");
}
