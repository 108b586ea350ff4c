/* MaxPool (opsets 1, 8, 10, 11, 12): N-D max pooling with strides, pads, dilations,
 * ceil_mode and auto_pad; the optional Indices output (flat input offsets, row- or
 * column-major per storage_order). float32, float16, int8, uint8. */
#include <math.h>
#include <stdlib.h>

#include "ops/nn_common.h"

typedef struct maxpool_params {
  lens_window_attrs win;
  bool ceil_mode;
  bool column_major_indices;
} maxpool_params;

static lens_status *maxpool_parse(lens_node *node, void *out) {
  maxpool_params *p = out;
  LENS_TRY(lens_window_attrs_parse(node, true, &p->win));
  if (!p->win.n_kernel)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "attribute 'kernel_shape' is required");
  int64_t ceil_mode, storage_order;
  LENS_TRY(lens_attr_int(node, "ceil_mode", 0, &ceil_mode));
  LENS_TRY(lens_attr_int(node, "storage_order", 0, &storage_order));
  if (ceil_mode != 0 && ceil_mode != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "ceil_mode must be 0 or 1, found %lld",
                           (long long)ceil_mode);
  if (storage_order != 0 && storage_order != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "storage_order must be 0 or 1, found %lld", (long long)storage_order);
  p->ceil_mode = ceil_mode == 1;
  p->column_major_indices = storage_order == 1;
  return NULL;
}

static lens_status *maxpool_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(maxpool_params), maxpool_parse);
}

static lens_status *maxpool_geometry(const lens_node *node, const lens_value *x,
                                     lens_window *w) {
  const maxpool_params *p = node->params;
  switch (x->dtype) {
  case LENS_DTYPE_FLOAT32:
  case LENS_DTYPE_FLOAT16:
  case LENS_DTYPE_INT8:
  case LENS_DTYPE_UINT8: break;
  default:
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "input dtype %s is not supported",
                           lens_dtype_name(x->dtype));
  }
  if (x->rank < 3)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "X must have rank >= 3, found %d",
                           x->rank);
  return lens_window_resolve(node, &p->win, x->rank - 2, x->dims + 2, p->win.kernel,
                             p->ceil_mode, w);
}

static bool wants_indices(const lens_node *node) {
  return node->n_outputs > 1 && node->outputs && node->outputs[1] >= 0;
}

static lens_status *maxpool_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  lens_window w;
  LENS_TRY(maxpool_geometry(node, &in[0], &w));
  out[0].dtype = in[0].dtype;
  out[0].rank = in[0].rank;
  out[0].dims[0] = in[0].dims[0];
  out[0].dims[1] = in[0].dims[1];
  for (int i = 0; i < w.n; i++) out[0].dims[2 + i] = w.out[i];
  LENS_TRY(lens_check_output_shape(node, &out[0]));
  if (node->n_outputs > 1) {
    out[1] = out[0];
    out[1].dtype = LENS_DTYPE_INT64;
  }
  return NULL;
}

static double maxpool_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  const maxpool_params *p = node->params;
  /* One comparison per window tap. */
  return (double)lens_value_elements(&out[0]) *
         (double)lens_spatial_size(p->win.kernel, p->win.n_kernel);
}

typedef struct maxpool_job {
  const lens_window *w;
  lens_dtype dtype;
  const void *x;
  void *y;
  int64_t *indices;
  bool column_major;
} maxpool_job;

static inline double load(lens_dtype dtype, const void *data, int64_t i) {
  if (dtype == LENS_DTYPE_FLOAT32) return ((const float *)data)[i];
  return lens_value_get_f64(dtype, data, i);
}

static void maxpool_planes(void *arg, size_t begin, size_t end) {
  const maxpool_job *j = arg;
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
      double best = -INFINITY;
      int64_t best_index = -1;
      for (int64_t kk = 0; kk < k_size; kk++) {
        int64_t krest = kk, pos[LENS_MAX_SPATIAL];
        bool inside = true;
        for (int d = n - 1; d >= 0; d--) {
          int64_t kd = krest % w->kernel[d];
          krest /= w->kernel[d];
          pos[d] = oc[d] * w->stride[d] - w->pad_begin[d] + kd * w->dilation[d];
          if (pos[d] < 0 || pos[d] >= w->in[d]) inside = false;
        }
        if (!inside) continue;
        int64_t offset = 0;
        for (int d = 0; d < n; d++) offset = offset * w->in[d] + pos[d];
        double v = load(j->dtype, j->x, x_base + offset);
        /* The first maximum wins; NaN propagates. */
        if (best_index < 0 || v > best || (isnan(v) && !isnan(best))) {
          best = v;
          if (j->column_major) {
            offset = 0;
            for (int d = n - 1; d >= 0; d--) offset = offset * w->in[d] + pos[d];
          }
          best_index = x_base + offset;
        }
      }
      if (best_index < 0) { /* the window lies entirely in the padding */
        if (j->dtype == LENS_DTYPE_INT8) best = -128.0;
        else if (j->dtype == LENS_DTYPE_UINT8) best = 0.0;
      }
      lens_value_set_f64(j->dtype, j->y, y_base + o, best);
      if (j->indices) j->indices[y_base + o] = best_index < 0 ? 0 : best_index;
    }
  }
}

static lens_status *maxpool_compute(const lens_node *node, const lens_value *in,
                                    lens_value *out, lens_exec_ctx *ctx) {
  const maxpool_params *p = node->params;
  lens_window w;
  LENS_TRY(maxpool_geometry(node, &in[0], &w));
  maxpool_job job = {
      .w = &w,
      .dtype = in[0].dtype,
      .x = in[0].data,
      .y = out[0].data,
      .indices = wants_indices(node) ? out[1].data : NULL,
      .column_major = p->column_major_indices,
  };
  lens_parallel_for(ctx, (size_t)(in[0].dims[0] * in[0].dims[1]), maxpool_planes, &job);
  return NULL;
}

const lens_op_def lens_op_maxpool = {
    .name = "MaxPool",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 2,
    .prepare = maxpool_prepare,
    .infer = maxpool_infer,
    .flops = maxpool_flops,
    .compute = maxpool_compute,
};
