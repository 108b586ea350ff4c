/* HardSwish (opset 14): elementwise X * max(0, min(1, X / 6 + 1/2)). float32, float16
 * (through float). */
#include "ops/elementwise_common.h"

static inline float hardswish(float x) {
  float g = x * (1.0f / 6.0f) + 0.5f;
  g = g < 0.0f ? 0.0f : g > 1.0f ? 1.0f : g;
  return x * g;
}

LENS_EW_UNARY(hardswish_f32, float, float, void, hardswish(x))

static const lens_ew_op hardswish_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_FLOAT32] = hardswish_f32,
    },
    .float16_via_float32 = true,
    .flops_per_element = 4,
};

static lens_status *hardswish_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &hardswish_op, in, out);
}

static double hardswish_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &hardswish_op, in, out);
}

static lens_status *hardswish_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                      lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &hardswish_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_hardswish = {
    .name = "HardSwish",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = hardswish_infer,
    .flops = hardswish_flops,
    .compute = hardswish_compute,
};
