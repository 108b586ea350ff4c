/* Conv (opsets 1, 11): N-D convolution with groups, strides, dilations, explicit or automatic
 * padding and an optional bias. float32. */
#include <stdlib.h>

#include "ops/nn_common.h"

static lens_status *conv_parse(lens_node *node, void *out) {
  lens_conv_params *p = out;
  LENS_TRY(lens_window_attrs_parse(node, true, &p->win));
  LENS_TRY(lens_attr_int(node, "group", 1, &p->group));
  if (p->group <= 0)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "group %lld must be positive",
                           (long long)p->group);
  return NULL;
}

static lens_status *conv_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(lens_conv_params), conv_parse);
}

static lens_status *conv_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  lens_window w;
  LENS_TRY(lens_conv_resolve(node, in, &w));
  out[0].dtype = in[0].dtype;
  out[0].rank = in[0].rank;
  out[0].dims[0] = in[0].dims[0];
  out[0].dims[1] = in[1].dims[0];
  for (int i = 0; i < w.n; i++) out[0].dims[2 + i] = w.out[i];
  return lens_check_output_shape(node, &out[0]);
}

static double conv_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  /* Each output value is a dot product over C/group * prod(kernel) inputs. */
  double per_out = 2.0 * (double)in[1].dims[1];
  for (int i = 2; i < in[1].rank; i++) per_out *= (double)in[1].dims[i];
  double outs = (double)lens_value_elements(&out[0]);
  return per_out * outs + (lens_node_has_input(node, in, 2) ? outs : 0.0);
}

typedef struct conv_job {
  const lens_window *w;
  const float *x, *wt, *b;
  float *y;
  int64_t c_in, m_out, group;
} conv_job;

/* One (batch, output channel) plane per index. */
static void conv_planes(void *arg, size_t begin, size_t end) {
  const conv_job *j = arg;
  const lens_window *w = j->w;
  int n = w->n;
  int64_t cg = j->c_in / j->group, mg = j->m_out / j->group;
  int64_t in_size = lens_spatial_size(w->in, n);
  int64_t out_size = lens_spatial_size(w->out, n);
  int64_t k_size = lens_spatial_size(w->kernel, n);
  for (size_t plane = begin; plane < end; plane++) {
    int64_t batch = (int64_t)plane / j->m_out, m = (int64_t)plane % j->m_out;
    int64_t g = m / mg;
    const float *xg = j->x + (batch * j->c_in + g * cg) * in_size;
    const float *wm = j->wt + m * cg * k_size;
    float *y = j->y + (int64_t)plane * out_size;
    for (int64_t o = 0; o < out_size; o++) {
      int64_t oc[LENS_MAX_SPATIAL];
      int64_t rest = o;
      for (int d = n - 1; d >= 0; d--) {
        oc[d] = rest % w->out[d];
        rest /= w->out[d];
      }
      double acc = j->b ? j->b[m] : 0.0;
      for (int64_t kk = 0; kk < k_size; kk++) {
        /* The input offset this kernel tap reads, or skip when it falls in the padding. */
        int64_t krest = kk, offset = 0, scale = 1;
        bool inside = true;
        for (int d = n - 1; d >= 0; d--) {
          int64_t kd = krest % w->kernel[d];
          krest /= w->kernel[d];
          int64_t pos = oc[d] * w->stride[d] - w->pad_begin[d] + kd * w->dilation[d];
          if (pos < 0 || pos >= w->in[d]) {
            inside = false;
            break;
          }
          offset += pos * scale;
          scale *= w->in[d];
        }
        if (!inside) continue;
        for (int64_t c = 0; c < cg; c++)
          acc += (double)xg[c * in_size + offset] * (double)wm[c * k_size + kk];
      }
      y[o] = (float)acc;
    }
  }
}

static lens_status *conv_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx) {
  const lens_conv_params *p = node->params;
  lens_window w;
  LENS_TRY(lens_conv_resolve(node, in, &w));
  conv_job job = {
      .w = &w,
      .x = in[0].data,
      .wt = in[1].data,
      .b = lens_node_has_input(node, in, 2) ? in[2].data : NULL,
      .y = out[0].data,
      .c_in = in[0].dims[1],
      .m_out = in[1].dims[0],
      .group = p->group,
  };
  lens_parallel_for(ctx, (size_t)(in[0].dims[0] * job.m_out), conv_planes, &job);
  return NULL;
}

const lens_op_def lens_op_conv = {
    .name = "Conv",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 3,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = conv_prepare,
    .infer = conv_infer,
    .flops = conv_flops,
    .compute = conv_compute,
};
