/* Constant: a tensor given by exactly one attribute: value (a tensor), or from opset 12
 * value_float, value_floats, value_int, value_ints. sparse_value and strings are not
 * supported. */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

typedef struct constant_params {
  lens_dtype dtype;
  int rank;
  int64_t dims[LENS_MAX_RANK];
  const void *data; /* owned by the attribute, NULL when the value is in scalar */
  size_t nbytes;
  union {
    float f;
    int64_t i;
  } scalar;
} constant_params;

static lens_status *constant_parse(lens_node *node, void *out) {
  constant_params *p = out;
  static const char *const unsupported[] = {"sparse_value", "value_string", "value_strings"};
  for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
    if (lens_node_attr(node, unsupported[i]))
      return lens_node_error(node, LENS_ERR_UNSUPPORTED, "attribute %s is not supported",
                             unsupported[i]);
  static const char *const known[] = {"value", "value_float", "value_floats", "value_int",
                                      "value_ints"};
  const lens_attr *a = NULL;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    const lens_attr *x = lens_node_attr(node, known[i]);
    if (!x) continue;
    if (a)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "has both %s and %s", a->name, x->name);
    a = x;
  }
  if (!a) return lens_node_error(node, LENS_ERR_INVALID_MODEL, "has no value attribute");
  if (strcmp(a->name, "value") == 0) {
    if (a->type != LENS_ATTR_TENSOR)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "attribute value must be a tensor");
    const lens_tensor *t = &a->t;
    size_t es;
    LENS_TRY(lens_shape_elem_size(node, t->dtype, "value", &es));
    int64_t n;
    if (t->rank < 0 || t->rank > LENS_MAX_RANK || !lens_dims_product(t->dims, t->rank, &n))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "value has an invalid shape");
    if (n > LENS_MAX_TENSOR_BYTES / (int64_t)es || (size_t)n * es != t->nbytes ||
        (n > 0 && !t->data))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "value holds %zu bytes, its shape needs %lld", t->nbytes,
                             (long long)(n * (int64_t)es));
    p->dtype = t->dtype;
    p->rank = t->rank;
    memcpy(p->dims, t->dims, sizeof p->dims);
    p->data = t->data;
    p->nbytes = t->nbytes;
    return NULL;
  }
  if (node->opset < 12)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "attribute %s needs opset 12", a->name);
  if (strcmp(a->name, "value_float") == 0) {
    LENS_TRY(lens_attr_float(node, a->name, 0.0f, &p->scalar.f));
    p->dtype = LENS_DTYPE_FLOAT32;
    p->nbytes = sizeof(float);
  } else if (strcmp(a->name, "value_int") == 0) {
    LENS_TRY(lens_attr_int(node, a->name, 0, &p->scalar.i));
    p->dtype = LENS_DTYPE_INT64;
    p->nbytes = sizeof(int64_t);
  } else if (strcmp(a->name, "value_floats") == 0) {
    const float *v;
    size_t n;
    LENS_TRY(lens_attr_floats(node, a->name, &v, &n));
    p->dtype = LENS_DTYPE_FLOAT32;
    p->rank = 1;
    p->dims[0] = (int64_t)n;
    p->data = v;
    p->nbytes = n * sizeof *v;
  } else {
    const int64_t *v;
    size_t n;
    LENS_TRY(lens_attr_ints(node, a->name, &v, &n));
    p->dtype = LENS_DTYPE_INT64;
    p->rank = 1;
    p->dims[0] = (int64_t)n;
    p->data = v;
    p->nbytes = n * sizeof *v;
  }
  return NULL;
}

static lens_status *constant_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(constant_params), constant_parse);
}

static lens_status *constant_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  (void)in;
  const constant_params *p = node->params;
  out[0].dtype = p->dtype;
  out[0].rank = p->rank;
  memcpy(out[0].dims, p->dims, sizeof out[0].dims);
  return lens_check_output_shape(node, &out[0]);
}

static lens_status *constant_compute(const lens_node *node, const lens_value *in,
                                     lens_value *out, lens_exec_ctx *ctx) {
  (void)in;
  (void)ctx;
  const constant_params *p = node->params;
  if (p->nbytes) memcpy(out[0].data, p->data ? p->data : (const void *)&p->scalar, p->nbytes);
  return NULL;
}

const lens_op_def lens_op_constant = {
    .name = "Constant",
    .domain = "",
    .min_inputs = 0,
    .max_inputs = 0,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = constant_prepare,
    .infer = constant_infer,
    .compute = constant_compute,
};
