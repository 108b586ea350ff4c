/* YOLO detection heads as exported by Ultralytics:
 *   YOLOv5       [B,N,5+C]: cx,cy,w,h, objectness, C class probabilities; score = obj * cls
 *   YOLOv8/v11   [B,4+C,N]: cx,cy,w,h, C class probabilities (transposed, no objectness)
 * Boxes are in input pixels (normalised outputs are recognised by their range). One candidate
 * per box (its best class), then per-class NMS unless class_agnostic_nms. */
#include <math.h>
#include <stdlib.h>

#include "decoders_private.h"

typedef struct yolo_layout {
  size_t n_boxes, n_fields, n_classes, first_class;
  bool transposed, objectness;
} yolo_layout;

static float field(const lens_dec_view *v, const yolo_layout *l, size_t box, size_t f) {
  return l->transposed ? lens_dec_at(v, f * l->n_boxes + box)
                       : lens_dec_at(v, box * l->n_fields + f);
}

lens_status *lens_decode_yolo(bool transposed, const lens_tensor *outputs, size_t n_outputs,
                              size_t batch, const lens_dec_limits *lim, lens_detection *out,
                              size_t *n_out) {
  const char *name = transposed ? "yolov8 decoder" : "yolov5 decoder";
  const lens_tensor *t = &outputs[0];
  char shape[160];
  yolo_layout l = {0};
  l.transposed = transposed;
  l.objectness = !transposed;
  l.first_class = transposed ? 4 : 5;
  if (t->rank == 3 && t->dims[1] > 0 && t->dims[2] > 0) {
    l.n_boxes = (size_t)(transposed ? t->dims[2] : t->dims[1]);
    l.n_fields = (size_t)(transposed ? t->dims[1] : t->dims[2]);
  }
  if (l.n_fields <= l.first_class)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "%s: output shape %s is not %s", name,
                              lens_dec_shape_string(t->dims, t->rank, shape, sizeof shape),
                              transposed ? "[B,4+C,N]" : "[B,N,5+C]");
  l.n_classes = l.n_fields - l.first_class;
  lens_dec_view v;
  lens_status *st = lens_dec_view_batch(t, name, batch, &v);
  if (st) return st;

  bool unit_range = true;
  for (size_t i = 0; i < l.n_boxes && unit_range; i++) {
    for (size_t f = 0; f < 4; f++) {
      float x = field(&v, &l, i, f);
      if (isfinite(x) && (x < -0.5f || x > 1.5f)) unit_range = false;
    }
  }
  float sx, sy;
  st = lens_dec_box_scale(lim, unit_range, name, &sx, &sy);
  if (st) return st;

  lens_dec_cands cands = {0};
  const float thr = lim->p.threshold;
  for (size_t i = 0; i < l.n_boxes && !st; i++) {
    float obj = 1.0f;
    if (l.objectness) {
      obj = field(&v, &l, i, 4);
      if (!(obj >= thr) && obj <= 1.0f) continue; /* obj * cls <= obj for probabilities */
    }
    size_t best = l.n_classes;
    float best_v = 0.0f;
    for (size_t c = 0; c < l.n_classes; c++) {
      float x = field(&v, &l, i, l.first_class + c);
      if (!isnan(x) && (best == l.n_classes || x > best_v)) {
        best = c;
        best_v = x;
      }
    }
    if (best == l.n_classes) continue;
    float score = obj * best_v;
    if (!isfinite(score) || !(score >= thr)) continue;
    float cx = field(&v, &l, i, 0) * sx, cy = field(&v, &l, i, 1) * sy;
    float w = field(&v, &l, i, 2) * sx, h = field(&v, &l, i, 3) * sy;
    if (!(w > 0.0f) || !(h > 0.0f)) continue;
    lens_detection d = {0};
    if (!lens_dec_set_box(&d, cx - 0.5f * w, cy - 0.5f * h, cx + 0.5f * w, cy + 0.5f * h))
      continue;
    d.confidence = score;
    d.label_id = best > (size_t)INT32_MAX ? INT32_MAX : (int)best;
    st = lens_dec_cands_push(&cands, &d);
  }
  if (!st) lens_dec_finish(cands.v, cands.n, lim, false, out, n_out);
  free(cands.v);
  return st;
}
