/* Clip: elementwise min(max(X, min), max), so max wins when min > max. NaN stays NaN.
 * Opset 6..10: min and max are float attributes (default: the float range), float inputs.
 * Opset 11+: min and max are optional scalar inputs of X's dtype (default: the dtype's
 * range); X is float32, float16 (through float), int64, int32, int8 or uint8. */
#include <float.h>
#include <stdlib.h>

#include "ops/elementwise_common.h"

typedef struct clip_params {
  bool from_attrs; /* opset < 11 */
  float lo, hi;    /* the attributes */
} clip_params;

/* The bounds of one run, for the float and the integer kernels. */
typedef struct clip_bounds {
  float flo, fhi;
  int64_t ilo, ihi;
} clip_bounds;

/* Two steps so that lo > hi gives hi, as the spec requires. */
static inline float clip_float(float x, const clip_bounds *p) {
  float t = x < p->flo ? p->flo : x;
  return t > p->fhi ? p->fhi : t;
}

static inline int64_t clip_int(int64_t x, const clip_bounds *p) {
  int64_t t = x < p->ilo ? p->ilo : x;
  return t > p->ihi ? p->ihi : t;
}

LENS_EW_UNARY(clip_f32, float, float, clip_bounds, clip_float(x, p))
LENS_EW_UNARY(clip_i64, int64_t, int64_t, clip_bounds, clip_int(x, p))
LENS_EW_UNARY(clip_i32, int32_t, int32_t, clip_bounds, (int32_t)clip_int(x, p))
LENS_EW_UNARY(clip_i8, int8_t, int8_t, clip_bounds, (int8_t)clip_int(x, p))
LENS_EW_UNARY(clip_u8, uint8_t, uint8_t, clip_bounds, (uint8_t)clip_int(x, p))

static const lens_ew_op clip_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_FLOAT32] = clip_f32,
        [LENS_DTYPE_INT64] = clip_i64,
        [LENS_DTYPE_INT32] = clip_i32,
        [LENS_DTYPE_INT8] = clip_i8,
        [LENS_DTYPE_UINT8] = clip_u8,
    },
    .float16_via_float32 = true,
    .flops_per_element = 2,
};

static lens_status *clip_prepare(lens_node *node) {
  static const char *const attrs_before_11[] = {"min", "max", NULL};
  clip_params params = {node->opset < 11, -FLT_MAX, FLT_MAX};
  if (params.from_attrs) {
    LENS_TRY(lens_ew_check_attrs(node, attrs_before_11));
    if (node->n_inputs > 1)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "min and max are attributes before opset 11, not inputs");
    LENS_TRY(lens_attr_float(node, "min", -FLT_MAX, &params.lo));
    LENS_TRY(lens_attr_float(node, "max", FLT_MAX, &params.hi));
  } else {
    LENS_TRY(lens_ew_check_attrs(node, NULL));
  }
  clip_params *p = malloc(sizeof *p);
  if (!p) return lens_error_oom();
  *p = params;
  free(node->params);
  node->params = p;
  return NULL;
}

static lens_status *clip_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const clip_params *p = node->params;
  if (p->from_attrs && in[0].dtype != LENS_DTYPE_FLOAT32 && in[0].dtype != LENS_DTYPE_FLOAT16)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "before opset 11 the input must be float, found %s",
                           lens_dtype_name(in[0].dtype));
  static const char *const names[3] = {"input", "min", "max"};
  for (int k = 1; k < node->n_inputs && k < 3; k++) {
    if (!lens_value_present(&in[k])) continue;
    if (in[k].dtype != in[0].dtype)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s is %s but the input is %s",
                             names[k], lens_dtype_name(in[k].dtype),
                             lens_dtype_name(in[0].dtype));
    if (lens_value_elements(&in[k]) != 1)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s must be a scalar", names[k]);
  }
  lens_node one_input = *node;
  one_input.n_inputs = 1;
  return lens_ew_infer(&one_input, &clip_op, in, out);
}

/* Reads a min or max input into b. */
static void read_bound(const lens_value *v, bool is_max, clip_bounds *b) {
  if (v->dtype == LENS_DTYPE_FLOAT32 || v->dtype == LENS_DTYPE_FLOAT16) {
    float f = (float)lens_value_get_f64(v->dtype, v->data, 0);
    *(is_max ? &b->fhi : &b->flo) = f;
  } else {
    int64_t i = v->dtype == LENS_DTYPE_INT64 ? *(const int64_t *)v->data
                                             : (int64_t)lens_value_get_f64(v->dtype, v->data, 0);
    *(is_max ? &b->ihi : &b->ilo) = i;
  }
}

static lens_status *clip_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx) {
  const clip_params *p = node->params;
  clip_bounds b = {p->lo, p->hi, INT64_MIN, INT64_MAX};
  if (node->n_inputs > 1 && lens_value_present(&in[1])) read_bound(&in[1], false, &b);
  if (node->n_inputs > 2 && lens_value_present(&in[2])) read_bound(&in[2], true, &b);
  const lens_value *args[1] = {&in[0]};
  lens_ew_run(ctx, &clip_op, in[0].dtype, 1, args, out, &b);
  return NULL;
}

static double clip_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &clip_op, in, out);
}

const lens_op_def lens_op_clip = {
    .name = "Clip",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = clip_prepare,
    .infer = clip_infer,
    .flops = clip_flops,
    .compute = clip_compute,
};
