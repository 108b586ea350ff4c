/* MatMul (opsets 1, 9, 13): numpy matmul with batch broadcasting and 1-D operands.
 * float32, float16, int32, int64. */
#include "ops/nn_common.h"

static lens_status *matmul_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  switch (in[0].dtype) {
  case LENS_DTYPE_FLOAT32:
  case LENS_DTYPE_FLOAT16:
  case LENS_DTYPE_INT32:
  case LENS_DTYPE_INT64: break;
  default:
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "dtype %s is not supported",
                           lens_dtype_name(in[0].dtype));
  }
  lens_matmul_shape s;
  return lens_matmul_shape_of(node, &in[0], &in[1], &s, &out[0]);
}

static double matmul_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  lens_matmul_shape s;
  lens_status *st = lens_matmul_shape_of(node, &in[0], &in[1], &s, NULL);
  if (st) {
    lens_status_free(st);
    return 0.0;
  }
  return 2.0 * (double)s.batch * (double)s.m * (double)s.n * (double)s.k;
}

typedef struct matmul_job {
  const lens_matmul_shape *s;
  const lens_value *a, *b;
  lens_value *y;
} matmul_job;

static int64_t load_int(lens_dtype t, const void *data, int64_t i) {
  return t == LENS_DTYPE_INT64 ? ((const int64_t *)data)[i] : ((const int32_t *)data)[i];
}

/* One output row (batch entry, row) per index. */
static void matmul_rows(void *arg, size_t begin, size_t end) {
  const matmul_job *j = arg;
  const lens_matmul_shape *s = j->s;
  lens_dtype t = j->y->dtype;
  bool integer = t == LENS_DTYPE_INT64 || t == LENS_DTYPE_INT32;
  for (size_t row = begin; row < end; row++) {
    int64_t bi = (int64_t)row / s->m, i = (int64_t)row % s->m;
    int64_t a_off, b_off;
    lens_matmul_offsets(s, bi, &a_off, &b_off);
    a_off += i * s->k;
    int64_t y_off = (int64_t)row * s->n;
    for (int64_t n = 0; n < s->n; n++) {
      if (integer) {
        /* Wrapping arithmetic, as two's complement hardware does. */
        uint64_t acc = 0;
        for (int64_t k = 0; k < s->k; k++)
          acc += (uint64_t)load_int(t, j->a->data, a_off + k) *
                 (uint64_t)load_int(t, j->b->data, b_off + k * s->n + n);
        if (t == LENS_DTYPE_INT64) ((int64_t *)j->y->data)[y_off + n] = (int64_t)acc;
        else ((int32_t *)j->y->data)[y_off + n] = (int32_t)(uint32_t)acc;
      } else {
        double acc = 0.0;
        for (int64_t k = 0; k < s->k; k++)
          acc += lens_value_get_f64(t, j->a->data, a_off + k) *
                 lens_value_get_f64(t, j->b->data, b_off + k * s->n + n);
        lens_value_set_f64(t, j->y->data, y_off + n, acc);
      }
    }
  }
}

static lens_status *matmul_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                   lens_exec_ctx *ctx) {
  lens_matmul_shape s;
  LENS_TRY(lens_matmul_shape_of(node, &in[0], &in[1], &s, NULL));
  matmul_job job = {&s, &in[0], &in[1], &out[0]};
  lens_parallel_for(ctx, (size_t)(s.batch * s.m), matmul_rows, &job);
  return NULL;
}

const lens_op_def lens_op_matmul = {
    .name = "MatMul",
    .domain = "",
    .min_inputs = 2,
    .max_inputs = 2,
    .min_outputs = 1,
    .max_outputs = 1,
    .infer = matmul_infer,
    .flops = matmul_flops,
    .compute = matmul_compute,
};
