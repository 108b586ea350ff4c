/* Tests of the Lens inference elements (lensinfer, lensdetect, lensclassify) on tiny models
 * that scripts/gen_gst_test_models.py writes at test time, plus one end-to-end OCR run on
 * the real PaddleOCR models.
 *
 *   test_infer_elements REPO_ROOT MODELS_OUTDIR
 *
 * The element sources are compiled into this program and registered statically, so the
 * test sees the same model registry (lensmodelpool.h) as the elements. Exits 77 (skipped)
 * when /usr/bin/python3 cannot write the models. Ends with "N passed, N failed". */
#include <math.h>
#include <string.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "lensmeta.h"
#include "lensmodelpool.h"

GST_ELEMENT_REGISTER_DECLARE (lensinfer);
GST_ELEMENT_REGISTER_DECLARE (lensdetect);
GST_ELEMENT_REGISTER_DECLARE (lensclassify);

static gchar *repo_root;
static gchar *models_dir;

static gchar *
model (const gchar * name)
{
  return g_build_filename (models_dir, name, NULL);
}

/* ---- helpers -------------------------------------------------------------------------- */

/* A frame of constant components (RGB: R,G,B,A; YUV: Y,U,V), rows padded by extra_stride
 * bytes of garbage and described by a GstVideoMeta. */
static GstBuffer *
make_frame (GstVideoFormat format, gint w, gint h, gint extra_stride,
    const guint8 comp[4])
{
  GstVideoInfo info;
  fail_unless (gst_video_info_set_format (&info, format, w, h));
  const GstVideoFormatInfo *finfo = info.finfo;
  gsize offset = 0;
  for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES (&info); p++) {
    gint c = 0;
    while (finfo->plane[c] != p)
      c++;
    info.stride[p] += extra_stride;
    info.offset[p] = offset;
    offset += (gsize) info.stride[p] *
        GST_VIDEO_FORMAT_INFO_SCALE_HEIGHT (finfo, c, h);
  }
  info.size = offset;
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  gst_buffer_memset (buf, 0, 0xEE, info.size);
  gst_buffer_add_video_meta_full (buf, GST_VIDEO_FRAME_FLAG_NONE, format, w, h,
      GST_VIDEO_INFO_N_PLANES (&info), info.offset, info.stride);
  GstVideoFrame f;
  fail_unless (gst_video_frame_map (&f, &info, buf, GST_MAP_WRITE));
  for (guint c = 0; c < GST_VIDEO_INFO_N_COMPONENTS (&info); c++) {
    guint8 *data = GST_VIDEO_FRAME_COMP_DATA (&f, c);
    gint stride = GST_VIDEO_FRAME_COMP_STRIDE (&f, c);
    gint pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (&f, c);
    for (gint y = 0; y < GST_VIDEO_FRAME_COMP_HEIGHT (&f, c); y++)
      for (gint x = 0; x < GST_VIDEO_FRAME_COMP_WIDTH (&f, c); x++)
        data[y * stride + x * pstride] = comp[c];
  }
  gst_video_frame_unmap (&f);
  return buf;
}

static GstBuffer *
make_rgb (gint w, gint h, guint8 r, guint8 g, guint8 b)
{
  const guint8 comp[4] = { r, g, b, 255 };
  return make_frame (GST_VIDEO_FORMAT_RGB, w, h, 0, comp);
}

/* An RGB frame whose left half is white and right half black. */
static GstBuffer *
make_left_white (gint w, gint h)
{
  GstBuffer *buf = make_rgb (w, h, 0, 0, 0);
  GstMapInfo map;
  gsize stride = GST_ROUND_UP_4 (w * 3);
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (gint y = 0; y < h; y++)
    memset (map.data + y * stride, 255, (gsize) (w / 2) * 3);
  gst_buffer_unmap (buf, &map);
  return buf;
}

static gchar *
caps_str (const gchar * format, gint w, gint h)
{
  return g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
      "framerate=30/1", format, w, h);
}

static GstHarness *
harness_new (const gchar * factory, const gchar * first_prop, ...)
{
  GstElement *e = gst_element_factory_make (factory, NULL);
  fail_unless (e != NULL, "no element %s", factory);
  va_list args;
  va_start (args, first_prop);
  g_object_set_valist (G_OBJECT (e), first_prop, args);
  va_end (args);
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  return h;
}

/* The mean model's output for one buffer: channel means in 0..1. */
static void
tensor_means (GstBuffer * buf, gfloat out[3])
{
  LensTensorMeta *m = gst_buffer_get_lens_tensor_meta (buf);
  fail_unless (m != NULL, "no tensor meta");
  fail_unless_equals_int (m->n_tensors, 1);
  gsize size = 0;
  const gfloat *v = g_bytes_get_data (m->tensors[0].data, &size);
  fail_unless_equals_int ((gint) size, 3 * sizeof (gfloat));
  fail_unless_equals_int (m->tensors[0].dims[0], 1);
  memcpy (out, v, 3 * sizeof (gfloat));
}

static void
assert_means (GstBuffer * buf, gdouble r, gdouble g, gdouble b, gdouble tol)
{
  gfloat m[3];
  tensor_means (buf, m);
  fail_unless (fabs (m[0] - r) <= tol && fabs (m[1] - g) <= tol
      && fabs (m[2] - b) <= tol, "means %f %f %f, expected %f %f %f", m[0],
      m[1], m[2], r, g, b);
}

static GstElement *
pipeline_new (const gchar * desc)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch (desc, &err);
  fail_unless (p != NULL && err == NULL, "%s: %s", desc,
      err ? err->message : "?");
  return p;
}

/* Sets the pipeline to PAUSED, expects a failure and an ERROR from element_name (NULL:
 * any) in domain; returns the error's message and debug string (free it). */
static gchar *
expect_start_error (const gchar * desc, const gchar * element_name,
    GQuark domain)
{
  GstElement *p = pipeline_new (desc);
  GstStateChangeReturn ret = gst_element_set_state (p, GST_STATE_PAUSED);
  if (ret == GST_STATE_CHANGE_ASYNC)
    ret = gst_element_get_state (p, NULL, NULL, 10 * GST_SECOND);
  fail_unless (ret == GST_STATE_CHANGE_FAILURE, "%s started", desc);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND,
      GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message for %s", desc);
  GError *err = NULL;
  gchar *debug = NULL;
  gst_message_parse_error (msg, &err, &debug);
  if (element_name)
    fail_unless_equals_string (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
        element_name);
  fail_unless (err->domain == domain, "error domain %s",
      g_quark_to_string (err->domain));
  gchar *text = g_strdup_printf ("%s | %s", err->message, debug ? debug : "");
  g_error_free (err);
  g_free (debug);
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  return text;
}

/* Runs a pipeline to EOS; fails on an ERROR. */
static void
run_to_eos (GstElement * p)
{
  fail_unless (gst_element_set_state (p, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  fail_unless (msg != NULL, "timed out");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *debug = NULL;
    gst_message_parse_error (msg, &err, &debug);
    fail ("error from %s: %s (%s)", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
        err->message, debug);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
}

static guint
count_rois (GstBuffer * buf)
{
  guint n = 0;
  gpointer state = NULL;
  while (gst_buffer_iterate_meta_filtered (buf, &state,
          GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
    n++;
  return n;
}

static GstVideoRegionOfInterestMeta *
find_roi (GstBuffer * buf, const gchar * type)
{
  gpointer state = NULL;
  GstVideoRegionOfInterestMeta *roi;
  while ((roi = (GstVideoRegionOfInterestMeta *)
          gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
    if (g_strcmp0 (g_quark_to_string (roi->roi_type), type) == 0)
      return roi;
  return NULL;
}

/* ---- caps ----------------------------------------------------------------------------- */

GST_START_TEST (test_caps_accepted_and_refused)
{
  gchar *path = model ("mean.onnx");
  GstHarness *h = harness_new ("lensinfer", "model", path, NULL);
  const gchar *ok[] = { "RGB", "BGR", "RGBx", "BGRx", "RGBA", "BGRA", "NV12",
    "I420"
  };
  for (guint i = 0; i < G_N_ELEMENTS (ok); i++) {
    gchar *s = caps_str (ok[i], 17, 9);
    GstCaps *caps = gst_caps_from_string (s);
    fail_unless (gst_pad_peer_query_accept_caps (h->srcpad, caps), "%s", s);
    gst_caps_unref (caps);
    g_free (s);
  }
  const gchar *refused[] = {
    "video/x-raw,format=GRAY8,width=8,height=8,framerate=30/1",
    "video/x-raw,format=YUY2,width=8,height=8,framerate=30/1",
    "audio/x-raw,format=F32LE,rate=48000,channels=1,layout=interleaved",
  };
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++) {
    GstCaps *caps = gst_caps_from_string (refused[i]);
    fail_if (gst_pad_peer_query_accept_caps (h->srcpad, caps), "%s",
        refused[i]);
    fail_if (gst_pad_send_event (GST_PAD_PEER (h->srcpad),
            gst_event_new_caps (caps)), "%s", refused[i]);
    gst_caps_unref (caps);
  }
  gchar *s = caps_str ("RGB", 8, 8);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  GstBuffer *out = gst_harness_push_and_pull (h, make_rgb (8, 8, 255, 0, 0));
  assert_means (out, 1.0, 0.0, 0.0, 1e-3);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_caps_refused_for_non_image_model)
{
  gchar *path = model ("bad_input.onnx");
  GstHarness *h = harness_new ("lensinfer", "model", path, NULL);
  gchar *s = caps_str ("RGB", 8, 8);
  GstCaps *caps = gst_caps_from_string (s);
  fail_if (gst_pad_send_event (GST_PAD_PEER (h->srcpad),
          gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  g_free (s);
  gst_harness_teardown (h);

  /* in a pipeline: a clean not-negotiated error, not a crash */
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=2 ! "
      "video/x-raw,width=16,height=16 ! lensinfer name=infer model=\"%s\" ! "
      "fakesink", path);
  GstElement *p = pipeline_new (desc);
  gst_element_set_state (p, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR);
  GError *err = NULL;
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (g_error_matches (err, GST_CORE_ERROR,
          GST_CORE_ERROR_NEGOTIATION) || err->domain == GST_STREAM_ERROR,
      "%s", err->message);
  g_error_free (err);
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  g_free (desc);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_caps_change_midstream)
{
  gchar *path = model ("mean.onnx");
  GstHarness *h = harness_new ("lensinfer", "model", path, NULL);
  gchar *s = caps_str ("RGB", 16, 16);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  GstBuffer *out = gst_harness_push_and_pull (h, make_rgb (16, 16, 0, 255, 0));
  assert_means (out, 0.0, 1.0, 0.0, 1e-3);
  gst_buffer_unref (out);

  s = caps_str ("BGRx", 7, 5);
  GstCaps *caps = gst_caps_from_string (s);
  fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  g_free (s);
  const guint8 comp[4] = { 51, 102, 204, 0 };
  out = gst_harness_push_and_pull (h, make_frame (GST_VIDEO_FORMAT_BGRx, 7, 5,
          0, comp));
  assert_means (out, 0.2, 0.4, 0.8, 1e-3);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_mean_and_scale_strings)
{
  gchar *path = model ("mean.onnx");
  struct
  {
    const gchar *mean, *scale;
    gint order;
    gdouble r, g, b;
  } cases[] = {
    {"10,20,30", "1,2,3", 0, 90.0, 160.0, 210.0},
    /* in 0..1: a fraction of 255 */
    {"0.5", "0.01", 0, -0.275, -0.275, -0.275},
    /* bgr: the tensor's first channel is blue */
    {"0", "1", 1, 50.0, 100.0, 100.0},
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    GstHarness *h = harness_new ("lensinfer", "model", path, "mean",
        cases[i].mean, "scale", cases[i].scale, "color-order", cases[i].order,
        NULL);
    gchar *s = caps_str ("RGB", 4, 4);
    gst_harness_set_src_caps_str (h, s);
    g_free (s);
    GstBuffer *out = gst_harness_push_and_pull (h, make_rgb (4, 4, 100, 100,
            i == 2 ? 50 : 100));
    assert_means (out, cases[i].r, cases[i].g, cases[i].b, 1e-3);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
  g_free (path);
}

GST_END_TEST;

/* ---- frames --------------------------------------------------------------------------- */

GST_START_TEST (test_odd_sizes_and_padded_strides)
{
  gchar *path = model ("mean.onnx");
  struct
  {
    GstVideoFormat format;
    const gchar *name;
    gint w, h, extra;
    guint8 comp[4];
    gdouble r, g, b, tol;
  } cases[] = {
    {GST_VIDEO_FORMAT_RGB, "RGB", 33, 17, 13, {100, 150, 200, 0},
        100 / 255.0, 150 / 255.0, 200 / 255.0, 1e-3},
    {GST_VIDEO_FORMAT_BGR, "BGR", 1, 1, 5, {10, 20, 30, 0},
        10 / 255.0, 20 / 255.0, 30 / 255.0, 1e-3},
    {GST_VIDEO_FORMAT_RGBA, "RGBA", 5, 3, 64, {255, 0, 128, 7},
        1.0, 0.0, 128 / 255.0, 1e-3},
    {GST_VIDEO_FORMAT_BGRA, "BGRA", 9, 11, 4, {0, 255, 0, 9},
        0.0, 1.0, 0.0, 1e-3},
    {GST_VIDEO_FORMAT_RGBx, "RGBx", 3, 641, 8, {1, 2, 3, 0},
        1 / 255.0, 2 / 255.0, 3 / 255.0, 1e-3},
    /* grey in YUV: the colour matrix only has to keep the channels equal */
    {GST_VIDEO_FORMAT_I420, "I420", 35, 19, 16, {128, 128, 128, 0},
        0.51, 0.51, 0.51, 0.04},
    {GST_VIDEO_FORMAT_NV12, "NV12", 13, 7, 32, {128, 128, 128, 0},
        0.51, 0.51, 0.51, 0.04},
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    GstHarness *h = harness_new ("lensinfer", "model", path, NULL);
    gchar *s = caps_str (cases[i].name, cases[i].w, cases[i].h);
    gst_harness_set_src_caps_str (h, s);
    g_free (s);
    GstBuffer *out = gst_harness_push_and_pull (h,
        make_frame (cases[i].format, cases[i].w, cases[i].h, cases[i].extra,
            cases[i].comp));
    assert_means (out, cases[i].r, cases[i].g, cases[i].b, cases[i].tol);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_timestamps_flags_and_latency_preserved)
{
  gchar *path = model ("mean.onnx");
  GstHarness *h = harness_new ("lensinfer", "model", path, "batch-size", 2,
      "nireq", 2, NULL);
  gchar *s = caps_str ("RGB", 8, 8);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  for (guint i = 0; i < 5; i++) {
    GstBuffer *b = make_rgb (8, 8, 1, 2, 3);
    GST_BUFFER_PTS (b) = i * 40 * GST_MSECOND + 1;
    GST_BUFFER_DTS (b) = i * 40 * GST_MSECOND;
    GST_BUFFER_DURATION (b) = 40 * GST_MSECOND;
    GST_BUFFER_OFFSET (b) = i;
    GST_BUFFER_OFFSET_END (b) = i + 1;
    GST_BUFFER_FLAG_SET (b, i == 0 ? GST_BUFFER_FLAG_DISCONT :
        GST_BUFFER_FLAG_DELTA_UNIT);
    fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  for (guint i = 0; i < 5; i++) {
    GstBuffer *b = gst_harness_pull (h);
    fail_unless (b != NULL);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), i * 40 * GST_MSECOND + 1);
    fail_unless_equals_uint64 (GST_BUFFER_DTS (b), i * 40 * GST_MSECOND);
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (b), 40 * GST_MSECOND);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b), i);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (b), i + 1);
    fail_unless_equals_int (GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_DISCONT),
        i == 0);
    fail_unless_equals_int (GST_BUFFER_FLAG_IS_SET (b,
            GST_BUFFER_FLAG_DELTA_UNIT), i != 0);
    LensLatencyMeta *lat = gst_buffer_get_lens_latency_meta (b);
    fail_unless (lat != NULL);
    fail_unless_equals_int (lat->n_entries, 1);
    fail_unless (g_str_has_prefix (lat->entries[0].element, "lensinfer"));
    fail_unless (lat->entries[0].inference_ns > 0);
    fail_unless (lat->entries[0].preprocess_ns > 0);
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_output_order_with_nireq_3)
{
  gchar *path = model ("mean.onnx");
  GstHarness *h = harness_new ("lensinfer", "model", path, "nireq", 3,
      "nthreads", 1, NULL);
  gchar *s = caps_str ("RGB", 24, 16);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  const guint n = 36;
  for (guint i = 0; i < n; i++) {
    guint8 v = (guint8) (i * 7);
    GstBuffer *b = make_rgb (24, 16, v, v, v);
    GST_BUFFER_PTS (b) = i * GST_MSECOND;
    fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
  }
  for (guint i = 0; i < n; i++) {
    GstBuffer *b = gst_harness_pull (h);
    fail_unless (b != NULL);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), i * GST_MSECOND);
    gdouble v = (guint8) (i * 7) / 255.0;
    assert_means (b, v, v, v, 1e-3);
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);
  g_free (path);
}

GST_END_TEST;

/* ---- events --------------------------------------------------------------------------- */

static GstPadProbeReturn
record_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GString *log = data;
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER)
    g_string_append_c (log, 'B');
  else if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS)
    g_string_append_c (log, 'E');
  return GST_PAD_PROBE_OK;
}

GST_START_TEST (test_eos_drains_partial_batch)
{
  gchar *path = model ("mean.onnx");
  GstHarness *h = harness_new ("lensinfer", "model", path, "batch-size", 4,
      NULL);
  GString *log = g_string_new (NULL);
  gst_pad_add_probe (h->sinkpad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, record_probe, log, NULL);
  gchar *s = caps_str ("RGB", 8, 8);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  for (guint i = 0; i < 6; i++) {
    guint8 v = (guint8) (40 * i);
    fail_unless_equals_int (gst_harness_push (h, make_rgb (8, 8, v, v, v)),
        GST_FLOW_OK);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  for (guint i = 0; i < 6; i++) {
    GstBuffer *b = gst_harness_pull (h);
    fail_unless (b != NULL, "buffer %u missing", i);
    gdouble v = (guint8) (40 * i) / 255.0;
    assert_means (b, v, v, v, 1e-3);
    gst_buffer_unref (b);
  }
  gboolean eos = FALSE;
  while (!eos) {
    GstEvent *ev = gst_harness_pull_event (h);
    fail_unless (ev != NULL, "no EOS");
    eos = GST_EVENT_TYPE (ev) == GST_EVENT_EOS;
    gst_event_unref (ev);
  }
  fail_unless_equals_string (log->str, "BBBBBBE");
  g_string_free (log, TRUE);
  gst_harness_teardown (h);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_flush_discards_queued_frames)
{
  gchar *path = model ("mean.onnx");
  GstHarness *h = harness_new ("lensinfer", "model", path, "batch-size", 4,
      NULL);
  gchar *s = caps_str ("RGB", 8, 8);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  /* three frames wait in the open batch of four */
  for (guint i = 0; i < 3; i++) {
    GstBuffer *b = make_rgb (8, 8, 9, 9, 9);
    GST_BUFFER_PTS (b) = i * GST_SECOND;
    fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  GstBuffer *b = make_rgb (8, 8, 255, 255, 255);
  GST_BUFFER_PTS (b) = 42 * GST_SECOND;
  fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  b = gst_harness_pull (h);
  fail_unless (b != NULL);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (b), 42 * GST_SECOND);
  assert_means (b, 1.0, 1.0, 1.0, 1e-3);
  gst_buffer_unref (b);
  fail_unless (gst_harness_try_pull (h) == NULL);
  fail_unless_equals_int (gst_harness_buffers_received (h), 1);
  gst_harness_teardown (h);
  g_free (path);
}

GST_END_TEST;

/* ---- state changes -------------------------------------------------------------------- */

static GstPadProbeReturn
count_probe (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  g_atomic_int_inc ((gint *) data);
  return GST_PAD_PROBE_OK;
}

GST_START_TEST (test_state_cycles_with_buffers_flowing)
{
  gchar *path = model ("det_fixed.onnx");
  gchar *desc = g_strdup_printf ("videotestsrc ! "
      "video/x-raw,format=RGB,width=32,height=24 ! lensdetect model=\"%s\" "
      "batch-size=2 nireq=2 nthreads=1 ! fakesink name=sink sync=false", path);
  GstElement *p = pipeline_new (desc);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  gint count = 0;
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &count, NULL);
  GstBus *bus = gst_element_get_bus (p);
  for (guint cycle = 0; cycle < 40; cycle++) {
    g_atomic_int_set (&count, 0);
    fail_unless (gst_element_set_state (p, GST_STATE_PLAYING) !=
        GST_STATE_CHANGE_FAILURE);
    /* alternate: stop right away (buffers in flight) and after some flowed */
    gint want = cycle % 2 ? 6 : 1;
    for (guint t = 0; t < 1000 && g_atomic_int_get (&count) < want; t++)
      g_usleep (2000);
    fail_unless (g_atomic_int_get (&count) >= want, "cycle %u: %d buffers",
        cycle, g_atomic_int_get (&count));
    fail_unless_equals_int (gst_element_set_state (p, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    fail_unless (msg == NULL, "error in cycle %u", cycle);
  }
  gst_object_unref (bus);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_object_unref (p);
  g_free (desc);
  g_free (path);
}

GST_END_TEST;

/* ---- errors --------------------------------------------------------------------------- */

GST_START_TEST (test_missing_model_posts_error)
{
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=1 ! lensdetect "
      "name=det model=\"%s/does-not-exist.onnx\" ! fakesink", models_dir);
  gchar *text = expect_start_error (desc, "det", GST_RESOURCE_ERROR);
  fail_unless (strstr (text, "does-not-exist.onnx") != NULL, "%s", text);
  g_free (text);
  g_free (desc);

  text = expect_start_error ("videotestsrc num-buffers=1 ! lensinfer name=inf "
      "! fakesink", "inf", GST_RESOURCE_ERROR);
  g_free (text);
}

GST_END_TEST;

GST_START_TEST (test_corrupt_model_posts_error)
{
  gchar *path = model ("corrupt.onnx");
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=1 ! lensclassify "
      "name=cls model=\"%s\" ! fakesink", path);
  gchar *text = expect_start_error (desc, "cls", GST_RESOURCE_ERROR);
  fail_unless (strstr (text, "corrupt.onnx") != NULL, "%s", text);
  g_free (text);
  g_free (desc);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_wrong_decoder_or_settings_post_errors)
{
  gchar *det = model ("det_fixed.onnx");
  gchar *cls = model ("cls_tiny.onnx");
  const gchar *cases[][2] = {
    /* a detector's outputs in a classifier */
    {"lensclassify name=e model=\"%s\" decoder=softmax", "det"},
    /* ctc without its dictionary */
    {"lensclassify name=e model=\"%s\" decoder=ctc", "cls"},
    /* a classifier's outputs in a detector */
    {"lensdetect name=e model=\"%s\" decoder=db", "cls"},
    {"lensclassify name=e model=\"%s\" classifier-name=\"not a name\"", "cls"},
    {"lensclassify name=e model=\"%s\" flip-if=nolabel", "cls"},
    {"lensinfer name=e model=\"%s\" mean=1,2", "cls"},
    {"lensinfer name=e model=\"%s\" scale=abc", "cls"},
    {"lensinfer name=e model=\"%s\" labels=/nonexistent/labels.txt", "cls"},
    {"lensinfer name=e model=\"%s\" device=tpu", "cls"},
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *elem = g_strdup_printf (cases[i][0],
        strcmp (cases[i][1], "det") == 0 ? det : cls);
    gchar *desc = g_strdup_printf ("videotestsrc num-buffers=1 ! %s ! fakesink",
        elem);
    gchar *text = expect_start_error (desc, "e", GST_RESOURCE_ERROR);
    GST_INFO ("%s -> %s", elem, text);
    g_free (text);
    g_free (desc);
    g_free (elem);
  }
  g_free (det);
  g_free (cls);
}

GST_END_TEST;

GST_START_TEST (test_device_fallback_warns)
{
  gchar *path = model ("mean.onnx");
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=3 ! "
      "video/x-raw,width=8,height=8 ! lensinfer device=tpu,cpu model=\"%s\" "
      "! fakesink", path);
  GstElement *p = pipeline_new (desc);
  fail_unless (gst_element_set_state (p, GST_STATE_PAUSED) !=
      GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_WARNING);
  fail_unless (msg != NULL, "no fallback warning");
  GError *err = NULL;
  gchar *debug = NULL;
  gst_message_parse_warning (msg, &err, &debug);
  fail_unless (strstr (debug, "tpu") != NULL, "%s", debug);
  g_error_free (err);
  g_free (debug);
  gst_message_unref (msg);
  gst_object_unref (bus);
  run_to_eos (p);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  g_free (desc);
  g_free (path);
}

GST_END_TEST;

/* ---- shared models -------------------------------------------------------------------- */

GST_START_TEST (test_model_instance_id_shares_model)
{
  gchar *path = model ("mean.onnx");
  gchar *other = model ("cls_tiny.onnx");
  gchar *desc = g_strdup_printf ("videotestsrc num-buffers=5 ! "
      "video/x-raw,width=16,height=16 ! tee name=t "
      "t. ! queue ! lensinfer model-instance-id=cam model=\"%s\" nireq=2 ! "
      "fakesink name=a "
      "t. ! queue ! lensinfer model-instance-id=cam model=\"%s\" nireq=2 ! "
      "fakesink name=b", path, path);
  guint before = lens_model_pool_load_count ();
  GstElement *p = pipeline_new (desc);
  fail_unless (gst_element_set_state (p, GST_STATE_PAUSED) !=
      GST_STATE_CHANGE_FAILURE);
  fail_unless_equals_int (gst_element_get_state (p, NULL, NULL,
          10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (lens_model_pool_load_count () - before, 1);
  fail_unless_equals_int (lens_model_pool_shared_count (), 1);
  run_to_eos (p);
  gst_element_set_state (p, GST_STATE_NULL);
  fail_unless_equals_int (lens_model_pool_shared_count (), 0);
  gst_object_unref (p);
  g_free (desc);

  /* without an id, each element loads its own */
  desc = g_strdup_printf ("videotestsrc num-buffers=2 ! "
      "video/x-raw,width=16,height=16 ! lensinfer model=\"%s\" ! "
      "lensinfer model=\"%s\" ! fakesink", path, path);
  before = lens_model_pool_load_count ();
  p = pipeline_new (desc);
  run_to_eos (p);
  fail_unless_equals_int (lens_model_pool_load_count () - before, 2);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  g_free (desc);

  /* one id, two model files: whichever starts second fails */
  desc = g_strdup_printf ("videotestsrc num-buffers=2 ! "
      "video/x-raw,width=16,height=16 ! lensinfer model-instance-id=x "
      "model=\"%s\" ! lensinfer name=second model-instance-id=x model=\"%s\" ! "
      "fakesink", path, other);
  gchar *text = expect_start_error (desc, NULL, GST_RESOURCE_ERROR);
  fail_unless (strstr (text, "model-instance-id") != NULL, "%s", text);
  g_free (text);
  g_free (desc);
  fail_unless_equals_int (lens_model_pool_shared_count (), 0);
  g_free (other);
  g_free (path);
}

GST_END_TEST;

/* ---- detection ------------------------------------------------------------------------ */

static void
check_detection (GstVideoRegionOfInterestMeta * roi, const gchar * label,
    gint label_id, guint x, guint y, guint w, guint h)
{
  fail_unless (roi != NULL, "no region %s", label);
  fail_unless_equals_int (roi->x, x);
  fail_unless_equals_int (roi->y, y);
  fail_unless_equals_int (roi->w, w);
  fail_unless_equals_int (roi->h, h);
  GstStructure *s = gst_video_region_of_interest_meta_get_param (roi,
      LENS_DETECTION_STRUCTURE);
  fail_unless (s != NULL);
  fail_unless_equals_string (gst_structure_get_string (s, "label"), label);
  gint id;
  fail_unless (gst_structure_get_int (s, "label_id", &id));
  fail_unless_equals_int (id, label_id);
  gdouble conf, x0, y0, x1, y1;
  fail_unless (gst_structure_get (s, "confidence", G_TYPE_DOUBLE, &conf,
          "x_min", G_TYPE_DOUBLE, &x0, "y_min", G_TYPE_DOUBLE, &y0,
          "x_max", G_TYPE_DOUBLE, &x1, "y_max", G_TYPE_DOUBLE, &y1, NULL));
  fail_unless (conf >= 0.5 && conf <= 1.0);
  fail_unless (0 <= x0 && x0 < x1 && x1 <= 1 && 0 <= y0 && y0 < y1 && y1 <= 1);
}

GST_START_TEST (test_detect_boxes_in_frame_pixels)
{
  gchar *path = model ("det_fixed.onnx");
  gchar *labels = model ("labels.txt");
  GstHarness *h = harness_new ("lensdetect", "model", path, "labels", labels,
      "inference-interval", 2, NULL);
  gchar *s = caps_str ("RGB", 64, 48);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  for (guint i = 0; i < 4; i++) {
    GstBuffer *b = gst_harness_push_and_pull (h, make_rgb (64, 48, 0, 0, 0));
    if (i % 2) {
      /* skipped by inference-interval: passes untouched */
      fail_unless_equals_int (count_rois (b), 0);
      fail_unless (gst_buffer_get_lens_latency_meta (b) == NULL);
    } else {
      fail_unless_equals_int (count_rois (b), 2);
      /* (0.25,0.25)-(0.5,0.75) and (0.6,0.1)-(0.9,0.4) of 64x48, outwards */
      check_detection (find_roi (b, "green"), "green", 1, 16, 12, 16, 24);
      check_detection (find_roi (b, "blue"), "blue", 2, 38, 4, 20, 16);
    }
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);

  /* letterboxed: boxes still land inside the frame */
  h = harness_new ("lensdetect", "model", path, "resize", 2, NULL);
  s = caps_str ("I420", 100, 30);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  const guint8 yuv[4] = { 16, 128, 128, 0 };
  GstBuffer *b = gst_harness_push_and_pull (h,
      make_frame (GST_VIDEO_FORMAT_I420, 100, 30, 0, yuv));
  fail_unless_equals_int (count_rois (b), 2);
  GstVideoRegionOfInterestMeta *roi = find_roi (b, "class_1");
  fail_unless (roi != NULL);
  fail_unless (roi->x + roi->w <= 100 && roi->y + roi->h <= 30);
  gst_buffer_unref (b);
  gst_harness_teardown (h);
  g_free (labels);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_absurd_model_outputs_clamped)
{
  gchar *path = model ("det_absurd.onnx");
  GstHarness *h = harness_new ("lensdetect", "model", path, "threshold", 0.0f,
      "decoder", 1, NULL);
  gchar *s = caps_str ("RGB", 64, 48);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  GstBuffer *b = gst_harness_push_and_pull (h, make_rgb (64, 48, 7, 7, 7));
  gpointer state = NULL;
  GstVideoRegionOfInterestMeta *roi;
  while ((roi = (GstVideoRegionOfInterestMeta *)
          gst_buffer_iterate_meta_filtered (b, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    fail_unless (roi->w > 0 && roi->h > 0);
    fail_unless (roi->x + roi->w <= 64 && roi->y + roi->h <= 48,
        "%u,%u %ux%u", roi->x, roi->y, roi->w, roi->h);
    GstStructure *st = gst_video_region_of_interest_meta_get_param (roi,
        LENS_DETECTION_STRUCTURE);
    const gchar *fields[] = { "confidence", "x_min", "y_min", "x_max",
      "y_max"
    };
    for (guint i = 0; i < G_N_ELEMENTS (fields); i++) {
      gdouble v;
      fail_unless (gst_structure_get_double (st, fields[i], &v));
      fail_unless (isfinite (v) && v >= 0.0 && v <= 1.0, "%s = %f",
          fields[i], v);
    }
  }
  gst_buffer_unref (b);
  gst_harness_teardown (h);
  g_free (path);
}

GST_END_TEST;

/* ---- classification ------------------------------------------------------------------- */

static const gchar *
classification_label (GstVideoRegionOfInterestMeta * roi, const gchar * name)
{
  GstStructure *s = gst_video_region_of_interest_meta_get_param (roi, name);
  return s ? gst_structure_get_string (s, "label") : NULL;
}

GST_START_TEST (test_classify_full_frame)
{
  gchar *path = model ("cls_tiny.onnx");
  gchar *labels = model ("labels.txt");
  GstHarness *h = harness_new ("lensclassify", "model", path, "labels", labels,
      "classifier-name", "colour", NULL);
  gchar *s = caps_str ("BGRx", 20, 10);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  const guint8 colours[3][4] = { {255, 0, 0, 0}, {0, 255, 0, 0}, {0, 0, 255,
          0}
  };
  const gchar *names[3] = { "red", "green", "blue" };
  for (guint i = 0; i < 3; i++) {
    GstBuffer *b = gst_harness_push_and_pull (h,
        make_frame (GST_VIDEO_FORMAT_BGRx, 20, 10, 0, colours[i]));
    GstVideoRegionOfInterestMeta *roi = find_roi (b, LENS_FULL_FRAME_ROI_TYPE);
    fail_unless (roi != NULL);
    fail_unless_equals_int (roi->w, 20);
    fail_unless_equals_int (roi->h, 10);
    fail_unless_equals_string (classification_label (roi, "colour"), names[i]);
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);
  g_free (labels);
  g_free (path);
}

GST_END_TEST;

GST_START_TEST (test_classify_roi_list_batches_selected_regions)
{
  gchar *det = model ("det_fixed.onnx");
  gchar *cls = model ("cls_tiny.onnx");
  gchar *labels = model ("labels.txt");
  gchar *desc = g_strdup_printf ("lensdetect model=\"%s\" labels=\"%s\" ! "
      "lensclassify name=c model=\"%s\" labels=\"%s\" inference-region=roi-list "
      "object-class=green,blue batch-size=3 nireq=2", det, labels, cls, labels);
  GstHarness *h = gst_harness_new_parse (desc);
  gchar *s = caps_str ("RGB", 64, 48);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  for (guint i = 0; i < 5; i++) {
    GstBuffer *in = make_rgb (64, 48, 0, 0, 255);
    GST_BUFFER_PTS (in) = i;
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  for (guint i = 0; i < 5; i++) {
    GstBuffer *b = gst_harness_pull (h);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), i);
    fail_unless_equals_string (classification_label (find_roi (b, "green"),
            "c"), "blue");
    fail_unless_equals_string (classification_label (find_roi (b, "blue"),
            "c"), "blue");
    fail_unless (find_roi (b, LENS_FULL_FRAME_ROI_TYPE) == NULL);
    LensLatencyMeta *lat = gst_buffer_get_lens_latency_meta (b);
    fail_unless (lat && lat->n_entries == 2);
    fail_unless_equals_string (lat->entries[1].element, "c");
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);

  /* object-class picks the regions */
  g_free (desc);
  desc = g_strdup_printf ("lensdetect model=\"%s\" labels=\"%s\" ! "
      "lensclassify name=c model=\"%s\" labels=\"%s\" inference-region=roi-list "
      "object-class=blue", det, labels, cls, labels);
  h = gst_harness_new_parse (desc);
  s = caps_str ("RGB", 64, 48);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  GstBuffer *b = gst_harness_push_and_pull (h, make_rgb (64, 48, 255, 0, 0));
  fail_unless (classification_label (find_roi (b, "green"), "c") == NULL);
  fail_unless_equals_string (classification_label (find_roi (b, "blue"), "c"),
      "red");
  gst_buffer_unref (b);
  gst_harness_teardown (h);
  g_free (desc);
  g_free (labels);
  g_free (cls);
  g_free (det);
}

GST_END_TEST;

GST_START_TEST (test_classify_flip_if_rotates_crop)
{
  gchar *side = model ("cls_side.onnx");
  gchar *labels = model ("sides.txt");
  gchar *desc = g_strdup_printf (
      "lensclassify model=\"%s\" labels=\"%s\" classifier-name=side ! "
      "lensclassify model=\"%s\" labels=\"%s\" classifier-name=flipped "
      "flip-if=side:left ! "
      "lensclassify model=\"%s\" labels=\"%s\" classifier-name=unflipped "
      "flip-if=side:right", side, labels, side, labels, side, labels);
  GstHarness *h = gst_harness_new_parse (desc);
  gchar *s = caps_str ("RGB", 32, 16);
  gst_harness_set_src_caps_str (h, s);
  g_free (s);
  GstBuffer *b = gst_harness_push_and_pull (h, make_left_white (32, 16));
  GstVideoRegionOfInterestMeta *roi = find_roi (b, LENS_FULL_FRAME_ROI_TYPE);
  fail_unless (roi != NULL);
  fail_unless_equals_int (count_rois (b), 1);
  fail_unless_equals_string (classification_label (roi, "side"), "left");
  fail_unless_equals_string (classification_label (roi, "flipped"), "right");
  fail_unless_equals_string (classification_label (roi, "unflipped"), "left");
  gst_buffer_unref (b);
  gst_harness_teardown (h);
  g_free (desc);
  g_free (labels);
  g_free (side);
}

GST_END_TEST;

/* ---- end to end ----------------------------------------------------------------------- */

static gint
compare_x (gconstpointer a, gconstpointer b)
{
  const GstVideoRegionOfInterestMeta *ra = *(GstVideoRegionOfInterestMeta **) a;
  const GstVideoRegionOfInterestMeta *rb = *(GstVideoRegionOfInterestMeta **) b;
  return (gint) ra->x - (gint) rb->x;
}

GST_START_TEST (test_e2e_ocr_reads_hello_world)
{
  gchar *det = g_build_filename (repo_root, "models", "real", "ppocr_det",
      "model.onnx", NULL);
  gchar *rec = g_build_filename (repo_root, "models", "real", "ppocr_rec",
      "model.onnx", NULL);
  gchar *keys = g_build_filename (repo_root, "models", "real", "ppocr_rec",
      "ppocr_keys_v1.txt", NULL);
  GstElementFactory *overlay = gst_element_factory_find ("textoverlay");
  if (!g_file_test (det, G_FILE_TEST_EXISTS)
      || !g_file_test (rec, G_FILE_TEST_EXISTS)
      || !g_file_test (keys, G_FILE_TEST_EXISTS) || !overlay) {
    g_print ("SKIP e2e: needs models/real (scripts/make_real_models.sh) and "
        "textoverlay (gstreamer1.0-x)\n");
    goto out;
  }
  gchar *desc = g_strdup_printf ("videotestsrc pattern=white num-buffers=1 ! "
      "video/x-raw,width=640,height=240 ! "
      "textoverlay text=\"HELLO WORLD\" font-desc=\"Sans 48\" ! "
      "lensdetect model=\"%s\" decoder=db ! "
      "lensclassify name=ocr model=\"%s\" decoder=ctc labels=\"%s\" "
      "inference-region=roi-list ! appsink name=out", det, rec, keys);
  GstElement *p = pipeline_new (desc);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "out");
  fail_unless (gst_element_set_state (p, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  GstSample *sample = NULL;
  g_signal_emit_by_name (sink, "pull-sample", &sample);
  fail_unless (sample != NULL, "no frame came out");
  GstBuffer *b = gst_sample_get_buffer (sample);

  GPtrArray *rois = g_ptr_array_new ();
  gpointer state = NULL;
  GstVideoRegionOfInterestMeta *roi;
  while ((roi = (GstVideoRegionOfInterestMeta *)
          gst_buffer_iterate_meta_filtered (b, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
    g_ptr_array_add (rois, roi);
  g_ptr_array_sort (rois, compare_x);
  GString *text = g_string_new (NULL);
  for (guint i = 0; i < rois->len; i++) {
    roi = g_ptr_array_index (rois, i);
    fail_unless_equals_string (g_quark_to_string (roi->roi_type), "text");
    GstStructure *d = gst_video_region_of_interest_meta_get_param (roi,
        LENS_DETECTION_STRUCTURE);
    fail_unless (d && gst_structure_has_field (d, "quad"));
    GstStructure *r = gst_video_region_of_interest_meta_get_param (roi, "ocr");
    fail_unless (r != NULL);
    g_string_append_printf (text, "%s%s", text->len ? " " : "",
        gst_structure_get_string (r, "text"));
  }
  g_print ("e2e: %u text regions read \"%s\"\n", rois->len, text->str);
  fail_unless_equals_string (text->str, "HELLO WORLD");
  LensLatencyMeta *lat = gst_buffer_get_lens_latency_meta (b);
  fail_unless (lat && lat->n_entries == 2);
  fail_unless (lat->entries[0].inference_ns > 0
      && lat->entries[1].inference_ns > 0);

  g_string_free (text, TRUE);
  g_ptr_array_unref (rois);
  gst_sample_unref (sample);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (p);
  g_free (desc);
out:
  if (overlay)
    gst_object_unref (overlay);
  g_free (keys);
  g_free (rec);
  g_free (det);
}

GST_END_TEST;

/* PaddleOCR's direction classifier marks the upside-down line, and flip-if makes the
 * recogniser read it the right way up (the same crop unflipped reads as garbage). */
GST_START_TEST (test_e2e_ocr_flip_if_reads_upside_down_text)
{
  gchar *det = g_build_filename (repo_root, "models", "real", "ppocr_det",
      "model.onnx", NULL);
  gchar *cls = g_build_filename (repo_root, "models", "real", "ppocr_cls",
      "model.onnx", NULL);
  gchar *rec = g_build_filename (repo_root, "models", "real", "ppocr_rec",
      "model.onnx", NULL);
  gchar *keys = g_build_filename (repo_root, "models", "real", "ppocr_rec",
      "ppocr_keys_v1.txt", NULL);
  gchar *angles = model ("angles.txt");
  GstElementFactory *overlay = gst_element_factory_find ("textoverlay");
  GstElementFactory *flip = gst_element_factory_find ("videoflip");
  if (!g_file_test (det, G_FILE_TEST_EXISTS)
      || !g_file_test (cls, G_FILE_TEST_EXISTS)
      || !g_file_test (rec, G_FILE_TEST_EXISTS)
      || !g_file_test (keys, G_FILE_TEST_EXISTS) || !overlay || !flip) {
    g_print ("SKIP e2e flip: needs models/real, textoverlay and videoflip\n");
    goto out;
  }
  gchar *desc = g_strdup_printf ("videotestsrc pattern=white num-buffers=1 ! "
      "video/x-raw,width=640,height=200 ! "
      "textoverlay text=\"Lens 2026\" font-desc=\"Sans 40\" ! videoconvert ! "
      "videoflip video-direction=180 ! videoconvert ! "
      "lensdetect model=\"%s\" ! "
      "lensclassify model=\"%s\" classifier-name=direction decoder=softmax "
      "labels=\"%s\" inference-region=roi-list resize=aspect-pad-right "
      "mean=127.5 scale=0.0078431 ! "
      "lensclassify model=\"%s\" classifier-name=ocr labels=\"%s\" "
      "inference-region=roi-list flip-if=direction:180 batch-size=2 ! "
      "lensclassify model=\"%s\" classifier-name=unflipped labels=\"%s\" "
      "inference-region=roi-list ! appsink name=out", det, cls, angles, rec,
      keys, rec, keys);
  GstElement *p = pipeline_new (desc);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "out");
  fail_unless (gst_element_set_state (p, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  GstSample *sample = NULL;
  g_signal_emit_by_name (sink, "pull-sample", &sample);
  fail_unless (sample != NULL, "no frame came out");
  GstBuffer *b = gst_sample_get_buffer (sample);
  fail_unless_equals_int (count_rois (b), 1);
  GstVideoRegionOfInterestMeta *roi = find_roi (b, "text");
  fail_unless (roi != NULL);
  fail_unless_equals_string (classification_label (roi, "direction"), "180");
  fail_unless_equals_string (classification_label (roi, "ocr"), "Lens 2026");
  fail_if (g_strcmp0 (classification_label (roi, "unflipped"),
          "Lens 2026") == 0);
  gst_sample_unref (sample);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (p);
  g_free (desc);
out:
  if (overlay)
    gst_object_unref (overlay);
  if (flip)
    gst_object_unref (flip);
  g_free (angles);
  g_free (keys);
  g_free (rec);
  g_free (cls);
  g_free (det);
}

GST_END_TEST;

static Suite *
infer_elements_suite (void)
{
  Suite *s = suite_create ("infer_elements");
  TCase *tc = tcase_create ("general");
  tcase_set_timeout (tc, 180);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_caps_accepted_and_refused);
  tcase_add_test (tc, test_caps_refused_for_non_image_model);
  tcase_add_test (tc, test_caps_change_midstream);
  tcase_add_test (tc, test_mean_and_scale_strings);
  tcase_add_test (tc, test_odd_sizes_and_padded_strides);
  tcase_add_test (tc, test_timestamps_flags_and_latency_preserved);
  tcase_add_test (tc, test_output_order_with_nireq_3);
  tcase_add_test (tc, test_eos_drains_partial_batch);
  tcase_add_test (tc, test_flush_discards_queued_frames);
  tcase_add_test (tc, test_state_cycles_with_buffers_flowing);
  tcase_add_test (tc, test_missing_model_posts_error);
  tcase_add_test (tc, test_corrupt_model_posts_error);
  tcase_add_test (tc, test_wrong_decoder_or_settings_post_errors);
  tcase_add_test (tc, test_device_fallback_warns);
  tcase_add_test (tc, test_model_instance_id_shares_model);
  tcase_add_test (tc, test_detect_boxes_in_frame_pixels);
  tcase_add_test (tc, test_absurd_model_outputs_clamped);
  tcase_add_test (tc, test_classify_full_frame);
  tcase_add_test (tc, test_classify_roi_list_batches_selected_regions);
  tcase_add_test (tc, test_classify_flip_if_rotates_crop);
  tcase_add_test (tc, test_e2e_ocr_reads_hello_world);
  tcase_add_test (tc, test_e2e_ocr_flip_if_reads_upside_down_text);
  return s;
}

static gboolean
generate_models (const gchar * script, const gchar * outdir)
{
  const gchar *python = g_getenv ("LENS_PYTHON");
  gchar *argv[] = { (gchar *) (python ? python : "/usr/bin/python3"),
    (gchar *) script, (gchar *) outdir, NULL
  };
  gint status = 0;
  GError *err = NULL;
  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
          &status, &err)) {
    g_printerr ("cannot run %s: %s\n", argv[0], err->message);
    g_error_free (err);
    return FALSE;
  }
  return g_spawn_check_wait_status (status, NULL);
}

int
main (int argc, char **argv)
{
  if (argc < 3) {
    g_printerr ("usage: %s REPO_ROOT MODELS_OUTDIR\n", argv[0]);
    return 2;
  }
  repo_root = g_strdup (argv[1]);
  models_dir = g_strdup (argv[2]);
  gchar *script = g_build_filename (repo_root, "scripts",
      "gen_gst_test_models.py", NULL);
  if (!generate_models (script, models_dir)) {
    g_print ("SKIP: %s could not write the test models (needs /usr/bin/python3 "
        "with python3-onnx and python3-numpy)\n", script);
    g_free (script);
    return 77;
  }
  g_free (script);

  /* the elements are linked in: keep an installed or built plugin from shadowing them */
  g_unsetenv ("GST_PLUGIN_PATH");
  gst_check_init (NULL, NULL);
  if (!GST_ELEMENT_REGISTER (lensinfer, NULL)
      || !GST_ELEMENT_REGISTER (lensdetect, NULL)
      || !GST_ELEMENT_REGISTER (lensclassify, NULL)) {
    g_printerr ("could not register the elements\n");
    return 1;
  }

  Suite *s = infer_elements_suite ();
  SRunner *sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  int run = srunner_ntests_run (sr);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  g_print ("%d passed, %d failed\n", run - failed, failed);
  g_free (repo_root);
  g_free (models_dir);
  return failed == 0 ? 0 : 1;
}
