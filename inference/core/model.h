/* The loaded model: a validated graph plus the descriptions the public API hands out. */
#ifndef LENS_CORE_MODEL_H
#define LENS_CORE_MODEL_H

#include <stdatomic.h>

#include "graph/graph.h"

struct lens_model {
  atomic_int refs; /* the user's reference plus one per live session */
  lens_graph graph;
  lens_tensor_desc *inputs;
  lens_tensor_desc *outputs;
};

void lens_model_retain(const lens_model *model);

/* Fills a public description from a graph tensor (strings stay owned by the graph). */
void lens_desc_from_graph_tensor(const lens_graph_tensor *t, lens_tensor_desc *d);

#endif
