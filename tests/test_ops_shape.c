/* Shape and data-movement operators (and Reduce*, Resize) through their definitions:
 * hand-computed values on awkward shapes, both opset forms where the signature changed,
 * unknown value inputs giving rank -1, byte-exact movement of every dtype, the threaded paths
 * against one thread, and the error paths. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "core/exec.h"
#include "core/threadpool.h"
#include "lens_test.h"
#include "ops/op.h"

LENS_OP_DECLARE(lens_op_reshape);
LENS_OP_DECLARE(lens_op_flatten);
LENS_OP_DECLARE(lens_op_squeeze);
LENS_OP_DECLARE(lens_op_unsqueeze);
LENS_OP_DECLARE(lens_op_transpose);
LENS_OP_DECLARE(lens_op_concat);
LENS_OP_DECLARE(lens_op_split);
LENS_OP_DECLARE(lens_op_slice);
LENS_OP_DECLARE(lens_op_gather);
LENS_OP_DECLARE(lens_op_expand);
LENS_OP_DECLARE(lens_op_tile);
LENS_OP_DECLARE(lens_op_pad);
LENS_OP_DECLARE(lens_op_shape);
LENS_OP_DECLARE(lens_op_constant);
LENS_OP_DECLARE(lens_op_constantofshape);
LENS_OP_DECLARE(lens_op_range);
LENS_OP_DECLARE(lens_op_reducemax);
LENS_OP_DECLARE(lens_op_reducemean);
LENS_OP_DECLARE(lens_op_reducesum);
LENS_OP_DECLARE(lens_op_resize);

/* ---- harness ------------------------------------------------------------------------------ */

#define MAX_IN 6
#define MAX_OUT 4
#define MAX_ATTRS 6

typedef struct op_call {
  const lens_op_def *def;
  int64_t opset; /* 0: 17 */
  lens_attr attrs[MAX_ATTRS];
  int n_attrs;
  lens_value in[MAX_IN];
  int n_in;
  lens_value out[MAX_OUT];
  int n_out; /* 0: 1 */
  lens_exec_ctx *ctx; /* NULL: a single-threaded context */
} op_call;

/* dims as a compound literal with its count: DIMS(2, 3) */
#define DIMS(...) (const int64_t[]){__VA_ARGS__}, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

static lens_value val(lens_dtype dtype, const void *data, const int64_t *dims, int rank) {
  lens_value v = {dtype, rank, {0}, (void *)data};
  for (int i = 0; i < rank; i++) v.dims[i] = dims[i];
  return v;
}

static lens_value scalar(lens_dtype dtype, const void *data) {
  lens_value v = {dtype, 0, {0}, (void *)data};
  return v;
}

static const lens_value absent = {LENS_DTYPE_UNDEFINED, 0, {0}, NULL};

static void add_attr(op_call *c, lens_attr a) {
  if (c->n_attrs < MAX_ATTRS) c->attrs[c->n_attrs++] = a;
}

static void attr_i(op_call *c, const char *name, int64_t i) {
  lens_attr a = {0};
  a.name = (char *)name;
  a.type = LENS_ATTR_INT;
  a.i = i;
  add_attr(c, a);
}

static void attr_f(op_call *c, const char *name, float f) {
  lens_attr a = {0};
  a.name = (char *)name;
  a.type = LENS_ATTR_FLOAT;
  a.f = f;
  add_attr(c, a);
}

static void attr_s(op_call *c, const char *name, const char *s) {
  lens_attr a = {0};
  a.name = (char *)name;
  a.type = LENS_ATTR_STRING;
  a.s = (char *)s;
  a.s_len = strlen(s);
  add_attr(c, a);
}

static void attr_ints(op_call *c, const char *name, const int64_t *v, size_t n) {
  lens_attr a = {0};
  a.name = (char *)name;
  a.type = LENS_ATTR_INTS;
  a.ints = (int64_t *)v;
  a.count = n;
  add_attr(c, a);
}
#define ATTR_INTS(c, name, ...)                                                               \
  attr_ints(c, name, (const int64_t[]){__VA_ARGS__},                                          \
            sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

static void attr_floats(op_call *c, const char *name, const float *v, size_t n) {
  lens_attr a = {0};
  a.name = (char *)name;
  a.type = LENS_ATTR_FLOATS;
  a.floats = (float *)v;
  a.count = n;
  add_attr(c, a);
}

static void attr_tensor(op_call *c, const char *name, lens_dtype dtype, const void *data,
                        size_t nbytes, const int64_t *dims, int rank) {
  lens_attr a = {0};
  a.name = (char *)name;
  a.type = LENS_ATTR_TENSOR;
  a.t.dtype = dtype;
  a.t.rank = rank;
  for (int i = 0; i < rank; i++) a.t.dims[i] = dims[i];
  a.t.data = (void *)data;
  a.t.nbytes = nbytes;
  add_attr(c, a);
}

static lens_node node_of(op_call *c) {
  lens_node n = {0};
  n.name = "t";
  n.op_type = (char *)c->def->name;
  n.domain = "";
  n.def = c->def;
  n.opset = c->opset ? c->opset : 17;
  n.n_inputs = c->n_in;
  n.n_outputs = c->n_out ? c->n_out : 1;
  n.n_attrs = c->n_attrs;
  n.attrs = c->attrs;
  return n;
}

static void done(op_call *c) {
  for (int i = 0; i < MAX_OUT; i++) {
    free(c->out[i].data);
    c->out[i].data = NULL;
  }
}

/* prepare + infer + compute; outputs get calloc'd data (free with done()). An output whose
 * shape infer leaves unknown (rank -1) is a test failure here. */
static lens_status *run(op_call *c) {
  lens_node node = node_of(c);
  lens_exec_ctx local = {0};
  lens_status *st = NULL;
  done(c);
  if (c->def->prepare) st = c->def->prepare(&node);
  if (!st) st = c->def->infer(&node, c->in, c->out);
  for (int i = 0; !st && i < node.n_outputs; i++) {
    CHECK(c->out[i].rank >= 0);
    if (c->out[i].rank < 0) {
      free(node.params);
      return lens_error(LENS_ERR_RUNTIME, "test: output %d has unknown rank", i);
    }
    int64_t n = lens_value_elements(&c->out[i]);
    c->out[i].data = calloc((size_t)(n > 0 ? n : 1), 8);
  }
  if (!st) st = c->def->compute(&node, c->in, c->out, c->ctx ? c->ctx : &local);
  free(node.params);
  return st;
}

/* Only prepare + infer (shape and type checks, static inference). */
static lens_status *infer_only(op_call *c) {
  lens_node node = node_of(c);
  lens_status *st = c->def->prepare ? c->def->prepare(&node) : NULL;
  if (!st) st = c->def->infer(&node, c->in, c->out);
  free(node.params);
  return st;
}

static lens_status *prepare_only(op_call *c) {
  lens_node node = node_of(c);
  lens_status *st = c->def->prepare ? c->def->prepare(&node) : NULL;
  free(node.params);
  return st;
}

static int dims_eq(const lens_value *v, const int64_t *dims, int rank) {
  if (v->rank != rank) return 0;
  for (int i = 0; i < rank; i++)
    if (v->dims[i] != dims[i]) return 0;
  return 1;
}
#define CHECK_DIMS(v, ...) CHECK(dims_eq(&(v), DIMS(__VA_ARGS__)))
#define CHECK_SCALAR_SHAPE(v) CHECK((v).rank == 0)

static void check_f32(const lens_value *v, const float *want, int64_t n, double tol) {
  CHECK(v->dtype == LENS_DTYPE_FLOAT32);
  CHECK(lens_value_elements(v) == n);
  if (lens_value_elements(v) != n) return;
  for (int64_t i = 0; i < n; i++) {
    double got = ((const float *)v->data)[i];
    if (isnan(want[i])) CHECK_MSG(isnan(got), "element %lld", (long long)i);
    else CHECK_MSG(fabs(got - want[i]) <= tol, "element %lld: %g, expected %g", (long long)i,
                   got, (double)want[i]);
  }
}
#define CHECK_F32(v, tol, ...)                                                                \
  check_f32(&(v), (const float[]){__VA_ARGS__}, sizeof((float[]){__VA_ARGS__}) / sizeof(float), \
            tol)

static void check_i64(const lens_value *v, const int64_t *want, int64_t n) {
  CHECK(v->dtype == LENS_DTYPE_INT64);
  CHECK(lens_value_elements(v) == n);
  if (lens_value_elements(v) != n) return;
  for (int64_t i = 0; i < n; i++)
    CHECK_MSG(((const int64_t *)v->data)[i] == want[i], "element %lld: %lld, expected %lld",
              (long long)i, (long long)((const int64_t *)v->data)[i], (long long)want[i]);
}
#define CHECK_I64(v, ...)                                                                     \
  check_i64(&(v), (const int64_t[]){__VA_ARGS__},                                             \
            sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

static void check_i32(const lens_value *v, const int32_t *want, int64_t n) {
  CHECK(v->dtype == LENS_DTYPE_INT32);
  CHECK(lens_value_elements(v) == n);
  if (lens_value_elements(v) != n) return;
  for (int64_t i = 0; i < n; i++)
    CHECK_MSG(((const int32_t *)v->data)[i] == want[i], "element %lld: %d, expected %d",
              (long long)i, ((const int32_t *)v->data)[i], want[i]);
}
#define CHECK_I32(v, ...)                                                                     \
  check_i32(&(v), (const int32_t[]){__VA_ARGS__},                                             \
            sizeof((int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

static void check_u8(const lens_value *v, const uint8_t *want, int64_t n) {
  CHECK(lens_value_elements(v) == n);
  if (lens_value_elements(v) != n) return;
  for (int64_t i = 0; i < n; i++)
    CHECK_MSG(((const uint8_t *)v->data)[i] == want[i], "element %lld: %d, expected %d",
              (long long)i, ((const uint8_t *)v->data)[i], want[i]);
}
#define CHECK_U8(v, ...)                                                                      \
  check_u8(&(v), (const uint8_t[]){__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__}))

static float f32_iota[64];
static void init_iota(void) {
  for (int i = 0; i < 64; i++) f32_iota[i] = (float)i;
}

/* ---- Reshape ------------------------------------------------------------------------------ */

static void test_reshape_copies_zero_and_infers_minus_one(void) {
  init_iota();
  op_call c = {.def = &lens_op_reshape, .n_in = 2};
  const int64_t shape[] = {0, -1};
  c.in[0] = val(LENS_DTYPE_FLOAT32, f32_iota, DIMS(2, 3, 4));
  c.in[1] = val(LENS_DTYPE_INT64, shape, DIMS(2));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 12);
  CHECK(memcmp(c.out[0].data, f32_iota, 24 * sizeof(float)) == 0);
  done(&c);
}

static void test_reshape_allowzero_keeps_zero_dims(void) {
  op_call c = {.def = &lens_op_reshape, .n_in = 2, .opset = 14};
  attr_i(&c, "allowzero", 1);
  const int64_t shape[] = {3, 4, 0};
  float dummy = 0;
  c.in[0] = val(LENS_DTYPE_FLOAT32, &dummy, DIMS(0, 3, 4));
  c.in[1] = val(LENS_DTYPE_INT64, shape, DIMS(3));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 3, 4, 0);
  done(&c);
}

static void test_reshape_moves_int8_bytes_and_int32_shape(void) {
  const int8_t data[6] = {-128, -1, 0, 1, 2, 127};
  const int32_t shape[] = {3, 1, 2};
  op_call c = {.def = &lens_op_reshape, .n_in = 2};
  c.in[0] = val(LENS_DTYPE_INT8, data, DIMS(6));
  c.in[1] = val(LENS_DTYPE_INT32, shape, DIMS(3));
  CHECK_OK(run(&c));
  CHECK(c.out[0].dtype == LENS_DTYPE_INT8);
  CHECK_DIMS(c.out[0], 3, 1, 2);
  CHECK(memcmp(c.out[0].data, data, 6) == 0);
  done(&c);
}

static void test_reshape_unknown_shape_gives_unknown_rank(void) {
  op_call c = {.def = &lens_op_reshape, .n_in = 2};
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 3));
  c.in[1] = val(LENS_DTYPE_INT64, NULL, DIMS(2));
  CHECK_OK(infer_only(&c));
  CHECK(c.out[0].rank == -1);
}

static void test_reshape_rejects_bad_shapes(void) {
  op_call c = {.def = &lens_op_reshape, .n_in = 2};
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 3));
  const int64_t two_minus[] = {-1, -1}, wrong_count[] = {4, 2}, negative[] = {-2, -3},
                zero_past_rank[] = {6, 1, 0}, not_divisible[] = {4, -1};
  c.in[1] = val(LENS_DTYPE_INT64, two_minus, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "more than one -1");
  c.in[1] = val(LENS_DTYPE_INT64, wrong_count, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "cannot reshape");
  c.in[1] = val(LENS_DTYPE_INT64, negative, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "negative");
  c.in[1] = val(LENS_DTYPE_INT64, zero_past_rank, DIMS(3));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "lacks");
  c.in[1] = val(LENS_DTYPE_INT64, not_divisible, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "cannot infer the -1");
  const float fshape[] = {2, 3};
  c.in[1] = val(LENS_DTYPE_FLOAT32, fshape, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "int64 or int32");
  c.in[1] = val(LENS_DTYPE_INT64, wrong_count, DIMS(1, 2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "1-D");
}

static void test_reshape_allowzero_errors(void) {
  op_call c = {.def = &lens_op_reshape, .n_in = 2, .opset = 14};
  attr_i(&c, "allowzero", 1);
  const int64_t both[] = {0, -1};
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(0, 3));
  c.in[1] = val(LENS_DTYPE_INT64, both, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "both 0 and -1");
  c.opset = 13;
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "opset 14");
  c.opset = 14;
  c.attrs[0].i = 2;
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "allowzero");
  c.attrs[0].type = LENS_ATTR_FLOAT;
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "must be of type int");
}

/* ---- Flatten / Squeeze / Unsqueeze ---------------------------------------------------------- */

static void test_flatten_axes(void) {
  op_call c = {.def = &lens_op_flatten, .n_in = 1};
  c.in[0] = val(LENS_DTYPE_FLOAT16, NULL, DIMS(2, 3, 5));
  CHECK_OK(infer_only(&c));
  CHECK_DIMS(c.out[0], 2, 15);
  CHECK(c.out[0].dtype == LENS_DTYPE_FLOAT16);
  attr_i(&c, "axis", 0);
  CHECK_OK(infer_only(&c));
  CHECK_DIMS(c.out[0], 1, 30);
  c.attrs[0].i = 3;
  CHECK_OK(infer_only(&c));
  CHECK_DIMS(c.out[0], 30, 1);
  c.attrs[0].i = -1;
  CHECK_OK(infer_only(&c));
  CHECK_DIMS(c.out[0], 6, 5);
  c.attrs[0].i = -4;
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "axis -4 out of range");
  c.attrs[0].i = 4;
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "axis 4 out of range");
}

static void test_flatten_copies_bytes(void) {
  const uint16_t half[6] = {0x3c00, 0x4000, 0x7e00, 0xfc00, 0x0001, 0x8000};
  op_call c = {.def = &lens_op_flatten, .n_in = 1};
  c.in[0] = val(LENS_DTYPE_FLOAT16, half, DIMS(1, 2, 3));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 1, 6);
  CHECK(memcmp(c.out[0].data, half, sizeof half) == 0);
  done(&c);
}

static void test_squeeze_axes_attribute_before_13(void) {
  op_call c = {.def = &lens_op_squeeze, .n_in = 1, .opset = 11};
  ATTR_INTS(&c, "axes", -1, 0);
  c.in[0] = val(LENS_DTYPE_BOOL, NULL, DIMS(1, 3, 1, 1));
  CHECK_OK(infer_only(&c));
  CHECK_DIMS(c.out[0], 3, 1);
  c.n_attrs = 0;
  CHECK_OK(infer_only(&c));
  CHECK_DIMS(c.out[0], 3);
  ATTR_INTS(&c, "axes", 1);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "cannot squeeze axis 1 of size 3");
  c.n_attrs = 0;
  ATTR_INTS(&c, "axes", 0, -4);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "repeats axis 0");
  c.n_in = 2;
  c.in[1] = val(LENS_DTYPE_INT64, NULL, DIMS(1));
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "before opset 13");
}

static void test_squeeze_axes_input_from_13(void) {
  const int64_t axes[] = {2};
  const int32_t data[3] = {7, 8, 9};
  op_call c = {.def = &lens_op_squeeze, .n_in = 2, .opset = 13};
  c.in[0] = val(LENS_DTYPE_INT32, data, DIMS(1, 3, 1));
  c.in[1] = val(LENS_DTYPE_INT64, axes, DIMS(1));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 1, 3);
  CHECK_I32(c.out[0], 7, 8, 9);
  done(&c);
  c.in[1] = val(LENS_DTYPE_INT64, NULL, DIMS(1));
  CHECK_OK(infer_only(&c));
  CHECK(c.out[0].rank == -1);
  c.n_in = 1;
  CHECK_OK(infer_only(&c));
  CHECK_DIMS(c.out[0], 3);
  c.in[1] = absent;
  c.n_in = 2;
  CHECK_OK(infer_only(&c));
  CHECK_DIMS(c.out[0], 3);
  ATTR_INTS(&c, "axes", 0);
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "input from opset 13");
}

static void test_unsqueeze_both_forms(void) {
  op_call c = {.def = &lens_op_unsqueeze, .n_in = 1, .opset = 11};
  ATTR_INTS(&c, "axes", 4, 0);
  c.in[0] = val(LENS_DTYPE_UINT8, NULL, DIMS(3, 5, 7));
  CHECK_OK(infer_only(&c));
  CHECK_DIMS(c.out[0], 1, 3, 5, 7, 1);
  c.n_attrs = 0;
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "required");

  const int64_t axes[] = {-1, 1};
  const int64_t data[2] = {INT64_MIN, INT64_MAX};
  op_call d = {.def = &lens_op_unsqueeze, .n_in = 2, .opset = 13};
  d.in[0] = val(LENS_DTYPE_INT64, data, DIMS(2));
  d.in[1] = val(LENS_DTYPE_INT64, axes, DIMS(2));
  CHECK_OK(run(&d));
  CHECK_DIMS(d.out[0], 2, 1, 1);
  CHECK_I64(d.out[0], INT64_MIN, INT64_MAX);
  done(&d);
  d.in[0] = scalar(LENS_DTYPE_INT64, data);
  d.in[1] = val(LENS_DTYPE_INT64, axes, DIMS(1));
  CHECK_OK(run(&d));
  CHECK_DIMS(d.out[0], 1);
  done(&d);
  d.in[1] = val(LENS_DTYPE_INT64, NULL, DIMS(2));
  CHECK_OK(infer_only(&d));
  CHECK(d.out[0].rank == -1);
}

static void test_unsqueeze_rejects_bad_axes(void) {
  const int64_t dup[] = {0, -3}, far[] = {3};
  op_call c = {.def = &lens_op_unsqueeze, .n_in = 2, .opset = 13};
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(4));
  c.in[1] = val(LENS_DTYPE_INT64, dup, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "repeats axis 0");
  c.in[1] = val(LENS_DTYPE_INT64, far, DIMS(1));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "out of range");
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(1, 1, 1, 1, 1, 1, 1, 1));
  c.in[1] = val(LENS_DTYPE_INT64, far, DIMS(1));
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "exceeds");
  c.n_in = 1;
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "required");
}

/* ---- Transpose ---------------------------------------------------------------------------- */

static void test_transpose_default_reverses(void) {
  init_iota();
  op_call c = {.def = &lens_op_transpose, .n_in = 1};
  c.in[0] = val(LENS_DTYPE_FLOAT32, f32_iota, DIMS(2, 3));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 3, 2);
  CHECK_F32(c.out[0], 0, 0, 3, 1, 4, 2, 5);
  done(&c);
}

static void test_transpose_perm_on_int64(void) {
  int64_t data[24];
  for (int i = 0; i < 24; i++) data[i] = (int64_t)i * 1000000000000LL;
  op_call c = {.def = &lens_op_transpose, .n_in = 1};
  ATTR_INTS(&c, "perm", 1, 2, 0);
  c.in[0] = val(LENS_DTYPE_INT64, data, DIMS(2, 3, 4));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 3, 4, 2);
  /* out[j][k][i] = in[i][j][k] */
  int ok = 1;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++)
        ok &= ((int64_t *)c.out[0].data)[(j * 4 + k) * 2 + i] == data[(i * 3 + j) * 4 + k];
  CHECK(ok);
  done(&c);
}

static void test_transpose_rejects_bad_perm(void) {
  op_call c = {.def = &lens_op_transpose, .n_in = 1};
  ATTR_INTS(&c, "perm", 0, 0, 1);
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 3, 4));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "not a permutation");
  c.n_attrs = 0;
  ATTR_INTS(&c, "perm", 1, 0);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "perm has 2 values for a rank-3 input");
  c.n_attrs = 0;
  ATTR_INTS(&c, "perm", 0, 1, 3);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "not a permutation");
}

/* ---- Concat / Split ----------------------------------------------------------------------- */

static void test_concat_negative_axis_and_empty_input(void) {
  const float a[] = {1, 2}, b[] = {3, 4, 5, 6};
  op_call c = {.def = &lens_op_concat, .n_in = 3};
  attr_i(&c, "axis", -1);
  c.in[0] = val(LENS_DTYPE_FLOAT32, a, DIMS(2, 1));
  c.in[1] = val(LENS_DTYPE_FLOAT32, a, DIMS(2, 0));
  c.in[2] = val(LENS_DTYPE_FLOAT32, b, DIMS(2, 2));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 3);
  CHECK_F32(c.out[0], 0, 1, 3, 4, 2, 5, 6);
  done(&c);
}

static void test_concat_errors(void) {
  op_call c = {.def = &lens_op_concat, .n_in = 2};
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "axis attribute is required");
  attr_i(&c, "axis", 0);
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 3));
  c.in[1] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 4));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "incompatible");
  c.in[1] = val(LENS_DTYPE_INT32, NULL, DIMS(2, 3));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "input 1 is int32");
  c.in[1] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 3, 1));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "incompatible");
  c.attrs[0].i = 2;
  c.in[1] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 3));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "out of range");
}

static void test_split_attribute_before_13(void) {
  init_iota();
  op_call c = {.def = &lens_op_split, .n_in = 1, .n_out = 2, .opset = 11};
  attr_i(&c, "axis", 1);
  ATTR_INTS(&c, "split", 1, 2);
  c.in[0] = val(LENS_DTYPE_FLOAT32, f32_iota, DIMS(2, 3));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 1);
  CHECK_DIMS(c.out[1], 2, 2);
  CHECK_F32(c.out[0], 0, 0, 3);
  CHECK_F32(c.out[1], 0, 1, 2, 4, 5);
  done(&c);
  c.n_attrs = 1; /* equal parts */
  c.n_out = 3;
  CHECK_OK(run(&c));
  CHECK_F32(c.out[2], 0, 2, 5);
  done(&c);
  c.n_out = 2;
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "equal parts");
  ATTR_INTS(&c, "split", 1, 1);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "sum to 2");
  c.n_attrs = 1;
  ATTR_INTS(&c, "split", 3);
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "1 values for 2 outputs");
}

static void test_split_input_from_13(void) {
  const uint8_t data[5] = {1, 2, 3, 4, 5};
  const int64_t split[] = {2, 0, 3};
  op_call c = {.def = &lens_op_split, .n_in = 2, .n_out = 3, .opset = 13};
  c.in[0] = val(LENS_DTYPE_UINT8, data, DIMS(5));
  c.in[1] = val(LENS_DTYPE_INT64, split, DIMS(3));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2);
  CHECK_DIMS(c.out[1], 0);
  CHECK_DIMS(c.out[2], 3);
  CHECK_U8(c.out[0], 1, 2);
  CHECK_U8(c.out[2], 3, 4, 5);
  done(&c);
  c.in[1] = val(LENS_DTYPE_INT64, NULL, DIMS(3));
  CHECK_OK(infer_only(&c));
  CHECK(c.out[0].rank == -1 && c.out[2].rank == -1);
  const int64_t negative[] = {6, -1, 0};
  c.in[1] = val(LENS_DTYPE_INT64, negative, DIMS(3));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "split value -1");
  c.in[1] = val(LENS_DTYPE_INT64, split, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "2 values for 3 outputs");
  ATTR_INTS(&c, "split", 1, 1, 3);
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "input from opset 13");
  c.n_attrs = 0;
  attr_i(&c, "num_outputs", 3);
  CHECK_ERR(prepare_only(&c), LENS_ERR_UNSUPPORTED, "num_outputs");
}

/* ---- Slice -------------------------------------------------------------------------------- */

static void test_slice_attributes_before_10(void) {
  init_iota();
  op_call c = {.def = &lens_op_slice, .n_in = 1, .opset = 9};
  ATTR_INTS(&c, "starts", 1, 0);
  ATTR_INTS(&c, "ends", 3, -1);
  ATTR_INTS(&c, "axes", 0, 1);
  c.in[0] = val(LENS_DTYPE_FLOAT32, f32_iota, DIMS(3, 4));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 3);
  CHECK_F32(c.out[0], 0, 4, 5, 6, 8, 9, 10);
  done(&c);
  c.n_attrs = 2; /* default axes: 0, 1 */
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 3);
  done(&c);
  c.n_attrs = 1;
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "required");
}

static void test_slice_negative_steps_and_huge_ends(void) {
  const int64_t data[5] = {0, 1, 2, 3, 4};
  const int64_t starts[] = {INT64_MAX}, ends[] = {INT64_MIN}, axes[] = {0}, steps[] = {-1};
  op_call c = {.def = &lens_op_slice, .n_in = 5, .opset = 13};
  c.in[0] = val(LENS_DTYPE_INT64, data, DIMS(5));
  c.in[1] = val(LENS_DTYPE_INT64, starts, DIMS(1));
  c.in[2] = val(LENS_DTYPE_INT64, ends, DIMS(1));
  c.in[3] = val(LENS_DTYPE_INT64, axes, DIMS(1));
  c.in[4] = val(LENS_DTYPE_INT64, steps, DIMS(1));
  CHECK_OK(run(&c));
  CHECK_I64(c.out[0], 4, 3, 2, 1, 0);
  done(&c);

  const int64_t s2[] = {-1}, e2[] = {0}, st2[] = {-2};
  c.in[1] = val(LENS_DTYPE_INT64, s2, DIMS(1));
  c.in[2] = val(LENS_DTYPE_INT64, e2, DIMS(1));
  c.in[4] = val(LENS_DTYPE_INT64, st2, DIMS(1));
  CHECK_OK(run(&c));
  CHECK_I64(c.out[0], 4, 2);
  done(&c);

  const int64_t most_negative[] = {INT64_MIN};
  c.in[2] = val(LENS_DTYPE_INT64, most_negative, DIMS(1));
  c.in[4] = val(LENS_DTYPE_INT64, most_negative, DIMS(1));
  CHECK_OK(run(&c));
  CHECK_I64(c.out[0], 4);
  done(&c);

  const int64_t beyond[] = {10}, far[] = {20};
  c.n_in = 3;
  c.in[1] = val(LENS_DTYPE_INT64, beyond, DIMS(1));
  c.in[2] = val(LENS_DTYPE_INT64, far, DIMS(1));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 0);
  done(&c);
}

static void test_slice_axes_steps_int32_on_2d(void) {
  init_iota();
  const int32_t starts[] = {1}, ends[] = {INT32_MAX}, axes[] = {-1}, steps[] = {2};
  op_call c = {.def = &lens_op_slice, .n_in = 5, .opset = 11};
  c.in[0] = val(LENS_DTYPE_FLOAT32, f32_iota, DIMS(2, 5));
  c.in[1] = val(LENS_DTYPE_INT32, starts, DIMS(1));
  c.in[2] = val(LENS_DTYPE_INT32, ends, DIMS(1));
  c.in[3] = val(LENS_DTYPE_INT32, axes, DIMS(1));
  c.in[4] = val(LENS_DTYPE_INT32, steps, DIMS(1));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 2);
  CHECK_F32(c.out[0], 0, 1, 3, 6, 8);
  done(&c);
  c.in[3] = absent; /* omitted axes: 0.. */
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 1, 5);
  CHECK_F32(c.out[0], 0, 5, 6, 7, 8, 9);
  done(&c);
}

static void test_slice_unknown_and_bad_indices(void) {
  const int64_t one[] = {1}, zero[] = {0}, two_axes[] = {0, 0}, two[] = {0, 1};
  op_call c = {.def = &lens_op_slice, .n_in = 3, .opset = 13};
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(4, 4));
  c.in[1] = val(LENS_DTYPE_INT64, NULL, DIMS(1));
  c.in[2] = val(LENS_DTYPE_INT64, one, DIMS(1));
  CHECK_OK(infer_only(&c));
  CHECK(c.out[0].rank == -1);
  c.in[1] = val(LENS_DTYPE_INT64, zero, DIMS(1));
  c.n_in = 5;
  c.in[3] = absent;
  c.in[4] = val(LENS_DTYPE_INT64, zero, DIMS(1));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "step for axis 0 is 0");
  c.in[1] = val(LENS_DTYPE_INT64, two, DIMS(2));
  c.in[2] = val(LENS_DTYPE_INT64, two, DIMS(2));
  c.in[3] = val(LENS_DTYPE_INT64, two_axes, DIMS(2));
  c.in[4] = absent;
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "repeats axis 0");
  c.in[3] = absent;
  c.in[2] = val(LENS_DTYPE_INT64, one, DIMS(1));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "different lengths");
  c.n_in = 1;
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "opset 10");
  c.n_in = 3;
  ATTR_INTS(&c, "starts", 0);
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "not attributes");
}

/* ---- Gather ------------------------------------------------------------------------------- */

static void test_gather_negative_indices_axis0(void) {
  init_iota();
  const int64_t idx[] = {-1, 0, 2};
  op_call c = {.def = &lens_op_gather, .n_in = 2};
  c.in[0] = val(LENS_DTYPE_FLOAT32, f32_iota, DIMS(3, 2));
  c.in[1] = val(LENS_DTYPE_INT64, idx, DIMS(3));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 3, 2);
  CHECK_F32(c.out[0], 0, 4, 5, 0, 1, 4, 5);
  done(&c);
}

static void test_gather_axis1_2d_and_scalar_indices(void) {
  const int32_t data[6] = {10, 11, 12, 20, 21, 22};
  const int32_t idx[4] = {2, 0, 1, 1};
  op_call c = {.def = &lens_op_gather, .n_in = 2};
  attr_i(&c, "axis", -1);
  c.in[0] = val(LENS_DTYPE_INT32, data, DIMS(2, 3));
  c.in[1] = val(LENS_DTYPE_INT32, idx, DIMS(2, 2));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 2, 2);
  CHECK_I32(c.out[0], 12, 10, 11, 11, 22, 20, 21, 21);
  done(&c);
  c.in[1] = scalar(LENS_DTYPE_INT32, idx);
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2);
  CHECK_I32(c.out[0], 12, 22);
  done(&c);
}

static void test_gather_out_of_range_is_an_error(void) {
  init_iota();
  const int64_t bad[] = {0, 3};
  op_call c = {.def = &lens_op_gather, .n_in = 2};
  c.in[0] = val(LENS_DTYPE_FLOAT32, f32_iota, DIMS(3));
  c.in[1] = val(LENS_DTYPE_INT64, bad, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "index 3 at position 1");
  /* indices known only at run time */
  lens_node node = node_of(&c);
  CHECK_OK(c.def->prepare(&node));
  lens_value unknown[2] = {c.in[0], val(LENS_DTYPE_INT64, NULL, DIMS(2))};
  CHECK_OK(c.def->infer(&node, unknown, c.out));
  float out[2];
  c.out[0].data = out;
  lens_exec_ctx ctx = {0};
  CHECK_ERR(c.def->compute(&node, c.in, c.out, &ctx), LENS_ERR_RUNTIME, "out of range");
  const int64_t neg[] = {-4};
  c.in[1] = val(LENS_DTYPE_INT64, neg, DIMS(1));
  CHECK_ERR(c.def->compute(&node, c.in, c.out, &ctx), LENS_ERR_RUNTIME, "index -4");
  free(node.params);
  c.out[0].data = NULL;
  const float fidx[] = {0};
  c.in[1] = val(LENS_DTYPE_FLOAT32, fidx, DIMS(1));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "int64 or int32");
}

/* ---- Expand / Tile ------------------------------------------------------------------------ */

static void test_expand_broadcasts_both_ways(void) {
  const float data[3] = {1, 2, 3};
  const int64_t shape[] = {2, 1, 2};
  op_call c = {.def = &lens_op_expand, .n_in = 2};
  c.in[0] = val(LENS_DTYPE_FLOAT32, data, DIMS(3, 1));
  c.in[1] = val(LENS_DTYPE_INT64, shape, DIMS(3));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 3, 2);
  CHECK_F32(c.out[0], 0, 1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3);
  done(&c);
  const int64_t lower[] = {1};
  c.in[1] = val(LENS_DTYPE_INT64, lower, DIMS(1));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 3, 1);
  CHECK_F32(c.out[0], 0, 1, 2, 3);
  done(&c);
}

static void test_expand_errors_and_unknown(void) {
  const int64_t bad[] = {2, 2}, negative[] = {-1, 1};
  op_call c = {.def = &lens_op_expand, .n_in = 2};
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(3, 1));
  c.in[1] = val(LENS_DTYPE_INT64, bad, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "cannot be broadcast");
  c.in[1] = val(LENS_DTYPE_INT64, negative, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "negative");
  c.in[1] = val(LENS_DTYPE_INT64, NULL, DIMS(2));
  CHECK_OK(infer_only(&c));
  CHECK(c.out[0].rank == -1);
}

static void test_tile_repeats(void) {
  const int8_t data[6] = {1, 2, 3, 4, 5, 6};
  const int64_t reps[] = {2, 2};
  op_call c = {.def = &lens_op_tile, .n_in = 2};
  c.in[0] = val(LENS_DTYPE_INT8, data, DIMS(2, 3));
  c.in[1] = val(LENS_DTYPE_INT64, reps, DIMS(2));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 4, 6);
  CHECK_U8(c.out[0], 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6);
  done(&c);
  const int64_t zero[] = {0, 3};
  c.in[1] = val(LENS_DTYPE_INT64, zero, DIMS(2));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 0, 9);
  done(&c);
  const int64_t negative[] = {1, -1};
  c.in[1] = val(LENS_DTYPE_INT64, negative, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "negative");
  c.in[1] = val(LENS_DTYPE_INT64, reps, DIMS(1));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "1 values for a rank-2 input");
  c.in[1] = val(LENS_DTYPE_INT64, NULL, DIMS(2));
  CHECK_OK(infer_only(&c));
  CHECK(c.out[0].rank == -1);
  const int64_t huge[] = {INT64_MAX, 1};
  c.in[1] = val(LENS_DTYPE_INT64, huge, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "overflows");
}

/* ---- Pad ---------------------------------------------------------------------------------- */

static void test_pad_attributes_before_11(void) {
  const float data[4] = {1, 2, 3, 4};
  op_call c = {.def = &lens_op_pad, .n_in = 1, .opset = 2};
  ATTR_INTS(&c, "pads", 0, 1, 1, 0);
  attr_f(&c, "value", 9.0f);
  c.in[0] = val(LENS_DTYPE_FLOAT32, data, DIMS(2, 2));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 3, 3);
  CHECK_F32(c.out[0], 0, 9, 1, 2, 9, 3, 4, 9, 9, 9);
  done(&c);
  attr_s(&c, "mode", "edge");
  CHECK_OK(run(&c));
  CHECK_F32(c.out[0], 0, 1, 1, 2, 3, 3, 4, 3, 3, 4);
  done(&c);
  /* the value converts to the data's dtype */
  const int32_t idata[2] = {5, 6};
  c.n_attrs = 2;
  c.attrs[0].count = 2;
  c.attrs[0].ints = (int64_t[]){1, 0};
  c.attrs[1].f = -3.0f;
  c.in[0] = val(LENS_DTYPE_INT32, idata, DIMS(2));
  CHECK_OK(run(&c));
  CHECK_I32(c.out[0], -3, 5, 6);
  done(&c);
}

static void test_pad_reflect_wider_than_input(void) {
  const float data[3] = {1, 2, 3};
  const int64_t pads[] = {4, 5};
  op_call c = {.def = &lens_op_pad, .n_in = 2, .opset = 13};
  attr_s(&c, "mode", "reflect");
  c.in[0] = val(LENS_DTYPE_FLOAT32, data, DIMS(3));
  c.in[1] = val(LENS_DTYPE_INT64, pads, DIMS(2));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 12);
  CHECK_F32(c.out[0], 0, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2);
  done(&c);
  c.in[0] = val(LENS_DTYPE_FLOAT32, data, DIMS(1));
  CHECK_OK(run(&c));
  CHECK_F32(c.out[0], 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  done(&c);
}

static void test_pad_edge_2d_and_negative_crop(void) {
  init_iota();
  const int64_t pads[] = {1, 0, 0, 2};
  op_call c = {.def = &lens_op_pad, .n_in = 2, .opset = 11};
  attr_s(&c, "mode", "edge");
  c.in[0] = val(LENS_DTYPE_FLOAT32, f32_iota, DIMS(2, 3));
  c.in[1] = val(LENS_DTYPE_INT64, pads, DIMS(4));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 3, 5);
  CHECK_F32(c.out[0], 0, 0, 1, 2, 2, 2, 0, 1, 2, 2, 2, 3, 4, 5, 5, 5);
  done(&c);
  const int64_t crop[] = {0, -1, 0, -1};
  c.n_attrs = 0;
  c.in[1] = val(LENS_DTYPE_INT64, crop, DIMS(4));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 1);
  CHECK_F32(c.out[0], 0, 1, 4);
  done(&c);
}

static void test_pad_constant_value_input(void) {
  const int32_t data[2] = {5, 6}, value = 7;
  const int64_t pads[] = {1, 2};
  op_call c = {.def = &lens_op_pad, .n_in = 3, .opset = 11};
  c.in[0] = val(LENS_DTYPE_INT32, data, DIMS(2));
  c.in[1] = val(LENS_DTYPE_INT64, pads, DIMS(2));
  c.in[2] = scalar(LENS_DTYPE_INT32, &value);
  CHECK_OK(run(&c));
  CHECK_I32(c.out[0], 7, 5, 6, 7, 7);
  done(&c);
  c.in[2] = absent;
  CHECK_OK(run(&c));
  CHECK_I32(c.out[0], 0, 5, 6, 0, 0);
  done(&c);
  const float fvalue = 1.0f;
  c.in[2] = scalar(LENS_DTYPE_FLOAT32, &fvalue);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "constant_value is float32");
  /* an empty input padded with the constant */
  c.in[2] = scalar(LENS_DTYPE_INT32, &value);
  c.in[0] = val(LENS_DTYPE_INT32, data, DIMS(0));
  CHECK_OK(run(&c));
  CHECK_I32(c.out[0], 7, 7, 7);
  done(&c);
}

static void test_pad_errors(void) {
  op_call c = {.def = &lens_op_pad, .n_in = 2, .opset = 13};
  attr_s(&c, "mode", "wrap");
  CHECK_ERR(prepare_only(&c), LENS_ERR_UNSUPPORTED, "mode 'wrap'");
  c.attrs[0].s = "edge";
  const int64_t pads[] = {1, 1}, crop[] = {-2, 0};
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(0));
  c.in[1] = val(LENS_DTYPE_INT64, pads, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "size 0");
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(1));
  c.in[1] = val(LENS_DTYPE_INT64, crop, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "invalid");
  c.in[1] = val(LENS_DTYPE_INT64, pads, DIMS(2));
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "2 values for a rank-2 input");
  c.in[1] = val(LENS_DTYPE_INT64, NULL, DIMS(4));
  CHECK_OK(infer_only(&c));
  CHECK(c.out[0].rank == -1);
  c.opset = 10;
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "before opset 11");
  c.n_in = 1;
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "pads attribute is required");
}

/* ---- Shape / Constant / ConstantOfShape / Range --------------------------------------------- */

static void test_shape_full_and_sliced(void) {
  op_call c = {.def = &lens_op_shape, .n_in = 1, .opset = 13};
  CHECK(lens_op_shape.flags & LENS_OP_READS_SHAPES_ONLY);
  c.in[0] = val(LENS_DTYPE_BOOL, NULL, DIMS(2, 3, 5, 7));
  CHECK_OK(run(&c));
  CHECK_I64(c.out[0], 2, 3, 5, 7);
  done(&c);
  c.opset = 15;
  attr_i(&c, "start", -3);
  attr_i(&c, "end", -1);
  CHECK_OK(run(&c));
  CHECK_I64(c.out[0], 3, 5);
  done(&c);
  c.attrs[0].i = -100;
  c.attrs[1].i = 100;
  CHECK_OK(run(&c));
  CHECK_I64(c.out[0], 2, 3, 5, 7);
  done(&c);
  c.attrs[0].i = 3;
  c.attrs[1].i = 1;
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 0);
  done(&c);
  c.opset = 14;
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "opset 15");
  c.opset = 15;
  c.n_attrs = 0;
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, NULL, 0);
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 0);
  done(&c);
}

static void test_constant_forms(void) {
  const int32_t tdata[6] = {1, 2, 3, 4, 5, 6};
  op_call c = {.def = &lens_op_constant, .n_in = 0};
  attr_tensor(&c, "value", LENS_DTYPE_INT32, tdata, sizeof tdata, DIMS(2, 3));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 3);
  CHECK_I32(c.out[0], 1, 2, 3, 4, 5, 6);
  done(&c);

  op_call f = {.def = &lens_op_constant, .opset = 12};
  attr_f(&f, "value_float", 2.5f);
  CHECK_OK(run(&f));
  CHECK_SCALAR_SHAPE(f.out[0]);
  CHECK_F32(f.out[0], 0, 2.5f);
  done(&f);
  f.n_attrs = 0;
  attr_floats(&f, "value_floats", (const float[]){1.5f, -2.0f}, 2);
  CHECK_OK(run(&f));
  CHECK_F32(f.out[0], 0, 1.5f, -2.0f);
  done(&f);
  f.n_attrs = 0;
  attr_i(&f, "value_int", -9);
  CHECK_OK(run(&f));
  CHECK_SCALAR_SHAPE(f.out[0]);
  CHECK_I64(f.out[0], -9);
  done(&f);
  f.n_attrs = 0;
  ATTR_INTS(&f, "value_ints", 4, 5, 6);
  CHECK_OK(run(&f));
  CHECK_DIMS(f.out[0], 3);
  CHECK_I64(f.out[0], 4, 5, 6);
  done(&f);
  f.opset = 11;
  CHECK_ERR(prepare_only(&f), LENS_ERR_INVALID_MODEL, "opset 12");
}

static void test_constant_errors(void) {
  const int32_t tdata[6] = {0};
  op_call c = {.def = &lens_op_constant};
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "no value");
  attr_tensor(&c, "value", LENS_DTYPE_INT32, tdata, 8, DIMS(2, 3));
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "bytes");
  c.n_attrs = 0;
  attr_tensor(&c, "value", (lens_dtype)11, tdata, 8, DIMS(1));
  CHECK_ERR(prepare_only(&c), LENS_ERR_UNSUPPORTED, "dtype");
  c.n_attrs = 0;
  attr_tensor(&c, "value", LENS_DTYPE_INT32, tdata, 4, DIMS(1));
  attr_i(&c, "value_int", 3);
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "both");
  c.n_attrs = 0;
  attr_tensor(&c, "sparse_value", LENS_DTYPE_INT32, tdata, 4, DIMS(1));
  CHECK_ERR(prepare_only(&c), LENS_ERR_UNSUPPORTED, "sparse_value");
  c.n_attrs = 0;
  attr_s(&c, "value_string", "x");
  CHECK_ERR(prepare_only(&c), LENS_ERR_UNSUPPORTED, "value_string");
  c.n_attrs = 0;
  attr_i(&c, "value", 3);
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "tensor");
}

static void test_constantofshape_values(void) {
  const int64_t shape[] = {2, 3};
  op_call c = {.def = &lens_op_constantofshape, .n_in = 1};
  c.in[0] = val(LENS_DTYPE_INT64, shape, DIMS(2));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 3);
  CHECK_F32(c.out[0], 0, 0, 0, 0, 0, 0, 0);
  done(&c);
  const int64_t seven = 7;
  attr_tensor(&c, "value", LENS_DTYPE_INT64, &seven, 8, DIMS(1));
  CHECK_OK(run(&c));
  CHECK_I64(c.out[0], 7, 7, 7, 7, 7, 7);
  done(&c);
  c.in[0] = val(LENS_DTYPE_INT64, shape, DIMS(0));
  CHECK_OK(run(&c));
  CHECK_SCALAR_SHAPE(c.out[0]);
  CHECK_I64(c.out[0], 7);
  done(&c);
  const int64_t with_zero[] = {4, 0};
  c.in[0] = val(LENS_DTYPE_INT64, with_zero, DIMS(2));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 4, 0);
  done(&c);
}

static void test_constantofshape_errors(void) {
  const int64_t negative[] = {2, -3};
  op_call c = {.def = &lens_op_constantofshape, .n_in = 1};
  c.in[0] = val(LENS_DTYPE_INT64, negative, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "negative");
  c.in[0] = val(LENS_DTYPE_INT64, NULL, DIMS(2));
  CHECK_OK(infer_only(&c));
  CHECK(c.out[0].rank == -1);
  c.in[0] = val(LENS_DTYPE_INT32, NULL, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "int64");
  const float two[2] = {1, 2};
  attr_tensor(&c, "value", LENS_DTYPE_FLOAT32, two, 8, DIMS(2));
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "exactly one");
}

static void test_range_types(void) {
  const float fs = 1, fl = 5, fd = 2;
  op_call c = {.def = &lens_op_range, .n_in = 3};
  c.in[0] = scalar(LENS_DTYPE_FLOAT32, &fs);
  c.in[1] = scalar(LENS_DTYPE_FLOAT32, &fl);
  c.in[2] = scalar(LENS_DTYPE_FLOAT32, &fd);
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2);
  CHECK_F32(c.out[0], 0, 1, 3);
  done(&c);
  const int32_t is = 10, il = 4, id = -3;
  c.in[0] = scalar(LENS_DTYPE_INT32, &is);
  c.in[1] = scalar(LENS_DTYPE_INT32, &il);
  c.in[2] = scalar(LENS_DTYPE_INT32, &id);
  CHECK_OK(run(&c));
  CHECK_I32(c.out[0], 10, 7);
  done(&c);
  const int64_t ls = INT64_MIN, ll = INT64_MAX, ld = INT64_MAX;
  c.in[0] = scalar(LENS_DTYPE_INT64, &ls);
  c.in[1] = scalar(LENS_DTYPE_INT64, &ll);
  c.in[2] = scalar(LENS_DTYPE_INT64, &ld);
  CHECK_OK(run(&c));
  CHECK_I64(c.out[0], INT64_MIN, -1, INT64_MAX - 1);
  done(&c);
  c.in[1] = scalar(LENS_DTYPE_INT64, &ls);
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 0);
  done(&c);
}

static void test_range_errors(void) {
  const float fs = 1, fl = 5, zero = 0, inf = INFINITY;
  const int32_t i = 1;
  op_call c = {.def = &lens_op_range, .n_in = 3};
  c.in[0] = scalar(LENS_DTYPE_FLOAT32, &fs);
  c.in[1] = scalar(LENS_DTYPE_FLOAT32, &fl);
  c.in[2] = scalar(LENS_DTYPE_FLOAT32, &zero);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "do not define a range");
  c.in[2] = scalar(LENS_DTYPE_FLOAT32, &inf);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "do not define a range");
  c.in[2] = scalar(LENS_DTYPE_INT32, &i);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "delta is int32");
  c.in[2] = scalar(LENS_DTYPE_FLOAT32, NULL);
  CHECK_OK(infer_only(&c));
  CHECK(c.out[0].rank == -1);
  c.in[2] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "scalar");
  const uint8_t u = 1;
  c.in[0] = c.in[1] = c.in[2] = scalar(LENS_DTYPE_UINT8, &u);
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "uint8");
  const float tiny = 1e-30f, big = 1e30f;
  c.in[0] = scalar(LENS_DTYPE_FLOAT32, &zero);
  c.in[1] = scalar(LENS_DTYPE_FLOAT32, &big);
  c.in[2] = scalar(LENS_DTYPE_FLOAT32, &tiny);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "too many");
}

/* ---- Reduce* ------------------------------------------------------------------------------ */

static const float reduce_data[6] = {1, 2, 3, 4, 5, 6};

static void test_reduce_axes_and_keepdims(void) {
  op_call s = {.def = &lens_op_reducesum, .n_in = 1, .opset = 11};
  ATTR_INTS(&s, "axes", 1);
  s.in[0] = val(LENS_DTYPE_FLOAT32, reduce_data, DIMS(2, 3));
  CHECK_OK(run(&s));
  CHECK_DIMS(s.out[0], 2, 1);
  CHECK_F32(s.out[0], 0, 6, 15);
  done(&s);

  op_call m = {.def = &lens_op_reducemean, .n_in = 1};
  ATTR_INTS(&m, "axes", -2);
  attr_i(&m, "keepdims", 0);
  m.in[0] = val(LENS_DTYPE_FLOAT32, reduce_data, DIMS(2, 3));
  CHECK_OK(run(&m));
  CHECK_DIMS(m.out[0], 3);
  CHECK_F32(m.out[0], 1e-6, 2.5, 3.5, 4.5);
  done(&m);

  op_call x = {.def = &lens_op_reducemax, .n_in = 1};
  x.in[0] = val(LENS_DTYPE_FLOAT32, reduce_data, DIMS(2, 3));
  CHECK_OK(run(&x));
  CHECK_DIMS(x.out[0], 1, 1);
  CHECK_F32(x.out[0], 0, 6);
  done(&x);
  attr_i(&x, "keepdims", 0);
  CHECK_OK(run(&x));
  CHECK_SCALAR_SHAPE(x.out[0]);
  done(&x);
}

static void test_reducesum_axes_input_from_13(void) {
  const int64_t axes[] = {0};
  op_call c = {.def = &lens_op_reducesum, .n_in = 2, .opset = 13};
  c.in[0] = val(LENS_DTYPE_FLOAT32, reduce_data, DIMS(2, 3));
  c.in[1] = val(LENS_DTYPE_INT64, axes, DIMS(1));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 1, 3);
  CHECK_F32(c.out[0], 0, 5, 7, 9);
  done(&c);
  c.in[1] = val(LENS_DTYPE_INT64, axes, DIMS(0));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 1, 1);
  CHECK_F32(c.out[0], 0, 21);
  done(&c);
  attr_i(&c, "noop_with_empty_axes", 1);
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 3);
  CHECK_F32(c.out[0], 0, 1, 2, 3, 4, 5, 6);
  done(&c);
  c.n_in = 1;
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 2, 3);
  done(&c);
  c.n_in = 2;
  c.in[1] = val(LENS_DTYPE_INT64, NULL, DIMS(1));
  CHECK_OK(infer_only(&c));
  CHECK(c.out[0].rank == -1);
  c.n_attrs = 0;
  ATTR_INTS(&c, "axes", 0);
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "input from opset 13");
}

static void test_reduce_integers_and_nan(void) {
  const int64_t big[3] = {(int64_t)1 << 40, 3, -7};
  op_call c = {.def = &lens_op_reducesum, .n_in = 1, .opset = 11};
  attr_i(&c, "keepdims", 0);
  c.in[0] = val(LENS_DTYPE_INT64, big, DIMS(3));
  CHECK_OK(run(&c));
  CHECK_I64(c.out[0], ((int64_t)1 << 40) - 4);
  done(&c);
  const int32_t small[4] = {-5, -9, -2, -8};
  op_call x = {.def = &lens_op_reducemax, .n_in = 1, .opset = 13};
  ATTR_INTS(&x, "axes", 1);
  x.in[0] = val(LENS_DTYPE_INT32, small, DIMS(2, 2));
  CHECK_OK(run(&x));
  CHECK_I32(x.out[0], -5, -2);
  done(&x);
  op_call m = {.def = &lens_op_reducemean, .n_in = 1};
  m.in[0] = val(LENS_DTYPE_INT32, small, DIMS(4));
  CHECK_OK(run(&m));
  CHECK_I32(m.out[0], -6);
  done(&m);
  const float with_nan[3] = {1, NAN, 2};
  op_call n = {.def = &lens_op_reducemax, .n_in = 1};
  n.in[0] = val(LENS_DTYPE_FLOAT32, with_nan, DIMS(3));
  CHECK_OK(run(&n));
  CHECK(isnan(((float *)n.out[0].data)[0]));
  done(&n);
}

static void test_reduce_empty_and_float16(void) {
  float dummy = 0;
  op_call m = {.def = &lens_op_reducemean, .n_in = 1};
  ATTR_INTS(&m, "axes", 0);
  m.in[0] = val(LENS_DTYPE_FLOAT32, &dummy, DIMS(0, 2));
  CHECK_OK(run(&m));
  CHECK_DIMS(m.out[0], 1, 2);
  CHECK(isnan(((float *)m.out[0].data)[0]));
  done(&m);
  op_call x = {.def = &lens_op_reducemax, .n_in = 1};
  ATTR_INTS(&x, "axes", 0);
  x.in[0] = val(LENS_DTYPE_FLOAT32, &dummy, DIMS(0, 2));
  CHECK_OK(run(&x));
  CHECK(isinf(((float *)x.out[0].data)[1]) && ((float *)x.out[0].data)[1] < 0);
  done(&x);
  op_call s = {.def = &lens_op_reducesum, .n_in = 1, .opset = 11};
  ATTR_INTS(&s, "axes", 0);
  s.in[0] = val(LENS_DTYPE_FLOAT32, &dummy, DIMS(0, 2));
  CHECK_OK(run(&s));
  CHECK_F32(s.out[0], 0, 0, 0);
  done(&s);
  m.in[0] = val(LENS_DTYPE_INT64, &dummy, DIMS(0, 2));
  CHECK_ERR(infer_only(&m), LENS_ERR_INVALID_MODEL, "mean of zero");

  const uint16_t half[3] = {0x3c00, 0x4000, 0x4200}; /* 1, 2, 3 */
  s.n_attrs = 0;
  s.in[0] = val(LENS_DTYPE_FLOAT16, half, DIMS(3));
  CHECK_OK(run(&s));
  CHECK(s.out[0].dtype == LENS_DTYPE_FLOAT16);
  CHECK(((uint16_t *)s.out[0].data)[0] == 0x4600); /* 6 */
  done(&s);
}

static void test_reduce_errors(void) {
  op_call c = {.def = &lens_op_reducemax, .n_in = 1};
  ATTR_INTS(&c, "axes", 0, -2);
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 3));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "repeats axis 0");
  c.n_attrs = 0;
  ATTR_INTS(&c, "axes", 2);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "out of range");
  c.n_attrs = 0;
  attr_i(&c, "keepdims", 2);
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "keepdims");
  c.n_attrs = 0;
  c.in[0] = val(LENS_DTYPE_UINT8, NULL, DIMS(2, 3));
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "uint8");
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 3));
  c.n_in = 2;
  c.in[1] = val(LENS_DTYPE_INT64, NULL, DIMS(1));
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "one input");
  c.n_in = 1;
  attr_i(&c, "noop_with_empty_axes", 1);
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "noop_with_empty_axes");
}

/* ---- Resize ------------------------------------------------------------------------------- */

static void test_resize_opset10_nearest_is_asymmetric_floor(void) {
  const float data[4] = {1, 2, 3, 4};
  const float scales[4] = {1, 1, 2, 3};
  op_call c = {.def = &lens_op_resize, .n_in = 2, .opset = 10};
  c.in[0] = val(LENS_DTYPE_FLOAT32, data, DIMS(1, 1, 2, 2));
  c.in[1] = val(LENS_DTYPE_FLOAT32, scales, DIMS(4));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 1, 1, 4, 6);
  CHECK_F32(c.out[0], 0, 1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4);
  done(&c);
  attr_s(&c, "coordinate_transformation_mode", "half_pixel");
  CHECK_ERR(prepare_only(&c), LENS_ERR_INVALID_MODEL, "opset 11");
}

static void test_resize_linear_half_pixel_and_align_corners_1d(void) {
  const float data[4] = {0, 10, 20, 30};
  const int64_t sizes[] = {8};
  op_call c = {.def = &lens_op_resize, .n_in = 4, .opset = 13};
  attr_s(&c, "mode", "linear");
  c.in[0] = val(LENS_DTYPE_FLOAT32, data, DIMS(4));
  c.in[1] = absent;
  c.in[2] = absent;
  c.in[3] = val(LENS_DTYPE_INT64, sizes, DIMS(1));
  CHECK_OK(run(&c));
  CHECK_F32(c.out[0], 1e-5, 0, 2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 30);
  done(&c);
  const int64_t seven[] = {7};
  c.in[3] = val(LENS_DTYPE_INT64, seven, DIMS(1));
  attr_s(&c, "coordinate_transformation_mode", "align_corners");
  CHECK_OK(run(&c));
  CHECK_F32(c.out[0], 1e-5, 0, 5, 10, 15, 20, 25, 30);
  done(&c);
}

static void test_resize_bilinear_align_corners_2d(void) {
  const uint16_t half[4] = {0x3c00, 0x4000, 0x4200, 0x4400}; /* 1 2 3 4 */
  const int64_t sizes[] = {1, 1, 3, 3};
  const float no_scales[1] = {0};
  op_call c = {.def = &lens_op_resize, .n_in = 4, .opset = 11};
  attr_s(&c, "mode", "linear");
  attr_s(&c, "coordinate_transformation_mode", "align_corners");
  c.in[0] = val(LENS_DTYPE_FLOAT16, half, DIMS(1, 1, 2, 2));
  c.in[1] = val(LENS_DTYPE_FLOAT32, no_scales, DIMS(0));
  c.in[2] = val(LENS_DTYPE_FLOAT32, no_scales, DIMS(0));
  c.in[3] = val(LENS_DTYPE_INT64, sizes, DIMS(4));
  CHECK_OK(run(&c));
  CHECK_DIMS(c.out[0], 1, 1, 3, 3);
  const float want[9] = {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4};
  for (int i = 0; i < 9; i++)
    CHECK_NEAR(lens_half_to_float(((uint16_t *)c.out[0].data)[i]), want[i], 1e-3);
  done(&c);
}

static void test_resize_nearest_modes(void) {
  const uint8_t data[2] = {0, 10};
  const float scales[1] = {4};
  static const char *const modes[4] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  static const uint8_t want[4][8] = {
      {0, 0, 0, 10, 10, 10, 10, 10},
      {0, 0, 10, 10, 10, 10, 10, 10},
      {0, 0, 0, 0, 10, 10, 10, 10},
      {0, 10, 10, 10, 10, 10, 10, 10},
  };
  for (int m = 0; m < 4; m++) {
    op_call c = {.def = &lens_op_resize, .n_in = 3, .opset = 13};
    attr_s(&c, "coordinate_transformation_mode", "asymmetric");
    attr_s(&c, "nearest_mode", modes[m]);
    c.in[0] = val(LENS_DTYPE_UINT8, data, DIMS(2));
    c.in[1] = absent;
    c.in[2] = val(LENS_DTYPE_FLOAT32, scales, DIMS(1));
    CHECK_OK(run(&c));
    CHECK_DIMS(c.out[0], 8);
    check_u8(&c.out[0], want[m], 8);
    done(&c);
  }
}

static void test_resize_rejections(void) {
  op_call c = {.def = &lens_op_resize, .n_in = 3, .opset = 13};
  attr_s(&c, "mode", "cubic");
  CHECK_ERR(prepare_only(&c), LENS_ERR_UNSUPPORTED, "cubic");
  c.attrs[0].s = "linear";
  attr_s(&c, "coordinate_transformation_mode", "tf_crop_and_resize");
  CHECK_ERR(prepare_only(&c), LENS_ERR_UNSUPPORTED, "tf_crop_and_resize");
  c.attrs[1].s = "half_pixel";
  attr_s(&c, "nearest_mode", "banker");
  CHECK_ERR(prepare_only(&c), LENS_ERR_UNSUPPORTED, "banker");
  c.n_attrs = 1;
  const float scales[2] = {1, 2};
  const int64_t sizes[2] = {2, 2};
  c.in[0] = val(LENS_DTYPE_INT32, NULL, DIMS(2, 2));
  c.in[1] = absent;
  c.in[2] = val(LENS_DTYPE_FLOAT32, scales, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "linear mode does not support dtype int32");
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 2));
  c.n_in = 4;
  c.in[3] = val(LENS_DTYPE_INT64, sizes, DIMS(2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "both scales and sizes");
  c.in[2] = absent;
  c.in[3] = absent;
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "neither");
  c.in[3] = val(LENS_DTYPE_INT64, NULL, DIMS(2));
  CHECK_OK(infer_only(&c));
  CHECK(c.out[0].rank == -1);
  c.in[3] = val(LENS_DTYPE_INT64, sizes, DIMS(2));
  c.in[0] = val(LENS_DTYPE_FLOAT32, NULL, DIMS(2, 2, 2));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "3 values");
  const float zero_scale[3] = {1, 0, 1};
  c.in[3] = absent;
  c.in[2] = val(LENS_DTYPE_FLOAT32, zero_scale, DIMS(3));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "must be > 0");
  c.n_attrs = 0;
  attr_i(&c, "antialias", 1);
  CHECK_ERR(prepare_only(&c), LENS_ERR_UNSUPPORTED, "antialias");
}

/* ---- compute guards: an output that disagrees with the inputs is an error, not a write ---- */

static void test_compute_rejects_outputs_that_disagree(void) {
  init_iota();
  lens_exec_ctx ctx = {0};
  float out_buf[4];
  const int64_t starts[] = {0}, ends[] = {3};
  op_call c = {.def = &lens_op_slice, .n_in = 3, .opset = 13};
  c.in[0] = val(LENS_DTYPE_FLOAT32, f32_iota, DIMS(8));
  c.in[1] = val(LENS_DTYPE_INT64, starts, DIMS(1));
  c.in[2] = val(LENS_DTYPE_INT64, ends, DIMS(1));
  lens_node node = node_of(&c);
  CHECK_OK(c.def->prepare(&node));
  lens_value out = val(LENS_DTYPE_FLOAT32, out_buf, DIMS(2));
  CHECK_ERR(c.def->compute(&node, c.in, &out, &ctx), LENS_ERR_RUNTIME, "does not match");
  free(node.params);

  const int64_t shape[] = {4};
  op_call r = {.def = &lens_op_reshape, .n_in = 2};
  r.in[0] = val(LENS_DTYPE_FLOAT32, f32_iota, DIMS(8));
  r.in[1] = val(LENS_DTYPE_INT64, shape, DIMS(1));
  node = node_of(&r);
  CHECK_OK(r.def->prepare(&node));
  out = val(LENS_DTYPE_FLOAT32, out_buf, DIMS(4));
  CHECK_ERR(r.def->compute(&node, r.in, &out, &ctx), LENS_ERR_RUNTIME, "does not match");
  free(node.params);
}

/* ---- threads: big copies split across a pool match one thread ------------------------------ */

static void test_threaded_paths_match_single_thread(void) {
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(3, &pool));
  if (!pool) return;
  lens_exec_ctx ctx = {0};
  ctx.pool = pool;
  const int64_t n = 3 * 131 * 257;
  float *data = malloc((size_t)n * sizeof *data);
  for (int64_t i = 0; i < n; i++) data[i] = (float)((i * 7919) % 1000) * 0.25f;

  op_call a = {.def = &lens_op_transpose, .n_in = 1};
  ATTR_INTS(&a, "perm", 2, 0, 1);
  a.in[0] = val(LENS_DTYPE_FLOAT32, data, DIMS(3, 131, 257));
  op_call b = a;
  b.ctx = &ctx;
  CHECK_OK(run(&a));
  CHECK_OK(run(&b));
  CHECK(memcmp(a.out[0].data, b.out[0].data, (size_t)n * 4) == 0);
  CHECK(((float *)a.out[0].data)[1] == data[257]); /* out[0][0][1] = in[0][1][0] */
  done(&a);
  done(&b);

  const int64_t pads[] = {0, 2, 1, 1, 0, 3};
  op_call p = {.def = &lens_op_pad, .n_in = 2, .opset = 13};
  attr_s(&p, "mode", "reflect");
  p.in[0] = val(LENS_DTYPE_FLOAT32, data, DIMS(3, 131, 257));
  p.in[1] = val(LENS_DTYPE_INT64, pads, DIMS(6));
  op_call q = p;
  q.ctx = &ctx;
  CHECK_OK(run(&p));
  CHECK_OK(run(&q));
  CHECK_DIMS(p.out[0], 4, 133, 261);
  CHECK(memcmp(p.out[0].data, q.out[0].data, (size_t)(4 * 133 * 261) * 4) == 0);
  done(&p);
  done(&q);

  op_call r = {.def = &lens_op_reducesum, .n_in = 1, .opset = 11};
  ATTR_INTS(&r, "axes", 1);
  r.in[0] = val(LENS_DTYPE_FLOAT32, data, DIMS(3, 131, 257));
  op_call s = r;
  s.ctx = &ctx;
  CHECK_OK(run(&r));
  CHECK_OK(run(&s));
  CHECK(memcmp(r.out[0].data, s.out[0].data, 3 * 257 * 4) == 0);
  double want = 0;
  for (int i = 0; i < 131; i++) want += data[i * 257 + 5];
  CHECK_NEAR(((float *)r.out[0].data)[5], want, 1e-2);
  done(&r);
  done(&s);

  const float scales[3] = {1, 1.5f, 0.5f};
  op_call u = {.def = &lens_op_resize, .n_in = 3, .opset = 13};
  attr_s(&u, "mode", "linear");
  u.in[0] = val(LENS_DTYPE_FLOAT32, data, DIMS(3, 131, 257));
  u.in[1] = absent;
  u.in[2] = val(LENS_DTYPE_FLOAT32, scales, DIMS(3));
  op_call v = u;
  v.ctx = &ctx;
  CHECK_OK(run(&u));
  CHECK_OK(run(&v));
  CHECK_DIMS(u.out[0], 3, 196, 128);
  CHECK(memcmp(u.out[0].data, v.out[0].data, (size_t)(3 * 196 * 128) * 4) == 0);
  done(&u);
  done(&v);

  free(data);
  lens_threadpool_free(pool);
}

LENS_TEST_MAIN(LENS_TEST(test_reshape_copies_zero_and_infers_minus_one),
               LENS_TEST(test_reshape_allowzero_keeps_zero_dims),
               LENS_TEST(test_reshape_moves_int8_bytes_and_int32_shape),
               LENS_TEST(test_reshape_unknown_shape_gives_unknown_rank),
               LENS_TEST(test_reshape_rejects_bad_shapes),
               LENS_TEST(test_reshape_allowzero_errors),
               LENS_TEST(test_flatten_axes),
               LENS_TEST(test_flatten_copies_bytes),
               LENS_TEST(test_squeeze_axes_attribute_before_13),
               LENS_TEST(test_squeeze_axes_input_from_13),
               LENS_TEST(test_unsqueeze_both_forms),
               LENS_TEST(test_unsqueeze_rejects_bad_axes),
               LENS_TEST(test_transpose_default_reverses),
               LENS_TEST(test_transpose_perm_on_int64),
               LENS_TEST(test_transpose_rejects_bad_perm),
               LENS_TEST(test_concat_negative_axis_and_empty_input),
               LENS_TEST(test_concat_errors),
               LENS_TEST(test_split_attribute_before_13),
               LENS_TEST(test_split_input_from_13),
               LENS_TEST(test_slice_attributes_before_10),
               LENS_TEST(test_slice_negative_steps_and_huge_ends),
               LENS_TEST(test_slice_axes_steps_int32_on_2d),
               LENS_TEST(test_slice_unknown_and_bad_indices),
               LENS_TEST(test_gather_negative_indices_axis0),
               LENS_TEST(test_gather_axis1_2d_and_scalar_indices),
               LENS_TEST(test_gather_out_of_range_is_an_error),
               LENS_TEST(test_expand_broadcasts_both_ways),
               LENS_TEST(test_expand_errors_and_unknown),
               LENS_TEST(test_tile_repeats),
               LENS_TEST(test_pad_attributes_before_11),
               LENS_TEST(test_pad_reflect_wider_than_input),
               LENS_TEST(test_pad_edge_2d_and_negative_crop),
               LENS_TEST(test_pad_constant_value_input),
               LENS_TEST(test_pad_errors),
               LENS_TEST(test_shape_full_and_sliced),
               LENS_TEST(test_constant_forms),
               LENS_TEST(test_constant_errors),
               LENS_TEST(test_constantofshape_values),
               LENS_TEST(test_constantofshape_errors),
               LENS_TEST(test_range_types),
               LENS_TEST(test_range_errors),
               LENS_TEST(test_reduce_axes_and_keepdims),
               LENS_TEST(test_reducesum_axes_input_from_13),
               LENS_TEST(test_reduce_integers_and_nan),
               LENS_TEST(test_reduce_empty_and_float16),
               LENS_TEST(test_reduce_errors),
               LENS_TEST(test_resize_opset10_nearest_is_asymmetric_floor),
               LENS_TEST(test_resize_linear_half_pixel_and_align_corners_1d),
               LENS_TEST(test_resize_bilinear_align_corners_2d),
               LENS_TEST(test_resize_nearest_modes),
               LENS_TEST(test_resize_rejections),
               LENS_TEST(test_compute_rejects_outputs_that_disagree),
               LENS_TEST(test_threaded_paths_match_single_thread))
