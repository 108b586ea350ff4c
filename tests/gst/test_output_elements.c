/* Tests of the Lens output elements: lensoverlay, lensfps, lensmetaconvert, lenspublish.
 *
 * The buffers carry metadata built by hand, as lensdetect and lensclassify would attach it
 * (gst/lensmeta.h): GstVideoRegionOfInterestMeta with a "detection" structure and one
 * structure per classifier, and LensLatencyMeta. The plugin is found through
 * GST_PLUGIN_PATH; the Lens metas are looked up by name once the plugin is loaded, so that
 * this program does not register a second copy of them. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lensmeta.h"

#define W 128
#define H 96
#define BG 64                   /* background grey (RGB) or luma (YUV) */

/* ---- helpers ------------------------------------------------------------------------- */

static GstBuffer *
make_frame (const GstVideoInfo * info)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info),
      NULL);
  GstVideoFrame f;
  fail_unless (gst_video_frame_map (&f, (GstVideoInfo *) info, buf,
          GST_MAP_WRITE));
  if (GST_VIDEO_INFO_IS_YUV (info)) {
    for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&f); p++)
      memset (GST_VIDEO_FRAME_PLANE_DATA (&f, p), p == 0 ? BG : 128,
          GST_VIDEO_FRAME_PLANE_STRIDE (&f, p) *
          GST_VIDEO_FRAME_COMP_HEIGHT (&f, p == 0 ? 0 : 1));
  } else {
    memset (GST_VIDEO_FRAME_PLANE_DATA (&f, 0), BG,
        GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0) * GST_VIDEO_FRAME_HEIGHT (&f));
  }
  gst_video_frame_unmap (&f);
  GST_BUFFER_PTS (buf) = 0;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  return buf;
}

static GstVideoInfo
video_info (GstVideoFormat format)
{
  GstVideoInfo info;
  gst_video_info_set_format (&info, format, W, H);
  GST_VIDEO_INFO_FPS_N (&info) = 30;
  GST_VIDEO_INFO_FPS_D (&info) = 1;
  return info;
}

/* gst_event_new_caps() does not take the caps. */
static GstEvent *
caps_event (const GstVideoInfo * info)
{
  GstCaps *caps = gst_video_info_to_caps ((GstVideoInfo *) info);
  GstEvent *event = gst_event_new_caps (caps);
  gst_caps_unref (caps);
  return event;
}

static GstVideoRegionOfInterestMeta *
add_region (GstBuffer * buf, const gchar * label, gint label_id,
    gdouble confidence, guint x, guint y, guint w, guint h)
{
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta (buf, label, x, y, w, h);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new (LENS_DETECTION_STRUCTURE,
          "label", G_TYPE_STRING, label, "label_id", G_TYPE_INT, label_id,
          "confidence", G_TYPE_DOUBLE, confidence,
          "x_min", G_TYPE_DOUBLE, (gdouble) x / W,
          "y_min", G_TYPE_DOUBLE, (gdouble) y / H,
          "x_max", G_TYPE_DOUBLE, (gdouble) (x + w) / W,
          "y_max", G_TYPE_DOUBLE, (gdouble) (y + h) / H, NULL));
  return roi;
}

static LensLatencyEntry *
add_latency (GstBuffer * buf, const gchar * element, guint64 pre,
    guint64 wait, guint64 inf, guint64 post)
{
  /* the plugin registered the meta: use its registration */
  const GstMetaInfo *info = gst_meta_get_info ("LensLatencyMeta");
  LensLatencyMeta *m;
  LensLatencyEntry *e;
  fail_unless (info != NULL);
  m = (LensLatencyMeta *) gst_buffer_get_meta (buf, info->api);
  if (!m)
    m = (LensLatencyMeta *) gst_buffer_add_meta (buf, info, NULL);
  fail_unless (m != NULL && m->n_entries < LENS_LATENCY_MAX_ENTRIES);
  e = &m->entries[m->n_entries++];
  memset (e, 0, sizeof *e);
  g_strlcpy (e->element, element, sizeof e->element);
  e->preprocess_ns = pre;
  e->wait_ns = wait;
  e->inference_ns = inf;
  e->postprocess_ns = post;
  return e;
}

/* R, G, B for RGB formats; Y, U, V for YUV ones. */
static void
read_pixel (GstBuffer * buf, const GstVideoInfo * info, gint x, gint y,
    guint8 out[3])
{
  GstVideoFrame f;
  fail_unless (gst_video_frame_map (&f, (GstVideoInfo *) info, buf,
          GST_MAP_READ));
  if (GST_VIDEO_INFO_IS_YUV (info)) {
    for (guint c = 0; c < 3; c++) {
      gint cx = c ? x >> GST_VIDEO_FORMAT_INFO_W_SUB (info->finfo, c) : x;
      gint cy = c ? y >> GST_VIDEO_FORMAT_INFO_H_SUB (info->finfo, c) : y;
      const guint8 *p = GST_VIDEO_FRAME_COMP_DATA (&f, c);
      out[c] = p[cy * GST_VIDEO_FRAME_COMP_STRIDE (&f, c) +
          cx * GST_VIDEO_FRAME_COMP_PSTRIDE (&f, c)];
    }
  } else {
    const guint8 *p = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 0) +
        y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0) +
        x * GST_VIDEO_FRAME_COMP_PSTRIDE (&f, 0);
    out[0] = p[GST_VIDEO_FRAME_COMP_POFFSET (&f, GST_VIDEO_COMP_R)];
    out[1] = p[GST_VIDEO_FRAME_COMP_POFFSET (&f, GST_VIDEO_COMP_G)];
    out[2] = p[GST_VIDEO_FRAME_COMP_POFFSET (&f, GST_VIDEO_COMP_B)];
  }
  gst_video_frame_unmap (&f);
}

static gboolean
pixel_is_background (GstBuffer * buf, const GstVideoInfo * info, gint x, gint y)
{
  guint8 px[3];
  read_pixel (buf, info, x, y, px);
  if (GST_VIDEO_INFO_IS_YUV (info))
    return px[0] == BG && px[1] == 128 && px[2] == 128;
  return px[0] == BG && px[1] == BG && px[2] == BG;
}

/* Pure red, as drawn with color=0xffff0000. */
static gboolean
pixel_is_red (GstBuffer * buf, const GstVideoInfo * info, gint x, gint y)
{
  guint8 px[3];
  read_pixel (buf, info, x, y, px);
  if (GST_VIDEO_INFO_IS_YUV (info))     /* BT.601 limited range: 82, 90, 240 */
    return ABS (px[0] - 82) <= 2 && ABS (px[1] - 90) <= 2
        && ABS (px[2] - 240) <= 2;
  return px[0] == 255 && px[1] == 0 && px[2] == 0;
}

static gboolean
buffers_equal (GstBuffer * a, GstBuffer * b)
{
  GstMapInfo ma, mb;
  gboolean eq;
  fail_unless (gst_buffer_map (a, &ma, GST_MAP_READ));
  fail_unless (gst_buffer_map (b, &mb, GST_MAP_READ));
  eq = ma.size == mb.size && memcmp (ma.data, mb.data, ma.size) == 0;
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
  return eq;
}

static GstHarness *
overlay_harness (const GstVideoInfo * info)
{
  GstHarness *h = gst_harness_new ("lensoverlay");
  GstCaps *caps = gst_video_info_to_caps ((GstVideoInfo *) info);
  g_object_set (h->element, "color", 0xffff0000u, "thickness", 2, NULL);
  gst_harness_set_src_caps (h, caps);
  return h;
}

/* Pushes buf through the harness and returns the output (owned by the caller). */
static GstBuffer *
push_pull (GstHarness * h, GstBuffer * buf)
{
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  return gst_harness_pull (h);
}

static GstBus *
attach_bus (GstHarness * h)
{
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  return bus;
}

/* The next element message named name on the bus, or NULL. */
static GstMessage *
pop_element_message (GstBus * bus, const gchar * name)
{
  GstMessage *msg;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    if (gst_structure_has_name (gst_message_get_structure (msg), name))
      return msg;
    gst_message_unref (msg);
  }
  return NULL;
}

static JsonObject *
parse_json_object (JsonParser * parser, const gchar * text)
{
  GError *err = NULL;
  JsonNode *root;
  fail_unless (json_parser_load_from_data (parser, text, -1, &err),
      "invalid JSON: %s", err ? err->message : "?");
  root = json_parser_get_root (parser);
  fail_unless (JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

static const gchar *
buffer_json (GstBuffer * buf)
{
  GstCustomMeta *meta = gst_buffer_get_custom_meta (buf, "LensJsonMeta");
  fail_unless (meta != NULL, "no LensJsonMeta on the buffer");
  return gst_structure_get_string (gst_custom_meta_get_structure (meta),
      "json");
}

static gboolean
near (gdouble a, gdouble b)
{
  return ABS (a - b) < 1e-6;
}

/* ---- lensoverlay --------------------------------------------------------------------- */

static const GstVideoFormat overlay_formats[] = {
  GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBx,
  GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_xRGB, GST_VIDEO_FORMAT_xBGR,
  GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_ARGB,
  GST_VIDEO_FORMAT_ABGR, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420,
};

GST_START_TEST (test_overlay_accepts_its_formats_and_refuses_others)
{
  GstHarness *h = gst_harness_new ("lensoverlay");
  GstPad *sink = gst_element_get_static_pad (h->element, "sink");
  for (guint i = 0; i < G_N_ELEMENTS (overlay_formats); i++) {
    GstVideoInfo info = video_info (overlay_formats[i]);
    GstCaps *caps = gst_video_info_to_caps (&info);
    fail_unless (gst_pad_query_accept_caps (sink, caps), "%s refused",
        gst_video_format_to_string (overlay_formats[i]));
    gst_caps_unref (caps);
  }
  {
    GstCaps *gray = gst_caps_from_string
        ("video/x-raw,format=GRAY8,width=128,height=96,framerate=30/1");
    GstCaps *audio = gst_caps_from_string
        ("audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved");
    GstCaps *yuy2 = gst_caps_from_string
        ("video/x-raw,format=YUY2,width=128,height=96,framerate=30/1");
    fail_if (gst_pad_query_accept_caps (sink, gray));
    fail_if (gst_pad_query_accept_caps (sink, audio));
    fail_if (gst_pad_query_accept_caps (sink, yuy2));
    gst_caps_unref (gray);
    gst_caps_unref (audio);
    gst_caps_unref (yuy2);
  }
  gst_object_unref (sink);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_overlay_refused_caps_fail_negotiation)
{
  GstHarness *h = gst_harness_new ("lensoverlay");
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_GRAY8);
  GstSegment segment;

  /* a sticky event is stored whatever the peer says: the refusal shows on the data */
  gst_harness_push_event (h, caps_event (&info));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_harness_push_event (h, gst_event_new_segment (&segment));
  fail_unless_equals_int (gst_harness_push (h, make_frame (&info)),
      GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A box at (20, 30, 40, 30): its left edge changes, a far pixel does not; every format. */
GST_START_TEST (test_overlay_draws_box_edge_only_in_every_format)
{
  for (guint i = 0; i < G_N_ELEMENTS (overlay_formats); i++) {
    GstVideoInfo info = video_info (overlay_formats[i]);
    GstHarness *h = overlay_harness (&info);
    GstBuffer *in = make_frame (&info), *out;
    const gchar *name = gst_video_format_to_string (overlay_formats[i]);

    g_object_set (h->element, "show-labels", FALSE, NULL);
    add_region (in, "person", 0, 0.9, 20, 30, 40, 30);
    out = push_pull (h, in);
    /* left, right, top and bottom strokes (thickness 2, inside the box) */
    fail_unless (pixel_is_red (out, &info, 20, 44), "%s: left edge", name);
    fail_unless (pixel_is_red (out, &info, 21, 44), "%s: left edge", name);
    fail_unless (pixel_is_red (out, &info, 59, 44), "%s: right edge", name);
    fail_unless (pixel_is_red (out, &info, 40, 30), "%s: top edge", name);
    fail_unless (pixel_is_red (out, &info, 40, 59), "%s: bottom edge", name);
    /* inside and far away */
    fail_unless (pixel_is_background (out, &info, 40, 44), "%s: inside", name);
    fail_unless (pixel_is_background (out, &info, 100, 80), "%s: far", name);
    fail_unless (pixel_is_background (out, &info, 2, 2), "%s: corner", name);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

static void
check_box_on_format (GstVideoFormat format)
{
  GstVideoInfo info = video_info (format);
  GstHarness *h = overlay_harness (&info);
  GstBuffer *in = make_frame (&info), *out;

  add_region (in, "car", 2, 0.75, 30, 40, 50, 40);
  out = push_pull (h, in);
  fail_unless (pixel_is_red (out, &info, 30, 60));
  fail_unless (pixel_is_red (out, &info, 79, 60));
  fail_unless (pixel_is_background (out, &info, 110, 90));
  fail_unless (pixel_is_background (out, &info, 55, 60));
  /* the label sits above the box, on the box's colour */
  fail_if (pixel_is_background (out, &info, 31, 38));
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

GST_START_TEST (test_overlay_box_and_label_rgb)
{
  check_box_on_format (GST_VIDEO_FORMAT_RGB);
}

GST_END_TEST;

GST_START_TEST (test_overlay_box_and_label_nv12)
{
  check_box_on_format (GST_VIDEO_FORMAT_NV12);
}

GST_END_TEST;

GST_START_TEST (test_overlay_box_and_label_i420)
{
  check_box_on_format (GST_VIDEO_FORMAT_I420);
}

GST_END_TEST;

GST_START_TEST (test_overlay_box_outside_frame_draws_nothing)
{
  const GstVideoFormat formats[] = { GST_VIDEO_FORMAT_RGB,
    GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_BGRA
  };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstVideoInfo info = video_info (formats[i]);
    GstHarness *h = overlay_harness (&info);
    GstBuffer *in = make_frame (&info), *ref, *out;
    GstVideoRegionOfInterestMeta *roi;

    ref = gst_buffer_copy_deep (in);
    add_region (in, "ghost", 1, 0.5, W, H, 10, 10);
    add_region (in, "far", 1, 0.5, 100000, 5, 10, 10);
    add_region (in, "zero", 1, 0.5, 10, 10, 0, 0);
    add_region (in, "flat", 1, 0.5, 10, 10, 30, 0);
    roi = add_region (in, "text", 1, 0.5, G_MAXUINT - 5, G_MAXUINT - 5, 10, 10);
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new ("ocr", "text", G_TYPE_STRING, "HELLO", NULL));
    out = push_pull (h, in);
    fail_unless (buffers_equal (out, ref), "%s: something was drawn",
        gst_video_format_to_string (formats[i]));
    gst_buffer_unref (out);
    gst_buffer_unref (ref);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

GST_START_TEST (test_overlay_clips_partial_and_huge_boxes)
{
  const GstVideoFormat formats[] = { GST_VIDEO_FORMAT_RGB,
    GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_I420
  };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstVideoInfo info = video_info (formats[i]);
    GstHarness *h = overlay_harness (&info);

    for (gint labels = 0; labels < 2; labels++) {
      GstBuffer *in = make_frame (&info), *out;
      g_object_set (h->element, "show-labels", labels, NULL);
      /* runs off the right and bottom: only its left and top strokes show */
      add_region (in, "partial", 3, 0.6, 100, 70, 1000, 1000);
      /* covers everything with sizes that overflow 32 bits when added */
      add_region (in, "huge", 4, 0.6, 0, 0, G_MAXUINT, G_MAXUINT);
      /* odd position and size on subsampled chroma, at the frame's edge */
      add_region (in, "edge", 5, 0.6, W - 3, H - 3, 3, 3);
      out = push_pull (h, in);
      if (!labels) {
        /* with labels, those would cover some of these pixels */
        fail_unless (pixel_is_red (out, &info, 100, 80));
        fail_unless (pixel_is_red (out, &info, 120, 70));
        fail_unless (pixel_is_red (out, &info, 0, 50));
        fail_unless (pixel_is_red (out, &info, 64, 1));
        fail_unless (pixel_is_red (out, &info, W - 1, H - 1));
      }
      fail_unless (pixel_is_background (out, &info, 20, 40));
      fail_unless (pixel_is_background (out, &info, 20, 60));
      gst_buffer_unref (out);
    }
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

GST_START_TEST (test_overlay_blends_translucent_color)
{
  const GstVideoFormat formats[] = { GST_VIDEO_FORMAT_RGBA,
    GST_VIDEO_FORMAT_NV12
  };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstVideoInfo info = video_info (formats[i]);
    GstHarness *h = overlay_harness (&info);
    GstBuffer *in = make_frame (&info), *out;
    guint8 px[3];

    /* half-transparent red over grey 64 */
    g_object_set (h->element, "color", 0x80ff0000u, "show-labels", FALSE, NULL);
    add_region (in, "ghost", 0, 0.5, 20, 20, 40, 40);
    out = push_pull (h, in);
    read_pixel (out, &info, 20, 40, px);
    if (GST_VIDEO_INFO_IS_YUV (&info)) {
      /* halfway between (64, 128, 128) and red's (82, 90, 240) */
      fail_unless (ABS (px[0] - 73) <= 2 && ABS (px[1] - 109) <= 2
          && ABS (px[2] - 184) <= 2, "%u %u %u", px[0], px[1], px[2]);
    } else {
      GstMapInfo map;
      guint8 alpha;
      fail_unless (ABS (px[0] - 160) <= 2 && ABS (px[1] - 32) <= 2
          && ABS (px[2] - 32) <= 2, "%u %u %u", px[0], px[1], px[2]);
      /* "over": the covered pixel becomes more opaque (64 -> 160) */
      fail_unless (gst_buffer_map (out, &map, GST_MAP_READ));
      alpha = map.data[40 * GST_VIDEO_INFO_PLANE_STRIDE (&info, 0) + 20 * 4 + 3];
      gst_buffer_unmap (out, &map);
      fail_unless (ABS (alpha - 160) <= 2, "alpha %u", alpha);
    }
    fail_unless (pixel_is_background (out, &info, 40, 40));
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* Odd sizes: the last chroma sample covers a single luma column or row. */
GST_START_TEST (test_overlay_odd_sized_yuv_frames)
{
  const GstVideoFormat formats[] = { GST_VIDEO_FORMAT_NV12,
    GST_VIDEO_FORMAT_I420
  };
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstVideoInfo info;
    GstHarness *h;
    GstBuffer *in, *out;
    GstVideoRegionOfInterestMeta *roi;

    gst_video_info_set_format (&info, formats[i], 33, 17);
    h = overlay_harness (&info);
    g_object_set (h->element, "show-fps", TRUE, NULL);
    in = make_frame (&info);
    add_region (in, "corner", 1, 0.5, 31, 15, 2, 2);
    roi = add_region (in, "everything", 2, 0.5, 0, 0, 1000, 1000);
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new ("ocr", "text", G_TYPE_STRING,
            "a line of text much wider than the frame", NULL));
    out = push_pull (h, in);
    fail_unless (pixel_is_red (out, &info, 32, 16));
    fail_unless (pixel_is_red (out, &info, 0, 16));
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

GST_START_TEST (test_overlay_draws_classification_text_lines)
{
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGBA);
  GstHarness *h = overlay_harness (&info);
  GstBuffer *in, *out;
  GstVideoRegionOfInterestMeta *roi;
  guint changed_labels = 0, changed_plain = 0;

  /* box near the top: no room above, so the label stack goes inside the box */
  in = make_frame (&info);
  roi = add_region (in, "plate", 7, 0.8, 10, 2, 100, 80);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("color", "label", G_TYPE_STRING, "white",
          "label_id", G_TYPE_INT, 3, "confidence", G_TYPE_DOUBLE, 0.7, NULL));
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("ocr", "text", G_TYPE_STRING, "AB 123 \xe2\x82\xac",
          "confidence", G_TYPE_DOUBLE, 0.9, NULL));
  out = push_pull (h, in);
  for (gint y = 4; y < 60; y++)
    changed_labels += !pixel_is_background (out, &info, 40, y);
  gst_buffer_unref (out);

  g_object_set (h->element, "show-labels", FALSE, NULL);
  in = make_frame (&info);
  roi = add_region (in, "plate", 7, 0.8, 10, 2, 100, 80);
  out = push_pull (h, in);
  for (gint y = 4; y < 60; y++)
    changed_plain += !pixel_is_background (out, &info, 40, y);
  gst_buffer_unref (out);

  /* three lines of labels at 14 px are more than 40 rows */
  fail_unless (changed_labels > 30, "labels changed %u rows", changed_labels);
  fail_unless_equals_int (changed_plain, 0);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_overlay_full_frame_region_has_labels_but_no_box)
{
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_I420);
  GstHarness *h = overlay_harness (&info);
  GstBuffer *in = make_frame (&info), *out;
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta (in, LENS_FULL_FRAME_ROI_TYPE,
      0, 0, W, H);

  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("scene", "label", G_TYPE_STRING, "beach",
          "label_id", G_TYPE_INT, 12, "confidence", G_TYPE_DOUBLE, 0.66, NULL));
  out = push_pull (h, in);
  fail_if (pixel_is_background (out, &info, 1, 1));     /* the label */
  fail_unless (pixel_is_background (out, &info, W - 1, H - 1));
  fail_unless (pixel_is_background (out, &info, 0, H - 1));
  fail_unless (pixel_is_background (out, &info, W - 1, H / 2));
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_overlay_show_fps_draws_in_corner)
{
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_NV12);
  GstHarness *h = overlay_harness (&info);
  GstBuffer *in, *out, *ref;

  /* no regions and no FPS: the frame passes untouched */
  in = make_frame (&info);
  ref = gst_buffer_copy_deep (in);
  out = push_pull (h, in);
  fail_unless (buffers_equal (out, ref));
  gst_buffer_unref (out);

  g_object_set (h->element, "show-fps", TRUE, NULL);
  for (gint i = 0; i < 3; i++) {
    out = push_pull (h, gst_buffer_copy_deep (ref));
    fail_if (buffers_equal (out, ref));
    fail_if (pixel_is_background (out, &info, 1, 1));
    fail_unless (pixel_is_background (out, &info, W - 1, H - 1));
    gst_buffer_unref (out);
  }
  gst_buffer_unref (ref);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_overlay_does_not_write_into_shared_input)
{
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_BGRx);
  GstHarness *h = overlay_harness (&info);
  GstBuffer *in = make_frame (&info), *ref, *out;

  add_region (in, "dog", 16, 0.99, 10, 10, 30, 30);
  ref = gst_buffer_copy_deep (in);
  gst_buffer_ref (in);          /* someone else (a tee branch) still reads it */
  out = push_pull (h, in);
  fail_unless (buffers_equal (in, ref));
  fail_if (buffers_equal (out, ref));
  gst_buffer_unref (in);
  gst_buffer_unref (out);
  gst_buffer_unref (ref);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Timestamps, offsets and flags survive each element. */
static void
check_preserves_timing (GstHarness * h, const GstVideoInfo * info)
{
  GstBuffer *in = make_frame (info), *out;
  add_region (in, "cat", 15, 0.5, 5, 5, 20, 20);
  GST_BUFFER_PTS (in) = 123 * GST_MSECOND;
  GST_BUFFER_DTS (in) = 120 * GST_MSECOND;
  GST_BUFFER_DURATION (in) = 33 * GST_MSECOND;
  GST_BUFFER_OFFSET (in) = 7;
  GST_BUFFER_OFFSET_END (in) = 8;
  GST_BUFFER_FLAG_SET (in, GST_BUFFER_FLAG_DISCONT | GST_BUFFER_FLAG_DELTA_UNIT);
  out = push_pull (h, in);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (out), 123 * GST_MSECOND);
  fail_unless_equals_uint64 (GST_BUFFER_DTS (out), 120 * GST_MSECOND);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (out), 33 * GST_MSECOND);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (out), 7);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (out), 8);
  fail_unless (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DISCONT));
  fail_unless (GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DELTA_UNIT));
  fail_unless (gst_buffer_get_video_region_of_interest_meta (out) != NULL);
  gst_buffer_unref (out);
}

GST_START_TEST (test_elements_preserve_timestamps_and_flags)
{
  const gchar *names[] = { "lensoverlay", "lensfps", "lensmetaconvert",
    "lenspublish"
  };
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  gchar *path = g_build_filename (g_get_tmp_dir (), "lens-out-timing.jsonl",
      NULL);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    gchar *launch = g_str_equal (names[i], "lenspublish") ?
        g_strdup_printf ("lenspublish file-path=\"%s\"", path) :
        g_str_equal (names[i], "lensfps") ? g_strdup ("lensfps print=false") :
        g_strdup (names[i]);
    GstHarness *h = gst_harness_new_parse (launch);
    gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
    check_preserves_timing (h, &info);
    gst_harness_teardown (h);
    g_free (launch);
  }
  g_unlink (path);
  g_free (path);
}

GST_END_TEST;

/* ---- lensfps ------------------------------------------------------------------------- */

static GstHarness *
fps_harness (void)
{
  GstHarness *h = gst_harness_new ("lensfps");
  g_object_set (h->element, "print", FALSE, "interval", 0.0, NULL);
  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGB,width=128,height=96,framerate=30/1");
  return h;
}

static void
push_timed (GstHarness * h, const GstVideoInfo * info, guint index,
    gboolean discont)
{
  GstBuffer *buf = make_frame (info);
  GST_BUFFER_PTS (buf) = gst_util_uint64_scale (index, GST_SECOND, 30);
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  if (discont)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (h));
}

static guint64
structure_uint64 (const GstStructure * s, const gchar * field)
{
  guint64 v = 0;
  fail_unless (gst_structure_get_uint64 (s, field, &v), "no %s", field);
  return v;
}

GST_START_TEST (test_fps_counts_frames_and_reports_at_eos)
{
  GstHarness *h = fps_harness ();
  GstBus *bus = attach_bus (h);
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  GstMessage *msg;
  const GstStructure *s;
  gboolean eos = FALSE;
  gdouble fps = -1.0;
  guint64 frames = 0;
  gchar *name = NULL;

  for (guint i = 0; i < 10; i++)
    push_timed (h, &info, i, FALSE);
  fail_unless (pop_element_message (bus, "lens-fps") == NULL);  /* interval 0 */
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  msg = pop_element_message (bus, "lens-fps");
  fail_unless (msg != NULL);
  s = gst_message_get_structure (msg);
  fail_unless (gst_structure_get_boolean (s, "eos", &eos) && eos);
  fail_unless_equals_uint64 (structure_uint64 (s, "frames"), 10);
  fail_unless_equals_uint64 (structure_uint64 (s, "dropped"), 0);
  fail_unless (gst_structure_get_double (s, "fps", &fps) && fps > 0.0);
  g_object_get (h->element, "name", &name, NULL);
  fail_unless_equals_string (gst_structure_get_string (s, "name"), name);
  fail_unless_equals_int (gst_value_array_get_size (gst_structure_get_value (s,
              "streams")), 1);
  g_object_get (h->element, "frames", &frames, NULL);
  fail_unless_equals_uint64 (frames, 10);
  gst_message_unref (msg);
  g_free (name);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_fps_counts_dropped_frames)
{
  GstHarness *h = fps_harness ();
  GstBus *bus = attach_bus (h);
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  GstMessage *msg;
  const GstStructure *s;

  push_timed (h, &info, 0, TRUE);       /* the first DISCONT is normal */
  push_timed (h, &info, 1, FALSE);
  push_timed (h, &info, 4, FALSE);      /* 2 missing */
  push_timed (h, &info, 5, TRUE);       /* a discontinuity without a gap: 1 */
  push_timed (h, &info, 6, FALSE);
  /* 3 frame durations of gap */
  fail_unless (gst_harness_push_event (h, gst_event_new_gap (7 * GST_SECOND /
              30, 3 * GST_SECOND / 30)));
  push_timed (h, &info, 10, FALSE);     /* on time after the gap */
  /* downstream: one frame 50 ms late (dropped by a video sink), one 1 ms late */
  fail_unless (gst_harness_push_upstream_event (h,
          gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW, 0.9, 50 * GST_MSECOND,
              10 * GST_SECOND / 30)));
  fail_unless (gst_harness_push_upstream_event (h,
          gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW, 0.9, GST_MSECOND,
              10 * GST_SECOND / 30)));
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));

  msg = pop_element_message (bus, "lens-fps");
  fail_unless (msg != NULL);
  s = gst_message_get_structure (msg);
  fail_unless_equals_uint64 (structure_uint64 (s, "frames"), 6);
  fail_unless_equals_uint64 (structure_uint64 (s, "dropped-timestamps"), 6);
  fail_unless_equals_uint64 (structure_uint64 (s, "dropped-qos"), 1);
  fail_unless_equals_uint64 (structure_uint64 (s, "dropped"), 7);
  gst_message_unref (msg);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

static const GstStructure *
find_latency (const GstStructure * report, const gchar * element,
    const gchar * stage)
{
  const GValue *arr = gst_structure_get_value (report, "latency");
  fail_unless (arr != NULL);
  for (guint i = 0; i < gst_value_array_get_size (arr); i++) {
    const GstStructure *s =
        gst_value_get_structure (gst_value_array_get_value (arr, i));
    if (g_strcmp0 (gst_structure_get_string (s, "element"), element) == 0
        && g_strcmp0 (gst_structure_get_string (s, "stage"), stage) == 0)
      return s;
  }
  return NULL;
}

GST_START_TEST (test_fps_reports_latency_breakdown)
{
  GstHarness *h = fps_harness ();
  GstBus *bus = attach_bus (h);
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  GstMessage *msg;
  const GstStructure *s, *l;
  gdouble mean, p50, p99;

  /* inference 1..100 ms on "det", a constant 2 ms preprocess on "cls" */
  for (guint i = 1; i <= 100; i++) {
    GstBuffer *buf = make_frame (&info);
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale (i, GST_SECOND, 30);
    add_latency (buf, "det", 500 * GST_USECOND, 0, i * GST_MSECOND, 0);
    add_latency (buf, "cls", 2 * GST_MSECOND, GST_MSECOND, GST_MSECOND, 0);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  msg = pop_element_message (bus, "lens-fps");
  fail_unless (msg != NULL);
  s = gst_message_get_structure (msg);

  l = find_latency (s, "det", "inference");
  fail_unless (l != NULL);
  fail_unless (gst_structure_get_double (l, "mean-ms", &mean));
  fail_unless (gst_structure_get_double (l, "p50-ms", &p50));
  fail_unless (gst_structure_get_double (l, "p99-ms", &p99));
  fail_unless (near (mean, 50.5), "mean %f", mean);
  fail_unless (near (p50, 50.0), "p50 %f", p50);
  fail_unless (near (p99, 99.0), "p99 %f", p99);
  fail_unless_equals_uint64 (structure_uint64 (l, "samples"), 100);
  l = find_latency (s, "det", "preprocess");
  fail_unless (l != NULL && gst_structure_get_double (l, "p99-ms", &p99));
  fail_unless (near (p99, 0.5));
  l = find_latency (s, "cls", "wait");
  fail_unless (l != NULL && gst_structure_get_double (l, "mean-ms", &mean));
  fail_unless (near (mean, 1.0));
  gst_message_unref (msg);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_fps_latency_reservoir_is_bounded)
{
  GstHarness *h = fps_harness ();
  GstBus *bus = attach_bus (h);
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  GstMessage *msg;
  const GstStructure *l;
  gdouble mean, p50;

  /* 3000 samples, uniform 0..2999 ms: the mean is exact, the median close */
  for (guint i = 0; i < 3000; i++) {
    GstBuffer *buf = make_frame (&info);
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale (i, GST_SECOND, 30);
    add_latency (buf, "det", 0, 0, i * GST_MSECOND, 0);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  msg = pop_element_message (bus, "lens-fps");
  fail_unless (msg != NULL);
  l = find_latency (gst_message_get_structure (msg), "det", "inference");
  fail_unless (l != NULL);
  fail_unless (gst_structure_get_double (l, "mean-ms", &mean));
  fail_unless (gst_structure_get_double (l, "p50-ms", &p50));
  fail_unless (near (mean, 1499.5), "mean %f", mean);
  fail_unless (p50 > 1300 && p50 < 1700, "p50 %f", p50);
  fail_unless_equals_uint64 (structure_uint64 (l, "samples"), 3000);
  gst_message_unref (msg);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

static void
push_stream_start (GstHarness * h, const gchar * id)
{
  GstSegment segment;
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  fail_unless (gst_harness_push_event (h, gst_event_new_stream_start (id)));
  fail_unless (gst_harness_push_event (h, caps_event (&info)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
}

GST_START_TEST (test_fps_counts_each_stream_id)
{
  GstHarness *h = fps_harness ();
  GstBus *bus = attach_bus (h);
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  GstMessage *msg;
  const GstStructure *s;
  const GValue *streams;
  guint64 frames_a = 0, frames_b = 0;

  push_stream_start (h, "stream-a");
  for (guint i = 0; i < 3; i++)
    push_timed (h, &info, i, i == 0);
  push_stream_start (h, "stream-b");
  for (guint i = 0; i < 5; i++)
    push_timed (h, &info, i, i == 0);
  push_stream_start (h, "stream-a");
  push_timed (h, &info, 3, FALSE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));

  msg = pop_element_message (bus, "lens-fps");
  fail_unless (msg != NULL);
  s = gst_message_get_structure (msg);
  fail_unless_equals_uint64 (structure_uint64 (s, "frames"), 9);
  streams = gst_structure_get_value (s, "streams");
  for (guint i = 0; i < gst_value_array_get_size (streams); i++) {
    const GstStructure *st =
        gst_value_get_structure (gst_value_array_get_value (streams, i));
    const gchar *id = gst_structure_get_string (st, "id");
    if (g_strcmp0 (id, "stream-a") == 0)
      frames_a = structure_uint64 (st, "frames");
    else if (g_strcmp0 (id, "stream-b") == 0)
      frames_b = structure_uint64 (st, "frames");
  }
  fail_unless_equals_uint64 (frames_a, 4);
  fail_unless_equals_uint64 (frames_b, 5);
  fail_unless_equals_uint64 (structure_uint64 (s, "dropped"), 0);
  gst_message_unref (msg);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Timestamps say 1 fps; the frames really come about every 20 ms. */
GST_START_TEST (test_fps_measures_wall_clock_not_timestamps)
{
  GstHarness *h = fps_harness ();
  GstBus *bus = attach_bus (h);
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  GstMessage *msg;
  gboolean eos = TRUE;
  gdouble fps = 0.0;

  g_object_set (h->element, "interval", 0.2, NULL);
  for (guint i = 0; i < 20; i++) {
    GstBuffer *buf = make_frame (&info);
    GST_BUFFER_PTS (buf) = i * GST_SECOND;
    GST_BUFFER_DURATION (buf) = GST_SECOND;
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
    g_usleep (20000);
  }
  msg = pop_element_message (bus, "lens-fps");
  fail_unless (msg != NULL, "no periodic report");
  fail_unless (gst_structure_get_boolean (gst_message_get_structure (msg),
          "eos", &eos) && !eos);
  fail_unless (gst_structure_get_double (gst_message_get_structure (msg),
          "fps", &fps));
  /* 50 fps nominal. The bound only has to tell wall clock from timestamps (1 fps), and
   * stays loose so a loaded machine (valgrind, sanitizers) cannot fail it. */
  fail_unless (fps > 2.5 && fps < 60.0, "fps %f", fps);
  gst_message_unref (msg);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_fps_silent_posts_nothing)
{
  GstHarness *h = fps_harness ();
  GstBus *bus = attach_bus (h);
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  guint64 frames = 0;

  g_object_set (h->element, "silent", TRUE, NULL);
  for (guint i = 0; i < 4; i++)
    push_timed (h, &info, i, FALSE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless (pop_element_message (bus, "lens-fps") == NULL);
  g_object_get (h->element, "frames", &frames, NULL);
  fail_unless_equals_uint64 (frames, 4);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_fps_metaconvert_publish_refuse_non_video_caps)
{
  const gchar *names[] = { "lensfps", "lensmetaconvert", "lenspublish" };
  GstCaps *audio = gst_caps_from_string
      ("audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved");
  GstCaps *video = gst_caps_from_string
      ("video/x-raw,format=NV12,width=64,height=48,framerate=25/1");
  GstCaps *dmabuf = gst_caps_from_string
      ("video/x-raw(memory:DMABuf),format=NV12,width=64,height=48");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    GstElement *e = gst_element_factory_make (names[i], NULL);
    GstPad *sink;
    fail_unless (e != NULL, "%s missing", names[i]);
    sink = gst_element_get_static_pad (e, "sink");
    fail_if (gst_pad_query_accept_caps (sink, audio), "%s", names[i]);
    fail_unless (gst_pad_query_accept_caps (sink, video), "%s", names[i]);
    /* they never touch the pixels: any memory will do */
    fail_unless (gst_pad_query_accept_caps (sink, dmabuf), "%s", names[i]);
    gst_object_unref (sink);
    gst_object_unref (e);
  }
  gst_caps_unref (audio);
  gst_caps_unref (video);
  gst_caps_unref (dmabuf);
}

GST_END_TEST;

/* ---- lensmetaconvert ----------------------------------------------------------------- */

static JsonObject *
member_object (JsonObject * o, const gchar * name)
{
  fail_unless (json_object_has_member (o, name), "no member %s", name);
  return json_object_get_object_member (o, name);
}

GST_START_TEST (test_metaconvert_json_has_expected_fields)
{
  GstHarness *h = gst_harness_new ("lensmetaconvert");
  GstVideoInfo info;
  GstBuffer *in, *out;
  GstVideoRegionOfInterestMeta *roi;
  JsonParser *parser = json_parser_new ();
  JsonObject *root, *obj, *box, *norm, *cls, *lat;
  JsonArray *objects;
  GstPad *sink;
  gchar *stream_id;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 320, 240);
  gst_harness_set_src_caps_str (h,
      "video/x-raw,format=RGB,width=320,height=240,framerate=30/1");
  in = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  GST_BUFFER_PTS (in) = 40 * GST_MSECOND;
  roi = gst_buffer_add_video_region_of_interest_meta (in, "car", 32, 24, 64,
      48);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new (LENS_DETECTION_STRUCTURE, "label", G_TYPE_STRING,
          "car", "label_id", G_TYPE_INT, 2, "confidence", G_TYPE_DOUBLE, 0.875,
          "x_min", G_TYPE_DOUBLE, 0.1, "y_min", G_TYPE_DOUBLE, 0.1,
          "x_max", G_TYPE_DOUBLE, 0.3, "y_max", G_TYPE_DOUBLE, 0.3, NULL));
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("color", "label", G_TYPE_STRING, "red",
          "label_id", G_TYPE_INT, 4, "confidence", G_TYPE_DOUBLE, 0.5, NULL));
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("ocr", "text", G_TYPE_STRING, "AB 123",
          "confidence", G_TYPE_DOUBLE, 0.25, NULL));
  roi = gst_buffer_add_video_region_of_interest_meta (in,
      LENS_FULL_FRAME_ROI_TYPE, 0, 0, 320, 240);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new ("scene", "label", G_TYPE_STRING, "street",
          "label_id", G_TYPE_INT, 9, "confidence", G_TYPE_DOUBLE, 0.75, NULL));
  add_latency (in, "det", 1 * GST_MSECOND, 2 * GST_MSECOND, 3 * GST_MSECOND,
      4 * GST_MSECOND);
  add_latency (in, "cls", 500 * GST_USECOND, 0, GST_MSECOND, 0);

  out = push_pull (h, in);
  root = parse_json_object (parser, buffer_json (out));
  /* numbers in their shortest form, doubles recognisable as such */
  fail_unless (strstr (buffer_json (out), "\"confidence\":0.875,") != NULL);
  fail_unless (strstr (buffer_json (out), "\"preprocess_ms\":1.0,") != NULL);
  fail_unless (strstr (buffer_json (out), "\"timestamp\":40000000,") != NULL);

  fail_unless_equals_int64 (json_object_get_int_member (root, "timestamp"),
      40 * GST_MSECOND);
  sink = gst_element_get_static_pad (h->element, "sink");
  stream_id = gst_pad_get_stream_id (sink);
  fail_unless (stream_id != NULL);
  fail_unless_equals_string (json_object_get_string_member (root, "stream"),
      stream_id);
  fail_unless_equals_int (json_object_get_int_member (root, "width"), 320);
  fail_unless_equals_int (json_object_get_int_member (root, "height"), 240);
  fail_unless_equals_int (json_object_get_int_member (root, "frame"), 0);

  objects = json_object_get_array_member (root, "objects");
  fail_unless_equals_int (json_array_get_length (objects), 2);
  obj = json_array_get_object_element (objects, 0);
  fail_unless_equals_string (json_object_get_string_member (obj, "label"),
      "car");
  fail_unless_equals_int (json_object_get_int_member (obj, "label_id"), 2);
  fail_unless (near (json_object_get_double_member (obj, "confidence"), 0.875));
  fail_if (json_object_get_boolean_member (obj, "full_frame"));
  box = member_object (obj, "box");
  fail_unless_equals_int (json_object_get_int_member (box, "x"), 32);
  fail_unless_equals_int (json_object_get_int_member (box, "y"), 24);
  fail_unless_equals_int (json_object_get_int_member (box, "w"), 64);
  fail_unless_equals_int (json_object_get_int_member (box, "h"), 48);
  norm = member_object (box, "normalized");
  fail_unless (near (json_object_get_double_member (norm, "x"), 0.1));
  fail_unless (near (json_object_get_double_member (norm, "y"), 0.1));
  fail_unless (near (json_object_get_double_member (norm, "w"), 0.2));
  fail_unless (near (json_object_get_double_member (norm, "h"), 0.2));
  cls = member_object (obj, "classifications");
  fail_if (json_object_has_member (cls, LENS_DETECTION_STRUCTURE));
  fail_unless_equals_string (json_object_get_string_member (member_object (cls,
              "color"), "label"), "red");
  fail_unless_equals_int (json_object_get_int_member (member_object (cls,
              "color"), "label_id"), 4);
  fail_unless (near (json_object_get_double_member (member_object (cls,
                  "color"), "confidence"), 0.5));
  fail_unless_equals_string (json_object_get_string_member (member_object (cls,
              "ocr"), "text"), "AB 123");

  obj = json_array_get_object_element (objects, 1);
  fail_unless (json_object_get_boolean_member (obj, "full_frame"));
  fail_unless_equals_string (json_object_get_string_member (member_object
          (member_object (obj, "classifications"), "scene"), "label"),
      "street");

  lat = member_object (root, "latency");
  fail_unless (near (json_object_get_double_member (member_object (lat, "det"),
              "preprocess_ms"), 1.0));
  fail_unless (near (json_object_get_double_member (member_object (lat, "det"),
              "wait_ms"), 2.0));
  fail_unless (near (json_object_get_double_member (member_object (lat, "det"),
              "inference_ms"), 3.0));
  fail_unless (near (json_object_get_double_member (member_object (lat, "det"),
              "postprocess_ms"), 4.0));
  fail_unless (near (json_object_get_double_member (member_object (lat, "cls"),
              "preprocess_ms"), 0.5));

  g_free (stream_id);
  gst_object_unref (sink);
  gst_buffer_unref (out);
  g_object_unref (parser);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_metaconvert_frame_without_metadata)
{
  GstHarness *h = gst_harness_new ("lensmetaconvert");
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_NV12);
  JsonParser *parser = json_parser_new ();
  GstBuffer *in, *out;
  JsonObject *root;

  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  for (guint i = 0; i < 3; i++) {
    in = make_frame (&info);
    GST_BUFFER_PTS (in) = GST_CLOCK_TIME_NONE;
    out = push_pull (h, in);
    root = parse_json_object (parser, buffer_json (out));
    fail_unless (json_object_get_null_member (root, "timestamp"));
    fail_unless_equals_int (json_object_get_int_member (root, "frame"), i);
    fail_unless_equals_int (json_array_get_length (json_object_get_array_member
            (root, "objects")), 0);
    fail_unless_equals_int (json_object_get_size (member_object (root,
                "latency")), 0);
    gst_buffer_unref (out);
  }
  g_object_unref (parser);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_metaconvert_hostile_strings_stay_one_valid_line)
{
  GstHarness *h = gst_harness_new ("lensmetaconvert");
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  JsonParser *parser = json_parser_new ();
  GstBuffer *in, *out;
  GstVideoRegionOfInterestMeta *roi;
  const gchar *line;
  JsonObject *root, *obj;
  GValue arr = G_VALUE_INIT, v = G_VALUE_INIT;

  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  in = make_frame (&info);
  /* quarks are not checked for UTF-8 (structure strings are): a bad roi_type */
  roi = gst_buffer_add_video_region_of_interest_meta (in,
      "quote\" back\\slash\nnewline \xff\xfe bad", 1, 1, 5, 5);
  gst_video_region_of_interest_meta_add_param (roi,
      gst_structure_new (LENS_DETECTION_STRUCTURE, "label_id", G_TYPE_INT, 1,
          "confidence", G_TYPE_DOUBLE, NAN, NULL));
  g_value_init (&arr, GST_TYPE_ARRAY);
  g_value_init (&v, G_TYPE_DOUBLE);
  g_value_set_double (&v, 0.25);
  gst_value_array_append_value (&arr, &v);
  g_value_set_double (&v, INFINITY);
  gst_value_array_append_value (&arr, &v);
  g_value_unset (&v);
  {
    GstStructure *attrs = gst_structure_new ("attributes",
        "text", G_TYPE_STRING, "tab\there\x01",
        "big", G_TYPE_UINT64, G_MAXUINT64, "flag", G_TYPE_BOOLEAN, TRUE, NULL);
    gst_structure_take_value (attrs, "scores", &arr);
    gst_video_region_of_interest_meta_add_param (roi, attrs);
  }
  /* an element name that fills the entry without a terminator */
  memset (add_latency (in, "x", 1, 2, 3, 4)->element, 'x',
      sizeof ((LensLatencyEntry *) NULL)->element);
  out = push_pull (h, in);
  line = buffer_json (out);
  fail_if (strchr (line, '\n') != NULL);
  root = parse_json_object (parser, line);
  obj = json_array_get_object_element (json_object_get_array_member (root,
          "objects"), 0);
  fail_unless (g_str_has_prefix (json_object_get_string_member (obj, "label"),
          "quote\" back\\slash\nnewline "));
  fail_unless (json_object_get_null_member (obj, "confidence"));
  obj = member_object (member_object (obj, "classifications"), "attributes");
  fail_unless_equals_string (json_object_get_string_member (obj, "text"),
      "tab\there\x01");
  fail_unless (json_object_get_boolean_member (obj, "flag"));
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member
          (obj, "scores")), 2);
  fail_unless_equals_int (json_object_get_size (member_object (root,
              "latency")), 1);
  gst_buffer_unref (out);
  g_object_unref (parser);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_metaconvert_replaces_existing_json)
{
  GstHarness *h = gst_harness_new_parse ("lensmetaconvert ! lensmetaconvert");
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  GstBuffer *out;
  guint n = 0;
  gpointer state = NULL;
  GstMeta *meta;

  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  out = push_pull (h, make_frame (&info));
  while ((meta = gst_buffer_iterate_meta (out, &state)))
    n += gst_meta_info_is_custom (meta->info)
        && gst_custom_meta_has_name ((GstCustomMeta *) meta, "LensJsonMeta");
  fail_unless_equals_int (n, 1);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* ---- lenspublish --------------------------------------------------------------------- */

static gchar *
temp_path (const gchar * name)
{
  gchar *dir = g_dir_make_tmp ("lens-out-XXXXXX", NULL);
  gchar *path;
  fail_unless (dir != NULL);
  path = g_build_filename (dir, name, NULL);
  g_free (dir);
  return path;
}

static void
remove_temp (gchar * path)
{
  gchar *dir = g_path_get_dirname (path);
  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

static gchar **
read_lines (const gchar * path, guint * n)
{
  gchar *contents = NULL;
  gchar **lines;
  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  fail_unless (contents[0] == '\0' || g_str_has_suffix (contents, "\n"));
  lines = g_strsplit (contents, "\n", -1);
  *n = g_strv_length (lines) - 1;       /* after the last newline */
  g_free (contents);
  return lines;
}

static void
run_publish (const gchar * launch, guint n_frames, guint first_pts_ms)
{
  GstHarness *h = gst_harness_new_parse (launch);
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_RGB);
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  for (guint i = 0; i < n_frames; i++) {
    GstBuffer *in = make_frame (&info);
    GST_BUFFER_PTS (in) = (first_pts_ms + i) * GST_MSECOND;
    add_region (in, "person", 0, 0.5, i, i, 10, 10);
    gst_buffer_unref (push_pull (h, in));
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  gst_harness_teardown (h);
}

GST_START_TEST (test_publish_writes_one_line_per_frame)
{
  gchar *path = temp_path ("frames.jsonl");
  gchar *launch = g_strdup_printf ("lensmetaconvert ! lenspublish "
      "file-path=\"%s\"", path);
  JsonParser *parser = json_parser_new ();
  gchar **lines;
  guint n;

  run_publish (launch, 7, 0);
  lines = read_lines (path, &n);
  fail_unless_equals_int (n, 7);
  for (guint i = 0; i < n; i++) {
    JsonObject *root = parse_json_object (parser, lines[i]);
    JsonArray *objects = json_object_get_array_member (root, "objects");
    fail_unless_equals_int (json_object_get_int_member (root, "frame"), i);
    fail_unless_equals_int64 (json_object_get_int_member (root, "timestamp"),
        i * GST_MSECOND);
    fail_unless_equals_int (json_array_get_length (objects), 1);
    fail_unless_equals_int (json_object_get_int_member (member_object
            (json_array_get_object_element (objects, 0), "box"), "x"), i);
  }
  g_strfreev (lines);
  g_object_unref (parser);
  g_free (launch);
  remove_temp (path);
}

GST_END_TEST;

GST_START_TEST (test_publish_truncates_or_appends)
{
  gchar *path = temp_path ("modes.jsonl");
  gchar *truncate = g_strdup_printf ("lensmetaconvert ! lenspublish "
      "file-path=\"%s\"", path);
  gchar *append = g_strdup_printf ("lensmetaconvert ! lenspublish "
      "file-path=\"%s\" mode=append", path);
  gchar **lines;
  guint n;

  run_publish (truncate, 3, 0);
  run_publish (append, 4, 100);
  lines = read_lines (path, &n);
  fail_unless_equals_int (n, 7);
  g_strfreev (lines);
  run_publish (truncate, 2, 0);
  lines = read_lines (path, &n);
  fail_unless_equals_int (n, 2);
  g_strfreev (lines);
  g_free (truncate);
  g_free (append);
  remove_temp (path);
}

GST_END_TEST;

GST_START_TEST (test_publish_builds_json_without_metaconvert)
{
  gchar *path = temp_path ("alone.jsonl");
  gchar *launch = g_strdup_printf ("lenspublish file-path=\"%s\"", path);
  JsonParser *parser = json_parser_new ();
  gchar **lines;
  guint n;
  JsonObject *root;

  run_publish (launch, 2, 5);
  lines = read_lines (path, &n);
  fail_unless_equals_int (n, 2);
  root = parse_json_object (parser, lines[1]);
  fail_unless_equals_int64 (json_object_get_int_member (root, "timestamp"),
      6 * GST_MSECOND);
  fail_unless_equals_int (json_object_get_int_member (root, "width"), W);
  fail_unless_equals_int (json_array_get_length (json_object_get_array_member
          (root, "objects")), 1);
  g_strfreev (lines);
  g_object_unref (parser);
  g_free (launch);
  remove_temp (path);
}

GST_END_TEST;

GST_START_TEST (test_publish_unwritable_path_fails_in_start)
{
  GstElement *e = gst_element_factory_make ("lenspublish", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;

  gst_element_set_bus (e, bus);
  g_object_set (e, "file-path", "/nonexistent-lens-dir/sub/out.jsonl", NULL);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PLAYING),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_WRITE), "%s", err->message);
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_publish_stdout)
{
  gchar *path = temp_path ("stdout.txt");
  gint saved, fd;
  gchar **lines;
  guint n;

  /* catch our own stdout in a file while the element writes */
  fflush (stdout);
  saved = dup (STDOUT_FILENO);
  fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  fail_unless (saved >= 0 && fd >= 0);
  fail_unless (dup2 (fd, STDOUT_FILENO) >= 0);
  close (fd);
  run_publish ("lensmetaconvert ! lenspublish method=stdout", 3, 0);
  run_publish ("lensmetaconvert ! lenspublish file-path=-", 2, 0);
  fflush (stdout);
  fail_unless (dup2 (saved, STDOUT_FILENO) >= 0);
  close (saved);

  lines = read_lines (path, &n);
  fail_unless_equals_int (n, 5);
  fail_unless (g_str_has_prefix (lines[0], "{\"timestamp\":0"));
  g_strfreev (lines);
  remove_temp (path);
}

GST_END_TEST;

/* ---- every element --------------------------------------------------------------------- */

GST_START_TEST (test_state_cycles_with_buffers)
{
  const gchar *names[] = { "lensoverlay", "lensfps", "lensmetaconvert",
    "lenspublish"
  };
  GstVideoInfo info = video_info (GST_VIDEO_FORMAT_I420);
  gchar *path = temp_path ("cycles.jsonl");

  for (guint e = 0; e < G_N_ELEMENTS (names); e++) {
    GstHarness *h = gst_harness_new (names[e]);
    GstBus *bus = attach_bus (h);
    fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    if (g_str_equal (names[e], "lenspublish"))
      g_object_set (h->element, "file-path", path, NULL);
    if (g_str_equal (names[e], "lensfps"))
      g_object_set (h->element, "print", FALSE, NULL);
    if (g_str_equal (names[e], "lensoverlay"))
      g_object_set (h->element, "show-fps", TRUE, NULL);
    for (guint cycle = 0; cycle < 40; cycle++) {
      GstSegment segment;
      GstBuffer *in, *out;
      GstMessage *msg;
      fail_unless_equals_int (gst_element_set_state (h->element,
              GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
      fail_unless (gst_harness_push_event (h,
              gst_event_new_stream_start ("cycles")));
      fail_unless (gst_harness_push_event (h, caps_event (&info)));
      gst_segment_init (&segment, GST_FORMAT_TIME);
      fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
      in = make_frame (&info);
      add_region (in, "person", 0, 0.9, 10, 10, 30, 30);
      add_latency (in, "det", 1, 2, 3, 4);
      out = push_pull (h, in);
      gst_buffer_unref (out);
      if (cycle % 2)
        fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
      fail_unless_equals_int (gst_element_set_state (h->element,
              GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
      while ((msg = gst_bus_pop (bus)))
        gst_message_unref (msg);
    }
    gst_element_set_bus (h->element, NULL);
    gst_object_unref (bus);
    gst_harness_teardown (h);
  }
  remove_temp (path);
}

GST_END_TEST;

GST_START_TEST (test_gst_inspect_runs_clean)
{
  const gchar *names[] = { "lensoverlay", "lensfps", "lensmetaconvert",
    "lenspublish"
  };
  gchar *inspect = g_find_program_in_path ("gst-inspect-1.0");
  if (!inspect) {
    GST_WARNING ("gst-inspect-1.0 not found: skipped");
    return;
  }
  /* a sanitizer build's plugin cannot load into the uninstrumented gst-inspect-1.0; the
   * plain build runs this check (and the gst_inspect_fatal_criticals test) */
  if (g_getenv ("LENS_SANITIZE")) {
    g_free (inspect);
    return;
  }
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    gchar *argv[] = { inspect, (gchar *) names[i], NULL };
    gchar **envp = g_get_environ ();
    gchar *out = NULL, *err = NULL;
    gint status = -1;
    GError *error = NULL;
    envp = g_environ_setenv (envp, "G_DEBUG", "fatal_criticals", TRUE);
    fail_unless (g_spawn_sync (NULL, argv, envp, G_SPAWN_DEFAULT, NULL, NULL,
            &out, &err, &status, &error), "%s", error ? error->message : "");
    fail_unless (g_spawn_check_wait_status (status, NULL),
        "gst-inspect-1.0 %s failed: %s", names[i], err);
    fail_unless (strstr (out, names[i]) != NULL);
    fail_if (strstr (err, "CRITICAL") != NULL, "%s", err);
    g_free (out);
    g_free (err);
    g_strfreev (envp);
  }
  g_free (inspect);
}

GST_END_TEST;

static Suite *
output_elements_suite (void)
{
  Suite *s = suite_create ("output_elements");
  TCase *overlay = tcase_create ("overlay");
  TCase *fps = tcase_create ("fps");
  TCase *json = tcase_create ("json");
  TCase *all = tcase_create ("all");

  tcase_set_timeout (overlay, 60);
  tcase_set_timeout (fps, 60);
  tcase_set_timeout (all, 120);

  suite_add_tcase (s, overlay);
  tcase_add_test (overlay, test_overlay_accepts_its_formats_and_refuses_others);
  tcase_add_test (overlay, test_overlay_refused_caps_fail_negotiation);
  tcase_add_test (overlay, test_overlay_draws_box_edge_only_in_every_format);
  tcase_add_test (overlay, test_overlay_box_and_label_rgb);
  tcase_add_test (overlay, test_overlay_box_and_label_nv12);
  tcase_add_test (overlay, test_overlay_box_and_label_i420);
  tcase_add_test (overlay, test_overlay_box_outside_frame_draws_nothing);
  tcase_add_test (overlay, test_overlay_clips_partial_and_huge_boxes);
  tcase_add_test (overlay, test_overlay_blends_translucent_color);
  tcase_add_test (overlay, test_overlay_odd_sized_yuv_frames);
  tcase_add_test (overlay, test_overlay_draws_classification_text_lines);
  tcase_add_test (overlay, test_overlay_full_frame_region_has_labels_but_no_box);
  tcase_add_test (overlay, test_overlay_show_fps_draws_in_corner);
  tcase_add_test (overlay, test_overlay_does_not_write_into_shared_input);

  suite_add_tcase (s, fps);
  tcase_add_test (fps, test_fps_counts_frames_and_reports_at_eos);
  tcase_add_test (fps, test_fps_counts_dropped_frames);
  tcase_add_test (fps, test_fps_reports_latency_breakdown);
  tcase_add_test (fps, test_fps_latency_reservoir_is_bounded);
  tcase_add_test (fps, test_fps_counts_each_stream_id);
  tcase_add_test (fps, test_fps_measures_wall_clock_not_timestamps);
  tcase_add_test (fps, test_fps_silent_posts_nothing);
  tcase_add_test (fps, test_fps_metaconvert_publish_refuse_non_video_caps);

  suite_add_tcase (s, json);
  tcase_add_test (json, test_metaconvert_json_has_expected_fields);
  tcase_add_test (json, test_metaconvert_frame_without_metadata);
  tcase_add_test (json, test_metaconvert_hostile_strings_stay_one_valid_line);
  tcase_add_test (json, test_metaconvert_replaces_existing_json);
  tcase_add_test (json, test_publish_writes_one_line_per_frame);
  tcase_add_test (json, test_publish_truncates_or_appends);
  tcase_add_test (json, test_publish_builds_json_without_metaconvert);
  tcase_add_test (json, test_publish_unwritable_path_fails_in_start);
  tcase_add_test (json, test_publish_stdout);

  suite_add_tcase (s, all);
  tcase_add_test (all, test_elements_preserve_timestamps_and_flags);
  tcase_add_test (all, test_state_cycles_with_buffers);
  tcase_add_test (all, test_gst_inspect_runs_clean);
  return s;
}

int
main (int argc, char **argv)
{
  Suite *s;
  SRunner *sr;
  int run, failed;

  gst_check_init (&argc, &argv);
  s = output_elements_suite ();
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  run = srunner_ntests_run (sr);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  printf ("%d passed, %d failed\n", run - failed, failed);
  return failed == 0 ? 0 : 1;
}
