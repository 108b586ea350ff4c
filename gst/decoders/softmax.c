/* Classification: [B,C] or [B,C,1,1] logits or probabilities -> argmax class and probability. */
#include <math.h>
#include <stdlib.h>

#include "decoders_private.h"

/* A row is taken as probabilities when it already sums to 1 (within this) in [0,1]. */
#define LENS_SOFTMAX_SUM_TOLERANCE 1e-3

lens_status *lens_decode_softmax(const lens_tensor *outputs, size_t n_outputs, size_t batch,
                                 const char *const *labels, size_t n_labels,
                                 lens_classification *out) {
  if (n_outputs != 1)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "softmax decoder: expected one output, got %zu", n_outputs);
  const lens_tensor *t = &outputs[0];
  char shape[160];
  bool ok_shape = t->rank == 2 || (t->rank == 4 && t->dims[2] == 1 && t->dims[3] == 1);
  if (!ok_shape)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "softmax decoder: output shape %s is not [B,C] or [B,C,1,1]",
                              lens_dec_shape_string(t->dims, t->rank, shape, sizeof shape));
  lens_dec_view v;
  lens_status *st = lens_dec_view_batch(t, "softmax decoder: output", batch, &v);
  if (st) return st;
  size_t c = v.count;

  /* One pass: argmax over finite values, the range and sum of the row. */
  size_t best = c;
  float best_v = -INFINITY;
  double sum = 0.0;
  bool probabilities = true;
  for (size_t i = 0; i < c; i++) {
    float x = lens_dec_at(&v, i);
    if (!(x >= 0.0f && x <= 1.0f)) probabilities = false;
    if (isfinite(x)) sum += x;
    if (!isnan(x) && (best == c || x > best_v)) {
      best = i;
      best_v = x;
    }
  }
  if (best == c)
    return lens_status_create(LENS_ERR_RUNTIME, "softmax decoder: no finite score in %zu classes",
                              c);
  if (probabilities && fabs(sum - 1.0) > LENS_SOFTMAX_SUM_TOLERANCE) probabilities = false;

  float conf;
  if (probabilities) {
    conf = best_v;
  } else if (isinf(best_v) && best_v > 0.0f) {
    /* +inf logits share the probability mass. */
    size_t n_inf = 0;
    for (size_t i = 0; i < c; i++) {
      float x = lens_dec_at(&v, i);
      n_inf += isinf(x) && x > 0.0f;
    }
    conf = 1.0f / (float)n_inf;
  } else {
    double denom = 0.0;
    for (size_t i = 0; i < c; i++) {
      float x = lens_dec_at(&v, i);
      if (!isnan(x)) denom += exp((double)x - (double)best_v);
    }
    conf = denom > 0.0 ? (float)(1.0 / denom) : 0.0f;
  }
  out->label_id = best > (size_t)INT32_MAX ? -1 : (int)best;
  out->confidence = conf;
  out->text[0] = '\0';
  out->label = (labels && best < n_labels) ? labels[best] : NULL;
  return NULL;
}
