/* The OpenCL backend: which nodes run on the device, with which kernel (kernels/ (*.cl)), and
 * how they are launched.
 *
 * One analysis function per operator family decides support and fills the launch
 * description; supports() runs it without uploading anything, prepare() runs it again and
 * uploads the constants. Every float tensor in device memory is addressed by a buffer and an
 * element offset, so tensors of the planned device arena need no sub-buffers. Every size is
 * checked to fit the kernels' 32-bit int indexing. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "cpu/kernels.h"
#include "ops/nn_common.h"
#include "opencl/ocl.h"

typedef struct copy_desc {
  int src, dst; /* input index read, output index written */
  int rank;
  cl_int dims[8], xstr[8], ystr[8];
  int x_base, y_base;
  int total;
} copy_desc;

typedef struct ocl_node {
  int kind;
  const char *name;
  int n_inputs;
  cl_mem *cbuf;  /* per input: uploaded constant operand, or NULL */
  cl_mem w;      /* weights (storage type) */
  cl_mem bias;   /* float: bias, Gemm's C, BatchNorm scale */
  cl_mem shift;  /* float: BatchNorm shift */
  bool has_bias;
  int ia[24];    /* kernel-specific int arguments */
  float fa[4];
  int act;
  float alpha, beta;
  bool has_res;
  /* elementwise */
  int a_mode, b_mode, binop, rank, n_ops;
  cl_int8 dims, astr, bstr, ops;
  cl_float8 pa, pb;
  /* copies */
  copy_desc *copies;
  int n_copies;
  size_t copy_elems; /* > 0: one contiguous copy of this many elements */
  size_t global[3], local[3];
  cl_uint wdim;
  bool use_local;
} ocl_node;

static lens_status *unsupported(const lens_node *n, const char *why) {
  return lens_node_error(n, LENS_ERR_UNSUPPORTED, "opencl: %s", why);
}

static bool fits_int(int64_t v) { return v >= 0 && v < INT_MAX; }

static int64_t elements(const lens_value *v) {
  int64_t n = 1;
  for (int k = 0; k < v->rank; k++) n *= v->dims[k];
  return n;
}

static bool is_const(const lens_value *v) { return v->data != NULL; }

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

static void contiguous(const int64_t *dims, int rank, int64_t *strides) {
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    strides[d] = s;
    s *= dims[d];
  }
}

static lens_status *upload_const(ocl_device *d, ocl_node *x, const lens_value *v, bool upload,
                                 bool as_float, cl_mem *out) {
  if (!upload) return NULL;
  return lens_ocl_const_buffer(d, v->data, (size_t)elements(v), as_float, out);
}

static lens_status *set_1d(ocl_node *x, int64_t total) {
  x->wdim = 1;
  x->global[0] = (size_t)(total > 0 ? total : 1);
  x->use_local = false;
  return NULL;
}

/* ---- convolution --------------------------------------------------------------------- */

static lens_status *analyze_conv(ocl_device *d, const lens_backend_node *bn, ocl_node *x,
                                 bool upload) {
  const lens_node *n = bn->node;
  const lens_value *in = bn->in;
  if (in[0].rank != 4 || in[1].rank != 4) return unsupported(n, "only 2-D convolutions");
  if (!is_const(&in[1])) return unsupported(n, "weights are not constant");
  bool bias = lens_node_has_input(n, in, 2);
  if (bias && !is_const(&in[2])) return unsupported(n, "bias is not constant");
  lens_window w;
  LENS_TRY(lens_conv_resolve(n, in, &w));
  int64_t group = 1;
  LENS_TRY(lens_attr_int(n, "group", 1, &group));
  int64_t C = in[0].dims[1], OC = in[1].dims[0], Cg = in[1].dims[1];
  if (w.n != 2 || group <= 0 || C != Cg * group || OC % group) return unsupported(n, "geometry");
  bool depthwise = Cg == 1 && group == C && group > 1;
  int *a = x->ia;
  a[0] = (int)C, a[1] = (int)in[0].dims[2], a[2] = (int)in[0].dims[3], a[3] = (int)OC;
  a[4] = (int)w.out[0], a[5] = (int)w.out[1], a[6] = (int)w.kernel[0], a[7] = (int)w.kernel[1];
  a[8] = (int)w.stride[0], a[9] = (int)w.stride[1], a[10] = (int)w.pad_begin[0];
  a[11] = (int)w.pad_begin[1], a[12] = (int)w.dilation[0], a[13] = (int)w.dilation[1];
  a[14] = (int)group;
  bool pointwise = w.kernel[0] == 1 && w.kernel[1] == 1 && w.stride[0] == 1 &&
                   w.stride[1] == 1 && w.pad_begin[0] == 0 && w.pad_begin[1] == 0 &&
                   w.pad_end[0] == 0 && w.pad_end[1] == 0;
  a[15] = pointwise;
  int64_t batch = in[0].dims[0], N = w.out[0] * w.out[1], M = OC / group;
  if (depthwise) {
    x->kind = OCL_K_DEPTHWISE;
    x->name = "ocl_conv2d_depthwise_4px";
    x->wdim = 3;
    x->global[0] = (size_t)(w.out[1] + 3) / 4;
    x->global[1] = (size_t)w.out[0];
    x->global[2] = (size_t)(batch * OC);
  } else {
    x->kind = OCL_K_CONV;
    x->name = pointwise ? "ocl_conv2d_1x1_tiled_32x64" : "ocl_conv2d_tiled_32x64";
    x->wdim = 3;
    x->use_local = true;
    x->global[0] = round_up((size_t)N, 64) / 4;
    x->global[1] = round_up((size_t)M, 32) / 4;
    x->global[2] = (size_t)(batch * group);
    x->local[0] = 16, x->local[1] = 8, x->local[2] = 1;
  }
  if (!fits_int(batch * group) || !fits_int(x->global[0]) || !fits_int(x->global[2]))
    return unsupported(n, "too large");
  x->has_bias = bias;
  LENS_TRY(upload_const(d, x, &in[1], upload, false, &x->w));
  if (bias) LENS_TRY(upload_const(d, x, &in[2], upload, true, &x->bias));
  return NULL;
}

static lens_status *analyze_conv_transpose(ocl_device *d, const lens_backend_node *bn,
                                           ocl_node *x, bool upload) {
  const lens_node *n = bn->node;
  const lens_value *in = bn->in, *out = bn->out;
  if (in[0].rank != 4 || in[1].rank != 4 || out[0].rank != 4)
    return unsupported(n, "only 2-D transposed convolutions");
  if (!is_const(&in[1])) return unsupported(n, "weights are not constant");
  bool bias = lens_node_has_input(n, in, 2);
  if (bias && !is_const(&in[2])) return unsupported(n, "bias is not constant");
  const char *ap = "NOTSET";
  LENS_TRY(lens_attr_string(n, "auto_pad", "NOTSET", &ap));
  if (strcmp(ap, "NOTSET") != 0 || lens_node_attr(n, "output_shape"))
    return unsupported(n, "auto_pad / output_shape");
  const int64_t *s = NULL, *dl = NULL, *p = NULL, *op = NULL;
  size_t ns, nd, np, nop;
  LENS_TRY(lens_attr_ints(n, "strides", &s, &ns));
  LENS_TRY(lens_attr_ints(n, "dilations", &dl, &nd));
  LENS_TRY(lens_attr_ints(n, "pads", &p, &np));
  LENS_TRY(lens_attr_ints(n, "output_padding", &op, &nop));
  int64_t group = 1;
  LENS_TRY(lens_attr_int(n, "group", 1, &group));
  if ((ns && ns != 2) || (nd && nd != 2) || (np && np != 4) || (nop && nop != 2))
    return unsupported(n, "attributes");
  int64_t st[2] = {ns ? s[0] : 1, ns ? s[1] : 1}, di[2] = {nd ? dl[0] : 1, nd ? dl[1] : 1};
  int64_t pb[2] = {np ? p[0] : 0, np ? p[1] : 0}, pe[2] = {np ? p[2] : 0, np ? p[3] : 0};
  int64_t C = in[0].dims[1], OCg = in[1].dims[1], OC = OCg * group;
  for (int k = 0; k < 2; k++) {
    int64_t expect = st[k] * (in[0].dims[2 + k] - 1) + (nop ? op[k] : 0) +
                     (in[1].dims[2 + k] - 1) * di[k] + 1 - pb[k] - pe[k];
    if (expect != out[0].dims[2 + k] || st[k] <= 0) return unsupported(n, "geometry");
  }
  if (in[1].dims[0] != C || out[0].dims[1] != OC) return unsupported(n, "channels");
  x->kind = OCL_K_CONV_TRANSPOSE;
  x->name = "ocl_conv_transpose2d_direct";
  int *a = x->ia;
  a[0] = (int)C, a[1] = (int)in[0].dims[2], a[2] = (int)in[0].dims[3], a[3] = (int)OC;
  a[4] = (int)out[0].dims[2], a[5] = (int)out[0].dims[3], a[6] = (int)in[1].dims[2];
  a[7] = (int)in[1].dims[3], a[8] = (int)st[0], a[9] = (int)st[1], a[10] = (int)pb[0];
  a[11] = (int)pb[1], a[12] = (int)di[0], a[13] = (int)di[1], a[14] = (int)group;
  a[15] = (int)elements(&out[0]);
  x->has_bias = bias;
  LENS_TRY(upload_const(d, x, &in[1], upload, false, &x->w));
  if (bias) LENS_TRY(upload_const(d, x, &in[2], upload, true, &x->bias));
  return set_1d(x, elements(&out[0]));
}

/* ---- GEMM / MatMul ------------------------------------------------------------------- */

/* ia: a_bs a_sm a_sk b_bs b_sk b_sn c_sm c_sn has_c M N K batch */
static lens_status *analyze_gemm(ocl_device *d, const lens_backend_node *bn, ocl_node *x,
                                 bool upload) {
  const lens_node *n = bn->node;
  const lens_value *in = bn->in, *out = bn->out;
  int *a = x->ia;
  memset(a, 0, sizeof x->ia);
  x->fa[0] = 1.0f, x->fa[1] = 1.0f;
  int64_t M, N, K, batch = 1;
  if (strcmp(n->op_type, "Gemm") == 0) {
    if (in[0].rank != 2 || in[1].rank != 2) return unsupported(n, "Gemm operands not 2-D");
    int64_t ta = 0, tb = 0;
    LENS_TRY(lens_attr_int(n, "transA", 0, &ta));
    LENS_TRY(lens_attr_int(n, "transB", 0, &tb));
    LENS_TRY(lens_attr_float(n, "alpha", 1.0f, &x->fa[0]));
    LENS_TRY(lens_attr_float(n, "beta", 1.0f, &x->fa[1]));
    M = ta ? in[0].dims[1] : in[0].dims[0];
    K = ta ? in[0].dims[0] : in[0].dims[1];
    N = tb ? in[1].dims[0] : in[1].dims[1];
    a[1] = ta ? 1 : (int)in[0].dims[1], a[2] = ta ? (int)in[0].dims[1] : 1;
    a[4] = tb ? 1 : (int)in[1].dims[1], a[5] = tb ? (int)in[1].dims[1] : 1;
    if (lens_node_has_input(n, in, 2)) {
      const lens_value *c = &in[2];
      if (!is_const(c) || c->rank > 2) return unsupported(n, "C is not a constant matrix");
      int64_t cm = c->rank == 2 ? c->dims[0] : 1, cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
      a[6] = cm == 1 ? 0 : (int)cn;
      a[7] = cn == 1 ? 0 : 1;
      a[8] = 1;
      LENS_TRY(upload_const(d, x, c, upload, true, &x->bias));
    }
  } else {
    const lens_value *A = &in[0], *B = &in[1];
    if (A->rank < 2 || B->rank < 2 || out[0].rank < 2)
      return unsupported(n, "MatMul with a 1-D operand");
    M = A->dims[A->rank - 2], K = A->dims[A->rank - 1], N = B->dims[B->rank - 1];
    int br = out[0].rank - 2;
    for (int k = 0; k < br; k++) batch *= out[0].dims[k];
    const lens_value *ops[2] = {A, B};
    int bs[2];
    for (int o = 0; o < 2; o++) {
      const lens_value *v = ops[o];
      int64_t vb = 1;
      for (int k = 0; k < v->rank - 2; k++) vb *= v->dims[k];
      bool same = v->rank - 2 == br;
      for (int k = 0; same && k < br; k++) same = v->dims[k] == out[0].dims[k];
      if (vb == 1) bs[o] = 0;
      else if (same) bs[o] = (int)(v->dims[v->rank - 2] * v->dims[v->rank - 1]);
      else return unsupported(n, "MatMul batch broadcast");
    }
    a[0] = bs[0], a[1] = (int)K, a[2] = 1, a[3] = bs[1], a[4] = (int)N, a[5] = 1;
  }
  a[9] = (int)M, a[10] = (int)N, a[11] = (int)K, a[12] = (int)batch;
  if (!fits_int(elements(&in[0])) || !fits_int(elements(&in[1])) || !fits_int(batch))
    return unsupported(n, "too large");
  x->kind = OCL_K_GEMM;
  x->name = "ocl_gemm_tiled_32x64";
  x->wdim = 3;
  x->use_local = true;
  x->global[0] = round_up((size_t)N, 64) / 4;
  x->global[1] = round_up((size_t)M, 32) / 4;
  x->global[2] = (size_t)batch;
  x->local[0] = 16, x->local[1] = 8, x->local[2] = 1;
  for (int k = 0; k < 2; k++)
    if (is_const(&in[k])) LENS_TRY(upload_const(d, x, &in[k], upload, false, &x->cbuf[k]));
  return NULL;
}

/* ---- elementwise -------------------------------------------------------------------- */

static int unary_code(const char *op) {
  static const struct { const char *op; int code; } t[] = {
      {"Relu", LENS_ACT_RELU},       {"Clip", LENS_ACT_CLIP},
      {"Sigmoid", LENS_ACT_SIGMOID}, {"Tanh", LENS_ACT_TANH},
      {"LeakyRelu", LENS_ACT_LEAKYRELU}, {"HardSigmoid", LENS_ACT_HARDSIGMOID},
      {"HardSwish", LENS_ACT_HARDSWISH}, {"Exp", 8}, {"Sqrt", 9}, {"Neg", 10}, {"Log", 11}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp(op, t[i].op) == 0) return t[i].code;
  return -1;
}

static int binary_code(const char *op) {
  static const char *const t[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu"};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp(op, t[i]) == 0) return (int)i + 1;
  return -1;
}

static lens_status *unary_params(const lens_node *n, const lens_value *in, int code, float *a,
                                 float *b) {
  *a = 0.0f, *b = 0.0f;
  switch (code) {
  case LENS_ACT_LEAKYRELU: return lens_attr_float(n, "alpha", 0.01f, a);
  case LENS_ACT_HARDSIGMOID:
    LENS_TRY(lens_attr_float(n, "alpha", 0.2f, a));
    return lens_attr_float(n, "beta", 0.5f, b);
  case LENS_ACT_CLIP:
    *a = -INFINITY, *b = INFINITY;
    if (n->opset < 11) {
      LENS_TRY(lens_attr_float(n, "min", -3.402823466e38f, a));
      return lens_attr_float(n, "max", 3.402823466e38f, b);
    }
    for (int k = 1; k < 3; k++) {
      if (!lens_node_has_input(n, in, k)) continue;
      if (!is_const(&in[k]) || in[k].dtype != LENS_DTYPE_FLOAT32 || elements(&in[k]) != 1)
        return unsupported(n, "Clip bounds are not constant");
      *(k == 1 ? a : b) = *(const float *)in[k].data;
    }
    return NULL;
  default: return NULL;
  }
}

static lens_status *analyze_eltwise(ocl_device *d, const lens_backend_node *bn, ocl_node *x,
                                    bool upload) {
  const lens_node *n = bn->node;
  const lens_value *in = bn->in, *out = bn->out;
  int ops[8];
  float pa[8], pb[8];
  int n_ops = 0;
  int bin = binary_code(n->op_type);
  if (bin > 0) {
    if (n->n_inputs != 2) return unsupported(n, "not two inputs");
  } else {
    int code = unary_code(n->op_type);
    if (code < 0) return unsupported(n, "operator");
    LENS_TRY(unary_params(n, in, code, &pa[0], &pb[0]));
    ops[n_ops++] = code;
    bin = 0;
  }
  for (int k = 0; k < bn->n_chain; k++) {
    if (n_ops >= 8) return unsupported(n, "chain too long");
    ops[n_ops] = bn->chain[k].act;
    pa[n_ops] = bn->chain[k].alpha;
    pb[n_ops] = bn->chain[k].beta;
    n_ops++;
  }
  if (out[0].rank > 8 || !fits_int(elements(&out[0]))) return unsupported(n, "shape");
  x->kind = OCL_K_ELTWISE;
  x->name = bin ? (n_ops ? "ocl_eltwise_binary_chain" : "ocl_eltwise_binary")
                : (n_ops > 1 ? "ocl_eltwise_unary_chain" : "ocl_eltwise_unary");
  x->binop = bin;
  x->rank = out[0].rank;
  x->n_ops = n_ops;
  memset(&x->dims, 0, sizeof x->dims);
  memset(&x->astr, 0, sizeof x->astr);
  memset(&x->bstr, 0, sizeof x->bstr);
  memset(&x->ops, 0, sizeof x->ops);
  memset(&x->pa, 0, sizeof x->pa);
  memset(&x->pb, 0, sizeof x->pb);
  for (int k = 0; k < n_ops; k++) x->ops.s[k] = ops[k], x->pa.s[k] = pa[k], x->pb.s[k] = pb[k];
  for (int k = 0; k < out[0].rank; k++) x->dims.s[k] = (cl_int)out[0].dims[k];
  for (int o = 0; o < (bin ? 2 : 1); o++) {
    const lens_value *v = &in[o];
    int64_t str[LENS_MAX_RANK];
    lens_broadcast_strides(v, out[0].rank, out[0].dims, str);
    bool same = v->rank == out[0].rank;
    for (int k = 0; same && k < v->rank; k++) same = v->dims[k] == out[0].dims[k];
    int mode = same ? 0 : elements(v) == 1 ? 1 : 2;
    for (int k = 0; k < out[0].rank; k++) (o ? &x->bstr : &x->astr)->s[k] = (cl_int)str[k];
    if (o) x->b_mode = mode;
    else x->a_mode = mode;
    if (is_const(v)) LENS_TRY(upload_const(d, x, v, upload, false, &x->cbuf[o]));
  }
  return set_1d(x, elements(&out[0]));
}

static lens_status *analyze_batchnorm(ocl_device *d, const lens_backend_node *bn, ocl_node *x,
                                      bool upload) {
  const lens_node *n = bn->node;
  const lens_value *in = bn->in, *out = bn->out;
  if (n->n_outputs != 1 || in[0].rank < 2) return unsupported(n, "training outputs");
  int64_t train = 0;
  LENS_TRY(lens_attr_int(n, "training_mode", 0, &train));
  if (train) return unsupported(n, "training mode");
  float eps = 1e-5f;
  LENS_TRY(lens_attr_float(n, "epsilon", 1e-5f, &eps));
  int64_t C = in[0].dims[1];
  for (int k = 1; k < 5; k++)
    if (!is_const(&in[k]) || elements(&in[k]) != C) return unsupported(n, "parameters");
  if (!fits_int(elements(&out[0]))) return unsupported(n, "too large");
  x->kind = OCL_K_CHANNEL_AFFINE;
  x->name = "ocl_channel_affine";
  x->ia[0] = (int)C;
  int64_t planes = in[0].dims[0] * C;
  x->ia[1] = planes > 0 ? (int)(elements(&in[0]) / planes) : 0;
  x->ia[2] = (int)elements(&out[0]);
  if (upload) {
    float *scale = malloc(((size_t)C + 1) * sizeof *scale);
    float *shift = malloc(((size_t)C + 1) * sizeof *shift);
    lens_status *st = (!scale || !shift) ? lens_error_oom() : NULL;
    const float *g = in[1].data, *b = in[2].data, *m = in[3].data, *v = in[4].data;
    for (int64_t c = 0; !st && c < C; c++) {
      scale[c] = g[c] / sqrtf(v[c] + eps);
      shift[c] = b[c] - m[c] * scale[c];
    }
    if (!st) st = lens_ocl_const_buffer(d, scale, (size_t)C, true, &x->bias);
    if (!st) st = lens_ocl_const_buffer(d, shift, (size_t)C, true, &x->shift);
    free(scale);
    free(shift);
    LENS_TRY(st);
  }
  return set_1d(x, elements(&out[0]));
}

/* ---- pooling ------------------------------------------------------------------------ */

static lens_status *analyze_pool(ocl_device *d, const lens_backend_node *bn, ocl_node *x,
                                 bool upload) {
  const lens_node *n = bn->node;
  const lens_value *in = bn->in, *out = bn->out;
  bool is_max = strcmp(n->op_type, "MaxPool") == 0;
  if (in[0].rank != 4 || (n->n_outputs > 1 && n->outputs[1] >= 0))
    return unsupported(n, "only 2-D pooling without indices");
  lens_window_attrs wa;
  LENS_TRY(lens_window_attrs_parse(n, is_max || n->opset >= 19, &wa));
  int64_t ceil_mode = 0, cip = 0;
  LENS_TRY(lens_attr_int(n, "ceil_mode", 0, &ceil_mode));
  if (!is_max) LENS_TRY(lens_attr_int(n, "count_include_pad", 0, &cip));
  if (wa.n_kernel != 2) return unsupported(n, "kernel_shape");
  lens_window w;
  LENS_TRY(lens_window_resolve(n, &wa, 2, &in[0].dims[2], wa.kernel, ceil_mode != 0, &w));
  if (w.out[0] != out[0].dims[2] || w.out[1] != out[0].dims[3])
    return unsupported(n, "output size");
  if (!fits_int(elements(&in[0]))) return unsupported(n, "too large");
  x->kind = OCL_K_POOL;
  x->name = is_max ? "ocl_maxpool2d" : "ocl_averagepool2d";
  int *a = x->ia;
  a[0] = (int)in[0].dims[2], a[1] = (int)in[0].dims[3], a[2] = (int)w.out[0];
  a[3] = (int)w.out[1], a[4] = (int)w.kernel[0], a[5] = (int)w.kernel[1];
  a[6] = (int)w.stride[0], a[7] = (int)w.stride[1], a[8] = (int)w.pad_begin[0];
  a[9] = (int)w.pad_begin[1], a[10] = (int)w.pad_end[0], a[11] = (int)w.pad_end[1];
  a[12] = (int)w.dilation[0], a[13] = (int)w.dilation[1], a[14] = is_max, a[15] = (int)cip;
  a[16] = (int)elements(&out[0]);
  (void)d, (void)upload;
  return set_1d(x, elements(&out[0]));
}

static lens_status *analyze_global_pool(ocl_device *d, const lens_backend_node *bn,
                                        ocl_node *x, bool upload) {
  const lens_node *n = bn->node;
  const lens_value *in = bn->in;
  if (in[0].rank < 3 || !fits_int(elements(&in[0]))) return unsupported(n, "shape");
  int64_t planes = in[0].dims[0] * in[0].dims[1];
  x->kind = OCL_K_GLOBAL_POOL;
  x->name = "ocl_global_pool_wg64";
  x->ia[0] = planes ? (int)(elements(&in[0]) / planes) : 0;
  x->ia[1] = strcmp(n->op_type, "GlobalMaxPool") == 0;
  x->wdim = 1;
  x->use_local = true;
  x->global[0] = (size_t)(planes ? planes : 1) * 64;
  x->local[0] = 64;
  if (!fits_int((int64_t)x->global[0])) return unsupported(n, "too large");
  (void)d, (void)upload;
  return NULL;
}

/* ---- data movement ------------------------------------------------------------------ */

static lens_status *add_copy(const lens_node *n, ocl_node *x, int src, int dst, int rank,
                             const int64_t *dims, const int64_t *xstr, const int64_t *ystr,
                             int64_t x_base, int64_t y_base) {
  if (rank > 8) return unsupported(n, "rank above 8");
  copy_desc *c = &x->copies[x->n_copies++];
  memset(c, 0, sizeof *c);
  c->src = src, c->dst = dst, c->rank = rank;
  int64_t total = 1;
  for (int k = 0; k < rank; k++) {
    c->dims[k] = (cl_int)dims[k];
    c->xstr[k] = (cl_int)xstr[k];
    c->ystr[k] = (cl_int)ystr[k];
    total *= dims[k];
  }
  if (!fits_int(total) || !fits_int(x_base) || !fits_int(y_base))
    return unsupported(n, "too large");
  c->total = (int)total;
  c->x_base = (int)x_base, c->y_base = (int)y_base;
  return NULL;
}

static lens_status *analyze_copy(ocl_device *d, const lens_backend_node *bn, ocl_node *x,
                                 bool upload) {
  const lens_node *n = bn->node;
  const lens_value *in = bn->in, *out = bn->out;
  const char *op = n->op_type;
  x->kind = OCL_K_COPY;
  for (int k = 0; k < n->n_outputs; k++)
    if (n->outputs[k] >= 0 && !fits_int(elements(&out[k]))) return unsupported(n, "too large");
  if (!fits_int(elements(&in[0]))) return unsupported(n, "too large");
  int64_t istr[LENS_MAX_RANK], ostr[LENS_MAX_RANK];
  if (!strcmp(op, "Reshape") || !strcmp(op, "Flatten") || !strcmp(op, "Squeeze") ||
      !strcmp(op, "Unsqueeze") || !strcmp(op, "Identity")) {
    if (is_const(&in[0])) return unsupported(n, "constant data");
    x->name = "ocl_copy_buffer";
    x->copy_elems = (size_t)elements(&out[0]);
    return NULL;
  }
  x->copies = calloc((size_t)(n->n_inputs > n->n_outputs ? n->n_inputs : n->n_outputs) + 1,
                     sizeof *x->copies);
  if (!x->copies) return lens_error_oom();
  x->name = "ocl_copy_nd";
  if (!strcmp(op, "Transpose")) {
    const int64_t *perm = NULL;
    size_t np = 0;
    LENS_TRY(lens_attr_ints(n, "perm", &perm, &np));
    int r = in[0].rank;
    contiguous(in[0].dims, r, istr);
    contiguous(out[0].dims, r, ostr);
    int64_t xs[LENS_MAX_RANK];
    for (int k = 0; k < r; k++) {
      int64_t p = np ? perm[k] : r - 1 - k;
      if (p < 0 || p >= r) return unsupported(n, "perm");
      xs[k] = istr[p];
    }
    return add_copy(n, x, 0, 0, r, out[0].dims, xs, ostr, 0, 0);
  }
  if (!strcmp(op, "Concat") || !strcmp(op, "Split")) {
    bool concat = op[0] == 'C';
    int64_t axis = concat ? 0 : 0;
    LENS_TRY(lens_attr_int(n, "axis", 0, &axis));
    const lens_value *whole = concat ? &out[0] : &in[0];
    int r = whole->rank, ax;
    LENS_TRY(lens_normalize_axis(n, axis, r, &ax));
    int64_t wstr[LENS_MAX_RANK];
    contiguous(whole->dims, r, wstr);
    int64_t pos = 0;
    int parts = concat ? n->n_inputs : n->n_outputs;
    for (int k = 0; k < parts; k++) {
      const lens_value *part = concat ? &in[k] : &out[k];
      if (!concat && n->outputs[k] < 0) return unsupported(n, "omitted output");
      int64_t pstr[LENS_MAX_RANK];
      contiguous(part->dims, r, pstr);
      if (concat) {
        LENS_TRY(add_copy(n, x, k, 0, r, part->dims, pstr, wstr, 0, pos * wstr[ax]));
        if (is_const(part)) LENS_TRY(upload_const(d, x, part, upload, false, &x->cbuf[k]));
      } else {
        LENS_TRY(add_copy(n, x, 0, k, r, part->dims, wstr, pstr, pos * wstr[ax], 0));
      }
      pos += part->dims[ax];
    }
    return NULL;
  }
  if (!strcmp(op, "Slice")) {
    int r = in[0].rank;
    int64_t start[LENS_MAX_RANK] = {0}, step[LENS_MAX_RANK];
    for (int k = 0; k < r; k++) step[k] = 1;
    int64_t st[LENS_MAX_RANK], en[LENS_MAX_RANK], ax[LENS_MAX_RANK], sp[LENS_MAX_RANK];
    size_t ns = 0, ne = 0, na = 0, nsp = 0;
    if (n->opset < 10) return unsupported(n, "Slice-1");
    for (int k = 1; k < n->n_inputs; k++)
      if (lens_node_has_input(n, in, k) && !is_const(&in[k]))
        return unsupported(n, "slice bounds are not constant");
    LENS_TRY(lens_value_read_ints(n, &in[1], "starts", st, LENS_MAX_RANK, &ns));
    LENS_TRY(lens_value_read_ints(n, &in[2], "ends", en, LENS_MAX_RANK, &ne));
    if (lens_node_has_input(n, in, 3))
      LENS_TRY(lens_value_read_ints(n, &in[3], "axes", ax, LENS_MAX_RANK, &na));
    if (lens_node_has_input(n, in, 4))
      LENS_TRY(lens_value_read_ints(n, &in[4], "steps", sp, LENS_MAX_RANK, &nsp));
    if (ne != ns || (na && na != ns) || (nsp && nsp != ns)) return unsupported(n, "counts");
    for (size_t i = 0; i < ns; i++) {
      int a;
      LENS_TRY(lens_normalize_axis(n, na ? ax[i] : (int64_t)i, r, &a));
      int64_t D = in[0].dims[a], s = st[i], e = en[i], p = nsp ? sp[i] : 1;
      if (p == 0) return unsupported(n, "step 0");
      if (s < 0) s += D;
      if (e < 0) e += D;
      if (p > 0) {
        s = s < 0 ? 0 : s > D ? D : s;
      } else {
        s = s < 0 ? 0 : s > D - 1 ? D - 1 : s;
      }
      start[a] = s;
      step[a] = p;
    }
    contiguous(in[0].dims, r, istr);
    contiguous(out[0].dims, r, ostr);
    int64_t xs[LENS_MAX_RANK], base = 0;
    for (int k = 0; k < r; k++) {
      xs[k] = istr[k] * step[k];
      base += start[k] * istr[k];
      int64_t last = start[k] + (out[0].dims[k] - 1) * step[k];
      if (out[0].dims[k] > 0 && (last < 0 || last >= in[0].dims[k]))
        return unsupported(n, "bounds");
    }
    return add_copy(n, x, 0, 0, r, out[0].dims, xs, ostr, base, 0);
  }
  return unsupported(n, "operator");
}

static lens_status *analyze_pad(ocl_device *d, const lens_backend_node *bn, ocl_node *x,
                                bool upload) {
  const lens_node *n = bn->node;
  const lens_value *in = bn->in, *out = bn->out;
  const char *mode = "constant";
  LENS_TRY(lens_attr_string(n, "mode", "constant", &mode));
  if (strcmp(mode, "constant") != 0 || n->opset < 11) return unsupported(n, "mode");
  int r = in[0].rank;
  if (r > 8 || n->n_inputs > 3) return unsupported(n, "rank / axes");
  if (!is_const(&in[1])) return unsupported(n, "pads not constant");
  int64_t pads[16];
  size_t np = 0;
  LENS_TRY(lens_value_read_ints(n, &in[1], "pads", pads, 16, &np));
  if ((int)np != 2 * r) return unsupported(n, "pads");
  float value = 0.0f;
  if (lens_node_has_input(n, in, 2)) {
    if (!is_const(&in[2]) || in[2].dtype != LENS_DTYPE_FLOAT32)
      return unsupported(n, "value");
    value = *(const float *)in[2].data;
  }
  memset(&x->dims, 0, sizeof x->dims);
  memset(&x->astr, 0, sizeof x->astr);
  memset(&x->bstr, 0, sizeof x->bstr);
  for (int k = 0; k < r; k++) {
    if (pads[k] < 0 || pads[k + r] < 0) return unsupported(n, "negative pads");
    x->dims.s[k] = (cl_int)out[0].dims[k];
    x->astr.s[k] = (cl_int)in[0].dims[k];
    x->bstr.s[k] = (cl_int)pads[k];
  }
  if (!fits_int(elements(&out[0]))) return unsupported(n, "too large");
  x->kind = OCL_K_PAD;
  x->name = "ocl_pad_constant";
  x->rank = r;
  x->fa[0] = value;
  (void)d, (void)upload;
  return set_1d(x, elements(&out[0]));
}

static lens_status *analyze_resize(ocl_device *d, const lens_backend_node *bn, ocl_node *x,
                                   bool upload) {
  const lens_node *n = bn->node;
  const lens_value *in = bn->in, *out = bn->out;
  if (in[0].rank != 4 || n->opset < 11 || n->opset > 18) return unsupported(n, "opset / rank");
  if (in[0].dims[0] != out[0].dims[0] || in[0].dims[1] != out[0].dims[1])
    return unsupported(n, "resizes N or C");
  if (lens_node_attr(n, "axes") || lens_node_attr(n, "antialias"))
    return unsupported(n, "axes / antialias");
  const char *mode = "nearest", *coord = "half_pixel", *nearest = "round_prefer_floor";
  LENS_TRY(lens_attr_string(n, "mode", "nearest", &mode));
  LENS_TRY(lens_attr_string(n, "coordinate_transformation_mode", "half_pixel", &coord));
  LENS_TRY(lens_attr_string(n, "nearest_mode", "round_prefer_floor", &nearest));
  static const char *const coords[] = {"half_pixel", "asymmetric", "align_corners",
                                       "pytorch_half_pixel"};
  static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                         "ceil"};
  int m = !strcmp(mode, "nearest") ? 0 : !strcmp(mode, "linear") ? 1 : -1, c = -1, nm = -1;
  for (int k = 0; k < 4; k++) {
    if (!strcmp(coord, coords[k])) c = k;
    if (!strcmp(nearest, nearests[k])) nm = k;
  }
  if (m < 0 || c < 0 || nm < 0) return unsupported(n, "mode");
  float scale[2] = {(float)out[0].dims[2] / (float)in[0].dims[2],
                    (float)out[0].dims[3] / (float)in[0].dims[3]};
  if (lens_node_has_input(n, in, 2) && elements(&in[2]) > 0) {
    if (!is_const(&in[2]) || elements(&in[2]) != 4 || in[2].dtype != LENS_DTYPE_FLOAT32)
      return unsupported(n, "scales");
    const float *s = in[2].data;
    scale[0] = s[2], scale[1] = s[3];
  }
  if (!fits_int(elements(&out[0]))) return unsupported(n, "too large");
  x->kind = OCL_K_RESIZE;
  x->name = m ? "ocl_resize2d_linear" : "ocl_resize2d_nearest";
  int *a = x->ia;
  a[0] = (int)in[0].dims[2], a[1] = (int)in[0].dims[3], a[2] = (int)out[0].dims[2];
  a[3] = (int)out[0].dims[3], a[4] = m, a[5] = c, a[6] = nm, a[7] = (int)elements(&out[0]);
  x->fa[0] = scale[0], x->fa[1] = scale[1];
  (void)d, (void)upload;
  return set_1d(x, elements(&out[0]));
}

static lens_status *analyze_rows(ocl_device *d, const lens_backend_node *bn, ocl_node *x,
                                 bool upload) {
  const lens_node *n = bn->node;
  const lens_value *in = bn->in;
  int r = in[0].rank;
  int64_t outer = 1, L = 1, inner = 1;
  if (!fits_int(elements(&in[0]))) return unsupported(n, "too large");
  if (!strcmp(n->op_type, "Softmax")) {
    int64_t axis;
    LENS_TRY(lens_attr_int(n, "axis", n->opset < 13 ? 1 : -1, &axis));
    int a;
    LENS_TRY(lens_normalize_axis(n, axis, r > 0 ? r : 1, &a));
    for (int k = 0; k < r; k++) {
      if (k < a) outer *= in[0].dims[k];
      else if (k == a || n->opset < 13) L *= in[0].dims[k];
      else inner *= in[0].dims[k];
    }
    x->kind = OCL_K_SOFTMAX;
    x->name = "ocl_softmax_rows";
  } else {
    bool axes_input = (!strcmp(n->op_type, "ReduceSum") && n->opset >= 13) || n->opset >= 18;
    int64_t axes[LENS_MAX_RANK];
    size_t na = 0;
    if (axes_input) {
      if (lens_node_has_input(n, in, 1)) {
        if (!is_const(&in[1])) return unsupported(n, "axes not constant");
        LENS_TRY(lens_value_read_ints(n, &in[1], "axes", axes, LENS_MAX_RANK, &na));
      }
    } else {
      const int64_t *av = NULL;
      LENS_TRY(lens_attr_ints(n, "axes", &av, &na));
      if (na > LENS_MAX_RANK) return unsupported(n, "axes");
      for (size_t k = 0; k < na; k++) axes[k] = av[k];
    }
    int64_t noop = 0;
    LENS_TRY(lens_attr_int(n, "noop_with_empty_axes", 0, &noop));
    if (na == 0 && noop) return unsupported(n, "noop");
    bool reduced[LENS_MAX_RANK] = {false};
    for (size_t k = 0; k < na; k++) {
      int a;
      LENS_TRY(lens_normalize_axis(n, axes[k], r, &a));
      reduced[a] = true;
    }
    if (na == 0)
      for (int k = 0; k < r; k++) reduced[k] = true;
    int first = -1, last = -1;
    for (int k = 0; k < r; k++)
      if (reduced[k]) {
        if (first < 0) first = k;
        else if (last != k - 1) return unsupported(n, "axes not contiguous");
        last = k;
      }
    if (first < 0) return unsupported(n, "no axes");
    for (int k = 0; k < r; k++) {
      if (k < first) outer *= in[0].dims[k];
      else if (k <= last) L *= in[0].dims[k];
      else inner *= in[0].dims[k];
    }
    x->kind = OCL_K_REDUCE;
    x->name = "ocl_reduce_rows";
    x->ia[2] = !strcmp(n->op_type, "ReduceMean") ? 0 : !strcmp(n->op_type, "ReduceSum") ? 1 : 2;
  }
  if (L == 0) return unsupported(n, "empty");
  x->ia[0] = (int)L, x->ia[1] = (int)inner, x->ia[3] = (int)(outer * inner);
  (void)d, (void)upload;
  return set_1d(x, outer * inner);
}

/* ---- dispatch ----------------------------------------------------------------------- */

typedef lens_status *(*analyze_fn)(ocl_device *, const lens_backend_node *, ocl_node *, bool);

static const struct {
  const char *op;
  analyze_fn fn;
  unsigned fuses;
} ops_table[] = {
    {"Conv", analyze_conv, LENS_FUSE_ACTIVATION | LENS_FUSE_RESIDUAL},
    {"ConvTranspose", analyze_conv_transpose, 0},
    {"Gemm", analyze_gemm, LENS_FUSE_ACTIVATION | LENS_FUSE_RESIDUAL},
    {"MatMul", analyze_gemm, LENS_FUSE_ACTIVATION | LENS_FUSE_RESIDUAL},
    {"Add", analyze_eltwise, LENS_FUSE_UNARY_CHAIN}, {"Sub", analyze_eltwise, LENS_FUSE_UNARY_CHAIN},
    {"Mul", analyze_eltwise, LENS_FUSE_UNARY_CHAIN}, {"Div", analyze_eltwise, LENS_FUSE_UNARY_CHAIN},
    {"Pow", analyze_eltwise, LENS_FUSE_UNARY_CHAIN}, {"Max", analyze_eltwise, LENS_FUSE_UNARY_CHAIN},
    {"Min", analyze_eltwise, LENS_FUSE_UNARY_CHAIN}, {"PRelu", analyze_eltwise, LENS_FUSE_UNARY_CHAIN},
    {"Relu", analyze_eltwise, LENS_FUSE_UNARY_CHAIN}, {"Clip", analyze_eltwise, LENS_FUSE_UNARY_CHAIN},
    {"Sigmoid", analyze_eltwise, LENS_FUSE_UNARY_CHAIN}, {"Tanh", analyze_eltwise, LENS_FUSE_UNARY_CHAIN},
    {"LeakyRelu", analyze_eltwise, LENS_FUSE_UNARY_CHAIN},
    {"HardSigmoid", analyze_eltwise, LENS_FUSE_UNARY_CHAIN},
    {"HardSwish", analyze_eltwise, LENS_FUSE_UNARY_CHAIN}, {"Exp", analyze_eltwise, LENS_FUSE_UNARY_CHAIN},
    {"Sqrt", analyze_eltwise, LENS_FUSE_UNARY_CHAIN}, {"Neg", analyze_eltwise, LENS_FUSE_UNARY_CHAIN},
    {"Log", analyze_eltwise, LENS_FUSE_UNARY_CHAIN},
    {"BatchNormalization", analyze_batchnorm, LENS_FUSE_ACTIVATION},
    {"MaxPool", analyze_pool, 0}, {"AveragePool", analyze_pool, 0},
    {"GlobalAveragePool", analyze_global_pool, 0}, {"GlobalMaxPool", analyze_global_pool, 0},
    {"Reshape", analyze_copy, 0}, {"Flatten", analyze_copy, 0}, {"Squeeze", analyze_copy, 0},
    {"Unsqueeze", analyze_copy, 0}, {"Identity", analyze_copy, 0},
    {"Transpose", analyze_copy, 0}, {"Concat", analyze_copy, 0}, {"Split", analyze_copy, 0},
    {"Slice", analyze_copy, 0}, {"Pad", analyze_pad, 0}, {"Resize", analyze_resize, 0},
    {"Softmax", analyze_rows, 0}, {"ReduceMean", analyze_rows, 0},
    {"ReduceSum", analyze_rows, 0}, {"ReduceMax", analyze_rows, 0},
};

static int find_op(const lens_node *n) {
  if (n->domain && n->domain[0]) return -1;
  for (size_t i = 0; i < sizeof ops_table / sizeof ops_table[0]; i++)
    if (strcmp(n->op_type, ops_table[i].op) == 0) return (int)i;
  return -1;
}

static void node_release(void *state) {
  ocl_node *x = state;
  if (!x) return;
  for (int k = 0; x->cbuf && k < x->n_inputs; k++)
    if (x->cbuf[k]) clReleaseMemObject(x->cbuf[k]);
  if (x->w) clReleaseMemObject(x->w);
  if (x->bias) clReleaseMemObject(x->bias);
  if (x->shift) clReleaseMemObject(x->shift);
  free(x->cbuf);
  free(x->copies);
  free(x);
}

/* Float tensors only: every non-constant input and every output must be float32 (constant
 * inputs such as shapes, axes and pads are read here on the host). */
static bool float_io(const lens_node *n, const lens_value *in, const lens_value *out) {
  for (int k = 0; k < n->n_inputs; k++)
    if (n->inputs[k] >= 0 && !is_const(&in[k]) && in[k].dtype != LENS_DTYPE_FLOAT32)
      return false;
  for (int k = 0; k < n->n_outputs; k++)
    if (n->outputs[k] >= 0 && out[k].dtype != LENS_DTYPE_FLOAT32) return false;
  return n->n_inputs > 0 && n->inputs[0] >= 0 && in[0].dtype == LENS_DTYPE_FLOAT32;
}

static lens_status *analyze(ocl_device *d, const lens_backend_node *bn, bool upload,
                            ocl_node **out) {
  *out = NULL;
  int op = find_op(bn->node);
  if (op < 0) return unsupported(bn->node, "operator not implemented");
  if (!float_io(bn->node, bn->in, bn->out)) return unsupported(bn->node, "not float32");
  ocl_node *x = calloc(1, sizeof *x);
  if (!x) return lens_error_oom();
  x->n_inputs = bn->node->n_inputs;
  x->cbuf = calloc((size_t)x->n_inputs + 1, sizeof *x->cbuf);
  if (!x->cbuf) {
    node_release(x);
    return lens_error_oom();
  }
  if (bn->epilogue) {
    x->act = bn->epilogue->act;
    x->alpha = bn->epilogue->alpha;
    x->beta = bn->epilogue->beta;
    x->has_res = bn->has_residual;
  }
  lens_status *st = ops_table[op].fn(d, bn, x, upload);
  if (st) {
    node_release(x);
    return st;
  }
  *out = x;
  return NULL;
}

/* ---- the backend -------------------------------------------------------------------- */

static lens_status *b_open(const char *spec, const char *precision, void **dev) {
  ocl_device *d = NULL;
  LENS_TRY(lens_ocl_open(spec, precision, &d));
  *dev = d;
  return NULL;
}

static void b_close(void *dev) { lens_ocl_close(dev); }

static bool b_supports(void *dev, const lens_node *node, const lens_value *in,
                       const lens_value *out, unsigned *fuses) {
  /* LENS_OPENCL_DISABLE=Op1,Op2 keeps those operators on the CPU (for bisecting). */
  const char *off = getenv("LENS_OPENCL_DISABLE");
  if (off) {
    size_t len = strlen(node->op_type);
    for (const char *p = strstr(off, node->op_type); p; p = strstr(p + 1, node->op_type))
      if ((p == off || p[-1] == ',') && (p[len] == 0 || p[len] == ',')) return false;
  }
  lens_backend_node bn = {node, in, out, NULL, false, NULL, 0};
  ocl_node *x = NULL;
  lens_status *st = analyze(dev, &bn, false, &x);
  if (st) {
    lens_status_free(st);
    return false;
  }
  node_release(x);
  *fuses = ops_table[find_op(node)].fuses;
  return true;
}

static lens_status *b_prepare(void *dev, const lens_backend_node *info, void **state) {
  ocl_node *x = NULL;
  LENS_TRY(analyze(dev, info, true, &x));
  *state = x;
  return NULL;
}

static const char *b_kernel_name(const void *state) {
  return state ? ((const ocl_node *)state)->name : "opencl";
}

static size_t b_element_size(void *dev) { return ((ocl_device *)dev)->elem; }

static lens_status *b_alloc(void *dev, size_t bytes, void **mem) {
  ocl_device *d = dev;
  *mem = NULL;
  if (bytes / d->elem >= (size_t)INT_MAX)
    return lens_error(LENS_ERR_OUT_OF_MEMORY,
                      "OpenCL: the activation arena of %zu bytes needs offsets beyond 32 bits",
                      bytes);
  if (bytes > d->max_alloc || bytes > d->global_mem)
    return lens_error(LENS_ERR_OUT_OF_MEMORY,
                      "OpenCL device '%s' is too small for this model's activations: needs one "
                      "buffer of %zu bytes, the device allows %llu (of %llu bytes memory)",
                      d->name, bytes, (unsigned long long)d->max_alloc,
                      (unsigned long long)d->global_mem);
  cl_int err;
  cl_mem m = clCreateBuffer(d->context, CL_MEM_READ_WRITE, bytes ? bytes : 64, NULL, &err);
  if (!m || err != CL_SUCCESS) return lens_ocl_error(err, "clCreateBuffer (activation arena)");
  *mem = m;
  return NULL;
}

static void b_free(void *dev, void *mem) {
  (void)dev;
  if (mem) clReleaseMemObject((cl_mem)mem);
}

static lens_status *staging(ocl_device *d, size_t n) {
  if (n <= d->staging_n) return NULL;
  uint16_t *p = realloc(d->staging, n * sizeof *p);
  if (!p) return lens_error_oom();
  d->staging = p;
  d->staging_n = n;
  return NULL;
}

static lens_status *b_upload(void *dev, const lens_device_ref *dst, const float *src,
                             size_t n) {
  ocl_device *d = dev;
  if (!n) return NULL;
  const void *host = src;
  if (d->elem == 2) {
    LENS_TRY(staging(d, n));
    for (size_t i = 0; i < n; i++) d->staging[i] = lens_float_to_half(src[i]);
    host = d->staging;
  }
  cl_int err = clEnqueueWriteBuffer(d->queue, (cl_mem)dst->mem, CL_TRUE, dst->offset * d->elem,
                                    n * d->elem, host, 0, NULL, NULL);
  return err == CL_SUCCESS ? NULL : lens_ocl_error(err, "clEnqueueWriteBuffer");
}

static lens_status *b_download(void *dev, const lens_device_ref *src, float *dst, size_t n) {
  ocl_device *d = dev;
  if (!n) return NULL;
  void *host = dst;
  if (d->elem == 2) {
    LENS_TRY(staging(d, n));
    host = d->staging;
  }
  cl_int err = clEnqueueReadBuffer(d->queue, (cl_mem)src->mem, CL_TRUE, src->offset * d->elem,
                                   n * d->elem, host, 0, NULL, NULL);
  if (err != CL_SUCCESS) return lens_ocl_error(err, "clEnqueueReadBuffer");
  if (d->elem == 2)
    for (size_t i = 0; i < n; i++) dst[i] = lens_half_to_float(d->staging[i]);
  return NULL;
}

typedef struct argset {
  cl_kernel k;
  cl_uint i;
  cl_int err;
} argset;

static void arg(argset *a, size_t size, const void *p) {
  if (a->err == CL_SUCCESS) a->err = clSetKernelArg(a->k, a->i, size, p);
  a->i++;
}
static void arg_mem(argset *a, cl_mem m) { arg(a, sizeof m, &m); }
static void arg_int(argset *a, int v) {
  cl_int x = v;
  arg(a, sizeof x, &x);
}
static void arg_float(argset *a, float v) {
  cl_float x = v;
  arg(a, sizeof x, &x);
}

static cl_mem in_mem(const ocl_device *d, const ocl_node *x, const lens_device_ref *in, int k,
                     int *off) {
  if (x->cbuf[k]) {
    *off = 0;
    return x->cbuf[k];
  }
  *off = (int)in[k].offset;
  return in[k].mem ? (cl_mem)in[k].mem : d->dummy;
}

static lens_status *b_compute(void *dev, void *state, const lens_device_ref *in,
                              const lens_device_ref *out, const lens_device_ref *res) {
  ocl_device *d = dev;
  ocl_node *x = state;
  cl_int err = CL_SUCCESS;
  int xo = 0, bo = 0;
  cl_mem xm = in_mem(d, x, in, 0, &xo);
  cl_mem ym = (cl_mem)out[0].mem;
  int yo = (int)out[0].offset;
  cl_mem rm = res && res->mem ? (cl_mem)res->mem : d->dummy;
  int ro = res && res->mem ? (int)res->offset : 0;
  argset a = {d->kernels[x->kind], 0, CL_SUCCESS};
  const int *ia = x->ia;
  switch (x->kind) {
  case OCL_K_CONV:
  case OCL_K_DEPTHWISE:
    arg_mem(&a, xm), arg_int(&a, xo), arg_mem(&a, x->w);
    arg_mem(&a, x->has_bias ? x->bias : d->dummy), arg_int(&a, x->has_bias);
    arg_mem(&a, ym), arg_int(&a, yo), arg_mem(&a, rm), arg_int(&a, ro), arg_int(&a, x->has_res);
    for (int k = 0; k < 14; k++) arg_int(&a, ia[k]);
    if (x->kind == OCL_K_CONV) arg_int(&a, ia[14]), arg_int(&a, ia[15]);
    arg_int(&a, x->act), arg_float(&a, x->alpha), arg_float(&a, x->beta);
    break;
  case OCL_K_CONV_TRANSPOSE:
    arg_mem(&a, xm), arg_int(&a, xo), arg_mem(&a, x->w);
    arg_mem(&a, x->has_bias ? x->bias : d->dummy), arg_int(&a, x->has_bias);
    arg_mem(&a, ym), arg_int(&a, yo);
    for (int k = 0; k < 16; k++) arg_int(&a, ia[k]);
    break;
  case OCL_K_GEMM: {
    cl_mem bm = in_mem(d, x, in, 1, &bo);
    arg_mem(&a, xm), arg_int(&a, xo), arg_int(&a, ia[0]), arg_int(&a, ia[1]), arg_int(&a, ia[2]);
    arg_mem(&a, bm), arg_int(&a, bo), arg_int(&a, ia[3]), arg_int(&a, ia[4]), arg_int(&a, ia[5]);
    arg_mem(&a, ia[8] ? x->bias : d->dummy), arg_int(&a, ia[6]), arg_int(&a, ia[7]);
    arg_int(&a, ia[8]), arg_float(&a, x->fa[0]), arg_float(&a, x->fa[1]);
    arg_mem(&a, ym), arg_int(&a, yo), arg_mem(&a, rm), arg_int(&a, ro), arg_int(&a, x->has_res);
    arg_int(&a, ia[9]), arg_int(&a, ia[10]), arg_int(&a, ia[11]);
    arg_int(&a, x->act), arg_float(&a, x->alpha), arg_float(&a, x->beta);
    break;
  }
  case OCL_K_ELTWISE: {
    cl_mem bm = x->binop ? in_mem(d, x, in, 1, &bo) : d->dummy;
    arg_mem(&a, ym), arg_int(&a, yo), arg_mem(&a, xm), arg_int(&a, xo), arg_int(&a, x->a_mode);
    arg_mem(&a, bm), arg_int(&a, bo), arg_int(&a, x->b_mode), arg_int(&a, x->binop);
    arg_int(&a, x->rank), arg(&a, sizeof x->dims, &x->dims), arg(&a, sizeof x->astr, &x->astr);
    arg(&a, sizeof x->bstr, &x->bstr), arg_int(&a, x->n_ops), arg(&a, sizeof x->ops, &x->ops);
    arg(&a, sizeof x->pa, &x->pa), arg(&a, sizeof x->pb, &x->pb);
    arg_int(&a, (int)x->global[0]);
    break;
  }
  case OCL_K_CHANNEL_AFFINE:
    arg_mem(&a, ym), arg_int(&a, yo), arg_mem(&a, xm), arg_int(&a, xo), arg_mem(&a, x->bias);
    arg_mem(&a, x->shift), arg_int(&a, ia[0]), arg_int(&a, ia[1]), arg_int(&a, ia[2]);
    arg_int(&a, x->act), arg_float(&a, x->alpha), arg_float(&a, x->beta);
    break;
  case OCL_K_POOL:
    arg_mem(&a, ym), arg_int(&a, yo), arg_mem(&a, xm), arg_int(&a, xo);
    for (int k = 0; k < 17; k++) arg_int(&a, ia[k]);
    break;
  case OCL_K_GLOBAL_POOL:
    arg_mem(&a, ym), arg_int(&a, yo), arg_mem(&a, xm), arg_int(&a, xo);
    arg_int(&a, ia[0]), arg_int(&a, ia[1]);
    break;
  case OCL_K_PAD:
    arg_mem(&a, ym), arg_int(&a, yo), arg_mem(&a, xm), arg_int(&a, xo);
    arg(&a, sizeof x->dims, &x->dims), arg(&a, sizeof x->astr, &x->astr);
    arg(&a, sizeof x->bstr, &x->bstr), arg_int(&a, x->rank), arg_float(&a, x->fa[0]);
    arg_int(&a, (int)x->global[0]);
    break;
  case OCL_K_RESIZE:
    arg_mem(&a, ym), arg_int(&a, yo), arg_mem(&a, xm), arg_int(&a, xo);
    for (int k = 0; k < 7; k++) arg_int(&a, ia[k]);
    arg_float(&a, x->fa[0]), arg_float(&a, x->fa[1]), arg_int(&a, ia[7]);
    break;
  case OCL_K_SOFTMAX:
    arg_mem(&a, ym), arg_int(&a, yo), arg_mem(&a, xm), arg_int(&a, xo);
    arg_int(&a, ia[0]), arg_int(&a, ia[1]), arg_int(&a, ia[3]);
    break;
  case OCL_K_REDUCE:
    arg_mem(&a, ym), arg_int(&a, yo), arg_mem(&a, xm), arg_int(&a, xo);
    arg_int(&a, ia[0]), arg_int(&a, ia[1]), arg_int(&a, ia[2]), arg_int(&a, ia[3]);
    break;
  case OCL_K_COPY:
    if (x->copy_elems) {
      err = clEnqueueCopyBuffer(d->queue, xm, ym, (size_t)xo * d->elem, (size_t)yo * d->elem,
                                x->copy_elems * d->elem, 0, NULL, NULL);
      return err == CL_SUCCESS ? NULL : lens_ocl_error(err, "clEnqueueCopyBuffer");
    }
    for (int c = 0; c < x->n_copies; c++) {
      const copy_desc *cd = &x->copies[c];
      if (!cd->total) continue;
      int so, doff = (int)out[cd->dst].offset;
      cl_mem sm = in_mem(d, x, in, cd->src, &so);
      cl_int8 dims, xs, ys;
      memset(&dims, 0, sizeof dims), memset(&xs, 0, sizeof xs), memset(&ys, 0, sizeof ys);
      for (int k = 0; k < cd->rank; k++)
        dims.s[k] = cd->dims[k], xs.s[k] = cd->xstr[k], ys.s[k] = cd->ystr[k];
      argset c2 = {d->kernels[OCL_K_COPY], 0, CL_SUCCESS};
      arg_mem(&c2, (cl_mem)out[cd->dst].mem), arg_int(&c2, doff + cd->y_base);
      arg(&c2, sizeof ys, &ys), arg_mem(&c2, sm), arg_int(&c2, so + cd->x_base);
      arg(&c2, sizeof xs, &xs), arg(&c2, sizeof dims, &dims), arg_int(&c2, cd->rank);
      arg_int(&c2, cd->total);
      if (c2.err != CL_SUCCESS) return lens_ocl_error(c2.err, "clSetKernelArg (copy_nd)");
      size_t g = (size_t)cd->total;
      err = clEnqueueNDRangeKernel(d->queue, c2.k, 1, NULL, &g, NULL, 0, NULL, NULL);
      if (err != CL_SUCCESS) return lens_ocl_error(err, "clEnqueueNDRangeKernel (copy_nd)");
    }
    return NULL;
  default: return lens_error(LENS_ERR_RUNTIME, "opencl: unknown kernel kind %d", x->kind);
  }
  if (a.err != CL_SUCCESS) return lens_ocl_error(a.err, "clSetKernelArg");
  err = clEnqueueNDRangeKernel(d->queue, a.k, x->wdim, NULL, x->global,
                               x->use_local ? x->local : NULL, 0, NULL, NULL);
  return err == CL_SUCCESS ? NULL : lens_ocl_error(err, "clEnqueueNDRangeKernel");
}

static lens_status *b_finish(void *dev) {
  cl_int err = clFinish(((ocl_device *)dev)->queue);
  return err == CL_SUCCESS ? NULL : lens_ocl_error(err, "clFinish");
}

static const char *b_device_name(void *dev) { return ((ocl_device *)dev)->name; }

const lens_backend lens_ocl_backend = {
    .name = "opencl",
    .open = b_open,
    .close = b_close,
    .supports = b_supports,
    .prepare = b_prepare,
    .kernel_name = b_kernel_name,
    .release = node_release,
    .element_size = b_element_size,
    .alloc = b_alloc,
    .free = b_free,
    .upload = b_upload,
    .download = b_download,
    .compute = b_compute,
    .finish = b_finish,
    .device_name = b_device_name,
};

const lens_backend *lens_opencl_backend(void) { return &lens_ocl_backend; }
