/* HardSigmoid: elementwise max(0, min(1, alpha * X + beta)) (alpha default 0.2, beta 0.5).
 * float32, float16 (through float). */
#include <stdlib.h>

#include "ops/elementwise_common.h"

typedef struct hardsigmoid_params {
  float alpha, beta;
} hardsigmoid_params;

static inline float hardsigmoid(float x, const hardsigmoid_params *p) {
  float y = p->alpha * x + p->beta;
  return y < 0.0f ? 0.0f : y > 1.0f ? 1.0f : y;
}

LENS_EW_UNARY(hardsigmoid_f32, float, float, hardsigmoid_params, hardsigmoid(x, p))

static const lens_ew_op hardsigmoid_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_FLOAT32] = hardsigmoid_f32,
    },
    .float16_via_float32 = true,
    .flops_per_element = 4,
};

static lens_status *hardsigmoid_prepare(lens_node *node) {
  static const char *const allowed[] = {"alpha", "beta", NULL};
  LENS_TRY(lens_ew_check_attrs(node, allowed));
  hardsigmoid_params *p = malloc(sizeof *p);
  if (!p) return lens_error_oom();
  lens_status *st = lens_attr_float(node, "alpha", 0.2f, &p->alpha);
  if (!st) st = lens_attr_float(node, "beta", 0.5f, &p->beta);
  if (st) {
    free(p);
    return st;
  }
  free(node->params);
  node->params = p;
  return NULL;
}

static lens_status *hardsigmoid_infer(const lens_node *node, const lens_value *in,
                                      lens_value *out) {
  return lens_ew_infer(node, &hardsigmoid_op, in, out);
}

static double hardsigmoid_flops(const lens_node *node, const lens_value *in,
                                const lens_value *out) {
  return lens_ew_flops(node, &hardsigmoid_op, in, out);
}

static lens_status *hardsigmoid_compute(const lens_node *node, const lens_value *in,
                                        lens_value *out, lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &hardsigmoid_op, in, out, ctx, node->params);
}

const lens_op_def lens_op_hardsigmoid = {
    .name = "HardSigmoid",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = hardsigmoid_prepare,
    .infer = hardsigmoid_infer,
    .flops = hardsigmoid_flops,
    .compute = hardsigmoid_compute,
};
