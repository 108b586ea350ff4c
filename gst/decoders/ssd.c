/* SSD outputs in three layouts (see lens_ssd_format):
 *   torchvision head  bbox_regression [B,N,4] + cls_logits [B,N,C]: default boxes as
 *                     torchvision's DefaultBoxGenerator for ssdlite320_mobilenet_v3_large,
 *                     BoxCoder decoding with weights (10,10,5,5), softmax over classes,
 *                     per-class threshold and top-k, background skipped, per-class NMS;
 *   decoded           boxes x1,y1,x2,y2 [B,N,4] + scores [B,N] or [B,N,C] (+ labels [B,N]);
 *   DetectionOutput   [B,1,N,7]: image_id, label, conf, x1, y1, x2, y2 (normalised; rows
 *                     after an image_id of -1 are padding); the model already applied NMS. */
#include <math.h>
#include <stdlib.h>

#include "decoders_private.h"

/* torchvision's SSD postprocess keeps this many candidates per class before NMS. */
#define LENS_SSD_TOPK_PER_CLASS 300
/* torchvision BoxCoder: exp() of the size deltas is capped at 1000/16. */
#define LENS_SSD_BBOX_XFORM_CLIP 4.135166556742356 /* log(1000 / 16) */
#define LENS_SSDLITE_MAPS 6
#define LENS_SSDLITE_BOXES_PER_CELL 6
/* More default boxes than this is not an SSDlite head (a 20000x20000 input has ~13M). */
#define LENS_SSDLITE_MAX_BOXES ((size_t)1 << 26)

/* ---- default boxes -------------------------------------------------------------------------- */

/* Feature map sizes from the first (stride 16) map: every later map is a stride-2 3x3
 * convolution with padding 1, i.e. ceil(n / 2). Returns the number of default boxes. */
static size_t ssdlite_grid(size_t first_h, size_t first_w, size_t fh[LENS_SSDLITE_MAPS],
                           size_t fw[LENS_SSDLITE_MAPS]) {
  size_t total = 0;
  for (int k = 0; k < LENS_SSDLITE_MAPS; k++) {
    fh[k] = k ? (fh[k - 1] + 1) / 2 : first_h;
    fw[k] = k ? (fw[k - 1] + 1) / 2 : first_w;
    total += fh[k] * fw[k] * LENS_SSDLITE_BOXES_PER_CELL;
  }
  return total;
}

lens_status *lens_ssdlite_default_boxes(size_t n_boxes, int input_width, int input_height,
                                        float **out_boxes) {
  if (!out_boxes)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "ssdlite default boxes: NULL output");
  *out_boxes = NULL;
  size_t fh[LENS_SSDLITE_MAPS], fw[LENS_SSDLITE_MAPS];
  bool found = false;
  if (n_boxes == 0 || n_boxes > LENS_SSDLITE_MAX_BOXES)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "SSD head: %zu boxes is not an SSDlite default box count", n_boxes);
  if (input_width > 0 && input_height > 0 && input_width <= 1 << 20 && input_height <= 1 << 20)
    found = ssdlite_grid(((size_t)input_height + 15) / 16, ((size_t)input_width + 15) / 16, fh,
                         fw) == n_boxes;
  for (size_t s = 1; !found; s++) {
    size_t total = ssdlite_grid(s, s, fh, fw);
    if (total == n_boxes) found = true;
    if (total >= n_boxes) break;
  }
  if (!found)
    return lens_status_create(
        LENS_ERR_UNSUPPORTED,
        "SSD head: %zu boxes fit no SSDlite320 default box layout (6 boxes per cell on 6 "
        "feature maps of input/16, /32, ... e.g. 3234 for 320x320, input %dx%d); decode the "
        "boxes in the model or use another decoder",
        n_boxes, input_width, input_height);

  /* Scales 0.2 .. 0.95 linearly over the maps, then 1.0 for the last s'_k. */
  double scales[LENS_SSDLITE_MAPS + 1];
  for (int k = 0; k < LENS_SSDLITE_MAPS; k++)
    scales[k] = 0.2 + (0.95 - 0.2) * k / (LENS_SSDLITE_MAPS - 1.0);
  scales[LENS_SSDLITE_MAPS] = 1.0;

  float *boxes = malloc(n_boxes * 4 * sizeof *boxes);
  if (!boxes) return lens_status_create(LENS_ERR_OUT_OF_MEMORY, "SSD head: out of memory");
  size_t o = 0;
  for (int k = 0; k < LENS_SSDLITE_MAPS; k++) {
    /* (w,h) pairs: s_k square, sqrt(s_k s_k+1) square, then per aspect ratio 2 and 3 the pair
     * (s_k sqrt(ar), s_k / sqrt(ar)) and its transpose; clipped to [0,1]. */
    double s = scales[k], s_prime = sqrt(scales[k] * scales[k + 1]);
    double wh[LENS_SSDLITE_BOXES_PER_CELL][2] = {{s, s}, {s_prime, s_prime}};
    const double ratios[2] = {2.0, 3.0};
    for (int r = 0; r < 2; r++) {
      double q = sqrt(ratios[r]);
      wh[2 + 2 * r][0] = s * q;
      wh[2 + 2 * r][1] = s / q;
      wh[3 + 2 * r][0] = s / q;
      wh[3 + 2 * r][1] = s * q;
    }
    for (size_t y = 0; y < fh[k]; y++) {
      for (size_t x = 0; x < fw[k]; x++) {
        float cx = (float)(x + 0.5) / (float)fw[k], cy = (float)(y + 0.5) / (float)fh[k];
        for (int b = 0; b < LENS_SSDLITE_BOXES_PER_CELL; b++) {
          boxes[o++] = cx;
          boxes[o++] = cy;
          boxes[o++] = lens_dec_clamp01((float)wh[b][0]);
          boxes[o++] = lens_dec_clamp01((float)wh[b][1]);
        }
      }
    }
  }
  *out_boxes = boxes;
  return NULL;
}

/* ---- shared ------------------------------------------------------------------------------- */

typedef struct scored_index {
  float score;
  size_t index;
} scored_index;

static int cmp_scored_desc(const void *pa, const void *pb) {
  const scored_index *a = pa, *b = pb;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

/* Per-class candidates from a [N,C] probability matrix (prob(i,c) from the callback), top-k
 * per class like torchvision, with boxes from boxes[4*i] (normalised x1,y1,x2,y2; NaN rows
 * are skipped). */
typedef float (*prob_fn)(const void *ctx, size_t i, size_t c);

static lens_status *per_class_candidates(const void *ctx, prob_fn prob, size_t n, size_t classes,
                                         const float *boxes, const lens_dec_limits *lim,
                                         lens_dec_cands *cands) {
  scored_index *tmp = malloc((n ? n : 1) * sizeof *tmp);
  if (!tmp) return lens_status_create(LENS_ERR_OUT_OF_MEMORY, "SSD: out of memory");
  size_t topk = LENS_SSD_TOPK_PER_CLASS;
  if (lim->max_keep > topk) topk = lim->max_keep;
  lens_status *st = NULL;
  for (size_t c = 0; c < classes && !st; c++) {
    if ((long long)c == (long long)lim->p.background_label) continue;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      float p = prob(ctx, i, c);
      if (isfinite(p) && p >= lim->p.threshold && !isnan(boxes[4 * i])) {
        tmp[m].score = p;
        tmp[m].index = i;
        m++;
      }
    }
    if (m > topk) {
      qsort(tmp, m, sizeof *tmp, cmp_scored_desc);
      m = topk;
    }
    for (size_t j = 0; j < m && !st; j++) {
      const float *b = boxes + 4 * tmp[j].index;
      lens_detection d = {0};
      if (!lens_dec_set_box(&d, b[0], b[1], b[2], b[3])) continue;
      d.confidence = tmp[j].score;
      d.label_id = c > (size_t)INT32_MAX ? INT32_MAX : (int)c;
      st = lens_dec_cands_push(cands, &d);
    }
  }
  free(tmp);
  return st;
}

/* ---- torchvision head ----------------------------------------------------------------------- */

typedef struct prob_matrix {
  const float *p;
  size_t classes;
} prob_matrix;

static float prob_from_matrix(const void *ctx, size_t i, size_t c) {
  const prob_matrix *m = ctx;
  return m->p[i * m->classes + c];
}

static lens_status *decode_torchvision_head(const lens_dec_view *reg, const lens_dec_view *logits,
                                            size_t n, size_t classes, const lens_dec_limits *lim,
                                            lens_detection *out, size_t *n_out) {
  float *anchors = NULL;
  lens_status *st =
      lens_ssdlite_default_boxes(n, lim->p.input_width, lim->p.input_height, &anchors);
  if (st) return st;
  float *boxes = malloc(n * 4 * sizeof *boxes);
  float *probs = (n <= SIZE_MAX / sizeof(float) / classes) ? malloc(n * classes * sizeof *probs)
                                                           : NULL;
  lens_dec_cands cands = {0};
  if (!boxes || !probs) {
    st = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "SSD head: out of memory for %zu boxes", n);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    const float *a = anchors + 4 * i;
    double dx = lens_dec_at(reg, 4 * i) / 10.0, dy = lens_dec_at(reg, 4 * i + 1) / 10.0;
    double dw = lens_dec_at(reg, 4 * i + 2) / 5.0, dh = lens_dec_at(reg, 4 * i + 3) / 5.0;
    float *b = boxes + 4 * i;
    if (isnan(dx) || isnan(dy) || isnan(dw) || isnan(dh) || isinf(dx) || isinf(dy)) {
      b[0] = b[1] = b[2] = b[3] = NAN;
      continue;
    }
    /* -inf sizes give empty boxes (rejected later); +inf are capped like the rest. */
    dw = fmin(dw, LENS_SSD_BBOX_XFORM_CLIP);
    dh = fmin(dh, LENS_SSD_BBOX_XFORM_CLIP);
    double cx = dx * a[2] + a[0], cy = dy * a[3] + a[1];
    double w = exp(dw) * a[2], h = exp(dh) * a[3];
    b[0] = (float)(cx - 0.5 * w);
    b[1] = (float)(cy - 0.5 * h);
    b[2] = (float)(cx + 0.5 * w);
    b[3] = (float)(cy + 0.5 * h);
  }
  for (size_t i = 0; i < n; i++) {
    float *p = probs + i * classes;
    size_t base = i * classes;
    float mx = -INFINITY;
    bool probabilities = true;
    double sum = 0.0;
    for (size_t c = 0; c < classes; c++) {
      float x = lens_dec_at(logits, base + c);
      p[c] = x;
      if (!(x >= 0.0f && x <= 1.0f)) probabilities = false;
      if (isfinite(x)) sum += x;
      if (x > mx) mx = x;
    }
    if (probabilities && fabs(sum - 1.0) <= 1e-3) continue;
    if (!isfinite(mx)) { /* no usable logits (NaN, or +inf which softmax cannot weigh) */
      for (size_t c = 0; c < classes; c++) p[c] = NAN;
      continue;
    }
    double den = 0.0;
    for (size_t c = 0; c < classes; c++) {
      if (isnan(p[c])) continue;
      p[c] = (float)exp((double)p[c] - mx);
      den += p[c];
    }
    for (size_t c = 0; c < classes; c++) p[c] = (float)(p[c] / den);
  }
  const prob_matrix pm = {probs, classes};
  st = per_class_candidates(&pm, prob_from_matrix, n, classes, boxes, lim, &cands);
  if (!st) lens_dec_finish(cands.v, cands.n, lim, false, out, n_out);
done:
  free(cands.v);
  free(probs);
  free(boxes);
  free(anchors);
  return st;
}

/* ---- decoded boxes ----------------------------------------------------------------------- */

typedef struct view_classes {
  const lens_dec_view *v;
  size_t classes;
} view_classes;

static float prob_from_view(const void *ctx, size_t i, size_t c) {
  const view_classes *vc = ctx;
  return lens_dec_at(vc->v, i * vc->classes + c);
}

static lens_status *decode_boxes(const lens_dec_view *bv, const lens_dec_view *sv,
                                 size_t classes, const lens_dec_view *lv, size_t n,
                                 const lens_dec_limits *lim, lens_detection *out,
                                 size_t *n_out) {
  bool unit_range = true;
  for (size_t i = 0; i < 4 * n && unit_range; i++) {
    float x = lens_dec_at(bv, i);
    if (isfinite(x) && (x < -0.5f || x > 1.5f)) unit_range = false;
  }
  float sx, sy;
  lens_status *st = lens_dec_box_scale(lim, unit_range, "ssd decoder", &sx, &sy);
  if (st) return st;
  float *boxes = malloc(n * 4 * sizeof *boxes);
  if (!boxes) return lens_status_create(LENS_ERR_OUT_OF_MEMORY, "SSD: out of memory");
  for (size_t i = 0; i < n; i++) {
    boxes[4 * i] = lens_dec_at(bv, 4 * i) * sx;
    boxes[4 * i + 1] = lens_dec_at(bv, 4 * i + 1) * sy;
    boxes[4 * i + 2] = lens_dec_at(bv, 4 * i + 2) * sx;
    boxes[4 * i + 3] = lens_dec_at(bv, 4 * i + 3) * sy;
  }
  lens_dec_cands cands = {0};
  if (classes) {
    view_classes vc = {sv, classes};
    st = per_class_candidates(&vc, prob_from_view, n, classes, boxes, lim, &cands);
  } else {
    for (size_t i = 0; i < n && !st; i++) {
      float score = lens_dec_at(sv, i);
      if (!isfinite(score) || !(score >= lim->p.threshold)) continue;
      lens_detection d = {0};
      if (!lens_dec_set_box(&d, boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2],
                            boxes[4 * i + 3]))
        continue;
      d.confidence = score;
      if (lv) {
        float l = lens_dec_at(lv, i);
        d.label_id = (l >= 0.0f && l < 2147483520.0f) ? (int)lrintf(l) : -1;
      }
      st = lens_dec_cands_push(&cands, &d);
    }
  }
  if (!st) lens_dec_finish(cands.v, cands.n, lim, false, out, n_out);
  free(cands.v);
  free(boxes);
  return st;
}

/* ---- DetectionOutput ------------------------------------------------------------------------ */

static lens_status *decode_detection_output(const lens_tensor *t, size_t batch,
                                            const lens_dec_limits *lim, lens_detection *out,
                                            size_t *n_out) {
  /* [1,1,N,7] holds every image, told apart by image_id; [B,1,N,7] one per batch item. */
  bool by_image_id = t->dims[0] == 1;
  lens_dec_view v;
  lens_status *st = lens_dec_view_batch(t, "ssd decoder: detection output",
                                        by_image_id ? 0 : batch, &v);
  if (st) return st;
  size_t n = (size_t)t->dims[2];
  bool unit_range = true;
  for (size_t i = 0; i < n && unit_range; i++) {
    for (size_t f = 3; f < 7; f++) {
      float x = lens_dec_at(&v, 7 * i + f);
      if (isfinite(x) && (x < -0.5f || x > 1.5f)) unit_range = false;
    }
  }
  float sx, sy;
  st = lens_dec_box_scale(lim, unit_range, "ssd decoder", &sx, &sy);
  if (st) return st;
  lens_dec_cands cands = {0};
  for (size_t i = 0; i < n && !st; i++) {
    float image = lens_dec_at(&v, 7 * i);
    if (image < 0.0f) break; /* end marker */
    if (by_image_id && !(image == (float)batch)) continue;
    float conf = lens_dec_at(&v, 7 * i + 2);
    if (!isfinite(conf) || !(conf >= lim->p.threshold)) continue;
    lens_detection d = {0};
    if (!lens_dec_set_box(&d, lens_dec_at(&v, 7 * i + 3) * sx, lens_dec_at(&v, 7 * i + 4) * sy,
                          lens_dec_at(&v, 7 * i + 5) * sx, lens_dec_at(&v, 7 * i + 6) * sy))
      continue;
    float l = lens_dec_at(&v, 7 * i + 1);
    d.label_id = (l >= 0.0f && l < 2147483520.0f) ? (int)lrintf(l) : -1;
    d.confidence = conf;
    st = lens_dec_cands_push(&cands, &d);
  }
  if (!st) lens_dec_finish(cands.v, cands.n, lim, true, out, n_out);
  free(cands.v);
  return st;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

static bool is_integer_dtype(lens_dtype t) {
  return t == LENS_DTYPE_INT32 || t == LENS_DTYPE_INT64 || t == LENS_DTYPE_UINT8 ||
         t == LENS_DTYPE_INT8;
}

static bool all_within(const lens_dec_view *v, float lo, float hi) {
  for (size_t i = 0; i < v->count; i++) {
    float x = lens_dec_at(v, i);
    if (!(x >= lo && x <= hi)) return false;
  }
  return true;
}

static bool boxes_ordered(const lens_dec_view *v) {
  for (size_t i = 0; i + 3 < v->count; i += 4) {
    float x1 = lens_dec_at(v, i), y1 = lens_dec_at(v, i + 1);
    float x2 = lens_dec_at(v, i + 2), y2 = lens_dec_at(v, i + 3);
    if (x2 < x1 || y2 < y1) return false;
  }
  return true;
}

lens_status *lens_decode_ssd(const lens_tensor *outputs, size_t n_outputs, size_t batch,
                             const lens_dec_limits *lim, lens_detection *out, size_t *n_out) {
  char s0[160], s1[160], s2[160];
  lens_ssd_format format = lim->p.ssd_format;
  if (n_outputs == 1) {
    const lens_tensor *t = &outputs[0];
    if (t->rank != 4 || t->dims[1] != 1 || t->dims[3] != 7)
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "ssd decoder: one output shaped %s, expected [B,1,N,7]",
                                lens_dec_shape_string(t->dims, t->rank, s0, sizeof s0));
    if (format != LENS_SSD_FORMAT_AUTO && format != LENS_SSD_FORMAT_DETECTION_OUTPUT)
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "ssd decoder: one [B,1,N,7] output needs the DetectionOutput "
                                "format");
    return decode_detection_output(t, batch, lim, out, n_out);
  }
  if (n_outputs != 2 && n_outputs != 3)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "ssd decoder: expected 1, 2 or 3 outputs, got %zu", n_outputs);

  /* Boxes: the first [B,N,4]; of the others, an integer or rank-2 second one may be labels. */
  size_t bi = n_outputs;
  for (size_t i = 0; i < n_outputs && bi == n_outputs; i++)
    if (outputs[i].rank == 3 && outputs[i].dims[2] == 4) bi = i;
  if (bi == n_outputs)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "ssd decoder: no boxes output shaped [B,N,4] among %s, %s%s%s",
                              lens_dec_shape_string(outputs[0].dims, outputs[0].rank, s0, 160),
                              lens_dec_shape_string(outputs[1].dims, outputs[1].rank, s1, 160),
                              n_outputs > 2 ? ", " : "",
                              n_outputs > 2 ? lens_dec_shape_string(outputs[2].dims,
                                                                    outputs[2].rank, s2, 160)
                                            : "");
  const lens_tensor *boxes = &outputs[bi], *scores = NULL, *labels = NULL;
  const lens_tensor *rest[2];
  size_t nr = 0;
  for (size_t i = 0; i < n_outputs; i++)
    if (i != bi) rest[nr++] = &outputs[i];
  lens_dec_view bv, sv, lv;
  lens_status *st = lens_dec_view_batch(boxes, "ssd decoder: boxes", batch, &bv);
  if (st) return st;
  const size_t n = (size_t)boxes->dims[1];
  for (size_t i = 0; i < nr; i++) {
    const lens_tensor *t = rest[i];
    if ((t->rank != 2 && t->rank != 3) || t->dims[1] != boxes->dims[1])
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "ssd decoder: output shaped %s does not go with boxes %s",
                                lens_dec_shape_string(t->dims, t->rank, s0, sizeof s0),
                                lens_dec_shape_string(boxes->dims, boxes->rank, s1, sizeof s1));
  }
  if (nr == 1) {
    scores = rest[0];
  } else {
    /* Scores and labels in either order: integer dtype or per-class scores decide, then
     * values outside [0,1], else the order boxes, scores, labels. */
    int li = -1;
    if (rest[0]->rank == 3) li = 1;
    else if (rest[1]->rank == 3) li = 0;
    else if (is_integer_dtype(rest[0]->dtype) != is_integer_dtype(rest[1]->dtype))
      li = is_integer_dtype(rest[0]->dtype) ? 0 : 1;
    else {
      lens_dec_view v0;
      st = lens_dec_view_batch(rest[0], "ssd decoder: scores", batch, &v0);
      if (st) return st;
      li = all_within(&v0, 0.0f, 1.0f) ? 1 : 0;
    }
    labels = rest[li];
    scores = rest[1 - li];
    if (labels->rank != 2)
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "ssd decoder: labels shaped %s, expected [B,N]",
                                lens_dec_shape_string(labels->dims, labels->rank, s0, 160));
  }
  st = lens_dec_view_batch(scores, "ssd decoder: scores", batch, &sv);
  if (st) return st;
  if (labels) {
    st = lens_dec_view_batch(labels, "ssd decoder: labels", batch, &lv);
    if (st) return st;
  }
  size_t classes = scores->rank == 3 ? (size_t)scores->dims[2] : 0;

  if (format == LENS_SSD_FORMAT_DETECTION_OUTPUT)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "ssd decoder: the DetectionOutput format is one [B,1,N,7] output");
  if (format == LENS_SSD_FORMAT_AUTO) {
    format = LENS_SSD_FORMAT_DECODED;
    if (classes && !labels && !(boxes_ordered(&bv) && all_within(&sv, 0.0f, 1.0f)))
      format = LENS_SSD_FORMAT_TORCHVISION_HEAD;
  }
  if (format == LENS_SSD_FORMAT_TORCHVISION_HEAD) {
    if (classes < 2 || labels)
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "ssd decoder: the torchvision head format needs "
                                "bbox_regression [B,N,4] and cls_logits [B,N,C>=2], got %s, %s",
                                lens_dec_shape_string(boxes->dims, boxes->rank, s0, 160),
                                lens_dec_shape_string(scores->dims, scores->rank, s1, 160));
    return decode_torchvision_head(&bv, &sv, n, classes, lim, out, n_out);
  }
  return decode_boxes(&bv, &sv, classes, labels ? &lv : NULL, n, lim, out, n_out);
}
