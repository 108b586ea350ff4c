/* Shared by the decoder files: tensor checks, element access by dtype, the per-decoder entry
 * points that decoders.c dispatches to, and the common "sort, NMS, copy out" tail. */
#ifndef LENS_GST_DECODERS_PRIVATE_H
#define LENS_GST_DECODERS_PRIVATE_H

#include <stdint.h>
#include <string.h>

#include "decoders.h"

/* A batch item of a checked tensor: `count` elements from element index `offset`. */
typedef struct lens_dec_view {
  const lens_tensor *tensor;
  size_t offset;
  size_t count;
} lens_dec_view;

/* Checks that `t` is a readable numeric tensor whose bytes cover its dims and that batch
 * item `batch` exists along dims[0]; fills *view with that item. `what` names the tensor in
 * messages. */
lens_status *lens_dec_view_batch(const lens_tensor *t, const char *what, size_t batch,
                                 lens_dec_view *view);

/* Element i of a checked tensor as float (NaN stays NaN; int64 beyond 2^24 loses precision,
 * which labels and ids never reach). */
static inline float lens_dec_get(const lens_tensor *t, size_t i) {
  const unsigned char *p = (const unsigned char *)t->data;
  switch (t->dtype) {
  case LENS_DTYPE_FLOAT32: {
    float v;
    memcpy(&v, p + i * 4, 4);
    return v;
  }
  case LENS_DTYPE_FLOAT16: {
    uint16_t h;
    memcpy(&h, p + i * 2, 2);
    return lens_half_to_float(h);
  }
  case LENS_DTYPE_INT32: {
    int32_t v;
    memcpy(&v, p + i * 4, 4);
    return (float)v;
  }
  case LENS_DTYPE_INT64: {
    int64_t v;
    memcpy(&v, p + i * 8, 8);
    return (float)v;
  }
  case LENS_DTYPE_UINT8: return (float)p[i];
  case LENS_DTYPE_INT8: return (float)(int8_t)p[i];
  default: return 0.0f;
  }
}

static inline float lens_dec_at(const lens_dec_view *v, size_t i) {
  return lens_dec_get(v->tensor, v->offset + i);
}

static inline float lens_dec_clamp01(float v) {
  if (!(v > 0.0f)) return 0.0f; /* also NaN */
  return v < 1.0f ? v : 1.0f;
}

/* "[1,3234,4]" into buf (for messages). */
const char *lens_dec_shape_string(const int64_t *dims, int rank, char *buf, size_t size);

/* Resolved parameters: defaults for NULL, out-of-range values clamped, the detection limit
 * folded with max_out. */
typedef struct lens_dec_limits {
  lens_detect_params p;
  size_t max_keep;
} lens_dec_limits;
void lens_dec_resolve_params(const lens_detect_params *params, size_t max_out,
                             lens_dec_limits *out);

/* Sorts by decreasing confidence (NaN last); ties by label, then box, so the order does not
 * depend on the sort algorithm. */
void lens_dec_sort(lens_detection *dets, size_t n);

/* Sorts the candidates, applies NMS (unless skip_nms) up to the limit and copies the result
 * to out. Takes ownership of nothing; cands is reordered. */
void lens_dec_finish(lens_detection *cands, size_t n, const lens_dec_limits *lim, bool skip_nms,
                     lens_detection *out, size_t *n_out);

/* A growable array of candidate detections (bounded by the caller's tensor size). */
typedef struct lens_dec_cands {
  lens_detection *v;
  size_t n, cap;
} lens_dec_cands;
lens_status *lens_dec_cands_push(lens_dec_cands *c, const lens_detection *d);

/* Fills d's box from corners (normalised), clamped to [0,1]; false if the box is empty or
 * not finite after clamping. */
bool lens_dec_set_box(lens_detection *d, float x1, float y1, float x2, float y2);

/* Scale factors that bring box coordinates to normalised units: (1,1) for normalised,
 * (1/input_width, 1/input_height) for pixels. all_within_unit_range: every finite coordinate
 * of the tensor lies within [-0.5, 1.5] (decides AUTO). */
lens_status *lens_dec_box_scale(const lens_dec_limits *lim, bool all_within_unit_range,
                                const char *decoder, float *sx, float *sy);

/* Per-decoder entry points (decoders.c checks kind, outputs != NULL and out). */
lens_status *lens_decode_ssd(const lens_tensor *outputs, size_t n_outputs, size_t batch,
                             const lens_dec_limits *lim, lens_detection *out, size_t *n_out);
lens_status *lens_decode_yolo(bool transposed, const lens_tensor *outputs, size_t n_outputs,
                              size_t batch, const lens_dec_limits *lim, lens_detection *out,
                              size_t *n_out);
lens_status *lens_decode_db(const lens_tensor *outputs, size_t n_outputs, size_t batch,
                            const lens_dec_limits *lim, lens_detection *out, size_t *n_out);
lens_status *lens_decode_ctc(const lens_tensor *outputs, size_t n_outputs, size_t batch,
                             const char *const *labels, size_t n_labels,
                             lens_classification *out);
lens_status *lens_decode_softmax(const lens_tensor *outputs, size_t n_outputs, size_t batch,
                                 const char *const *labels, size_t n_labels,
                                 lens_classification *out);

#endif
