/* PLACEHOLDER: Softmax is not implemented yet. */
#include "ops/op.h"

static lens_status *softmax_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  (void)in;
  (void)out;
  return lens_node_error(node, LENS_ERR_UNSUPPORTED, "Softmax is not implemented yet");
}

static lens_status *softmax_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  (void)in;
  (void)out;
  (void)ctx;
  return lens_node_error(node, LENS_ERR_UNSUPPORTED, "Softmax is not implemented yet");
}

const lens_op_def lens_op_softmax = {
    .name = "Softmax",
    .domain = "",
    .min_inputs = 0,
    .max_inputs = 16,
    .min_outputs = 1,
    .max_outputs = 16,
    .infer = softmax_infer,
    .compute = softmax_compute,
};
