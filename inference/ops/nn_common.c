/* Window geometry shared by Conv, ConvTranspose and the pooling operators. */
#include <string.h>

#include "ops/nn_common.h"

static lens_status *read_positive_ints(const lens_node *node, const char *name, bool positive,
                                       size_t max, int64_t *out, int *count) {
  const int64_t *v;
  size_t n;
  LENS_TRY(lens_attr_ints(node, name, &v, &n));
  if (n > max)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED,
                           "attribute '%s' has %zu values, at most %zu supported", name, n, max);
  for (size_t i = 0; i < n; i++) {
    if (positive ? v[i] <= 0 : v[i] < 0)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "attribute '%s' value %lld must be %s",
                             name, (long long)v[i], positive ? "positive" : "non-negative");
    /* Bounds every later product of window sizes far from int64 overflow. */
    if (v[i] > ((int64_t)1 << 32))
      return lens_node_error(node, LENS_ERR_UNSUPPORTED, "attribute '%s' value %lld is too large",
                             name, (long long)v[i]);
    out[i] = v[i];
  }
  *count = (int)n;
  return NULL;
}

lens_status *lens_window_attrs_parse(const lens_node *node, bool allow_dilations,
                                     lens_window_attrs *a) {
  memset(a, 0, sizeof *a);
  const char *mode;
  LENS_TRY(lens_attr_string(node, "auto_pad", "NOTSET", &mode));
  if (strcmp(mode, "NOTSET") == 0) a->auto_pad = LENS_AUTO_PAD_NOTSET;
  else if (strcmp(mode, "SAME_UPPER") == 0) a->auto_pad = LENS_AUTO_PAD_SAME_UPPER;
  else if (strcmp(mode, "SAME_LOWER") == 0) a->auto_pad = LENS_AUTO_PAD_SAME_LOWER;
  else if (strcmp(mode, "VALID") == 0) a->auto_pad = LENS_AUTO_PAD_VALID;
  else
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "unknown auto_pad '%s'", mode);

  LENS_TRY(read_positive_ints(node, "kernel_shape", true, LENS_MAX_SPATIAL, a->kernel,
                              &a->n_kernel));
  LENS_TRY(read_positive_ints(node, "strides", true, LENS_MAX_SPATIAL, a->strides,
                              &a->n_strides));
  if (allow_dilations) {
    LENS_TRY(read_positive_ints(node, "dilations", true, LENS_MAX_SPATIAL, a->dilations,
                                &a->n_dilations));
  } else if (lens_node_attr(node, "dilations")) {
    return lens_node_error(node, LENS_ERR_UNSUPPORTED,
                           "attribute 'dilations' is not supported for this operator");
  }
  int n_pad_values = 0;
  LENS_TRY(read_positive_ints(node, "pads", false, 2 * LENS_MAX_SPATIAL, a->pads,
                              &n_pad_values));
  if (n_pad_values % 2)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "attribute 'pads' has %d values, expected an even count",
                           n_pad_values);
  a->n_pads = n_pad_values / 2;
  if (a->auto_pad != LENS_AUTO_PAD_NOTSET) {
    for (int i = 0; i < n_pad_values; i++)
      if (a->pads[i] != 0)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                               "explicit 'pads' cannot be combined with auto_pad '%s'", mode);
  }
  return NULL;
}

static lens_status *check_count(const lens_node *node, const char *name, int count, int n) {
  if (count != 0 && count != n)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "attribute '%s' has %d spatial values, the input has %d spatial dims",
                           name, count, n);
  return NULL;
}

lens_status *lens_window_resolve(const lens_node *node, const lens_window_attrs *a, int n,
                                 const int64_t *in, const int64_t *kernel, bool ceil_mode,
                                 lens_window *w) {
  if (n < 1 || n > LENS_MAX_SPATIAL)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%d spatial dims are not supported", n);
  LENS_TRY(check_count(node, "kernel_shape", a->n_kernel, n));
  LENS_TRY(check_count(node, "strides", a->n_strides, n));
  LENS_TRY(check_count(node, "dilations", a->n_dilations, n));
  LENS_TRY(check_count(node, "pads", a->n_pads, n));
  memset(w, 0, sizeof *w);
  w->n = n;
  for (int i = 0; i < n; i++) {
    w->in[i] = in[i];
    w->kernel[i] = kernel[i];
    w->stride[i] = a->n_strides ? a->strides[i] : 1;
    w->dilation[i] = a->n_dilations ? a->dilations[i] : 1;
    if (kernel[i] <= 0 || kernel[i] > ((int64_t)1 << 32))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "kernel size %lld is invalid",
                             (long long)kernel[i]);
    if (in[i] < 0 || in[i] > ((int64_t)1 << 40))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "spatial size %lld is invalid",
                             (long long)in[i]);
    int64_t eff = (kernel[i] - 1) * w->dilation[i] + 1;
    switch (a->auto_pad) {
    case LENS_AUTO_PAD_SAME_UPPER:
    case LENS_AUTO_PAD_SAME_LOWER: {
      int64_t out = (in[i] + w->stride[i] - 1) / w->stride[i];
      int64_t total = (out - 1) * w->stride[i] + eff - in[i];
      if (total < 0) total = 0;
      if (a->auto_pad == LENS_AUTO_PAD_SAME_UPPER) {
        w->pad_begin[i] = total / 2;
        w->pad_end[i] = total - total / 2;
      } else {
        w->pad_begin[i] = total - total / 2;
        w->pad_end[i] = total / 2;
      }
      w->out[i] = out;
      continue;
    }
    case LENS_AUTO_PAD_VALID:
      w->pad_begin[i] = w->pad_end[i] = 0;
      break;
    case LENS_AUTO_PAD_NOTSET:
      w->pad_begin[i] = a->n_pads ? a->pads[i] : 0;
      w->pad_end[i] = a->n_pads ? a->pads[n + i] : 0;
      break;
    }
    int64_t span = in[i] + w->pad_begin[i] + w->pad_end[i] - eff;
    if (span < 0)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "the kernel (size %lld, dilation %lld) does not fit spatial dim %d "
                             "of size %lld with pads %lld+%lld",
                             (long long)kernel[i], (long long)w->dilation[i], i,
                             (long long)in[i], (long long)w->pad_begin[i],
                             (long long)w->pad_end[i]);
    int64_t out = ceil_mode ? (span + w->stride[i] - 1) / w->stride[i] + 1
                            : span / w->stride[i] + 1;
    /* A last window that starts inside the end padding covers no input at all. */
    if (ceil_mode && out > 1 && (out - 1) * w->stride[i] >= in[i] + w->pad_begin[i]) out--;
    w->out[i] = out;
  }
  return NULL;
}

int64_t lens_spatial_size(const int64_t *dims, int n) {
  int64_t s = 1;
  for (int i = 0; i < n; i++) s *= dims[i];
  return s;
}

lens_status *lens_matmul_shape_of(const lens_node *node, const lens_value *a,
                                  const lens_value *b, lens_matmul_shape *s, lens_value *out) {
  char da[160], db[160];
  if (a->dtype != b->dtype)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "A is %s, B is %s",
                           lens_dtype_name(a->dtype), lens_dtype_name(b->dtype));
  if (a->rank < 1 || b->rank < 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "MatMul operands must have rank >= 1");
  memset(s, 0, sizeof *s);
  s->m = a->rank == 1 ? 1 : a->dims[a->rank - 2];
  s->k = a->dims[a->rank - 1];
  int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  s->n = b->rank == 1 ? 1 : b->dims[b->rank - 1];
  if (kb != s->k)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "shapes %s and %s cannot be multiplied (K %lld vs %lld)",
                           lens_format_dims(da, sizeof da, a->dims, a->rank),
                           lens_format_dims(db, sizeof db, b->dims, b->rank), (long long)s->k,
                           (long long)kb);
  int ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
  s->batch_rank = ra > rb ? ra : rb;
  int64_t sa = 1, sb = 1;
  s->batch = 1;
  for (int d = s->batch_rank - 1; d >= 0; d--) {
    int ia = d - (s->batch_rank - ra), ib = d - (s->batch_rank - rb);
    int64_t xa = ia >= 0 ? a->dims[ia] : 1, xb = ib >= 0 ? b->dims[ib] : 1;
    if (xa != xb && xa != 1 && xb != 1)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "batch dims of %s and %s cannot be broadcast",
                             lens_format_dims(da, sizeof da, a->dims, a->rank),
                             lens_format_dims(db, sizeof db, b->dims, b->rank));
    s->batch_dims[d] = xa == 1 ? xb : xa;
    s->a_batch_stride[d] = xa == 1 ? 0 : sa;
    s->b_batch_stride[d] = xb == 1 ? 0 : sb;
    sa *= xa;
    sb *= xb;
    s->batch *= s->batch_dims[d];
  }
  if (out) {
    out->dtype = a->dtype;
    out->rank = s->batch_rank;
    for (int d = 0; d < s->batch_rank; d++) out->dims[d] = s->batch_dims[d];
    if (a->rank > 1) out->dims[out->rank++] = s->m;
    if (b->rank > 1) out->dims[out->rank++] = s->n;
    LENS_TRY(lens_check_output_shape(node, out));
  }
  return NULL;
}

void lens_matmul_offsets(const lens_matmul_shape *s, int64_t index, int64_t *a_offset,
                         int64_t *b_offset) {
  int64_t ia = 0, ib = 0;
  for (int d = s->batch_rank - 1; d >= 0; d--) {
    int64_t i = index % s->batch_dims[d];
    index /= s->batch_dims[d];
    ia += i * s->a_batch_stride[d];
    ib += i * s->b_batch_stride[d];
  }
  *a_offset = ia * s->m * s->k;
  *b_offset = ib * s->k * s->n;
}

lens_status *lens_conv_resolve(const lens_node *node, const lens_value *in, lens_window *w) {
  const lens_conv_params *p = node->params;
  const lens_value *x = &in[0], *wt = &in[1];
  if (x->dtype != LENS_DTYPE_FLOAT32)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "input dtype %s is not supported",
                           lens_dtype_name(x->dtype));
  if (wt->dtype != x->dtype)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "W is %s, X is %s",
                           lens_dtype_name(wt->dtype), lens_dtype_name(x->dtype));
  if (x->rank < 3)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "X must have rank >= 3, found %d",
                           x->rank);
  if (wt->rank != x->rank)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "W has rank %d, X has rank %d",
                           wt->rank, x->rank);
  int64_t c = x->dims[1], m = wt->dims[0];
  if (c % p->group || m % p->group)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "group %lld does not divide input channels %lld and output "
                           "channels %lld",
                           (long long)p->group, (long long)c, (long long)m);
  if (wt->dims[1] != c / p->group)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "W has %lld input channels per group, expected %lld",
                           (long long)wt->dims[1], (long long)(c / p->group));
  int n = x->rank - 2;
  for (int i = 0; i < p->win.n_kernel && i < n; i++)
    if (p->win.kernel[i] != wt->dims[2 + i])
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "kernel_shape[%d] = %lld does not match W dim %lld", i,
                             (long long)p->win.kernel[i], (long long)wt->dims[2 + i]);
  if (lens_node_has_input(node, in, 2)) {
    const lens_value *b = &in[2];
    if (b->dtype != x->dtype)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "B is %s, X is %s",
                             lens_dtype_name(b->dtype), lens_dtype_name(x->dtype));
    if (b->rank != 1 || b->dims[0] != m)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "B must be 1-D with %lld values (one per output channel)",
                             (long long)m);
  }
  return lens_window_resolve(node, &p->win, n, x->dims + 2, wt->dims + 2, false, w);
}
