/* lensfps: counts frames per stream, measures the real frame rate on the wall clock and
 * summarises the latency the Lens elements recorded on the buffers. */

/**
 * SECTION:element-lensfps
 * @title: lensfps
 *
 * A passthrough element that counts the frames of each stream (a stream is identified by
 * the stream-id of its STREAM_START event) and of all streams together, and every
 * #GstLensFps:interval seconds, and at EOS, reports:
 *
 * - frames and frames per second, measured with the monotonic clock between frames (so a
 *   live source reports its real rate, whatever its timestamps say): over the last window
 *   in periodic reports, over the whole run at EOS;
 * - frames dropped upstream: gaps in the timestamps longer than 1.5 frame durations, GAP
 *   events, discontinuities, and QoS events from downstream saying a frame was more than
 *   20 ms late (after which video sinks drop it);
 * - the latency breakdown from #LensLatencyMeta, per element and stage (preprocess, wait,
 *   inference, postprocess): mean, median and 99th percentile in milliseconds since the
 *   start, the percentiles over a bounded uniform sample of the frames.
 *
 * The report is printed (#GstLensFps:print) as lines that start with "lensfps <name>:",
 * and posted as an element message whose structure is named "lens-fps":
 * name (string), eos (boolean), frames (guint64), fps (double), average-fps (double),
 * dropped, dropped-timestamps, dropped-qos (guint64), streams (array of "stream"
 * structures: id, frames, fps, average-fps, dropped) and latency (array of "latency"
 * structures: element, stage, mean-ms, p50-ms, p99-ms, samples).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc is-live=true num-buffers=150 ! lensfps interval=1 ! fakesink
 * ]|
 * With inference:
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! lensdetect model=det.onnx ! lensfps name=det-fps ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lensmeta.h"

GST_DEBUG_CATEGORY_STATIC (gst_lens_fps_debug);
#define GST_CAT_DEFAULT gst_lens_fps_debug

#define GST_TYPE_LENS_FPS (gst_lens_fps_get_type ())
G_DECLARE_FINAL_TYPE (GstLensFps, gst_lens_fps, GST, LENS_FPS,
    GstBaseTransform);

#define DEFAULT_INTERVAL 1.0
#define DEFAULT_PRINT TRUE
#define DEFAULT_SILENT FALSE

/* Samples kept per element and stage for the percentiles (reservoir sampling). */
#define RESERVOIR_SIZE 1024
/* Distinct element names and streams tracked; more are folded into the last one. */
#define MAX_ELEMENTS 32
#define MAX_STREAMS 256
/* Video sinks drop frames later than their max-lateness, 20 ms by default. */
#define QOS_LATE_THRESHOLD (20 * GST_MSECOND)

enum
{
  PROP_0,
  PROP_INTERVAL,
  PROP_PRINT,
  PROP_SILENT,
  PROP_FPS,
  PROP_FRAMES,
};

enum
{
  STAGE_PREPROCESS,
  STAGE_WAIT,
  STAGE_INFERENCE,
  STAGE_POSTPROCESS,
  N_STAGES
};

static const gchar *const stage_names[N_STAGES] = {
  "preprocess", "wait", "inference", "postprocess"
};

typedef struct
{
  guint64 count;
  gdouble sum;
  guint n;
  gdouble *samples;             /* RESERVOIR_SIZE */
} Reservoir;

typedef struct
{
  gchar *element;
  Reservoir stage[N_STAGES];
} ElementLatency;

typedef struct
{
  gchar *id;
  guint64 frames;
  gint64 first_us, last_us;     /* monotonic time of the first and latest frame */
  gint64 window_start_us;       /* the frame the current window counts from */
  guint64 window_frames;        /* frames after that one */
  gdouble fps;                  /* last completed window */
  guint64 dropped_timestamps;
  guint64 dropped_qos;
  /* drop detection */
  GstClockTime last_pts;
  GstClockTime frame_duration;  /* from the caps' framerate */
  gboolean discont_expected;    /* after start, segment or flush */
} FpsCounter;

struct _GstLensFps
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  gdouble interval;
  gboolean print;
  gboolean silent;

  /* statistics, under stats_lock (QoS events arrive from downstream threads) */
  GMutex stats_lock;
  GPtrArray *streams;           /* FpsCounter* */
  FpsCounter *current;
  FpsCounter total;
  GPtrArray *latency;           /* ElementLatency* */
  GRand *rand;
  gint64 last_report_us;
  gdouble reported_fps;         /* for the "fps" property */
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

G_DEFINE_TYPE (GstLensFps, gst_lens_fps, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (lensfps, "lensfps", GST_RANK_NONE,
    GST_TYPE_LENS_FPS);

/* ---- statistics ---------------------------------------------------------------------- */

static void
reservoir_add (Reservoir * r, GRand * rand, gdouble value)
{
  r->count++;
  r->sum += value;
  if (!r->samples)
    r->samples = g_new (gdouble, RESERVOIR_SIZE);
  if (r->n < RESERVOIR_SIZE) {
    r->samples[r->n++] = value;
  } else {
    /* Algorithm R: every sample so far is kept with probability SIZE / count */
    guint64 j = (guint64) (g_rand_double (rand) * (gdouble) r->count);
    if (j < RESERVOIR_SIZE)
      r->samples[j] = value;
  }
}

static int
compare_doubles (const void *a, const void *b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles of the reservoir. */
static void
reservoir_percentiles (const Reservoir * r, gdouble * p50, gdouble * p99)
{
  gdouble *sorted;
  if (r->n == 0) {
    *p50 = *p99 = 0.0;
    return;
  }
  sorted = g_memdup2 (r->samples, r->n * sizeof (gdouble));
  qsort (sorted, r->n, sizeof (gdouble), compare_doubles);
  *p50 = sorted[(guint) MAX (ceil (0.50 * r->n), 1.0) - 1];
  *p99 = sorted[(guint) MAX (ceil (0.99 * r->n), 1.0) - 1];
  g_free (sorted);
}

static void
element_latency_free (ElementLatency * e)
{
  for (guint s = 0; s < N_STAGES; s++)
    g_free (e->stage[s].samples);
  g_free (e->element);
  g_free (e);
}

static void
counter_init (FpsCounter * c, const gchar * id)
{
  memset (c, 0, sizeof *c);
  c->id = g_strdup (id);
  c->last_pts = GST_CLOCK_TIME_NONE;
  c->frame_duration = GST_CLOCK_TIME_NONE;
  c->discont_expected = TRUE;
}

static void
counter_free (FpsCounter * c)
{
  g_free (c->id);
  g_free (c);
}

static void
counter_add_frame (FpsCounter * c, gint64 now)
{
  if (c->frames == 0) {
    c->first_us = now;
    c->window_start_us = now;
    c->window_frames = 0;
  } else {
    c->window_frames++;
  }
  c->last_us = now;
  c->frames++;
}

static gdouble
counter_window_fps (const FpsCounter * c)
{
  if (c->window_frames == 0 || c->last_us <= c->window_start_us)
    return 0.0;
  return c->window_frames * (gdouble) G_USEC_PER_SEC / (c->last_us -
      c->window_start_us);
}

static gdouble
counter_average_fps (const FpsCounter * c)
{
  if (c->frames < 2 || c->last_us <= c->first_us)
    return 0.0;
  return (c->frames - 1) * (gdouble) G_USEC_PER_SEC / (c->last_us -
      c->first_us);
}

static void
counter_close_window (FpsCounter * c)
{
  c->fps = counter_window_fps (c);
  c->window_start_us = c->last_us;
  c->window_frames = 0;
}

static guint64
counter_dropped (const FpsCounter * c)
{
  return c->dropped_timestamps + c->dropped_qos;
}

/* Frames missing in a jump of delta for frames of duration dur (0 when none). */
static guint64
frames_missing (GstClockTime delta, GstClockTime dur)
{
  if (!GST_CLOCK_TIME_IS_VALID (dur) || dur == 0 || delta <= dur + dur / 2)
    return 0;
  return (delta + dur / 2) / dur - 1;
}

/* The counter of a stream id, created when new. Called with the stats lock. */
static FpsCounter *
find_stream (GstLensFps * self, const gchar * id)
{
  FpsCounter *c;
  for (guint i = 0; i < self->streams->len; i++) {
    c = g_ptr_array_index (self->streams, i);
    if (g_strcmp0 (c->id, id) == 0)
      return c;
  }
  if (self->streams->len >= MAX_STREAMS)
    return g_ptr_array_index (self->streams, self->streams->len - 1);
  c = g_new (FpsCounter, 1);
  counter_init (c, id);
  g_ptr_array_add (self->streams, c);
  return c;
}

static FpsCounter *
current_stream (GstLensFps * self)
{
  if (!self->current) {
    /* no STREAM_START yet: name the stream after our sink pad */
    gchar *id = g_strdup_printf ("%s:sink", GST_OBJECT_NAME (self));
    self->current = find_stream (self, id);
    g_free (id);
  }
  return self->current;
}

static void
record_latency (GstLensFps * self, GstBuffer * buffer)
{
  LensLatencyMeta *meta = gst_buffer_get_lens_latency_meta (buffer);
  guint n = meta ? MIN (meta->n_entries, LENS_LATENCY_MAX_ENTRIES) : 0;

  for (guint i = 0; i < n; i++) {
    const LensLatencyEntry *entry = &meta->entries[i];
    ElementLatency *e = NULL;
    gchar name[sizeof entry->element + 1];
    guint64 ns[N_STAGES] = { entry->preprocess_ns, entry->wait_ns,
      entry->inference_ns, entry->postprocess_ns
    };

    memcpy (name, entry->element, sizeof entry->element);
    name[sizeof entry->element] = '\0';
    for (guint j = 0; j < self->latency->len && !e; j++) {
      ElementLatency *candidate = g_ptr_array_index (self->latency, j);
      if (strcmp (candidate->element, name) == 0)
        e = candidate;
    }
    if (!e) {
      if (self->latency->len >= MAX_ELEMENTS)
        continue;
      e = g_new0 (ElementLatency, 1);
      e->element = g_strdup (name);
      g_ptr_array_add (self->latency, e);
    }
    for (guint s = 0; s < N_STAGES; s++)
      reservoir_add (&e->stage[s], self->rand, ns[s] / 1e6);
  }
}

static void
stats_reset (GstLensFps * self)
{
  g_clear_pointer (&self->streams, g_ptr_array_unref);
  g_clear_pointer (&self->latency, g_ptr_array_unref);
  g_clear_pointer (&self->rand, g_rand_free);
  g_free (self->total.id);
  counter_init (&self->total, "total");
  self->current = NULL;
  self->last_report_us = 0;
  self->reported_fps = 0.0;
}

static void
stats_init (GstLensFps * self)
{
  stats_reset (self);
  self->streams =
      g_ptr_array_new_with_free_func ((GDestroyNotify) counter_free);
  self->latency = g_ptr_array_new_with_free_func ((GDestroyNotify)
      element_latency_free);
  /* a fixed seed: the same run gives the same percentiles */
  self->rand = g_rand_new_with_seed (0x1e45f95);
}

/* ---- reports ------------------------------------------------------------------------- */

static GstStructure *
counter_structure (const FpsCounter * c, const gchar * name, gboolean eos)
{
  gdouble average = counter_average_fps (c);
  return gst_structure_new (name,
      "id", G_TYPE_STRING, c->id,
      "frames", G_TYPE_UINT64, c->frames,
      "fps", G_TYPE_DOUBLE, eos ? average : c->fps,
      "average-fps", G_TYPE_DOUBLE, average,
      "dropped", G_TYPE_UINT64, counter_dropped (c), NULL);
}

static void
append_structure (GValue * array, GstStructure * s)
{
  GValue v = G_VALUE_INIT;
  g_value_init (&v, GST_TYPE_STRUCTURE);
  gst_value_set_structure (&v, s);
  gst_value_array_append_value (array, &v);
  g_value_unset (&v);
  gst_structure_free (s);
}

static void
print_counter (GString * out, const gchar * prefix, const gchar * what,
    const FpsCounter * c, gboolean eos)
{
  g_string_append_printf (out,
      "%s%s: %.2f fps, %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
      " dropped", prefix, what, eos ? counter_average_fps (c) : c->fps,
      c->frames, counter_dropped (c));
  if (!eos)
    g_string_append_printf (out, " (average %.2f fps)",
        counter_average_fps (c));
  g_string_append_c (out, '\n');
}

/* Builds the report (message structure and text) and closes the windows. Called with the
 * stats lock. */
static GstStructure *
build_report (GstLensFps * self, gboolean eos, GString * text)
{
  const gchar *name = GST_OBJECT_NAME (self);
  gchar *prefix = g_strdup_printf ("lensfps %s: %s", name, eos ? "EOS: " : "");
  GValue streams = G_VALUE_INIT, latency = G_VALUE_INIT;
  guint64 dropped_ts = 0, dropped_qos = 0;
  GstStructure *report;

  for (guint i = 0; i < self->streams->len; i++) {
    FpsCounter *c = g_ptr_array_index (self->streams, i);
    dropped_ts += c->dropped_timestamps;
    dropped_qos += c->dropped_qos;
  }
  self->total.dropped_timestamps = dropped_ts;
  self->total.dropped_qos = dropped_qos;

  for (guint i = 0; i < self->streams->len; i++)
    counter_close_window (g_ptr_array_index (self->streams, i));
  counter_close_window (&self->total);
  self->reported_fps = eos ? counter_average_fps (&self->total) :
      self->total.fps;

  g_value_init (&streams, GST_TYPE_ARRAY);
  for (guint i = 0; i < self->streams->len; i++) {
    FpsCounter *c = g_ptr_array_index (self->streams, i);
    append_structure (&streams, counter_structure (c, "stream", eos));
    /* one stream: the total says it all */
    if (self->streams->len > 1) {
      gchar *what = g_strdup_printf ("stream \"%s\"", c->id);
      print_counter (text, prefix, what, c, eos);
      g_free (what);
    }
  }
  print_counter (text, prefix, "total", &self->total, eos);

  g_value_init (&latency, GST_TYPE_ARRAY);
  for (guint i = 0; i < self->latency->len; i++) {
    ElementLatency *e = g_ptr_array_index (self->latency, i);
    g_string_append_printf (text, "%slatency %s:", prefix, e->element);
    for (guint s = 0; s < N_STAGES; s++) {
      const Reservoir *r = &e->stage[s];
      gdouble mean = r->count ? r->sum / r->count : 0.0, p50, p99;
      reservoir_percentiles (r, &p50, &p99);
      g_string_append_printf (text, "%s %s mean %.2f p50 %.2f p99 %.2f ms",
          s ? ";" : "", stage_names[s], mean, p50, p99);
      append_structure (&latency, gst_structure_new ("latency",
              "element", G_TYPE_STRING, e->element,
              "stage", G_TYPE_STRING, stage_names[s],
              "mean-ms", G_TYPE_DOUBLE, mean,
              "p50-ms", G_TYPE_DOUBLE, p50,
              "p99-ms", G_TYPE_DOUBLE, p99,
              "samples", G_TYPE_UINT64, r->count, NULL));
    }
    g_string_append_c (text, '\n');
  }

  report = gst_structure_new ("lens-fps",
      "name", G_TYPE_STRING, name,
      "eos", G_TYPE_BOOLEAN, eos,
      "frames", G_TYPE_UINT64, self->total.frames,
      "fps", G_TYPE_DOUBLE, self->reported_fps,
      "average-fps", G_TYPE_DOUBLE, counter_average_fps (&self->total),
      "dropped", G_TYPE_UINT64, dropped_ts + dropped_qos,
      "dropped-timestamps", G_TYPE_UINT64, dropped_ts,
      "dropped-qos", G_TYPE_UINT64, dropped_qos, NULL);
  gst_structure_take_value (report, "streams", &streams);
  gst_structure_take_value (report, "latency", &latency);
  g_free (prefix);
  return report;
}

static void
report (GstLensFps * self, gboolean eos)
{
  GString *text = g_string_new (NULL);
  GstStructure *s;
  gboolean print, silent;

  GST_OBJECT_LOCK (self);
  print = self->print;
  silent = self->silent;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->stats_lock);
  s = build_report (self, eos, text);
  g_mutex_unlock (&self->stats_lock);

  GST_INFO_OBJECT (self, "%s", text->str);
  if (print && !silent)
    g_print ("%s", text->str);
  if (!silent)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  else
    gst_structure_free (s);
  g_string_free (text, TRUE);
}

/* ---- the element --------------------------------------------------------------------- */

static void
gst_lens_fps_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstLensFps *self = GST_LENS_FPS (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_INTERVAL:
      self->interval = g_value_get_double (value);
      break;
    case PROP_PRINT:
      self->print = g_value_get_boolean (value);
      break;
    case PROP_SILENT:
      self->silent = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lens_fps_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstLensFps *self = GST_LENS_FPS (object);

  switch (prop_id) {
    case PROP_INTERVAL:
      GST_OBJECT_LOCK (self);
      g_value_set_double (value, self->interval);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_PRINT:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->print);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SILENT:
      GST_OBJECT_LOCK (self);
      g_value_set_boolean (value, self->silent);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_FPS:
      g_mutex_lock (&self->stats_lock);
      g_value_set_double (value, self->reported_fps);
      g_mutex_unlock (&self->stats_lock);
      break;
    case PROP_FRAMES:
      g_mutex_lock (&self->stats_lock);
      g_value_set_uint64 (value, self->total.frames);
      g_mutex_unlock (&self->stats_lock);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_lens_fps_finalize (GObject * object)
{
  GstLensFps *self = GST_LENS_FPS (object);

  stats_reset (self);
  g_free (self->total.id);
  g_mutex_clear (&self->stats_lock);
  G_OBJECT_CLASS (gst_lens_fps_parent_class)->finalize (object);
}

static gboolean
gst_lens_fps_start (GstBaseTransform * trans)
{
  GstLensFps *self = GST_LENS_FPS (trans);

  g_mutex_lock (&self->stats_lock);
  stats_init (self);
  g_mutex_unlock (&self->stats_lock);
  return TRUE;
}

static gboolean
gst_lens_fps_stop (GstBaseTransform * trans)
{
  GstLensFps *self = GST_LENS_FPS (trans);

  g_mutex_lock (&self->stats_lock);
  stats_init (self);
  g_mutex_unlock (&self->stats_lock);
  return TRUE;
}

static gboolean
gst_lens_fps_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstLensFps *self = GST_LENS_FPS (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_STREAM_START:{
      const gchar *id = NULL;
      gst_event_parse_stream_start (event, &id);
      g_mutex_lock (&self->stats_lock);
      if (id)
        self->current = find_stream (self, id);
      current_stream (self)->discont_expected = TRUE;
      current_stream (self)->last_pts = GST_CLOCK_TIME_NONE;
      g_mutex_unlock (&self->stats_lock);
      break;
    }
    case GST_EVENT_CAPS:{
      GstCaps *caps = NULL;
      gint n = 0, d = 0;
      GstClockTime duration = GST_CLOCK_TIME_NONE;
      gst_event_parse_caps (event, &caps);
      if (caps && gst_caps_get_size (caps) > 0
          && gst_structure_get_fraction (gst_caps_get_structure (caps, 0),
              "framerate", &n, &d) && n > 0 && d > 0)
        duration = gst_util_uint64_scale_int (GST_SECOND, d, n);
      g_mutex_lock (&self->stats_lock);
      current_stream (self)->frame_duration = duration;
      g_mutex_unlock (&self->stats_lock);
      break;
    }
    case GST_EVENT_SEGMENT:
    case GST_EVENT_FLUSH_STOP:
      g_mutex_lock (&self->stats_lock);
      current_stream (self)->discont_expected = TRUE;
      current_stream (self)->last_pts = GST_CLOCK_TIME_NONE;
      g_mutex_unlock (&self->stats_lock);
      break;
    case GST_EVENT_GAP:{
      GstClockTime ts, duration;
      FpsCounter *c;
      gst_event_parse_gap (event, &ts, &duration);
      g_mutex_lock (&self->stats_lock);
      c = current_stream (self);
      if (GST_CLOCK_TIME_IS_VALID (duration)
          && GST_CLOCK_TIME_IS_VALID (c->frame_duration)
          && c->frame_duration > 0) {
        c->dropped_timestamps +=
            MAX ((duration + c->frame_duration / 2) / c->frame_duration, 1);
      } else {
        c->dropped_timestamps++;
      }
      /* the frame after the gap is on time */
      if (GST_CLOCK_TIME_IS_VALID (ts) && GST_CLOCK_TIME_IS_VALID (duration)
          && GST_CLOCK_TIME_IS_VALID (c->frame_duration)
          && ts + duration >= c->frame_duration)
        c->last_pts = ts + duration - c->frame_duration;
      else
        c->last_pts = GST_CLOCK_TIME_NONE;
      g_mutex_unlock (&self->stats_lock);
      break;
    }
    case GST_EVENT_EOS:
      report (self, TRUE);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_lens_fps_parent_class)->sink_event
      (trans, event);
}

static gboolean
gst_lens_fps_src_event (GstBaseTransform * trans, GstEvent * event)
{
  GstLensFps *self = GST_LENS_FPS (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_QOS) {
    GstQOSType type;
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime timestamp;
    gst_event_parse_qos (event, &type, &proportion, &diff, &timestamp);
    if (type != GST_QOS_TYPE_THROTTLE && diff > (GstClockTimeDiff)
        QOS_LATE_THRESHOLD) {
      g_mutex_lock (&self->stats_lock);
      current_stream (self)->dropped_qos++;
      g_mutex_unlock (&self->stats_lock);
    }
  }
  return GST_BASE_TRANSFORM_CLASS (gst_lens_fps_parent_class)->src_event (trans,
      event);
}

static GstFlowReturn
gst_lens_fps_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstLensFps *self = GST_LENS_FPS (trans);
  gint64 now = g_get_monotonic_time ();
  GstClockTime pts = GST_BUFFER_PTS (buffer);
  gboolean due = FALSE;
  gdouble interval;
  FpsCounter *c;
  guint64 missing = 0;

  GST_OBJECT_LOCK (self);
  interval = self->interval;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->stats_lock);
  c = current_stream (self);
  if (GST_CLOCK_TIME_IS_VALID (pts) && GST_CLOCK_TIME_IS_VALID (c->last_pts)
      && pts > c->last_pts) {
    GstClockTime dur = GST_BUFFER_DURATION_IS_VALID (buffer) ?
        GST_BUFFER_DURATION (buffer) : c->frame_duration;
    missing = frames_missing (pts - c->last_pts, dur);
  }
  if (missing == 0 && !c->discont_expected
      && GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DISCONT))
    missing = 1;
  c->dropped_timestamps += missing;
  c->discont_expected = FALSE;
  if (GST_CLOCK_TIME_IS_VALID (pts))
    c->last_pts = pts;

  counter_add_frame (c, now);
  counter_add_frame (&self->total, now);
  record_latency (self, buffer);

  if (self->last_report_us == 0)
    self->last_report_us = now;
  else if (interval > 0.0 && now - self->last_report_us >=
      (gint64) (interval * G_USEC_PER_SEC)) {
    self->last_report_us = now;
    due = TRUE;
  }
  g_mutex_unlock (&self->stats_lock);

  if (due)
    report (self, FALSE);
  return GST_FLOW_OK;
}

static void
gst_lens_fps_class_init (GstLensFpsClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_lens_fps_debug, "lensfps", 0,
      "Lens frame rate and latency");

  gobject_class->set_property = gst_lens_fps_set_property;
  gobject_class->get_property = gst_lens_fps_get_property;
  gobject_class->finalize = gst_lens_fps_finalize;

  g_object_class_install_property (gobject_class, PROP_INTERVAL,
      g_param_spec_double ("interval", "Interval",
          "Seconds between reports (0: report only at EOS)", 0.0, 3600.0,
          DEFAULT_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_PRINT,
      g_param_spec_boolean ("print", "Print",
          "Print the reports to stdout (lines start with \"lensfps <name>:\")",
          DEFAULT_PRINT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SILENT,
      g_param_spec_boolean ("silent", "Silent",
          "Neither print reports nor post \"lens-fps\" messages (the fps and "
          "frames properties still update)", DEFAULT_SILENT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_FPS,
      g_param_spec_double ("fps", "FPS",
          "Frames per second of all streams in the last report (over the "
          "whole run after EOS)", 0.0, G_MAXDOUBLE, 0.0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_FRAMES,
      g_param_spec_uint64 ("frames", "Frames",
          "Frames of all streams counted since the element started", 0,
          G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Lens FPS",
      "Filter/Analyzer/Video",
      "Measures frames per second, dropped frames and the latency of each "
      "Lens element per stream", "Lens");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_lens_fps_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_lens_fps_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_lens_fps_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_lens_fps_src_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_lens_fps_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;
}

static void
gst_lens_fps_init (GstLensFps * self)
{
  self->interval = DEFAULT_INTERVAL;
  self->print = DEFAULT_PRINT;
  self->silent = DEFAULT_SILENT;
  g_mutex_init (&self->stats_lock);
  stats_init (self);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}
