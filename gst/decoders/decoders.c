/* Decoder names, automatic choice from output shapes, parameters, the shared helpers of the
 * decoder files and the labels file loader. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decoders_private.h"

/* Labels files larger than this are refused (the largest real dictionary is ~30 KiB). */
#define LENS_LABELS_MAX_BYTES ((size_t)64 << 20)

static const char *const decoder_names[] = {
    [LENS_DECODER_AUTO] = "auto",     [LENS_DECODER_SSD] = "ssd",
    [LENS_DECODER_YOLOV5] = "yolov5", [LENS_DECODER_YOLOV8] = "yolov8",
    [LENS_DECODER_DB] = "db",         [LENS_DECODER_CTC] = "ctc",
    [LENS_DECODER_SOFTMAX] = "softmax", [LENS_DECODER_RAW] = "raw",
};
_Static_assert(sizeof decoder_names / sizeof decoder_names[0] == LENS_DECODER_RAW + 1,
               "every lens_decoder_kind needs a name");

bool lens_decoder_from_string(const char *name, lens_decoder_kind *out) {
  if (!name || !out) return false;
  for (size_t i = 0; i < sizeof decoder_names / sizeof decoder_names[0]; i++) {
    if (strcasecmp(name, decoder_names[i]) == 0) {
      *out = (lens_decoder_kind)i;
      return true;
    }
  }
  /* YOLOv11 keeps YOLOv8's output layout. */
  if (strcasecmp(name, "yolov11") == 0 || strcasecmp(name, "yolo11") == 0) {
    *out = LENS_DECODER_YOLOV8;
    return true;
  }
  return false;
}

const char *lens_decoder_name(lens_decoder_kind kind) {
  if ((unsigned)kind >= sizeof decoder_names / sizeof decoder_names[0]) return "unknown";
  return decoder_names[kind];
}

const char *lens_dec_shape_string(const int64_t *dims, int rank, char *buf, size_t size) {
  if (!size) return buf;
  if (rank < 0 || rank > LENS_MAX_RANK) {
    snprintf(buf, size, "[unknown rank]");
    return buf;
  }
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i <= rank && len < size; i++) {
    int n;
    if (i == rank)
      n = snprintf(buf + len, size - len, "]");
    else if (dims[i] < 0)
      n = snprintf(buf + len, size - len, "%s?", i ? "," : "[");
    else
      n = snprintf(buf + len, size - len, "%s%lld", i ? "," : "[", (long long)dims[i]);
    if (n < 0) break;
    len += (size_t)n;
  }
  if (rank == 0) snprintf(buf, size, "[]");
  return buf;
}

/* "name[1,3234,4], name[1,3234,91]" for error messages. */
static void describe_outputs(const lens_tensor_desc *outputs, size_t n, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && len + 1 < size; i++) {
    char shape[160];
    lens_dec_shape_string(outputs[i].dims, outputs[i].rank, shape, sizeof shape);
    int k = snprintf(buf + len, size - len, "%s%s%s", i ? ", " : "",
                     outputs[i].name ? outputs[i].name : "output", shape);
    if (k < 0) break;
    len += (size_t)k;
  }
  if (!n) snprintf(buf, size, "no outputs");
}

static bool is_box_tensor(const lens_tensor_desc *d) {
  return d->rank == 3 && d->dims[2] == 4;
}

/* Scores [B,N] or [B,N,C], or labels [B,N], that go with boxes [B,N,4]. */
static bool fits_boxes(const lens_tensor_desc *boxes, const lens_tensor_desc *d) {
  if (d->rank != 2 && d->rank != 3) return false;
  int64_t nb = boxes->dims[1], nd = d->dims[1];
  return nb < 0 || nd < 0 || nb == nd;
}

static lens_status *detect_detection(const lens_tensor_desc *o, size_t n,
                                     lens_decoder_kind *out) {
  if (n == 1) {
    const lens_tensor_desc *d = &o[0];
    if (d->rank == 4 && d->dims[1] == 1 && d->dims[3] == 7) {
      *out = LENS_DECODER_SSD;
      return NULL;
    }
    if (d->rank == 4 && d->dims[1] == 1) {
      *out = LENS_DECODER_DB;
      return NULL;
    }
    if (d->rank == 3) {
      int64_t a = d->dims[1], b = d->dims[2];
      /* The box count grows with the input size and is the dynamic axis of exports; the
       * per-box width (4 + classes, + objectness) is fixed. */
      if (a >= 0 && b >= 0) {
        if (b >= 6 && a > b) {
          *out = LENS_DECODER_YOLOV5;
          return NULL;
        }
        if (a >= 5 && a < b) {
          *out = LENS_DECODER_YOLOV8;
          return NULL;
        }
      } else if (a < 0 && b >= 6) {
        *out = LENS_DECODER_YOLOV5;
        return NULL;
      } else if (b < 0 && a >= 5) {
        *out = LENS_DECODER_YOLOV8;
        return NULL;
      }
    }
    return lens_status_create(LENS_ERR_UNSUPPORTED, "unknown");
  }
  if (n == 2 || n == 3) {
    size_t bi = is_box_tensor(&o[0]) ? 0 : (is_box_tensor(&o[1]) ? 1 : n);
    if (bi == n) return lens_status_create(LENS_ERR_UNSUPPORTED, "unknown");
    for (size_t i = 0; i < n; i++) {
      if (i != bi && !fits_boxes(&o[bi], &o[i]))
        return lens_status_create(LENS_ERR_UNSUPPORTED, "unknown");
    }
    *out = LENS_DECODER_SSD;
    return NULL;
  }
  return lens_status_create(LENS_ERR_UNSUPPORTED, "unknown");
}

lens_status *lens_decoder_detect(const lens_tensor_desc *outputs, size_t n_outputs,
                                 bool for_classification, lens_decoder_kind *out) {
  if (!out || (n_outputs && !outputs))
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "decoder detect: NULL argument");
  char desc[512];
  describe_outputs(outputs, n_outputs, desc, sizeof desc);
  for (size_t i = 0; i < n_outputs; i++) {
    if (outputs[i].rank < 0 || outputs[i].rank > LENS_MAX_RANK)
      return lens_status_create(LENS_ERR_UNSUPPORTED,
                                "cannot choose a decoder: output %zu has no declared rank (%s); "
                                "set the decoder explicitly",
                                i, desc);
  }
  if (for_classification) {
    if (n_outputs == 1) {
      const lens_tensor_desc *d = &outputs[0];
      if (d->rank == 2 || (d->rank == 4 && d->dims[2] == 1 && d->dims[3] == 1)) {
        *out = LENS_DECODER_SOFTMAX;
        return NULL;
      }
      if (d->rank == 3) {
        *out = LENS_DECODER_CTC;
        return NULL;
      }
    }
    return lens_status_create(
        LENS_ERR_UNSUPPORTED,
        "cannot choose a classification decoder for outputs %s: expected one output shaped "
        "[B,C] or [B,C,1,1] (softmax) or [B,T,C] (ctc); set the decoder explicitly",
        desc);
  }
  lens_status *st = detect_detection(outputs, n_outputs, out);
  if (!st) return NULL;
  lens_status_free(st);
  return lens_status_create(
      LENS_ERR_UNSUPPORTED,
      "cannot choose a detection decoder for outputs %s: expected [B,1,N,7] (ssd), boxes "
      "[B,N,4] + scores [B,N(,C)] (ssd), [B,N,5+C] with N > 5+C (yolov5), [B,4+C,N] with "
      "N > 4+C (yolov8) or [B,1,H,W] (db); set the decoder explicitly",
      desc);
}

void lens_detect_params_init(lens_detect_params *p) {
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->threshold = 0.5f;
  p->nms_threshold = 0.45f;
  p->max_detections = 100;
  p->input_width = 0;
  p->input_height = 0;
  p->class_agnostic_nms = false;
  p->db_binary_threshold = 0.3f;
  p->db_unclip_ratio = 1.5f;
  p->background_label = 0;
  p->db_box_threshold = 0.6f;
  p->box_units = LENS_BOX_UNITS_AUTO;
  p->ssd_format = LENS_SSD_FORMAT_AUTO;
}

static float finite_or(float v, float fallback) { return isfinite(v) ? v : fallback; }

void lens_dec_resolve_params(const lens_detect_params *params, size_t max_out,
                             lens_dec_limits *out) {
  lens_detect_params p;
  if (params)
    p = *params;
  else
    lens_detect_params_init(&p);
  p.threshold = finite_or(p.threshold, 0.5f);
  p.nms_threshold = finite_or(p.nms_threshold, 0.45f);
  if (p.nms_threshold < 0.0f) p.nms_threshold = 0.0f;
  if (p.nms_threshold > 1.0f) p.nms_threshold = 1.0f;
  p.db_binary_threshold = finite_or(p.db_binary_threshold, 0.3f);
  p.db_box_threshold = finite_or(p.db_box_threshold, 0.6f);
  p.db_unclip_ratio = finite_or(p.db_unclip_ratio, 1.5f);
  if (p.db_unclip_ratio < 0.0f) p.db_unclip_ratio = 0.0f;
  if (p.db_unclip_ratio > 100.0f) p.db_unclip_ratio = 100.0f;
  if (p.input_width < 0) p.input_width = 0;
  if (p.input_height < 0) p.input_height = 0;
  if ((unsigned)p.box_units > LENS_BOX_UNITS_PIXELS) p.box_units = LENS_BOX_UNITS_AUTO;
  if ((unsigned)p.ssd_format > LENS_SSD_FORMAT_DETECTION_OUTPUT)
    p.ssd_format = LENS_SSD_FORMAT_AUTO;
  out->p = p;
  out->max_keep = max_out;
  if (p.max_detections > 0 && (size_t)p.max_detections < max_out)
    out->max_keep = (size_t)p.max_detections;
}

lens_status *lens_dec_view_batch(const lens_tensor *t, const char *what, size_t batch,
                                 lens_dec_view *view) {
  if (!t) return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "%s: NULL tensor", what);
  size_t esize;
  switch (t->dtype) {
  case LENS_DTYPE_FLOAT32:
  case LENS_DTYPE_FLOAT16:
  case LENS_DTYPE_INT32:
  case LENS_DTYPE_INT64:
  case LENS_DTYPE_UINT8:
  case LENS_DTYPE_INT8: esize = lens_dtype_size(t->dtype); break;
  default:
    return lens_status_create(LENS_ERR_UNSUPPORTED, "%s: unsupported element type %s", what,
                              lens_dtype_name(t->dtype));
  }
  if (t->rank < 1 || t->rank > LENS_MAX_RANK)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "%s: rank %d out of range", what,
                              t->rank);
  char shape[160];
  int64_t n = lens_tensor_elements(t);
  if (n <= 0 || t->dims[0] <= 0)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "%s: empty or invalid shape %s", what,
                              lens_dec_shape_string(t->dims, t->rank, shape, sizeof shape));
  if (!esize || (uint64_t)n > SIZE_MAX / esize || (size_t)n * esize > t->nbytes || !t->data)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "%s: %zu bytes of data do not cover shape %s of %s", what,
                              t->data ? t->nbytes : 0,
                              lens_dec_shape_string(t->dims, t->rank, shape, sizeof shape),
                              lens_dtype_name(t->dtype));
  if ((int64_t)batch >= t->dims[0] || batch > (size_t)INT64_MAX)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "%s: batch item %zu of shape %s", what,
                              batch,
                              lens_dec_shape_string(t->dims, t->rank, shape, sizeof shape));
  view->tensor = t;
  view->count = (size_t)(n / t->dims[0]);
  view->offset = batch * view->count;
  return NULL;
}

lens_status *lens_dec_cands_push(lens_dec_cands *c, const lens_detection *d) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    if (cap > SIZE_MAX / sizeof *c->v)
      return lens_status_create(LENS_ERR_OUT_OF_MEMORY, "too many candidate detections");
    lens_detection *v = realloc(c->v, cap * sizeof *v);
    if (!v)
      return lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory for %zu candidates",
                                cap);
    c->v = v;
    c->cap = cap;
  }
  c->v[c->n++] = *d;
  return NULL;
}

bool lens_dec_set_box(lens_detection *d, float x1, float y1, float x2, float y2) {
  if (!isfinite(x1) || !isfinite(y1) || !isfinite(x2) || !isfinite(y2)) return false;
  x1 = lens_dec_clamp01(x1);
  y1 = lens_dec_clamp01(y1);
  x2 = lens_dec_clamp01(x2);
  y2 = lens_dec_clamp01(y2);
  if (!(x2 > x1) || !(y2 > y1)) return false;
  d->x_min = x1;
  d->y_min = y1;
  d->x_max = x2;
  d->y_max = y2;
  return true;
}

lens_status *lens_dec_box_scale(const lens_dec_limits *lim, bool all_within_unit_range,
                                const char *decoder, float *sx, float *sy) {
  lens_box_units u = lim->p.box_units;
  if (u == LENS_BOX_UNITS_AUTO)
    u = all_within_unit_range ? LENS_BOX_UNITS_NORMALISED : LENS_BOX_UNITS_PIXELS;
  if (u == LENS_BOX_UNITS_NORMALISED) {
    *sx = *sy = 1.0f;
    return NULL;
  }
  if (lim->p.input_width <= 0 || lim->p.input_height <= 0)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "%s: boxes are in input pixels but the input size is unknown "
                              "(set input_width and input_height)",
                              decoder);
  *sx = 1.0f / (float)lim->p.input_width;
  *sy = 1.0f / (float)lim->p.input_height;
  return NULL;
}

void lens_dec_finish(lens_detection *cands, size_t n, const lens_dec_limits *lim, bool skip_nms,
                     lens_detection *out, size_t *n_out) {
  size_t kept;
  if (skip_nms) {
    lens_dec_sort(cands, n);
    kept = n;
  } else {
    kept = lens_nms_limit(cands, n, lim->p.nms_threshold, lim->p.class_agnostic_nms,
                          lim->max_keep);
  }
  if (kept > lim->max_keep) kept = lim->max_keep;
  if (kept) memcpy(out, cands, kept * sizeof *out);
  *n_out = kept;
}

/* Shapes of the tensors, for automatic choice at decode time. */
static lens_status *detect_from_tensors(const lens_tensor *outputs, size_t n,
                                        bool for_classification, lens_decoder_kind *kind) {
  lens_tensor_desc *d = calloc(n ? n : 1, sizeof *d);
  if (!d) return lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
  for (size_t i = 0; i < n; i++) {
    d[i].dtype = outputs[i].dtype;
    d[i].rank = outputs[i].rank;
    if (d[i].rank >= 0 && d[i].rank <= LENS_MAX_RANK)
      memcpy(d[i].dims, outputs[i].dims, sizeof d[i].dims);
    else
      d[i].rank = -1;
  }
  lens_status *st = lens_decoder_detect(d, n, for_classification, kind);
  free(d);
  return st;
}

lens_status *lens_decode_detections(lens_decoder_kind kind, const lens_tensor *outputs,
                                    size_t n_outputs, size_t batch,
                                    const lens_detect_params *params, lens_detection *out,
                                    size_t max_out, size_t *n_out) {
  if (n_out) *n_out = 0;
  if (!n_out || (max_out && !out) || (n_outputs && !outputs))
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "decode detections: NULL argument");
  if (!n_outputs)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "decode detections: no outputs");
  if (kind == LENS_DECODER_AUTO) {
    lens_status *st = detect_from_tensors(outputs, n_outputs, false, &kind);
    if (st) return st;
  }
  lens_dec_limits lim;
  lens_dec_resolve_params(params, max_out, &lim);
  switch (kind) {
  case LENS_DECODER_SSD: return lens_decode_ssd(outputs, n_outputs, batch, &lim, out, n_out);
  case LENS_DECODER_YOLOV5:
    return lens_decode_yolo(false, outputs, n_outputs, batch, &lim, out, n_out);
  case LENS_DECODER_YOLOV8:
    return lens_decode_yolo(true, outputs, n_outputs, batch, &lim, out, n_out);
  case LENS_DECODER_DB: return lens_decode_db(outputs, n_outputs, batch, &lim, out, n_out);
  default:
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "decoder '%s' does not detect",
                              lens_decoder_name(kind));
  }
}

lens_status *lens_decode_classification(lens_decoder_kind kind, const lens_tensor *outputs,
                                        size_t n_outputs, size_t batch,
                                        const char *const *labels, size_t n_labels,
                                        lens_classification *out) {
  if (!out || (n_outputs && !outputs) || (n_labels && !labels))
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "decode classification: NULL argument");
  out->label_id = -1;
  out->confidence = 0.0f;
  out->text[0] = '\0';
  out->label = NULL;
  if (!n_outputs)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "decode classification: no outputs");
  if (kind == LENS_DECODER_AUTO) {
    lens_status *st = detect_from_tensors(outputs, n_outputs, true, &kind);
    if (st) return st;
  }
  switch (kind) {
  case LENS_DECODER_CTC:
    return lens_decode_ctc(outputs, n_outputs, batch, labels, n_labels, out);
  case LENS_DECODER_SOFTMAX:
    return lens_decode_softmax(outputs, n_outputs, batch, labels, n_labels, out);
  default:
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "decoder '%s' does not classify",
                              lens_decoder_name(kind));
  }
}

/* ---- labels files ------------------------------------------------------------------------ */

void lens_labels_free(char **labels, size_t n) {
  if (!labels) return;
  for (size_t i = 0; i < n; i++) free(labels[i]);
  free(labels);
}

static lens_status *read_file(const char *path, char **out, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return lens_status_create(LENS_ERR_IO, "labels file %s: %s", path, strerror(errno));
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  lens_status *st = NULL;
  while (buf) {
    if (len == cap) {
      if (cap >= LENS_LABELS_MAX_BYTES) {
        st = lens_status_create(LENS_ERR_IO, "labels file %s: larger than %zu bytes", path,
                                LENS_LABELS_MAX_BYTES);
        break;
      }
      cap *= 2;
      char *b = realloc(buf, cap + 1);
      if (!b) break;
      buf = b;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f)) st = lens_status_create(LENS_ERR_IO, "labels file %s: read error", path);
      break;
    }
  }
  fclose(f);
  if (!buf) return lens_status_create(LENS_ERR_OUT_OF_MEMORY, "labels file %s: out of memory",
                                      path);
  if (st) {
    free(buf);
    return st;
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  return NULL;
}

lens_status *lens_labels_load(const char *path, char ***out_labels, size_t *out_n) {
  if (!path || !out_labels || !out_n)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "labels load: NULL argument");
  *out_labels = NULL;
  *out_n = 0;
  char *buf = NULL;
  size_t len = 0;
  lens_status *st = read_file(path, &buf, &len);
  if (st) return st;
  size_t start = 0;
  if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) start = 3; /* UTF-8 byte order mark */
  size_t n = 0;
  for (size_t i = start; i < len; i++) n += buf[i] == '\n';
  if (len > start && buf[len - 1] != '\n') n++; /* last line without a newline */
  char **labels = calloc(n ? n : 1, sizeof *labels);
  if (!labels) {
    free(buf);
    return lens_status_create(LENS_ERR_OUT_OF_MEMORY, "labels file %s: out of memory", path);
  }
  size_t k = 0, line = start;
  for (size_t i = start; i <= len && k < n; i++) {
    if (i < len && buf[i] != '\n') continue;
    size_t end = i;
    while (end > line && (buf[end - 1] == '\r' || buf[end - 1] == '\n')) end--;
    labels[k] = malloc(end - line + 1);
    if (!labels[k]) {
      lens_labels_free(labels, k);
      free(buf);
      return lens_status_create(LENS_ERR_OUT_OF_MEMORY, "labels file %s: out of memory", path);
    }
    memcpy(labels[k], buf + line, end - line);
    labels[k][end - line] = '\0';
    k++;
    line = i + 1;
  }
  free(buf);
  *out_labels = labels;
  *out_n = k;
  return NULL;
}
