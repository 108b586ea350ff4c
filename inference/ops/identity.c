/* Identity: a copy of the input, any dtype. */
#include <string.h>

#include "ops/elementwise_common.h"

static lens_status *identity_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  if (lens_dtype_size(in[0].dtype) == 0)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%s values are not supported",
                           lens_dtype_name(in[0].dtype));
  out[0].dtype = in[0].dtype;
  out[0].rank = in[0].rank;
  memcpy(out[0].dims, in[0].dims, sizeof in[0].dims);
  return NULL;
}

static lens_status *identity_compute(const lens_node *node, const lens_value *in,
                                     lens_value *out, lens_exec_ctx *ctx) {
  (void)node;
  (void)ctx;
  int64_t n = lens_value_elements(&out[0]);
  if (n > 0 && out[0].data != in[0].data)
    memcpy(out[0].data, in[0].data, (size_t)n * lens_dtype_size(in[0].dtype));
  return NULL;
}

const lens_op_def lens_op_identity = {
    .name = "Identity",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = lens_ew_prepare_no_attrs,
    .infer = identity_infer,
    .compute = identity_compute,
};
