/* Range: start, start + delta, ... up to (excluding) limit, from three scalars of one dtype
 * (float32, int64, int32). As the spec's loop, each value adds delta to the previous one. */
#include <math.h>

#include "ops/shape_common.h"

/* The element count, max(ceil((limit - start) / delta), 0), in the input's arithmetic. */
static lens_status *range_count(const lens_node *node, const lens_value *in, int64_t *count) {
  lens_dtype dt = in[0].dtype;
  if (dt == LENS_DTYPE_FLOAT32) {
    float start = *(const float *)in[0].data, limit = *(const float *)in[1].data,
          delta = *(const float *)in[2].data;
    if (delta == 0.0f || !isfinite(start) || !isfinite(limit) || !isfinite(delta))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "start %g, limit %g and delta %g do not define a range",
                             (double)start, (double)limit, (double)delta);
    double c = ceil((double)((limit - start) / delta));
    if (c > (double)((int64_t)1 << 40))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "range has too many elements");
    *count = c > 0 ? (int64_t)c : 0;
    return NULL;
  }
  int64_t start = dt == LENS_DTYPE_INT64 ? *(const int64_t *)in[0].data : *(const int32_t *)in[0].data;
  int64_t limit = dt == LENS_DTYPE_INT64 ? *(const int64_t *)in[1].data : *(const int32_t *)in[1].data;
  int64_t delta = dt == LENS_DTYPE_INT64 ? *(const int64_t *)in[2].data : *(const int32_t *)in[2].data;
  if (delta == 0) return lens_node_error(node, LENS_ERR_INVALID_MODEL, "delta is 0");
  /* unsigned differences are exact for any int64 pair in the right order */
  uint64_t span, step;
  if (delta > 0) {
    if (limit <= start) {
      *count = 0;
      return NULL;
    }
    span = (uint64_t)limit - (uint64_t)start;
    step = (uint64_t)delta;
  } else {
    if (limit >= start) {
      *count = 0;
      return NULL;
    }
    span = (uint64_t)start - (uint64_t)limit;
    step = 0 - (uint64_t)delta;
  }
  uint64_t c = span / step + (span % step != 0);
  if (c > ((uint64_t)1 << 40))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "range has too many elements");
  *count = (int64_t)c;
  return NULL;
}

static lens_status *range_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  lens_dtype dt = in[0].dtype;
  if (dt != LENS_DTYPE_FLOAT32 && dt != LENS_DTYPE_INT64 && dt != LENS_DTYPE_INT32)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "dtype %s is not supported",
                           lens_dtype_name(dt));
  static const char *const names[3] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; i++) {
    if (in[i].dtype != dt)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s is %s, start is %s", names[i],
                             lens_dtype_name(in[i].dtype), lens_dtype_name(dt));
    if (lens_value_elements(&in[i]) != 1)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s must be a scalar", names[i]);
  }
  out[0].dtype = dt;
  if (!in[0].data || !in[1].data || !in[2].data) {
    out[0].rank = -1;
    return NULL;
  }
  out[0].rank = 1;
  LENS_TRY(range_count(node, in, &out[0].dims[0]));
  return lens_check_output_shape(node, &out[0]);
}

static lens_status *range_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                  lens_exec_ctx *ctx) {
  (void)ctx;
  int64_t n = 0;
  LENS_TRY(range_count(node, in, &n));
  if (n != out[0].dims[0])
    return lens_node_error(node, LENS_ERR_RUNTIME, "range has %lld elements, output holds %lld",
                           (long long)n, (long long)out[0].dims[0]);
  switch (in[0].dtype) {
  case LENS_DTYPE_FLOAT32: {
    float v = *(const float *)in[0].data, delta = *(const float *)in[2].data;
    float *dst = out[0].data;
    for (int64_t i = 0; i < n; i++, v += delta) dst[i] = v;
    break;
  }
  case LENS_DTYPE_INT64: {
    uint64_t v = (uint64_t)*(const int64_t *)in[0].data, delta = (uint64_t)*(const int64_t *)in[2].data;
    int64_t *dst = out[0].data;
    for (int64_t i = 0; i < n; i++, v += delta) dst[i] = (int64_t)v;
    break;
  }
  default: {
    int64_t v = *(const int32_t *)in[0].data, delta = *(const int32_t *)in[2].data;
    int32_t *dst = out[0].data;
    for (int64_t i = 0; i < n; i++, v += delta) dst[i] = (int32_t)v;
    break;
  }
  }
  return NULL;
}

const lens_op_def lens_op_range = {
    .name = "Range",
    .domain = "",
    .min_inputs = 3,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = range_infer,
    .compute = range_compute,
};
