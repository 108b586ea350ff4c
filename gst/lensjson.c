/* JSON lines from Lens metadata and the meta that carries them: see lensjson.h. */
#include "lensjson.h"

#include <gst/video/video.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "lensmeta.h"

/* Structures nested in structures (arrays of arrays...) are data: stop somewhere. */
#define MAX_VALUE_DEPTH 8

const GstMetaInfo *
lens_json_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    static const gchar *tags[] = { NULL };
    const GstMetaInfo *mi = gst_meta_get_info (LENS_JSON_META_NAME);
    if (!mi)
      mi = gst_meta_register_custom (LENS_JSON_META_NAME, tags, NULL, NULL,
          NULL);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

void
lens_buffer_set_json (GstBuffer * buffer, const gchar * json)
{
  GstCustomMeta *meta;

  lens_json_meta_get_info ();
  meta = gst_buffer_get_custom_meta (buffer, LENS_JSON_META_NAME);
  if (!meta)
    meta = gst_buffer_add_custom_meta (buffer, LENS_JSON_META_NAME);
  if (meta)
    gst_structure_set (gst_custom_meta_get_structure (meta),
        LENS_JSON_META_FIELD, G_TYPE_STRING, json, NULL);
}

const gchar *
lens_buffer_get_json (GstBuffer * buffer)
{
  GstCustomMeta *meta = gst_buffer_get_custom_meta (buffer,
      LENS_JSON_META_NAME);
  if (!meta)
    return NULL;
  return gst_structure_get_string (gst_custom_meta_get_structure (meta),
      LENS_JSON_META_FIELD);
}

void
lens_json_stream_state_reset (LensJsonStreamState * state)
{
  g_clear_pointer (&state->stream_id, g_free);
  state->width = 0;
  state->height = 0;
  state->frames = 0;
}

void
lens_json_stream_state_handle_event (LensJsonStreamState * state,
    GstEvent * event)
{
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_STREAM_START:{
      const gchar *id = NULL;
      gst_event_parse_stream_start (event, &id);
      g_free (state->stream_id);
      state->stream_id = g_strdup (id);
      break;
    }
    case GST_EVENT_CAPS:{
      GstCaps *caps = NULL;
      const GstStructure *s;
      gint w = 0, h = 0;
      gst_event_parse_caps (event, &caps);
      if (caps && gst_caps_get_size (caps) > 0) {
        s = gst_caps_get_structure (caps, 0);
        if (!gst_structure_get_int (s, "width", &w) || w < 0)
          w = 0;
        if (!gst_structure_get_int (s, "height", &h) || h < 0)
          h = 0;
      }
      state->width = w;
      state->height = h;
      break;
    }
    default:
      break;
  }
}

/* Strings on buffers come from models, label files and recognisers: not always UTF-8. */
static void
add_string (JsonBuilder * b, const gchar * s)
{
  if (!s) {
    json_builder_add_null_value (b);
  } else if (g_utf8_validate (s, -1, NULL)) {
    json_builder_add_string_value (b, s);
  } else {
    gchar *valid = g_utf8_make_valid (s, -1);
    json_builder_add_string_value (b, valid);
    g_free (valid);
  }
}

static void
add_double (JsonBuilder * b, gdouble d)
{
  /* JSON has no NaN or infinity */
  if (isfinite (d))
    json_builder_add_double_value (b, d);
  else
    json_builder_add_null_value (b);
}

/* Member names come from structures and latency entries: not always UTF-8 either. */
static void
set_member (JsonBuilder * b, const gchar * name)
{
  if (g_utf8_validate (name, -1, NULL)) {
    json_builder_set_member_name (b, name);
  } else {
    gchar *valid = g_utf8_make_valid (name, -1);
    json_builder_set_member_name (b, valid);
    g_free (valid);
  }
}

static void add_structure_fields (JsonBuilder * b, const GstStructure * s,
    guint depth);

static void
add_value (JsonBuilder * b, const GValue * v, guint depth)
{
  GType t = G_VALUE_TYPE (v);

  if (depth > MAX_VALUE_DEPTH) {
    json_builder_add_null_value (b);
  } else if (t == G_TYPE_STRING) {
    add_string (b, g_value_get_string (v));
  } else if (t == G_TYPE_BOOLEAN) {
    json_builder_add_boolean_value (b, g_value_get_boolean (v));
  } else if (t == G_TYPE_INT) {
    json_builder_add_int_value (b, g_value_get_int (v));
  } else if (t == G_TYPE_UINT) {
    json_builder_add_int_value (b, g_value_get_uint (v));
  } else if (t == G_TYPE_INT64) {
    json_builder_add_int_value (b, g_value_get_int64 (v));
  } else if (t == G_TYPE_UINT64) {
    guint64 u = g_value_get_uint64 (v);
    if (u <= G_MAXINT64)
      json_builder_add_int_value (b, (gint64) u);
    else
      add_double (b, (gdouble) u);
  } else if (t == G_TYPE_FLOAT) {
    add_double (b, g_value_get_float (v));
  } else if (t == G_TYPE_DOUBLE) {
    add_double (b, g_value_get_double (v));
  } else if (t == GST_TYPE_ARRAY || t == GST_TYPE_LIST) {
    guint n = t == GST_TYPE_ARRAY ? gst_value_array_get_size (v) :
        gst_value_list_get_size (v);
    json_builder_begin_array (b);
    for (guint i = 0; i < n; i++)
      add_value (b, t == GST_TYPE_ARRAY ? gst_value_array_get_value (v, i) :
          gst_value_list_get_value (v, i), depth + 1);
    json_builder_end_array (b);
  } else if (t == GST_TYPE_STRUCTURE) {
    json_builder_begin_object (b);
    add_structure_fields (b, gst_value_get_structure (v), depth + 1);
    json_builder_end_object (b);
  } else if (t == GST_TYPE_FRACTION || G_TYPE_IS_ENUM (t)
      || G_TYPE_IS_FLAGS (t)) {
    gchar *s = gst_value_serialize (v);
    add_string (b, s);
    g_free (s);
  } else {
    json_builder_add_null_value (b);
  }
}

static void
add_structure_fields (JsonBuilder * b, const GstStructure * s, guint depth)
{
  if (!s)
    return;
  for (guint i = 0; i < (guint) gst_structure_n_fields (s); i++) {
    const gchar *name = gst_structure_nth_field_name (s, i);
    set_member (b, name);
    add_value (b, gst_structure_get_value (s, name), depth);
  }
}

static gboolean
get_number (const GstStructure * s, const gchar * field, gdouble * out)
{
  const GValue *v = s ? gst_structure_get_value (s, field) : NULL;
  if (!v)
    return FALSE;
  if (G_VALUE_HOLDS_DOUBLE (v))
    *out = g_value_get_double (v);
  else if (G_VALUE_HOLDS_FLOAT (v))
    *out = g_value_get_float (v);
  else
    return FALSE;
  return TRUE;
}

static void
add_object (JsonBuilder * b, GstVideoRegionOfInterestMeta * roi,
    const LensJsonStreamState * state)
{
  const GstStructure *det = gst_video_region_of_interest_meta_get_param (roi,
      LENS_DETECTION_STRUCTURE);
  const gchar *roi_type = roi->roi_type ? g_quark_to_string (roi->roi_type) :
      NULL;
  gboolean full_frame = g_strcmp0 (roi_type, LENS_FULL_FRAME_ROI_TYPE) == 0;
  const gchar *label = det ? gst_structure_get_string (det, "label") : NULL;
  gint label_id;
  gdouble confidence;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_int_value (b, roi->id);
  /* 0 is what GStreamer leaves there when nobody set a parent */
  if (roi->parent_id > 0) {
    json_builder_set_member_name (b, "parent_id");
    json_builder_add_int_value (b, roi->parent_id);
  }
  json_builder_set_member_name (b, "roi_type");
  add_string (b, roi_type);
  json_builder_set_member_name (b, "full_frame");
  json_builder_add_boolean_value (b, full_frame);

  json_builder_set_member_name (b, "box");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "x");
  json_builder_add_int_value (b, roi->x);
  json_builder_set_member_name (b, "y");
  json_builder_add_int_value (b, roi->y);
  json_builder_set_member_name (b, "w");
  json_builder_add_int_value (b, roi->w);
  json_builder_set_member_name (b, "h");
  json_builder_add_int_value (b, roi->h);
  if (state->width > 0 && state->height > 0) {
    json_builder_set_member_name (b, "normalized");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "x");
    add_double (b, (gdouble) roi->x / state->width);
    json_builder_set_member_name (b, "y");
    add_double (b, (gdouble) roi->y / state->height);
    json_builder_set_member_name (b, "w");
    add_double (b, (gdouble) roi->w / state->width);
    json_builder_set_member_name (b, "h");
    add_double (b, (gdouble) roi->h / state->height);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "label");
  add_string (b, label ? label : (full_frame ? NULL : roi_type));
  if (det && gst_structure_get_int (det, "label_id", &label_id)) {
    json_builder_set_member_name (b, "label_id");
    json_builder_add_int_value (b, label_id);
  }
  if (get_number (det, "confidence", &confidence)) {
    json_builder_set_member_name (b, "confidence");
    add_double (b, confidence);
  }

  json_builder_set_member_name (b, "classifications");
  json_builder_begin_object (b);
  for (GList * l = roi->params; l; l = l->next) {
    const GstStructure *s = l->data;
    if (!s || gst_structure_has_name (s, LENS_DETECTION_STRUCTURE))
      continue;
    set_member (b, gst_structure_get_name (s));
    json_builder_begin_object (b);
    add_structure_fields (b, s, 1);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);

  json_builder_end_object (b);
}

static void
add_latency (JsonBuilder * b, GstBuffer * buffer)
{
  LensLatencyMeta *meta = gst_buffer_get_lens_latency_meta (buffer);
  guint n = meta ? MIN (meta->n_entries, LENS_LATENCY_MAX_ENTRIES) : 0;

  json_builder_begin_object (b);
  for (guint i = 0; i < n; i++) {
    const LensLatencyEntry *e = &meta->entries[i];
    gchar name[sizeof e->element + 1];
    guint64 sums[4] = { 0, 0, 0, 0 };
    gboolean seen = FALSE;

    /* the element name is a fixed array filled by others: never trust a terminator */
    memcpy (name, e->element, sizeof e->element);
    name[sizeof e->element] = '\0';
    /* an element passed twice (a loop, two passes) reports its sum, once */
    for (guint j = 0; j < i && !seen; j++)
      seen = strncmp (meta->entries[j].element, name, sizeof e->element) == 0;
    if (seen)
      continue;
    for (guint j = i; j < n; j++) {
      const LensLatencyEntry *f = &meta->entries[j];
      if (strncmp (f->element, name, sizeof e->element) != 0)
        continue;
      sums[0] += f->preprocess_ns;
      sums[1] += f->wait_ns;
      sums[2] += f->inference_ns;
      sums[3] += f->postprocess_ns;
    }
    set_member (b, name);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "preprocess_ms");
    add_double (b, sums[0] / 1e6);
    json_builder_set_member_name (b, "wait_ms");
    add_double (b, sums[1] / 1e6);
    json_builder_set_member_name (b, "inference_ms");
    add_double (b, sums[2] / 1e6);
    json_builder_set_member_name (b, "postprocess_ms");
    add_double (b, sums[3] / 1e6);
    json_builder_end_object (b);
  }
  json_builder_end_object (b);
}

/* ---- writing ----------------------------------------------------------------------------- */

/* json-glib's generator prints every double with 17 digits (0.93 -> 0.93000000000000005);
 * lines meant for people and log pipelines print the shortest form that reads back the
 * same. The document is still built (and, by consumers, parsed) with json-glib. */
static void
write_double (GString * out, gdouble d)
{
  static const gchar *const formats[] = { "%.15g", "%.16g", "%.17g" };
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    g_ascii_formatd (buf, sizeof buf, formats[i], d);
    if (g_ascii_strtod (buf, NULL) == d)
      break;
  }
  g_string_append (out, buf);
  /* keep it a double for readers that type numbers by their form */
  if (!strpbrk (buf, ".eE"))
    g_string_append (out, ".0");
}

static void
write_string (GString * out, const gchar * s)
{
  g_string_append_c (out, '"');
  for (const guchar * p = (const guchar *) s; *p; p++) {
    switch (*p) {
      case '"':
        g_string_append (out, "\\\"");
        break;
      case '\\':
        g_string_append (out, "\\\\");
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      case '\r':
        g_string_append (out, "\\r");
        break;
      case '\t':
        g_string_append (out, "\\t");
        break;
      default:
        if (*p < 0x20)
          g_string_append_printf (out, "\\u%04x", *p);
        else
          g_string_append_c (out, (gchar) * p);
        break;
    }
  }
  g_string_append_c (out, '"');
}

static void
write_node (GString * out, JsonNode * node)
{
  switch (JSON_NODE_TYPE (node)) {
    case JSON_NODE_OBJECT:{
      JsonObjectIter iter;
      const gchar *name;
      JsonNode *member;
      gboolean first = TRUE;
      g_string_append_c (out, '{');
      json_object_iter_init_ordered (&iter, json_node_get_object (node));
      while (json_object_iter_next_ordered (&iter, &name, &member)) {
        if (!first)
          g_string_append_c (out, ',');
        first = FALSE;
        write_string (out, name);
        g_string_append_c (out, ':');
        write_node (out, member);
      }
      g_string_append_c (out, '}');
      break;
    }
    case JSON_NODE_ARRAY:{
      JsonArray *array = json_node_get_array (node);
      g_string_append_c (out, '[');
      for (guint i = 0; i < json_array_get_length (array); i++) {
        if (i)
          g_string_append_c (out, ',');
        write_node (out, json_array_get_element (array, i));
      }
      g_string_append_c (out, ']');
      break;
    }
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node)) {
        case G_TYPE_INT64:
          g_string_append_printf (out, "%" G_GINT64_FORMAT,
              json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          write_double (out, json_node_get_double (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" :
              "false");
          break;
        case G_TYPE_STRING:
          write_string (out, json_node_get_string (node));
          break;
        default:
          g_string_append (out, "null");
          break;
      }
      break;
    case JSON_NODE_NULL:
    default:
      g_string_append (out, "null");
      break;
  }
}

gchar *
lens_json_from_buffer (GstBuffer * buffer, LensJsonStreamState * state)
{
  JsonBuilder *b = json_builder_new ();
  JsonNode *root;
  gpointer iter = NULL;
  GstMeta *meta;
  GString *line = g_string_sized_new (256);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "timestamp");
  if (GST_BUFFER_PTS_IS_VALID (buffer) && GST_BUFFER_PTS (buffer) <= G_MAXINT64)
    json_builder_add_int_value (b, (gint64) GST_BUFFER_PTS (buffer));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "stream");
  add_string (b, state->stream_id);
  json_builder_set_member_name (b, "frame");
  json_builder_add_int_value (b, (gint64) MIN (state->frames, G_MAXINT64));
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, state->width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, state->height);

  json_builder_set_member_name (b, "objects");
  json_builder_begin_array (b);
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &iter,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
    add_object (b, (GstVideoRegionOfInterestMeta *) meta, state);
  json_builder_end_array (b);

  json_builder_set_member_name (b, "latency");
  add_latency (b, buffer);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  write_node (line, root);
  json_node_unref (root);
  g_object_unref (b);
  state->frames++;
  return g_string_free (line, FALSE);
}
