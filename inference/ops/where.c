/* Where: elementwise condition ? X : Y with multidirectional broadcasting of all three.
 * condition is bool; X and Y share any dtype (the kernel only moves elements). */
#include "ops/elementwise_common.h"

#define WHERE_RUN(name, T)                                                                    \
  static bool name(const void *const *in, const int64_t *step, void *out_, int64_t n,        \
                   const void *params) {                                                      \
    const uint8_t *c = in[0];                                                                 \
    const T *x = in[1], *y = in[2];                                                           \
    T *out = out_;                                                                            \
    (void)params;                                                                             \
    for (int64_t i = 0; i < n; i++)                                                           \
      out[i] = c[i * step[0]] ? x[i * step[1]] : y[i * step[2]];                              \
    return true;                                                                              \
  }

WHERE_RUN(where_1, uint8_t)
WHERE_RUN(where_2, uint16_t)
WHERE_RUN(where_4, uint32_t)
WHERE_RUN(where_8, uint64_t)

static lens_status *where_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  if (in[0].dtype != LENS_DTYPE_BOOL)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "condition must be bool, found %s",
                           lens_dtype_name(in[0].dtype));
  if (in[1].dtype != in[2].dtype)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "X is %s but Y is %s",
                           lens_dtype_name(in[1].dtype), lens_dtype_name(in[2].dtype));
  if (lens_dtype_size(in[1].dtype) == 0)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%s values are not supported",
                           lens_dtype_name(in[1].dtype));
  const lens_value *args[3] = {&in[0], &in[1], &in[2]};
  LENS_TRY(lens_broadcast_shape(node, args, 3, &out[0]));
  out[0].dtype = in[1].dtype;
  return lens_check_output_shape(node, &out[0]);
}

static lens_status *where_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                  lens_exec_ctx *ctx) {
  const lens_value *args[3] = {&in[0], &in[1], &in[2]};
  lens_ew_fn fn;
  switch (lens_dtype_size(in[1].dtype)) {
  case 1: fn = where_1; break;
  case 2: fn = where_2; break;
  case 4: fn = where_4; break;
  case 8: fn = where_8; break;
  default:
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%s values are not supported",
                           lens_dtype_name(in[1].dtype));
  }
  lens_ew_apply(ctx, 3, args, out, fn, NULL);
  return NULL;
}

const lens_op_def lens_op_where = {
    .name = "Where",
    .domain = "",
    .min_inputs = 3,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = where_infer,
    .compute = where_compute,
};
