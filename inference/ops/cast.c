/* Cast: converts between float32, float16, int64, int32, int8, uint8 and bool ('to'
 * attribute). Floats to integers truncate toward zero and saturate at the target's range
 * (NaN gives 0; ONNX leaves out-of-range values undefined); integers to narrower integers
 * wrap around as in C and numpy; anything nonzero (NaN included) becomes true. Other
 * targets (string, double, bfloat16, ...) are refused. */
#include <stdlib.h>
#include <string.h>

#include "ops/elementwise_common.h"

#define CAST_BLOCK 256

typedef struct cast_params {
  lens_dtype to;
} cast_params;

typedef struct cast_types {
  lens_dtype from, to;
} cast_types;

static bool cast_supported(int64_t t) {
  switch (t) {
  case LENS_DTYPE_FLOAT32:
  case LENS_DTYPE_FLOAT16:
  case LENS_DTYPE_INT64:
  case LENS_DTYPE_INT32:
  case LENS_DTYPE_INT8:
  case LENS_DTYPE_UINT8:
  case LENS_DTYPE_BOOL: return true;
  default: return false;
  }
}

/* ONNX TensorProto.DataType names for the targets Lens does not have. */
static const char *onnx_type_name(int64_t t) {
  switch (t) {
  case 4: return "uint16";
  case 5: return "int16";
  case 8: return "string";
  case 11: return "double";
  case 12: return "uint32";
  case 13: return "uint64";
  case 14: return "complex64";
  case 15: return "complex128";
  case 16: return "bfloat16";
  default: return NULL;
  }
}

static bool is_float(lens_dtype t) { return t == LENS_DTYPE_FLOAT32 || t == LENS_DTYPE_FLOAT16; }

/* Truncates toward zero, saturating at [lo, hi]; NaN gives 0. The bounds are powers of two
 * (or one less), so (float)hi rounds up to 2^k and f >= 2^k is exactly the overflow case. */
static int64_t float_to_int(float f, int64_t lo, int64_t hi) {
  if (f != f) return 0;
  if (f <= (float)lo) return lo;
  if (f >= (float)hi) return hi;
  return (int64_t)f;
}

/* Element i of the run (step 0 repeats element 0). */
#define SRC(T) (((const T *)src)[i * step])

static void load_floats(lens_dtype from, const void *src, int64_t step, int64_t m, float *buf) {
  for (int64_t i = 0; i < m; i++)
    buf[i] = from == LENS_DTYPE_FLOAT32 ? SRC(float) : lens_half_to_float(SRC(uint16_t));
}

static void load_ints(lens_dtype from, const void *src, int64_t step, int64_t m, int64_t *buf) {
  switch (from) {
  case LENS_DTYPE_INT64:
    for (int64_t i = 0; i < m; i++) buf[i] = SRC(int64_t);
    break;
  case LENS_DTYPE_INT32:
    for (int64_t i = 0; i < m; i++) buf[i] = SRC(int32_t);
    break;
  case LENS_DTYPE_INT8:
    for (int64_t i = 0; i < m; i++) buf[i] = SRC(int8_t);
    break;
  case LENS_DTYPE_UINT8:
    for (int64_t i = 0; i < m; i++) buf[i] = SRC(uint8_t);
    break;
  default: /* bool */
    for (int64_t i = 0; i < m; i++) buf[i] = SRC(uint8_t) != 0;
    break;
  }
}

static void store_floats(lens_dtype to, const float *buf, int64_t m, void *dst) {
  for (int64_t i = 0; i < m; i++) {
    float f = buf[i];
    switch (to) {
    case LENS_DTYPE_FLOAT32: ((float *)dst)[i] = f; break;
    case LENS_DTYPE_FLOAT16: ((uint16_t *)dst)[i] = lens_float_to_half(f); break;
    case LENS_DTYPE_INT64: ((int64_t *)dst)[i] = float_to_int(f, INT64_MIN, INT64_MAX); break;
    case LENS_DTYPE_INT32:
      ((int32_t *)dst)[i] = (int32_t)float_to_int(f, INT32_MIN, INT32_MAX);
      break;
    case LENS_DTYPE_INT8: ((int8_t *)dst)[i] = (int8_t)float_to_int(f, INT8_MIN, INT8_MAX); break;
    case LENS_DTYPE_UINT8: ((uint8_t *)dst)[i] = (uint8_t)float_to_int(f, 0, UINT8_MAX); break;
    default: ((uint8_t *)dst)[i] = f != 0.0f; break; /* bool */
    }
  }
}

static void store_ints(lens_dtype to, const int64_t *buf, int64_t m, void *dst) {
  for (int64_t i = 0; i < m; i++) {
    int64_t v = buf[i];
    switch (to) {
    case LENS_DTYPE_FLOAT32: ((float *)dst)[i] = (float)v; break;
    case LENS_DTYPE_FLOAT16: ((uint16_t *)dst)[i] = lens_float_to_half((float)v); break;
    case LENS_DTYPE_INT64: ((int64_t *)dst)[i] = v; break;
    case LENS_DTYPE_INT32: ((int32_t *)dst)[i] = (int32_t)(uint32_t)(uint64_t)v; break;
    case LENS_DTYPE_INT8: ((int8_t *)dst)[i] = (int8_t)(uint8_t)(uint64_t)v; break;
    case LENS_DTYPE_UINT8: ((uint8_t *)dst)[i] = (uint8_t)(uint64_t)v; break;
    default: ((uint8_t *)dst)[i] = v != 0; break; /* bool */
    }
  }
}

static bool cast_run(const void *const *in, const int64_t *step, void *out, int64_t n,
                     const void *params) {
  const cast_types *t = params;
  const size_t in_size = lens_dtype_size(t->from), out_size = lens_dtype_size(t->to);
  for (int64_t s = 0; s < n; s += CAST_BLOCK) {
    int64_t m = n - s < CAST_BLOCK ? n - s : CAST_BLOCK;
    const char *src = (const char *)in[0] + (size_t)(s * step[0]) * in_size;
    char *dst = (char *)out + (size_t)s * out_size;
    if (is_float(t->from)) {
      float buf[CAST_BLOCK];
      load_floats(t->from, src, step[0], m, buf);
      store_floats(t->to, buf, m, dst);
    } else {
      int64_t buf[CAST_BLOCK];
      load_ints(t->from, src, step[0], m, buf);
      store_ints(t->to, buf, m, dst);
    }
  }
  return true;
}

static lens_status *cast_prepare(lens_node *node) {
  static const char *const allowed[] = {"to", NULL};
  LENS_TRY(lens_ew_check_attrs(node, allowed));
  if (!lens_node_attr(node, "to"))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "attribute 'to' is missing");
  int64_t to;
  LENS_TRY(lens_attr_int(node, "to", 0, &to));
  if (!cast_supported(to)) {
    const char *name = onnx_type_name(to);
    if (name)
      return lens_node_error(node, LENS_ERR_UNSUPPORTED, "casting to %s is not supported", name);
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "'to' = %lld is not a known type",
                           (long long)to);
  }
  cast_params *p = malloc(sizeof *p);
  if (!p) return lens_error_oom();
  p->to = (lens_dtype)to;
  free(node->params);
  node->params = p;
  return NULL;
}

static lens_status *cast_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const cast_params *p = node->params;
  if (!cast_supported(in[0].dtype))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "casting from %s is not supported",
                           lens_dtype_name(in[0].dtype));
  out[0].dtype = p->to;
  out[0].rank = in[0].rank;
  memcpy(out[0].dims, in[0].dims, sizeof in[0].dims);
  return lens_check_output_shape(node, &out[0]);
}

static lens_status *cast_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx) {
  const cast_params *p = node->params;
  int64_t n = lens_value_elements(&out[0]);
  if (in[0].dtype == p->to) {
    if (n > 0 && out[0].data != in[0].data)
      memcpy(out[0].data, in[0].data, (size_t)n * lens_dtype_size(p->to));
    return NULL;
  }
  cast_types t = {in[0].dtype, p->to};
  const lens_value *args[1] = {&in[0]};
  lens_ew_apply(ctx, 1, args, out, cast_run, &t);
  return NULL;
}

const lens_op_def lens_op_cast = {
    .name = "Cast",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = cast_prepare,
    .infer = cast_infer,
    .compute = cast_compute,
};
