/* AveragePool (opsets 1, 7, 10, 11; dilations as in opset 19): N-D average pooling with
 * strides, pads, ceil_mode, count_include_pad and auto_pad. float32, float16. */
#include <stdlib.h>

#include "ops/nn_common.h"

typedef struct averagepool_params {
  lens_window_attrs win;
  bool ceil_mode;
  bool count_include_pad;
} averagepool_params;

static lens_status *averagepool_parse(lens_node *node, void *out) {
  averagepool_params *p = out;
  LENS_TRY(lens_window_attrs_parse(node, true, &p->win));
  if (!p->win.n_kernel)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "attribute 'kernel_shape' is required");
  int64_t ceil_mode, count_include_pad;
  LENS_TRY(lens_attr_int(node, "ceil_mode", 0, &ceil_mode));
  LENS_TRY(lens_attr_int(node, "count_include_pad", 0, &count_include_pad));
  if (ceil_mode != 0 && ceil_mode != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "ceil_mode must be 0 or 1, found %lld",
                           (long long)ceil_mode);
  if (count_include_pad != 0 && count_include_pad != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "count_include_pad must be 0 or 1, found %lld",
                           (long long)count_include_pad);
  p->ceil_mode = ceil_mode == 1;
  p->count_include_pad = count_include_pad == 1;
  return NULL;
}

static lens_status *averagepool_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(averagepool_params), averagepool_parse);
}

static lens_status *averagepool_geometry(const lens_node *node, const lens_value *x,
                                         lens_window *w) {
  const averagepool_params *p = node->params;
  if (x->dtype != LENS_DTYPE_FLOAT32 && x->dtype != LENS_DTYPE_FLOAT16)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "input dtype %s is not supported",
                           lens_dtype_name(x->dtype));
  if (x->rank < 3)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "X must have rank >= 3, found %d",
                           x->rank);
  return lens_window_resolve(node, &p->win, x->rank - 2, x->dims + 2, p->win.kernel,
                             p->ceil_mode, w);
}

static lens_status *averagepool_infer(const lens_node *node, const lens_value *in,
                                      lens_value *out) {
  lens_window w;
  LENS_TRY(averagepool_geometry(node, &in[0], &w));
  out[0].dtype = in[0].dtype;
  out[0].rank = in[0].rank;
  out[0].dims[0] = in[0].dims[0];
  out[0].dims[1] = in[0].dims[1];
  for (int i = 0; i < w.n; i++) out[0].dims[2 + i] = w.out[i];
  return lens_check_output_shape(node, &out[0]);
}

static double averagepool_flops(const lens_node *node, const lens_value *in,
                                const lens_value *out) {
  const averagepool_params *p = node->params;
  return (double)lens_value_elements(&out[0]) *
         ((double)lens_spatial_size(p->win.kernel, p->win.n_kernel) + 1.0);
}

typedef struct averagepool_job {
  const lens_window *w;
  lens_dtype dtype;
  const void *x;
  void *y;
  bool count_include_pad;
} averagepool_job;

static void averagepool_planes(void *arg, size_t begin, size_t end) {
  const averagepool_job *j = arg;
  const lens_window *w = j->w;
  int n = w->n;
  int64_t in_size = lens_spatial_size(w->in, n);
  int64_t out_size = lens_spatial_size(w->out, n);
  int64_t k_size = lens_spatial_size(w->kernel, n);
  for (size_t plane = begin; plane < end; plane++) {
    int64_t x_base = (int64_t)plane * in_size, y_base = (int64_t)plane * out_size;
    for (int64_t o = 0; o < out_size; o++) {
      int64_t oc[LENS_MAX_SPATIAL];
      int64_t rest = o;
      for (int d = n - 1; d >= 0; d--) {
        oc[d] = rest % w->out[d];
        rest /= w->out[d];
      }
      double sum = 0.0;
      int64_t valid = 0, padded = 0;
      for (int64_t kk = 0; kk < k_size; kk++) {
        int64_t krest = kk, offset = 0;
        bool inside = true, in_padded = true;
        int64_t pos[LENS_MAX_SPATIAL];
        for (int d = n - 1; d >= 0; d--) {
          int64_t kd = krest % w->kernel[d];
          krest /= w->kernel[d];
          pos[d] = oc[d] * w->stride[d] - w->pad_begin[d] + kd * w->dilation[d];
          if (pos[d] < 0 || pos[d] >= w->in[d]) inside = false;
          /* count_include_pad counts the explicit padding, not a ceil_mode overhang. */
          if (pos[d] < -w->pad_begin[d] || pos[d] >= w->in[d] + w->pad_end[d])
            in_padded = false;
        }
        if (in_padded) padded++;
        if (!inside) continue;
        for (int d = 0; d < n; d++) offset = offset * w->in[d] + pos[d];
        sum += j->dtype == LENS_DTYPE_FLOAT32 ? ((const float *)j->x)[x_base + offset]
                                              : lens_value_get_f64(j->dtype, j->x, x_base + offset);
        valid++;
      }
      int64_t count = j->count_include_pad ? padded : valid;
      lens_value_set_f64(j->dtype, j->y, y_base + o, count ? sum / (double)count : 0.0);
    }
  }
}

static lens_status *averagepool_compute(const lens_node *node, const lens_value *in,
                                        lens_value *out, lens_exec_ctx *ctx) {
  const averagepool_params *p = node->params;
  lens_window w;
  LENS_TRY(averagepool_geometry(node, &in[0], &w));
  averagepool_job job = {
      .w = &w,
      .dtype = in[0].dtype,
      .x = in[0].data,
      .y = out[0].data,
      .count_include_pad = p->count_include_pad,
  };
  lens_parallel_for(ctx, (size_t)(in[0].dims[0] * in[0].dims[1]), averagepool_planes, &job);
  return NULL;
}

const lens_op_def lens_op_averagepool = {
    .name = "AveragePool",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = averagepool_prepare,
    .infer = averagepool_infer,
    .flops = averagepool_flops,
    .compute = averagepool_compute,
};
