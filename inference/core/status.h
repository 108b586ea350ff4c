/* Status values: creation helpers and checked arithmetic shared by every layer. */
#ifndef LENS_CORE_STATUS_H
#define LENS_CORE_STATUS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lens/lens.h"

#if defined(__GNUC__)
#define LENS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define LENS_PRINTF(fmt, args)
#endif

/* Never returns NULL: if the message cannot be allocated, a static out-of-memory status is
 * returned instead (lens_status_free ignores it). */
lens_status *lens_error(lens_status_code code, const char *fmt, ...) LENS_PRINTF(2, 3);
lens_status *lens_error_v(lens_status_code code, const char *fmt, va_list ap);
lens_status *lens_error_oom(void);
/* Prepends context ("node 'conv1' (Conv): ") to an existing status and returns it. */
lens_status *lens_error_wrap(lens_status *status, const char *fmt, ...) LENS_PRINTF(2, 3);

#define LENS_TRY(expr)                                                                        \
  do {                                                                                        \
    lens_status *lens_try_status_ = (expr);                                                   \
    if (lens_try_status_) return lens_try_status_;                                            \
  } while (0)

/* Checked arithmetic: return false on overflow (or negative operands for the dims helpers). */
static inline bool lens_mul_size(size_t a, size_t b, size_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline bool lens_add_size(size_t a, size_t b, size_t *out) {
  return !__builtin_add_overflow(a, b, out);
}
static inline bool lens_mul_i64(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline bool lens_add_i64(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

/* Product of dims; false if any dim is negative or the product overflows. */
bool lens_dims_product(const int64_t *dims, int rank, int64_t *out);

/* The largest tensor Lens accepts, in bytes: a bound that keeps every size computation far
 * from overflow and turns absurd shapes into errors instead of allocation attempts. */
#define LENS_MAX_TENSOR_BYTES ((int64_t)1 << 36)

char *lens_strdup(const char *s);
char *lens_strndup(const char *s, size_t n);
/* Formats dims as "[1,3,224,224]" into buf (always NUL-terminated). */
const char *lens_format_dims(char *buf, size_t size, const int64_t *dims, int rank);

/* Reads a whole regular file of at most max_bytes; errors name the path and byte offset. */
lens_status *lens_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *out_size);

#endif
