/* The operator interface: every ONNX operator Lens supports is one lens_op_def, defined in
 * its own file in this folder, with validation (prepare), a shape and type rule (infer), a
 * FLOP count and a plain reference kernel (compute). */
#ifndef LENS_OPS_OP_H
#define LENS_OPS_OP_H

#include "graph/graph.h"

/* A tensor as an operator sees it. In static inference data is NULL unless the value is a
 * known constant; rank is -1 while the shape is unknown. In compute, every present input has
 * data, and every output has its dtype, shape (from infer) and allocated data. An omitted
 * optional input has dtype LENS_DTYPE_UNDEFINED. */
typedef struct lens_value {
  lens_dtype dtype;
  int rank;
  int64_t dims[LENS_MAX_RANK];
  void *data;
} lens_value;

typedef struct lens_exec_ctx lens_exec_ctx;

enum {
  /* compute() reads only the input shapes, never input data (Shape): the session can fold
   * the node as soon as shapes are known. */
  LENS_OP_READS_SHAPES_ONLY = 1u << 0,
};

typedef struct lens_op_def {
  const char *name;       /* ONNX op_type */
  const char *domain;     /* "" for the default domain */
  int min_inputs;         /* arity, checked before prepare */
  int max_inputs;
  int min_outputs;
  int max_outputs;
  unsigned flags;
  /* Validates attributes for node->opset and parses them into node->params (malloc'd).
   * Every combination that compute does not implement must fail here. (optional) */
  lens_status *(*prepare)(lens_node *node);
  /* Sets each out[i].dtype, rank and dims from the inputs. When the output shape depends on
   * an input value that is not known (in[i].data == NULL), sets that output's rank to -1 and
   * returns NULL. Called only when every present input has a known rank. */
  lens_status *(*infer)(const lens_node *node, const lens_value *in, lens_value *out);
  /* Floating-point operations for these shapes (a multiply-add counts 2). (optional: 0) */
  double (*flops)(const lens_node *node, const lens_value *in, const lens_value *out);
  /* Temporary bytes compute needs, given by lens_exec_scratch. (optional: 0) */
  size_t (*scratch_bytes)(const lens_node *node, const lens_value *in, const lens_value *out);
  /* The plain reference kernel: straightforward loops, the definition of correct. */
  lens_status *(*compute)(const lens_node *node, const lens_value *in, lens_value *out,
                          lens_exec_ctx *ctx);
} lens_op_def;

/* The operator for (domain, op_type), or NULL. */
const lens_op_def *lens_op_find(const char *domain, const char *op_type);
/* All registered operators (for listings and tests). */
const lens_op_def *const *lens_op_all(size_t *count);

/* ---- execution context ---------------------------------------------------------------- */

/* The scratch buffer (at least the bytes scratch_bytes asked for, 64-byte aligned). */
void *lens_exec_scratch(lens_exec_ctx *ctx);
int lens_exec_threads(const lens_exec_ctx *ctx);
/* Runs fn over [0, n) split into contiguous chunks across the session's threads (the
 * calling thread takes part). fn must not fail; write errors into your own state. */
void lens_parallel_for(lens_exec_ctx *ctx, size_t n,
                       void (*fn)(void *arg, size_t begin, size_t end), void *arg);
/* Which of the session's threads the caller is, 0 .. lens_exec_threads - 1, inside fn of a
 * lens_parallel_for (0 outside one): for per-thread buffers when tasks are not tied to
 * threads. */
int lens_exec_thread_index(void);
/* Threads may split NCHW planes by position instead of handing out whole planes: every
 * plane's part t then goes to thread t, as the GEMM-based convolutions split their output
 * columns, so that node after node each thread reads what its own core wrote (a line
 * another core wrote costs several times as much to read here, and it is most of the
 * traffic where a node split by planes sits between two split by position). Planes of at
 * least LENS_PLANE_SPLIT_MIN positions are split so; smaller ones are not worth the part
 * boundaries (two threads writing one cache line) and the per-call costs, and so are
 * planes of fewer than LENS_PLANE_SPLIT_MIN_ROWS rows per thread. */
#define LENS_PLANE_SPLIT_MIN 3000
#define LENS_PLANE_SPLIT_MIN_ROWS 16
/* Parts each rows x cols plane is split into: the thread count, or 1. */
int lens_plane_parts(const lens_exec_ctx *ctx, int64_t rows, int64_t cols);
/* Calls fn(arg, plane, part) for every plane in [0, planes) and part in [0, parts), with
 * part t of every plane on thread t; odd parts take the planes from the last, so that a
 * cache line that holds the end of one plane and the start of the next is written by the
 * two threads at different times. */
void lens_parallel_plane_parts(lens_exec_ctx *ctx, size_t planes, int parts,
                               void (*fn)(void *arg, size_t plane, int part), void *arg);
/* The plane that part takes after plane in lens_parallel_plane_parts (-1 after its last): for
 * kernels that ask for the next plane's lines while they compute this one's. */
static inline int64_t lens_plane_parts_next(size_t planes, size_t plane, int part) {
  if (part % 2) return plane > 0 ? (int64_t)plane - 1 : -1;
  return plane + 1 < planes ? (int64_t)plane + 1 : -1;
}
/* ---- static splits, sized by the threads' speeds ---------------------------------------
 * Kernels that give each thread one fixed part (part t on thread t, so that node after node
 * each thread takes the same positions and reads what its own core wrote) size the parts by
 * the speeds the session measured for its threads: the two cores of the shared machines this
 * runs on are often unequal for seconds at a time, and equal parts then wait for the slower
 * one. Every such kernel splits with the same shares, so the parts still line up from node
 * to node. */
#define LENS_SPLIT_MAX_PARTS 16
#define LENS_SPLIT_ONE 4096 /* a whole, in the units of lens_split.at */
typedef struct lens_split {
  int parts;
  bool weighted;                          /* false: equal parts */
  uint16_t at[LENS_SPLIT_MAX_PARTS + 1]; /* weighted: part t is [at[t], at[t + 1]) */
} lens_split;
/* The split into parts: by the threads' shares when there is one part per thread of the
 * session, else (and until speeds differ) equal parts. */
void lens_exec_split(const lens_exec_ctx *ctx, int parts, lens_split *s);
/* Part `part` of n items in whole units of unit: [*b, *e), clipped to n. Equal parts are
 * units * part / parts units from the start. */
void lens_split_range(const lens_split *s, int64_t n, int64_t unit, int part, int64_t *b,
                      int64_t *e);
/* After a region of split s (one part per thread): how much work each part had and how
 * long it took, so that the shares follow the threads' speeds. On the calling thread. */
void lens_exec_split_observe(lens_exec_ctx *ctx, const lens_split *s, const double *work,
                             const double *seconds);

/* Per-kernel state created when the session was prepared (NULL for reference kernels). */
void *lens_exec_kernel_state(const lens_exec_ctx *ctx);

/* ---- fused epilogues -------------------------------------------------------------------- */

typedef enum lens_activation_kind {
  LENS_ACT_NONE = 0,
  LENS_ACT_RELU,
  LENS_ACT_CLIP,        /* alpha = min, beta = max */
  LENS_ACT_SIGMOID,
  LENS_ACT_TANH,
  LENS_ACT_LEAKYRELU,   /* alpha */
  LENS_ACT_HARDSIGMOID, /* max(0, min(1, alpha * x + beta)) */
  LENS_ACT_HARDSWISH,   /* x * max(0, min(1, x / 6 + 0.5)) */
} lens_activation_kind;

/* Work a kernel does in its output loop in place of later nodes the session absorbed:
 * out = act(out + residual). Kernels see one only if they declare it in lens_kernel.fuses. */
typedef struct lens_epilogue {
  const float *residual;    /* same shape as output 0, or NULL */
  lens_activation_kind act;
  float alpha, beta;
  /* a MaxPool over the activated output, written instead of it (pool_scratch_bytes in
   * cpu/kernels.h), or NULL */
  const struct lens_window *pool;
  /* a depthwise convolution over the activated output, written instead of it
   * (dw_scratch_bytes in cpu/kernels.h), or NULL */
  const struct lens_fused_dw *dw;
} lens_epilogue;

/* The epilogue for this node, or NULL. */
const lens_epilogue *lens_exec_epilogue(const lens_exec_ctx *ctx);
/* The plain definition: applies the epilogue to n contiguous outputs starting at element
 * offset (residual read at the same offset). */
void lens_epilogue_apply(const lens_epilogue *ep, float *out, size_t offset, size_t n);

/* ---- attribute access: absent -> default, wrong type -> error naming the node ---------- */

const lens_attr *lens_node_attr(const lens_node *node, const char *name);
lens_status *lens_attr_int(const lens_node *node, const char *name, int64_t def, int64_t *out);
lens_status *lens_attr_float(const lens_node *node, const char *name, float def, float *out);
/* *out NULL and *count 0 when absent. */
lens_status *lens_attr_ints(const lens_node *node, const char *name, const int64_t **out,
                            size_t *count);
lens_status *lens_attr_floats(const lens_node *node, const char *name, const float **out,
                              size_t *count);
lens_status *lens_attr_string(const lens_node *node, const char *name, const char *def,
                              const char **out);

/* Allocates a zeroed parameter block of size bytes, has parse fill it from the node's
 * attributes and makes it node->params; on failure node->params is left as it was. */
lens_status *lens_node_store_params(lens_node *node, size_t size,
                                    lens_status *(*parse)(lens_node *node, void *params));

/* ---- value helpers --------------------------------------------------------------------- */

static inline bool lens_value_present(const lens_value *v) {
  return v->dtype != LENS_DTYPE_UNDEFINED;
}
/* Element count of a value whose shape is known and validated (never negative). */
int64_t lens_value_elements(const lens_value *v);
/* Reads an int64 or int32 1-D (or scalar) tensor's values; fails if more than max. */
lens_status *lens_value_read_ints(const lens_node *node, const lens_value *v, const char *what,
                                  int64_t *out, size_t max, size_t *count);
/* Reads the first element of a numeric scalar (or 1-element) tensor as double. */
lens_status *lens_value_read_scalar(const lens_node *node, const lens_value *v,
                                    const char *what, double *out);
/* Element i of a numeric tensor as double / stores a double converted to the dtype. */
double lens_value_get_f64(lens_dtype dtype, const void *data, int64_t i);
void lens_value_set_f64(lens_dtype dtype, void *data, int64_t i, double x);

/* Checks that a shape is valid for an output: dims >= 0 and size within
 * LENS_MAX_TENSOR_BYTES; errors name the node. */
lens_status *lens_check_output_shape(const lens_node *node, const lens_value *out);

/* Normalises an axis in [-rank, rank) to [0, rank); error naming the node otherwise. */
lens_status *lens_normalize_axis(const lens_node *node, int64_t axis, int rank, int *out);

/* Multidirectional (numpy) broadcast of n shapes into out's rank and dims. */
lens_status *lens_broadcast_shape(const lens_node *node, const lens_value *const *values, int n,
                                  lens_value *out);
/* Element strides of in when broadcast to out_rank/out_dims: 0 along broadcast dims. */
void lens_broadcast_strides(const lens_value *in, int out_rank, const int64_t *out_dims,
                            int64_t *strides);
/* Row-major element strides of a shape. */
void lens_contiguous_strides(const int64_t *dims, int rank, int64_t *strides);

/* Declares one op definition; each op file defines exactly one (or a few related ones). */
#define LENS_OP_DECLARE(sym) extern const lens_op_def sym

#endif
