/* lensmetaconvert: turns the Lens metadata of each frame into one JSON line. */

/**
 * SECTION:element-lensmetaconvert
 * @title: lensmetaconvert
 *
 * For each frame, serialises its regions of interest (boxes in pixels and normalised,
 * detection label, label id and confidence, every classifier's results and recognised
 * text) and its #LensLatencyMeta (per element: preprocess, wait, inference and postprocess
 * milliseconds) as one JSON object on one line, with the frame's timestamp, stream id and
 * resolution. The line is attached to the buffer as a #GstCustomMeta named "LensJsonMeta"
 * (field "json"), which lenspublish writes out; with #GstLensMetaConvert:print the element
 * also prints it to stdout. Video data pass through untouched.
 *
 * The line's layout is documented in gst/lensjson.h.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=10 ! lensmetaconvert print=true ! fakesink
 * ]|
 * With a detector and a file:
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! lensdetect model=det.onnx ! lensmetaconvert ! lenspublish file-path=out.jsonl ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

#include "lensjson.h"

GST_DEBUG_CATEGORY_STATIC (gst_lens_meta_convert_debug);
#define GST_CAT_DEFAULT gst_lens_meta_convert_debug

#define GST_TYPE_LENS_META_CONVERT (gst_lens_meta_convert_get_type ())
G_DECLARE_FINAL_TYPE (GstLensMetaConvert, gst_lens_meta_convert, GST,
    LENS_META_CONVERT, GstBaseTransform);

#define DEFAULT_PRINT FALSE
#define DEFAULT_ATTACH TRUE

enum
{
  PROP_0,
  PROP_PRINT,
  PROP_ATTACH,
};

struct _GstLensMetaConvert
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  gboolean print;
  gboolean attach;

  /* streaming thread only */
  LensJsonStreamState stream;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

G_DEFINE_TYPE (GstLensMetaConvert, gst_lens_meta_convert,
    GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (lensmetaconvert, "lensmetaconvert", GST_RANK_NONE,
    GST_TYPE_LENS_META_CONVERT);

static void
gst_lens_meta_convert_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstLensMetaConvert *self = GST_LENS_META_CONVERT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_PRINT:
      self->print = g_value_get_boolean (value);
      break;
    case PROP_ATTACH:
      self->attach = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lens_meta_convert_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstLensMetaConvert *self = GST_LENS_META_CONVERT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_PRINT:
      g_value_set_boolean (value, self->print);
      break;
    case PROP_ATTACH:
      g_value_set_boolean (value, self->attach);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_lens_meta_convert_start (GstBaseTransform * trans)
{
  GstLensMetaConvert *self = GST_LENS_META_CONVERT (trans);
  lens_json_stream_state_reset (&self->stream);
  return TRUE;
}

static gboolean
gst_lens_meta_convert_stop (GstBaseTransform * trans)
{
  GstLensMetaConvert *self = GST_LENS_META_CONVERT (trans);
  lens_json_stream_state_reset (&self->stream);
  return TRUE;
}

static gboolean
gst_lens_meta_convert_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstLensMetaConvert *self = GST_LENS_META_CONVERT (trans);

  lens_json_stream_state_handle_event (&self->stream, event);
  return
      GST_BASE_TRANSFORM_CLASS (gst_lens_meta_convert_parent_class)->sink_event
      (trans, event);
}

static GstFlowReturn
gst_lens_meta_convert_transform_ip (GstBaseTransform * trans,
    GstBuffer * buffer)
{
  GstLensMetaConvert *self = GST_LENS_META_CONVERT (trans);
  gboolean print, attach;
  gchar *line;

  GST_OBJECT_LOCK (self);
  print = self->print;
  attach = self->attach;
  GST_OBJECT_UNLOCK (self);

  line = lens_json_from_buffer (buffer, &self->stream);
  GST_LOG_OBJECT (self, "%s", line);
  if (attach)
    lens_buffer_set_json (buffer, line);
  if (print)
    g_print ("%s\n", line);
  g_free (line);
  return GST_FLOW_OK;
}

static void
gst_lens_meta_convert_class_init (GstLensMetaConvertClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_lens_meta_convert_debug, "lensmetaconvert", 0,
      "Lens metadata to JSON");
  lens_json_meta_get_info ();

  gobject_class->set_property = gst_lens_meta_convert_set_property;
  gobject_class->get_property = gst_lens_meta_convert_get_property;

  g_object_class_install_property (gobject_class, PROP_PRINT,
      g_param_spec_boolean ("print", "Print",
          "Also print each frame's JSON line to stdout", DEFAULT_PRINT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ATTACH,
      g_param_spec_boolean ("attach", "Attach",
          "Attach each frame's JSON line to the buffer as a GstCustomMeta "
          "named \"" LENS_JSON_META_NAME "\" (field \"" LENS_JSON_META_FIELD
          "\")", DEFAULT_ATTACH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Lens metadata to JSON", "Filter/Analyzer/Video",
      "Serialises each frame's regions of interest, classifications and "
      "latency into one JSON line", "Lens");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_lens_meta_convert_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_lens_meta_convert_stop);
  trans_class->sink_event =
      GST_DEBUG_FUNCPTR (gst_lens_meta_convert_sink_event);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_lens_meta_convert_transform_ip);
  /* the buffer gets a meta: it must be made writable (a shallow copy at most) */
  trans_class->passthrough_on_same_caps = FALSE;
}

static void
gst_lens_meta_convert_init (GstLensMetaConvert * self)
{
  self->print = DEFAULT_PRINT;
  self->attach = DEFAULT_ATTACH;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
