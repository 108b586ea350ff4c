/* Lens metadata on GstBuffers, beside the GstVideoRegionOfInterestMeta that carries results.
 *
 * The contract downstream code relies on (see shared ARCHITECTURE.md):
 * - one GstVideoRegionOfInterestMeta per object, in frame pixels, roi_type = the label, with a
 *   GstStructure param named LENS_DETECTION_STRUCTURE: label (string), label_id (int),
 *   confidence (double), x_min, y_min, x_max, y_max (double, normalised to [0,1]);
 * - each classifier adds a GstStructure param named after the classifier (the element's
 *   name or its "classifier-name" property): label, label_id, confidence, and text for
 *   recognisers;
 * - full-frame classification uses a region covering the whole frame whose roi_type is
 *   LENS_FULL_FRAME_ROI_TYPE;
 * - LensLatencyMeta accumulates, per Lens element the buffer passed, nanoseconds per stage;
 * - LensTensorMeta (from lensinfer) holds raw output tensors. */
#ifndef LENS_GST_LENSMETA_H
#define LENS_GST_LENSMETA_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define LENS_DETECTION_STRUCTURE "detection"
#define LENS_FULL_FRAME_ROI_TYPE "full-frame"

/* ---- latency ------------------------------------------------------------------------------ */

#define LENS_LATENCY_MAX_ENTRIES 16

typedef struct _LensLatencyEntry {
  gchar element[64];     /* the element's name */
  guint64 preprocess_ns;
  guint64 wait_ns;       /* queued before inference (batching, requests in flight) */
  guint64 inference_ns;
  guint64 postprocess_ns;
} LensLatencyEntry;

typedef struct _LensLatencyMeta {
  GstMeta meta;
  guint n_entries;
  LensLatencyEntry entries[LENS_LATENCY_MAX_ENTRIES];
} LensLatencyMeta;

GType lens_latency_meta_api_get_type (void);
const GstMetaInfo *lens_latency_meta_get_info (void);
#define LENS_LATENCY_META_API_TYPE (lens_latency_meta_api_get_type ())
#define LENS_LATENCY_META_INFO (lens_latency_meta_get_info ())

#define gst_buffer_get_lens_latency_meta(b) \
  ((LensLatencyMeta *) gst_buffer_get_meta ((b), LENS_LATENCY_META_API_TYPE))

/* Adds (or extends) the buffer's latency meta with an entry for element; returns the entry
 * (NULL if the buffer already carries LENS_LATENCY_MAX_ENTRIES entries). The buffer must be
 * writable. */
LensLatencyEntry *lens_buffer_add_latency_entry (GstBuffer * buffer, const gchar * element);

/* ---- raw tensors ----------------------------------------------------------------------- */

#define LENS_TENSOR_MAX_RANK 8

typedef struct _LensTensor {
  gchar *name;
  gint dtype;            /* lens_dtype values (ONNX TensorProto.DataType) */
  gint rank;
  gint64 dims[LENS_TENSOR_MAX_RANK];
  GBytes *data;
} LensTensor;

typedef struct _LensTensorMeta {
  GstMeta meta;
  gchar *model;          /* the model path */
  guint n_tensors;
  LensTensor *tensors;
} LensTensorMeta;

GType lens_tensor_meta_api_get_type (void);
const GstMetaInfo *lens_tensor_meta_get_info (void);
#define LENS_TENSOR_META_API_TYPE (lens_tensor_meta_api_get_type ())
#define LENS_TENSOR_META_INFO (lens_tensor_meta_get_info ())

#define gst_buffer_get_lens_tensor_meta(b) \
  ((LensTensorMeta *) gst_buffer_get_meta ((b), LENS_TENSOR_META_API_TYPE))

/* Adds a tensor meta with n_tensors empty slots for the caller to fill (names are g_strdup'd,
 * data are GBytes owned by the meta). */
LensTensorMeta *lens_buffer_add_tensor_meta (GstBuffer * buffer, const gchar * model,
    guint n_tensors);

G_END_DECLS

#endif
