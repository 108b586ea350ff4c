/* The operator table: (domain, op_type) -> definition. */
#include <string.h>

#include "ops/op.h"

LENS_OP_DECLARE(lens_op_add);
LENS_OP_DECLARE(lens_op_averagepool);
LENS_OP_DECLARE(lens_op_batchnormalization);
LENS_OP_DECLARE(lens_op_cast);
LENS_OP_DECLARE(lens_op_clip);
LENS_OP_DECLARE(lens_op_concat);
LENS_OP_DECLARE(lens_op_constant);
LENS_OP_DECLARE(lens_op_constantofshape);
LENS_OP_DECLARE(lens_op_conv);
LENS_OP_DECLARE(lens_op_convtranspose);
LENS_OP_DECLARE(lens_op_div);
LENS_OP_DECLARE(lens_op_equal);
LENS_OP_DECLARE(lens_op_exp);
LENS_OP_DECLARE(lens_op_expand);
LENS_OP_DECLARE(lens_op_flatten);
LENS_OP_DECLARE(lens_op_gather);
LENS_OP_DECLARE(lens_op_gemm);
LENS_OP_DECLARE(lens_op_globalaveragepool);
LENS_OP_DECLARE(lens_op_globalmaxpool);
LENS_OP_DECLARE(lens_op_greater);
LENS_OP_DECLARE(lens_op_hardsigmoid);
LENS_OP_DECLARE(lens_op_hardswish);
LENS_OP_DECLARE(lens_op_identity);
LENS_OP_DECLARE(lens_op_leakyrelu);
LENS_OP_DECLARE(lens_op_less);
LENS_OP_DECLARE(lens_op_log);
LENS_OP_DECLARE(lens_op_matmul);
LENS_OP_DECLARE(lens_op_max);
LENS_OP_DECLARE(lens_op_maxpool);
LENS_OP_DECLARE(lens_op_min);
LENS_OP_DECLARE(lens_op_mul);
LENS_OP_DECLARE(lens_op_neg);
LENS_OP_DECLARE(lens_op_not);
LENS_OP_DECLARE(lens_op_pad);
LENS_OP_DECLARE(lens_op_pow);
LENS_OP_DECLARE(lens_op_prelu);
LENS_OP_DECLARE(lens_op_range);
LENS_OP_DECLARE(lens_op_reducemax);
LENS_OP_DECLARE(lens_op_reducemean);
LENS_OP_DECLARE(lens_op_reducesum);
LENS_OP_DECLARE(lens_op_relu);
LENS_OP_DECLARE(lens_op_reshape);
LENS_OP_DECLARE(lens_op_resize);
LENS_OP_DECLARE(lens_op_shape);
LENS_OP_DECLARE(lens_op_sigmoid);
LENS_OP_DECLARE(lens_op_slice);
LENS_OP_DECLARE(lens_op_softmax);
LENS_OP_DECLARE(lens_op_split);
LENS_OP_DECLARE(lens_op_sqrt);
LENS_OP_DECLARE(lens_op_squeeze);
LENS_OP_DECLARE(lens_op_sub);
LENS_OP_DECLARE(lens_op_tanh);
LENS_OP_DECLARE(lens_op_tile);
LENS_OP_DECLARE(lens_op_transpose);
LENS_OP_DECLARE(lens_op_unsqueeze);
LENS_OP_DECLARE(lens_op_where);

static const lens_op_def *const all_ops[] = {
    &lens_op_add,
    &lens_op_averagepool,
    &lens_op_batchnormalization,
    &lens_op_cast,
    &lens_op_clip,
    &lens_op_concat,
    &lens_op_constant,
    &lens_op_constantofshape,
    &lens_op_conv,
    &lens_op_convtranspose,
    &lens_op_div,
    &lens_op_equal,
    &lens_op_exp,
    &lens_op_expand,
    &lens_op_flatten,
    &lens_op_gather,
    &lens_op_gemm,
    &lens_op_globalaveragepool,
    &lens_op_globalmaxpool,
    &lens_op_greater,
    &lens_op_hardsigmoid,
    &lens_op_hardswish,
    &lens_op_identity,
    &lens_op_leakyrelu,
    &lens_op_less,
    &lens_op_log,
    &lens_op_matmul,
    &lens_op_max,
    &lens_op_maxpool,
    &lens_op_min,
    &lens_op_mul,
    &lens_op_neg,
    &lens_op_not,
    &lens_op_pad,
    &lens_op_pow,
    &lens_op_prelu,
    &lens_op_range,
    &lens_op_reducemax,
    &lens_op_reducemean,
    &lens_op_reducesum,
    &lens_op_relu,
    &lens_op_reshape,
    &lens_op_resize,
    &lens_op_shape,
    &lens_op_sigmoid,
    &lens_op_slice,
    &lens_op_softmax,
    &lens_op_split,
    &lens_op_sqrt,
    &lens_op_squeeze,
    &lens_op_sub,
    &lens_op_tanh,
    &lens_op_tile,
    &lens_op_transpose,
    &lens_op_unsqueeze,
    &lens_op_where,
};

/* Adding an operator means adding its file, its declaration above and its entry here. */
#define LENS_OP_COUNT 56
_Static_assert(sizeof all_ops / sizeof all_ops[0] == LENS_OP_COUNT, "operator table out of step");

const lens_op_def *lens_op_find(const char *domain, const char *op_type) {
  /* "ai.onnx" is the default domain's long name. */
  if (!domain || strcmp(domain, "ai.onnx") == 0) domain = "";
  for (size_t i = 0; i < LENS_OP_COUNT; i++) {
    if (strcmp(all_ops[i]->name, op_type) == 0 && strcmp(all_ops[i]->domain, domain) == 0)
      return all_ops[i];
  }
  return NULL;
}

const lens_op_def *const *lens_op_all(size_t *count) {
  *count = LENS_OP_COUNT;
  return all_ops;
}
