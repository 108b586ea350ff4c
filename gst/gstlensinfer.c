/**
 * SECTION:element-lensinfer
 * @title: lensinfer
 *
 * Runs any ONNX model with one image input on each frame and attaches its raw output
 * tensors, undecoded, as a #LensTensorMeta (see lensmeta.h): for your own decoding
 * downstream, or to check a model. With batch-size > 1 each frame gets its own slice of
 * every output whose first dimension is the batch.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=10 ! \
 *   lensinfer model=models/real/mobilenet_v2/model.onnx \
 *     mean="123.675,116.28,103.53" scale="0.017125,0.017507,0.017429" ! \
 *   fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstlensbase.h"
#include "lensmeta.h"

#define GST_TYPE_LENS_INFER (gst_lens_infer_get_type ())
G_DECLARE_FINAL_TYPE (GstLensInfer, gst_lens_infer, GST, LENS_INFER,
    GstLensBase);

struct _GstLensInfer
{
  GstLensBase parent;
};

G_DEFINE_TYPE (GstLensInfer, gst_lens_infer, GST_TYPE_LENS_BASE);
GST_ELEMENT_REGISTER_DEFINE (lensinfer, "lensinfer", GST_RANK_NONE,
    GST_TYPE_LENS_INFER);

static void
gst_lens_infer_process_item (GstLensBase * base, const GstLensItem * item,
    const lens_tensor * outputs, gsize n_outputs, gsize batch_index)
{
  gint request_batch = gst_lens_base_get_request_batch (base);
  LensTensorMeta *meta = lens_buffer_add_tensor_meta (item->buffer,
      gst_lens_base_get_model_path (base), (guint) n_outputs);
  if (!meta)
    return;
  for (gsize i = 0; i < n_outputs; i++) {
    const lens_tensor *t = &outputs[i];
    const lens_tensor_desc *desc = gst_lens_base_get_output_desc (base, i);
    LensTensor *dst = &meta->tensors[i];
    gsize offset = 0, size = t->nbytes;
    dst->name = g_strdup (desc && desc->name ? desc->name : "");
    dst->dtype = t->dtype;
    dst->rank = MIN (t->rank, LENS_TENSOR_MAX_RANK);
    for (gint d = 0; d < dst->rank; d++)
      dst->dims[d] = t->dims[d];
    /* this frame's slice of a batched output */
    if (request_batch > 1 && t->rank >= 1 && t->dims[0] == request_batch
        && t->nbytes % (gsize) request_batch == 0) {
      size = t->nbytes / (gsize) request_batch;
      offset = size * batch_index;
      dst->dims[0] = 1;
    }
    dst->data = t->data ? g_bytes_new ((const guint8 *) t->data + offset, size)
        : g_bytes_new (NULL, 0);
  }
}

static void
gst_lens_infer_init (GstLensInfer * self)
{
}

static void
gst_lens_infer_class_init (GstLensInferClass * klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstLensBaseClass *base_class = GST_LENS_BASE_CLASS (klass);

  base_class->process_item = gst_lens_infer_process_item;

  gst_element_class_set_static_metadata (element_class, "Lens inference",
      "Filter/Analyzer/Video",
      "Runs an ONNX model on video frames and attaches its raw output tensors",
      "Lens");
}
