/* Softmax (opsets 1, 11, 13). Before opset 13 the input is coerced to 2-D at 'axis'
 * (default 1) and normalised over the flattened trailing dims; from opset 13 it is
 * normalised along the single dim 'axis' (default -1). float32, float16. */
#include <math.h>
#include <stdlib.h>

#include "ops/op.h"

typedef struct softmax_params {
  int64_t axis;
} softmax_params;

static lens_status *softmax_parse(lens_node *node, void *out) {
  softmax_params *p = out;
  return lens_attr_int(node, "axis", node->opset >= 13 ? -1 : 1, &p->axis);
}

static lens_status *softmax_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(softmax_params), softmax_parse);
}

/* The input viewed as [outer, len, inner], normalised over len. */
typedef struct softmax_layout {
  int64_t outer, len, inner;
} softmax_layout;

static lens_status *softmax_layout_of(const lens_node *node, const lens_value *x,
                                      softmax_layout *l) {
  const softmax_params *p = node->params;
  int axis;
  LENS_TRY(lens_normalize_axis(node, p->axis, x->rank, &axis));
  l->outer = l->len = l->inner = 1;
  for (int d = 0; d < axis; d++) l->outer *= x->dims[d];
  if (node->opset >= 13) {
    l->len = x->dims[axis];
    for (int d = axis + 1; d < x->rank; d++) l->inner *= x->dims[d];
  } else {
    for (int d = axis; d < x->rank; d++) l->len *= x->dims[d];
  }
  return NULL;
}

static lens_status *softmax_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  if (in[0].dtype != LENS_DTYPE_FLOAT32 && in[0].dtype != LENS_DTYPE_FLOAT16)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "dtype %s is not supported",
                           lens_dtype_name(in[0].dtype));
  softmax_layout l;
  LENS_TRY(softmax_layout_of(node, &in[0], &l));
  out[0] = in[0];
  out[0].data = NULL;
  return NULL;
}

static double softmax_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  /* max, subtract, exp, sum, divide: counted as 5 per element. */
  return 5.0 * (double)lens_value_elements(&in[0]);
}

typedef struct softmax_job {
  softmax_layout l;
  const lens_value *x;
  lens_value *y;
} softmax_job;

static void softmax_rows(void *arg, size_t begin, size_t end) {
  const softmax_job *j = arg;
  lens_dtype t = j->x->dtype;
  for (size_t row = begin; row < end; row++) {
    int64_t outer = (int64_t)row / j->l.inner, inner = (int64_t)row % j->l.inner;
    int64_t base = outer * j->l.len * j->l.inner + inner, step = j->l.inner;
    double max = -INFINITY;
    for (int64_t i = 0; i < j->l.len; i++) {
      double v = lens_value_get_f64(t, j->x->data, base + i * step);
      if (v > max || isnan(v)) max = v;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < j->l.len; i++)
      sum += exp(lens_value_get_f64(t, j->x->data, base + i * step) - max);
    for (int64_t i = 0; i < j->l.len; i++) {
      double e = exp(lens_value_get_f64(t, j->x->data, base + i * step) - max);
      lens_value_set_f64(t, j->y->data, base + i * step, e / sum);
    }
  }
}

static lens_status *softmax_compute(const lens_node *node, const lens_value *in,
                                    lens_value *out, lens_exec_ctx *ctx) {
  softmax_job job = {.x = &in[0], .y = &out[0]};
  LENS_TRY(softmax_layout_of(node, &in[0], &job.l));
  lens_parallel_for(ctx, (size_t)(job.l.outer * job.l.inner), softmax_rows, &job);
  return NULL;
}

const lens_op_def lens_op_softmax = {
    .name = "Softmax",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = softmax_prepare,
    .infer = softmax_infer,
    .flops = softmax_flops,
    .compute = softmax_compute,
};
