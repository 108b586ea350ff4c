/* Load-time graph rewrites, valid whatever shapes a session binds later. */
#ifndef LENS_GRAPH_OPTIMIZE_H
#define LENS_GRAPH_OPTIMIZE_H

#include "graph/graph.h"

typedef struct lens_graph_rewrites {
  int constants_to_initializers; /* Constant nodes turned into initializers */
  int batchnorms_folded;         /* BatchNormalizations folded into the Conv before them */
  int affines_folded;            /* per-channel Mul/Add constants folded into a Conv */
  int hardswish_fused;           /* x*clip(x+3,0,6)/6 or x*HardSigmoid(x) made HardSwish */
} lens_graph_rewrites;

/* Runs the rewrites in order: Constant nodes holding a tensor become initializers; each
 * inference-mode BatchNormalization that directly follows a Conv (whose output nothing else
 * reads) is folded into that Conv's weights and bias, and so are per-channel Mul and Add
 * constants after a Conv; x * clip(x + 3, 0, 6) / 6 (or * 1/6) and x * HardSigmoid(x)
 * (alpha 1/6, beta 1/2) become HardSwish(x). */
lens_status *lens_graph_optimize(lens_graph *g, lens_graph_rewrites *done);

#endif
