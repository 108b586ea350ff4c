/* LeakyRelu: elementwise X < 0 ? alpha * X : X (alpha default 0.01). float32, float16
 * (through float). */
#include <stdlib.h>

#include "ops/elementwise_common.h"

typedef struct leakyrelu_params {
  float alpha;
} leakyrelu_params;

LENS_EW_UNARY(leakyrelu_f32, float, float, leakyrelu_params, x < 0 ? p->alpha * x : x)

static const lens_ew_op leakyrelu_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_FLOAT32] = leakyrelu_f32,
    },
    .float16_via_float32 = true,
    .flops_per_element = 2,
};

static lens_status *leakyrelu_prepare(lens_node *node) {
  static const char *const allowed[] = {"alpha", NULL};
  LENS_TRY(lens_ew_check_attrs(node, allowed));
  leakyrelu_params *p = malloc(sizeof *p);
  if (!p) return lens_error_oom();
  lens_status *st = lens_attr_float(node, "alpha", 0.01f, &p->alpha);
  if (st) {
    free(p);
    return st;
  }
  free(node->params);
  node->params = p;
  return NULL;
}

static lens_status *leakyrelu_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &leakyrelu_op, in, out);
}

static double leakyrelu_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &leakyrelu_op, in, out);
}

static lens_status *leakyrelu_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                      lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &leakyrelu_op, in, out, ctx, node->params);
}

const lens_op_def lens_op_leakyrelu = {
    .name = "LeakyRelu",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = leakyrelu_prepare,
    .infer = leakyrelu_infer,
    .flops = leakyrelu_flops,
    .compute = leakyrelu_compute,
};
