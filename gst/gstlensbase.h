/* GstLensBase: what lensinfer, lensdetect and lensclassify share — the model (through the
 * shared registry in lensmodelpool.h), preprocessing of frames or regions into batches,
 * nireq inference requests in flight on worker threads, and a source-pad task that pushes
 * buffers and serialized events in exactly the order they arrived.
 *
 * A subclass chooses the regions of each frame to infer (collect_regions; default: the
 * whole frame) and turns each region's slice of the output tensors into metadata
 * (process_item, called on a worker thread with the buffer's metadata lock held). */
#ifndef LENS_GST_GSTLENSBASE_H
#define LENS_GST_GSTLENSBASE_H

#include <gst/gst.h>
#include <gst/video/video.h>

#include "decoders/decoders.h"
#include "lens/lens.h"
#include "lensmodelpool.h"
#include "preprocess.h"

G_BEGIN_DECLS

#define GST_TYPE_LENS_BASE (gst_lens_base_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstLensBase, gst_lens_base, GST, LENS_BASE, GstElement);

#define GST_TYPE_LENS_DECODER (gst_lens_decoder_get_type ())
GType gst_lens_decoder_get_type (void);

typedef enum {
  GST_LENS_RESIZE_AUTO = 0,     /* by decoder: db letterbox, ctc aspect-pad-right, else stretch */
  GST_LENS_RESIZE_STRETCH,
  GST_LENS_RESIZE_LETTERBOX,
  GST_LENS_RESIZE_CROP,
  GST_LENS_RESIZE_ASPECT_PAD_RIGHT,     /* keep aspect, fill the height, pad on the right
                                         * with zeros after normalisation (PaddleOCR rec) */
} GstLensResize;

#define GST_TYPE_LENS_RESIZE (gst_lens_resize_get_type ())
GType gst_lens_resize_get_type (void);

/* One region of a frame to run the model on. */
typedef struct {
  GstVideoRectangle rect;       /* frame pixels, inside the frame */
  GstVideoRegionOfInterestMeta *roi;    /* the region's meta; NULL for the whole frame */
  gboolean flip;                /* rotate the crop 180 degrees before inference */
} GstLensRegion;

/* One region as inferred: where it came from and how it landed in the tensor. */
typedef struct {
  GstBuffer *buffer;
  const GstVideoInfo *info;     /* the frame's format when it arrived */
  GstLensRegion region;
  LensPreprocessTransform transform;
} GstLensItem;

struct _GstLensBaseClass
{
  GstElementClass parent_class;

  /* TRUE: the decoder "auto" looks for classification outputs (softmax, ctc). */
  gboolean classification;

  /* Set by gst_lens_base_class_install_decoder_property(); without it no decoder runs. */
  gboolean has_decoder;

  /* (optional) After the model and sessions are ready in start(): checks the outputs,
   * resolves what the subclass needs. FALSE with *error set fails start(). */
  gboolean (*prepare) (GstLensBase * self, GError ** error);

  /* (optional) Frees what prepare() made; called from stop(). */
  void (*release) (GstLensBase * self);

  /* (optional) Appends the GstLensRegion of the frame to infer; default: the whole frame.
   * Runs on the streaming thread; the buffer is writable. */
  void (*collect_regions) (GstLensBase * self, GstBuffer * buffer,
      const GstVideoInfo * info, GArray * regions);

  /* Turns batch item `batch_index` of the outputs into metadata on item->buffer. Runs on a
   * worker thread, with the metadata lock held (one process_item at a time per element). */
  void (*process_item) (GstLensBase * self, const GstLensItem * item,
      const lens_tensor * outputs, gsize n_outputs, gsize batch_index);
};

/* The "decoder" property, installed by the subclasses that decode (lensinfer does not);
 * their set/get_property call the two accessors. */
void gst_lens_base_class_install_decoder_property (GstLensBaseClass * klass,
    guint prop_id, const gchar * blurb);
void gst_lens_base_set_decoder_property (GstLensBase * self,
    lens_decoder_kind kind);
lens_decoder_kind gst_lens_base_get_decoder_property (GstLensBase * self);

/* The running configuration, valid between start() and stop(). */
lens_decoder_kind gst_lens_base_get_decoder (GstLensBase * self);
const gchar *gst_lens_base_get_model_path (GstLensBase * self);
/* Labels file lines (NULL if the labels property is unset). */
const gchar *const *gst_lens_base_get_labels (GstLensBase * self, gsize * n_labels);
/* The model input's spatial size in pixels (tensor width and height). */
void gst_lens_base_get_input_size (GstLensBase * self, gint * width,
    gint * height);
const LensPreprocessParams *gst_lens_base_get_preprocess_params (GstLensBase *
    self);
/* Output descriptions as bound in the sessions. */
const lens_tensor_desc *gst_lens_base_get_output_desc (GstLensBase * self,
    gsize index);
gsize gst_lens_base_get_n_outputs (GstLensBase * self);
/* Items per inference request (the model's bound batch dimension). */
gint gst_lens_base_get_request_batch (GstLensBase * self);

G_END_DECLS

#endif
