/* GstLensBase: the shared machinery of lensinfer, lensdetect and lensclassify.
 *
 * Data flow. The streaming thread (chain) preprocesses each frame, or each region the
 * subclass picks, straight into the float input of the open job (a batch of up to
 * batch-size items) and queues the frame on the output queue. A full job goes to the job
 * queue, where one of nireq worker threads takes it, takes a session from the model
 * registry, runs it (in requests of the model's bound batch), and lets the subclass turn
 * each item's outputs into metadata. The source-pad task pushes the head of the output
 * queue — buffers once all their items are done, serialized events as they come — so
 * output order is input order whatever order the workers finish in.
 *
 * Bounds: at most max_buffers frames are queued; a chain that would exceed it first
 * submits the open (partial) job, then waits. EOS and serialized queries submit the
 * partial job too, so nothing stays behind.
 *
 * Locks: priv->lock protects the queues, counters and flags (one condition variable,
 * always broadcast); priv->meta_lock serialises process_item so workers never write the
 * metadata of the same buffer at once. The open job belongs to the streaming thread. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstlensbase.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lensmeta.h"

GST_DEBUG_CATEGORY_STATIC (gst_lens_base_debug);
#define GST_CAT_DEFAULT gst_lens_base_debug

#define LENS_CAPS \
  GST_VIDEO_CAPS_MAKE ("{ RGB, BGR, RGBx, BGRx, RGBA, BGRA, NV12, I420 }")

/* The largest input tensor a job may hold (all batch items), in bytes. */
#define LENS_MAX_JOB_BYTES (G_GUINT64_CONSTANT (1) << 31)
/* The largest spatial size we accept for a model input. */
#define LENS_MAX_INPUT_SIDE 16384

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (LENS_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (LENS_CAPS));

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_LABELS,
  PROP_DEVICE,
  PROP_NTHREADS,
  PROP_BATCH_SIZE,
  PROP_NIREQ,
  PROP_INFERENCE_INTERVAL,
  PROP_MODEL_INSTANCE_ID,
  PROP_RESIZE,
  PROP_COLOR_ORDER,
  PROP_MEAN,
  PROP_SCALE,
  PROP_INPUT_WIDTH,
  PROP_INPUT_HEIGHT,
};

#define DEFAULT_DEVICE "cpu"
#define DEFAULT_NTHREADS 0
#define DEFAULT_BATCH_SIZE 1
#define DEFAULT_NIREQ 1
#define DEFAULT_INTERVAL 1
#define DEFAULT_RESIZE GST_LENS_RESIZE_AUTO
#define DEFAULT_COLOR_ORDER LENS_CHANNELS_RGB

/* A buffer (or serialized event) on its way through the element. */
typedef struct
{
  GstBuffer *buffer;
  GstEvent *event;
  GstVideoInfo info;
  gboolean inferred;
  gboolean sealed;              /* all its items are queued */
  guint pending;                /* items not yet processed */
  guint64 preprocess_ns, wait_ns, inference_ns, postprocess_ns;
} LensFrame;

typedef struct
{
  LensFrame *frame;
  GstLensRegion region;
  LensPreprocessTransform transform;
  guint64 queued_at;
  guint64 postprocess_ns;
} LensJobItem;

typedef struct
{
  guint n_items;
  LensJobItem *items;           /* capacity: batch_size */
  gfloat *input;                /* capacity: batch_size items, rounded up to requests */
  guint64 *request_ns;          /* per request: time in lens_session_run */
  guint64 started_at;
} LensJob;

typedef struct
{
  GstPad *sinkpad, *srcpad;

  /* properties, under the object lock */
  gchar *model, *labels, *device, *instance_id, *mean, *scale;
  gint nthreads, batch_size, nireq, interval, input_width, input_height;
  GstLensResize resize;
  LensChannelOrder color_order;
  lens_decoder_kind decoder;

  /* running configuration: written in start(), read-only until stop() */
  gchar *model_path;
  LensModelPoolEntry *entry;
  gchar *input_error;           /* why the model cannot take video; NULL if it can */
  lens_decoder_kind decoder_kind;
  gchar **labels_v;
  gsize n_labels;
  LensPreprocessParams pp;
  gboolean pad_right;
  gint job_capacity;            /* items per job (batch-size) */
  gint request_batch;           /* items per lens_session_run */
  gint64 input_dims[4];
  gsize item_floats;
  gsize n_outputs;
  guint run_interval;
  guint max_buffers;
  GThread **workers;
  guint n_workers;

  /* streaming thread only */
  GstVideoInfo info;
  gboolean have_info;
  guint64 frame_count;
  gint fps_n, fps_d;            /* also under the object lock, for latency queries */
  LensJob *open_job;
  gfloat *scratch;
  gsize scratch_floats;

  GMutex lock;
  GCond cond;
  GQueue out_queue;             /* LensFrame */
  guint n_buffers_queued;
  GQueue jobs;                  /* LensJob ready to run */
  GQueue free_jobs;
  guint jobs_running;
  gboolean flushing;
  gboolean quit;
  GstFlowReturn srcresult;

  GMutex meta_lock;
} GstLensBasePrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (GstLensBase, gst_lens_base,
    GST_TYPE_ELEMENT);

#define PRIV(self) ((GstLensBasePrivate *) gst_lens_base_get_instance_private (self))

/* ---- enums ---------------------------------------------------------------------------- */

GType
gst_lens_decoder_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {LENS_DECODER_AUTO, "Choose from the output shapes", "auto"},
    {LENS_DECODER_SSD, "SSD: boxes + scores, or [1,1,N,7] detection output", "ssd"},
    {LENS_DECODER_YOLOV5, "YOLOv5 [1,N,5+C]", "yolov5"},
    {LENS_DECODER_YOLOV8, "YOLOv8/v11 [1,4+C,N]", "yolov8"},
    {LENS_DECODER_DB, "DB text detection probability map (PaddleOCR det)", "db"},
    {LENS_DECODER_CTC, "CTC text recognition (PaddleOCR rec)", "ctc"},
    {LENS_DECODER_SOFTMAX, "Softmax/argmax classification", "softmax"},
    {LENS_DECODER_RAW, "No decoding", "raw"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstLensDecoder", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_lens_resize_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_LENS_RESIZE_AUTO,
        "By decoder: db letterbox, ctc aspect-pad-right, others stretch", "auto"},
    {GST_LENS_RESIZE_STRETCH, "Scale each axis to fill the input", "stretch"},
    {GST_LENS_RESIZE_LETTERBOX, "Keep the aspect ratio, pad the borders",
        "letterbox"},
    {GST_LENS_RESIZE_CROP, "Keep the aspect ratio, crop to cover", "crop"},
    {GST_LENS_RESIZE_ASPECT_PAD_RIGHT,
          "Keep the aspect ratio, fill the height, pad the right with zeros "
          "(text recognisers)", "aspect-pad-right"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstLensResize", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define GST_TYPE_LENS_COLOR_ORDER (gst_lens_color_order_get_type ())
static GType
gst_lens_color_order_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {LENS_CHANNELS_RGB, "RGB", "rgb"},
    {LENS_CHANNELS_BGR, "BGR", "bgr"},
    {0, NULL, NULL}
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstLensColorOrder", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ---- frames and jobs ------------------------------------------------------------------ */

static void
frame_free (LensFrame * frame)
{
  if (frame->buffer)
    gst_buffer_unref (frame->buffer);
  if (frame->event)
    gst_event_unref (frame->event);
  g_free (frame);
}

static void
job_free (LensJob * job)
{
  g_free (job->items);
  g_free (job->input);
  g_free (job->request_ns);
  g_free (job);
}

/* Streaming thread. NULL when the memory is not there. */
static LensJob *
job_get (GstLensBase * self)
{
  GstLensBasePrivate *priv = PRIV (self);
  g_mutex_lock (&priv->lock);
  LensJob *job = g_queue_pop_head (&priv->free_jobs);
  g_mutex_unlock (&priv->lock);
  if (job) {
    job->n_items = 0;
    return job;
  }
  gsize cap = (gsize) priv->job_capacity;
  gsize requests = (cap + priv->request_batch - 1) / priv->request_batch;
  gsize slots = requests * priv->request_batch;
  job = g_new0 (LensJob, 1);
  job->items = g_new0 (LensJobItem, cap);
  job->request_ns = g_new0 (guint64, requests);
  job->input = g_try_new (gfloat, slots * priv->item_floats);
  if (!job->input) {
    job_free (job);
    return NULL;
  }
  return job;
}

/* Hands the open job to the workers (streaming thread). */
static void
submit_open_job (GstLensBase * self)
{
  GstLensBasePrivate *priv = PRIV (self);
  LensJob *job = priv->open_job;
  if (!job || job->n_items == 0)
    return;
  /* a short last request runs with zeros in the unused slots */
  gsize n = job->n_items;
  gsize rb = (gsize) priv->request_batch;
  gsize slots = (n + rb - 1) / rb * rb;
  if (slots > n)
    memset (job->input + n * priv->item_floats, 0,
        (slots - n) * priv->item_floats * sizeof (gfloat));
  priv->open_job = NULL;
  g_mutex_lock (&priv->lock);
  g_queue_push_tail (&priv->jobs, job);
  g_cond_broadcast (&priv->cond);
  g_mutex_unlock (&priv->lock);
}

/* Under priv->lock, with no job running: drops everything queued. */
static void
clear_queues_locked (GstLensBase * self)
{
  GstLensBasePrivate *priv = PRIV (self);
  LensJob *job;
  LensFrame *frame;
  while ((job = g_queue_pop_head (&priv->jobs)))
    g_queue_push_tail (&priv->free_jobs, job);
  if (priv->open_job) {
    g_queue_push_tail (&priv->free_jobs, priv->open_job);
    priv->open_job = NULL;
  }
  while ((frame = g_queue_pop_head (&priv->out_queue))) {
    /* sticky events not pushed yet still describe the stream: keep them on the pad so
     * they go out before the next buffer */
    if (frame->event && GST_EVENT_IS_STICKY (frame->event)
        && GST_EVENT_TYPE (frame->event) != GST_EVENT_SEGMENT
        && GST_EVENT_TYPE (frame->event) != GST_EVENT_EOS)
      gst_pad_store_sticky_event (priv->srcpad, frame->event);
    frame_free (frame);
  }
  priv->n_buffers_queued = 0;
}

static gboolean
enqueue_event (GstLensBase * self, GstEvent * event)
{
  GstLensBasePrivate *priv = PRIV (self);
  g_mutex_lock (&priv->lock);
  if (priv->flushing) {
    g_mutex_unlock (&priv->lock);
    gst_event_unref (event);
    return FALSE;
  }
  LensFrame *frame = g_new0 (LensFrame, 1);
  frame->event = event;
  g_queue_push_tail (&priv->out_queue, frame);
  g_cond_broadcast (&priv->cond);
  g_mutex_unlock (&priv->lock);
  return TRUE;
}

/* Streaming thread: submits the partial job and waits until everything is pushed. */
static void
drain (GstLensBase * self)
{
  GstLensBasePrivate *priv = PRIV (self);
  submit_open_job (self);
  g_mutex_lock (&priv->lock);
  while (!priv->flushing && priv->srcresult == GST_FLOW_OK
      && !g_queue_is_empty (&priv->out_queue))
    g_cond_wait (&priv->cond, &priv->lock);
  g_mutex_unlock (&priv->lock);
}

/* ---- preprocessing -------------------------------------------------------------------- */

/* Rotates the part of one item's tensor that holds the image by 180 degrees. */
static void
flip_content (GstLensBase * self, gfloat * dst,
    const LensPreprocessTransform * t, const GstVideoRectangle * rect)
{
  GstLensBasePrivate *priv = PRIV (self);
  gint W = priv->pp.width, H = priv->pp.height;
  gint x0 = CLAMP ((gint) lround (t->offset_x), 0, W);
  gint x1 = CLAMP ((gint) lround (t->offset_x + rect->w * t->scale_x), 0, W);
  gint y0 = CLAMP ((gint) lround (t->offset_y), 0, H);
  gint y1 = CLAMP ((gint) lround (t->offset_y + rect->h * t->scale_y), 0, H);
  gsize cw = (gsize) (x1 - x0), ch = (gsize) (y1 - y0), n = cw * ch;
  for (gsize p = 0; p < n / 2; p++) {
    gsize q = n - 1 - p;
    gsize ya = y0 + p / cw, xa = x0 + p % cw;
    gsize yb = y0 + q / cw, xb = x0 + q % cw;
    if (priv->pp.layout == LENS_LAYOUT_NCHW) {
      for (gsize c = 0; c < 3; c++) {
        gfloat *a = dst + (c * H + ya) * W + xa;
        gfloat *b = dst + (c * H + yb) * W + xb;
        gfloat tmp = *a;
        *a = *b;
        *b = tmp;
      }
    } else {
      for (gsize c = 0; c < 3; c++) {
        gfloat *a = dst + (ya * W + xa) * 3 + c;
        gfloat *b = dst + (yb * W + xb) * 3 + c;
        gfloat tmp = *a;
        *a = *b;
        *b = tmp;
      }
    }
  }
}

/* Keep the aspect ratio, fill the height, pad the right with zeros (after normalisation,
 * as PaddleOCR's recogniser expects): preprocess into a narrower tensor, then widen. */
static gboolean
preprocess_pad_right (GstLensBase * self, const GstVideoFrame * vf,
    const GstVideoRectangle * rect, gfloat * dst,
    LensPreprocessTransform * transform, GError ** error)
{
  GstLensBasePrivate *priv = PRIV (self);
  gint W = priv->pp.width, H = priv->pp.height;
  gdouble want = ceil ((gdouble) H * rect->w / MAX (rect->h, 1));
  gint cw = (gint) CLAMP (want, 1.0, (gdouble) W);
  LensPreprocessParams p = priv->pp;
  p.width = cw;
  p.resize = LENS_RESIZE_STRETCH;
  gsize need = (gsize) cw * H * 3;
  if (need > priv->scratch_floats) {
    g_free (priv->scratch);
    priv->scratch = g_new (gfloat, need);
    priv->scratch_floats = need;
  }
  if (!lens_preprocess_frame (vf, rect, &p, priv->scratch, transform, error))
    return FALSE;
  if (p.layout == LENS_LAYOUT_NCHW) {
    for (gsize r = 0; r < (gsize) 3 * H; r++) {
      memcpy (dst + r * W, priv->scratch + r * cw, cw * sizeof (gfloat));
      memset (dst + r * W + cw, 0, (W - cw) * sizeof (gfloat));
    }
  } else {
    for (gsize y = 0; y < (gsize) H; y++) {
      memcpy (dst + y * W * 3, priv->scratch + y * cw * 3,
          (gsize) cw * 3 * sizeof (gfloat));
      memset (dst + (y * W + cw) * 3, 0, (gsize) (W - cw) * 3 * sizeof (gfloat));
    }
  }
  return TRUE;
}

static gboolean
preprocess_region (GstLensBase * self, const GstVideoFrame * vf,
    const GstLensRegion * region, gfloat * dst,
    LensPreprocessTransform * transform, GError ** error)
{
  GstLensBasePrivate *priv = PRIV (self);
  memset (transform, 0, sizeof *transform);
  gboolean ok = priv->pad_right
      ? preprocess_pad_right (self, vf, &region->rect, dst, transform, error)
      : lens_preprocess_frame (vf, &region->rect, &priv->pp, dst, transform,
      error);
  if (ok && region->flip)
    flip_content (self, dst, transform, &region->rect);
  return ok;
}

/* ---- workers -------------------------------------------------------------------------- */

static void
run_job (GstLensBase * self, LensJob * job, lens_tensor * outputs)
{
  GstLensBasePrivate *priv = PRIV (self);
  GstLensBaseClass *klass = GST_LENS_BASE_GET_CLASS (self);
  lens_session *session = lens_model_pool_entry_take_session (priv->entry);
  job->started_at = gst_util_get_timestamp ();

  gsize rb = (gsize) priv->request_batch;
  gsize request_floats = rb * priv->item_floats;
  for (gsize first = 0, r = 0; first < job->n_items; first += rb, r++) {
    lens_tensor in = { LENS_DTYPE_FLOAT32, 4, {0}, job->input + first *
          priv->item_floats, request_floats * sizeof (gfloat)
    };
    memcpy (in.dims, priv->input_dims, sizeof priv->input_dims);
    guint64 t0 = gst_util_get_timestamp ();
    lens_status *st = lens_session_run (session, &in, 1, outputs,
        priv->n_outputs);
    job->request_ns[r] = gst_util_get_timestamp () - t0;
    if (st) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Inference failed."),
          ("model %s: %s", priv->model_path, lens_status_message (st)));
      lens_status_free (st);
      g_mutex_lock (&priv->lock);
      priv->srcresult = GST_FLOW_ERROR;
      g_cond_broadcast (&priv->cond);
      g_mutex_unlock (&priv->lock);
      break;
    }
    gsize n = MIN (rb, job->n_items - first);
    g_mutex_lock (&priv->meta_lock);
    for (gsize k = 0; k < n; k++) {
      LensJobItem *it = &job->items[first + k];
      GstLensItem item = { it->frame->buffer, &it->frame->info, it->region,
        it->transform
      };
      guint64 p0 = gst_util_get_timestamp ();
      klass->process_item (self, &item, outputs, priv->n_outputs, k);
      it->postprocess_ns = gst_util_get_timestamp () - p0;
    }
    g_mutex_unlock (&priv->meta_lock);
  }
  lens_model_pool_entry_give_session (priv->entry, session);
}

/* Under priv->lock: credits the job's time to its frames and releases their items. */
static void
finish_job_locked (GstLensBase * self, LensJob * job)
{
  GstLensBasePrivate *priv = PRIV (self);
  gsize rb = (gsize) priv->request_batch;
  LensFrame *last = NULL;
  gsize last_request = G_MAXSIZE;
  for (gsize i = 0; i < job->n_items; i++) {
    LensJobItem *it = &job->items[i];
    LensFrame *f = it->frame;
    gsize r = i / rb;
    guint64 wait = job->started_at > it->queued_at
        ? job->started_at - it->queued_at : 0;
    f->wait_ns = MAX (f->wait_ns, wait);
    /* a request's time counts once for each frame with items in it */
    if (f != last || r != last_request)
      f->inference_ns += job->request_ns[r];
    last = f;
    last_request = r;
    f->postprocess_ns += it->postprocess_ns;
    f->pending--;
  }
}

static gpointer
worker_main (gpointer data)
{
  GstLensBase *self = data;
  GstLensBasePrivate *priv = PRIV (self);
  lens_tensor *outputs = g_new0 (lens_tensor, MAX (priv->n_outputs, 1));

  g_mutex_lock (&priv->lock);
  for (;;) {
    while (!priv->quit && (priv->flushing || g_queue_is_empty (&priv->jobs)))
      g_cond_wait (&priv->cond, &priv->lock);
    if (priv->quit)
      break;
    LensJob *job = g_queue_pop_head (&priv->jobs);
    priv->jobs_running++;
    g_mutex_unlock (&priv->lock);

    memset (job->request_ns, 0, sizeof (guint64) *
        ((job->n_items + priv->request_batch - 1) / priv->request_batch));
    for (guint i = 0; i < job->n_items; i++)
      job->items[i].postprocess_ns = 0;
    run_job (self, job, outputs);

    g_mutex_lock (&priv->lock);
    finish_job_locked (self, job);
    g_queue_push_tail (&priv->free_jobs, job);
    priv->jobs_running--;
    g_cond_broadcast (&priv->cond);
  }
  g_mutex_unlock (&priv->lock);
  g_free (outputs);
  return NULL;
}

/* ---- source task ---------------------------------------------------------------------- */

static void
src_loop (gpointer data)
{
  GstLensBase *self = data;
  GstLensBasePrivate *priv = PRIV (self);
  LensFrame *frame;

  g_mutex_lock (&priv->lock);
  for (;;) {
    if (priv->flushing || priv->srcresult != GST_FLOW_OK)
      goto pause;
    frame = g_queue_peek_head (&priv->out_queue);
    if (frame && (frame->event || (frame->sealed && frame->pending == 0)))
      break;
    g_cond_wait (&priv->cond, &priv->lock);
  }
  g_queue_pop_head (&priv->out_queue);
  if (frame->buffer)
    priv->n_buffers_queued--;
  g_cond_broadcast (&priv->cond);
  g_mutex_unlock (&priv->lock);

  if (frame->event) {
    GstEvent *event = frame->event;
    frame->event = NULL;
    GST_LOG_OBJECT (self, "pushing %" GST_PTR_FORMAT, event);
    gst_pad_push_event (priv->srcpad, event);
  } else {
    GstBuffer *buffer = frame->buffer;
    frame->buffer = NULL;
    if (frame->inferred) {
      LensLatencyEntry *e = lens_buffer_add_latency_entry (buffer,
          GST_OBJECT_NAME (self));
      if (e) {
        e->preprocess_ns = frame->preprocess_ns;
        e->wait_ns = frame->wait_ns;
        e->inference_ns = frame->inference_ns;
        e->postprocess_ns = frame->postprocess_ns;
      }
    }
    GstFlowReturn ret = gst_pad_push (priv->srcpad, buffer);
    if (ret != GST_FLOW_OK) {
      GST_DEBUG_OBJECT (self, "push returned %s", gst_flow_get_name (ret));
      g_mutex_lock (&priv->lock);
      if (!priv->flushing || ret != GST_FLOW_FLUSHING)
        priv->srcresult = ret;
      g_cond_broadcast (&priv->cond);
      g_mutex_unlock (&priv->lock);
      frame_free (frame);
      gst_pad_pause_task (priv->srcpad);
      return;
    }
  }
  frame_free (frame);
  return;

pause:
  g_mutex_unlock (&priv->lock);
  GST_DEBUG_OBJECT (self, "pausing the source task");
  gst_pad_pause_task (priv->srcpad);
}

static gboolean
src_activate_mode (GstPad * pad, GstObject * parent, GstPadMode mode,
    gboolean active)
{
  GstLensBase *self = GST_LENS_BASE (parent);
  GstLensBasePrivate *priv = PRIV (self);
  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  if (active) {
    g_mutex_lock (&priv->lock);
    priv->flushing = FALSE;
    priv->srcresult = GST_FLOW_OK;
    g_mutex_unlock (&priv->lock);
    return gst_pad_start_task (pad, src_loop, self, NULL);
  }
  g_mutex_lock (&priv->lock);
  priv->flushing = TRUE;
  priv->srcresult = GST_FLOW_FLUSHING;
  g_cond_broadcast (&priv->cond);
  g_mutex_unlock (&priv->lock);
  return gst_pad_stop_task (pad);
}

static gboolean
sink_activate_mode (GstPad * pad, GstObject * parent, GstPadMode mode,
    gboolean active)
{
  GstLensBase *self = GST_LENS_BASE (parent);
  GstLensBasePrivate *priv = PRIV (self);
  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  if (!active) {
    /* wakes a chain waiting for room so that the pad can take its stream lock */
    g_mutex_lock (&priv->lock);
    priv->flushing = TRUE;
    g_cond_broadcast (&priv->cond);
    g_mutex_unlock (&priv->lock);
  }
  return TRUE;
}

/* ---- streaming ------------------------------------------------------------------------ */

static GstFlowReturn
infer_frame (GstLensBase * self, LensFrame * frame)
{
  GstLensBasePrivate *priv = PRIV (self);
  GstLensBaseClass *klass = GST_LENS_BASE_GET_CLASS (self);
  GstFlowReturn ret = GST_FLOW_OK;
  GArray *regions = g_array_new (FALSE, FALSE, sizeof (GstLensRegion));

  frame->inferred = TRUE;
  if (klass->collect_regions) {
    klass->collect_regions (self, frame->buffer, &frame->info, regions);
  } else {
    GstLensRegion whole = { {0, 0, GST_VIDEO_INFO_WIDTH (&frame->info),
            GST_VIDEO_INFO_HEIGHT (&frame->info)}, NULL, FALSE
    };
    g_array_append_val (regions, whole);
  }
  if (regions->len == 0)
    goto done;

  /* NO_REF: a mapping that took a reference would make the buffer read-only for the
   * workers adding metadata while later regions are still being preprocessed */
  GstVideoFrame vf;
  if (!gst_video_frame_map (&vf, &frame->info, frame->buffer,
          GST_MAP_READ | GST_VIDEO_FRAME_MAP_FLAG_NO_REF)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Could not map the video frame."),
        ("buffer of %" G_GSIZE_FORMAT " bytes for %ux%u %s",
            gst_buffer_get_size (frame->buffer),
            GST_VIDEO_INFO_WIDTH (&frame->info),
            GST_VIDEO_INFO_HEIGHT (&frame->info),
            GST_VIDEO_INFO_NAME (&frame->info)));
    ret = GST_FLOW_ERROR;
    goto done;
  }
  for (guint i = 0; i < regions->len; i++) {
    const GstLensRegion *region = &g_array_index (regions, GstLensRegion, i);
    if (region->rect.w <= 0 || region->rect.h <= 0)
      continue;
    if (!priv->open_job && !(priv->open_job = job_get (self))) {
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
          ("Out of memory for the input batch."), (NULL));
      ret = GST_FLOW_ERROR;
      break;
    }
    LensJob *job = priv->open_job;
    LensJobItem *it = &job->items[job->n_items];
    GError *err = NULL;
    guint64 t0 = gst_util_get_timestamp ();
    if (!preprocess_region (self, &vf, region,
            job->input + job->n_items * priv->item_floats, &it->transform,
            &err)) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Could not preprocess the frame."),
          ("%s", err ? err->message : "unknown error"));
      g_clear_error (&err);
      ret = GST_FLOW_ERROR;
      break;
    }
    guint64 t1 = gst_util_get_timestamp ();
    it->frame = frame;
    it->region = *region;
    it->queued_at = t1;
    g_mutex_lock (&priv->lock);
    frame->preprocess_ns += t1 - t0;
    frame->pending++;
    g_mutex_unlock (&priv->lock);
    if (++job->n_items == (guint) priv->job_capacity)
      submit_open_job (self);
  }
  gst_video_frame_unmap (&vf);
done:
  g_array_unref (regions);
  return ret;
}

static GstFlowReturn
gst_lens_base_chain (GstPad * pad, GstObject * parent, GstBuffer * buffer)
{
  GstLensBase *self = GST_LENS_BASE (parent);
  GstLensBasePrivate *priv = PRIV (self);
  GstFlowReturn ret;

  if (!priv->have_info) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No caps before the first buffer."),
        (NULL));
    gst_buffer_unref (buffer);
    return GST_FLOW_NOT_NEGOTIATED;
  }

  g_mutex_lock (&priv->lock);
  while (!priv->flushing && priv->srcresult == GST_FLOW_OK
      && priv->n_buffers_queued >= priv->max_buffers) {
    if (priv->open_job && priv->open_job->n_items) {
      /* a partial job would otherwise wait for frames that cannot come */
      g_mutex_unlock (&priv->lock);
      submit_open_job (self);
      g_mutex_lock (&priv->lock);
      continue;
    }
    g_cond_wait (&priv->cond, &priv->lock);
  }
  ret = priv->flushing ? GST_FLOW_FLUSHING : priv->srcresult;
  g_mutex_unlock (&priv->lock);
  if (ret != GST_FLOW_OK) {
    GST_DEBUG_OBJECT (self, "refusing a buffer: %s", gst_flow_get_name (ret));
    gst_buffer_unref (buffer);
    return ret;
  }

  LensFrame *frame = g_new0 (LensFrame, 1);
  frame->buffer = gst_buffer_make_writable (buffer);
  frame->info = priv->info;
  GST_OBJECT_LOCK (self);
  guint interval = priv->run_interval;
  GST_OBJECT_UNLOCK (self);
  if (priv->frame_count++ % interval == 0)
    ret = infer_frame (self, frame);

  g_mutex_lock (&priv->lock);
  frame->sealed = TRUE;
  g_queue_push_tail (&priv->out_queue, frame);
  priv->n_buffers_queued++;
  g_cond_broadcast (&priv->cond);
  g_mutex_unlock (&priv->lock);
  return ret;
}

static gboolean
gst_lens_base_set_caps (GstLensBase * self, GstCaps * caps)
{
  GstLensBasePrivate *priv = PRIV (self);
  GstVideoInfo info;
  if (!gst_video_info_from_caps (&info, caps)) {
    GST_WARNING_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, caps);
    return FALSE;
  }
  if (!lens_preprocess_format_supported (GST_VIDEO_INFO_FORMAT (&info))) {
    GST_WARNING_OBJECT (self, "format %s is not supported",
        GST_VIDEO_INFO_NAME (&info));
    return FALSE;
  }
  if (priv->input_error) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Model %s cannot take video frames.", priv->model_path),
        ("%s", priv->input_error));
    return FALSE;
  }
  if (GST_VIDEO_INFO_WIDTH (&info) <= 0 || GST_VIDEO_INFO_HEIGHT (&info) <= 0)
    return FALSE;
  priv->info = info;
  priv->have_info = TRUE;
  GST_OBJECT_LOCK (self);
  priv->fps_n = GST_VIDEO_INFO_FPS_N (&info);
  priv->fps_d = GST_VIDEO_INFO_FPS_D (&info);
  GST_OBJECT_UNLOCK (self);
  GST_DEBUG_OBJECT (self, "caps %" GST_PTR_FORMAT, caps);
  return TRUE;
}

static gboolean
gst_lens_base_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstLensBase *self = GST_LENS_BASE (parent);
  GstLensBasePrivate *priv = PRIV (self);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_START:{
      gboolean ret = gst_pad_push_event (priv->srcpad, event);
      g_mutex_lock (&priv->lock);
      priv->flushing = TRUE;
      g_cond_broadcast (&priv->cond);
      g_mutex_unlock (&priv->lock);
      gst_pad_pause_task (priv->srcpad);
      return ret;
    }
    case GST_EVENT_FLUSH_STOP:{
      g_mutex_lock (&priv->lock);
      while (priv->jobs_running > 0)
        g_cond_wait (&priv->cond, &priv->lock);
      clear_queues_locked (self);
      priv->flushing = FALSE;
      priv->srcresult = GST_FLOW_OK;
      g_mutex_unlock (&priv->lock);
      gboolean ret = gst_pad_push_event (priv->srcpad, event);
      if (GST_PAD_MODE (priv->srcpad) == GST_PAD_MODE_PUSH)
        gst_pad_start_task (priv->srcpad, src_loop, self, NULL);
      return ret;
    }
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      if (!gst_lens_base_set_caps (self, caps)) {
        gst_event_unref (event);
        return FALSE;
      }
      return enqueue_event (self, event);
    }
    case GST_EVENT_EOS:
      submit_open_job (self);
      return enqueue_event (self, event);
    default:
      if (GST_EVENT_IS_SERIALIZED (event))
        return enqueue_event (self, event);
      return gst_pad_event_default (pad, parent, event);
  }
}

/* Caps pass through unchanged: what the other side's peer takes, within our template. */
static gboolean
caps_query (GstLensBase * self, GstPad * pad, GstQuery * query)
{
  GstLensBasePrivate *priv = PRIV (self);
  GstPad *other = pad == priv->sinkpad ? priv->srcpad : priv->sinkpad;
  GstCaps *filter, *templ = gst_pad_get_pad_template_caps (pad);
  gst_query_parse_caps (query, &filter);
  GstCaps *want = filter
      ? gst_caps_intersect_full (filter, templ, GST_CAPS_INTERSECT_FIRST)
      : gst_caps_ref (templ);
  GstCaps *peer = gst_pad_peer_query_caps (other, want);
  GstCaps *result = gst_caps_intersect_full (peer, templ,
      GST_CAPS_INTERSECT_FIRST);
  gst_query_set_caps_result (query, result);
  gst_caps_unref (result);
  gst_caps_unref (peer);
  gst_caps_unref (want);
  gst_caps_unref (templ);
  return TRUE;
}

static gboolean
accept_caps_query (GstLensBase * self, GstPad * pad, GstQuery * query)
{
  GstLensBasePrivate *priv = PRIV (self);
  GstCaps *caps, *templ = gst_pad_get_pad_template_caps (pad);
  gst_query_parse_accept_caps (query, &caps);
  gboolean ok = gst_caps_is_fixed (caps) ? gst_caps_is_subset (caps, templ)
      : gst_caps_can_intersect (caps, templ);
  gst_caps_unref (templ);
  if (ok && pad == priv->sinkpad)
    ok = gst_pad_peer_query_accept_caps (priv->srcpad, caps);
  gst_query_set_accept_caps_result (query, ok);
  return TRUE;
}

static gboolean
gst_lens_base_src_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstLensBase *self = GST_LENS_BASE (parent);
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS:
      return caps_query (self, pad, query);
    case GST_QUERY_ACCEPT_CAPS:
      return accept_caps_query (self, pad, query);
    case GST_QUERY_LATENCY:{
      GstLensBasePrivate *priv = PRIV (self);
      gboolean live;
      GstClockTime min, max, extra = 0;
      if (!gst_pad_peer_query (priv->sinkpad, query))
        return FALSE;
      gst_query_parse_latency (query, &live, &min, &max);
      /* a batch waits for its last frame */
      GST_OBJECT_LOCK (self);
      if (priv->batch_size > 1 && priv->fps_n > 0 && priv->fps_d > 0)
        extra = gst_util_uint64_scale_int (GST_SECOND * (priv->batch_size - 1),
            priv->fps_d, priv->fps_n);
      GST_OBJECT_UNLOCK (self);
      min += extra;
      if (GST_CLOCK_TIME_IS_VALID (max))
        max += extra;
      gst_query_set_latency (query, live, min, max);
      return TRUE;
    }
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

static gboolean
gst_lens_base_sink_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstLensBase *self = GST_LENS_BASE (parent);
  GstLensBasePrivate *priv = PRIV (self);
  if (GST_QUERY_TYPE (query) == GST_QUERY_CAPS)
    return caps_query (self, pad, query);
  if (GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS)
    return accept_caps_query (self, pad, query);
  if (GST_QUERY_IS_SERIALIZED (query)) {
    /* serialized queries (allocation, drain) must not overtake the queued frames */
    drain (self);
    g_mutex_lock (&priv->lock);
    gboolean flushing = priv->flushing;
    g_mutex_unlock (&priv->lock);
    if (flushing)
      return FALSE;
    return gst_pad_peer_query (priv->srcpad, query);
  }
  return gst_pad_query_default (pad, parent, query);
}

/* ---- start / stop --------------------------------------------------------------------- */

/* "a,b,c" or "a" -> three values; FALSE on anything else. */
static gboolean
parse_triple (const gchar * s, gfloat out[3])
{
  gchar **parts = g_strsplit (s, ",", -1);
  guint n = g_strv_length (parts);
  gboolean ok = n == 1 || n == 3;
  for (guint i = 0; ok && i < n; i++) {
    gchar *end = NULL;
    const gchar *p = g_strstrip (parts[i]);
    gdouble v = g_ascii_strtod (p, &end);
    if (!*p || !end || *end || !isfinite (v))
      ok = FALSE;
    else
      out[i] = (gfloat) v;
  }
  if (ok && n == 1)
    out[1] = out[2] = out[0];
  g_strfreev (parts);
  return ok;
}

static void
default_input_size (lens_decoder_kind kind, gint * w, gint * h)
{
  switch (kind) {
    case LENS_DECODER_CTC:
      *w = 320;
      *h = 48;
      break;
    case LENS_DECODER_SOFTMAX:
      *w = 192;
      *h = 48;
      break;
    default:
      *w = 640;
      *h = 640;
      break;
  }
}

static gchar *
describe_desc (const lens_tensor_desc * d)
{
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "%s %s [", d->name ? d->name : "?",
      lens_dtype_name (d->dtype));
  for (gint i = 0; i < d->rank; i++) {
    if (d->dims[i] >= 0)
      g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "",
          d->dims[i]);
    else
      g_string_append_printf (s, "%s%s", i ? "," : "",
          d->dim_params[i] ? d->dim_params[i] : "?");
  }
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
gst_lens_base_stop (GstLensBase * self)
{
  GstLensBasePrivate *priv = PRIV (self);
  GstLensBaseClass *klass = GST_LENS_BASE_GET_CLASS (self);

  g_mutex_lock (&priv->lock);
  priv->quit = TRUE;
  g_cond_broadcast (&priv->cond);
  g_mutex_unlock (&priv->lock);
  for (guint i = 0; i < priv->n_workers; i++)
    g_thread_join (priv->workers[i]);
  g_clear_pointer (&priv->workers, g_free);
  priv->n_workers = 0;

  g_mutex_lock (&priv->lock);
  clear_queues_locked (self);
  LensJob *job;
  while ((job = g_queue_pop_head (&priv->free_jobs)))
    job_free (job);
  priv->quit = FALSE;
  g_mutex_unlock (&priv->lock);

  if (klass->release)
    klass->release (self);
  if (priv->labels_v)
    lens_labels_free (priv->labels_v, priv->n_labels);
  priv->labels_v = NULL;
  priv->n_labels = 0;
  lens_model_pool_release (priv->entry);
  priv->entry = NULL;
  g_clear_pointer (&priv->input_error, g_free);
  g_clear_pointer (&priv->model_path, g_free);
  g_clear_pointer (&priv->scratch, g_free);
  priv->scratch_floats = 0;
  priv->have_info = FALSE;
  priv->frame_count = 0;
}

/* Reads the model input; sets priv->input_error when it cannot take video. Returns the
 * input's layout and declared dims through the out parameters. */
static void
inspect_input (GstLensBase * self, const lens_model * model,
    const lens_tensor_desc ** out_desc, LensTensorLayout * layout)
{
  GstLensBasePrivate *priv = PRIV (self);
  *out_desc = NULL;
  if (lens_model_input_count (model) != 1) {
    priv->input_error = g_strdup_printf ("the model has %" G_GSIZE_FORMAT
        " inputs; Lens elements feed models with one image input",
        lens_model_input_count (model));
    return;
  }
  const lens_tensor_desc *d = lens_model_input (model, 0);
  gchar *desc = describe_desc (d);
  if (d->rank != 4 || d->dtype != LENS_DTYPE_FLOAT32) {
    priv->input_error = g_strdup_printf ("input %s: Lens elements feed float32 "
        "images of rank 4 (NCHW or NHWC with 3 channels)", desc);
  } else if (d->dims[1] == 3 || (d->dims[1] < 0 && d->dims[3] != 3)) {
    *layout = LENS_LAYOUT_NCHW;
    *out_desc = d;
  } else if (d->dims[3] == 3 || (d->dims[3] < 0 && d->dims[1] != 3)) {
    *layout = LENS_LAYOUT_NHWC;
    *out_desc = d;
  } else {
    priv->input_error = g_strdup_printf ("input %s has no dimension of 3 "
        "channels (NCHW or NHWC)", desc);
  }
  g_free (desc);
}

static gboolean
gst_lens_base_start (GstLensBase * self)
{
  GstLensBasePrivate *priv = PRIV (self);
  GstLensBaseClass *klass = GST_LENS_BASE_GET_CLASS (self);
  GError *err = NULL;
  gchar *labels, *device, *instance_id, *mean, *scale;
  gint nthreads, batch_size, nireq, interval, prop_w, prop_h;
  GstLensResize resize;
  lens_decoder_kind decoder;
  LensChannelOrder color_order;

  GST_OBJECT_LOCK (self);
  priv->model_path = g_strdup (priv->model);
  labels = g_strdup (priv->labels);
  device = g_strdup (priv->device);
  instance_id = g_strdup (priv->instance_id);
  mean = g_strdup (priv->mean);
  scale = g_strdup (priv->scale);
  nthreads = priv->nthreads;
  batch_size = priv->batch_size;
  nireq = priv->nireq;
  interval = priv->interval;
  prop_w = priv->input_width;
  prop_h = priv->input_height;
  resize = priv->resize;
  decoder = priv->decoder;
  color_order = priv->color_order;
  GST_OBJECT_UNLOCK (self);

  if (!priv->model_path || !*priv->model_path) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No model given."),
        ("set the model property to an ONNX file"));
    goto fail;
  }
  priv->entry = lens_model_pool_acquire (instance_id, priv->model_path, &err);
  if (!priv->entry) {
    if (err->domain == LENS_MODEL_POOL_ERROR
        && err->code == LENS_MODEL_POOL_ERROR_MISMATCH)
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Conflicting model-instance-id."), ("%s", err->message));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
          ("Could not load model \"%s\".", priv->model_path),
          ("%s", err->message));
    goto fail;
  }
  const lens_model *model = lens_model_pool_entry_model (priv->entry);
  priv->n_outputs = lens_model_output_count (model);
  if (priv->n_outputs == 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Model \"%s\" has no outputs.", priv->model_path), (NULL));
    goto fail;
  }

  /* the decoder first: its kind chooses the defaults below */
  lens_status *detect_st = NULL;
  priv->decoder_kind = klass->has_decoder ? decoder : LENS_DECODER_RAW;
  if (priv->decoder_kind == LENS_DECODER_AUTO) {
    GArray *descs = g_array_new (FALSE, FALSE, sizeof (lens_tensor_desc));
    for (gsize i = 0; i < priv->n_outputs; i++)
      g_array_append_vals (descs, lens_model_output (model, i), 1);
    detect_st = lens_decoder_detect ((const lens_tensor_desc *) descs->data,
        descs->len, klass->classification, &priv->decoder_kind);
    g_array_unref (descs);
    if (detect_st)
      priv->decoder_kind = LENS_DECODER_AUTO;   /* retried on the bound shapes */
  }

  const lens_tensor_desc *in = NULL;
  LensTensorLayout layout = LENS_LAYOUT_NCHW;
  inspect_input (self, model, &in, &layout);
  if (in) {
    gint hd = layout == LENS_LAYOUT_NCHW ? 2 : 1;
    gint wd = hd + 1;
    gint def_w, def_h;
    default_input_size (priv->decoder_kind, &def_w, &def_h);
    gint64 h = in->dims[hd] > 0 ? in->dims[hd] : (prop_h > 0 ? prop_h : def_h);
    gint64 w = in->dims[wd] > 0 ? in->dims[wd] : (prop_w > 0 ? prop_w : def_w);
    if (priv->decoder_kind == LENS_DECODER_DB) {
      /* DB's feature pyramid needs sides that are multiples of 32 */
      if (in->dims[hd] <= 0)
        h = (h + 31) / 32 * 32;
      if (in->dims[wd] <= 0)
        w = (w + 31) / 32 * 32;
    }
    if ((prop_h > 0 && prop_h != h) || (prop_w > 0 && prop_w != w))
      GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
          ("The model's input size is fixed at %" G_GINT64_FORMAT "x%"
              G_GINT64_FORMAT "; input-width/input-height are ignored.", w, h),
          (NULL));
    if (h > LENS_MAX_INPUT_SIDE || w > LENS_MAX_INPUT_SIDE) {
      priv->input_error = g_strdup_printf ("input size %" G_GINT64_FORMAT "x%"
          G_GINT64_FORMAT " is larger than %d", w, h, LENS_MAX_INPUT_SIDE);
    } else if (in->dims[0] > 0 && in->dims[0] != batch_size
        && in->dims[0] != 1) {
      priv->input_error = g_strdup_printf ("the model's batch is fixed at %"
          G_GINT64_FORMAT "; set batch-size=%" G_GINT64_FORMAT " or 1",
          in->dims[0], in->dims[0]);
    } else {
      /* a model fixed at batch 1 still batches: one request per item */
      priv->request_batch = in->dims[0] > 0 ? (gint) in->dims[0] : batch_size;
      priv->job_capacity = batch_size;
      priv->item_floats = (gsize) h * (gsize) w * 3;
      guint64 job_bytes = (guint64) priv->item_floats * sizeof (gfloat) *
          (guint64) ((batch_size + priv->request_batch - 1) /
          priv->request_batch * priv->request_batch);
      if (job_bytes > LENS_MAX_JOB_BYTES) {
        priv->input_error = g_strdup_printf ("a batch of %d inputs of %"
            G_GINT64_FORMAT "x%" G_GINT64_FORMAT " needs %" G_GUINT64_FORMAT
            " bytes", batch_size, w, h, job_bytes);
      } else {
        priv->input_dims[0] = priv->request_batch;
        if (layout == LENS_LAYOUT_NCHW) {
          priv->input_dims[1] = 3;
          priv->input_dims[2] = h;
          priv->input_dims[3] = w;
        } else {
          priv->input_dims[1] = h;
          priv->input_dims[2] = w;
          priv->input_dims[3] = 3;
        }
        lens_preprocess_params_init (&priv->pp);
        priv->pp.width = (gint) w;
        priv->pp.height = (gint) h;
        priv->pp.layout = layout;
      }
    }
  }

  if (!priv->input_error) {
    gchar *note = NULL;
    LensModelPoolSessionConfig cfg = { 0 };
    cfg.device = device;
    cfg.threads = nthreads > 0 ? nthreads
        : MAX (1, (gint) g_get_num_processors () / nireq);
    cfg.n_sessions = (guint) nireq;
    cfg.input_name = in->name;
    cfg.rank = 4;
    memcpy (cfg.dims, priv->input_dims, sizeof priv->input_dims);
    if (!lens_model_pool_entry_ensure_sessions (priv->entry, &cfg, &note,
            &err)) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Could not prepare model \"%s\" to run on \"%s\".", priv->model_path,
              device), ("%s", err->message));
      lens_status_free (detect_st);
      goto fail;
    }
    if (note) {
      GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
          ("Falling back to another device."), ("%s", note));
      g_free (note);
    }
    if (priv->decoder_kind == LENS_DECODER_AUTO) {
      GArray *descs = g_array_new (FALSE, FALSE, sizeof (lens_tensor_desc));
      const lens_session *s = lens_model_pool_entry_peek_session (priv->entry);
      for (gsize i = 0; i < priv->n_outputs; i++)
        g_array_append_vals (descs, lens_session_output (s, i), 1);
      lens_status_free (detect_st);
      detect_st = lens_decoder_detect ((const lens_tensor_desc *) descs->data,
          descs->len, klass->classification, &priv->decoder_kind);
      g_array_unref (descs);
    }
  }
  if (detect_st && priv->input_error) {
    /* the input is the problem to report (at negotiation) */
    lens_status_free (detect_st);
    detect_st = NULL;
  }
  if (detect_st) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Could not choose a decoder for model \"%s\"; set the decoder "
            "property.", priv->model_path), ("%s",
            lens_status_message (detect_st)));
    lens_status_free (detect_st);
    goto fail;
  }

  /* preprocessing: the defaults follow the decoder */
  if (resize == GST_LENS_RESIZE_AUTO)
    resize = priv->decoder_kind == LENS_DECODER_DB ? GST_LENS_RESIZE_LETTERBOX
        : priv->decoder_kind == LENS_DECODER_CTC ?
        GST_LENS_RESIZE_ASPECT_PAD_RIGHT : GST_LENS_RESIZE_STRETCH;
  priv->pad_right = resize == GST_LENS_RESIZE_ASPECT_PAD_RIGHT;
  priv->pp.resize = resize == GST_LENS_RESIZE_LETTERBOX ?
      LENS_RESIZE_LETTERBOX : resize == GST_LENS_RESIZE_CROP ?
      LENS_RESIZE_CROP : LENS_RESIZE_STRETCH;
  priv->pp.channels = color_order;
  {
    gfloat m[3] = { 0, 0, 0 }, s[3] = { 1.0f / 255, 1.0f / 255, 1.0f / 255 };
    if (priv->decoder_kind == LENS_DECODER_DB) {
      /* ImageNet statistics, in RGB order */
      const gfloat im[3] = { 123.675f, 116.28f, 103.53f };
      const gfloat is[3] = { 1 / 58.395f, 1 / 57.12f, 1 / 57.375f };
      for (gint c = 0; c < 3; c++) {
        gint k = color_order == LENS_CHANNELS_BGR ? 2 - c : c;
        m[c] = im[k];
        s[c] = is[k];
      }
    } else if (priv->decoder_kind == LENS_DECODER_CTC) {
      m[0] = m[1] = m[2] = 127.5f;
      s[0] = s[1] = s[2] = 1 / 127.5f;
    }
    if (mean && *mean && !parse_triple (mean, m)) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("Invalid mean \"%s\".",
              mean), ("give one number or three separated by commas"));
      goto fail;
    }
    if (mean && *mean && m[0] >= 0 && m[0] <= 1 && m[1] >= 0 && m[1] <= 1
        && m[2] >= 0 && m[2] <= 1) {
      /* "0.485,0.456,0.406": fractions of the pixel range, as papers write them */
      for (gint c = 0; c < 3; c++)
        m[c] *= 255.0f;
    }
    if (scale && *scale && !parse_triple (scale, s)) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("Invalid scale \"%s\".",
              scale), ("give one number or three separated by commas"));
      goto fail;
    }
    memcpy (priv->pp.mean, m, sizeof m);
    memcpy (priv->pp.scale, s, sizeof s);
  }

  if (labels && *labels) {
    lens_status *st = lens_labels_load (labels, &priv->labels_v,
        &priv->n_labels);
    if (st) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
          ("Could not read labels \"%s\".", labels), ("%s",
              lens_status_message (st)));
      lens_status_free (st);
      goto fail;
    }
  }

  GST_OBJECT_LOCK (self);
  priv->run_interval = (guint) MAX (interval, 1);
  GST_OBJECT_UNLOCK (self);
  priv->max_buffers = (guint) MAX (2, batch_size * (nireq + 1));
  priv->frame_count = 0;

  if (!priv->input_error) {
    if (klass->prepare && !klass->prepare (self, &err)) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Model \"%s\" does not suit %s.", priv->model_path,
              G_OBJECT_TYPE_NAME (self)), ("%s", err ? err->message : ""));
      goto fail;
    }
    priv->workers = g_new0 (GThread *, nireq);
    for (gint i = 0; i < nireq; i++) {
      gchar *name = g_strdup_printf ("%s:req%d", GST_OBJECT_NAME (self), i);
      priv->workers[i] = g_thread_new (name, worker_main, self);
      g_free (name);
      priv->n_workers++;
    }
  }
  GST_INFO_OBJECT (self, "model %s, decoder %s, input %dx%d, batch %d "
      "(requests of %d), %d requests", priv->model_path,
      lens_decoder_name (priv->decoder_kind), priv->pp.width, priv->pp.height,
      priv->job_capacity, priv->request_batch, nireq);

  g_free (labels);
  g_free (device);
  g_free (instance_id);
  g_free (mean);
  g_free (scale);
  return TRUE;

fail:
  g_clear_error (&err);
  g_free (labels);
  g_free (device);
  g_free (instance_id);
  g_free (mean);
  g_free (scale);
  gst_lens_base_stop (self);
  return FALSE;
}

static GstStateChangeReturn
gst_lens_base_change_state (GstElement * element, GstStateChange transition)
{
  GstLensBase *self = GST_LENS_BASE (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED
      && !gst_lens_base_start (self))
    return GST_STATE_CHANGE_FAILURE;

  ret = GST_ELEMENT_CLASS (gst_lens_base_parent_class)->change_state (element,
      transition);

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY
      || (transition == GST_STATE_CHANGE_READY_TO_PAUSED
          && ret == GST_STATE_CHANGE_FAILURE))
    gst_lens_base_stop (self);
  return ret;
}

/* ---- accessors ------------------------------------------------------------------------ */

lens_decoder_kind
gst_lens_base_get_decoder (GstLensBase * self)
{
  return PRIV (self)->decoder_kind;
}

const gchar *
gst_lens_base_get_model_path (GstLensBase * self)
{
  return PRIV (self)->model_path;
}

const gchar *const *
gst_lens_base_get_labels (GstLensBase * self, gsize * n_labels)
{
  *n_labels = PRIV (self)->n_labels;
  return (const gchar * const *) PRIV (self)->labels_v;
}

void
gst_lens_base_get_input_size (GstLensBase * self, gint * width, gint * height)
{
  *width = PRIV (self)->pp.width;
  *height = PRIV (self)->pp.height;
}

const LensPreprocessParams *
gst_lens_base_get_preprocess_params (GstLensBase * self)
{
  return &PRIV (self)->pp;
}

gsize
gst_lens_base_get_n_outputs (GstLensBase * self)
{
  return PRIV (self)->n_outputs;
}

const lens_tensor_desc *
gst_lens_base_get_output_desc (GstLensBase * self, gsize index)
{
  GstLensBasePrivate *priv = PRIV (self);
  const lens_session *s = priv->entry
      ? lens_model_pool_entry_peek_session (priv->entry) : NULL;
  return s ? lens_session_output (s, index) : NULL;
}

gint
gst_lens_base_get_request_batch (GstLensBase * self)
{
  return PRIV (self)->request_batch;
}

void
gst_lens_base_set_decoder_property (GstLensBase * self, lens_decoder_kind kind)
{
  GST_OBJECT_LOCK (self);
  PRIV (self)->decoder = kind;
  GST_OBJECT_UNLOCK (self);
}

lens_decoder_kind
gst_lens_base_get_decoder_property (GstLensBase * self)
{
  GST_OBJECT_LOCK (self);
  lens_decoder_kind kind = PRIV (self)->decoder;
  GST_OBJECT_UNLOCK (self);
  return kind;
}

void
gst_lens_base_class_install_decoder_property (GstLensBaseClass * klass,
    guint prop_id, const gchar * blurb)
{
  klass->has_decoder = TRUE;
  g_object_class_install_property (G_OBJECT_CLASS (klass), prop_id,
      g_param_spec_enum ("decoder", "Decoder", blurb, GST_TYPE_LENS_DECODER,
          LENS_DECODER_AUTO,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));
}

/* ---- GObject -------------------------------------------------------------------------- */

static void
set_string (GstLensBase * self, gchar ** field, const GValue * value)
{
  GST_OBJECT_LOCK (self);
  g_free (*field);
  *field = g_value_dup_string (value);
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lens_base_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstLensBase *self = GST_LENS_BASE (object);
  GstLensBasePrivate *priv = PRIV (self);

  switch (prop_id) {
    case PROP_MODEL:
      set_string (self, &priv->model, value);
      break;
    case PROP_LABELS:
      set_string (self, &priv->labels, value);
      break;
    case PROP_DEVICE:
      set_string (self, &priv->device, value);
      break;
    case PROP_MODEL_INSTANCE_ID:
      set_string (self, &priv->instance_id, value);
      break;
    case PROP_MEAN:
      set_string (self, &priv->mean, value);
      break;
    case PROP_SCALE:
      set_string (self, &priv->scale, value);
      break;
    default:
      GST_OBJECT_LOCK (self);
      switch (prop_id) {
        case PROP_NTHREADS:
          priv->nthreads = g_value_get_int (value);
          break;
        case PROP_BATCH_SIZE:
          priv->batch_size = g_value_get_int (value);
          break;
        case PROP_NIREQ:
          priv->nireq = g_value_get_int (value);
          break;
        case PROP_INFERENCE_INTERVAL:
          priv->interval = g_value_get_int (value);
          /* takes effect at once */
          priv->run_interval = (guint) priv->interval;
          break;
        case PROP_RESIZE:
          priv->resize = g_value_get_enum (value);
          break;
        case PROP_COLOR_ORDER:
          priv->color_order = g_value_get_enum (value);
          break;
        case PROP_INPUT_WIDTH:
          priv->input_width = g_value_get_int (value);
          break;
        case PROP_INPUT_HEIGHT:
          priv->input_height = g_value_get_int (value);
          break;
        default:
          G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
          break;
      }
      GST_OBJECT_UNLOCK (self);
      break;
  }
}

static void
gst_lens_base_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstLensBase *self = GST_LENS_BASE (object);
  GstLensBasePrivate *priv = PRIV (self);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, priv->model);
      break;
    case PROP_LABELS:
      g_value_set_string (value, priv->labels);
      break;
    case PROP_DEVICE:
      g_value_set_string (value, priv->device);
      break;
    case PROP_MODEL_INSTANCE_ID:
      g_value_set_string (value, priv->instance_id);
      break;
    case PROP_MEAN:
      g_value_set_string (value, priv->mean);
      break;
    case PROP_SCALE:
      g_value_set_string (value, priv->scale);
      break;
    case PROP_NTHREADS:
      g_value_set_int (value, priv->nthreads);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_int (value, priv->batch_size);
      break;
    case PROP_NIREQ:
      g_value_set_int (value, priv->nireq);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_int (value, priv->interval);
      break;
    case PROP_RESIZE:
      g_value_set_enum (value, priv->resize);
      break;
    case PROP_COLOR_ORDER:
      g_value_set_enum (value, priv->color_order);
      break;
    case PROP_INPUT_WIDTH:
      g_value_set_int (value, priv->input_width);
      break;
    case PROP_INPUT_HEIGHT:
      g_value_set_int (value, priv->input_height);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_lens_base_finalize (GObject * object)
{
  GstLensBase *self = GST_LENS_BASE (object);
  GstLensBasePrivate *priv = PRIV (self);

  g_free (priv->model);
  g_free (priv->labels);
  g_free (priv->device);
  g_free (priv->instance_id);
  g_free (priv->mean);
  g_free (priv->scale);
  g_mutex_clear (&priv->lock);
  g_mutex_clear (&priv->meta_lock);
  g_cond_clear (&priv->cond);
  G_OBJECT_CLASS (gst_lens_base_parent_class)->finalize (object);
}

static void
gst_lens_base_init (GstLensBase * self)
{
  GstLensBasePrivate *priv = PRIV (self);
  GstElementClass *klass = GST_ELEMENT_GET_CLASS (self);

  g_mutex_init (&priv->lock);
  g_mutex_init (&priv->meta_lock);
  g_cond_init (&priv->cond);
  g_queue_init (&priv->out_queue);
  g_queue_init (&priv->jobs);
  g_queue_init (&priv->free_jobs);
  priv->flushing = TRUE;
  priv->srcresult = GST_FLOW_FLUSHING;

  priv->device = g_strdup (DEFAULT_DEVICE);
  priv->nthreads = DEFAULT_NTHREADS;
  priv->batch_size = DEFAULT_BATCH_SIZE;
  priv->nireq = DEFAULT_NIREQ;
  priv->interval = DEFAULT_INTERVAL;
  priv->run_interval = DEFAULT_INTERVAL;
  priv->resize = DEFAULT_RESIZE;
  priv->color_order = DEFAULT_COLOR_ORDER;
  priv->decoder = LENS_DECODER_AUTO;
  priv->request_batch = 1;
  priv->job_capacity = 1;

  priv->sinkpad = gst_pad_new_from_template (gst_element_class_get_pad_template
      (klass, "sink"), "sink");
  gst_pad_set_chain_function (priv->sinkpad,
      GST_DEBUG_FUNCPTR (gst_lens_base_chain));
  gst_pad_set_event_function (priv->sinkpad,
      GST_DEBUG_FUNCPTR (gst_lens_base_sink_event));
  gst_pad_set_query_function (priv->sinkpad,
      GST_DEBUG_FUNCPTR (gst_lens_base_sink_query));
  gst_pad_set_activatemode_function (priv->sinkpad,
      GST_DEBUG_FUNCPTR (sink_activate_mode));
  gst_element_add_pad (GST_ELEMENT (self), priv->sinkpad);

  priv->srcpad = gst_pad_new_from_template (gst_element_class_get_pad_template
      (klass, "src"), "src");
  gst_pad_set_activatemode_function (priv->srcpad,
      GST_DEBUG_FUNCPTR (src_activate_mode));
  gst_pad_set_query_function (priv->srcpad,
      GST_DEBUG_FUNCPTR (gst_lens_base_src_query));
  gst_element_add_pad (GST_ELEMENT (self), priv->srcpad);
}

static void
gst_lens_base_class_init (GstLensBaseClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  const GParamFlags ready = rw | GST_PARAM_MUTABLE_READY;

  GST_DEBUG_CATEGORY_INIT (gst_lens_base_debug, "lensbase", 0,
      "Lens inference elements");

  gobject_class->set_property = gst_lens_base_set_property;
  gobject_class->get_property = gst_lens_base_get_property;
  gobject_class->finalize = gst_lens_base_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_lens_base_change_state);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model", "Path of the ONNX model file",
          NULL, ready));
  g_object_class_install_property (gobject_class, PROP_LABELS,
      g_param_spec_string ("labels", "Labels",
          "Path of a labels file, one label per line (for decoder=ctc: the "
          "character dictionary)", NULL, ready));
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_string ("device", "Device",
          "Where inference runs: \"cpu\", \"gpu\", or a fallback list such as "
          "\"gpu,cpu\" (the first that works, with a warning)", DEFAULT_DEVICE,
          ready));
  g_object_class_install_property (gobject_class, PROP_NTHREADS,
      g_param_spec_int ("nthreads", "Threads",
          "Threads per inference request (0: number of cores / nireq, at least "
          "1)", 0, 256, DEFAULT_NTHREADS, ready));
  g_object_class_install_property (gobject_class, PROP_BATCH_SIZE,
      g_param_spec_int ("batch-size", "Batch size",
          "Frames (or regions) per inference; the model's batch dimension is "
          "bound to it", 1, 1024, DEFAULT_BATCH_SIZE, ready));
  g_object_class_install_property (gobject_class, PROP_NIREQ,
      g_param_spec_int ("nireq", "Inference requests",
          "Inference requests in flight, each on its own session and worker "
          "thread", 1, 64, DEFAULT_NIREQ, ready));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_int ("inference-interval", "Inference interval",
          "Run on every Nth frame; frames in between pass with no new results",
          1, G_MAXINT, DEFAULT_INTERVAL, rw | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MODEL_INSTANCE_ID,
      g_param_spec_string ("model-instance-id", "Model instance id",
          "Elements with the same id share one loaded model and its inference "
          "sessions (same model file, batch-size and input size)", NULL,
          ready));
  g_object_class_install_property (gobject_class, PROP_RESIZE,
      g_param_spec_enum ("resize", "Resize",
          "How a frame or region is fitted to the model input",
          GST_TYPE_LENS_RESIZE, DEFAULT_RESIZE, ready));
  g_object_class_install_property (gobject_class, PROP_COLOR_ORDER,
      g_param_spec_enum ("color-order", "Colour order",
          "Channel order the model expects", GST_TYPE_LENS_COLOR_ORDER,
          DEFAULT_COLOR_ORDER, ready));
  g_object_class_install_property (gobject_class, PROP_MEAN,
      g_param_spec_string ("mean", "Mean",
          "Per-channel mean subtracted from pixels in 0..255, in the model's "
          "channel order: one value or three separated by commas; values that "
          "are all within 0..1 are fractions of 255 (0.485 = 123.675). Unset: "
          "by decoder (db: ImageNet 123.675,116.28,103.53; ctc: 127.5; others: "
          "0). Input value = (pixel - mean) * scale", NULL, ready));
  g_object_class_install_property (gobject_class, PROP_SCALE,
      g_param_spec_string ("scale", "Scale",
          "Per-channel factor applied after the mean: one value or three "
          "separated by commas. Unset: by decoder (db: ImageNet "
          "0.017125,0.017507,0.017429; ctc: 0.0078431; others: 1/255). For "
          "ImageNet models set mean=\"123.675,116.28,103.53\" "
          "scale=\"0.017125,0.017507,0.017429\"", NULL, ready));
  g_object_class_install_property (gobject_class, PROP_INPUT_WIDTH,
      g_param_spec_int ("input-width", "Input width",
          "Model input width for models whose width is dynamic (0: by decoder: "
          "db 640, ctc 320, softmax 192, others 640; db rounds up to a "
          "multiple of 32)", 0, LENS_MAX_INPUT_SIDE,
          0, ready));
  g_object_class_install_property (gobject_class, PROP_INPUT_HEIGHT,
      g_param_spec_int ("input-height", "Input height",
          "Model input height for models whose height is dynamic (0: by "
          "decoder: db 640, ctc 48, softmax 48, others 640)", 0,
          LENS_MAX_INPUT_SIDE, 0, ready));

  gst_type_mark_as_plugin_api (GST_TYPE_LENS_BASE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_LENS_DECODER, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_LENS_RESIZE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_LENS_COLOR_ORDER, 0);
}
