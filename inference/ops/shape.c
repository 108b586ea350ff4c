/* Shape: the input's dims as a 1-D int64 tensor, optionally sliced by start/end (opset 15).
 * It reads only the input's shape, so the session folds it as soon as shapes are bound. */
#include <stdlib.h>

#include "ops/shape_common.h"

typedef struct shape_params {
  int64_t start, end;
  bool has_end;
} shape_params;

static lens_status *shape_parse(lens_node *node, void *out) {
  shape_params *p = out;
  if (node->opset < 15) {
    if (lens_node_attr(node, "start") || lens_node_attr(node, "end"))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "start and end need opset 15, model has %lld",
                             (long long)node->opset);
    return NULL;
  }
  LENS_TRY(lens_attr_int(node, "start", 0, &p->start));
  LENS_TRY(lens_attr_int(node, "end", 0, &p->end));
  p->has_end = lens_node_attr(node, "end") != NULL;
  return NULL;
}

static lens_status *shape_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(shape_params), shape_parse);
}

/* [*first, *last) of the input's dims, clamped as ONNX specifies. */
static void shape_range(const lens_node *node, int rank, int64_t *first, int64_t *last) {
  const shape_params *p = node->params;
  int64_t s = p->start, e = p->has_end ? p->end : rank;
  if (s < 0) s += rank;
  if (e < 0) e += rank;
  s = s < 0 ? 0 : s > rank ? rank : s;
  e = e < 0 ? 0 : e > rank ? rank : e;
  *first = s;
  *last = e > s ? e : s;
}

static lens_status *shape_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  int64_t first, last;
  shape_range(node, in[0].rank, &first, &last);
  out[0].dtype = LENS_DTYPE_INT64;
  out[0].rank = 1;
  out[0].dims[0] = last - first;
  return NULL;
}

static lens_status *shape_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                  lens_exec_ctx *ctx) {
  (void)ctx;
  int64_t first, last;
  shape_range(node, in[0].rank, &first, &last);
  int64_t *dst = out[0].data;
  for (int64_t d = first; d < last; d++) dst[d - first] = in[0].dims[d];
  return NULL;
}

const lens_op_def lens_op_shape = {
    .name = "Shape",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .flags = LENS_OP_READS_SHAPES_ONLY,
    .prepare = shape_prepare,
    .infer = shape_infer,
    .compute = shape_compute,
};
