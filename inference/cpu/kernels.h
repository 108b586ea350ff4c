/* Fast CPU kernels. Each is an alternative to an operator's reference kernel for the nodes
 * and shapes it supports; the session picks, per node, the first kernel in the registry that
 * supports it and records its name, so profiles say what ran. Every kernel here has a test
 * that compares it with the reference kernel on awkward sizes. */
#ifndef LENS_CPU_KERNELS_H
#define LENS_CPU_KERNELS_H

#include "ops/op.h"

/* A depthwise convolution (one input channel per output channel) absorbed into the
 * convolution that makes its input, which is then never stored whole: the node, its inputs
 * (in[0] that input's shape, no data; in[1] and in[2] its weights and bias, n_in of them) and
 * its own epilogue (an activation; no residual). */
typedef struct lens_fused_dw {
  const lens_node *node;
  lens_value in[3];
  int n_in;
  lens_epilogue ep;
} lens_fused_dw;

typedef struct lens_kernel {
  const char *name;      /* recorded in profiles, e.g. "conv2d_im2col_sgemm" */
  const char *op_type;   /* the ONNX op it implements */
  const char *precision; /* "fp32" */
  /* Whether this kernel handles the node for these bound shapes. Inputs that are constant
   * (weights) have data; others do not. */
  bool (*supports)(const lens_node *node, const lens_value *in, const lens_value *out);
  /* Packs constant inputs once at session creation into *state. (optional) */
  lens_status *(*prepare)(const lens_node *node, const lens_value *in, const lens_value *out,
                          void **state);
  /* Frees what prepare made. (optional: free()) */
  void (*release)(void *state);
  /* Temporary bytes compute needs, given by lens_exec_scratch. (optional: 0) */
  size_t (*scratch_bytes)(const lens_node *node, const lens_value *in, const lens_value *out);
  lens_status *(*compute)(const lens_node *node, const lens_value *in, lens_value *out,
                          lens_exec_ctx *ctx);
  /* Epilogues compute() applies (lens_exec_epilogue), so the session may absorb a following
   * residual Add and/or activation into this node. (optional: 0, none) */
  unsigned fuses;
  /* Scratch compute needs when it also applies the 2-D MaxPool of window pool to its
   * (activated) output, which it then writes pooled; 0: it cannot. (optional) */
  size_t (*pool_scratch_bytes)(const lens_node *node, const lens_value *in,
                               const struct lens_window *pool);
  /* Scratch compute needs on that many threads when it also runs the depthwise convolution
   * dw over its (activated) output, writing dw's output instead; 0: it cannot. (optional) */
  size_t (*dw_scratch_bytes)(const lens_node *node, const lens_value *in,
                             const lens_fused_dw *dw, int threads);
} lens_kernel;

enum {
  LENS_FUSE_ACTIVATION = 1u << 0, /* Relu, Clip, Sigmoid, Tanh, LeakyRelu, HardSigmoid, HardSwish */
  LENS_FUSE_RESIDUAL = 1u << 1,   /* + a tensor of output 0's shape, before the activation */
};

/* The registry, in order of preference. */
const lens_kernel *const *lens_cpu_kernels(size_t *count);

#endif
