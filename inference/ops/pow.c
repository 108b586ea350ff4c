/* Pow: elementwise X ^ Y with multidirectional broadcasting; the output has X's dtype.
 * X: float32, float16, int64, int32. Y: float32, float16, int64, int32, int8, uint8 (opset
 * 12 allows the two to differ; earlier opsets use one float type, a subset).
 * An integer base with an integer exponent is computed exactly (wrapping on overflow); a
 * negative exponent truncates toward zero as C would (0 unless |X| is 1) and 0 to a
 * negative power is a runtime error like a division by zero. An integer base with a float
 * exponent is computed in double and truncated, saturating at the dtype's range. */
#include <math.h>

#include "ops/elementwise_common.h"

typedef struct pow_types {
  lens_dtype base;
  lens_dtype exponent;
} pow_types;

static bool is_float(lens_dtype t) { return t == LENS_DTYPE_FLOAT32 || t == LENS_DTYPE_FLOAT16; }

static bool base_supported(lens_dtype t) {
  return is_float(t) || t == LENS_DTYPE_INT64 || t == LENS_DTYPE_INT32;
}

static bool exponent_supported(lens_dtype t) {
  return base_supported(t) || t == LENS_DTYPE_INT8 || t == LENS_DTYPE_UINT8;
}

static int64_t load_int(lens_dtype t, const void *data) {
  switch (t) {
  case LENS_DTYPE_INT64: return *(const int64_t *)data;
  case LENS_DTYPE_INT32: return *(const int32_t *)data;
  case LENS_DTYPE_INT8: return *(const int8_t *)data;
  default: return *(const uint8_t *)data;
  }
}

/* x^e by squaring in wrapping 64-bit arithmetic (correct modulo 2^32 for int32 too). */
static int64_t ipow(int64_t x, int64_t e, bool *ok) {
  if (e < 0) {
    if (x == 0) *ok = false;
    if (x == 1) return 1;
    if (x == -1) return (e & 1) ? -1 : 1;
    return 0;
  }
  uint64_t r = 1, b = (uint64_t)x;
  while (e) {
    if (e & 1) r *= b;
    b *= b;
    e >>= 1;
  }
  return (int64_t)r;
}

/* Truncates toward zero, saturating at [lo, hi]; NaN gives 0. */
static int64_t double_to_int(double r, int64_t lo, int64_t hi) {
  if (r != r) return 0;
  if (r <= (double)lo) return lo;
  if (r >= (double)hi) return hi;
  return (int64_t)r;
}

LENS_EW_BINARY(pow_f32_f32, float, float, powf(x, y))

/* Every other combination, element by element through double or int64. */
static bool pow_mixed(const void *const *in, const int64_t *step, void *out, int64_t n,
                      const void *params) {
  const pow_types *t = params;
  const size_t bs = lens_dtype_size(t->base), es = lens_dtype_size(t->exponent);
  const char *base = in[0], *exponent = in[1];
  bool ok = true;
  for (int64_t i = 0; i < n; i++) {
    const void *xp = base + (size_t)(i * step[0]) * bs;
    const void *ep = exponent + (size_t)(i * step[1]) * es;
    if (is_float(t->base)) {
      double x = lens_value_get_f64(t->base, xp, 0);
      double e = lens_value_get_f64(t->exponent, ep, 0);
      lens_value_set_f64(t->base, out, i, pow(x, e));
      continue;
    }
    int64_t x = load_int(t->base, xp), r;
    if (is_float(t->exponent)) {
      double e = lens_value_get_f64(t->exponent, ep, 0);
      bool i64 = t->base == LENS_DTYPE_INT64;
      r = double_to_int(pow((double)x, e), i64 ? INT64_MIN : INT32_MIN,
                        i64 ? INT64_MAX : INT32_MAX);
    } else {
      r = ipow(x, load_int(t->exponent, ep), &ok);
    }
    if (t->base == LENS_DTYPE_INT64)
      ((int64_t *)out)[i] = r;
    else
      ((int32_t *)out)[i] = (int32_t)(uint32_t)(uint64_t)r;
  }
  return ok;
}

static lens_status *pow_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  if (!base_supported(in[0].dtype))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%s base is not supported",
                           lens_dtype_name(in[0].dtype));
  if (!exponent_supported(in[1].dtype))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%s exponent is not supported",
                           lens_dtype_name(in[1].dtype));
  const lens_value *args[2] = {&in[0], &in[1]};
  LENS_TRY(lens_broadcast_shape(node, args, 2, &out[0]));
  out[0].dtype = in[0].dtype;
  return lens_check_output_shape(node, &out[0]);
}

static double pow_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  (void)node;
  return is_float(in[0].dtype) ? (double)lens_value_elements(&out[0]) : 0.0;
}

/* x ^ 2 is x * x, bit for bit (both are the correctly rounded square, NaN, inf and -0
 * included), and the common case: PP-OCR's LayerNorms square through Pow. */
static bool squares_in_place(const lens_value *in, const lens_value *out) {
  return in[0].dtype == LENS_DTYPE_FLOAT32 && in[1].dtype == LENS_DTYPE_FLOAT32 &&
         lens_value_elements(&in[1]) == 1 && *(const float *)in[1].data == 2.0f &&
         lens_value_elements(&out[0]) == lens_value_elements(&in[0]);
}

static lens_status *pow_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  if (squares_in_place(in, out)) {
    const float *x = in[0].data;
    float *y = out[0].data;
    for (int64_t i = 0, n = lens_value_elements(&out[0]); i < n; i++) y[i] = x[i] * x[i];
    return NULL;
  }
  const lens_value *args[2] = {&in[0], &in[1]};
  pow_types t = {in[0].dtype, in[1].dtype};
  bool ok = t.base == LENS_DTYPE_FLOAT32 && t.exponent == LENS_DTYPE_FLOAT32
                ? lens_ew_apply(ctx, 2, args, out, pow_f32_f32, NULL)
                : lens_ew_apply(ctx, 2, args, out, pow_mixed, &t);
  if (!ok) return lens_node_error(node, LENS_ERR_RUNTIME, "integer 0 raised to a negative power");
  return NULL;
}

const lens_op_def lens_op_pow = {
    .name = "Pow",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = pow_infer,
    .flops = pow_flops,
    .compute = pow_compute,
};
