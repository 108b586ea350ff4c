/* binary_f32: float32 Add, Sub, Mul and Div where one operand has the output's shape and
 * the other has it too, or is a scalar, or broadcasts along all but one contiguous block of
 * dims (a per-channel [C,1,1] against [N,C,H,W], a row [W] against [..,W]), plus a fused
 * residual and activation on each finished block. The reference walks any broadcast with
 * strides; this one is plain vector loops, compiled per ISA. Threads split NCHW planes by
 * position where lens_plane_parts says so, as the convolutions around do. */
#include <string.h>

#include "cpu/epilogue.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"

typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV } binary_op;

/* How an operand maps onto the output: element index (o / inner) % mid. A full operand has
 * mid = the output's size and inner = 1; a scalar has mid = 1. */
typedef struct operand_map {
  int64_t mid, inner;
} operand_map;

static bool map_operand(const lens_value *v, const lens_value *out, operand_map *m) {
  if (v->rank > out->rank) return false;
  int off = out->rank - v->rank, lo = -1, hi = -1;
  for (int d = 0; d < out->rank; d++) {
    int64_t vd = d < off ? 1 : v->dims[d - off];
    if (vd == out->dims[d] && vd != 1) {
      if (lo < 0) lo = d;
      else if (hi >= 0) return false; /* a second block */
    } else if (vd == 1) {
      if (lo >= 0 && hi < 0) hi = d;
    } else {
      return false;
    }
  }
  m->mid = 1;
  m->inner = 1;
  if (lo < 0) return true; /* scalar */
  if (hi < 0) hi = out->rank;
  for (int d = lo; d < hi; d++) m->mid *= out->dims[d];
  for (int d = hi; d < out->rank; d++) m->inner *= out->dims[d];
  return true;
}

static bool op_of(const char *type, binary_op *op) {
  if (strcmp(type, "Add") == 0) *op = OP_ADD;
  else if (strcmp(type, "Sub") == 0) *op = OP_SUB;
  else if (strcmp(type, "Mul") == 0) *op = OP_MUL;
  else if (strcmp(type, "Div") == 0) *op = OP_DIV;
  else return false;
  return true;
}

typedef struct binary_plan {
  binary_op op;
  int full;       /* the operand with the output's shape: 0 or 1 */
  operand_map other;
  int64_t total;
} binary_plan;

static bool plan_of(const lens_node *node, const lens_value *in, const lens_value *out,
                    binary_plan *p) {
  if ((node->domain && node->domain[0]) || !op_of(node->op_type, &p->op) ||
      node->n_inputs != 2 || in[0].dtype != LENS_DTYPE_FLOAT32 ||
      in[1].dtype != LENS_DTYPE_FLOAT32 || out[0].rank < 0)
    return false;
  operand_map m0, m1;
  if (!map_operand(&in[0], &out[0], &m0) || !map_operand(&in[1], &out[0], &m1)) return false;
  p->total = 1;
  for (int d = 0; d < out[0].rank; d++) p->total *= out[0].dims[d];
  if (m0.mid == p->total && m0.inner == 1) {
    p->full = 0;
    p->other = m1;
  } else if (m1.mid == p->total && m1.inner == 1) {
    p->full = 1;
    p->other = m0;
  } else {
    return false;
  }
  /* short periods or rows would be one call per few elements: left to the reference */
  if (p->other.mid > 1 && p->other.mid < p->total &&
      (p->other.inner == 1 ? p->other.mid : p->other.inner) < 16)
    return false;
  return p->total > 0;
}

static bool binary_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  binary_plan p;
  return plan_of(node, in, out, &p);
}

/* y[i] = a[i] OP b[i], a[i] OP s, s OP a[i] over n elements. */
typedef void (*vv_fn)(float *y, const float *a, const float *b, int64_t n);
typedef void (*vs_fn)(float *y, const float *a, float s, int64_t n);

#define LENS_DEFINE_BINARY(SUFFIX, ATTR, NAME, OPR)                                           \
  ATTR static void NAME##_vv_##SUFFIX(float *restrict y, const float *restrict a,             \
                                      const float *restrict b, int64_t n) {                   \
    for (int64_t i = 0; i < n; i++) y[i] = a[i] OPR b[i];                                     \
  }                                                                                           \
  ATTR static void NAME##_vs_##SUFFIX(float *restrict y, const float *restrict a, float s,    \
                                      int64_t n) {                                            \
    for (int64_t i = 0; i < n; i++) y[i] = a[i] OPR s;                                        \
  }                                                                                           \
  ATTR static void NAME##_sv_##SUFFIX(float *restrict y, const float *restrict a, float s,    \
                                      int64_t n) {                                            \
    for (int64_t i = 0; i < n; i++) y[i] = s OPR a[i];                                        \
  }

#define LENS_DEFINE_BINARY_ISA(SUFFIX, ATTR)                                                  \
  LENS_DEFINE_BINARY(SUFFIX, ATTR, add, +)                                                    \
  LENS_DEFINE_BINARY(SUFFIX, ATTR, sub, -)                                                    \
  LENS_DEFINE_BINARY(SUFFIX, ATTR, mul, *)                                                    \
  LENS_DEFINE_BINARY(SUFFIX, ATTR, div, /)                                                    \
  static const vv_fn vv_##SUFFIX[4] = {add_vv_##SUFFIX, sub_vv_##SUFFIX, mul_vv_##SUFFIX,      \
                                       div_vv_##SUFFIX};                                      \
  static const vs_fn vs_##SUFFIX[4] = {add_vs_##SUFFIX, sub_vs_##SUFFIX, mul_vs_##SUFFIX,      \
                                       div_vs_##SUFFIX};                                      \
  static const vs_fn sv_##SUFFIX[4] = {add_sv_##SUFFIX, sub_sv_##SUFFIX, mul_sv_##SUFFIX,      \
                                       div_sv_##SUFFIX};

#if defined(__x86_64__) || defined(__i386__)
LENS_DEFINE_BINARY_ISA(avx512, __attribute__((target("avx512f"))))
LENS_DEFINE_BINARY_ISA(avx2, __attribute__((target("avx2,fma"))))
#endif
LENS_DEFINE_BINARY_ISA(baseline, )

/* Output elements per parallel block when both operands are full. */
#define BLOCK 4096

typedef struct binary_job {
  const binary_plan *p;
  const float *full, *other;
  float *y;
  vv_fn vv;
  vs_fn vs;      /* full OP scalar, or scalar OP full when the full operand is the second */
  int64_t row_len; /* BLOCK (full or scalar), mid (other repeats) or inner (one per row), or
                    * the plane when threads split planes */
  const lens_epilogue *ep;
  lens_cpu_epilogue_fn epi;
  lens_split split; /* threads' parts of each plane-long row (parts 1: rows go whole) */
} binary_job;

/* Elements [b, e) of row r. */
static void binary_segment(const binary_job *j, int64_t r, int64_t b, int64_t e) {
  const binary_plan *p = j->p;
  int64_t off = r * j->row_len + b, n = e - b;
  float *y = j->y + off;
  const float *a = j->full + off;
  if (p->other.mid == 1) {
    j->vs(y, a, j->other[0], n);
  } else if (p->other.mid == p->total) {
    const float *o = j->other + off;
    if (p->full == 0) j->vv(y, a, o, n);
    else j->vv(y, o, a, n);
  } else if (p->other.inner == 1) {
    if (p->full == 0) j->vv(y, a, j->other + b, n);
    else j->vv(y, j->other + b, a, n);
  } else {
    j->vs(y, a, j->other[r % p->other.mid], n);
  }
  if (j->ep) j->epi(j->ep, 0.0f, y, j->ep->residual ? j->ep->residual + off : NULL, (size_t)n);
}

static void binary_rows(void *arg, size_t begin, size_t end) {
  const binary_job *j = arg;
  for (size_t r = begin; r < end; r++) {
    int64_t left = j->p->total - (int64_t)r * j->row_len;
    binary_segment(j, (int64_t)r, 0, left < j->row_len ? left : j->row_len);
  }
}

/* Rows that are NCHW planes, split by position like the convolutions around them. */
static void binary_plane_part(void *arg, size_t plane, int part) {
  const binary_job *j = arg;
  int64_t b, e;
  lens_sgemm_split_cols(&j->split, j->row_len, part, &b, &e);
  if (b < e) binary_segment(j, (int64_t)plane, b, e);
}

static lens_status *binary_compute(const lens_node *node, const lens_value *in,
                                   lens_value *out, lens_exec_ctx *ctx) {
  binary_plan p;
  if (!plan_of(node, in, out, &p))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "binary_f32: unsupported shapes");
  const vv_fn *vv = vv_baseline;
  const vs_fn *vs = vs_baseline, *sv = sv_baseline;
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: vv = vv_avx512, vs = vs_avx512, sv = sv_avx512; break;
  case LENS_CPU_ISA_AVX2: vv = vv_avx2, vs = vs_avx2, sv = sv_avx2; break;
  default: break;
  }
#endif
  const lens_epilogue *ep = lens_exec_epilogue(ctx);
  binary_job job = {&p, in[p.full].data, in[1 - p.full].data, out[0].data, vv[p.op],
                    p.full == 0 ? vs[p.op] : sv[p.op], 0,
                    lens_cpu_epilogue_is_empty(ep) ? NULL : ep, lens_cpu_epilogue_select(),
                    {0}};
  if (p.other.mid == p.total || p.other.mid == 1) job.row_len = BLOCK;
  else if (p.other.inner == 1) job.row_len = p.other.mid;
  else job.row_len = p.other.inner;
  /* small tensors: the fork costs more than the loop */
  bool threaded = p.total >= 65536;
  int64_t plane = out[0].rank == 4 ? out[0].dims[2] * out[0].dims[3] : 0;
  int parts = plane ? lens_plane_parts(ctx, out[0].dims[2], out[0].dims[3]) : 1;
  if (threaded && parts > 1 && (job.row_len == BLOCK || job.row_len == plane)) {
    job.row_len = plane;
    lens_exec_split(ctx, parts, &job.split);
    lens_parallel_plane_parts(ctx, (size_t)(p.total / plane), parts, binary_plane_part, &job);
    return NULL;
  }
  size_t rows = (size_t)((p.total + job.row_len - 1) / job.row_len);
  if (!threaded) binary_rows(&job, 0, rows);
  else lens_parallel_for(ctx, rows, binary_rows, &job);
  return NULL;
}

#define LENS_BINARY_KERNEL(SYM, NAME, OP)                                                     \
  const lens_kernel SYM = {                                                                   \
      .name = NAME,                                                                           \
      .op_type = OP,                                                                          \
      .precision = "fp32",                                                                    \
      .supports = binary_supports,                                                            \
      .compute = binary_compute,                                                              \
      .fuses = LENS_FUSE_ACTIVATION | LENS_FUSE_RESIDUAL,                                     \
  };

LENS_BINARY_KERNEL(lens_kernel_add_f32, "add_f32", "Add")
LENS_BINARY_KERNEL(lens_kernel_sub_f32, "sub_f32", "Sub")
LENS_BINARY_KERNEL(lens_kernel_mul_f32, "mul_f32", "Mul")
LENS_BINARY_KERNEL(lens_kernel_div_f32, "div_f32", "Div")
