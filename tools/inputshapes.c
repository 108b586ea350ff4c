/* Input shapes from the command line: see inputshapes.h. */
#include "inputshapes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lens_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out) {
  if (!text || !*text) return -1;
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text || *end || v < min || v > max) return -1;
  *out = (int64_t)v;
  return 0;
}

lens_status *lens_shape_arg_parse(const char *text, lens_shape_arg *out) {
  memset(out, 0, sizeof *out);
  const char *eq = strrchr(text, '=');
  if (!eq || eq == text)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "-shape '%s': expected NAME=d0,d1,... (e.g. x=1,3,640,640)", text);
  out->name = text;
  out->name_len = (size_t)(eq - text);
  const char *p = eq + 1;
  while (*p) {
    if (out->rank == LENS_MAX_RANK)
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "-shape '%s': more than %d dims",
                                text, LENS_MAX_RANK);
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char num[32];
    int64_t v;
    if (len == 0 || len >= sizeof num)
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "-shape '%s': empty or overlong dim",
                                text);
    memcpy(num, p, len);
    num[len] = '\0';
    if (lens_parse_int64(num, 1, (int64_t)1 << 40, &v))
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "-shape '%s': dim '%s' is not a positive integer", text, num);
    out->dims[out->rank++] = v;
    if (!comma) break;
    p = comma + 1;
    if (!*p)
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "-shape '%s': trailing comma", text);
  }
  return NULL;
}

void lens_format_dims(char *buf, size_t size, int rank, const int64_t *dims) {
  if (!size) return;
  buf[0] = '\0';
  if (rank < 0) {
    snprintf(buf, size, "?");
    return;
  }
  if (rank == 0) {
    snprintf(buf, size, "scalar");
    return;
  }
  size_t used = 0;
  for (int d = 0; d < rank && used < size; d++) {
    int n = dims[d] < 0 ? snprintf(buf + used, size - used, "%s?", d ? "x" : "")
                        : snprintf(buf + used, size - used, "%s%lld", d ? "x" : "",
                                   (long long)dims[d]);
    if (n < 0) break;
    used += (size_t)n;
  }
}

static bool name_is(const lens_shape_arg *a, const char *name) {
  return name && strlen(name) == a->name_len && memcmp(a->name, name, a->name_len) == 0;
}

static lens_status *bind_one(const lens_tensor_desc *desc, const lens_shape_arg *arg,
                             const lens_tensor *file, int64_t batch, int64_t *dims, int *rank) {
  char have[128];
  if (arg) {
    if (desc->rank >= 0 && arg->rank != desc->rank)
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "-shape %s has %d dims; the model declares %d", desc->name,
                                arg->rank, desc->rank);
    if (file && (file->rank != arg->rank ||
                 memcmp(file->dims, arg->dims, sizeof(int64_t) * (size_t)arg->rank) != 0)) {
      lens_format_dims(have, sizeof have, file->rank, file->dims);
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "-shape %s differs from the shape of its input file (%s)",
                                desc->name, have);
    }
    *rank = arg->rank;
    memcpy(dims, arg->dims, sizeof(int64_t) * (size_t)arg->rank);
  } else if (file) {
    *rank = file->rank;
    memcpy(dims, file->dims, sizeof(int64_t) * (size_t)file->rank);
  } else {
    if (desc->rank < 0)
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "input '%s' declares no shape: give -shape %s=d0,d1,...",
                                desc->name, desc->name);
    *rank = desc->rank;
    char missing[256] = "";
    size_t used = 0;
    for (int d = 0; d < desc->rank; d++) {
      dims[d] = desc->dims[d];
      if (dims[d] >= 0) continue;
      if (d == 0) {
        dims[0] = batch > 0 ? batch : 1;
        continue;
      }
      int n = snprintf(missing + used, sizeof missing - used, "%s%s", used ? ", " : "",
                       desc->dim_params[d] ? desc->dim_params[d] : "(unnamed)");
      if (n > 0 && (size_t)n < sizeof missing - used) used += (size_t)n;
    }
    if (used)
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "input '%s' has symbolic dims %s: give -shape %s=d0,d1,...",
                                desc->name, missing, desc->name);
    if (batch > 0 && *rank >= 1 && desc->dims[0] >= 0 && desc->dims[0] != batch)
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "input '%s' has a fixed first dim %lld: -b %lld cannot change it",
                                desc->name, (long long)desc->dims[0], (long long)batch);
    return NULL;
  }
  if (batch > 0 && *rank >= 1 && dims[0] != batch)
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "input '%s': first dim %lld (from %s) differs from -b %lld",
                              desc->name, (long long)dims[0], arg ? "-shape" : "its input file",
                              (long long)batch);
  return NULL;
}

lens_status *lens_bind_input_shapes(const lens_model *model, const lens_shape_arg *args,
                                    size_t n_args, const lens_tensor *files, int64_t batch,
                                    lens_bound_shapes *out) {
  memset(out, 0, sizeof *out);
  size_t n = lens_model_input_count(model);
  for (size_t a = 0; a < n_args; a++) {
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
      found = name_is(&args[a], lens_model_input(model, i)->name);
    for (size_t b = 0; b < a && found; b++)
      if (args[b].name_len == args[a].name_len &&
          memcmp(args[b].name, args[a].name, args[a].name_len) == 0)
        return lens_status_create(LENS_ERR_INVALID_ARGUMENT, "-shape %.*s is given twice",
                                  (int)args[a].name_len, args[a].name);
    if (!found) {
      char names[512] = "";
      size_t used = 0;
      for (size_t i = 0; i < n; i++) {
        int k = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                         lens_model_input(model, i)->name);
        if (k > 0 && (size_t)k < sizeof names - used) used += (size_t)k;
      }
      return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                                "-shape %.*s: the model has no such input (inputs: %s)",
                                (int)args[a].name_len, args[a].name, names);
    }
  }
  out->count = n;
  out->dims = calloc(n + 1, sizeof *out->dims);
  out->shapes = calloc(n + 1, sizeof *out->shapes);
  if (!out->dims || !out->shapes) {
    lens_bound_shapes_free(out);
    return lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    const lens_tensor_desc *desc = lens_model_input(model, i);
    const lens_shape_arg *arg = NULL;
    for (size_t a = 0; a < n_args && !arg; a++)
      if (name_is(&args[a], desc->name)) arg = &args[a];
    int rank = 0;
    lens_status *st = bind_one(desc, arg, files ? &files[i] : NULL, batch, out->dims[i], &rank);
    if (st) {
      lens_bound_shapes_free(out);
      return st;
    }
    out->shapes[i].name = desc->name;
    out->shapes[i].rank = rank;
    out->shapes[i].dims = out->dims[i];
  }
  return NULL;
}

void lens_bound_shapes_free(lens_bound_shapes *bound) {
  free(bound->dims);
  free(bound->shapes);
  memset(bound, 0, sizeof *bound);
}
