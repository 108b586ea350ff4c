/* ConvTranspose (opsets 1, 11): N-D transposed convolution with groups, strides, dilations,
 * pads, output_padding, output_shape and auto_pad, optional bias. float32. */
#include <stdlib.h>
#include <string.h>

#include "ops/nn_common.h"

typedef struct convtranspose_params {
  lens_window_attrs win;
  int64_t group;
  int n_output_padding;
  int64_t output_padding[LENS_MAX_SPATIAL];
  int n_output_shape; /* spatial dims, or spatial + 2 (N and C first) */
  int64_t output_shape[LENS_MAX_RANK];
} convtranspose_params;

static lens_status *convtranspose_parse(lens_node *node, void *out) {
  convtranspose_params *p = out;
  LENS_TRY(lens_window_attrs_parse(node, true, &p->win));
  LENS_TRY(lens_attr_int(node, "group", 1, &p->group));
  if (p->group <= 0)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "group %lld must be positive",
                           (long long)p->group);
  const int64_t *v;
  size_t n;
  LENS_TRY(lens_attr_ints(node, "output_padding", &v, &n));
  if (n > LENS_MAX_SPATIAL)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "output_padding has %zu values", n);
  for (size_t i = 0; i < n; i++) {
    if (v[i] < 0 || v[i] > ((int64_t)1 << 32))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "output_padding value %lld is invalid",
                             (long long)v[i]);
    p->output_padding[i] = v[i];
  }
  p->n_output_padding = (int)n;
  LENS_TRY(lens_attr_ints(node, "output_shape", &v, &n));
  if (n > LENS_MAX_RANK)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "output_shape has %zu values", n);
  for (size_t i = 0; i < n; i++) {
    if (v[i] < 0 || v[i] > ((int64_t)1 << 40))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "output_shape value %lld is invalid",
                             (long long)v[i]);
    p->output_shape[i] = v[i];
  }
  p->n_output_shape = (int)n;
  return NULL;
}

static lens_status *convtranspose_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(convtranspose_params), convtranspose_parse);
}

/* Splits a total padding between begin and end as the ONNX reference does: SAME_UPPER puts
 * the odd one at the end, the other modes at the beginning. A negative total (output larger
 * than what the input reaches) becomes zeros at the end. */
static void split_padding(lens_auto_pad mode, int64_t total, int64_t *begin, int64_t *end) {
  if (total < 0) total = 0;
  if (mode == LENS_AUTO_PAD_SAME_UPPER) {
    *begin = total / 2;
    *end = total - total / 2;
  } else {
    *end = total / 2;
    *begin = total - total / 2;
  }
}

static lens_status *convtranspose_geometry(const lens_node *node, const lens_value *in,
                                           lens_window *w) {
  const convtranspose_params *p = node->params;
  const lens_value *x = &in[0], *wt = &in[1];
  if (x->dtype != LENS_DTYPE_FLOAT32)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "input dtype %s is not supported",
                           lens_dtype_name(x->dtype));
  if (wt->dtype != x->dtype)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "W is %s, X is %s",
                           lens_dtype_name(wt->dtype), lens_dtype_name(x->dtype));
  if (x->rank < 3 || x->rank - 2 > LENS_MAX_SPATIAL)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "X must have rank >= 3, found %d",
                           x->rank);
  if (wt->rank != x->rank)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "W has rank %d, X has rank %d",
                           wt->rank, x->rank);
  int n = x->rank - 2;
  int64_t c = x->dims[1];
  if (wt->dims[0] != c)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "W has %lld input channels, X has %lld",
                           (long long)wt->dims[0], (long long)c);
  if (c % p->group)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "group %lld does not divide input channels %lld",
                           (long long)p->group, (long long)c);
  int64_t m;
  if (!lens_mul_i64(wt->dims[1], p->group, &m))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "too many output channels");
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
  const lens_window_attrs *a = &p->win;
  for (int i = 0; i < a->n_kernel && i < n; i++)
    if (a->kernel[i] != wt->dims[2 + i])
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "kernel_shape[%d] = %lld does not match W dim %lld", i,
                             (long long)a->kernel[i], (long long)wt->dims[2 + i]);
  if ((a->n_kernel && a->n_kernel != n) || (a->n_strides && a->n_strides != n) ||
      (a->n_dilations && a->n_dilations != n) || (a->n_pads && a->n_pads != n) ||
      (p->n_output_padding && p->n_output_padding != n))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "an attribute's length does not match the %d spatial dims", n);
  if (p->n_output_shape && p->n_output_shape != n && p->n_output_shape != n + 2)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "output_shape has %d values for %d spatial dims", p->n_output_shape,
                           n);
  memset(w, 0, sizeof *w);
  w->n = n;
  for (int i = 0; i < n; i++) {
    int64_t in_size = x->dims[2 + i], k = wt->dims[2 + i];
    if (in_size < 0 || in_size > ((int64_t)1 << 32) || k <= 0 || k > ((int64_t)1 << 32))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "invalid spatial or kernel size");
    w->in[i] = in_size;
    w->kernel[i] = k;
    w->stride[i] = a->n_strides ? a->strides[i] : 1;
    w->dilation[i] = a->n_dilations ? a->dilations[i] : 1;
    int64_t op = p->n_output_padding ? p->output_padding[i] : 0;
    /* Where the last input position's last tap lands, plus one, plus output_padding. */
    int64_t full = w->stride[i] * (in_size - 1) + op + (k - 1) * w->dilation[i] + 1;
    if (p->n_output_shape) {
      int64_t target = p->output_shape[p->n_output_shape - n + i];
      split_padding(a->auto_pad, full - target, &w->pad_begin[i], &w->pad_end[i]);
      w->out[i] = target;
    } else if (a->auto_pad == LENS_AUTO_PAD_SAME_UPPER ||
               a->auto_pad == LENS_AUTO_PAD_SAME_LOWER) {
      int64_t target = in_size * w->stride[i];
      split_padding(a->auto_pad, full - target, &w->pad_begin[i], &w->pad_end[i]);
      w->out[i] = target;
    } else {
      if (a->auto_pad == LENS_AUTO_PAD_NOTSET && a->n_pads) {
        w->pad_begin[i] = a->pads[i];
        w->pad_end[i] = a->pads[n + i];
      }
      w->out[i] = full - w->pad_begin[i] - w->pad_end[i];
      if (w->out[i] < 0)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                               "pads %lld+%lld exceed the output size %lld of spatial dim %d",
                               (long long)w->pad_begin[i], (long long)w->pad_end[i],
                               (long long)full, i);
    }
  }
  return NULL;
}

static lens_status *convtranspose_infer(const lens_node *node, const lens_value *in,
                                        lens_value *out) {
  const convtranspose_params *p = node->params;
  lens_window w;
  LENS_TRY(convtranspose_geometry(node, in, &w));
  out[0].dtype = in[0].dtype;
  out[0].rank = in[0].rank;
  out[0].dims[0] = in[0].dims[0];
  out[0].dims[1] = in[1].dims[1] * p->group;
  for (int i = 0; i < w.n; i++) out[0].dims[2 + i] = w.out[i];
  return lens_check_output_shape(node, &out[0]);
}

static double convtranspose_flops(const lens_node *node, const lens_value *in,
                                  const lens_value *out) {
  /* Every input value meets M/group * prod(kernel) weights. */
  double per_in = 2.0 * (double)in[1].dims[1];
  for (int i = 2; i < in[1].rank; i++) per_in *= (double)in[1].dims[i];
  return per_in * (double)lens_value_elements(&in[0]);
}

typedef struct convtranspose_job {
  const lens_window *w;
  const float *x, *wt, *b;
  float *y;
  int64_t c_in, m_out, group;
} convtranspose_job;

/* One (batch, output channel) plane per index: gathers every input channel of its group. */
static void convtranspose_planes(void *arg, size_t begin, size_t end) {
  const convtranspose_job *j = arg;
  const lens_window *w = j->w;
  int n = w->n;
  int64_t cg = j->c_in / j->group, mg = j->m_out / j->group;
  int64_t in_size = lens_spatial_size(w->in, n);
  int64_t out_size = lens_spatial_size(w->out, n);
  int64_t k_size = lens_spatial_size(w->kernel, n);
  for (size_t plane = begin; plane < end; plane++) {
    int64_t batch = (int64_t)plane / j->m_out, m = (int64_t)plane % j->m_out;
    int64_t g = m / mg, mm = m % mg;
    float *y = j->y + (int64_t)plane * out_size;
    float bias = j->b ? j->b[m] : 0.0f;
    for (int64_t o = 0; o < out_size; o++) y[o] = bias;
    for (int64_t i = 0; i < in_size; i++) {
      int64_t ic[LENS_MAX_SPATIAL];
      int64_t rest = i;
      for (int d = n - 1; d >= 0; d--) {
        ic[d] = rest % w->in[d];
        rest /= w->in[d];
      }
      for (int64_t kk = 0; kk < k_size; kk++) {
        int64_t krest = kk, offset = 0, scale = 1;
        bool inside = true;
        for (int d = n - 1; d >= 0; d--) {
          int64_t kd = krest % w->kernel[d];
          krest /= w->kernel[d];
          int64_t pos = ic[d] * w->stride[d] + kd * w->dilation[d] - w->pad_begin[d];
          if (pos < 0 || pos >= w->out[d]) {
            inside = false;
            break;
          }
          offset += pos * scale;
          scale *= w->out[d];
        }
        if (!inside) continue;
        float acc = 0.0f;
        for (int64_t c = 0; c < cg; c++) {
          int64_t ch = g * cg + c;
          acc += j->x[(batch * j->c_in + ch) * in_size + i] *
                 j->wt[(ch * mg + mm) * k_size + kk];
        }
        y[offset] += acc;
      }
    }
  }
}

static lens_status *convtranspose_compute(const lens_node *node, const lens_value *in,
                                          lens_value *out, lens_exec_ctx *ctx) {
  const convtranspose_params *p = node->params;
  lens_window w;
  LENS_TRY(convtranspose_geometry(node, in, &w));
  convtranspose_job job = {
      .w = &w,
      .x = in[0].data,
      .wt = in[1].data,
      .b = lens_node_has_input(node, in, 2) ? in[2].data : NULL,
      .y = out[0].data,
      .c_in = in[0].dims[1],
      .m_out = in[1].dims[1] * p->group,
      .group = p->group,
  };
  lens_parallel_for(ctx, (size_t)(in[0].dims[0] * job.m_out), convtranspose_planes, &job);
  return NULL;
}

const lens_op_def lens_op_convtranspose = {
    .name = "ConvTranspose",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = convtranspose_prepare,
    .infer = convtranspose_infer,
    .flops = convtranspose_flops,
    .compute = convtranspose_compute,
};
