/* Graph rewrites that hold for every shape binding, run once when a model is loaded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/optimize.h"
#include "ops/op.h"

static const lens_graph_tensor *float_initializer(const lens_graph *g, int t, int rank,
                                                  int64_t dim0) {
  if (t < 0) return NULL;
  const lens_graph_tensor *gt = &g->tensors[t];
  if (gt->kind != LENS_TENSOR_INITIALIZER || gt->dtype != LENS_DTYPE_FLOAT32 || !gt->data)
    return NULL;
  if (gt->rank != rank || (rank > 0 && gt->dims[0] != dim0)) return NULL;
  return gt;
}

/* Adds an initializer named after base with the given shape and data (taken over). */
static lens_status *add_initializer(lens_graph *g, const char *base, const char *suffix,
                                    int rank, const int64_t *dims, float *data, size_t nbytes,
                                    int *out) {
  char name[512];
  snprintf(name, sizeof name, "%s%s", base, suffix);
  /* make the name unique: models may already use it */
  for (int i = 1; lens_graph_find_tensor(g, name) >= 0; i++)
    snprintf(name, sizeof name, "%s%s_%d", base, suffix, i);
  int idx;
  lens_status *st = lens_graph_add_tensor(g, name, &idx);
  if (st) {
    free(data);
    return st;
  }
  lens_graph_tensor *t = &g->tensors[idx];
  t->kind = LENS_TENSOR_INITIALIZER;
  t->dtype = LENS_DTYPE_FLOAT32;
  t->rank = rank;
  memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
  t->data = data;
  t->nbytes = nbytes;
  *out = idx;
  return NULL;
}

/* Conv -> BatchNormalization (inference) becomes one Conv with scaled weights and a shifted
 * bias, when the Conv's output feeds only the BatchNormalization and every parameter is an
 * initializer. */
static lens_status *fold_one(lens_graph *g, lens_node *conv, lens_node *bn, bool *folded) {
  *folded = false;
  if (conv->n_inputs < 2 || conv->n_outputs != 1 || bn->n_inputs != 5 || bn->n_outputs != 1)
    return NULL;
  float eps;
  int64_t spatial = 1, training = 0;
  LENS_TRY(lens_attr_float(bn, "epsilon", 1e-5f, &eps));
  LENS_TRY(lens_attr_int(bn, "spatial", 1, &spatial));
  LENS_TRY(lens_attr_int(bn, "training_mode", 0, &training));
  if (spatial != 1 || training != 0) return NULL;
  const lens_graph_tensor *w = &g->tensors[conv->inputs[1]];
  if (w->kind != LENS_TENSOR_INITIALIZER || w->dtype != LENS_DTYPE_FLOAT32 || w->rank < 3 ||
      !w->data)
    return NULL;
  int64_t m = w->dims[0], per_channel;
  if (m <= 0 || !lens_dims_product(w->dims + 1, w->rank - 1, &per_channel)) return NULL;
  const lens_graph_tensor *bias = NULL;
  if (conv->n_inputs > 2 && conv->inputs[2] >= 0) {
    bias = float_initializer(g, conv->inputs[2], 1, m);
    if (!bias) return NULL;
  }
  const lens_graph_tensor *p[4];
  for (int k = 0; k < 4; k++) {
    p[k] = float_initializer(g, bn->inputs[k + 1], 1, m);
    if (!p[k]) return NULL;
  }
  const float *scale = p[0]->data, *shift = p[1]->data, *mean = p[2]->data, *var = p[3]->data;
  size_t wbytes = (size_t)m * (size_t)per_channel * sizeof(float);
  float *nw = malloc(wbytes), *nb = malloc((size_t)m * sizeof(float));
  if (!nw || !nb) {
    free(nw);
    free(nb);
    return lens_error_oom();
  }
  const float *ow = w->data, *ob = bias ? bias->data : NULL;
  for (int64_t o = 0; o < m; o++) {
    /* in double: the folded weights are rounded once, not twice */
    double f = (double)scale[o] / sqrt((double)var[o] + (double)eps);
    for (int64_t i = 0; i < per_channel; i++)
      nw[o * per_channel + i] = (float)((double)ow[o * per_channel + i] * f);
    nb[o] = (float)(((ob ? (double)ob[o] : 0.0) - (double)mean[o]) * f + (double)shift[o]);
  }
  int64_t wdims[LENS_MAX_RANK];
  memcpy(wdims, w->dims, sizeof wdims);
  int wrank = w->rank;
  int new_w, new_b;
  LENS_TRY(add_initializer(g, conv->name, "_bn_folded_weight", wrank, wdims, nw, wbytes,
                           &new_w));
  int64_t bdims[1] = {m};
  lens_status *st = add_initializer(g, conv->name, "_bn_folded_bias", 1, bdims, nb,
                                    (size_t)m * sizeof(float), &new_b);
  if (st) return st;
  if (conv->n_inputs < 3) {
    int *inputs = realloc(conv->inputs, 3 * sizeof *inputs);
    if (!inputs) return lens_error_oom();
    conv->inputs = inputs;
    conv->n_inputs = 3;
  }
  conv->inputs[1] = new_w;
  conv->inputs[2] = new_b;
  conv->outputs[0] = bn->outputs[0];
  *folded = true;
  return NULL;
}

/* Removes the flagged nodes, keeping the others' (topological) order, and renumbers the
 * tensors' producers. */
static void drop_nodes(lens_graph *g, const bool *drop) {
  int kept = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    lens_node *n = &g->nodes[i];
    if (drop[i]) {
      free(n->name);
      free(n->op_type);
      free(n->domain);
      free(n->inputs);
      free(n->outputs);
      for (int a = 0; a < n->n_attrs; a++) lens_attr_clear(&n->attrs[a]);
      free(n->attrs);
      free(n->params);
      continue;
    }
    g->nodes[kept++] = *n;
  }
  g->n_nodes = kept;
  for (int t = 0; t < g->n_tensors; t++) g->tensors[t].producer = -1;
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_outputs; k++)
      if (g->nodes[i].outputs[k] >= 0) g->tensors[g->nodes[i].outputs[k]].producer = i;
}

/* Constant nodes holding a tensor (Paddle exports carry every weight this way) become
 * initializers, so that rewrites and kernels see their weights as what they are. */
static lens_status *constants_to_initializers(lens_graph *g, int *n_moved) {
  *n_moved = 0;
  bool *drop = calloc((size_t)g->n_nodes + 1, sizeof *drop);
  if (!drop) return lens_error_oom();
  for (int i = 0; i < g->n_nodes; i++) {
    lens_node *n = &g->nodes[i];
    if (strcmp(n->op_type, "Constant") != 0 || n->domain[0] || n->n_outputs != 1 ||
        n->n_attrs != 1 || n->outputs[0] < 0)
      continue;
    lens_attr *a = &n->attrs[0];
    lens_graph_tensor *t = &g->tensors[n->outputs[0]];
    if (strcmp(a->name, "value") != 0 || a->type != LENS_ATTR_TENSOR || !a->t.data ||
        t->is_output)
      continue;
    t->kind = LENS_TENSOR_INITIALIZER;
    t->dtype = a->t.dtype;
    t->rank = a->t.rank;
    memcpy(t->dims, a->t.dims, sizeof t->dims);
    t->data = a->t.data;
    t->nbytes = a->t.nbytes;
    a->t.data = NULL; /* taken over by the tensor */
    drop[i] = true;
    (*n_moved)++;
  }
  if (*n_moved) drop_nodes(g, drop);
  free(drop);
  return NULL;
}

static lens_status *fold_batchnorm(lens_graph *g, int *n_folded) {
  *n_folded = 0;
  int *readers = calloc((size_t)g->n_tensors + 1, sizeof *readers);
  int *reader = calloc((size_t)g->n_tensors + 1, sizeof *reader);
  bool *drop = calloc((size_t)g->n_nodes + 1, sizeof *drop);
  lens_status *st = NULL;
  if (!readers || !reader || !drop) {
    st = lens_error_oom();
    goto done;
  }
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_inputs; k++) {
      int t = g->nodes[i].inputs[k];
      if (t >= 0) {
        readers[t]++;
        reader[t] = i;
      }
    }
  for (int i = 0; i < g->n_nodes && !st; i++) {
    lens_node *conv = &g->nodes[i];
    if (strcmp(conv->op_type, "Conv") != 0 || conv->domain[0] || conv->n_outputs != 1) continue;
    int t = conv->outputs[0];
    if (t < 0 || readers[t] != 1 || g->tensors[t].is_output) continue;
    lens_node *bn = &g->nodes[reader[t]];
    if (strcmp(bn->op_type, "BatchNormalization") != 0 || bn->inputs[0] != t) continue;
    bool folded;
    st = fold_one(g, conv, bn, &folded);
    if (!st && folded) {
      drop[reader[t]] = true;
      (*n_folded)++;
    }
  }
  if (!st && *n_folded) drop_nodes(g, drop);
done:
  free(readers);
  free(reader);
  free(drop);
  return st;
}

lens_status *lens_graph_optimize(lens_graph *g, lens_graph_rewrites *done) {
  lens_graph_rewrites r = {0, 0};
  LENS_TRY(constants_to_initializers(g, &r.constants_to_initializers));
  LENS_TRY(fold_batchnorm(g, &r.batchnorms_folded));
  if (done) *done = r;
  return NULL;
}
