/* The one broadcasting loop behind every elementwise operator (arithmetic, comparison,
 * selection, activations, Cast), and the table-driven infer/compute most of them share.
 *
 * An operator supplies "run" functions: each processes n consecutive output elements whose
 * inputs either advance with the output (step 1) or stay on one element (step 0, a broadcast
 * along the run). lens_ew_apply coalesces the broadcast shapes so that equal shapes become
 * one long run and a scalar operand becomes a step-0 input, and walks the rest with strides,
 * splitting big outputs across the session's threads. */
#ifndef LENS_OPS_ELEMENTWISE_COMMON_H
#define LENS_OPS_ELEMENTWISE_COMMON_H

#include "ops/op.h"

#define LENS_EW_MAX_INPUTS 3
/* Kernel tables are indexed by lens_dtype value; every supported dtype is below this. */
#define LENS_EW_DTYPES 11

/* out[i] = f(in[0][i * step[0]], in[1][i * step[1]], ...) for i in [0, n); step[k] is 0 or 1.
 * Returns false when an element cannot be computed (integer division by zero): it then
 * writes some value there and the operator reports a runtime error. Runs may execute
 * concurrently, so they must not write shared state. */
typedef bool (*lens_ew_fn)(const void *const *in, const int64_t *step, void *out, int64_t n,
                           const void *params);

/* Applies fn over every element of out (its dtype, shape and data set), broadcasting each
 * of the n_in inputs to out's shape. Returns false if any run failed. */
bool lens_ew_apply(lens_exec_ctx *ctx, int n_in, const lens_value *const *in, lens_value *out,
                   lens_ew_fn fn, const void *params);

/* An elementwise operator whose inputs all have one dtype. */
typedef struct lens_ew_op {
  int arity;                    /* 1: unary; 2: binary (variadic ops fold it pairwise) */
  lens_ew_fn fn[LENS_EW_DTYPES]; /* by input dtype; NULL: not supported */
  bool float16_via_float32;     /* float16 runs convert to float and use fn[FLOAT32] */
  bool bool_output;             /* output is bool (comparisons); else the input dtype */
  bool unidirectional;          /* input 1 broadcasts to input 0's shape (PRelu) */
  double flops_per_element;     /* for float inputs; 0 counts 1 */
  const char *failure;          /* runtime error message when a run fails */
} lens_ew_op;

bool lens_ew_supports(const lens_ew_op *op, lens_dtype dtype);

/* Fails naming the first attribute of node that is not in the NULL-terminated list allowed
 * (so attributes of other opsets, like the legacy 'broadcast', are refused, not ignored). */
lens_status *lens_ew_check_attrs(const lens_node *node, const char *const *allowed);
/* prepare for operators without attributes. */
lens_status *lens_ew_prepare_no_attrs(lens_node *node);

/* Checks that the node's inputs are present, share a supported dtype and broadcast; sets
 * out[0]. */
lens_status *lens_ew_infer(const lens_node *node, const lens_ew_op *op, const lens_value *in,
                           lens_value *out);
/* Runs op over the node's inputs with params: unary, binary, or binary folded left to right
 * over 3+ inputs (a single input to a binary op is copied). */
lens_status *lens_ew_compute(const lens_node *node, const lens_ew_op *op, const lens_value *in,
                             lens_value *out, lens_exec_ctx *ctx, const void *params);
/* Runs op's kernel for dtype over in -> out. Returns false if a run failed. */
bool lens_ew_run(lens_exec_ctx *ctx, const lens_ew_op *op, lens_dtype dtype, int n_in,
                 const lens_value *const *in, lens_value *out, const void *params);
/* FLOPs of op on these values: flops_per_element per output element and fold step, for
 * float inputs only. */
double lens_ew_flops(const lens_node *node, const lens_ew_op *op, const lens_value *in,
                     const lens_value *out);

/* Run-function generators. expr computes the result from x (and y); it may clear the local
 * `ok` to flag a failed element. In LENS_EW_UNARY, p is the params pointer as const PT *.
 * The four step cases are separate loops so that the compiler vectorises each. */
#define LENS_EW_BINARY(name, T, OT, expr)                                                     \
  static bool name(const void *const *in_, const int64_t *step_, void *out_, int64_t n_,     \
                   const void *params_) {                                                     \
    const T *a_ = in_[0], *b_ = in_[1];                                                       \
    OT *o_ = out_;                                                                            \
    bool ok = true;                                                                           \
    (void)params_;                                                                            \
    if (step_[0] && step_[1]) {                                                               \
      for (int64_t i_ = 0; i_ < n_; i_++) {                                                   \
        T x = a_[i_], y = b_[i_];                                                             \
        o_[i_] = (expr);                                                                      \
      }                                                                                       \
    } else if (step_[0]) {                                                                    \
      const T y = b_[0];                                                                      \
      for (int64_t i_ = 0; i_ < n_; i_++) {                                                   \
        T x = a_[i_];                                                                         \
        o_[i_] = (expr);                                                                      \
      }                                                                                       \
    } else if (step_[1]) {                                                                    \
      const T x = a_[0];                                                                      \
      for (int64_t i_ = 0; i_ < n_; i_++) {                                                   \
        T y = b_[i_];                                                                         \
        o_[i_] = (expr);                                                                      \
      }                                                                                       \
    } else {                                                                                  \
      const T x = a_[0], y = b_[0];                                                           \
      const OT r_ = (expr);                                                                   \
      for (int64_t i_ = 0; i_ < n_; i_++) o_[i_] = r_;                                        \
    }                                                                                         \
    return ok;                                                                                \
  }

#define LENS_EW_UNARY(name, T, OT, PT, expr)                                                  \
  static bool name(const void *const *in_, const int64_t *step_, void *out_, int64_t n_,     \
                   const void *params_) {                                                     \
    const T *a_ = in_[0];                                                                     \
    OT *o_ = out_;                                                                            \
    const PT *p = params_;                                                                    \
    bool ok = true;                                                                           \
    (void)p;                                                                                  \
    if (step_[0]) {                                                                           \
      for (int64_t i_ = 0; i_ < n_; i_++) {                                                   \
        T x = a_[i_];                                                                         \
        o_[i_] = (expr);                                                                      \
      }                                                                                       \
    } else {                                                                                  \
      const T x = a_[0];                                                                      \
      const OT r_ = (expr);                                                                   \
      for (int64_t i_ = 0; i_ < n_; i_++) o_[i_] = r_;                                        \
    }                                                                                         \
    return ok;                                                                                \
  }

/* Wrapping integer arithmetic (signed overflow is undefined in C; ONNX wraps). */
#define LENS_EW_WRAP(T, UT, x, op, y) ((T)((UT)(x) op (UT)(y)))

#endif
