/* The engine's public API end to end on small models built here with protobuf-c: loading,
 * shape binding, folding, dynamic shapes, memory planning, concurrency, errors. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lens_test.h"
#include "onnx.pb-c.h"

/* ---- a tiny model builder --------------------------------------------------------------- */

#define MAXN 32

typedef struct builder {
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
  Onnx__NodeProto nodes[MAXN], *node_ptrs[MAXN];
  Onnx__ValueInfoProto inputs[MAXN], *input_ptrs[MAXN], outputs[MAXN], *output_ptrs[MAXN];
  Onnx__TypeProto types[2 * MAXN];
  Onnx__TypeProto__Tensor ttypes[2 * MAXN];
  Onnx__TensorShapeProto shapes[2 * MAXN];
  Onnx__TensorShapeProto__Dimension dims[2 * MAXN][LENS_MAX_RANK], *dim_ptrs[2 * MAXN][LENS_MAX_RANK];
  Onnx__TensorProto inits[MAXN], *init_ptrs[MAXN];
  Onnx__AttributeProto attrs[MAXN], *attr_ptrs[MAXN][4];
  int n_types, n_attrs;
} builder;

static void b_init(builder *b, int64_t opset) {
  memset(b, 0, sizeof *b);
  onnx__model_proto__init(&b->model);
  onnx__graph_proto__init(&b->graph);
  onnx__operator_set_id_proto__init(&b->opset);
  b->opset.domain = "";
  b->opset.has_version = 1;
  b->opset.version = opset;
  b->opsets[0] = &b->opset;
  b->model.n_opset_import = 1;
  b->model.opset_import = b->opsets;
  b->model.has_ir_version = 1;
  b->model.ir_version = 8;
  b->model.graph = &b->graph;
  b->graph.name = "g";
  b->graph.node = b->node_ptrs;
  b->graph.input = b->input_ptrs;
  b->graph.output = b->output_ptrs;
  b->graph.initializer = b->init_ptrs;
}

/* dims: -1 with a param name from params (may be NULL) */
static Onnx__TypeProto *b_type(builder *b, int32_t elem, int rank, const int64_t *dims,
                               const char *const *params) {
  int i = b->n_types++;
  onnx__type_proto__init(&b->types[i]);
  onnx__type_proto__tensor__init(&b->ttypes[i]);
  onnx__tensor_shape_proto__init(&b->shapes[i]);
  b->types[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  b->types[i].tensor_type = &b->ttypes[i];
  b->ttypes[i].has_elem_type = 1;
  b->ttypes[i].elem_type = elem;
  b->ttypes[i].shape = &b->shapes[i];
  b->shapes[i].n_dim = (size_t)rank;
  b->shapes[i].dim = b->dim_ptrs[i];
  for (int d = 0; d < rank; d++) {
    Onnx__TensorShapeProto__Dimension *dim = &b->dims[i][d];
    onnx__tensor_shape_proto__dimension__init(dim);
    if (dims[d] >= 0) {
      dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      dim->dim_value = dims[d];
    } else if (params && params[d]) {
      dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      dim->dim_param = (char *)params[d];
    }
    b->dim_ptrs[i][d] = dim;
  }
  return &b->types[i];
}

static void b_input(builder *b, const char *name, int32_t elem, int rank, const int64_t *dims,
                    const char *const *params) {
  Onnx__ValueInfoProto *v = &b->inputs[b->graph.n_input];
  onnx__value_info_proto__init(v);
  v->name = (char *)name;
  v->type = b_type(b, elem, rank, dims, params);
  b->input_ptrs[b->graph.n_input++] = v;
}

static void b_output(builder *b, const char *name) {
  Onnx__ValueInfoProto *v = &b->outputs[b->graph.n_output];
  onnx__value_info_proto__init(v);
  v->name = (char *)name;
  b->output_ptrs[b->graph.n_output++] = v;
}

/* A new initializer of the given type and shape; its data is set by the caller. */
static Onnx__TensorProto *b_initializer(builder *b, const char *name, lens_dtype type,
                                        int rank, int64_t *dims) {
  Onnx__TensorProto *t = &b->inits[b->graph.n_initializer];
  onnx__tensor_proto__init(t);
  t->name = (char *)name;
  t->has_data_type = 1;
  t->data_type = type;
  t->n_dims = (size_t)rank;
  t->dims = dims;
  b->init_ptrs[b->graph.n_initializer++] = t;
  return t;
}

static void b_init_f32(builder *b, const char *name, int rank, int64_t *dims, float *data,
                       size_t n) {
  Onnx__TensorProto *t = b_initializer(b, name, LENS_DTYPE_FLOAT32, rank, dims);
  t->n_float_data = n;
  t->float_data = data;
}

static void b_init_i64(builder *b, const char *name, int rank, int64_t *dims, int64_t *data,
                       size_t n) {
  Onnx__TensorProto *t = b_initializer(b, name, LENS_DTYPE_INT64, rank, dims);
  t->n_int64_data = n;
  t->int64_data = data;
}

static Onnx__NodeProto *b_node(builder *b, const char *op, const char *name, int n_in,
                               const char **in, int n_out, const char **out) {
  Onnx__NodeProto *n = &b->nodes[b->graph.n_node];
  onnx__node_proto__init(n);
  n->op_type = (char *)op;
  n->name = (char *)name;
  n->n_input = (size_t)n_in;
  n->input = (char **)in;
  n->n_output = (size_t)n_out;
  n->output = (char **)out;
  b->node_ptrs[b->graph.n_node++] = n;
  return n;
}

/* A new attribute of node n, which must be the node added last. */
static Onnx__AttributeProto *b_attr(builder *b, Onnx__NodeProto *n, const char *name,
                                    Onnx__AttributeProto__AttributeType type) {
  Onnx__AttributeProto *a = &b->attrs[b->n_attrs++];
  onnx__attribute_proto__init(a);
  a->name = (char *)name;
  a->has_type = 1;
  a->type = type;
  int k = (int)n->n_attribute++;
  b->attr_ptrs[b->graph.n_node - 1][k] = a;
  n->attribute = b->attr_ptrs[b->graph.n_node - 1];
  return a;
}

static void b_attr_int(builder *b, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = b_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

static void b_attr_float(builder *b, Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *a = b_attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = v;
}

static uint8_t *b_pack(builder *b, size_t *size) {
  *size = onnx__model_proto__get_packed_size(&b->model);
  uint8_t *buf = malloc(*size);
  onnx__model_proto__pack(&b->model, buf);
  return buf;
}

static lens_model *b_load(builder *b) {
  size_t size;
  uint8_t *buf = b_pack(b, &size);
  lens_model *m = NULL;
  CHECK_OK(lens_model_load_memory(buf, size, NULL, &m));
  free(buf);
  return m;
}

static lens_status *b_try_load(builder *b, lens_model **m) {
  size_t size;
  uint8_t *buf = b_pack(b, &size);
  lens_status *st = lens_model_load_memory(buf, size, NULL, m);
  free(buf);
  return st;
}

static lens_tensor f32_tensor(float *data, int rank, const int64_t *dims) {
  lens_tensor t = {LENS_DTYPE_FLOAT32, rank, {0}, data, 4};
  for (int i = 0; i < rank; i++) {
    t.dims[i] = dims[i];
    t.nbytes *= (size_t)dims[i];
  }
  return t;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_add_with_initializer_runs_and_describes_io(void) {
  builder b;
  b_init(&b, 13);
  int64_t xd[2] = {2, 3};
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 2, xd, NULL);
  int64_t wd[1] = {3};
  float w[3] = {10, 20, 30};
  b_init_f32(&b, "w", 1, wd, w, 3);
  const char *in[] = {"x", "w"}, *out[] = {"y"};
  b_node(&b, "Add", "add0", 2, in, 1, out);
  b_output(&b, "y");
  lens_model *m = b_load(&b);
  if (!m) return;
  CHECK(lens_model_input_count(m) == 1);
  CHECK(lens_model_output_count(m) == 1);
  CHECK(strcmp(lens_model_input(m, 0)->name, "x") == 0);
  CHECK(lens_model_input(m, 0)->dims[1] == 3);
  CHECK(lens_model_input(m, 1) == NULL);
  CHECK(lens_model_find_output(m, "y") == 0);
  CHECK(lens_model_opset(m) == 13);
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, NULL, &s));
  float x[6] = {1, 2, 3, 4, 5, 6};
  lens_tensor t = f32_tensor(x, 2, xd), o;
  CHECK_OK(lens_session_run(s, &t, 1, &o, 1));
  CHECK(o.rank == 2 && o.dims[0] == 2 && o.dims[1] == 3 && o.dtype == LENS_DTYPE_FLOAT32);
  const float expect[6] = {11, 22, 33, 14, 25, 36};
  for (int i = 0; i < 6 && o.data; i++) CHECK_NEAR(((float *)o.data)[i], expect[i], 0);
  lens_session_free(s);
  lens_model_free(m);
}

/* An input the session reads in place: right results whether or not the caller's buffer
 * is aligned for that (copied otherwise), in any order of runs, and never written. */
static void test_inputs_are_read_in_place_or_copied(void) {
  builder b;
  b_init(&b, 13);
  int64_t xd[2] = {3, 5};
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 2, xd, NULL);
  const char *relu_in[] = {"x"}, *relu_out[] = {"r"}, *add_in[] = {"r", "x"}, *add_out[] = {"y"};
  b_node(&b, "Relu", "relu", 1, relu_in, 1, relu_out);
  b_node(&b, "Add", "add", 2, add_in, 1, add_out);
  b_output(&b, "y");
  lens_model *m = b_load(&b);
  if (!m) return;
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, NULL, &s));
  float x[15], kept[15];
  unsigned char shifted[15 * sizeof(float) + 2];
  for (int round = 0; s && round < 4; round++) {
    for (int i = 0; i < 15; i++) x[i] = (float)((i * 7 + round * 3) % 11) - 5.0f;
    memcpy(kept, x, sizeof x);
    lens_tensor t = f32_tensor(x, 2, xd), o;
    if (round % 2 == 1) { /* not aligned for a float: copied (and the last buffer idle) */
      memcpy(shifted + 2, x, sizeof x);
      t.data = shifted + 2;
      for (int i = 0; i < 15; i++) x[i] = 99.0f;
    }
    CHECK_OK(lens_session_run(s, &t, 1, &o, 1));
    CHECK(o.data != t.data);
    for (int i = 0; i < 15 && o.data; i++)
      CHECK_NEAR(((float *)o.data)[i], (kept[i] > 0 ? kept[i] : 0) + kept[i], 0);
    CHECK(memcmp(t.data, kept, sizeof x) == 0);
    for (int i = 0; round % 2 == 1 && i < 15; i++) CHECK(x[i] == 99.0f);
  }
  lens_session_free(s);
  lens_model_free(m);
}

static void test_symbolic_batch_must_be_bound(void) {
  builder b;
  b_init(&b, 13);
  int64_t xd[2] = {-1, 4};
  const char *params[2] = {"batch", NULL};
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 2, xd, params);
  const char *in[] = {"x"}, *out[] = {"y"};
  b_node(&b, "Relu", "relu0", 1, in, 1, out);
  b_output(&b, "y");
  lens_model *m = b_load(&b);
  if (!m) return;
  CHECK(lens_model_input(m, 0)->dims[0] == -1);
  CHECK(strcmp(lens_model_input(m, 0)->dim_params[0], "batch") == 0);
  lens_session *s = NULL;
  CHECK_ERR(lens_session_create(m, NULL, &s), LENS_ERR_INVALID_ARGUMENT, "'batch'");
  CHECK(s == NULL);
  lens_session_options o;
  lens_session_options_init(&o);
  lens_dim_binding bind = {"batch", 3};
  o.dim_bindings = &bind;
  o.n_dim_bindings = 1;
  CHECK_OK(lens_session_create(m, &o, &s));
  if (!s) goto out;
  CHECK(lens_session_input(s, 0)->dims[0] == 3);
  CHECK(lens_session_output(s, 0)->dims[0] == 3 && lens_session_output(s, 0)->dims[1] == 4);
  float x[12];
  for (int i = 0; i < 12; i++) x[i] = (float)(i - 6);
  int64_t bd[2] = {3, 4};
  lens_tensor t = f32_tensor(x, 2, bd), y;
  CHECK_OK(lens_session_run(s, &t, 1, &y, 1));
  for (int i = 0; i < 12; i++) CHECK_NEAR(((float *)y.data)[i], x[i] > 0 ? x[i] : 0, 0);
  /* a run with another shape than the session's is refused, naming the input */
  int64_t wrong[2] = {2, 4};
  lens_tensor t2 = f32_tensor(x, 2, wrong);
  CHECK_ERR(lens_session_run(s, &t2, 1, &y, 1), LENS_ERR_INVALID_ARGUMENT, "'x'");
  lens_session_free(s);
out:
  lens_model_free(m);
}

static void test_shape_chain_is_folded(void) {
  /* y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])) : a torch-style flatten */
  builder b;
  b_init(&b, 13);
  int64_t xd[4] = {2, 3, 4, 5};
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 4, xd, NULL);
  int64_t sd[1] = {1}, zero_d[1] = {1};
  int64_t idx0[1] = {0}, minus1[1] = {-1}, axes0[1] = {0};
  b_init_i64(&b, "idx", 0, NULL, idx0, 1);
  b_init_i64(&b, "minus1", 1, sd, minus1, 1);
  b_init_i64(&b, "axes", 1, zero_d, axes0, 1);
  const char *i1[] = {"x"}, *o1[] = {"shape"};
  b_node(&b, "Shape", "shape", 1, i1, 1, o1);
  const char *i2[] = {"shape", "idx"}, *o2[] = {"n"};
  b_node(&b, "Gather", "gather", 2, i2, 1, o2);
  const char *i3[] = {"n", "axes"}, *o3[] = {"n1"};
  b_node(&b, "Unsqueeze", "unsq", 2, i3, 1, o3);
  const char *i4[] = {"n1", "minus1"}, *o4[] = {"newshape"};
  Onnx__NodeProto *concat = b_node(&b, "Concat", "concat", 2, i4, 1, o4);
  b_attr_int(&b, concat, "axis", 0);
  const char *i5[] = {"x", "newshape"}, *o5[] = {"y"};
  b_node(&b, "Reshape", "reshape", 2, i5, 1, o5);
  b_output(&b, "y");
  lens_model *m = b_load(&b);
  if (!m) return;
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, NULL, &s));
  if (s) {
    CHECK_MSG(lens_session_node_count(s) == 1, "%zu nodes left", lens_session_node_count(s));
    lens_node_profile p;
    CHECK_OK(lens_session_node_profile(s, 0, &p));
    CHECK(strcmp(p.op_type, "Reshape") == 0);
    CHECK(lens_session_output(s, 0)->rank == 2 && lens_session_output(s, 0)->dims[1] == 60);
    float x[120];
    for (int i = 0; i < 120; i++) x[i] = (float)i;
    lens_tensor t = f32_tensor(x, 4, xd), y;
    CHECK_OK(lens_session_run(s, &t, 1, &y, 1));
    CHECK(y.rank == 2 && y.dims[0] == 2 && y.dims[1] == 60);
    CHECK(y.data && ((float *)y.data)[119] == 119.0f);
  }
  lens_session_free(s);
  lens_model_free(m);
}

static void test_data_dependent_shape_runs_dynamic(void) {
  builder b;
  b_init(&b, 13);
  int64_t xd[2] = {2, 6}, sd[1] = {2};
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 2, xd, NULL);
  b_input(&b, "shape", LENS_DTYPE_INT64, 1, sd, NULL);
  const char *in[] = {"x", "shape"}, *out[] = {"r"};
  b_node(&b, "Reshape", "reshape", 2, in, 1, out);
  const char *in2[] = {"r"}, *out2[] = {"y"};
  b_node(&b, "Relu", "relu", 1, in2, 1, out2);
  b_output(&b, "y");
  lens_model *m = b_load(&b);
  if (!m) return;
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, NULL, &s));
  if (s) {
    CHECK(lens_session_output(s, 0)->rank == -1); /* depends on the value of 'shape' */
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)(i % 2 ? i : -i);
    int64_t shapes[3][2] = {{3, 4}, {12, 1}, {4, -1}};
    for (int r = 0; r < 3; r++) {
      lens_tensor in_t[2] = {f32_tensor(x, 2, xd),
                             {LENS_DTYPE_INT64, 1, {2}, shapes[r], sizeof shapes[r]}};
      lens_tensor y;
      CHECK_OK(lens_session_run(s, in_t, 2, &y, 1));
      int64_t want1 = shapes[r][1] < 0 ? 3 : shapes[r][1];
      CHECK(y.rank == 2 && y.dims[0] == shapes[r][0] && y.dims[1] == want1);
      for (int i = 0; i < 12 && y.data; i++) CHECK(((float *)y.data)[i] == (x[i] > 0 ? x[i] : 0));
    }
    int64_t bad[2] = {5, 5};
    lens_tensor in_bad[2] = {f32_tensor(x, 2, xd), {LENS_DTYPE_INT64, 1, {2}, bad, sizeof bad}};
    lens_tensor y;
    CHECK_ERR(lens_session_run(s, in_bad, 2, &y, 1), LENS_ERR_INVALID_MODEL, "'reshape'");
  }
  lens_session_free(s);
  lens_model_free(m);
}

static builder chain_builder;

/* x -> Relu -> Sigmoid -> Relu ... (n nodes) */
static lens_model *relu_chain(int n, int64_t size) {
  static char names[MAXN][16];
  static const char *ins[MAXN][1], *outs[MAXN][1];
  builder *b = &chain_builder;
  b_init(b, 13);
  int64_t xd[1] = {size};
  b_input(b, "x", LENS_DTYPE_FLOAT32, 1, xd, NULL);
  for (int i = 0; i < n; i++) {
    snprintf(names[i], sizeof names[i], "t%d", i);
    ins[i][0] = i ? names[i - 1] : "x";
    outs[i][0] = names[i];
    b_node(b, i % 2 ? "Sigmoid" : "Relu", NULL, 1, ins[i], 1, outs[i]);
  }
  b_output(b, names[n - 1]);
  return b_load(b);
}

static void test_arena_reuses_memory_by_liveness(void) {
  const int64_t size = 100000;
  lens_model *m = relu_chain(12, size);
  if (!m) return;
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, NULL, &s));
  if (s) {
    size_t one = (size_t)size * 4;
    /* input, two ping-pong buffers and the output at most, not 13 tensors */
    CHECK_MSG(lens_session_arena_bytes(s) <= 4 * one + 256, "arena %zu bytes",
              lens_session_arena_bytes(s));
    CHECK(lens_session_arena_bytes(s) >= 2 * one);
    CHECK(lens_session_node_count(s) == 12);
  }
  lens_session_free(s);
  lens_model_free(m);
}

/* A run of under 100 MFLOP uses one thread whatever the options ask (12 Relu/Sigmoid over
 * 100000 values); a 512 x 512 x 512 MatMul (268 MFLOP) uses the two asked for. */
static void test_small_runs_use_one_thread(void) {
  lens_session_options o;
  lens_session_options_init(&o);
  o.threads = 2;
  lens_model *m = relu_chain(12, 100000);
  lens_session *s = NULL;
  if (m) {
    CHECK_OK(lens_session_create(m, &o, &s));
    CHECK(s && lens_session_threads(s) == 1);
    lens_session_free(s);
    lens_model_free(m);
  }
  static float w[512 * 512];
  for (int i = 0; i < 512 * 512; i++) w[i] = (float)(i % 7) * 0.25f - 0.75f;
  builder b;
  b_init(&b, 13);
  int64_t xd[2] = {512, 512}, wd[2] = {512, 512};
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 2, xd, NULL);
  b_init_f32(&b, "W", 2, wd, w, 512 * 512);
  const char *in[] = {"x", "W"}, *out[] = {"y"};
  b_node(&b, "MatMul", "mm", 2, in, 1, out);
  b_output(&b, "y");
  m = b_load(&b);
  if (!m) return;
  s = NULL;
  CHECK_OK(lens_session_create(m, &o, &s));
  CHECK(s && lens_session_threads(s) == 2);
  lens_session_free(s);
  o.threads = 1;
  s = NULL;
  CHECK_OK(lens_session_create(m, &o, &s));
  CHECK(s && lens_session_threads(s) == 1);
  lens_session_free(s);
  lens_model_free(m);
}

typedef struct thread_job {
  lens_session *session;
  int bad;
} thread_job;

static void *run_many(void *arg) {
  thread_job *job = arg;
  float x[257];
  int64_t d[1] = {257};
  for (int iter = 0; iter < 200; iter++) {
    for (int i = 0; i < 257; i++) x[i] = (float)((i + iter) % 7) - 3.0f;
    lens_tensor t = f32_tensor(x, 1, d), y;
    lens_status *st = lens_session_run(job->session, &t, 1, &y, 1);
    if (st) {
      job->bad++;
      lens_status_free(st);
      continue;
    }
    for (int i = 0; i < 257; i++) {
      /* chain of 3: relu, sigmoid, relu */
      float r = x[i] > 0 ? x[i] : 0;
      float sg = 1.0f / (1.0f + expf(-r));
      if (fabsf(((float *)y.data)[i] - sg) > 1e-6f) job->bad++;
    }
  }
  return NULL;
}

static void test_sessions_run_concurrently(void) {
  lens_model *m = relu_chain(3, 257);
  if (!m) return;
  lens_session *s[3] = {NULL, NULL, NULL};
  lens_session_options o;
  lens_session_options_init(&o);
  o.threads = 2;
  for (int i = 0; i < 3; i++) CHECK_OK(lens_session_create(m, &o, &s[i]));
  /* the model may go before its sessions */
  lens_model_free(m);
  pthread_t th[3];
  thread_job jobs[3];
  for (int i = 0; i < 3; i++) {
    jobs[i].session = s[i];
    jobs[i].bad = 0;
    if (s[i]) pthread_create(&th[i], NULL, run_many, &jobs[i]);
  }
  for (int i = 0; i < 3; i++)
    if (s[i]) {
      pthread_join(th[i], NULL);
      CHECK(jobs[i].bad == 0);
    }
  for (int i = 0; i < 3; i++) lens_session_free(s[i]);
}

/* Conv 3x3 (8 -> 16) + Relu + Conv 1x1 (16 -> 4) on an input of symbolic batch N: the
 * convolutions' weights are packed at session creation. */
static lens_model *conv_pair(void) {
  static float w1[16 * 8 * 9], b1[16], w2[4 * 16];
  for (int i = 0; i < 16 * 8 * 9; i++) w1[i] = (float)((i * 37) % 11) * 0.1f - 0.5f;
  for (int i = 0; i < 16; i++) b1[i] = (float)(i % 5) * 0.1f - 0.2f;
  for (int i = 0; i < 4 * 16; i++) w2[i] = (float)((i * 13) % 7) * 0.2f - 0.6f;
  builder b;
  b_init(&b, 13);
  int64_t xd[4] = {-1, 8, 12, 12}, w1d[4] = {16, 8, 3, 3}, b1d[1] = {16}, w2d[4] = {4, 16, 1, 1};
  static const char *params[4] = {"N", NULL, NULL, NULL};
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 4, xd, params);
  b_init_f32(&b, "W1", 4, w1d, w1, 16 * 8 * 9);
  b_init_f32(&b, "B1", 1, b1d, b1, 16);
  b_init_f32(&b, "W2", 4, w2d, w2, 4 * 16);
  static const char *in1[] = {"x", "W1", "B1"}, *out1[] = {"h"}, *in2[] = {"h"}, *out2[] = {"r"},
                    *in3[] = {"r", "W2"}, *out3[] = {"y"};
  b_node(&b, "Conv", "conv1", 3, in1, 1, out1);
  b_node(&b, "Relu", "relu1", 1, in2, 1, out2);
  b_node(&b, "Conv", "conv2", 2, in3, 1, out3);
  b_output(&b, "y");
  return b_load(&b);
}

/* Floats of conv_pair's output for conv_pair_input. */
#define CONV_PAIR_OUT (2 * 4 * 10 * 10)

/* The input every conv_pair run takes (batch 2), built once, on the calling thread. */
static lens_tensor conv_pair_input(void) {
  static float x[2 * 8 * 12 * 12];
  for (int i = 0; i < 2 * 8 * 12 * 12; i++) x[i] = (float)((i * 29) % 17) * 0.125f - 1.0f;
  int64_t d[4] = {2, 8, 12, 12};
  return f32_tensor(x, 4, d);
}

static void run_conv_pair(lens_session *s, const lens_tensor *in, float *y_out) {
  lens_tensor y;
  memset(y_out, 0xff, sizeof(float) * CONV_PAIR_OUT);
  lens_status *st = lens_session_run(s, in, 1, &y, 1);
  CHECK(st == NULL);
  lens_status_free(st);
  if (!st) memcpy(y_out, y.data, sizeof(float) * CONV_PAIR_OUT);
}

typedef struct pair_job {
  lens_session *session;
  const lens_tensor *input;
  const float *expect;
  int bad;
} pair_job;

/* Runs a conv_pair session 50 times, counting runs that fail or differ from expect (no CHECK
 * off the main thread). */
static void *run_pair_many(void *arg) {
  pair_job *job = arg;
  for (int iter = 0; iter < 50; iter++) {
    lens_tensor y;
    lens_status *st = lens_session_run(job->session, job->input, 1, &y, 1);
    if (st || memcmp(y.data, job->expect, sizeof(float) * CONV_PAIR_OUT) != 0) job->bad++;
    lens_status_free(st);
  }
  return NULL;
}

static void test_sessions_share_prepared_weights(void) {
  lens_model *m = conv_pair(), *other = relu_chain(2, 16);
  if (!m || !other) goto out_models;
  lens_session_options o;
  lens_session_options_init(&o);
  lens_dim_binding n2 = {"N", 2};
  o.dim_bindings = &n2;
  o.n_dim_bindings = 1;
  o.threads = 2;
  lens_session *own = NULL, *shared = NULL, *alone = NULL;
  CHECK_OK(lens_session_create(m, &o, &own));
  CHECK_OK(lens_session_create(m, &o, &alone));
  if (!own || !alone) goto out;
  o.share_weights_with = own;
  o.threads = 1;
  CHECK_OK(lens_session_create(m, &o, &shared));
  if (!shared) goto out;
  static float ya[CONV_PAIR_OUT], yb[CONV_PAIR_OUT], yc[CONV_PAIR_OUT];
  lens_tensor x = conv_pair_input();
  run_conv_pair(alone, &x, ya);
  run_conv_pair(own, &x, yb);
  run_conv_pair(shared, &x, yc);
  CHECK(memcmp(ya, yb, sizeof ya) == 0);
  CHECK(memcmp(ya, yc, sizeof ya) == 0);
  /* both at once, on one copy of the weights */
  pair_job jobs[2] = {{own, &x, ya, 0}, {shared, &x, ya, 0}};
  pthread_t th[2];
  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, run_pair_many, &jobs[i]);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  CHECK(jobs[0].bad == 0 && jobs[1].bad == 0);
  /* the session whose weights are shared may go first: they stay while one uses them */
  lens_session_free(own);
  own = NULL;
  memset(yc, 0, sizeof yc);
  run_conv_pair(shared, &x, yc);
  CHECK(memcmp(ya, yc, sizeof ya) == 0);
  /* and they can be shared on from a session that shares them */
  lens_session *third = NULL;
  o.share_weights_with = shared;
  CHECK_OK(lens_session_create(m, &o, &third));
  if (third) {
    memset(yc, 0, sizeof yc);
    run_conv_pair(third, &x, yc);
    CHECK(memcmp(ya, yc, sizeof ya) == 0);
    lens_session_free(third);
  }
  /* only the same model with the same bound shapes */
  lens_session *bad = NULL;
  CHECK_ERR(lens_session_create(other, &o, &bad), LENS_ERR_INVALID_ARGUMENT, "another model");
  CHECK(bad == NULL);
  lens_dim_binding n3 = {"N", 3};
  o.dim_bindings = &n3;
  CHECK_ERR(lens_session_create(m, &o, &bad), LENS_ERR_INVALID_ARGUMENT, "'x'");
  CHECK(bad == NULL);
out:
  lens_session_free(own);
  lens_session_free(shared);
  lens_session_free(alone);
out_models:
  lens_model_free(m);
  lens_model_free(other);
}

static void test_profile_records_kernels_and_time(void) {
  lens_model *m = relu_chain(4, 4096);
  if (!m) return;
  lens_session_options o;
  lens_session_options_init(&o);
  o.profile = true;
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, &o, &s));
  if (s) {
    float x[4096] = {0};
    int64_t d[1] = {4096};
    lens_tensor t = f32_tensor(x, 1, d), y;
    for (int i = 0; i < 3; i++) CHECK_OK(lens_session_run(s, &t, 1, &y, 1));
    lens_node_profile p;
    CHECK_OK(lens_session_node_profile(s, 1, &p));
    CHECK(strcmp(p.op_type, "Sigmoid") == 0);
    CHECK(strcmp(p.node_name, "Sigmoid_1") == 0); /* unnamed nodes get stable names */
    CHECK(p.runs == 3);
    CHECK(p.kernel && p.kernel[0]);
    CHECK(strcmp(p.precision, "fp32") == 0);
    CHECK_ERR(lens_session_node_profile(s, 99, &p), LENS_ERR_INVALID_ARGUMENT, "99");
  }
  lens_session_free(s);
  lens_model_free(m);
}

static void test_rejects_old_opset_and_unknown_ops(void) {
  builder b;
  b_init(&b, 6);
  int64_t xd[1] = {4};
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 1, xd, NULL);
  const char *in[] = {"x"}, *out[] = {"y"};
  b_node(&b, "Relu", "r", 1, in, 1, out);
  b_output(&b, "y");
  lens_model *m = NULL;
  CHECK_ERR(b_try_load(&b, &m), LENS_ERR_UNSUPPORTED, "opset 6");
  b.opset.version = 13;
  b.nodes[0].op_type = "NoSuchOp";
  CHECK_ERR(b_try_load(&b, &m), LENS_ERR_UNSUPPORTED, "NoSuchOp");
  CHECK(m == NULL);
}

static void test_device_and_thread_options_are_checked(void) {
  lens_model *m = relu_chain(1, 8);
  if (!m) return;
  lens_session_options o;
  lens_session_options_init(&o);
  o.device = "tpu";
  lens_session *s = NULL;
  CHECK_ERR(lens_session_create(m, &o, &s), LENS_ERR_UNSUPPORTED, "'tpu'");
  o.device = "cpu";
  o.threads = 100000;
  CHECK_ERR(lens_session_create(m, &o, &s), LENS_ERR_INVALID_ARGUMENT, "threads");
  lens_input_shape wrong = {"nope", 1, NULL};
  o.threads = 1;
  o.input_shapes = &wrong;
  o.n_input_shapes = 1;
  CHECK_ERR(lens_session_create(m, &o, &s), LENS_ERR_INVALID_ARGUMENT, "'nope'");
  CHECK(s == NULL);
  lens_model_free(m);
}

static void test_tensor_pb_roundtrip(void) {
  char path[] = "/tmp/lens_test_tensorXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  close(fd);
  int64_t data[5] = {1, -2, 3, INT64_MAX, INT64_MIN};
  lens_tensor t = {LENS_DTYPE_INT64, 2, {1, 5}, data, sizeof data}, back;
  CHECK_OK(lens_tensor_save_pb(path, &t, "ints"));
  char *name = NULL;
  CHECK_OK(lens_tensor_load_pb(path, &back, &name));
  CHECK(name && strcmp(name, "ints") == 0);
  CHECK(back.dtype == LENS_DTYPE_INT64 && back.rank == 2 && back.dims[1] == 5);
  CHECK(back.data && memcmp(back.data, data, sizeof data) == 0);
  free(name);
  lens_tensor_free(&back);
  CHECK_ERR(lens_tensor_load_pb("/nonexistent/x.pb", &back, NULL), LENS_ERR_IO, "x.pb");
  unlink(path);
}

static void test_half_conversion_rounds_to_nearest_even(void) {
  CHECK(lens_float_to_half(1.0f) == 0x3c00);
  CHECK(lens_float_to_half(-2.0f) == 0xc000);
  CHECK(lens_float_to_half(65504.0f) == 0x7bff);
  CHECK(lens_float_to_half(1e6f) == 0x7c00);
  CHECK(lens_float_to_half(5.96046448e-8f) == 0x0001); /* smallest subnormal */
  CHECK(lens_float_to_half(1.0f + 1.0f / 2048) == 0x3c00); /* tie -> even */
  CHECK(lens_half_to_float(0x3555) > 0.333f && lens_half_to_float(0x3555) < 0.3334f);
  CHECK(lens_half_to_float(0x0001) == 5.96046448e-8f);
  for (uint32_t h = 0; h < 0x7c00; h++) CHECK(lens_float_to_half(lens_half_to_float((uint16_t)h)) == h);
}

static void test_analysis_counts_parameters_and_records_fusion(void) {
  builder b;
  b_init(&b, 13);
  int64_t xd[2] = {4, 8}, wd[2] = {8, 5}, bd[1] = {5};
  static float w[40], bias[5];
  for (int i = 0; i < 40; i++) w[i] = (float)i / 40;
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 2, xd, NULL);
  b_init_f32(&b, "W", 2, wd, w, 40);
  b_init_f32(&b, "B", 1, bd, bias, 5);
  const char *in[] = {"x", "W", "B"}, *out[] = {"h"};
  b_node(&b, "Gemm", "fc", 3, in, 1, out);
  const char *in2[] = {"h"}, *out2[] = {"y"};
  b_node(&b, "Relu", "act", 1, in2, 1, out2);
  b_output(&b, "y");
  lens_model *m = b_load(&b);
  if (!m) return;
  lens_model_analysis a;
  CHECK_OK(lens_model_analyze(m, NULL, &a));
  CHECK(a.parameters == 45);
  CHECK(a.weight_bytes == 45 * 4);
  CHECK(a.n_nodes == 2 && a.n_folded == 0);
  CHECK(a.flops >= 2.0 * 4 * 8 * 5); /* the multiply-adds at least */
  CHECK(a.min_activation_bytes <= a.max_activation_bytes);
  CHECK(a.max_activation_bytes >= (4 * 8 + 4 * 5 + 4 * 5) * 4);
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, NULL, &s));
  if (s) {
    lens_node_profile p;
    CHECK_OK(lens_session_node_profile(s, 0, &p));
    CHECK(p.fused_into && strcmp(p.fused_into, "act") == 0);
    CHECK(p.parameters == 45);
    CHECK(p.n_inputs == 3 && p.inputs[1].dims[0] == 8 && p.inputs[1].dims[1] == 5);
    CHECK(p.n_outputs == 1 && strcmp(p.outputs[0].name, "h") == 0 && p.outputs[0].dims[1] == 5);
    CHECK_OK(lens_session_node_profile(s, 1, &p));
    CHECK(p.fused_into == NULL); /* y is a graph output */
  }
  lens_session_free(s);
  lens_model_free(m);
}

static void test_batchnorm_after_conv_is_folded_into_it(void) {
  builder b;
  b_init(&b, 13);
  int64_t xd[4] = {1, 2, 2, 2}, wd[4] = {2, 2, 1, 1}, cd[1] = {2};
  static float w[4] = {1, 2, -1, 0.5f}, cb[2] = {0.5f, -1};
  static float scale[2] = {2, 0.5f}, shift[2] = {1, -2}, mean[2] = {0.25f, 3}, var[2] = {4, 0.25f};
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 4, xd, NULL);
  b_init_f32(&b, "W", 4, wd, w, 4);
  b_init_f32(&b, "CB", 1, cd, cb, 2);
  b_init_f32(&b, "scale", 1, cd, scale, 2);
  b_init_f32(&b, "shift", 1, cd, shift, 2);
  b_init_f32(&b, "mean", 1, cd, mean, 2);
  b_init_f32(&b, "var", 1, cd, var, 2);
  const char *in[] = {"x", "W", "CB"}, *out[] = {"c"};
  b_node(&b, "Conv", "conv", 3, in, 1, out);
  const char *in2[] = {"c", "scale", "shift", "mean", "var"}, *out2[] = {"y"};
  b_node(&b, "BatchNormalization", "bn", 5, in2, 1, out2);
  b_output(&b, "y");
  lens_model *m = b_load(&b);
  if (!m) return;
  CHECK(lens_model_node_count(m) == 1);
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, NULL, &s));
  if (s) {
    lens_node_profile p;
    CHECK_OK(lens_session_node_profile(s, 0, &p));
    CHECK(lens_session_node_count(s) == 1 && strcmp(p.op_type, "Conv") == 0);
    float x[8] = {1, 2, 3, 4, -1, 0, 1, 2};
    lens_tensor t = f32_tensor(x, 4, xd), y;
    CHECK_OK(lens_session_run(s, &t, 1, &y, 1));
    for (int o = 0; o < 2 && y.data; o++)
      for (int i = 0; i < 4; i++) {
        double conv = w[o * 2] * x[i] + w[o * 2 + 1] * x[4 + i] + cb[o];
        double want = (conv - mean[o]) / sqrt(var[o] + 1e-5) * scale[o] + shift[o];
        CHECK_NEAR(((float *)y.data)[o * 4 + i], want, 1e-5);
      }
  }
  lens_session_free(s);
  lens_model_free(m);
}

static void test_paddle_affine_and_hardswish_chains_are_rewritten(void) {
  /* y = hardswish(conv(x) * c + d), written the way Paddle exports it */
  builder b;
  b_init(&b, 13);
  int64_t xd[4] = {1, 2, 2, 2}, wd[4] = {2, 2, 1, 1}, cd[4] = {1, 2, 1, 1};
  static float w[4] = {1, 2, -1, 0.5f}, c[2] = {2, -3}, d = 0.5f, three = 3, zero = 0, six = 6;
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 4, xd, NULL);
  b_init_f32(&b, "W", 4, wd, w, 4);
  b_init_f32(&b, "c", 4, cd, c, 2);
  b_init_f32(&b, "d", 0, NULL, &d, 1);
  b_init_f32(&b, "three", 0, NULL, &three, 1);
  b_init_f32(&b, "zero", 0, NULL, &zero, 1);
  b_init_f32(&b, "six", 0, NULL, &six, 1);
  const char *i1[] = {"x", "W"}, *o1[] = {"conv"};
  b_node(&b, "Conv", "conv", 2, i1, 1, o1);
  const char *i2[] = {"conv", "c"}, *o2[] = {"scaled"};
  b_node(&b, "Mul", "scale", 2, i2, 1, o2);
  const char *i3[] = {"d", "scaled"}, *o3[] = {"a"};
  b_node(&b, "Add", "shift", 2, i3, 1, o3);
  const char *i4[] = {"a", "three"}, *o4[] = {"a3"};
  b_node(&b, "Add", "plus3", 2, i4, 1, o4);
  const char *i5[] = {"a3", "zero", "six"}, *o5[] = {"clipped"};
  b_node(&b, "Clip", "clip", 3, i5, 1, o5);
  const char *i6[] = {"a", "clipped"}, *o6[] = {"prod"};
  b_node(&b, "Mul", "times", 2, i6, 1, o6);
  const char *i7[] = {"prod", "six"}, *o7[] = {"y"};
  b_node(&b, "Div", "div6", 2, i7, 1, o7);
  b_output(&b, "y");
  lens_model *m = b_load(&b);
  if (!m) return;
  CHECK_MSG(lens_model_node_count(m) == 2, "%zu nodes", lens_model_node_count(m));
  lens_session_options o;
  lens_session_options_init(&o);
  o.reference_only = true;
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, &o, &s));
  if (s) {
    lens_node_profile p;
    CHECK_OK(lens_session_node_profile(s, 1, &p));
    CHECK(strcmp(p.op_type, "HardSwish") == 0);
    float x[8] = {1, 2, 3, 4, -1, 0, 1, 2};
    lens_tensor t = f32_tensor(x, 4, xd), y;
    CHECK_OK(lens_session_run(s, &t, 1, &y, 1));
    for (int ch = 0; ch < 2 && y.data; ch++)
      for (int i = 0; i < 4; i++) {
        double a = (w[ch * 2] * x[i] + w[ch * 2 + 1] * x[4 + i]) * c[ch] + d;
        double g = a + 3 < 0 ? 0 : a + 3 > 6 ? 6 : a + 3;
        CHECK_NEAR(((float *)y.data)[ch * 4 + i], a * g / 6, 1e-5);
      }
  }
  lens_session_free(s);
  lens_model_free(m);
}

static void test_mul_by_hardsigmoid_of_itself_becomes_hardswish(void) {
  /* y = conv(x) * HardSigmoid(conv(x), alpha 1/6), the way torchvision exports Hardswish;
   * z = x * HardSigmoid(x) with the default alpha 0.2 stays as it is */
  builder b;
  b_init(&b, 13);
  int64_t xd[4] = {1, 2, 2, 2}, wd[4] = {2, 2, 1, 1};
  static float w[4] = {3, 2, -1, 4.5f};
  b_input(&b, "x", LENS_DTYPE_FLOAT32, 4, xd, NULL);
  b_init_f32(&b, "W", 4, wd, w, 4);
  const char *i1[] = {"x", "W"}, *o1[] = {"conv"};
  b_node(&b, "Conv", "conv", 2, i1, 1, o1);
  const char *i2[] = {"conv"}, *o2[] = {"gate"};
  b_attr_float(&b, b_node(&b, "HardSigmoid", "gate", 1, i2, 1, o2), "alpha", 1.0f / 6.0f);
  const char *i3[] = {"gate", "conv"}, *o3[] = {"y"};
  b_node(&b, "Mul", "times", 2, i3, 1, o3);
  const char *i4[] = {"x"}, *o4[] = {"gate2"};
  b_node(&b, "HardSigmoid", "gate2", 1, i4, 1, o4);
  const char *i5[] = {"x", "gate2"}, *o5[] = {"z"};
  b_node(&b, "Mul", "times2", 2, i5, 1, o5);
  b_output(&b, "y");
  b_output(&b, "z");
  lens_model *m = b_load(&b);
  if (!m) return;
  CHECK_MSG(lens_model_node_count(m) == 4, "%zu nodes", lens_model_node_count(m));
  lens_session_options o;
  lens_session_options_init(&o);
  o.reference_only = true;
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, &o, &s));
  if (s) {
    int hardswish = 0, hardsigmoid = 0;
    for (size_t i = 0; i < lens_session_node_count(s); i++) {
      lens_node_profile p;
      CHECK_OK(lens_session_node_profile(s, i, &p));
      hardswish += strcmp(p.op_type, "HardSwish") == 0 && strcmp(p.node_name, "times") == 0;
      hardsigmoid += strcmp(p.op_type, "HardSigmoid") == 0 && strcmp(p.node_name, "gate2") == 0;
    }
    CHECK(hardswish == 1 && hardsigmoid == 1);
    float x[8] = {1, 2, 3, 4, -1, 0, 1, 2};
    lens_tensor t = f32_tensor(x, 4, xd), y[2];
    CHECK_OK(lens_session_run(s, &t, 1, y, 2));
    for (int ch = 0; ch < 2 && y[0].data; ch++)
      for (int i = 0; i < 4; i++) {
        double a = w[ch * 2] * x[i] + w[ch * 2 + 1] * x[4 + i];
        double g = a / 6 + 0.5 < 0 ? 0 : a / 6 + 0.5 > 1 ? 1 : a / 6 + 0.5;
        CHECK_NEAR(((float *)y[0].data)[ch * 4 + i], a * g, 1e-5);
      }
    for (int i = 0; i < 8 && y[1].data; i++) {
      double g = 0.2 * x[i] + 0.5 < 0 ? 0 : 0.2 * x[i] + 0.5 > 1 ? 1 : 0.2 * x[i] + 0.5;
      CHECK_NEAR(((float *)y[1].data)[i], x[i] * g, 1e-6);
    }
  }
  lens_session_free(s);
  lens_model_free(m);
}

/* Relu(x) and Sigmoid(Relu(x)) concatenated along axis 1, then Neg: with a batch of 1 the
 * two are slices of the Concat's output and the Concat copies nothing; with a batch of 2
 * they are not, and it runs as before. Either way the values are the same. */
static void test_concat_of_slices_runs_in_place(void) {
  for (int64_t batch = 1; batch <= 2; batch++) {
    builder b;
    b_init(&b, 13);
    int64_t xd[3] = {batch, 3, 5};
    b_input(&b, "x", LENS_DTYPE_FLOAT32, 3, xd, NULL);
    const char *i1[] = {"x"}, *o1[] = {"r"};
    b_node(&b, "Relu", "relu", 1, i1, 1, o1);
    const char *i2[] = {"r"}, *o2[] = {"sg"};
    b_node(&b, "Sigmoid", "sigmoid", 1, i2, 1, o2);
    const char *i3[] = {"r", "sg"}, *o3[] = {"cat"};
    b_attr_int(&b, b_node(&b, "Concat", "concat", 2, i3, 1, o3), "axis", -2);
    const char *i4[] = {"cat"}, *o4[] = {"y"};
    b_node(&b, "Neg", "neg", 1, i4, 1, o4);
    b_output(&b, "y");
    lens_model *m = b_load(&b);
    if (!m) return;
    lens_session *s = NULL;
    CHECK_OK(lens_session_create(m, NULL, &s));
    if (s) {
      const char *kernel = NULL;
      for (size_t i = 0; i < lens_session_node_count(s); i++) {
        lens_node_profile p;
        CHECK_OK(lens_session_node_profile(s, i, &p));
        if (strcmp(p.op_type, "Concat") == 0) kernel = p.kernel;
      }
      CHECK_MSG(kernel && strcmp(kernel, batch == 1 ? "concat_in_place" : "reference") == 0,
                "batch %d: Concat ran as %s", (int)batch, kernel ? kernel : "(none)");
      float x[30];
      for (int i = 0; i < 30; i++) x[i] = (float)(i % 7) - 3.0f + 0.25f * (float)i;
      lens_tensor t = f32_tensor(x, 3, xd), y;
      for (int run = 0; run < 2; run++) {
        CHECK_OK(lens_session_run(s, &t, 1, &y, 1));
        CHECK(y.rank == 3 && y.dims[0] == batch && y.dims[1] == 6 && y.dims[2] == 5);
        for (int64_t n = 0; n < batch && y.data; n++)
          for (int c = 0; c < 6; c++)
            for (int w = 0; w < 5; w++) {
              float v = x[(n * 3 + c % 3) * 5 + w], r = v > 0 ? v : 0;
              float want = c < 3 ? -r : -1.0f / (1.0f + expf(-r));
              CHECK_NEAR(((float *)y.data)[(n * 6 + c) * 5 + w], want, 1e-6);
            }
      }
    }
    lens_session_free(s);
    lens_model_free(m);
  }
}

LENS_TEST_MAIN(LENS_TEST(test_analysis_counts_parameters_and_records_fusion),
               LENS_TEST(test_concat_of_slices_runs_in_place),
               LENS_TEST(test_paddle_affine_and_hardswish_chains_are_rewritten),
               LENS_TEST(test_mul_by_hardsigmoid_of_itself_becomes_hardswish),
               LENS_TEST(test_batchnorm_after_conv_is_folded_into_it),
               LENS_TEST(test_add_with_initializer_runs_and_describes_io),
               LENS_TEST(test_inputs_are_read_in_place_or_copied),
               LENS_TEST(test_symbolic_batch_must_be_bound),
               LENS_TEST(test_shape_chain_is_folded),
               LENS_TEST(test_data_dependent_shape_runs_dynamic),
               LENS_TEST(test_arena_reuses_memory_by_liveness),
               LENS_TEST(test_small_runs_use_one_thread),
               LENS_TEST(test_sessions_run_concurrently),
               LENS_TEST(test_sessions_share_prepared_weights),
               LENS_TEST(test_profile_records_kernels_and_time),
               LENS_TEST(test_rejects_old_opset_and_unknown_ops),
               LENS_TEST(test_device_and_thread_options_are_checked),
               LENS_TEST(test_tensor_pb_roundtrip),
               LENS_TEST(test_half_conversion_rounds_to_nearest_even))
