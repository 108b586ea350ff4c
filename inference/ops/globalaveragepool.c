/* GlobalAveragePool (opset 1): the mean over all spatial positions of each (batch, channel)
 * plane; output N x C x 1 x ... x 1. float32, float16. */
#include <math.h>

#include "ops/op.h"

static lens_status *globalaveragepool_infer(const lens_node *node, const lens_value *in,
                                            lens_value *out) {
  if (in[0].dtype != LENS_DTYPE_FLOAT32 && in[0].dtype != LENS_DTYPE_FLOAT16)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "input dtype %s is not supported",
                           lens_dtype_name(in[0].dtype));
  if (in[0].rank < 3)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "X must have rank >= 3, found %d",
                           in[0].rank);
  out[0] = in[0];
  out[0].data = NULL;
  for (int d = 2; d < in[0].rank; d++) out[0].dims[d] = 1;
  return lens_check_output_shape(node, &out[0]);
}

static double globalaveragepool_flops(const lens_node *node, const lens_value *in,
                                      const lens_value *out) {
  return (double)lens_value_elements(&in[0]);
}

typedef struct globalaveragepool_job {
  lens_dtype dtype;
  const void *x;
  void *y;
  int64_t plane_size;
} globalaveragepool_job;

static void globalaveragepool_planes(void *arg, size_t begin, size_t end) {
  const globalaveragepool_job *j = arg;
  for (size_t plane = begin; plane < end; plane++) {
    int64_t base = (int64_t)plane * j->plane_size;
    double acc = 0.0;
    for (int64_t i = 0; i < j->plane_size; i++) {
      double v = j->dtype == LENS_DTYPE_FLOAT32 ? ((const float *)j->x)[base + i]
                                                : lens_value_get_f64(j->dtype, j->x, base + i);
      acc += v;
    }
    if (j->plane_size) acc /= (double)j->plane_size;
    lens_value_set_f64(j->dtype, j->y, (int64_t)plane, acc);
  }
}

static lens_status *globalaveragepool_compute(const lens_node *node, const lens_value *in,
                                              lens_value *out, lens_exec_ctx *ctx) {
  globalaveragepool_job job = {in[0].dtype, in[0].data, out[0].data, 1};
  for (int d = 2; d < in[0].rank; d++) job.plane_size *= in[0].dims[d];
  lens_parallel_for(ctx, (size_t)(in[0].dims[0] * in[0].dims[1]), globalaveragepool_planes, &job);
  return NULL;
}

const lens_op_def lens_op_globalaveragepool = {
    .name = "GlobalAveragePool",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = globalaveragepool_infer,
    .flops = globalaveragepool_flops,
    .compute = globalaveragepool_compute,
};
