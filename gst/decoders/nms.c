/* Greedy non-maximum suppression over lens_detection arrays. */
#include <math.h>
#include <stdlib.h>

#include "decoders_private.h"

static int cmp_float_desc(float a, float b) {
  bool na = isnan(a), nb = isnan(b);
  if (na || nb) return (int)na - (int)nb; /* NaN after everything */
  return (a < b) - (a > b);
}

static int cmp_detection(const void *pa, const void *pb) {
  const lens_detection *a = pa, *b = pb;
  int c = cmp_float_desc(a->confidence, b->confidence);
  if (c) return c;
  if (a->label_id != b->label_id) return a->label_id < b->label_id ? -1 : 1;
  const float ka[4] = {a->x_min, a->y_min, a->x_max, a->y_max};
  const float kb[4] = {b->x_min, b->y_min, b->x_max, b->y_max};
  for (int i = 0; i < 4; i++) {
    c = -cmp_float_desc(ka[i], kb[i]);
    if (c) return c;
  }
  return 0;
}

void lens_dec_sort(lens_detection *dets, size_t n) {
  if (dets && n > 1) qsort(dets, n, sizeof *dets, cmp_detection);
}

static float box_area(const lens_detection *d) {
  float w = d->x_max - d->x_min, h = d->y_max - d->y_min;
  return (w > 0.0f && h > 0.0f) ? w * h : 0.0f;
}

static float iou(const lens_detection *a, const lens_detection *b) {
  float w = fminf(a->x_max, b->x_max) - fmaxf(a->x_min, b->x_min);
  float h = fminf(a->y_max, b->y_max) - fmaxf(a->y_min, b->y_min);
  if (!(w > 0.0f) || !(h > 0.0f)) return 0.0f;
  float inter = w * h;
  float uni = box_area(a) + box_area(b) - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

size_t lens_nms_limit(lens_detection *dets, size_t n, float iou_threshold, bool class_agnostic,
                      size_t max_keep) {
  if (!dets || !n || !max_keep) return 0;
  lens_dec_sort(dets, n);
  /* NaN thresholds suppress nothing; boxes with NaN confidence (sorted last) are dropped. */
  size_t kept = 0;
  for (size_t i = 0; i < n && kept < max_keep; i++) {
    if (isnan(dets[i].confidence)) break;
    bool suppressed = false;
    for (size_t k = 0; k < kept && !suppressed; k++) {
      if (!class_agnostic && dets[k].label_id != dets[i].label_id) continue;
      suppressed = iou(&dets[k], &dets[i]) > iou_threshold;
    }
    if (!suppressed) dets[kept++] = dets[i];
  }
  return kept;
}

size_t lens_nms(lens_detection *dets, size_t n, float iou_threshold, bool class_agnostic) {
  return lens_nms_limit(dets, n, iou_threshold, class_agnostic, (size_t)-1);
}
