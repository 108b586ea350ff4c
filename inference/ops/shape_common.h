/* Helpers shared by the shape and data-movement operators (Reshape, Transpose, Slice, Pad,
 * Tile, ...) and the Reduce* family: optional-input access, axis lists, dtype-agnostic
 * strided copies and the common reduction kernel. Data movement never converts values: it
 * copies elements as raw bytes of lens_dtype_size(dtype). */
#ifndef LENS_OPS_SHAPE_COMMON_H
#define LENS_OPS_SHAPE_COMMON_H

#include <string.h>

#include "ops/op.h"

/* A strided copy may view an output with up to two dims per tensor dim (Tile). */
#define LENS_SHAPE_COPY_MAX_DIMS (2 * LENS_MAX_RANK)

/* Input k when the node has it and it is present, else NULL (the input array holds only
 * node->n_inputs entries). */
const lens_value *lens_shape_input(const lens_node *node, const lens_value *in, int k);

/* Element size of a tensor that is moved as bytes; an error naming what for a dtype Lens
 * does not know. */
lens_status *lens_shape_elem_size(const lens_node *node, lens_dtype dtype, const char *what,
                                  size_t *out);

/* Dense byte size of a value whose shape is known (dtype size times elements). */
size_t lens_shape_value_bytes(const lens_value *v);

/* Copies the whole of src into dst (same byte size); nothing when they are the same. */
void lens_shape_copy_all(const lens_value *src, lens_value *dst);
/* The compute of the view ops (Reshape, Flatten, Squeeze, Unsqueeze): copies input 0 to
 * output 0 after checking that they hold the same number of elements. */
lens_status *lens_shape_copy_view(const lens_node *node, const lens_value *in, lens_value *out,
                                  lens_exec_ctx *ctx);

/* Normalises n axes in [-rank, rank) to [0, rank) into out and rejects duplicates. */
lens_status *lens_shape_normalize_axes(const lens_node *node, const int64_t *axes, size_t n,
                                       int rank, const char *what, int *out);

/* Reads a 1-D int64/int32 value of at most max entries into a new malloc'd array (*out may
 * be NULL when *count is 0). */
lens_status *lens_shape_read_ints_alloc(const lens_node *node, const lens_value *v,
                                        const char *what, size_t max, int64_t **out,
                                        size_t *count);

/* Fills the dense output dst (dims[0..rank)) with src viewed through element strides
 * src_strides (any sign, 0 to repeat); src points at the view's first element. rank may be
 * 0 (one element) and up to LENS_SHAPE_COPY_MAX_DIMS. */
void lens_shape_strided_copy(lens_exec_ctx *ctx, void *dst, const void *src, size_t es,
                             int rank, const int64_t *dims, const int64_t *src_strides);

/* Copies one element of es bytes. */
static inline void lens_shape_copy_elem(void *dst, const void *src, size_t es) {
  switch (es) {
  case 1: *(uint8_t *)dst = *(const uint8_t *)src; break;
  case 2: memcpy(dst, src, 2); break;
  case 4: memcpy(dst, src, 4); break;
  case 8: memcpy(dst, src, 8); break;
  default: memcpy(dst, src, es); break;
  }
}

/* ---- Reduce* ---------------------------------------------------------------------------- */

typedef enum lens_reduce_kind {
  LENS_REDUCE_SUM,
  LENS_REDUCE_MEAN,
  LENS_REDUCE_MAX,
} lens_reduce_kind;

/* Parses keepdims, axes (attribute, or input 1 for ReduceSum-13 and every Reduce-18) and
 * noop_with_empty_axes into node->params. */
lens_status *lens_reduce_prepare(lens_node *node, lens_reduce_kind kind);
lens_status *lens_reduce_infer(const lens_node *node, const lens_value *in, lens_value *out);
double lens_reduce_flops(const lens_node *node, const lens_value *in, const lens_value *out);
lens_status *lens_reduce_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx);

#endif
