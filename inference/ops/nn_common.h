/* Window geometry shared by Conv, ConvTranspose and the pooling operators: parsing of
 * kernel_shape / strides / dilations / pads / auto_pad, and the output-size rules of the
 * ONNX specs (NOTSET with explicit pads, SAME_UPPER, SAME_LOWER, VALID, ceil_mode). */
#ifndef LENS_OPS_NN_COMMON_H
#define LENS_OPS_NN_COMMON_H

#include "ops/op.h"

/* Whether optional input i is given: the node has that many inputs and it is not omitted.
 * (in[] holds only node->n_inputs values.) */
static inline bool lens_node_has_input(const lens_node *node, const lens_value *in, int i) {
  return node->n_inputs > i && lens_value_present(&in[i]);
}

/* Spatial dims an N-C-spatial tensor can have. */
#define LENS_MAX_SPATIAL (LENS_MAX_RANK - 2)

typedef enum lens_auto_pad {
  LENS_AUTO_PAD_NOTSET = 0,
  LENS_AUTO_PAD_SAME_UPPER,
  LENS_AUTO_PAD_SAME_LOWER,
  LENS_AUTO_PAD_VALID,
} lens_auto_pad;

/* The attributes as written; a count of 0 means the attribute is absent. */
typedef struct lens_window_attrs {
  lens_auto_pad auto_pad;
  int n_kernel, n_strides, n_dilations, n_pads; /* n_pads counts begin/end pairs */
  int64_t kernel[LENS_MAX_SPATIAL];
  int64_t strides[LENS_MAX_SPATIAL];
  int64_t dilations[LENS_MAX_SPATIAL];
  int64_t pads[2 * LENS_MAX_SPATIAL]; /* ONNX order: all begins, then all ends */
} lens_window_attrs;

/* Resolved geometry for one input shape. */
typedef struct lens_window {
  int n; /* spatial dims */
  int64_t in[LENS_MAX_SPATIAL];
  int64_t kernel[LENS_MAX_SPATIAL];
  int64_t stride[LENS_MAX_SPATIAL];
  int64_t dilation[LENS_MAX_SPATIAL];
  int64_t pad_begin[LENS_MAX_SPATIAL];
  int64_t pad_end[LENS_MAX_SPATIAL];
  int64_t out[LENS_MAX_SPATIAL];
} lens_window;

/* Reads and validates kernel_shape (when allow_kernel), strides, dilations (when
 * allow_dilations), pads and auto_pad: positive kernel/strides/dilations, non-negative pads,
 * consistent counts, no explicit non-zero pads together with an auto_pad mode. */
lens_status *lens_window_attrs_parse(const lens_node *node, bool allow_dilations,
                                     lens_window_attrs *a);

/* Forward (convolution / pooling) geometry: n spatial dims of sizes in[], kernel sizes
 * kernel[] (from the weights or kernel_shape). ceil_mode rounds the output size up, dropping
 * a last window that would start inside the end padding. Fails when the attribute counts do
 * not match n or the (dilated) kernel does not fit the padded input. */
lens_status *lens_window_resolve(const lens_node *node, const lens_window_attrs *a, int n,
                                 const int64_t *in, const int64_t *kernel, bool ceil_mode,
                                 lens_window *w);

/* Conv's parsed attributes (node->params of a Conv node). */
typedef struct lens_conv_params {
  lens_window_attrs win;
  int64_t group;
} lens_conv_params;

/* Validates a Conv node's X, W and optional B (float32, ranks, channels, groups, kernel_shape)
 * and resolves its window geometry. */
lens_status *lens_conv_resolve(const lens_node *node, const lens_value *in, lens_window *w);

/* Gemm's parsed attributes (node->params of a Gemm node). */
typedef struct lens_gemm_params {
  float alpha, beta;
  bool trans_a, trans_b;
} lens_gemm_params;

/* MatMul's numpy semantics: 1-D operands are promoted (and their dim dropped from the
 * result), batch dims broadcast. Matrices are row-major and contiguous. */
typedef struct lens_matmul_shape {
  int64_t m, n, k;
  int64_t batch;                       /* product of the broadcast batch dims */
  int batch_rank;
  int64_t batch_dims[LENS_MAX_RANK];
  int64_t a_batch_stride[LENS_MAX_RANK]; /* in matrices; 0 along broadcast dims */
  int64_t b_batch_stride[LENS_MAX_RANK];
} lens_matmul_shape;

/* Validates A and B (same dtype, K matches, batch dims broadcast) and fills s; when out is
 * not NULL also sets its dtype, rank and dims. */
lens_status *lens_matmul_shape_of(const lens_node *node, const lens_value *a,
                                  const lens_value *b, lens_matmul_shape *s, lens_value *out);
/* Element offsets of the A and B matrices for batch entry index. */
void lens_matmul_offsets(const lens_matmul_shape *s, int64_t index, int64_t *a_offset,
                         int64_t *b_offset);

/* Product of n dims (caller guarantees they are validated and small enough). */
int64_t lens_spatial_size(const int64_t *dims, int n);

#endif
