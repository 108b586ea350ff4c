/* PLACEHOLDER: Unsqueeze is not implemented yet. */
#include "ops/op.h"

static lens_status *unsqueeze_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  (void)in;
  (void)out;
  return lens_node_error(node, LENS_ERR_UNSUPPORTED, "Unsqueeze is not implemented yet");
}

static lens_status *unsqueeze_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  (void)in;
  (void)out;
  (void)ctx;
  return lens_node_error(node, LENS_ERR_UNSUPPORTED, "Unsqueeze is not implemented yet");
}

const lens_op_def lens_op_unsqueeze = {
    .name = "Unsqueeze",
    .domain = "",
    .min_inputs = 0,
    .max_inputs = 16,
    .min_outputs = 1,
    .max_outputs = 16,
    .infer = unsqueeze_infer,
    .compute = unsqueeze_compute,
};
