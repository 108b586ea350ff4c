/* lenspublish: writes each frame's JSON line to a file or stdout. */

/**
 * SECTION:element-lenspublish
 * @title: lenspublish
 *
 * Writes one JSON line per frame: the line lensmetaconvert attached to the buffer
 * ("LensJsonMeta"), or, when there is none, a line this element builds from the buffer's
 * metadata in the same layout. The output is a file (#GstLensPublish:file-path, truncated or
 * appended to according to #GstLensPublish:mode) or stdout (method=stdout, or a file-path
 * that is unset or "-"); it is flushed at EOS and when the element stops. The video passes
 * through untouched, so the element can sit anywhere after the analytics.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=30 ! lensmetaconvert ! lenspublish file-path=/tmp/frames.jsonl ! fakesink
 * ]|
 * With a detector:
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! lensdetect model=det.onnx ! lensmetaconvert ! lenspublish method=stdout ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lensjson.h"

GST_DEBUG_CATEGORY_STATIC (gst_lens_publish_debug);
#define GST_CAT_DEFAULT gst_lens_publish_debug

#define GST_TYPE_LENS_PUBLISH (gst_lens_publish_get_type ())
G_DECLARE_FINAL_TYPE (GstLensPublish, gst_lens_publish, GST, LENS_PUBLISH,
    GstBaseTransform);

typedef enum
{
  LENS_PUBLISH_METHOD_FILE,
  LENS_PUBLISH_METHOD_STDOUT,
} LensPublishMethod;

typedef enum
{
  LENS_PUBLISH_MODE_TRUNCATE,
  LENS_PUBLISH_MODE_APPEND,
} LensPublishMode;

#define DEFAULT_METHOD LENS_PUBLISH_METHOD_FILE
#define DEFAULT_FILE_PATH NULL
#define DEFAULT_MODE LENS_PUBLISH_MODE_TRUNCATE

enum
{
  PROP_0,
  PROP_METHOD,
  PROP_FILE_PATH,
  PROP_MODE,
};

struct _GstLensPublish
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  LensPublishMethod method;
  gchar *file_path;
  LensPublishMode mode;

  /* between start() and stop() */
  FILE *out;
  gboolean owns_out;            /* a file we opened, not stdout */
  gchar *out_name;              /* for messages */
  LensJsonStreamState stream;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

G_DEFINE_TYPE (GstLensPublish, gst_lens_publish, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (lenspublish, "lenspublish", GST_RANK_NONE,
    GST_TYPE_LENS_PUBLISH);

#define GST_TYPE_LENS_PUBLISH_METHOD (lens_publish_method_get_type ())
static GType
lens_publish_method_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {LENS_PUBLISH_METHOD_FILE, "Write to file-path (stdout when it is unset or "
          "\"-\")", "file"},
    {LENS_PUBLISH_METHOD_STDOUT, "Write to stdout", "stdout"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstLensPublishMethod", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define GST_TYPE_LENS_PUBLISH_MODE (lens_publish_mode_get_type ())
static GType
lens_publish_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {LENS_PUBLISH_MODE_TRUNCATE, "Replace the file's contents", "truncate"},
    {LENS_PUBLISH_MODE_APPEND, "Append to the file", "append"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstLensPublishMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static void
gst_lens_publish_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstLensPublish *self = GST_LENS_PUBLISH (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_METHOD:
      self->method = g_value_get_enum (value);
      break;
    case PROP_FILE_PATH:
      g_free (self->file_path);
      self->file_path = g_value_dup_string (value);
      break;
    case PROP_MODE:
      self->mode = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lens_publish_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstLensPublish *self = GST_LENS_PUBLISH (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_METHOD:
      g_value_set_enum (value, self->method);
      break;
    case PROP_FILE_PATH:
      g_value_set_string (value, self->file_path);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lens_publish_finalize (GObject * object)
{
  GstLensPublish *self = GST_LENS_PUBLISH (object);

  g_free (self->file_path);
  G_OBJECT_CLASS (gst_lens_publish_parent_class)->finalize (object);
}

static gboolean
gst_lens_publish_start (GstBaseTransform * trans)
{
  GstLensPublish *self = GST_LENS_PUBLISH (trans);
  LensPublishMethod method;
  LensPublishMode mode;
  gchar *path;

  GST_OBJECT_LOCK (self);
  method = self->method;
  mode = self->mode;
  path = g_strdup (self->file_path);
  GST_OBJECT_UNLOCK (self);

  lens_json_stream_state_reset (&self->stream);

  if (method == LENS_PUBLISH_METHOD_STDOUT || !path || !*path
      || strcmp (path, "-") == 0) {
    self->out = stdout;
    self->owns_out = FALSE;
    self->out_name = g_strdup ("stdout");
    g_free (path);
    return TRUE;
  }

  self->out = fopen (path, mode == LENS_PUBLISH_MODE_APPEND ? "a" : "w");
  if (!self->out) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        ("Could not open file \"%s\" for writing.", path), GST_ERROR_SYSTEM);
    g_free (path);
    return FALSE;
  }
  self->owns_out = TRUE;
  self->out_name = path;
  GST_INFO_OBJECT (self, "writing JSON lines to %s", path);
  return TRUE;
}

static gboolean
gst_lens_publish_stop (GstBaseTransform * trans)
{
  GstLensPublish *self = GST_LENS_PUBLISH (trans);

  if (self->out) {
    if (self->owns_out) {
      if (fclose (self->out) != 0) {
        GST_ELEMENT_WARNING (self, RESOURCE, CLOSE,
            ("Error closing file \"%s\".", self->out_name), GST_ERROR_SYSTEM);
      }
    } else {
      fflush (self->out);
    }
  }
  self->out = NULL;
  self->owns_out = FALSE;
  g_clear_pointer (&self->out_name, g_free);
  lens_json_stream_state_reset (&self->stream);
  /* a close error is reported as a warning: failing here would block the state change */
  return TRUE;
}

static gboolean
gst_lens_publish_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstLensPublish *self = GST_LENS_PUBLISH (trans);

  lens_json_stream_state_handle_event (&self->stream, event);
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->out
      && fflush (self->out) != 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not write to \"%s\".", self->out_name), GST_ERROR_SYSTEM);
    gst_event_unref (event);
    return FALSE;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_lens_publish_parent_class)->sink_event
      (trans, event);
}

static GstFlowReturn
gst_lens_publish_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstLensPublish *self = GST_LENS_PUBLISH (trans);
  const gchar *json = lens_buffer_get_json (buffer);
  gchar *built = NULL;

  if (!self->out)
    return GST_FLOW_FLUSHING;
  if (!json)
    json = built = lens_json_from_buffer (buffer, &self->stream);

  if (fputs (json, self->out) == EOF || fputc ('\n', self->out) == EOF) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        ("Could not write to \"%s\".", self->out_name), GST_ERROR_SYSTEM);
    g_free (built);
    return GST_FLOW_ERROR;
  }
  g_free (built);
  return GST_FLOW_OK;
}

static void
gst_lens_publish_class_init (GstLensPublishClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_lens_publish_debug, "lenspublish", 0,
      "Lens JSON publisher");
  lens_json_meta_get_info ();

  gobject_class->set_property = gst_lens_publish_set_property;
  gobject_class->get_property = gst_lens_publish_get_property;
  gobject_class->finalize = gst_lens_publish_finalize;

  g_object_class_install_property (gobject_class, PROP_METHOD,
      g_param_spec_enum ("method", "Method", "Where the JSON lines go",
          GST_TYPE_LENS_PUBLISH_METHOD, DEFAULT_METHOD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_FILE_PATH,
      g_param_spec_string ("file-path", "File path",
          "File to write the JSON lines to with method=file (unset or \"-\": "
          "stdout)", DEFAULT_FILE_PATH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "Whether an existing file is truncated or appended to",
          GST_TYPE_LENS_PUBLISH_MODE, DEFAULT_MODE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Lens JSON publisher",
      "Filter/Analyzer/Video",
      "Writes each frame's metadata as a JSON line to a file or stdout",
      "Lens");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_lens_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_lens_publish_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_lens_publish_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_lens_publish_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;

  gst_type_mark_as_plugin_api (GST_TYPE_LENS_PUBLISH_METHOD, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_LENS_PUBLISH_MODE, 0);
}

static void
gst_lens_publish_init (GstLensPublish * self)
{
  self->method = DEFAULT_METHOD;
  self->file_path = g_strdup (DEFAULT_FILE_PATH);
  self->mode = DEFAULT_MODE;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}
