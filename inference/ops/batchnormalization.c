/* BatchNormalization (opsets 6..15), inference mode only:
 *   Y = (X - mean) / sqrt(var + epsilon) * scale + B
 * with per-channel parameters (or, for spatial=0 before opset 9, per C x D1 x ... values).
 * training_mode=1 and the training outputs (running or saved mean/var) are rejected.
 * X float32 or float16; the parameters float32 or float16 each. */
#include <math.h>
#include <stdlib.h>

#include "ops/op.h"

typedef struct batchnorm_params {
  float epsilon;
  bool spatial; /* one value per channel, else one per C x D1 x ... position */
} batchnorm_params;

static lens_status *batchnorm_parse(lens_node *node, void *out) {
  batchnorm_params *p = out;
  LENS_TRY(lens_attr_float(node, "epsilon", 1e-5f, &p->epsilon));
  if (!(p->epsilon >= 0.0f))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "epsilon must be non-negative");
  float momentum;
  LENS_TRY(lens_attr_float(node, "momentum", 0.9f, &momentum)); /* training only: unused */
  int64_t spatial = 1, training_mode = 0;
  if (node->opset < 9) LENS_TRY(lens_attr_int(node, "spatial", 1, &spatial));
  if (spatial != 0 && spatial != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "spatial must be 0 or 1, found %lld",
                           (long long)spatial);
  p->spatial = spatial == 1;
  if (node->opset >= 14) LENS_TRY(lens_attr_int(node, "training_mode", 0, &training_mode));
  if (training_mode != 0)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED,
                           "training_mode=%lld is not supported (inference only)",
                           (long long)training_mode);
  if (node->opset < 7) {
    int64_t is_test;
    LENS_TRY(lens_attr_int(node, "is_test", 0, &is_test));
    if (is_test == 0)
      return lens_node_error(node, LENS_ERR_UNSUPPORTED,
                             "is_test=0 (training) is not supported (inference only)");
  }
  for (int i = 1; i < node->n_outputs; i++)
    if (node->outputs && node->outputs[i] >= 0)
      return lens_node_error(node, LENS_ERR_UNSUPPORTED,
                             "output %d (training statistics) is not supported", i);
  return NULL;
}

static lens_status *batchnorm_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(batchnorm_params), batchnorm_parse);
}

static bool is_float(lens_dtype t) {
  return t == LENS_DTYPE_FLOAT32 || t == LENS_DTYPE_FLOAT16;
}

static lens_status *batchnorm_infer(const lens_node *node, const lens_value *in,
                                    lens_value *out) {
  const batchnorm_params *p = node->params;
  static const char *const names[5] = {"X", "scale", "B", "mean", "var"};
  const lens_value *x = &in[0];
  if (!is_float(x->dtype))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "input dtype %s is not supported",
                           lens_dtype_name(x->dtype));
  if (x->rank < 2)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "X must have rank >= 2, found %d",
                           x->rank);
  for (int i = 1; i < 5; i++) {
    const lens_value *v = &in[i];
    if (!is_float(v->dtype))
      return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%s dtype %s is not supported",
                             names[i], lens_dtype_name(v->dtype));
    bool ok;
    if (p->spatial) {
      ok = v->rank == 1 && v->dims[0] == x->dims[1];
    } else {
      ok = v->rank == x->rank - 1;
      for (int d = 0; ok && d < v->rank; d++) ok = v->dims[d] == x->dims[d + 1];
    }
    if (!ok) {
      char a[160], b[160];
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s has shape %s, X has shape %s",
                             names[i], lens_format_dims(a, sizeof a, v->dims, v->rank),
                             lens_format_dims(b, sizeof b, x->dims, x->rank));
    }
  }
  out[0] = *x;
  out[0].data = NULL;
  return NULL;
}

static double batchnorm_flops(const lens_node *node, const lens_value *in,
                              const lens_value *out) {
  return 2.0 * (double)lens_value_elements(&in[0]);
}

typedef struct batchnorm_job {
  const lens_value *in;
  lens_value *out;
  float epsilon;
  int64_t channels, inner;   /* inner: elements per (batch, channel) plane */
  bool spatial;
} batchnorm_job;

/* The affine form a * x + b of parameter position pi. */
static void batchnorm_affine(const batchnorm_job *j, int64_t pi, double *a, double *b) {
  const lens_value *in = j->in;
  double scale = lens_value_get_f64(in[1].dtype, in[1].data, pi);
  double bias = lens_value_get_f64(in[2].dtype, in[2].data, pi);
  double mean = lens_value_get_f64(in[3].dtype, in[3].data, pi);
  double var = lens_value_get_f64(in[4].dtype, in[4].data, pi);
  *a = scale / sqrt(var + (double)j->epsilon);
  *b = bias - mean * *a;
}

static void batchnorm_planes(void *arg, size_t begin, size_t end) {
  const batchnorm_job *j = arg;
  const lens_value *x = &j->in[0];
  for (size_t plane = begin; plane < end; plane++) {
    int64_t c = (int64_t)plane % j->channels;
    int64_t base = (int64_t)plane * j->inner;
    double a, b;
    if (j->spatial) batchnorm_affine(j, c, &a, &b);
    for (int64_t i = 0; i < j->inner; i++) {
      if (!j->spatial) batchnorm_affine(j, c * j->inner + i, &a, &b);
      double v = lens_value_get_f64(x->dtype, x->data, base + i);
      lens_value_set_f64(j->out->dtype, j->out->data, base + i, v * a + b);
    }
  }
}

static lens_status *batchnorm_compute(const lens_node *node, const lens_value *in,
                                      lens_value *out, lens_exec_ctx *ctx) {
  const batchnorm_params *p = node->params;
  batchnorm_job job = {in, &out[0], p->epsilon, in[0].dims[1], 1, p->spatial};
  for (int d = 2; d < in[0].rank; d++) job.inner *= in[0].dims[d];
  lens_parallel_for(ctx, (size_t)(in[0].dims[0] * in[0].dims[1]), batchnorm_planes, &job);
  return NULL;
}

const lens_op_def lens_op_batchnormalization = {
    .name = "BatchNormalization",
    .domain = "",
    .min_inputs = 5,
    .max_inputs = 5,
    .min_outputs = 1,
    .max_outputs = 5,
    .prepare = batchnorm_prepare,
    .infer = batchnorm_infer,
    .flops = batchnorm_flops,
    .compute = batchnorm_compute,
};
