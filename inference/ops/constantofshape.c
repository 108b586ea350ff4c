/* ConstantOfShape: a tensor of the shape given by input 0 (int64, 1-D; empty -> a scalar),
 * filled with the one element of the value attribute (default float32 0). */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

typedef struct constantofshape_params {
  lens_dtype dtype;
  uint8_t value[8];
} constantofshape_params;

static lens_status *constantofshape_parse(lens_node *node, void *out) {
  constantofshape_params *p = out;
  p->dtype = LENS_DTYPE_FLOAT32;
  const lens_attr *a = lens_node_attr(node, "value");
  if (!a) return NULL;
  if (a->type != LENS_ATTR_TENSOR)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "attribute value must be a tensor");
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, a->t.dtype, "value", &es));
  int64_t n;
  if (a->t.rank < 0 || a->t.rank > LENS_MAX_RANK || !lens_dims_product(a->t.dims, a->t.rank, &n) ||
      n != 1 || a->t.nbytes != es || !a->t.data)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "value must hold exactly one element");
  p->dtype = a->t.dtype;
  memcpy(p->value, a->t.data, es);
  return NULL;
}

static lens_status *constantofshape_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(constantofshape_params), constantofshape_parse);
}

static lens_status *constantofshape_infer(const lens_node *node, const lens_value *in,
                                          lens_value *out) {
  const constantofshape_params *p = node->params;
  out[0].dtype = p->dtype;
  if (in[0].dtype != LENS_DTYPE_INT64)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "input must be int64, found %s",
                           lens_dtype_name(in[0].dtype));
  if (in[0].rank != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "input must be 1-D, found rank %d",
                           in[0].rank);
  if (in[0].dims[0] > LENS_MAX_RANK)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "output rank %lld exceeds %d",
                           (long long)in[0].dims[0], LENS_MAX_RANK);
  if (!in[0].data && in[0].dims[0] > 0) {
    out[0].rank = -1;
    return NULL;
  }
  size_t n = 0;
  if (in[0].dims[0] > 0)
    LENS_TRY(lens_value_read_ints(node, &in[0], "shape", out[0].dims, LENS_MAX_RANK, &n));
  out[0].rank = (int)n;
  for (size_t i = 0; i < n; i++)
    if (out[0].dims[i] < 0)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "shape value %lld at %zu is negative",
                             (long long)out[0].dims[i], i);
  return lens_check_output_shape(node, &out[0]);
}

static lens_status *constantofshape_compute(const lens_node *node, const lens_value *in,
                                            lens_value *out, lens_exec_ctx *ctx) {
  (void)in;
  (void)ctx;
  const constantofshape_params *p = node->params;
  size_t es = lens_dtype_size(p->dtype);
  int64_t n = lens_value_elements(&out[0]);
  uint8_t *dst = out[0].data;
  bool zero = true;
  for (size_t i = 0; i < es; i++) zero = zero && p->value[i] == 0;
  if (zero) {
    memset(dst, 0, (size_t)n * es);
    return NULL;
  }
  for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * es, p->value, es);
  return NULL;
}

const lens_op_def lens_op_constantofshape = {
    .name = "ConstantOfShape",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = constantofshape_prepare,
    .infer = constantofshape_infer,
    .compute = constantofshape_compute,
};
