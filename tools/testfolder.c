/* See testfolder.h. */
#include "testfolder.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static lens_status *error_from(const char *msg) {
  return lens_status_create(LENS_ERR_RUNTIME, "%s", msg);
}

static double element(const lens_tensor *t, long long i) {
  switch (t->dtype) {
  case LENS_DTYPE_FLOAT32: return ((const float *)t->data)[i];
  case LENS_DTYPE_FLOAT16: return lens_half_to_float(((const uint16_t *)t->data)[i]);
  case LENS_DTYPE_UINT8: return ((const uint8_t *)t->data)[i];
  case LENS_DTYPE_INT8: return ((const int8_t *)t->data)[i];
  case LENS_DTYPE_INT32: return ((const int32_t *)t->data)[i];
  case LENS_DTYPE_INT64: return (double)((const int64_t *)t->data)[i];
  case LENS_DTYPE_BOOL: return ((const uint8_t *)t->data)[i] != 0;
  default: return NAN;
  }
}

lens_status *lens_compare_tensors(const lens_tensor *a, const lens_tensor *b, double rtol,
                                  double atol, lens_compare_result *out) {
  memset(out, 0, sizeof *out);
  out->first_bad = -1;
  char msg[512];
  if (a->dtype != b->dtype) {
    snprintf(msg, sizeof msg, "dtype %s, expected %s", lens_dtype_name(a->dtype),
             lens_dtype_name(b->dtype));
    return error_from(msg);
  }
  int same = a->rank == b->rank;
  for (int i = 0; same && i < a->rank; i++) same = a->dims[i] == b->dims[i];
  if (!same) {
    int n = snprintf(msg, sizeof msg, "shape [");
    for (int i = 0; i < a->rank && n < 200; i++) n += snprintf(msg + n, sizeof msg - (size_t)n, "%s%lld", i ? "," : "", (long long)a->dims[i]);
    n += snprintf(msg + n, sizeof msg - (size_t)n, "], expected [");
    for (int i = 0; i < b->rank && n < 400; i++) n += snprintf(msg + n, sizeof msg - (size_t)n, "%s%lld", i ? "," : "", (long long)b->dims[i]);
    snprintf(msg + n, sizeof msg - (size_t)n, "]");
    return error_from(msg);
  }
  long long n = lens_tensor_elements(b);
  int exact = a->dtype != LENS_DTYPE_FLOAT32 && a->dtype != LENS_DTYPE_FLOAT16;
  for (long long i = 0; i < n; i++) {
    double x = element(a, i), y = element(b, i);
    int bad;
    if (isnan(y) || isnan(x)) {
      bad = isnan(x) != isnan(y);
    } else if (isinf(y) || isinf(x)) {
      bad = x != y;
    } else {
      double d = fabs(x - y);
      if (d > out->max_abs) out->max_abs = d;
      if (y != 0 && d / fabs(y) > out->max_rel) out->max_rel = d / fabs(y);
      bad = exact ? x != y : d > atol + rtol * fabs(y);
    }
    if (bad) {
      if (out->first_bad < 0) out->first_bad = i;
      out->mismatches++;
    }
  }
  return NULL;
}

/* Joins dir and a formatted leaf; returns 0 if the path does not fit. */
static int path_join(char *buf, size_t size, const char *dir, const char *leaf, size_t index) {
  char name[64];
  snprintf(name, sizeof name, leaf, index);
  int n = snprintf(buf, size, "%s/%s", dir, name);
  return n >= 0 && (size_t)n < size;
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static lens_status *run_data_set(const lens_model *model, const char *dir,
                                 const lens_folder_options *o, int *passed) {
  size_t n_in = lens_model_input_count(model), n_out = lens_model_output_count(model);
  lens_tensor *inputs = calloc(n_in + 1, sizeof *inputs);
  lens_tensor *outputs = calloc(n_out + 1, sizeof *outputs);
  lens_input_shape *shapes = calloc(n_in + 1, sizeof *shapes);
  lens_status *st = NULL;
  lens_session *session = NULL;
  char path[PATH_MAX];
  if (!inputs || !outputs || !shapes) {
    st = error_from("out of memory");
    goto done;
  }
  for (size_t i = 0; i < n_in && !st; i++) {
    if (!path_join(path, sizeof path, dir, "input_%zu.pb", i)) {
      st = error_from("path too long");
      break;
    }
    st = lens_tensor_load_pb(path, &inputs[i], NULL);
    shapes[i].name = lens_model_input(model, i)->name;
    shapes[i].rank = inputs[i].rank;
    shapes[i].dims = inputs[i].dims;
  }
  if (st) goto done;
  lens_session_options so;
  lens_session_options_init(&so);
  so.threads = o->threads;
  so.device = o->device;
  so.precision = o->precision;
  so.input_shapes = shapes;
  so.n_input_shapes = n_in;
  so.reference_only = o->reference_only != 0;
  if ((st = lens_session_create(model, &so, &session))) goto done;
  if ((st = lens_session_run(session, inputs, n_in, outputs, n_out))) goto done;
  *passed = 1;
  for (size_t i = 0; i < n_out; i++) {
    if (!path_join(path, sizeof path, dir, "output_%zu.pb", i)) continue;
    if (!file_exists(path)) continue;
    lens_tensor expected;
    if ((st = lens_tensor_load_pb(path, &expected, NULL))) goto done;
    lens_compare_result r;
    lens_status *cs = lens_compare_tensors(&outputs[i], &expected, o->rtol, o->atol, &r);
    const char *name = lens_model_output(model, i)->name;
    if (cs) {
      *passed = 0;
      if (o->log) fprintf(o->log, "    output '%s': %s\n", name, lens_status_message(cs));
      lens_status_free(cs);
    } else {
      if (o->range_tol > 0 && expected.dtype == LENS_DTYPE_FLOAT32 && !r.mismatches) {
        /* already within rtol/atol */
      } else if (o->range_tol > 0 && expected.dtype == LENS_DTYPE_FLOAT32) {
        const float *e = expected.data;
        size_t ne = expected.nbytes / sizeof(float);
        float lo = ne ? e[0] : 0.0f, hi = lo;
        for (size_t k = 1; k < ne; k++) {
          if (e[k] < lo) lo = e[k];
          if (e[k] > hi) hi = e[k];
        }
        double range = (double)hi - (double)lo;
        double rel = range > 0 ? r.max_abs / range : r.max_abs;
        if (o->log)
          fprintf(o->log, "    output '%s': max_abs %.3g = %.3g of the output range %.3g%s\n",
                  name, r.max_abs, rel, range, rel <= o->range_tol ? "" : " (too large)");
        if (rel > o->range_tol) *passed = 0;
        lens_tensor_free(&expected);
        continue;
      }
      if (r.mismatches) *passed = 0;
      if (o->log)
        fprintf(o->log, "    output '%s': max_abs %.3g max_rel %.3g%s", name, r.max_abs,
                r.max_rel, r.mismatches ? "" : "\n");
      if (o->log && r.mismatches)
        fprintf(o->log, " — %lld elements out of tolerance, first at %lld\n", r.mismatches,
                r.first_bad);
    }
    lens_tensor_free(&expected);
  }
done:
  lens_session_free(session);
  for (size_t i = 0; inputs && i < n_in; i++) lens_tensor_free(&inputs[i]);
  free(inputs);
  free(outputs);
  free(shapes);
  return st;
}

lens_status *lens_run_test_folder(const char *folder, const lens_folder_options *o,
                                  int *passed) {
  *passed = 0;
  char path[PATH_MAX];
  if (!path_join(path, sizeof path, folder, "model.onnx", 0))
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "folder path is too long");
  lens_model *model = NULL;
  lens_status *st = lens_model_load_file(path, &model);
  if (st) return st;
  DIR *d = opendir(folder);
  char *sets[256];
  int n_sets = 0;
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) && n_sets < 256)
      if (strncmp(e->d_name, "test_data_set_", 14) == 0) sets[n_sets++] = strdup(e->d_name);
    closedir(d);
  }
  qsort(sets, (size_t)n_sets, sizeof *sets, cmp_str);
  int all = n_sets > 0;
  if (!n_sets) st = lens_status_create(LENS_ERR_IO, "%s: no test_data_set_* folders", folder);
  for (int i = 0; i < n_sets && !st; i++) {
    int ok = 0;
    int len = snprintf(path, sizeof path, "%s/%s", folder, sets[i]);
    if (len < 0 || (size_t)len >= sizeof path) {
      st = error_from("path too long");
      break;
    }
    if (o->log) fprintf(o->log, "  %s\n", sets[i]);
    st = run_data_set(model, path, o, &ok);
    if (!ok) all = 0;
  }
  for (int i = 0; i < n_sets; i++) free(sets[i]);
  lens_model_free(model);
  *passed = all && !st;
  return st;
}
