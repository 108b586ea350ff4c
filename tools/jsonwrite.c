/* Minimal JSON writing: see jsonwrite.h. */
#include "jsonwrite.h"

#include <math.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static int utf8_sequence_length(const unsigned char *s) {
  unsigned c = s[0];
  int len;
  unsigned min;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) {
    len = 2;
    min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  unsigned cp = c & (0x7fu >> len);
  for (int k = 1; k < len; k++) {
    if ((s[k] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[k] & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

void lens_json_string(FILE *f, const char *s) {
  if (!s) {
    fputs("null", f);
    return;
  }
  fputc('"', f);
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc((int)c, f);
      p++;
    } else if (c < 0x20) {
      switch (c) {
      case '\n': fputs("\\n", f); break;
      case '\r': fputs("\\r", f); break;
      case '\t': fputs("\\t", f); break;
      case '\b': fputs("\\b", f); break;
      case '\f': fputs("\\f", f); break;
      default: fprintf(f, "\\u%04x", c);
      }
      p++;
    } else {
      int len = utf8_sequence_length(p);
      if (len == 0) {
        fputs("\\ufffd", f);
        p++;
      } else {
        fwrite(p, 1, (size_t)len, f);
        p += len;
      }
    }
  }
  fputc('"', f);
}

void lens_json_number(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.10g", v);
  else fputs("null", f);
}

void lens_json_int(FILE *f, int64_t v) { fprintf(f, "%lld", (long long)v); }

void lens_json_dims(FILE *f, int rank, const int64_t *dims) {
  if (rank < 0) {
    fputs("null", f);
    return;
  }
  fputc('[', f);
  for (int d = 0; d < rank; d++)
    fprintf(f, "%s%lld", d ? ", " : "", (long long)(dims[d] < 0 ? -1 : dims[d]));
  fputc(']', f);
}
