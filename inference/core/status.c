/* Status objects: heap messages, with a static fallback when even that allocation fails. */
#include "core/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lens_status {
  lens_status_code code;
  bool is_static;
  char *message;
};

static lens_status oom_status = {LENS_ERR_OUT_OF_MEMORY, true, (char *)"out of memory"};

lens_status *lens_error_oom(void) { return &oom_status; }

lens_status *lens_error_v(lens_status_code code, const char *fmt, va_list ap) {
  lens_status *st = malloc(sizeof *st);
  if (!st) return &oom_status;
  char small[256];
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(small, sizeof small, fmt, copy);
  va_end(copy);
  if (n < 0) n = 0;
  st->message = malloc((size_t)n + 1);
  if (!st->message) {
    free(st);
    return &oom_status;
  }
  if ((size_t)n < sizeof small)
    memcpy(st->message, small, (size_t)n + 1);
  else
    vsnprintf(st->message, (size_t)n + 1, fmt, ap);
  st->code = code;
  st->is_static = false;
  return st;
}

lens_status *lens_error(lens_status_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lens_status *st = lens_error_v(code, fmt, ap);
  va_end(ap);
  return st;
}

lens_status *lens_status_create(lens_status_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lens_status *st = lens_error_v(code, fmt, ap);
  va_end(ap);
  return st;
}

lens_status *lens_error_wrap(lens_status *status, const char *fmt, ...) {
  if (!status || status->is_static) return status;
  char prefix[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  size_t a = strlen(prefix), b = strlen(status->message);
  char *joined = malloc(a + b + 1);
  if (!joined) return status; /* keep the original message rather than lose it */
  memcpy(joined, prefix, a);
  memcpy(joined + a, status->message, b + 1);
  free(status->message);
  status->message = joined;
  return status;
}

lens_status_code lens_status_get_code(const lens_status *status) {
  return status ? status->code : LENS_OK;
}

const char *lens_status_message(const lens_status *status) {
  return status ? status->message : "ok";
}

void lens_status_free(lens_status *status) {
  if (!status || status->is_static) return;
  free(status->message);
  free(status);
}

bool lens_dims_product(const int64_t *dims, int rank, int64_t *out) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0 || !lens_mul_i64(n, dims[i], &n)) return false;
  }
  *out = n;
  return true;
}

char *lens_strndup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *lens_strdup(const char *s) { return lens_strndup(s, strlen(s)); }

const char *lens_format_dims(char *buf, size_t size, const int64_t *dims, int rank) {
  if (size == 0) return buf;
  if (rank < 0) {
    snprintf(buf, size, "[?]");
    return buf;
  }
  size_t used = 0;
  buf[0] = '\0';
  used += (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < rank && used < size; i++) {
    if (dims[i] < 0)
      used += (size_t)snprintf(buf + used, size - used, "%s?", i ? "," : "");
    else
      used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "," : "",
                               (long long)dims[i]);
  }
  if (used < size) snprintf(buf + used, size - used, "]");
  return buf;
}
