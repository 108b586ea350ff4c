/* dtype names and sizes, and IEEE half-precision conversion. */
#include <string.h>

#include "core/status.h"

size_t lens_dtype_size(lens_dtype dtype) {
  switch (dtype) {
  case LENS_DTYPE_FLOAT32: return 4;
  case LENS_DTYPE_UINT8: return 1;
  case LENS_DTYPE_INT8: return 1;
  case LENS_DTYPE_INT32: return 4;
  case LENS_DTYPE_INT64: return 8;
  case LENS_DTYPE_BOOL: return 1;
  case LENS_DTYPE_FLOAT16: return 2;
  default: return 0;
  }
}

const char *lens_dtype_name(lens_dtype dtype) {
  switch (dtype) {
  case LENS_DTYPE_FLOAT32: return "float32";
  case LENS_DTYPE_UINT8: return "uint8";
  case LENS_DTYPE_INT8: return "int8";
  case LENS_DTYPE_INT32: return "int32";
  case LENS_DTYPE_INT64: return "int64";
  case LENS_DTYPE_BOOL: return "bool";
  case LENS_DTYPE_FLOAT16: return "float16";
  default: return "undefined";
  }
}

float lens_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { /* subnormal: normalise */
      int e = -1;
      do {
        e++;
        mant <<= 1;
      } while (!(mant & 0x400));
      mant &= 0x3ff;
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t lens_float_to_half(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
  uint32_t exp = (bits >> 23) & 0xff;
  uint32_t mant = bits & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
  int32_t e = (int32_t)exp - 127 + 15;
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    uint32_t shift = (uint32_t)(14 - e);
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = ((uint32_t)e << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry into exponent: ok */
  return (uint16_t)(sign | half);
}
