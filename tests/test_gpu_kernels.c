/* The OpenCL backend against the CPU reference kernels: every GPU kernel on awkward sizes
 * (1, primes, tails of the 32x64 tiles and of the 64-wide work-groups, strides, dilations,
 * groups, padding), in fp32 and fp16, plus device selection, profiles, fusion, the program
 * cache and errors. Exits 77 (skipped) when no OpenCL platform is installed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lens_test.h"
#include "onnx.pb-c.h"

/* Named error budgets: |gpu - cpu| <= ATOL + RTOL * |cpu| per element, inputs in [-1, 1]. */
#define FP32_ATOL 1e-4
#define FP32_RTOL 1e-4
/* fp16 storage rounds every stored value to 11 significant bits (relative 4.9e-4), once per
 * tensor written; sums of up to ~1000 products then add a few of those. */
#define FP16_ATOL 2e-2
#define FP16_RTOL 1e-2

/* ---- a small model builder: graph inputs, initializers, nodes with attributes -------- */

#define MAXN 16
#define MAXA 8

typedef struct builder {
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opset, *opsets[1];
  Onnx__NodeProto nodes[MAXN], *node_ptrs[MAXN];
  Onnx__ValueInfoProto inputs[MAXN], *input_ptrs[MAXN], outputs[MAXN], *output_ptrs[MAXN];
  Onnx__TypeProto types[MAXN];
  Onnx__TypeProto__Tensor ttypes[MAXN];
  Onnx__TensorShapeProto shapes[MAXN];
  Onnx__TensorShapeProto__Dimension dims[MAXN][LENS_MAX_RANK], *dim_ptrs[MAXN][LENS_MAX_RANK];
  Onnx__TensorProto inits[MAXN], *init_ptrs[MAXN];
  Onnx__AttributeProto attrs[MAXN][MAXA], *attr_ptrs[MAXN][MAXA];
  const char *in_names[MAXN][MAXN], *out_names[MAXN][4];
  /* graph input data */
  int n_data;
  float *data[MAXN];
  int data_rank[MAXN];
  int64_t data_dims[MAXN][LENS_MAX_RANK];
  /* storage that must outlive packing */
  float *fbufs[MAXN];
  int64_t *ibufs[2 * MAXN];
  int n_fbufs, n_ibufs;
} builder;

static unsigned rng_state = 12345u;
static float frand(void) {
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float)((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

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

static void b_free(builder *b) {
  for (int i = 0; i < b->n_data; i++) free(b->data[i]);
  for (int i = 0; i < b->n_fbufs; i++) free(b->fbufs[i]);
  for (int i = 0; i < b->n_ibufs; i++) free(b->ibufs[i]);
}

static int64_t count(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int k = 0; k < rank; k++) n *= dims[k];
  return n;
}

static int64_t *keep_ints(builder *b, int n, const int64_t *v) {
  int64_t *p = calloc((size_t)n + 1, sizeof *p);
  memcpy(p, v, (size_t)n * sizeof *p);
  b->ibufs[b->n_ibufs++] = p;
  return p;
}

/* A float graph input with random values in [-1, 1]. */
static void b_input(builder *b, const char *name, int rank, const int64_t *dims) {
  int i = (int)b->graph.n_input;
  Onnx__ValueInfoProto *v = &b->inputs[i];
  onnx__value_info_proto__init(v);
  v->name = (char *)name;
  onnx__type_proto__init(&b->types[i]);
  onnx__type_proto__tensor__init(&b->ttypes[i]);
  onnx__tensor_shape_proto__init(&b->shapes[i]);
  b->types[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  b->types[i].tensor_type = &b->ttypes[i];
  b->ttypes[i].has_elem_type = 1;
  b->ttypes[i].elem_type = LENS_DTYPE_FLOAT32;
  b->ttypes[i].shape = &b->shapes[i];
  b->shapes[i].n_dim = (size_t)rank;
  b->shapes[i].dim = b->dim_ptrs[i];
  for (int d = 0; d < rank; d++) {
    onnx__tensor_shape_proto__dimension__init(&b->dims[i][d]);
    b->dims[i][d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    b->dims[i][d].dim_value = dims[d];
    b->dim_ptrs[i][d] = &b->dims[i][d];
  }
  v->type = &b->types[i];
  b->input_ptrs[b->graph.n_input++] = v;
  int64_t n = count(rank, dims);
  float *data = malloc(((size_t)n + 1) * sizeof *data);
  for (int64_t k = 0; k < n; k++) data[k] = frand();
  b->data[b->n_data] = data;
  b->data_rank[b->n_data] = rank;
  memcpy(b->data_dims[b->n_data], dims, (size_t)rank * sizeof *dims);
  b->n_data++;
}

static void b_output(builder *b, const char *name) {
  Onnx__ValueInfoProto *v = &b->outputs[b->graph.n_output];
  onnx__value_info_proto__init(v);
  v->name = (char *)name;
  b->output_ptrs[b->graph.n_output++] = v;
}

/* A float initializer: values given, or random in [-scale, scale] when values is NULL. */
static void b_const(builder *b, const char *name, int rank, const int64_t *dims,
                    const float *values, float scale) {
  Onnx__TensorProto *t = &b->inits[b->graph.n_initializer];
  onnx__tensor_proto__init(t);
  int64_t n = count(rank, dims);
  float *data = malloc(((size_t)n + 1) * sizeof *data);
  for (int64_t k = 0; k < n; k++) data[k] = values ? values[k] : scale * frand();
  b->fbufs[b->n_fbufs++] = data;
  t->name = (char *)name;
  t->has_data_type = 1;
  t->data_type = LENS_DTYPE_FLOAT32;
  t->n_dims = (size_t)rank;
  t->dims = keep_ints(b, rank, dims);
  t->n_float_data = (size_t)n;
  t->float_data = data;
  b->init_ptrs[b->graph.n_initializer++] = t;
}

static void b_const_i64(builder *b, const char *name, int n, const int64_t *values) {
  Onnx__TensorProto *t = &b->inits[b->graph.n_initializer];
  onnx__tensor_proto__init(t);
  int64_t dim = n;
  t->name = (char *)name;
  t->has_data_type = 1;
  t->data_type = LENS_DTYPE_INT64;
  t->n_dims = 1;
  t->dims = keep_ints(b, 1, &dim);
  t->n_int64_data = (size_t)n;
  t->int64_data = keep_ints(b, n, values);
  b->init_ptrs[b->graph.n_initializer++] = t;
}

/* in: names separated by ',' ("" for an omitted input); one output */
static Onnx__NodeProto *b_node(builder *b, const char *op, const char *inputs, const char *out) {
  int i = (int)b->graph.n_node;
  Onnx__NodeProto *n = &b->nodes[i];
  onnx__node_proto__init(n);
  n->op_type = (char *)op;
  n->name = (char *)out;
  static char names[MAXN * 8][64];
  static int used;
  int k = 0;
  for (const char *p = inputs; *p || k == 0;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char *s = names[used++ % (MAXN * 8)];
    snprintf(s, 64, "%.*s", (int)len, p);
    b->in_names[i][k++] = s;
    if (!e) break;
    p = e + 1;
  }
  n->n_input = (size_t)k;
  n->input = (char **)b->in_names[i];
  b->out_names[i][0] = out;
  n->n_output = 1;
  n->output = (char **)b->out_names[i];
  n->attribute = b->attr_ptrs[i];
  b->node_ptrs[i] = n;
  b->graph.n_node++;
  return n;
}

static Onnx__AttributeProto *b_attr(builder *b, Onnx__NodeProto *n, const char *name) {
  int i = (int)(n - b->nodes);
  Onnx__AttributeProto *a = &b->attrs[i][n->n_attribute];
  onnx__attribute_proto__init(a);
  a->name = (char *)name;
  a->has_type = 1;
  b->attr_ptrs[i][n->n_attribute++] = a;
  return a;
}

static void a_int(builder *b, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = b_attr(b, n, name);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  a->has_i = 1;
  a->i = v;
}

static void a_ints(builder *b, Onnx__NodeProto *n, const char *name, int count_,
                   const int64_t *v) {
  Onnx__AttributeProto *a = b_attr(b, n, name);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  a->n_ints = (size_t)count_;
  a->ints = keep_ints(b, count_, v);
}

static void a_float(builder *b, Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *a = b_attr(b, n, name);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  a->has_f = 1;
  a->f = v;
}

static void a_string(builder *b, Onnx__NodeProto *n, const char *name, const char *v) {
  Onnx__AttributeProto *a = b_attr(b, n, name);
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  a->has_s = 1;
  a->s.data = (uint8_t *)v;
  a->s.len = strlen(v);
}

static lens_model *b_load(builder *b) {
  size_t size = onnx__model_proto__get_packed_size(&b->model);
  uint8_t *buf = malloc(size);
  onnx__model_proto__pack(&b->model, buf);
  lens_model *m = NULL;
  CHECK_OK(lens_model_load_memory(buf, size, NULL, &m));
  free(buf);
  return m;
}

/* ---- running on both sides and comparing ----------------------------------------------- */

static lens_status *run_on(lens_model *m, builder *b, const char *device, const char *precision,
                           bool reference, lens_session **s, lens_tensor *out) {
  lens_session_options o;
  lens_session_options_init(&o);
  o.device = device;
  o.precision = precision;
  o.reference_only = reference;
  o.profile = true;
  lens_status *st = lens_session_create(m, &o, s);
  if (st) return st;
  lens_tensor in[MAXN];
  for (int i = 0; i < b->n_data; i++) {
    in[i].dtype = LENS_DTYPE_FLOAT32;
    in[i].rank = b->data_rank[i];
    memcpy(in[i].dims, b->data_dims[i], sizeof in[i].dims);
    in[i].data = b->data[i];
    in[i].nbytes = (size_t)count(b->data_rank[i], b->data_dims[i]) * sizeof(float);
  }
  return lens_session_run(*s, in, (size_t)b->n_data, out, 1);
}

/* Runs the model on the CPU reference kernels and on the GPU in fp32 and fp16; checks the
 * outputs agree within the named budgets and that node `gpu_node` ran on the gpu (when
 * not NULL) with kernel `kernel` (when not NULL). */
static void compare_gpu(builder *b, const char *what, const char *gpu_op, const char *kernel) {
  lens_model *m = b_load(b);
  if (!m) return;
  lens_session *ref = NULL;
  lens_tensor want;
  lens_status *st = run_on(m, b, "cpu", NULL, true, &ref, &want);
  CHECK_MSG(!st, "%s: cpu: %s", what, lens_status_message(st));
  lens_status_free(st);
  static const char *const precisions[] = {"fp32", "fp16"};
  for (int p = 0; !st && p < 2; p++) {
    lens_session *s = NULL;
    lens_tensor got;
    lens_status *gs = run_on(m, b, "gpu", precisions[p], false, &s, &got);
    CHECK_MSG(!gs, "%s %s: %s", what, precisions[p], lens_status_message(gs));
    if (!gs) {
      CHECK(got.rank == want.rank && got.nbytes == want.nbytes);
      double atol = p ? FP16_ATOL : FP32_ATOL, rtol = p ? FP16_RTOL : FP32_RTOL, worst = 0;
      size_t n = want.nbytes / sizeof(float), bad = 0, first = 0;
      const float *g = got.data, *w = want.data;
      for (size_t i = 0; got.nbytes == want.nbytes && i < n; i++) {
        double err = fabs((double)g[i] - (double)w[i]);
        if (err > worst) worst = err;
        if (!(err <= atol + rtol * fabs((double)w[i])) && !bad++) first = i;
      }
      CHECK_MSG(!bad, "%s %s: %zu of %zu elements out of budget (first %zu: gpu %g cpu %g), "
                "max abs error %g", what, precisions[p], bad, n, first, g[first], w[first],
                worst);
      bool found = gpu_op == NULL;
      for (size_t i = 0; i < lens_session_node_count(s); i++) {
        lens_node_profile np;
        CHECK_OK(lens_session_node_profile(s, i, &np));
        if (gpu_op && strcmp(np.op_type, gpu_op) == 0 && strcmp(np.device, "gpu") == 0 &&
            (!kernel || strcmp(np.kernel, kernel) == 0))
          found = true;
      }
      CHECK_MSG(found, "%s %s: no %s node ran on the gpu with kernel %s", what, precisions[p],
                gpu_op, kernel ? kernel : "(any)");
    }
    lens_status_free(gs);
    lens_session_free(s);
  }
  lens_session_free(ref);
  lens_model_free(m);
}

/* ---- convolution ------------------------------------------------------------------------ */

typedef struct conv_case {
  int64_t n, c, h, w, oc, kh, kw, sh, sw, dh, dw, group;
  int64_t pads[4];
  bool bias;
  const char *kernel;
} conv_case;

static void run_conv(const conv_case *cc) {
  builder b;
  b_init(&b, 13);
  int64_t xd[4] = {cc->n, cc->c, cc->h, cc->w};
  int64_t wd[4] = {cc->oc, cc->c / cc->group, cc->kh, cc->kw};
  int64_t bd[1] = {cc->oc};
  b_input(&b, "x", 4, xd);
  b_const(&b, "w", 4, wd, NULL, 0.5f);
  if (cc->bias) b_const(&b, "b", 1, bd, NULL, 0.5f);
  Onnx__NodeProto *n = b_node(&b, "Conv", cc->bias ? "x,w,b" : "x,w", "y");
  int64_t ks[2] = {cc->kh, cc->kw}, st[2] = {cc->sh, cc->sw}, dl[2] = {cc->dh, cc->dw};
  a_ints(&b, n, "kernel_shape", 2, ks);
  a_ints(&b, n, "strides", 2, st);
  a_ints(&b, n, "dilations", 2, dl);
  a_ints(&b, n, "pads", 4, cc->pads);
  a_int(&b, n, "group", cc->group);
  b_output(&b, "y");
  char what[160];
  snprintf(what, sizeof what, "conv n%lld c%lld %lldx%lld oc%lld k%lldx%lld s%lld d%lld g%lld",
           (long long)cc->n, (long long)cc->c, (long long)cc->h, (long long)cc->w,
           (long long)cc->oc, (long long)cc->kh, (long long)cc->kw, (long long)cc->sh,
           (long long)cc->dh, (long long)cc->group);
  compare_gpu(&b, what, "Conv", cc->kernel);
  b_free(&b);
}

static void test_gpu_conv_tiled_matches_reference_on_awkward_sizes(void) {
  static const conv_case cases[] = {
      /* 1 pixel, 1 channel */
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, false, "ocl_conv2d_1x1_tiled_32x64"},
      /* primes; 3x3 pad 1 */
      {1, 3, 7, 5, 5, 3, 3, 1, 1, 1, 1, 1, {1, 1, 1, 1}, true, "ocl_conv2d_tiled_32x64"},
      /* M and N one past the 32x64 tile, K past 16 */
      {1, 17, 5, 13, 33, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, true, "ocl_conv2d_1x1_tiled_32x64"},
      /* stride 2, dilation 2, asymmetric pads, batch 2 */
      {2, 4, 11, 9, 7, 3, 3, 2, 2, 2, 2, 1, {1, 0, 2, 1}, true, "ocl_conv2d_tiled_32x64"},
      /* grouped */
      {1, 6, 9, 8, 9, 3, 3, 1, 2, 1, 1, 3, {1, 1, 1, 1}, true, "ocl_conv2d_tiled_32x64"},
      /* large K (37 * 25) and non-square kernel */
      {1, 37, 8, 10, 31, 5, 3, 1, 1, 1, 1, 1, {2, 1, 2, 1}, false, "ocl_conv2d_tiled_32x64"},
      /* 1x1 with stride (not the pointwise path) */
      {1, 8, 9, 9, 65, 1, 1, 2, 2, 1, 1, 1, {0, 0, 0, 0}, true, "ocl_conv2d_tiled_32x64"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_conv(&cases[i]);
}

static void test_gpu_conv_depthwise_matches_reference(void) {
  static const conv_case cases[] = {
      {1, 7, 13, 11, 7, 3, 3, 2, 2, 1, 1, 7, {1, 1, 1, 1}, true, "ocl_conv2d_depthwise_4px"},
      {2, 5, 6, 9, 5, 5, 5, 1, 1, 1, 1, 5, {2, 2, 2, 2}, false, "ocl_conv2d_depthwise_4px"},
      /* channel multiplier 2, dilation 2 */
      {1, 3, 10, 7, 6, 3, 3, 1, 1, 2, 2, 3, {2, 2, 2, 2}, true, "ocl_conv2d_depthwise_4px"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_conv(&cases[i]);
}

static void test_gpu_conv_fuses_residual_and_activation(void) {
  builder b;
  b_init(&b, 13);
  int64_t xd[4] = {1, 6, 7, 9}, wd[4] = {6, 6, 3, 3}, bd[1] = {6};
  b_input(&b, "x", 4, xd);
  b_const(&b, "w", 4, wd, NULL, 0.5f);
  b_const(&b, "b", 1, bd, NULL, 0.5f);
  Onnx__NodeProto *n = b_node(&b, "Conv", "x,w,b", "c");
  int64_t pads[4] = {1, 1, 1, 1};
  a_ints(&b, n, "pads", 4, pads);
  b_node(&b, "Add", "c,x", "a");
  b_node(&b, "Relu", "a", "y");
  b_output(&b, "y");
  compare_gpu(&b, "conv+add+relu", "Conv", "ocl_conv2d_tiled_32x64");
  lens_model *m = b_load(&b);
  lens_session_options o;
  lens_session_options_init(&o);
  o.device = "gpu";
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, &o, &s));
  CHECK(lens_session_node_count(s) == 1);
  lens_node_profile p;
  CHECK_OK(lens_session_node_profile(s, 0, &p));
  CHECK(p.fused_nodes && strcmp(p.fused_nodes, "a,y") == 0);
  CHECK(strcmp(p.device, "gpu") == 0);
  lens_session_free(s);
  lens_model_free(m);
  b_free(&b);
}

static void test_gpu_conv_transpose_matches_reference(void) {
  builder b;
  b_init(&b, 13);
  int64_t xd[4] = {1, 4, 5, 7}, wd[4] = {4, 3, 2, 2}, bd[1] = {3};
  b_input(&b, "x", 4, xd);
  b_const(&b, "w", 4, wd, NULL, 0.5f);
  b_const(&b, "b", 1, bd, NULL, 0.5f);
  Onnx__NodeProto *n = b_node(&b, "ConvTranspose", "x,w,b", "y");
  int64_t st[2] = {2, 2};
  a_ints(&b, n, "strides", 2, st);
  b_output(&b, "y");
  compare_gpu(&b, "convtranspose s2", "ConvTranspose", "ocl_conv_transpose2d_direct");
  b_free(&b);
}

/* ---- GEMM -------------------------------------------------------------------------------- */

static void test_gpu_gemm_and_matmul_match_reference(void) {
  static const int64_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {33, 65, 17}, {2, 130, 40}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    int64_t M = shapes[i][0], K = shapes[i][1], N = shapes[i][2];
    builder b;
    b_init(&b, 13);
    int64_t ad[2] = {M, K}, bd[2] = {N, K}, cd[1] = {N};
    b_input(&b, "a", 2, ad);
    b_const(&b, "b", 2, bd, NULL, 0.5f);
    b_const(&b, "c", 1, cd, NULL, 0.5f);
    Onnx__NodeProto *n = b_node(&b, "Gemm", "a,b,c", "y");
    a_int(&b, n, "transB", 1);
    a_float(&b, n, "alpha", 0.5f);
    a_float(&b, n, "beta", 2.0f);
    b_output(&b, "y");
    compare_gpu(&b, "gemm transB", "Gemm", "ocl_gemm_tiled_32x64");
    b_free(&b);
  }
  builder b;
  b_init(&b, 13);
  int64_t ad[3] = {3, 5, 19}, bd[2] = {19, 70};
  b_input(&b, "a", 3, ad);
  b_input(&b, "b", 2, bd);
  b_node(&b, "MatMul", "a,b", "y");
  b_output(&b, "y");
  compare_gpu(&b, "matmul batch 3, broadcast B", "MatMul", "ocl_gemm_tiled_32x64");
  b_free(&b);
}

/* ---- elementwise --------------------------------------------------------------------- */

static void binary_case(const char *op, int ra, const int64_t *da, int rb, const int64_t *db,
                        bool b_const_input) {
  builder b;
  b_init(&b, 13);
  b_input(&b, "a", ra, da);
  if (b_const_input) b_const(&b, "b", rb, db, NULL, 1.0f);
  else b_input(&b, "b", rb, db);
  b_node(&b, op, "a,b", "y");
  b_output(&b, "y");
  compare_gpu(&b, op, op, NULL);
  b_free(&b);
}

static void test_gpu_elementwise_broadcast_matches_reference(void) {
  int64_t a4[4] = {2, 3, 1, 5}, b3[3] = {3, 4, 1}, s1[1] = {1}, p[2] = {7, 13}, p1[1] = {13};
  binary_case("Add", 4, a4, 3, b3, false);
  binary_case("Sub", 2, p, 1, p1, true);
  binary_case("Mul", 4, a4, 1, s1, true);
  binary_case("Div", 2, p, 2, p, false);
  binary_case("Max", 3, b3, 4, a4, false);
  binary_case("Min", 1, p1, 2, p, false);
  builder b;
  b_init(&b, 13);
  int64_t d[3] = {3, 1, 67};
  b_input(&b, "x", 3, d);
  b_const(&b, "two", 1, s1, (const float[]){2.0f}, 0);
  b_node(&b, "Pow", "x,two", "y");
  b_output(&b, "y");
  compare_gpu(&b, "pow 2", "Pow", NULL);
  b_free(&b);
}

static void test_gpu_unary_chain_is_one_kernel(void) {
  builder b;
  b_init(&b, 13);
  int64_t d[4] = {1, 5, 7, 3}, s1[1] = {1};
  b_input(&b, "x", 4, d);
  b_input(&b, "z", 4, d);
  b_const(&b, "lo", 0, s1, (const float[]){-0.25f}, 0);
  b_const(&b, "hi", 0, s1, (const float[]){0.5f}, 0);
  b_node(&b, "Add", "x,z", "s");
  b_node(&b, "Clip", "s,lo,hi", "c");
  Onnx__NodeProto *hs = b_node(&b, "HardSigmoid", "c", "h");
  a_float(&b, hs, "alpha", 0.3f);
  b_node(&b, "HardSwish", "h", "w");
  b_node(&b, "Sigmoid", "w", "y");
  b_output(&b, "y");
  compare_gpu(&b, "add-clip-hardsigmoid-hardswish-sigmoid", "Add", "ocl_eltwise_binary_chain");
  lens_model *m = b_load(&b);
  lens_session_options o;
  lens_session_options_init(&o);
  o.device = "gpu";
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, &o, &s));
  CHECK(lens_session_node_count(s) == 1);
  lens_session_free(s);
  lens_model_free(m);
  b_free(&b);
}

static void test_gpu_unary_ops_match_reference(void) {
  static const char *const ops[] = {"Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid",
                                     "HardSwish", "Exp", "Neg"};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    builder b;
    b_init(&b, 13);
    int64_t d[2] = {3, 71};
    b_input(&b, "x", 2, d);
    b_node(&b, ops[i], "x", "y");
    b_output(&b, "y");
    compare_gpu(&b, ops[i], ops[i], "ocl_eltwise_unary");
    b_free(&b);
  }
}

static void test_gpu_batchnorm_matches_reference(void) {
  builder b;
  b_init(&b, 13);
  int64_t d[4] = {2, 5, 3, 7}, c[1] = {5};
  float var[5] = {0.5f, 1.0f, 2.0f, 0.1f, 0.9f};
  b_input(&b, "x", 4, d);
  b_const(&b, "s", 1, c, NULL, 1.0f);
  b_const(&b, "b", 1, c, NULL, 1.0f);
  b_const(&b, "m", 1, c, NULL, 1.0f);
  b_const(&b, "v", 1, c, var, 0);
  b_node(&b, "BatchNormalization", "x,s,b,m,v", "y");
  b_output(&b, "y");
  compare_gpu(&b, "batchnorm", "BatchNormalization", "ocl_channel_affine");
  b_free(&b);
}

/* ---- pooling ------------------------------------------------------------------------- */

static void pool_case(const char *op, const int64_t *xd, const int64_t *k, const int64_t *s,
                      const int64_t *pads, int ceil_mode, int include_pad) {
  builder b;
  b_init(&b, 13);
  b_input(&b, "x", 4, xd);
  Onnx__NodeProto *n = b_node(&b, op, "x", "y");
  a_ints(&b, n, "kernel_shape", 2, k);
  a_ints(&b, n, "strides", 2, s);
  a_ints(&b, n, "pads", 4, pads);
  a_int(&b, n, "ceil_mode", ceil_mode);
  if (include_pad) a_int(&b, n, "count_include_pad", 1);
  b_output(&b, "y");
  compare_gpu(&b, op, op, NULL);
  b_free(&b);
}

static void test_gpu_pooling_matches_reference(void) {
  int64_t x[4] = {1, 3, 11, 13}, k3[2] = {3, 3}, k2[2] = {2, 2}, s2[2] = {2, 2};
  int64_t p1[4] = {1, 1, 1, 1}, p0[4] = {0, 0, 0, 0}, pa[4] = {1, 0, 0, 1};
  pool_case("MaxPool", x, k3, s2, p1, 0, 0);
  pool_case("MaxPool", x, k2, s2, p0, 1, 0);
  pool_case("AveragePool", x, k3, s2, p1, 0, 0);
  pool_case("AveragePool", x, k3, s2, pa, 0, 1);
  pool_case("AveragePool", x, k2, s2, p0, 1, 0);
  static const int64_t g[][4] = {{1, 1, 1, 1}, {2, 5, 7, 9}, {1, 3, 8, 8}, {1, 2, 13, 11}};
  for (int op = 0; op < 2; op++)
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
      builder b;
      b_init(&b, 13);
      b_input(&b, "x", 4, g[i]);
      const char *name = op ? "GlobalMaxPool" : "GlobalAveragePool";
      b_node(&b, name, "x", "y");
      b_output(&b, "y");
      compare_gpu(&b, name, name, "ocl_global_pool_wg64");
      b_free(&b);
    }
}

/* ---- data movement, resize, softmax, reductions --------------------------------------- */

static void test_gpu_layout_ops_match_reference(void) {
  int64_t d[4] = {2, 3, 5, 7};
  {
    builder b;
    b_init(&b, 13);
    b_input(&b, "x", 4, d);
    int64_t perm[4] = {0, 2, 3, 1};
    a_ints(&b, b_node(&b, "Transpose", "x", "y"), "perm", 4, perm);
    b_output(&b, "y");
    compare_gpu(&b, "transpose", "Transpose", "ocl_copy_nd");
    b_free(&b);
  }
  {
    builder b;
    b_init(&b, 13);
    int64_t d2[4] = {2, 1, 5, 7};
    b_input(&b, "x", 4, d);
    b_input(&b, "z", 4, d2);
    a_int(&b, b_node(&b, "Concat", "x,z,x", "y"), "axis", 1);
    b_output(&b, "y");
    compare_gpu(&b, "concat", "Concat", "ocl_copy_nd");
    b_free(&b);
  }
  {
    builder b;
    b_init(&b, 13);
    b_input(&b, "x", 4, d);
    int64_t st[2] = {1, -1}, en[2] = {5, -8}, ax[2] = {2, 3}, sp[2] = {2, -2};
    b_const_i64(&b, "st", 2, st);
    b_const_i64(&b, "en", 2, en);
    b_const_i64(&b, "ax", 2, ax);
    b_const_i64(&b, "sp", 2, sp);
    b_node(&b, "Slice", "x,st,en,ax,sp", "y");
    b_output(&b, "y");
    compare_gpu(&b, "slice with negative step", "Slice", "ocl_copy_nd");
    b_free(&b);
  }
  {
    builder b;
    b_init(&b, 13);
    b_input(&b, "x", 4, d);
    int64_t pads[8] = {0, 1, 2, 0, 0, 0, 1, 3};
    b_const_i64(&b, "p", 8, pads);
    b_node(&b, "Pad", "x,p", "y");
    b_output(&b, "y");
    compare_gpu(&b, "pad", "Pad", "ocl_pad_constant");
    b_free(&b);
  }
  {
    builder b;
    b_init(&b, 13);
    b_input(&b, "x", 4, d);
    int64_t shape[2] = {6, -1};
    b_const_i64(&b, "s", 2, shape);
    b_node(&b, "Reshape", "x,s", "r");
    b_node(&b, "Softmax", "r", "y");
    b_output(&b, "y");
    compare_gpu(&b, "reshape + softmax", "Softmax", "ocl_softmax_rows");
    b_free(&b);
  }
  {
    builder b;
    b_init(&b, 13);
    b_input(&b, "x", 4, d);
    int64_t axes[1] = {-1};
    a_ints(&b, b_node(&b, "ReduceMean", "x", "y"), "axes", 1, axes);
    b_output(&b, "y");
    compare_gpu(&b, "reducemean", "ReduceMean", "ocl_reduce_rows");
    b_free(&b);
  }
}

static void resize_case(const char *mode, const char *coord, const int64_t *xd,
                        const float *scales) {
  builder b;
  b_init(&b, 13);
  int64_t four[1] = {4};
  b_input(&b, "x", 4, xd);
  b_const(&b, "sc", 1, four, scales, 0);
  Onnx__NodeProto *n = b_node(&b, "Resize", "x,,sc", "y");
  a_string(&b, n, "mode", mode);
  a_string(&b, n, "coordinate_transformation_mode", coord);
  if (strcmp(mode, "nearest") == 0) a_string(&b, n, "nearest_mode", "floor");
  b_output(&b, "y");
  char what[96];
  snprintf(what, sizeof what, "resize %s %s", mode, coord);
  compare_gpu(&b, what, "Resize", NULL);
  b_free(&b);
}

static void test_gpu_resize_matches_reference(void) {
  int64_t x[4] = {1, 2, 5, 7};
  const float up2[4] = {1, 1, 2, 2}, odd[4] = {1, 1, 1.5f, 3};
  resize_case("nearest", "asymmetric", x, up2);
  resize_case("linear", "half_pixel", x, up2);
  resize_case("linear", "align_corners", x, odd);
  resize_case("linear", "pytorch_half_pixel", x, odd);
}

/* ---- devices, profiles, cache, errors ------------------------------------------------- */

static lens_model *relu_model(builder *b) {
  b_init(b, 13);
  int64_t d[2] = {1, 8};
  b_input(b, "x", 2, d);
  b_node(b, "Relu", "x", "y");
  b_output(b, "y");
  return b_load(b);
}

static void test_gpu_devices_are_listed_and_selected(void) {
  size_t n = 0;
  CHECK_OK(lens_device_count(&n));
  CHECK(n > 0);
  lens_device_info info;
  CHECK_OK(lens_device_get_info(0, &info));
  CHECK(strcmp(info.spec, "gpu.0") == 0 && info.name[0] && info.compute_units > 0);
  CHECK(info.global_memory_bytes > 0);
  lens_device_info none;
  CHECK_ERR(lens_device_get_info(n, &none), LENS_ERR_INVALID_ARGUMENT, "out of range");
  builder b;
  lens_model *m = relu_model(&b);
  lens_session_options o;
  lens_session_options_init(&o);
  lens_session *s = NULL;
  o.device = "gpu.0";
  CHECK_OK(lens_session_create(m, &o, &s));
  lens_session_free(s);
  s = NULL;
  char by_name[300];
  snprintf(by_name, sizeof by_name, "gpu:%.12s", info.name);
  o.device = by_name;
  CHECK_OK(lens_session_create(m, &o, &s));
  lens_session_free(s);
  s = NULL;
  o.device = "gpu.999";
  CHECK_ERR(lens_session_create(m, &o, &s), LENS_ERR_INVALID_ARGUMENT, "does not exist");
  o.device = "gpu:no-such-device-name";
  CHECK_ERR(lens_session_create(m, &o, &s), LENS_ERR_INVALID_ARGUMENT, "no OpenCL device");
  o.device = "cpu";
  o.precision = "fp16";
  CHECK_ERR(lens_session_create(m, &o, &s), LENS_ERR_UNSUPPORTED, "needs device gpu");
  o.device = "gpu";
  o.precision = "int4";
  CHECK_ERR(lens_session_create(m, &o, &s), LENS_ERR_INVALID_ARGUMENT, "int4");
  CHECK(s == NULL);
  lens_model_free(m);
  b_free(&b);
}

static void test_gpu_falls_back_per_node_and_counts_transfers(void) {
  builder b;
  b_init(&b, 13);
  int64_t d[2] = {4, 9}, reps[2] = {1, 1};
  b_input(&b, "x", 2, d);
  b_const_i64(&b, "reps", 2, reps);
  b_node(&b, "Relu", "x", "r");
  b_node(&b, "Tile", "r,reps", "t"); /* no OpenCL kernel: runs on the CPU */
  b_node(&b, "Sigmoid", "t", "y");
  b_output(&b, "y");
  compare_gpu(&b, "relu -> tile (cpu) -> sigmoid", "Sigmoid", NULL);
  lens_model *m = b_load(&b);
  lens_session *s = NULL;
  lens_tensor out;
  CHECK_OK(run_on(m, &b, "gpu", "fp32", false, &s, &out));
  if (s) {
    uint64_t bytes = 0;
    int on_cpu = 0, on_gpu = 0;
    for (size_t i = 0; i < lens_session_node_count(s); i++) {
      lens_node_profile p;
      CHECK_OK(lens_session_node_profile(s, i, &p));
      bytes += p.transfer_bytes;
      if (strcmp(p.device, "cpu") == 0) {
        on_cpu++;
        CHECK(p.note != NULL);
      } else {
        on_gpu++;
      }
    }
    CHECK(on_cpu == 1 && on_gpu == 2);
    /* upload x, download r, upload t, download y: 4 x 36 floats */
    CHECK(bytes == 4 * 36 * sizeof(float));
  }
  lens_session_free(s);
  lens_model_free(m);
  b_free(&b);
}

static void test_gpu_corrupt_cache_entry_is_rebuilt(void) {
  const char *dir = getenv("LENS_OPENCL_CACHE_DIR");
  if (!dir || !*dir) return;
  char cmd[4200];
  /* truncate every cached program and write garbage into it */
  snprintf(cmd, sizeof cmd, "for f in '%s'/*.bin; do [ -f \"$f\" ] && head -c 100 /dev/urandom > \"$f\"; done; true", dir);
  CHECK(system(cmd) == 0);
  builder b;
  lens_model *m = relu_model(&b);
  lens_session_options o;
  lens_session_options_init(&o);
  o.device = "gpu";
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, &o, &s));
  lens_session_free(s);
  lens_model_free(m);
  b_free(&b);
}

static const lens_test_case cases[] = {
    LENS_TEST(test_gpu_devices_are_listed_and_selected),
    LENS_TEST(test_gpu_conv_tiled_matches_reference_on_awkward_sizes),
    LENS_TEST(test_gpu_conv_depthwise_matches_reference),
    LENS_TEST(test_gpu_conv_fuses_residual_and_activation),
    LENS_TEST(test_gpu_conv_transpose_matches_reference),
    LENS_TEST(test_gpu_gemm_and_matmul_match_reference),
    LENS_TEST(test_gpu_elementwise_broadcast_matches_reference),
    LENS_TEST(test_gpu_unary_chain_is_one_kernel),
    LENS_TEST(test_gpu_unary_ops_match_reference),
    LENS_TEST(test_gpu_batchnorm_matches_reference),
    LENS_TEST(test_gpu_pooling_matches_reference),
    LENS_TEST(test_gpu_layout_ops_match_reference),
    LENS_TEST(test_gpu_resize_matches_reference),
    LENS_TEST(test_gpu_falls_back_per_node_and_counts_transfers),
    LENS_TEST(test_gpu_corrupt_cache_entry_is_rebuilt),
};

int main(int argc, char **argv) {
  size_t n = 0;
  lens_status *st = lens_device_count(&n);
  lens_status_free(st);
  if (n == 0) {
    printf("no OpenCL platform or device: skipped\n");
    return 77;
  }
  int passed = 0, failed = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (argc > 1 && !strstr(cases[i].name, argv[1])) continue;
    int before = lens_test_failures_;
    cases[i].fn();
    int ok = lens_test_failures_ == before;
    printf("%s %s\n", ok ? "PASS" : "FAIL", cases[i].name);
    fflush(stdout);
    if (ok) passed++;
    else failed++;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
