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

/* ---- per-channel affine after a Conv ------------------------------------------------------ */

/* Reader counts per tensor (how many node inputs name it) and the last reader. */
static lens_status *count_readers(const lens_graph *g, int **readers, int **reader) {
  *readers = calloc((size_t)g->n_tensors + 1, sizeof **readers);
  *reader = calloc((size_t)g->n_tensors + 1, sizeof **reader);
  if (!*readers || !*reader) {
    free(*readers);
    free(*reader);
    return lens_error_oom();
  }
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_inputs; k++) {
      int t = g->nodes[i].inputs[k];
      if (t >= 0) {
        (*readers)[t]++;
        (*reader)[t] = i;
      }
    }
  return NULL;
}

/* Whether constant c, broadcast against a Conv output of rank out_rank with m channels
 * (axis 1), holds one value per channel or a single value. */
static bool per_channel_constant(const lens_graph *g, int c, int out_rank, int64_t m) {
  if (c < 0) return false;
  const lens_graph_tensor *t = &g->tensors[c];
  if (t->kind != LENS_TENSOR_INITIALIZER || t->dtype != LENS_DTYPE_FLOAT32 || !t->data ||
      t->rank > out_rank)
    return false;
  int64_t n;
  if (!lens_dims_product(t->dims, t->rank, &n)) return false;
  if (n == 1) return true;
  int off = out_rank - t->rank;
  for (int d = 0; d < t->rank; d++) {
    int axis = d + off;
    if (t->dims[d] != 1 && !(axis == 1 && t->dims[d] == m)) return false;
  }
  return n == m;
}

/* Conv -> Mul(constant) or Conv -> Add(constant), per output channel, folded into the Conv's
 * weights and bias (Paddle exports write BatchNormalization this way). */
static lens_status *fold_affine_into_conv(lens_graph *g, int *n_folded) {
  *n_folded = 0;
  int *readers, *reader;
  LENS_TRY(count_readers(g, &readers, &reader));
  bool *drop = calloc((size_t)g->n_nodes + 1, sizeof *drop);
  lens_status *st = drop ? NULL : lens_error_oom();
  for (int i = 0; i < g->n_nodes && !st; i++) {
    lens_node *conv = &g->nodes[i];
    if (drop[i] || strcmp(conv->op_type, "Conv") != 0 || conv->domain[0] ||
        conv->n_outputs != 1 || conv->n_inputs < 2)
      continue;
    /* absorb a run of Mul/Add nodes one by one */
    for (;;) {
      int t = conv->outputs[0];
      if (t < 0 || readers[t] != 1 || g->tensors[t].is_output) break;
      int r = reader[t];
      lens_node *op = &g->nodes[r];
      bool is_mul = strcmp(op->op_type, "Mul") == 0, is_add = strcmp(op->op_type, "Add") == 0;
      if ((!is_mul && !is_add) || op->domain[0] || op->n_inputs != 2 || op->n_outputs != 1 ||
          drop[r])
        break;
      int c = op->inputs[0] == t ? op->inputs[1] : op->inputs[0];
      const lens_graph_tensor *w = &g->tensors[conv->inputs[1]];
      if (c == t || w->kind != LENS_TENSOR_INITIALIZER || w->dtype != LENS_DTYPE_FLOAT32 ||
          w->rank < 3 || !w->data)
        break;
      int64_t m = w->dims[0], per_channel;
      if (!lens_dims_product(w->dims + 1, w->rank - 1, &per_channel) ||
          !per_channel_constant(g, c, w->rank, m))
        break;
      int b = conv->n_inputs > 2 ? conv->inputs[2] : -1;
      const lens_graph_tensor *bias = b >= 0 ? &g->tensors[b] : NULL;
      if (bias && (bias->kind != LENS_TENSOR_INITIALIZER || bias->dtype != LENS_DTYPE_FLOAT32 ||
                   bias->rank != 1 || bias->dims[0] != m || !bias->data))
        break;
      const float *cv = g->tensors[c].data;
      bool scalar = g->tensors[c].nbytes == sizeof(float);
      size_t wbytes = (size_t)m * (size_t)per_channel * sizeof(float);
      float *nw = is_mul ? malloc(wbytes) : NULL, *nb = malloc((size_t)m * sizeof(float));
      if ((is_mul && !nw) || !nb) {
        free(nw);
        free(nb);
        st = lens_error_oom();
        break;
      }
      const float *ow = w->data, *ob = bias ? bias->data : NULL;
      for (int64_t o = 0; o < m; o++) {
        float k = cv[scalar ? 0 : o];
        if (is_mul)
          for (int64_t j = 0; j < per_channel; j++) nw[o * per_channel + j] = ow[o * per_channel + j] * k;
        nb[o] = is_mul ? (ob ? ob[o] : 0.0f) * k : (ob ? ob[o] : 0.0f) + k;
      }
      int64_t wdims[LENS_MAX_RANK], bdims[1] = {m};
      memcpy(wdims, w->dims, sizeof wdims);
      int wrank = w->rank, new_w = conv->inputs[1], new_b, old_n_tensors = g->n_tensors;
      if (is_mul && (st = add_initializer(g, conv->name, "_scaled_weight", wrank, wdims, nw,
                                          wbytes, &new_w))) {
        free(nb);
        break;
      }
      if ((st = add_initializer(g, conv->name, is_mul ? "_scaled_bias" : "_shifted_bias", 1,
                                bdims, nb, (size_t)m * sizeof(float), &new_b)))
        break;
      if (conv->n_inputs < 3) {
        int *inputs = realloc(conv->inputs, 3 * sizeof *inputs);
        if (!inputs) {
          st = lens_error_oom();
          break;
        }
        conv->inputs = inputs;
        conv->n_inputs = 3;
      }
      conv->inputs[1] = new_w;
      conv->inputs[2] = new_b;
      conv->outputs[0] = op->outputs[0];
      drop[r] = true;
      (*n_folded)++;
      /* the tensor array may have grown: readers of new tensors are 0, which is right */
      int *grown = realloc(readers, ((size_t)g->n_tensors + 1) * sizeof *readers);
      int *grown2 = grown ? realloc(reader, ((size_t)g->n_tensors + 1) * sizeof *reader) : NULL;
      if (grown) readers = grown;
      if (grown2) reader = grown2;
      if (!grown || !grown2) {
        st = lens_error_oom();
        break;
      }
      for (int x = old_n_tensors; x < g->n_tensors; x++) readers[x] = reader[x] = 0;
    }
  }
  if (!st && *n_folded) drop_nodes(g, drop);
  free(drop);
  free(readers);
  free(reader);
  return st;
}

/* ---- x * clip(x + 3, 0, 6) / 6 and x * HardSigmoid(x)  ->  HardSwish(x) ------------------- */

static bool scalar_constant(const lens_graph *g, int t, float want) {
  if (t < 0) return false;
  const lens_graph_tensor *c = &g->tensors[t];
  return c->kind == LENS_TENSOR_INITIALIZER && c->dtype == LENS_DTYPE_FLOAT32 && c->data &&
         c->nbytes == sizeof(float) && *(const float *)c->data == want;
}

/* The node reading t if t has exactly one reader, it is op_type, and t is no graph output. */
static lens_node *sole_reader(lens_graph *g, const int *readers, const int *reader, int t,
                              const char *op_type) {
  if (t < 0 || readers[t] != 1 || g->tensors[t].is_output) return NULL;
  lens_node *n = &g->nodes[reader[t]];
  return strcmp(n->op_type, op_type) == 0 && !n->domain[0] && n->n_outputs == 1 ? n : NULL;
}

static bool clip_is_0_6(const lens_graph *g, const lens_node *clip) {
  if (clip->opset < 11) {
    float lo = 0, hi = 0;
    for (int a = 0; a < clip->n_attrs; a++) {
      if (clip->attrs[a].type != LENS_ATTR_FLOAT) return false;
      if (strcmp(clip->attrs[a].name, "min") == 0) lo = clip->attrs[a].f;
      else if (strcmp(clip->attrs[a].name, "max") == 0) hi = clip->attrs[a].f;
    }
    return clip->n_attrs == 2 && lo == 0.0f && hi == 6.0f;
  }
  return clip->n_inputs == 3 && scalar_constant(g, clip->inputs[1], 0.0f) &&
         scalar_constant(g, clip->inputs[2], 6.0f);
}

static lens_status *fuse_hardswish(lens_graph *g, int *n_fused) {
  *n_fused = 0;
  const lens_op_def *hardswish = lens_op_find("", "HardSwish");
  if (!hardswish) return NULL;
  int *readers, *reader;
  LENS_TRY(count_readers(g, &readers, &reader));
  bool *drop = calloc((size_t)g->n_nodes + 1, sizeof *drop);
  lens_status *st = drop ? NULL : lens_error_oom();
  for (int i = 0; i < g->n_nodes && !st; i++) {
    lens_node *add = &g->nodes[i];
    if (drop[i] || strcmp(add->op_type, "Add") != 0 || add->domain[0] || add->n_inputs != 2 ||
        add->n_outputs != 1)
      continue;
    int x;
    if (scalar_constant(g, add->inputs[1], 3.0f)) x = add->inputs[0];
    else if (scalar_constant(g, add->inputs[0], 3.0f)) x = add->inputs[1];
    else continue;
    lens_node *clip = sole_reader(g, readers, reader, add->outputs[0], "Clip");
    if (!clip || clip->inputs[0] != add->outputs[0] || !clip_is_0_6(g, clip)) continue;
    lens_node *mul = sole_reader(g, readers, reader, clip->outputs[0], "Mul");
    if (!mul || mul->n_inputs != 2) continue;
    int other = mul->inputs[0] == clip->outputs[0] ? mul->inputs[1] : mul->inputs[0];
    if (other != x) continue;
    lens_node *last = sole_reader(g, readers, reader, mul->outputs[0], "Div");
    bool by_div = last && last->inputs[0] == mul->outputs[0] &&
                  scalar_constant(g, last->inputs[1], 6.0f);
    if (!by_div) {
      last = sole_reader(g, readers, reader, mul->outputs[0], "Mul");
      if (!last || last->n_inputs != 2) continue;
      int c = last->inputs[0] == mul->outputs[0] ? last->inputs[1] : last->inputs[0];
      if (!scalar_constant(g, c, 1.0f / 6.0f)) continue;
    }
    /* the last node becomes HardSwish(x); the other three go */
    int out = last->outputs[0];
    for (int a = 0; a < last->n_attrs; a++) lens_attr_clear(&last->attrs[a]);
    last->n_attrs = 0;
    free(last->params);
    last->params = NULL;
    char *op = lens_strdup("HardSwish");
    if (!op) {
      st = lens_error_oom();
      break;
    }
    free(last->op_type);
    last->op_type = op;
    last->def = hardswish;
    last->n_inputs = 1;
    last->inputs[0] = x;
    last->outputs[0] = out;
    if (hardswish->prepare && (st = hardswish->prepare(last))) break;
    drop[add - g->nodes] = drop[clip - g->nodes] = drop[mul - g->nodes] = true;
    (*n_fused)++;
  }
  /* x * HardSigmoid(x) with alpha 1/6 and beta 1/2, the way torchvision's MobileNetV3
   * exports Hardswish: the Mul becomes HardSwish(x), which a Conv before it then absorbs
   * (the two differ by rounding only: x / 6 against x * (float)(1/6)). */
  for (int i = 0; i < g->n_nodes && !st; i++) {
    lens_node *hs = &g->nodes[i];
    if (drop[i] || strcmp(hs->op_type, "HardSigmoid") != 0 || hs->domain[0] ||
        hs->n_inputs != 1 || hs->n_outputs != 1)
      continue;
    float alpha, beta;
    if ((st = lens_attr_float(hs, "alpha", 0.2f, &alpha))) break;
    if ((st = lens_attr_float(hs, "beta", 0.5f, &beta))) break;
    if (alpha != 1.0f / 6.0f || beta != 0.5f) continue;
    int x = hs->inputs[0];
    lens_node *mul = sole_reader(g, readers, reader, hs->outputs[0], "Mul");
    if (!mul || mul->n_inputs != 2) continue;
    int other = mul->inputs[0] == hs->outputs[0] ? mul->inputs[1] : mul->inputs[0];
    if (other != x || mul->inputs[0] == mul->inputs[1]) continue;
    int out = mul->outputs[0];
    char *op = lens_strdup("HardSwish");
    if (!op) {
      st = lens_error_oom();
      break;
    }
    for (int a = 0; a < mul->n_attrs; a++) lens_attr_clear(&mul->attrs[a]);
    mul->n_attrs = 0;
    free(mul->params);
    mul->params = NULL;
    free(mul->op_type);
    mul->op_type = op;
    mul->def = hardswish;
    mul->n_inputs = 1;
    mul->inputs[0] = x;
    mul->outputs[0] = out;
    if (hardswish->prepare && (st = hardswish->prepare(mul))) break;
    drop[i] = true;
    (*n_fused)++;
  }
  if (!st && *n_fused) drop_nodes(g, drop);
  free(drop);
  free(readers);
  free(reader);
  return st;
}

lens_status *lens_graph_optimize(lens_graph *g, lens_graph_rewrites *done) {
  lens_graph_rewrites r = {0};
  LENS_TRY(constants_to_initializers(g, &r.constants_to_initializers));
  LENS_TRY(fold_batchnorm(g, &r.batchnorms_folded));
  LENS_TRY(fold_affine_into_conv(g, &r.affines_folded));
  LENS_TRY(fuse_hardswish(g, &r.hardswish_fused));
  if (done) *done = r;
  return NULL;
}
