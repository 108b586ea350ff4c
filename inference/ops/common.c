/* Helpers every operator shares: attribute access, value reading, broadcasting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

static const char *attr_type_name(lens_attr_type t) {
  switch (t) {
  case LENS_ATTR_FLOAT: return "float";
  case LENS_ATTR_INT: return "int";
  case LENS_ATTR_STRING: return "string";
  case LENS_ATTR_TENSOR: return "tensor";
  case LENS_ATTR_GRAPH: return "graph";
  case LENS_ATTR_FLOATS: return "floats";
  case LENS_ATTR_INTS: return "ints";
  case LENS_ATTR_STRINGS: return "strings";
  default: return "undefined";
  }
}

const lens_attr *lens_node_attr(const lens_node *node, const char *name) {
  for (int i = 0; i < node->n_attrs; i++)
    if (strcmp(node->attrs[i].name, name) == 0) return &node->attrs[i];
  return NULL;
}

static lens_status *attr_of_type(const lens_node *node, const char *name, lens_attr_type type,
                                 const lens_attr **out) {
  const lens_attr *a = lens_node_attr(node, name);
  *out = NULL;
  if (!a) return NULL;
  if (a->type != type)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "attribute '%s' must be of type %s, found %s", name,
                           attr_type_name(type), attr_type_name(a->type));
  *out = a;
  return NULL;
}

lens_status *lens_attr_int(const lens_node *node, const char *name, int64_t def, int64_t *out) {
  const lens_attr *a;
  LENS_TRY(attr_of_type(node, name, LENS_ATTR_INT, &a));
  *out = a ? a->i : def;
  return NULL;
}

lens_status *lens_attr_float(const lens_node *node, const char *name, float def, float *out) {
  const lens_attr *a;
  LENS_TRY(attr_of_type(node, name, LENS_ATTR_FLOAT, &a));
  *out = a ? a->f : def;
  return NULL;
}

lens_status *lens_attr_ints(const lens_node *node, const char *name, const int64_t **out,
                            size_t *count) {
  const lens_attr *a;
  LENS_TRY(attr_of_type(node, name, LENS_ATTR_INTS, &a));
  *out = a ? a->ints : NULL;
  *count = a ? a->count : 0;
  return NULL;
}

lens_status *lens_attr_floats(const lens_node *node, const char *name, const float **out,
                              size_t *count) {
  const lens_attr *a;
  LENS_TRY(attr_of_type(node, name, LENS_ATTR_FLOATS, &a));
  *out = a ? a->floats : NULL;
  *count = a ? a->count : 0;
  return NULL;
}

lens_status *lens_attr_string(const lens_node *node, const char *name, const char *def,
                              const char **out) {
  const lens_attr *a;
  LENS_TRY(attr_of_type(node, name, LENS_ATTR_STRING, &a));
  *out = a ? a->s : def;
  return NULL;
}

lens_status *lens_node_store_params(lens_node *node, size_t size,
                                    lens_status *(*parse)(lens_node *node, void *params)) {
  void *p = calloc(1, size);
  if (!p) return lens_error_oom();
  lens_status *st = parse(node, p);
  if (st) {
    free(p);
    return st;
  }
  free(node->params);
  node->params = p;
  return NULL;
}

int64_t lens_value_elements(const lens_value *v) {
  int64_t n = 1;
  for (int i = 0; i < v->rank; i++) n *= v->dims[i];
  return n;
}

lens_status *lens_value_read_ints(const lens_node *node, const lens_value *v, const char *what,
                                  int64_t *out, size_t max, size_t *count) {
  if (v->dtype != LENS_DTYPE_INT64 && v->dtype != LENS_DTYPE_INT32)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s must be int64 or int32, found %s",
                           what, lens_dtype_name(v->dtype));
  if (v->rank > 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s must be 1-D, found rank %d", what,
                           v->rank);
  int64_t n = lens_value_elements(v);
  if (n < 0 || (uint64_t)n > max)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%s has %lld values, at most %zu allowed",
                           what, (long long)n, max);
  for (int64_t i = 0; i < n; i++)
    out[i] = v->dtype == LENS_DTYPE_INT64 ? ((const int64_t *)v->data)[i]
                                          : ((const int32_t *)v->data)[i];
  *count = (size_t)n;
  return NULL;
}

double lens_value_get_f64(lens_dtype dtype, const void *data, int64_t i) {
  switch (dtype) {
  case LENS_DTYPE_FLOAT32: return ((const float *)data)[i];
  case LENS_DTYPE_FLOAT16: return lens_half_to_float(((const uint16_t *)data)[i]);
  case LENS_DTYPE_UINT8: return ((const uint8_t *)data)[i];
  case LENS_DTYPE_INT8: return ((const int8_t *)data)[i];
  case LENS_DTYPE_INT32: return ((const int32_t *)data)[i];
  case LENS_DTYPE_INT64: return (double)((const int64_t *)data)[i];
  case LENS_DTYPE_BOOL: return ((const uint8_t *)data)[i] ? 1.0 : 0.0;
  default: return 0.0;
  }
}

void lens_value_set_f64(lens_dtype dtype, void *data, int64_t i, double x) {
  switch (dtype) {
  case LENS_DTYPE_FLOAT32: ((float *)data)[i] = (float)x; break;
  case LENS_DTYPE_FLOAT16: ((uint16_t *)data)[i] = lens_float_to_half((float)x); break;
  case LENS_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)x; break;
  case LENS_DTYPE_INT8: ((int8_t *)data)[i] = (int8_t)x; break;
  case LENS_DTYPE_INT32: ((int32_t *)data)[i] = (int32_t)x; break;
  case LENS_DTYPE_INT64: ((int64_t *)data)[i] = (int64_t)x; break;
  case LENS_DTYPE_BOOL: ((uint8_t *)data)[i] = x != 0.0; break;
  default: break;
  }
}

lens_status *lens_value_read_scalar(const lens_node *node, const lens_value *v,
                                    const char *what, double *out) {
  if (lens_dtype_size(v->dtype) == 0)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s has an unsupported dtype", what);
  if (lens_value_elements(v) != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s must hold exactly one value", what);
  *out = lens_value_get_f64(v->dtype, v->data, 0);
  return NULL;
}

lens_status *lens_check_output_shape(const lens_node *node, const lens_value *out) {
  char buf[160];
  int64_t n;
  if (out->rank < 0 || out->rank > LENS_MAX_RANK)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "output rank %d outside [0, %d]",
                           out->rank, LENS_MAX_RANK);
  if (!lens_dims_product(out->dims, out->rank, &n))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "invalid output shape %s",
                           lens_format_dims(buf, sizeof buf, out->dims, out->rank));
  size_t es = lens_dtype_size(out->dtype);
  if (es && n > LENS_MAX_TENSOR_BYTES / (int64_t)es)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "output shape %s is too large",
                           lens_format_dims(buf, sizeof buf, out->dims, out->rank));
  return NULL;
}

lens_status *lens_normalize_axis(const lens_node *node, int64_t axis, int rank, int *out) {
  int64_t r = rank;
  if (axis < -r || axis >= r)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axis %lld out of range for rank %d",
                           (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + r : axis);
  return NULL;
}

lens_status *lens_broadcast_shape(const lens_node *node, const lens_value *const *values, int n,
                                  lens_value *out) {
  int rank = 0;
  for (int i = 0; i < n; i++)
    if (values[i]->rank > rank) rank = values[i]->rank;
  for (int d = 0; d < rank; d++) {
    int64_t dim = 1;
    for (int i = 0; i < n; i++) {
      int off = rank - values[i]->rank;
      if (d < off) continue;
      int64_t x = values[i]->dims[d - off];
      if (x == dim || x == 1) continue;
      if (dim == 1) {
        dim = x;
        continue;
      }
      char a[160], b[160];
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "shapes %s and %s cannot be broadcast",
                             lens_format_dims(a, sizeof a, values[0]->dims, values[0]->rank),
                             lens_format_dims(b, sizeof b, values[i]->dims, values[i]->rank));
    }
    out->dims[d] = dim;
  }
  out->rank = rank;
  return NULL;
}

void lens_contiguous_strides(const int64_t *dims, int rank, int64_t *strides) {
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
}

void lens_broadcast_strides(const lens_value *in, int out_rank, const int64_t *out_dims,
                            int64_t *strides) {
  int64_t own[LENS_MAX_RANK];
  lens_contiguous_strides(in->dims, in->rank, own);
  int off = out_rank - in->rank;
  for (int d = 0; d < out_rank; d++) {
    if (d < off || in->dims[d - off] == 1 || out_dims[d] == 0)
      strides[d] = 0;
    else
      strides[d] = own[d - off];
  }
}
