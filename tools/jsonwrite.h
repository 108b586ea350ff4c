/* Minimal JSON writing for the tools' reports: strings escaped per RFC 8259, numbers that
 * are not finite written as null. Structure (braces, commas) is left to the caller. */
#ifndef LENS_TOOLS_JSONWRITE_H
#define LENS_TOOLS_JSONWRITE_H

#include <stdint.h>
#include <stdio.h>

/* Writes s as a JSON string literal ("null" for NULL). Quotes, backslashes and control
 * characters are escaped; invalid UTF-8 bytes become U+FFFD so the output always parses. */
void lens_json_string(FILE *f, const char *s);
/* Writes a double with enough digits to round-trip a measurement ("%.10g"), or null. */
void lens_json_number(FILE *f, double v);
void lens_json_int(FILE *f, int64_t v);
/* Writes [d0, d1, ...] (null for rank < 0; a negative dim is written as -1: unknown). */
void lens_json_dims(FILE *f, int rank, const int64_t *dims);

#endif /* LENS_TOOLS_JSONWRITE_H */
