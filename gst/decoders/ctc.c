/* PaddleOCR CTC recognition: [B,T,C] per-step class probabilities -> UTF-8 text. Greedy:
 * argmax per step, repeats collapsed, blank (0) dropped, index i -> labels[i-1], index
 * n_labels+1 -> ' ' (PaddleOCR appends a space to its dictionary). */
#include <math.h>
#include <stdlib.h>

#include "decoders_private.h"

/* Appends as much of s as fits in buf (capacity cap including the NUL), cut at a UTF-8
 * character boundary. Returns false when something did not fit. */
static bool append_utf8(char *buf, size_t *len, size_t cap, const char *s) {
  size_t n = strlen(s);
  size_t room = cap - 1 - *len;
  bool all = n <= room;
  if (!all) {
    n = room;
    /* Back off continuation bytes (10xxxxxx) so a character is never split. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  }
  memcpy(buf + *len, s, n);
  *len += n;
  buf[*len] = '\0';
  return all;
}

lens_status *lens_decode_ctc(const lens_tensor *outputs, size_t n_outputs, size_t batch,
                             const char *const *labels, size_t n_labels,
                             lens_classification *out) {
  if (n_outputs != 1)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "ctc decoder: expected one output, got %zu", n_outputs);
  const lens_tensor *t = &outputs[0];
  char shape[160];
  if (t->rank != 3)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "ctc decoder: output shape %s is not [B,T,C]",
                              lens_dec_shape_string(t->dims, t->rank, shape, sizeof shape));
  if (!labels || !n_labels)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "ctc decoder: a dictionary (labels) is required");
  lens_dec_view v;
  lens_status *st = lens_dec_view_batch(t, "ctc decoder: output", batch, &v);
  if (st) return st;
  size_t steps = (size_t)t->dims[1], classes = (size_t)t->dims[2];

  size_t len = 0, prev = (size_t)-1, kept = 0;
  double conf_sum = 0.0;
  bool full = false;
  out->text[0] = '\0';
  for (size_t s = 0; s < steps; s++) {
    size_t base = s * classes, best = classes;
    float best_v = -INFINITY;
    for (size_t k = 0; k < classes; k++) {
      float x = lens_dec_at(&v, base + k);
      if (!isnan(x) && (best == classes || x > best_v)) {
        best = k;
        best_v = x;
      }
    }
    if (best == classes) { /* a step of NaNs: breaks a repeat like a blank would */
      prev = (size_t)-1;
      continue;
    }
    size_t idx = best;
    if (idx != prev && idx != 0) {
      float p = best_v;
      if (!(p >= 0.0f && p <= 1.0f)) {
        /* Logits rather than probabilities: the softmax probability of the maximum. */
        double denom = 0.0;
        for (size_t k = 0; k < classes; k++) {
          float x = lens_dec_at(&v, base + k);
          if (!isnan(x)) denom += exp((double)x - (double)best_v);
        }
        p = (isfinite(best_v) && denom > 0.0) ? (float)(1.0 / denom) : 1.0f;
      }
      const char *piece = NULL;
      if (idx <= n_labels)
        piece = labels[idx - 1];
      else if (idx == n_labels + 1)
        piece = " ";
      /* Indices beyond the dictionary have no character; they still count as a kept step. */
      if (piece && !full) full = !append_utf8(out->text, &len, sizeof out->text, piece);
      conf_sum += p;
      kept++;
    }
    prev = idx;
  }
  out->label_id = -1;
  out->confidence = kept ? (float)(conf_sum / (double)kept) : 0.0f;
  out->label = NULL;
  return NULL;
}
