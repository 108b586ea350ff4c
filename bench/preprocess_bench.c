/* Benchmark (not a test): lens_preprocess_frame() on a synthetic 1920x1080 NV12 frame into a
 * 640x640 float32 tensor, against GStreamer's videoconvertscale doing 1080p NV12 -> 640x640
 * RGB, in the same run. videoconvertscale is timed per buffer between pad probes on its sink
 * and src pads (the time its chain function spends converting, allocation included), so the
 * source and sink cost nothing in the comparison. Both run on one thread (videoconvertscale's
 * default n-threads=1) and alternate in rounds, so that a machine whose load changes
 * during the run affects both alike; the medians and minimums are over all rounds.
 *
 * usage: preprocess_bench [N [ROUNDS]]    (default 200 frames in 5 rounds) */
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "preprocess.h"

#define SRC_W 1920
#define SRC_H 1080
#define DST_W 640
#define DST_H 640

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static gint
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gdouble
median_ms (GArray * samples)
{
  if (samples->len == 0)
    return 0.0;
  g_array_sort (samples, compare_gint64);
  return g_array_index (samples, gint64, samples->len / 2) / 1e6;
}

static gdouble
min_ms (GArray * samples)
{
  if (samples->len == 0)
    return 0.0;
  g_array_sort (samples, compare_gint64);
  return g_array_index (samples, gint64, 0) / 1e6;
}

/* A frame with smooth gradients and some noise, so nothing is constant. */
static GstBuffer *
make_frame (GstVideoFormat format, GstVideoInfo * info)
{
  GstBuffer *buf;
  GstMapInfo map;
  guint32 seed = 12345;
  gsize i;

  gst_video_info_set_format (info, format, SRC_W, SRC_H);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (i = 0; i < map.size; i++) {
    seed = seed * 1664525u + 1013904223u;
    map.data[i] = (guint8) ((i / 7) + (seed >> 29));
  }
  gst_buffer_unmap (buf, &map);
  return buf;
}

/* Appends the times of runs conversions to samples. */
static void
bench_ours (GstVideoFormat format, LensResizeMode resize,
    LensTensorLayout layout, gint runs, GArray * samples)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  GstBuffer *buf = make_frame (format, &info);
  LensPreprocessParams params;
  LensPreprocessTransform tr;
  gfloat *dst = g_new (gfloat, (gsize) DST_W * DST_H * 3);
  GError *err = NULL;
  gint i;

  lens_preprocess_params_init (&params);
  params.width = DST_W;
  params.height = DST_H;
  params.resize = resize;
  params.layout = layout;
  gst_video_frame_map (&frame, &info, buf, GST_MAP_READ);
  for (i = -3; i < runs; i++) {
    gint64 t0 = now_ns (), dt;
    if (!lens_preprocess_frame (&frame, NULL, &params, dst, &tr, &err)) {
      g_printerr ("lens_preprocess_frame: %s\n", err->message);
      exit (1);
    }
    dt = now_ns () - t0;
    if (i >= 0)
      g_array_append_val (samples, dt);
  }
  gst_video_frame_unmap (&frame);
  g_free (dst);
  gst_buffer_unref (buf);
}

static gdouble
bench_ours_median (GstVideoFormat format, LensResizeMode resize,
    LensTensorLayout layout, gint runs)
{
  GArray *samples = g_array_new (FALSE, FALSE, sizeof (gint64));
  gdouble ms;

  bench_ours (format, resize, layout, runs, samples);
  ms = median_ms (samples);
  g_array_unref (samples);
  return ms;
}

typedef struct
{
  gint64 t_in;
  GArray *samples;
} ProbeTimes;

static GstPadProbeReturn
on_sink_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  ((ProbeTimes *) user_data)->t_in = now_ns ();
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
on_src_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  ProbeTimes *pt = user_data;
  gint64 dt = now_ns () - pt->t_in;

  g_array_append_val (pt->samples, dt);
  return GST_PAD_PROBE_OK;
}

/* Appends the per-frame times of videoconvertscale to samples; FALSE if it failed. */
static gboolean
bench_videoconvertscale (gint frames, GArray * samples)
{
  gchar *desc;
  GstElement *pipeline, *conv;
  GstPad *sink, *src;
  GstBus *bus;
  GstMessage *msg;
  GError *err = NULL;
  ProbeTimes pt = { 0, NULL };
  gboolean ok = FALSE;

  desc = g_strdup_printf ("videotestsrc num-buffers=%d pattern=smpte ! "
      "video/x-raw,format=NV12,width=%d,height=%d,framerate=30/1 ! "
      "videoconvertscale name=conv ! "
      "video/x-raw,format=RGB,width=%d,height=%d ! fakesink", frames + 3,
      SRC_W, SRC_H, DST_W, DST_H);
  pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  if (pipeline == NULL) {
    g_printerr ("cannot build the videoconvertscale pipeline: %s\n",
        err->message);
    g_clear_error (&err);
    return FALSE;
  }
  conv = gst_bin_get_by_name (GST_BIN (pipeline), "conv");
  sink = gst_element_get_static_pad (conv, "sink");
  src = gst_element_get_static_pad (conv, "src");
  pt.samples = g_array_new (FALSE, FALSE, sizeof (gint64));
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER, on_sink_buffer, &pt,
      NULL);
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_BUFFER, on_src_buffer, &pt, NULL);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (msg, &err, NULL);
    g_printerr ("videoconvertscale pipeline failed: %s\n", err->message);
    g_clear_error (&err);
  } else if (pt.samples->len > 3) {
    /* the first frames include the converter's lazy setup */
    g_array_append_vals (samples, &g_array_index (pt.samples, gint64, 3),
        pt.samples->len - 3);
    ok = TRUE;
  }
  if (msg)
    gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (src);
  gst_object_unref (conv);
  gst_object_unref (pipeline);
  g_array_unref (pt.samples);
  return ok;
}

int
main (int argc, char **argv)
{
  gint n = 200, rounds = 5, per_round, r;
  GArray *ours = g_array_new (FALSE, FALSE, sizeof (gint64));
  GArray *theirs = g_array_new (FALSE, FALSE, sizeof (gint64));
  gboolean gst_ok = TRUE;
  gdouble ours_med, ours_min, theirs_med, theirs_min;

  gst_init (&argc, &argv);
  if (argc > 1)
    n = MAX (atoi (argv[1]), 1);
  if (argc > 2)
    rounds = CLAMP (atoi (argv[2]), 1, n);
  per_round = MAX (n / rounds, 1);

  for (r = 0; r < rounds; r++) {
    gst_ok &= bench_videoconvertscale (per_round, theirs);
    bench_ours (GST_VIDEO_FORMAT_NV12, LENS_RESIZE_STRETCH, LENS_LAYOUT_NCHW,
        per_round, ours);
  }
  ours_med = median_ms (ours);
  ours_min = min_ms (ours);
  theirs_med = median_ms (theirs);
  theirs_min = min_ms (theirs);

  g_print ("%dx%d NV12 -> %dx%d, %d frames each in %d alternating rounds, "
      "1 thread, lens kernels: %s\n", SRC_W, SRC_H, DST_W, DST_H,
      per_round * rounds, rounds, lens_preprocess_kernels ());
  g_print ("                                          median      min\n");
  if (gst_ok)
    g_print ("  videoconvertscale  -> RGB u8         %8.3f %8.3f ms/frame\n",
        theirs_med, theirs_min);
  else
    g_print ("  videoconvertscale  (pipeline failed)\n");
  g_print ("  lens_preprocess    -> NCHW f32       %8.3f %8.3f ms/frame\n",
      ours_med, ours_min);
  if (gst_ok && ours_med > 0.0 && ours_min > 0.0)
    g_print ("  speed-up                             %8.2f %8.2f x\n",
        theirs_med / ours_med, theirs_min / ours_min);

  g_print ("other cases of lens_preprocess_frame (median):\n");
  g_print ("  NV12 -> NHWC f32 stretch             %8.3f ms/frame\n",
      bench_ours_median (GST_VIDEO_FORMAT_NV12, LENS_RESIZE_STRETCH,
          LENS_LAYOUT_NHWC, per_round));
  g_print ("  NV12 -> NCHW f32 letterbox           %8.3f ms/frame\n",
      bench_ours_median (GST_VIDEO_FORMAT_NV12, LENS_RESIZE_LETTERBOX,
          LENS_LAYOUT_NCHW, per_round));
  g_print ("  I420 -> NCHW f32 crop                %8.3f ms/frame\n",
      bench_ours_median (GST_VIDEO_FORMAT_I420, LENS_RESIZE_CROP,
          LENS_LAYOUT_NCHW, per_round));
  g_print ("  BGRx -> NCHW f32 stretch             %8.3f ms/frame\n",
      bench_ours_median (GST_VIDEO_FORMAT_BGRx, LENS_RESIZE_STRETCH,
          LENS_LAYOUT_NCHW, per_round));
  g_print ("  RGB  -> NCHW f32 stretch             %8.3f ms/frame\n",
      bench_ours_median (GST_VIDEO_FORMAT_RGB, LENS_RESIZE_STRETCH,
          LENS_LAYOUT_NCHW, per_round));

  g_array_unref (ours);
  g_array_unref (theirs);
  return gst_ok ? 0 : 1;
}
