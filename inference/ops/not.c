/* Not: elementwise logical negation of a bool tensor. */
#include "ops/elementwise_common.h"

LENS_EW_UNARY(not_bool, uint8_t, uint8_t, void, x == 0)

static const lens_ew_op not_op = {
    .arity = 1,
    .fn = {
        [LENS_DTYPE_BOOL] = not_bool,
    },
};

static lens_status *not_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  return lens_ew_infer(node, &not_op, in, out);
}

static double not_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  return lens_ew_flops(node, &not_op, in, out);
}

static lens_status *not_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  return lens_ew_compute(node, &not_op, in, out, ctx, NULL);
}

const lens_op_def lens_op_not = {
    .name = "Not",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = not_infer,
    .flops = not_flops,
    .compute = not_compute,
};
