/* Elementwise operators through their definitions: hand-computed values on awkward shapes,
 * the shared broadcasting loop against a naive reference (one thread and several), and the
 * error paths (attributes, dtypes, shapes, integer division by zero). */
#include <float.h>
#include <stdint.h>

#include "core/exec.h"
#include "core/threadpool.h"
#include "lens_test.h"
#include "ops/op.h"

LENS_OP_DECLARE(lens_op_add);
LENS_OP_DECLARE(lens_op_sub);
LENS_OP_DECLARE(lens_op_mul);
LENS_OP_DECLARE(lens_op_div);
LENS_OP_DECLARE(lens_op_pow);
LENS_OP_DECLARE(lens_op_max);
LENS_OP_DECLARE(lens_op_min);
LENS_OP_DECLARE(lens_op_equal);
LENS_OP_DECLARE(lens_op_greater);
LENS_OP_DECLARE(lens_op_less);
LENS_OP_DECLARE(lens_op_where);
LENS_OP_DECLARE(lens_op_not);
LENS_OP_DECLARE(lens_op_neg);
LENS_OP_DECLARE(lens_op_exp);
LENS_OP_DECLARE(lens_op_log);
LENS_OP_DECLARE(lens_op_sqrt);
LENS_OP_DECLARE(lens_op_sigmoid);
LENS_OP_DECLARE(lens_op_tanh);
LENS_OP_DECLARE(lens_op_relu);
LENS_OP_DECLARE(lens_op_leakyrelu);
LENS_OP_DECLARE(lens_op_hardsigmoid);
LENS_OP_DECLARE(lens_op_hardswish);
LENS_OP_DECLARE(lens_op_clip);
LENS_OP_DECLARE(lens_op_prelu);
LENS_OP_DECLARE(lens_op_cast);
LENS_OP_DECLARE(lens_op_identity);

/* ---- harness ------------------------------------------------------------------------------ */

#define MAX_IN 4

typedef struct op_call {
  const lens_op_def *def;
  int64_t opset;
  lens_attr attrs[4];
  int n_attrs;
  lens_value in[MAX_IN];
  int n_in;
  lens_value out;
  lens_exec_ctx *ctx; /* NULL: a single-threaded context */
} op_call;

static lens_value val(lens_dtype dtype, int rank, const int64_t *dims, const void *data) {
  lens_value v = {dtype, rank, {0}, (void *)data};
  for (int i = 0; i < rank; i++) v.dims[i] = dims[i];
  return v;
}

static lens_attr attr_f(const char *name, float f) {
  lens_attr a = {0};
  a.name = (char *)name;
  a.type = LENS_ATTR_FLOAT;
  a.f = f;
  return a;
}

static lens_attr attr_i(const char *name, int64_t i) {
  lens_attr a = {0};
  a.name = (char *)name;
  a.type = LENS_ATTR_INT;
  a.i = i;
  return a;
}

static lens_node node_of(op_call *c) {
  lens_node n = {0};
  n.name = "t";
  n.op_type = (char *)c->def->name;
  n.domain = "";
  n.def = c->def;
  n.opset = c->opset ? c->opset : 17;
  n.n_inputs = c->n_in;
  n.n_outputs = 1;
  n.n_attrs = c->n_attrs;
  n.attrs = c->attrs;
  return n;
}

/* prepare + infer + compute; on success c->out.data is malloc'd (free with done()). */
static lens_status *run(op_call *c) {
  lens_node node = node_of(c);
  lens_exec_ctx local = {0};
  lens_status *st = NULL;
  c->out.data = NULL;
  if (c->def->prepare) st = c->def->prepare(&node);
  if (!st) st = c->def->infer(&node, c->in, &c->out);
  if (!st) {
    int64_t n = lens_value_elements(&c->out);
    c->out.data = calloc((size_t)(n > 0 ? n : 1), 8);
    st = c->def->compute(&node, c->in, &c->out, c->ctx ? c->ctx : &local);
  }
  free(node.params);
  return st;
}

/* Only prepare + infer (shape and type checks). */
static lens_status *infer_only(op_call *c) {
  lens_node node = node_of(c);
  lens_status *st = c->def->prepare ? c->def->prepare(&node) : NULL;
  if (!st) st = c->def->infer(&node, c->in, &c->out);
  free(node.params);
  return st;
}

static void done(op_call *c) {
  free(c->out.data);
  c->out.data = NULL;
}

static op_call call2(const lens_op_def *def, lens_value a, lens_value b) {
  op_call c = {0};
  c.def = def;
  c.in[0] = a;
  c.in[1] = b;
  c.n_in = 2;
  return c;
}

static op_call call1(const lens_op_def *def, lens_value a) {
  op_call c = {0};
  c.def = def;
  c.in[0] = a;
  c.n_in = 1;
  return c;
}

static bool same_shape(const lens_value *v, int rank, const int64_t *dims) {
  if (v->rank != rank) return false;
  for (int i = 0; i < rank; i++)
    if (v->dims[i] != dims[i]) return false;
  return true;
}

#define F32(c, i) (((const float *)(c).out.data)[i])
#define I64(c, i) (((const int64_t *)(c).out.data)[i])
#define I32(c, i) (((const int32_t *)(c).out.data)[i])
#define U8(c, i) (((const uint8_t *)(c).out.data)[i])
#define I8(c, i) (((const int8_t *)(c).out.data)[i])

/* Offset of output element o in an input broadcast to out_dims (right-aligned). */
static int64_t naive_offset(int64_t o, int out_rank, const int64_t *out_dims, int rank,
                            const int64_t *dims) {
  int64_t off = 0, stride = 1;
  for (int d = out_rank - 1; d >= 0; d--) {
    int64_t i = o % out_dims[d];
    o /= out_dims[d];
    int k = d - (out_rank - rank);
    if (k < 0) continue;
    if (dims[k] != 1) off += i * stride;
    stride *= dims[k];
  }
  return off;
}

static float pattern(int64_t i) { return (float)((i * 37) % 23) - 11.0f + 0.25f; }

/* ---- binary arithmetic -------------------------------------------------------------------- */

static void test_add_equal_shapes_prime_length(void) {
  float a[7], b[7];
  for (int i = 0; i < 7; i++) a[i] = (float)i, b[i] = 0.5f * (float)i;
  op_call c = call2(&lens_op_add, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){7}, a),
                    val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){7}, b));
  CHECK_OK(run(&c));
  CHECK(c.out.dtype == LENS_DTYPE_FLOAT32 && same_shape(&c.out, 1, (int64_t[]){7}));
  for (int i = 0; i < 7; i++) CHECK_NEAR(F32(c, i), 1.5 * i, 0);
  done(&c);
}

static void test_add_scalar_and_rank0(void) {
  float a[5] = {1, 2, 3, 4, 5}, s = 10;
  op_call c = call2(&lens_op_add, val(LENS_DTYPE_FLOAT32, 0, NULL, &s),
                    val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){5}, a));
  CHECK_OK(run(&c));
  CHECK(same_shape(&c.out, 1, (int64_t[]){5}));
  for (int i = 0; i < 5; i++) CHECK_NEAR(F32(c, i), 11 + i, 0);
  done(&c);
  c = call2(&lens_op_mul, val(LENS_DTYPE_FLOAT32, 0, NULL, &s),
            val(LENS_DTYPE_FLOAT32, 0, NULL, &s));
  CHECK_OK(run(&c));
  CHECK(c.out.rank == 0);
  CHECK_NEAR(F32(c, 0), 100, 0);
  done(&c);
}

static void test_sub_broadcasts_row_against_column(void) {
  float col[3] = {10, 20, 30}, row[5] = {1, 2, 3, 4, 5};
  op_call c = call2(&lens_op_sub, val(LENS_DTYPE_FLOAT32, 2, (int64_t[]){3, 1}, col),
                    val(LENS_DTYPE_FLOAT32, 2, (int64_t[]){1, 5}, row));
  CHECK_OK(run(&c));
  CHECK(same_shape(&c.out, 2, (int64_t[]){3, 5}));
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 5; j++) CHECK_NEAR(F32(c, i * 5 + j), col[i] - row[j], 0);
  done(&c);
}

/* Sub is not commutative, so a swapped operand shows up. */
static void check_sub_against_naive(int ra, const int64_t *da, int rb, const int64_t *db,
                                    lens_exec_ctx *ctx) {
  int64_t na = 1, nb = 1;
  for (int i = 0; i < ra; i++) na *= da[i];
  for (int i = 0; i < rb; i++) nb *= db[i];
  float *a = malloc(sizeof(float) * (size_t)(na ? na : 1));
  float *b = malloc(sizeof(float) * (size_t)(nb ? nb : 1));
  for (int64_t i = 0; i < na; i++) a[i] = pattern(i);
  for (int64_t i = 0; i < nb; i++) b[i] = pattern(i + 5) * 3.0f;
  op_call c = call2(&lens_op_sub, val(LENS_DTYPE_FLOAT32, ra, da, a),
                    val(LENS_DTYPE_FLOAT32, rb, db, b));
  c.ctx = ctx;
  CHECK_OK(run(&c));
  int64_t n = lens_value_elements(&c.out);
  int bad = 0;
  for (int64_t o = 0; o < n; o++) {
    float x = a[naive_offset(o, c.out.rank, c.out.dims, ra, da)];
    float y = b[naive_offset(o, c.out.rank, c.out.dims, rb, db)];
    if (F32(c, o) != x - y) bad++;
  }
  CHECK_MSG(bad == 0, "%d of %lld elements differ (ranks %d, %d)", bad, (long long)n, ra, rb);
  done(&c);
  free(a);
  free(b);
}

static void test_broadcast_matches_naive_on_awkward_shapes(void) {
  check_sub_against_naive(3, (int64_t[]){2, 1, 3}, 3, (int64_t[]){1, 4, 1}, NULL);
  check_sub_against_naive(1, (int64_t[]){1}, 1, (int64_t[]){7}, NULL);
  check_sub_against_naive(4, (int64_t[]){5, 1, 1, 3}, 2, (int64_t[]){2, 3}, NULL);
  check_sub_against_naive(3, (int64_t[]){2, 3, 4}, 1, (int64_t[]){4}, NULL);
  check_sub_against_naive(3, (int64_t[]){2, 3, 4}, 2, (int64_t[]){3, 1}, NULL);
  check_sub_against_naive(4, (int64_t[]){1, 3, 1, 5}, 4, (int64_t[]){2, 1, 7, 5}, NULL);
  check_sub_against_naive(2, (int64_t[]){0, 3}, 2, (int64_t[]){1, 3}, NULL);
  check_sub_against_naive(5, (int64_t[]){1, 1, 1, 1, 1}, 0, NULL, NULL);
  check_sub_against_naive(6, (int64_t[]){2, 1, 3, 1, 2, 1}, 6, (int64_t[]){1, 2, 1, 3, 1, 2}, NULL);
}

static void test_broadcast_parallel_matches_naive(void) {
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(4, &pool));
  if (!pool) return;
  lens_exec_ctx ctx = {0};
  ctx.pool = pool;
  check_sub_against_naive(2, (int64_t[]){257, 131}, 1, (int64_t[]){131}, &ctx);
  check_sub_against_naive(3, (int64_t[]){61, 1, 67}, 2, (int64_t[]){13, 1}, &ctx);
  check_sub_against_naive(1, (int64_t[]){100003}, 1, (int64_t[]){100003}, &ctx);
  check_sub_against_naive(0, NULL, 1, (int64_t[]){40009}, &ctx);
  /* a division by zero in any chunk is reported */
  int64_t n = 70001;
  int64_t *x = malloc(sizeof(int64_t) * (size_t)n), *y = malloc(sizeof(int64_t) * (size_t)n);
  for (int64_t i = 0; i < n; i++) x[i] = i, y[i] = i == n - 3 ? 0 : 7;
  op_call c = call2(&lens_op_div, val(LENS_DTYPE_INT64, 1, &n, x), val(LENS_DTYPE_INT64, 1, &n, y));
  c.ctx = &ctx;
  CHECK_ERR(run(&c), LENS_ERR_RUNTIME, "division by zero");
  done(&c);
  y[n - 3] = 7;
  CHECK_OK(run(&c));
  CHECK(I64(c, n - 1) == (n - 1) / 7 && I64(c, 13) == 1);
  done(&c);
  free(x);
  free(y);
  lens_threadpool_free(pool);
}

static void test_integer_arithmetic_wraps(void) {
  int64_t a64[2] = {INT64_MAX, INT64_MIN}, b64[2] = {1, 1};
  op_call c = call2(&lens_op_add, val(LENS_DTYPE_INT64, 1, (int64_t[]){2}, a64),
                    val(LENS_DTYPE_INT64, 1, (int64_t[]){2}, b64));
  CHECK_OK(run(&c));
  CHECK(I64(c, 0) == INT64_MIN && I64(c, 1) == INT64_MIN + 1);
  done(&c);
  int32_t a32[3] = {INT32_MAX, -3, 46341}, b32 = 46341;
  c = call2(&lens_op_mul, val(LENS_DTYPE_INT32, 1, (int64_t[]){3}, a32),
            val(LENS_DTYPE_INT32, 0, NULL, &b32));
  CHECK_OK(run(&c));
  CHECK(I32(c, 0) == (int32_t)((uint32_t)INT32_MAX * 46341u));
  CHECK(I32(c, 1) == -139023);
  CHECK(I32(c, 2) == (int32_t)(46341u * 46341u));
  done(&c);
  uint8_t u[3] = {1, 250, 0}, v[3] = {2, 10, 0};
  c = call2(&lens_op_sub, val(LENS_DTYPE_UINT8, 1, (int64_t[]){3}, u),
            val(LENS_DTYPE_UINT8, 1, (int64_t[]){3}, v));
  CHECK_OK(run(&c));
  CHECK(U8(c, 0) == 255 && U8(c, 1) == 240 && U8(c, 2) == 0);
  done(&c);
  int8_t s[2] = {127, -128}, t = 1;
  c = call2(&lens_op_add, val(LENS_DTYPE_INT8, 1, (int64_t[]){2}, s),
            val(LENS_DTYPE_INT8, 0, NULL, &t));
  CHECK_OK(run(&c));
  CHECK(I8(c, 0) == -128 && I8(c, 1) == -127);
  done(&c);
}

static void test_div_integers_truncate_toward_zero(void) {
  int64_t a[6] = {7, -7, 7, -7, INT64_MIN, 5}, b[6] = {2, 2, -2, -2, -1, 9};
  op_call c = call2(&lens_op_div, val(LENS_DTYPE_INT64, 1, (int64_t[]){6}, a),
                    val(LENS_DTYPE_INT64, 1, (int64_t[]){6}, b));
  CHECK_OK(run(&c));
  CHECK(I64(c, 0) == 3 && I64(c, 1) == -3 && I64(c, 2) == -3 && I64(c, 3) == 3);
  CHECK(I64(c, 4) == INT64_MIN && I64(c, 5) == 0);
  done(&c);
  int32_t x[3] = {INT32_MIN, -9, 100}, y = -1;
  c = call2(&lens_op_div, val(LENS_DTYPE_INT32, 1, (int64_t[]){3}, x),
            val(LENS_DTYPE_INT32, 0, NULL, &y));
  CHECK_OK(run(&c));
  CHECK(I32(c, 0) == INT32_MIN && I32(c, 1) == 9 && I32(c, 2) == -100);
  done(&c);
  uint8_t p[2] = {255, 7}, q[2] = {16, 2};
  c = call2(&lens_op_div, val(LENS_DTYPE_UINT8, 1, (int64_t[]){2}, p),
            val(LENS_DTYPE_UINT8, 1, (int64_t[]){2}, q));
  CHECK_OK(run(&c));
  CHECK(U8(c, 0) == 15 && U8(c, 1) == 3);
  done(&c);
}

static void test_div_integer_by_zero_is_a_runtime_error(void) {
  int64_t a[3] = {1, 2, 3}, zero64 = 0;
  op_call c = call2(&lens_op_div, val(LENS_DTYPE_INT64, 1, (int64_t[]){3}, a),
                    val(LENS_DTYPE_INT64, 0, NULL, &zero64));
  CHECK_ERR(run(&c), LENS_ERR_RUNTIME, "division by zero");
  done(&c);
  int32_t x[2] = {INT32_MIN, 4}, y[2] = {-1, 0};
  c = call2(&lens_op_div, val(LENS_DTYPE_INT32, 1, (int64_t[]){2}, x),
            val(LENS_DTYPE_INT32, 1, (int64_t[]){2}, y));
  CHECK_ERR(run(&c), LENS_ERR_RUNTIME, "division by zero");
  done(&c);
  int8_t s = 0, t[1] = {5};
  c = call2(&lens_op_div, val(LENS_DTYPE_INT8, 1, (int64_t[]){1}, t),
            val(LENS_DTYPE_INT8, 0, NULL, &s));
  CHECK_ERR(run(&c), LENS_ERR_RUNTIME, "division by zero");
  done(&c);
  uint8_t u = 0, w[1] = {5};
  c = call2(&lens_op_div, val(LENS_DTYPE_UINT8, 1, (int64_t[]){1}, w),
            val(LENS_DTYPE_UINT8, 0, NULL, &u));
  CHECK_ERR(run(&c), LENS_ERR_RUNTIME, "division by zero");
  done(&c);
}

static void test_div_float_by_zero_follows_ieee(void) {
  float a[3] = {1, -1, 0}, z = 0;
  op_call c = call2(&lens_op_div, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, a),
                    val(LENS_DTYPE_FLOAT32, 0, NULL, &z));
  CHECK_OK(run(&c));
  CHECK(isinf(F32(c, 0)) && F32(c, 0) > 0 && isinf(F32(c, 1)) && F32(c, 1) < 0);
  CHECK(isnan(F32(c, 2)));
  done(&c);
}

static void test_pow_float_integer_and_mixed_types(void) {
  float b[4] = {2, -2, 9, 0}, e[4] = {10, 3, 0.5f, 0};
  op_call c = call2(&lens_op_pow, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){4}, b),
                    val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){4}, e));
  CHECK_OK(run(&c));
  CHECK_NEAR(F32(c, 0), 1024, 0);
  CHECK_NEAR(F32(c, 1), -8, 0);
  CHECK_NEAR(F32(c, 2), 3, 1e-6);
  CHECK_NEAR(F32(c, 3), 1, 0);
  done(&c);
  int64_t ie[2] = {2, -1};
  c = call2(&lens_op_pow, val(LENS_DTYPE_FLOAT32, 2, (int64_t[]){2, 1}, b),
            val(LENS_DTYPE_INT64, 1, (int64_t[]){2}, ie));
  CHECK_OK(run(&c));
  CHECK(c.out.dtype == LENS_DTYPE_FLOAT32 && same_shape(&c.out, 2, (int64_t[]){2, 2}));
  CHECK_NEAR(F32(c, 0), 4, 0);
  CHECK_NEAR(F32(c, 1), 0.5, 0);
  CHECK_NEAR(F32(c, 2), 4, 0);
  CHECK_NEAR(F32(c, 3), -0.5, 0);
  done(&c);
  int64_t ib[5] = {3, -3, 2, -1, 1}, ix[5] = {39, 3, -2, -3, -5};
  c = call2(&lens_op_pow, val(LENS_DTYPE_INT64, 1, (int64_t[]){5}, ib),
            val(LENS_DTYPE_INT64, 1, (int64_t[]){5}, ix));
  CHECK_OK(run(&c));
  CHECK(I64(c, 0) == 4052555153018976267LL); /* 3^39, beyond double's exact range */
  CHECK(I64(c, 1) == -27 && I64(c, 2) == 0 && I64(c, 3) == -1 && I64(c, 4) == 1);
  done(&c);
  int32_t i32b[2] = {2, 10};
  float fe = 0.5f;
  c = call2(&lens_op_pow, val(LENS_DTYPE_INT32, 1, (int64_t[]){2}, i32b),
            val(LENS_DTYPE_FLOAT32, 0, NULL, &fe));
  CHECK_OK(run(&c));
  CHECK(c.out.dtype == LENS_DTYPE_INT32 && I32(c, 0) == 1 && I32(c, 1) == 3);
  done(&c);
  int64_t zb = 0, ne = -1;
  c = call2(&lens_op_pow, val(LENS_DTYPE_INT64, 0, NULL, &zb), val(LENS_DTYPE_INT64, 0, NULL, &ne));
  CHECK_ERR(run(&c), LENS_ERR_RUNTIME, "negative power");
  done(&c);
  uint8_t ub = 2;
  c = call2(&lens_op_pow, val(LENS_DTYPE_UINT8, 0, NULL, &ub),
            val(LENS_DTYPE_FLOAT32, 0, NULL, &fe));
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "uint8 base");
  c = call2(&lens_op_pow, val(LENS_DTYPE_FLOAT32, 0, NULL, &fe),
            val(LENS_DTYPE_BOOL, 0, NULL, &ub));
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "bool exponent");
}

/* A scalar exponent of 2 squares: the same bits as powf, specials included; a broadcast
 * that grows X still goes through powf. */
static void test_pow_by_two_squares_exactly(void) {
  float b[9] = {3.0f, -1.5f, 1e-30f, 1e20f, -0.0f, INFINITY, -INFINITY, NAN, 0.1f}, two = 2.0f;
  op_call c = call2(&lens_op_pow, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){9}, b),
                    val(LENS_DTYPE_FLOAT32, 0, NULL, &two));
  CHECK_OK(run(&c));
  for (int i = 0; i < 9; i++) {
    float want = powf(b[i], 2.0f), got = F32(c, i);
    CHECK_MSG(isnan(want) ? isnan(got) : memcmp(&want, &got, sizeof got) == 0,
              "%g^2: %g, powf %g", (double)b[i], (double)got, (double)want);
  }
  done(&c);
  float two2[2] = {2.0f, 2.0f};
  c = call2(&lens_op_pow, val(LENS_DTYPE_FLOAT32, 2, (int64_t[]){3, 1}, b),
            val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){2}, two2));
  CHECK_OK(run(&c));
  CHECK(same_shape(&c.out, 2, (int64_t[]){3, 2}));
  CHECK_NEAR(F32(c, 0), 9, 0);
  CHECK_NEAR(F32(c, 3), 2.25, 0);
  done(&c);
}

/* ---- variadic Max / Min ------------------------------------------------------------------- */

static void test_max_min_fold_three_broadcast_inputs(void) {
  float a[3] = {1, 5, 3}, b[2] = {4, 0}, s = 2;
  op_call c = {0};
  c.def = &lens_op_max;
  c.in[0] = val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, a);
  c.in[1] = val(LENS_DTYPE_FLOAT32, 2, (int64_t[]){2, 1}, b);
  c.in[2] = val(LENS_DTYPE_FLOAT32, 0, NULL, &s);
  c.n_in = 3;
  CHECK_OK(run(&c));
  CHECK(same_shape(&c.out, 2, (int64_t[]){2, 3}));
  const float want_max[6] = {4, 5, 4, 2, 5, 3};
  for (int i = 0; i < 6; i++) CHECK_NEAR(F32(c, i), want_max[i], 0);
  done(&c);
  c.def = &lens_op_min;
  CHECK_OK(run(&c));
  const float want_min[6] = {1, 2, 2, 0, 0, 0};
  for (int i = 0; i < 6; i++) CHECK_NEAR(F32(c, i), want_min[i], 0);
  done(&c);
}

static void test_max_min_single_input_is_a_copy(void) {
  int32_t a[3] = {-1, 7, 3};
  op_call c = call1(&lens_op_min, val(LENS_DTYPE_INT32, 1, (int64_t[]){3}, a));
  CHECK_OK(run(&c));
  CHECK(I32(c, 0) == -1 && I32(c, 1) == 7 && I32(c, 2) == 3);
  done(&c);
}

static void test_max_min_propagate_nan_and_handle_ints(void) {
  float a[3] = {NAN, 1, 2}, b[3] = {0, NAN, 1};
  op_call c = call2(&lens_op_max, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, a),
                    val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, b));
  CHECK_OK(run(&c));
  CHECK(isnan(F32(c, 0)) && isnan(F32(c, 1)) && F32(c, 2) == 2);
  done(&c);
  c.def = &lens_op_min;
  CHECK_OK(run(&c));
  CHECK(isnan(F32(c, 0)) && isnan(F32(c, 1)) && F32(c, 2) == 1);
  done(&c);
  int64_t x[2] = {INT64_MIN, 5}, y[2] = {INT64_MAX, -5};
  c = call2(&lens_op_max, val(LENS_DTYPE_INT64, 1, (int64_t[]){2}, x),
            val(LENS_DTYPE_INT64, 1, (int64_t[]){2}, y));
  CHECK_OK(run(&c));
  CHECK(I64(c, 0) == INT64_MAX && I64(c, 1) == 5);
  done(&c);
  uint8_t u[2] = {200, 3}, v[2] = {100, 4};
  c = call2(&lens_op_min, val(LENS_DTYPE_UINT8, 1, (int64_t[]){2}, u),
            val(LENS_DTYPE_UINT8, 1, (int64_t[]){2}, v));
  CHECK_OK(run(&c));
  CHECK(U8(c, 0) == 100 && U8(c, 1) == 3);
  done(&c);
}

static void test_max_rejects_mixed_dtypes_and_missing_inputs(void) {
  float a = 1;
  int64_t b = 1;
  op_call c = call2(&lens_op_max, val(LENS_DTYPE_FLOAT32, 0, NULL, &a),
                    val(LENS_DTYPE_INT64, 0, NULL, &b));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "input 1 has dtype int64");
  c.in[1].dtype = LENS_DTYPE_UNDEFINED;
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "input 1 is missing");
}

/* ---- comparisons -------------------------------------------------------------------------- */

static void test_comparisons_give_bool_with_broadcast(void) {
  float a[4] = {1, 2, 3, NAN}, t = 2;
  op_call c = call2(&lens_op_greater, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){4}, a),
                    val(LENS_DTYPE_FLOAT32, 0, NULL, &t));
  CHECK_OK(run(&c));
  CHECK(c.out.dtype == LENS_DTYPE_BOOL);
  CHECK(U8(c, 0) == 0 && U8(c, 1) == 0 && U8(c, 2) == 1 && U8(c, 3) == 0);
  done(&c);
  c.def = &lens_op_less;
  CHECK_OK(run(&c));
  CHECK(U8(c, 0) == 1 && U8(c, 1) == 0 && U8(c, 2) == 0 && U8(c, 3) == 0);
  done(&c);
  c.def = &lens_op_equal;
  CHECK_OK(run(&c));
  CHECK(U8(c, 0) == 0 && U8(c, 1) == 1 && U8(c, 2) == 0 && U8(c, 3) == 0);
  done(&c);
  int64_t col[2] = {1, 3}, row[3] = {1, 2, 3};
  c = call2(&lens_op_less, val(LENS_DTYPE_INT64, 2, (int64_t[]){2, 1}, col),
            val(LENS_DTYPE_INT64, 1, (int64_t[]){3}, row));
  CHECK_OK(run(&c));
  CHECK(same_shape(&c.out, 2, (int64_t[]){2, 3}));
  const uint8_t want[6] = {0, 1, 1, 0, 0, 0};
  for (int i = 0; i < 6; i++) CHECK(U8(c, i) == want[i]);
  done(&c);
  int32_t p[2] = {-1, 5}, q[2] = {-1, 4};
  c = call2(&lens_op_equal, val(LENS_DTYPE_INT32, 1, (int64_t[]){2}, p),
            val(LENS_DTYPE_INT32, 1, (int64_t[]){2}, q));
  CHECK_OK(run(&c));
  CHECK(U8(c, 0) == 1 && U8(c, 1) == 0);
  done(&c);
}

static void test_equal_on_bool_and_greater_refuses_bool(void) {
  uint8_t a[3] = {1, 0, 2}, b[3] = {1, 1, 1};
  op_call c = call2(&lens_op_equal, val(LENS_DTYPE_BOOL, 1, (int64_t[]){3}, a),
                    val(LENS_DTYPE_BOOL, 1, (int64_t[]){3}, b));
  CHECK_OK(run(&c));
  CHECK(U8(c, 0) == 1 && U8(c, 1) == 0 && U8(c, 2) == 1);
  done(&c);
  c.def = &lens_op_greater;
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "bool inputs");
}

/* ---- Where -------------------------------------------------------------------------------- */

static void test_where_broadcasts_three_inputs(void) {
  uint8_t cond[2] = {1, 0};
  int64_t x[3] = {1, 2, 3}, y = -7;
  op_call c = {0};
  c.def = &lens_op_where;
  c.in[0] = val(LENS_DTYPE_BOOL, 2, (int64_t[]){2, 1}, cond);
  c.in[1] = val(LENS_DTYPE_INT64, 2, (int64_t[]){1, 3}, x);
  c.in[2] = val(LENS_DTYPE_INT64, 0, NULL, &y);
  c.n_in = 3;
  CHECK_OK(run(&c));
  CHECK(c.out.dtype == LENS_DTYPE_INT64 && same_shape(&c.out, 2, (int64_t[]){2, 3}));
  const int64_t want[6] = {1, 2, 3, -7, -7, -7};
  for (int i = 0; i < 6; i++) CHECK(I64(c, i) == want[i]);
  done(&c);
  uint16_t hx[2] = {0x3c00, 0x4000}, hy[2] = {0xbc00, 0xc000};
  uint8_t cond2[2] = {0, 1};
  c.in[0] = val(LENS_DTYPE_BOOL, 1, (int64_t[]){2}, cond2);
  c.in[1] = val(LENS_DTYPE_FLOAT16, 1, (int64_t[]){2}, hx);
  c.in[2] = val(LENS_DTYPE_FLOAT16, 1, (int64_t[]){2}, hy);
  CHECK_OK(run(&c));
  CHECK(((uint16_t *)c.out.data)[0] == 0xbc00 && ((uint16_t *)c.out.data)[1] == 0x4000);
  done(&c);
}

static void test_where_rejects_bad_types_and_shapes(void) {
  float cond = 1, x[2] = {0}, y[3] = {0};
  int64_t yi = 0;
  op_call c = {0};
  c.def = &lens_op_where;
  c.n_in = 3;
  c.in[0] = val(LENS_DTYPE_FLOAT32, 0, NULL, &cond);
  c.in[1] = val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){2}, x);
  c.in[2] = val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, y);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "condition must be bool");
  c.in[0].dtype = LENS_DTYPE_BOOL;
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "cannot be broadcast");
  c.in[2] = val(LENS_DTYPE_INT64, 0, NULL, &yi);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "X is float32 but Y is int64");
}

/* ---- unary math and activations ----------------------------------------------------------- */

static void test_unary_math_values(void) {
  float x[5] = {0, 1, -1, 4, 100};
  const int64_t d[1] = {5};
  op_call c = call1(&lens_op_exp, val(LENS_DTYPE_FLOAT32, 1, d, x));
  CHECK_OK(run(&c));
  CHECK_NEAR(F32(c, 0), 1, 0);
  CHECK_NEAR(F32(c, 1), M_E, 1e-6);
  CHECK_NEAR(F32(c, 2), 1 / M_E, 1e-7);
  CHECK(isinf(F32(c, 4)));
  done(&c);
  c.def = &lens_op_log;
  CHECK_OK(run(&c));
  CHECK(isinf(F32(c, 0)) && F32(c, 0) < 0);
  CHECK_NEAR(F32(c, 1), 0, 0);
  CHECK(isnan(F32(c, 2)));
  CHECK_NEAR(F32(c, 3), log(4.0), 1e-6);
  done(&c);
  c.def = &lens_op_sqrt;
  CHECK_OK(run(&c));
  CHECK(isnan(F32(c, 2)));
  CHECK_NEAR(F32(c, 3), 2, 0);
  CHECK_NEAR(F32(c, 4), 10, 0);
  done(&c);
  c.def = &lens_op_tanh;
  CHECK_OK(run(&c));
  CHECK_NEAR(F32(c, 1), tanh(1.0), 1e-6);
  CHECK_NEAR(F32(c, 4), 1, 0);
  done(&c);
  c.def = &lens_op_neg;
  CHECK_OK(run(&c));
  CHECK(F32(c, 1) == -1 && F32(c, 2) == 1);
  done(&c);
}

static void test_sigmoid_is_stable_at_extremes(void) {
  float x[5] = {0, 2, -2, 200, -200};
  op_call c = call1(&lens_op_sigmoid, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){5}, x));
  CHECK_OK(run(&c));
  CHECK_NEAR(F32(c, 0), 0.5, 0);
  CHECK_NEAR(F32(c, 1), 1 / (1 + exp(-2.0)), 1e-7);
  CHECK_NEAR(F32(c, 2), 1 / (1 + exp(2.0)), 1e-7);
  CHECK(F32(c, 3) == 1 && F32(c, 4) == 0);
  done(&c);
}

static void test_neg_not_relu_on_integers_and_bool(void) {
  int64_t a[3] = {INT64_MIN, -5, 6};
  op_call c = call1(&lens_op_neg, val(LENS_DTYPE_INT64, 1, (int64_t[]){3}, a));
  CHECK_OK(run(&c));
  CHECK(I64(c, 0) == INT64_MIN && I64(c, 1) == 5 && I64(c, 2) == -6);
  done(&c);
  c.def = &lens_op_relu;
  CHECK_OK(run(&c));
  CHECK(I64(c, 0) == 0 && I64(c, 1) == 0 && I64(c, 2) == 6);
  done(&c);
  int8_t s[2] = {-128, 127};
  c = call1(&lens_op_neg, val(LENS_DTYPE_INT8, 1, (int64_t[]){2}, s));
  CHECK_OK(run(&c));
  CHECK(I8(c, 0) == -128 && I8(c, 1) == -127);
  done(&c);
  uint8_t b[3] = {0, 1, 1};
  c = call1(&lens_op_not, val(LENS_DTYPE_BOOL, 1, (int64_t[]){3}, b));
  CHECK_OK(run(&c));
  CHECK(c.out.dtype == LENS_DTYPE_BOOL && U8(c, 0) == 1 && U8(c, 1) == 0 && U8(c, 2) == 0);
  done(&c);
  float f[1] = {1};
  c = call1(&lens_op_not, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){1}, f));
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "float32 inputs");
  c.def = &lens_op_exp;
  c.in[0] = val(LENS_DTYPE_INT64, 1, (int64_t[]){3}, a);
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "int64 inputs");
  c.def = &lens_op_neg;
  c.in[0] = val(LENS_DTYPE_UINT8, 1, (int64_t[]){3}, b);
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "uint8 inputs");
}

static void test_relu_keeps_nan_and_zeroes_negatives(void) {
  float x[4] = {-3, 0, 2.5f, NAN};
  op_call c = call1(&lens_op_relu, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){4}, x));
  CHECK_OK(run(&c));
  CHECK(F32(c, 0) == 0 && F32(c, 1) == 0 && F32(c, 2) == 2.5f && isnan(F32(c, 3)));
  done(&c);
}

static void test_leakyrelu_default_and_custom_alpha(void) {
  float x[3] = {-10, 0, 3};
  op_call c = call1(&lens_op_leakyrelu, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, x));
  CHECK_OK(run(&c));
  CHECK_NEAR(F32(c, 0), -0.1, 1e-6);
  CHECK_NEAR(F32(c, 2), 3, 0);
  done(&c);
  c.attrs[0] = attr_f("alpha", 0.5f);
  c.n_attrs = 1;
  CHECK_OK(run(&c));
  CHECK_NEAR(F32(c, 0), -5, 0);
  done(&c);
  c.attrs[0] = attr_i("alpha", 1);
  CHECK_ERR(run(&c), LENS_ERR_INVALID_MODEL, "'alpha' must be of type float");
  done(&c);
  c.attrs[0] = attr_f("beta", 1);
  CHECK_ERR(run(&c), LENS_ERR_UNSUPPORTED, "attribute 'beta'");
  done(&c);
}

static void test_hardsigmoid_and_hardswish(void) {
  float x[5] = {-4, -1, 0, 1, 4};
  op_call c = call1(&lens_op_hardsigmoid, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){5}, x));
  CHECK_OK(run(&c));
  const float want_default[5] = {0, 0.3f, 0.5f, 0.7f, 1};
  for (int i = 0; i < 5; i++) CHECK_NEAR(F32(c, i), want_default[i], 1e-6);
  done(&c);
  c.attrs[0] = attr_f("alpha", 0.5f);
  c.attrs[1] = attr_f("beta", 0.25f);
  c.n_attrs = 2;
  CHECK_OK(run(&c));
  const float want_custom[5] = {0, 0, 0.25f, 0.75f, 1};
  for (int i = 0; i < 5; i++) CHECK_NEAR(F32(c, i), want_custom[i], 1e-6);
  done(&c);
  c.attrs[1] = attr_i("beta", 0);
  CHECK_ERR(run(&c), LENS_ERR_INVALID_MODEL, "'beta' must be of type float");
  done(&c);
  c = call1(&lens_op_hardswish, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){5}, x));
  CHECK_OK(run(&c));
  const float want_swish[5] = {0, -1.0f / 3, 0, 2.0f / 3, 4};
  for (int i = 0; i < 5; i++) CHECK_NEAR(F32(c, i), want_swish[i], 1e-6);
  done(&c);
  c.attrs[0] = attr_f("alpha", 0.5f);
  c.n_attrs = 1;
  CHECK_ERR(run(&c), LENS_ERR_UNSUPPORTED, "attribute 'alpha'");
  done(&c);
}

/* ---- Clip --------------------------------------------------------------------------------- */

static void test_clip_opset6_attributes(void) {
  float x[5] = {-5, -1, 0, 1, 5};
  op_call c = call1(&lens_op_clip, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){5}, x));
  c.opset = 6;
  c.attrs[0] = attr_f("min", -1.5f);
  c.attrs[1] = attr_f("max", 0.5f);
  c.n_attrs = 2;
  CHECK_OK(run(&c));
  const float want[5] = {-1.5f, -1, 0, 0.5f, 0.5f};
  for (int i = 0; i < 5; i++) CHECK_NEAR(F32(c, i), want[i], 0);
  done(&c);
  c.n_attrs = 0; /* the whole float range */
  CHECK_OK(run(&c));
  for (int i = 0; i < 5; i++) CHECK_NEAR(F32(c, i), x[i], 0);
  done(&c);
  float lo = 0;
  c.in[1] = val(LENS_DTYPE_FLOAT32, 0, NULL, &lo);
  c.n_in = 2;
  CHECK_ERR(run(&c), LENS_ERR_INVALID_MODEL, "attributes before opset 11");
  done(&c);
  int64_t xi[1] = {3};
  c.n_in = 1;
  c.in[0] = val(LENS_DTYPE_INT64, 1, (int64_t[]){1}, xi);
  CHECK_ERR(run(&c), LENS_ERR_INVALID_MODEL, "must be float");
  done(&c);
}

static void test_clip_opset11_optional_inputs(void) {
  float x[5] = {-5, -1, 0, 1, NAN}, lo = -2, hi = 0.5f;
  op_call c = {0};
  c.def = &lens_op_clip;
  c.opset = 13;
  c.in[0] = val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){5}, x);
  c.in[1] = val(LENS_DTYPE_FLOAT32, 0, NULL, &lo);
  c.in[2] = val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){1}, &hi);
  c.n_in = 3;
  CHECK_OK(run(&c));
  CHECK(F32(c, 0) == -2 && F32(c, 1) == -1 && F32(c, 2) == 0 && F32(c, 3) == 0.5f);
  CHECK(isnan(F32(c, 4)));
  done(&c);
  c.in[1].dtype = LENS_DTYPE_UNDEFINED; /* max only */
  CHECK_OK(run(&c));
  CHECK(F32(c, 0) == -5 && F32(c, 3) == 0.5f);
  done(&c);
  c.n_in = 2; /* min only */
  c.in[1] = val(LENS_DTYPE_FLOAT32, 0, NULL, &lo);
  CHECK_OK(run(&c));
  CHECK(F32(c, 0) == -2 && F32(c, 3) == 1);
  done(&c);
  /* min > max: everything becomes max */
  float big = 3;
  c.n_in = 3;
  c.in[1] = val(LENS_DTYPE_FLOAT32, 0, NULL, &big);
  c.in[2] = val(LENS_DTYPE_FLOAT32, 0, NULL, &hi);
  CHECK_OK(run(&c));
  for (int i = 0; i < 5; i++) CHECK(F32(c, i) == 0.5f || (i == 4 && isnan(F32(c, i))));
  done(&c);
}

static void test_clip_integers(void) {
  int8_t x[4] = {-128, -3, 4, 127}, lo = -4, hi = 5;
  op_call c = {0};
  c.def = &lens_op_clip;
  c.opset = 12;
  c.in[0] = val(LENS_DTYPE_INT8, 1, (int64_t[]){4}, x);
  c.in[1] = val(LENS_DTYPE_INT8, 0, NULL, &lo);
  c.in[2] = val(LENS_DTYPE_INT8, 0, NULL, &hi);
  c.n_in = 3;
  CHECK_OK(run(&c));
  CHECK(I8(c, 0) == -4 && I8(c, 1) == -3 && I8(c, 2) == 4 && I8(c, 3) == 5);
  done(&c);
  int64_t y[2] = {INT64_MIN, INT64_MAX}, ymax = INT64_MAX - 1;
  c.in[0] = val(LENS_DTYPE_INT64, 1, (int64_t[]){2}, y);
  c.in[1].dtype = LENS_DTYPE_UNDEFINED;
  c.in[2] = val(LENS_DTYPE_INT64, 0, NULL, &ymax);
  CHECK_OK(run(&c));
  CHECK(I64(c, 0) == INT64_MIN && I64(c, 1) == INT64_MAX - 1);
  done(&c);
}

static void test_clip_rejects_bad_bounds(void) {
  float x[2] = {0, 1}, b2[2] = {0, 1};
  int64_t bi = 0;
  op_call c = call2(&lens_op_clip, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){2}, x),
                    val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){2}, b2));
  c.opset = 11;
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "min must be a scalar");
  c.in[1] = val(LENS_DTYPE_INT64, 0, NULL, &bi);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "min is int64");
  c.n_in = 1;
  c.attrs[0] = attr_f("min", 0);
  c.n_attrs = 1;
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "attribute 'min'");
}

/* ---- PRelu -------------------------------------------------------------------------------- */

static void test_prelu_slope_broadcasts_to_x(void) {
  float x[12], slope[3] = {0.5f, 2, -1};
  for (int i = 0; i < 12; i++) x[i] = (float)(i % 4) - 2;
  op_call c = call2(&lens_op_prelu, val(LENS_DTYPE_FLOAT32, 3, (int64_t[]){2, 3, 2}, x),
                    val(LENS_DTYPE_FLOAT32, 2, (int64_t[]){3, 1}, slope));
  CHECK_OK(run(&c));
  CHECK(same_shape(&c.out, 3, (int64_t[]){2, 3, 2}));
  for (int i = 0; i < 12; i++) {
    float s = slope[(i / 2) % 3];
    CHECK_NEAR(F32(c, i), x[i] < 0 ? s * x[i] : x[i], 0);
  }
  done(&c);
  float one = 0.25f;
  c.in[1] = val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){1}, &one);
  CHECK_OK(run(&c));
  CHECK_NEAR(F32(c, 0), -0.5, 0);
  done(&c);
  int32_t xi[3] = {-3, 0, 3}, si = 3;
  c = call2(&lens_op_prelu, val(LENS_DTYPE_INT32, 1, (int64_t[]){3}, xi),
            val(LENS_DTYPE_INT32, 0, NULL, &si));
  CHECK_OK(run(&c));
  CHECK(I32(c, 0) == -9 && I32(c, 1) == 0 && I32(c, 2) == 3);
  done(&c);
}

static void test_prelu_rejects_slope_that_grows_x(void) {
  float x[3] = {0}, s[6] = {0};
  op_call c = call2(&lens_op_prelu, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, x),
                    val(LENS_DTYPE_FLOAT32, 2, (int64_t[]){2, 3}, s));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "does not broadcast to input 0");
  c.in[0] = val(LENS_DTYPE_FLOAT32, 2, (int64_t[]){3, 1}, x);
  c.in[1] = val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, s);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "does not broadcast to input 0");
  c.in[1] = val(LENS_DTYPE_FLOAT32, 2, (int64_t[]){2, 1}, s);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "cannot be broadcast");
}

/* ---- Cast and Identity -------------------------------------------------------------------- */

static op_call cast_call(lens_value in, int64_t to) {
  op_call c = call1(&lens_op_cast, in);
  c.attrs[0] = attr_i("to", to);
  c.n_attrs = 1;
  return c;
}

static void test_cast_float_to_integers_truncates_and_saturates(void) {
  float x[7] = {2.9f, -2.9f, 1e10f, -1e10f, NAN, 300.0f, -0.5f};
  const int64_t d[1] = {7};
  op_call c = cast_call(val(LENS_DTYPE_FLOAT32, 1, d, x), LENS_DTYPE_INT32);
  CHECK_OK(run(&c));
  CHECK(c.out.dtype == LENS_DTYPE_INT32 && same_shape(&c.out, 1, d));
  CHECK(I32(c, 0) == 2 && I32(c, 1) == -2 && I32(c, 2) == INT32_MAX && I32(c, 3) == INT32_MIN);
  CHECK(I32(c, 4) == 0 && I32(c, 5) == 300 && I32(c, 6) == 0);
  done(&c);
  c = cast_call(val(LENS_DTYPE_FLOAT32, 1, d, x), LENS_DTYPE_UINT8);
  CHECK_OK(run(&c));
  CHECK(U8(c, 0) == 2 && U8(c, 1) == 0 && U8(c, 2) == 255 && U8(c, 5) == 255);
  done(&c);
  c = cast_call(val(LENS_DTYPE_FLOAT32, 1, d, x), LENS_DTYPE_INT64);
  CHECK_OK(run(&c));
  CHECK(I64(c, 2) == 10000000000LL && I64(c, 3) == -10000000000LL && I64(c, 4) == 0);
  done(&c);
  c = cast_call(val(LENS_DTYPE_FLOAT32, 1, d, x), LENS_DTYPE_BOOL);
  CHECK_OK(run(&c));
  CHECK(U8(c, 0) == 1 && U8(c, 4) == 1 && U8(c, 6) == 1);
  done(&c);
}

static void test_cast_between_integers_bool_and_half(void) {
  int64_t a[4] = {300, -1, 0, (int64_t)1 << 40};
  const int64_t d[1] = {4};
  op_call c = cast_call(val(LENS_DTYPE_INT64, 1, d, a), LENS_DTYPE_UINT8);
  CHECK_OK(run(&c));
  CHECK(U8(c, 0) == 44 && U8(c, 1) == 255 && U8(c, 2) == 0 && U8(c, 3) == 0);
  done(&c);
  c = cast_call(val(LENS_DTYPE_INT64, 1, d, a), LENS_DTYPE_INT8);
  CHECK_OK(run(&c));
  CHECK(I8(c, 0) == 44 && I8(c, 1) == -1);
  done(&c);
  c = cast_call(val(LENS_DTYPE_INT64, 1, d, a), LENS_DTYPE_BOOL);
  CHECK_OK(run(&c));
  CHECK(U8(c, 0) == 1 && U8(c, 1) == 1 && U8(c, 2) == 0 && U8(c, 3) == 1);
  done(&c);
  c = cast_call(val(LENS_DTYPE_INT64, 1, d, a), LENS_DTYPE_FLOAT32);
  CHECK_OK(run(&c));
  CHECK(F32(c, 0) == 300 && F32(c, 1) == -1 && F32(c, 3) == 1099511627776.0f);
  done(&c);
  uint8_t b[2] = {0, 1};
  c = cast_call(val(LENS_DTYPE_BOOL, 1, (int64_t[]){2}, b), LENS_DTYPE_FLOAT32);
  CHECK_OK(run(&c));
  CHECK(F32(c, 0) == 0 && F32(c, 1) == 1);
  done(&c);
  float f[3] = {1.0f, -2.5f, 65504.0f};
  c = cast_call(val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, f), LENS_DTYPE_FLOAT16);
  CHECK_OK(run(&c));
  const uint16_t *h = c.out.data;
  CHECK(h[0] == 0x3c00 && h[1] == 0xc100 && h[2] == 0x7bff);
  uint16_t hcopy[3] = {h[0], h[1], h[2]};
  done(&c);
  c = cast_call(val(LENS_DTYPE_FLOAT16, 1, (int64_t[]){3}, hcopy), LENS_DTYPE_INT32);
  CHECK_OK(run(&c));
  CHECK(I32(c, 0) == 1 && I32(c, 1) == -2 && I32(c, 2) == 65504);
  done(&c);
  int32_t same[2] = {5, -6};
  c = cast_call(val(LENS_DTYPE_INT32, 1, (int64_t[]){2}, same), LENS_DTYPE_INT32);
  CHECK_OK(run(&c));
  CHECK(I32(c, 0) == 5 && I32(c, 1) == -6);
  done(&c);
}

static void test_cast_rejects_unsupported_targets(void) {
  float x = 1;
  op_call c = cast_call(val(LENS_DTYPE_FLOAT32, 0, NULL, &x), 11);
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "double");
  c.attrs[0].i = 8;
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "string");
  c.attrs[0].i = 16;
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "bfloat16");
  c.attrs[0].i = 99;
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "not a known type");
  c.attrs[0] = attr_f("to", 1);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "must be of type int");
  c.n_attrs = 0;
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "'to' is missing");
  c.attrs[0] = attr_i("to", 1);
  c.attrs[1] = attr_i("saturate", 1);
  c.n_attrs = 2;
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "attribute 'saturate'");
}

static void test_identity_copies_any_dtype(void) {
  int64_t a[3] = {1, -2, 3};
  op_call c = call1(&lens_op_identity, val(LENS_DTYPE_INT64, 2, (int64_t[]){1, 3}, a));
  CHECK_OK(run(&c));
  CHECK(c.out.dtype == LENS_DTYPE_INT64 && same_shape(&c.out, 2, (int64_t[]){1, 3}));
  CHECK(I64(c, 0) == 1 && I64(c, 1) == -2 && I64(c, 2) == 3);
  done(&c);
  uint8_t b[1] = {1};
  c = call1(&lens_op_identity, val(LENS_DTYPE_BOOL, 0, NULL, b));
  CHECK_OK(run(&c));
  CHECK(c.out.rank == 0 && U8(c, 0) == 1);
  done(&c);
}

/* ---- common rejections, float16, FLOPs ---------------------------------------------------- */

static void test_binary_ops_reject_bad_inputs(void) {
  float a[3] = {0}, b[2] = {0};
  int64_t i = 0;
  uint8_t t = 1;
  op_call c = call2(&lens_op_add, val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, a),
                    val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){2}, b));
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "[3] and [2] cannot be broadcast");
  c.in[1] = val(LENS_DTYPE_INT64, 0, NULL, &i);
  CHECK_ERR(infer_only(&c), LENS_ERR_INVALID_MODEL, "input 1 has dtype int64 but input 0 has");
  c.in[0] = val(LENS_DTYPE_BOOL, 0, NULL, &t);
  c.in[1] = val(LENS_DTYPE_BOOL, 0, NULL, &t);
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "bool inputs are not supported");
  /* opset 1..6 broadcasting attributes are refused, not ignored */
  c.in[0] = val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, a);
  c.in[1] = val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, a);
  c.opset = 6;
  c.attrs[0] = attr_i("broadcast", 1);
  c.n_attrs = 1;
  CHECK_ERR(infer_only(&c), LENS_ERR_UNSUPPORTED, "attribute 'broadcast'");
}

static void test_float16_computes_through_float(void) {
  uint16_t a[3] = {0x3c00, 0x4000, 0xc200}, b = 0x3800; /* 1, 2, -3 and 0.5 */
  op_call c = call2(&lens_op_add, val(LENS_DTYPE_FLOAT16, 1, (int64_t[]){3}, a),
                    val(LENS_DTYPE_FLOAT16, 0, NULL, &b));
  CHECK_OK(run(&c));
  const uint16_t *h = c.out.data;
  CHECK(c.out.dtype == LENS_DTYPE_FLOAT16);
  CHECK(lens_half_to_float(h[0]) == 1.5f && lens_half_to_float(h[1]) == 2.5f &&
        lens_half_to_float(h[2]) == -2.5f);
  done(&c);
  c.def = &lens_op_greater;
  CHECK_OK(run(&c));
  CHECK(c.out.dtype == LENS_DTYPE_BOOL && U8(c, 0) == 1 && U8(c, 1) == 1 && U8(c, 2) == 0);
  done(&c);
  /* longer than one conversion block, with a broadcast operand */
  int64_t n = 600;
  uint16_t *x = malloc(sizeof(uint16_t) * (size_t)n);
  for (int64_t k = 0; k < n; k++) x[k] = lens_float_to_half((float)(k % 50) - 25);
  c = call1(&lens_op_relu, val(LENS_DTYPE_FLOAT16, 1, &n, x));
  CHECK_OK(run(&c));
  int bad = 0;
  for (int64_t k = 0; k < n; k++) {
    float want = (float)(k % 50) - 25;
    if (lens_half_to_float(((uint16_t *)c.out.data)[k]) != (want < 0 ? 0 : want)) bad++;
  }
  CHECK(bad == 0);
  done(&c);
  c = call2(&lens_op_mul, val(LENS_DTYPE_FLOAT16, 2, (int64_t[]){2, 300}, x),
            val(LENS_DTYPE_FLOAT16, 2, (int64_t[]){2, 1}, a));
  CHECK_OK(run(&c));
  CHECK(lens_half_to_float(((uint16_t *)c.out.data)[299]) == (float)(299 % 50) - 25);
  CHECK(lens_half_to_float(((uint16_t *)c.out.data)[300 + 7]) == 2 * ((float)(307 % 50) - 25));
  done(&c);
  free(x);
}

static void test_flops_count_float_elements(void) {
  float a[6] = {0};
  op_call c = call2(&lens_op_add, val(LENS_DTYPE_FLOAT32, 2, (int64_t[]){2, 3}, a),
                    val(LENS_DTYPE_FLOAT32, 1, (int64_t[]){3}, a));
  lens_node node = node_of(&c);
  CHECK_OK(lens_op_add.infer(&node, c.in, &c.out));
  CHECK_NEAR(lens_op_add.flops(&node, c.in, &c.out), 6, 0);
  int64_t ints[6] = {0};
  c.in[0] = val(LENS_DTYPE_INT64, 2, (int64_t[]){2, 3}, ints);
  c.in[1] = val(LENS_DTYPE_INT64, 1, (int64_t[]){3}, ints);
  CHECK_NEAR(lens_op_add.flops(&node, c.in, &c.out), 0, 0);
}

LENS_TEST_MAIN(LENS_TEST(test_add_equal_shapes_prime_length),
               LENS_TEST(test_add_scalar_and_rank0),
               LENS_TEST(test_sub_broadcasts_row_against_column),
               LENS_TEST(test_broadcast_matches_naive_on_awkward_shapes),
               LENS_TEST(test_broadcast_parallel_matches_naive),
               LENS_TEST(test_integer_arithmetic_wraps),
               LENS_TEST(test_div_integers_truncate_toward_zero),
               LENS_TEST(test_div_integer_by_zero_is_a_runtime_error),
               LENS_TEST(test_div_float_by_zero_follows_ieee),
               LENS_TEST(test_pow_float_integer_and_mixed_types),
               LENS_TEST(test_pow_by_two_squares_exactly),
               LENS_TEST(test_max_min_fold_three_broadcast_inputs),
               LENS_TEST(test_max_min_single_input_is_a_copy),
               LENS_TEST(test_max_min_propagate_nan_and_handle_ints),
               LENS_TEST(test_max_rejects_mixed_dtypes_and_missing_inputs),
               LENS_TEST(test_comparisons_give_bool_with_broadcast),
               LENS_TEST(test_equal_on_bool_and_greater_refuses_bool),
               LENS_TEST(test_where_broadcasts_three_inputs),
               LENS_TEST(test_where_rejects_bad_types_and_shapes),
               LENS_TEST(test_unary_math_values),
               LENS_TEST(test_sigmoid_is_stable_at_extremes),
               LENS_TEST(test_neg_not_relu_on_integers_and_bool),
               LENS_TEST(test_relu_keeps_nan_and_zeroes_negatives),
               LENS_TEST(test_leakyrelu_default_and_custom_alpha),
               LENS_TEST(test_hardsigmoid_and_hardswish),
               LENS_TEST(test_clip_opset6_attributes),
               LENS_TEST(test_clip_opset11_optional_inputs),
               LENS_TEST(test_clip_integers),
               LENS_TEST(test_clip_rejects_bad_bounds),
               LENS_TEST(test_prelu_slope_broadcasts_to_x),
               LENS_TEST(test_prelu_rejects_slope_that_grows_x),
               LENS_TEST(test_cast_float_to_integers_truncates_and_saturates),
               LENS_TEST(test_cast_between_integers_bool_and_half),
               LENS_TEST(test_cast_rejects_unsupported_targets),
               LENS_TEST(test_identity_copies_any_dtype),
               LENS_TEST(test_binary_ops_reject_bad_inputs),
               LENS_TEST(test_float16_computes_through_float),
               LENS_TEST(test_flops_count_float_elements))
