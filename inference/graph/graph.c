/* Graph construction, validation and topological ordering. */
#include "graph/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

void lens_graph_init(lens_graph *g) { memset(g, 0, sizeof *g); }

void lens_attr_clear(lens_attr *a) {
  free(a->name);
  free(a->s);
  free(a->ints);
  free(a->floats);
  if (a->strings)
    for (size_t i = 0; i < a->count; i++) free(a->strings[i]);
  free(a->strings);
  free(a->t.data);
  memset(a, 0, sizeof *a);
}

void lens_graph_free(lens_graph *g) {
  if (!g) return;
  for (int i = 0; i < g->n_tensors; i++) {
    lens_graph_tensor *t = &g->tensors[i];
    free(t->name);
    free(t->data);
    for (int d = 0; d < LENS_MAX_RANK; d++) free(t->dim_params[d]);
  }
  free(g->tensors);
  for (int i = 0; i < g->n_nodes; i++) {
    lens_node *n = &g->nodes[i];
    free(n->name);
    free(n->op_type);
    free(n->domain);
    free(n->inputs);
    free(n->outputs);
    for (int a = 0; a < n->n_attrs; a++) lens_attr_clear(&n->attrs[a]);
    free(n->attrs);
    free(n->params);
  }
  free(g->nodes);
  free(g->inputs);
  free(g->outputs);
  memset(g, 0, sizeof *g);
}

lens_status *lens_node_error(const lens_node *node, lens_status_code code, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return lens_error(code, "node '%s' (%s): %s", node->name ? node->name : "",
                    node->op_type ? node->op_type : "?", msg);
}

int lens_graph_find_tensor(const lens_graph *g, const char *name) {
  /* Linear scan: graphs are looked up only while importing and validating. */
  for (int i = 0; i < g->n_tensors; i++)
    if (strcmp(g->tensors[i].name, name) == 0) return i;
  return -1;
}

lens_status *lens_graph_add_tensor(lens_graph *g, const char *name, int *index) {
  if (g->n_tensors == g->cap_tensors) {
    int cap = g->cap_tensors ? g->cap_tensors * 2 : 64;
    lens_graph_tensor *t = realloc(g->tensors, (size_t)cap * sizeof *t);
    if (!t) return lens_error_oom();
    g->tensors = t;
    g->cap_tensors = cap;
  }
  lens_graph_tensor *t = &g->tensors[g->n_tensors];
  memset(t, 0, sizeof *t);
  t->name = lens_strdup(name);
  if (!t->name) return lens_error_oom();
  t->rank = -1;
  t->producer = -1;
  *index = g->n_tensors++;
  return NULL;
}

lens_status *lens_graph_add_node(lens_graph *g, lens_node **out) {
  if (g->n_nodes == g->cap_nodes) {
    int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
    lens_node *n = realloc(g->nodes, (size_t)cap * sizeof *n);
    if (!n) return lens_error_oom();
    g->nodes = n;
    g->cap_nodes = cap;
  }
  lens_node *n = &g->nodes[g->n_nodes++];
  memset(n, 0, sizeof *n);
  *out = n;
  return NULL;
}

/* Kahn's algorithm over tensor producer edges; nodes keep file order among equals. */
static lens_status *sort_topologically(lens_graph *g) {
  int n = g->n_nodes;
  if (n == 0) return NULL;
  int *indegree = calloc((size_t)n, sizeof *indegree);
  int *order = malloc((size_t)n * sizeof *order);
  /* consumers as CSR: for each tensor, the nodes reading it */
  int *cons_count = calloc((size_t)g->n_tensors + 1, sizeof *cons_count);
  lens_node *sorted = malloc((size_t)n * sizeof *sorted);
  int *old_to_new = malloc((size_t)n * sizeof *old_to_new);
  lens_status *st = NULL;
  int *cons_start = NULL, *cons = NULL, *fill = NULL;
  if (!indegree || !order || !cons_count || !sorted || !old_to_new) {
    st = lens_error_oom();
    goto done;
  }
  size_t edges = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < g->nodes[i].n_inputs; k++) {
      int t = g->nodes[i].inputs[k];
      if (t >= 0 && g->tensors[t].producer >= 0) {
        indegree[i]++;
        cons_count[t]++;
        edges++;
      }
    }
  cons_start = malloc(((size_t)g->n_tensors + 1) * sizeof *cons_start);
  cons = malloc((edges ? edges : 1) * sizeof *cons);
  fill = calloc((size_t)g->n_tensors, sizeof *fill);
  if (!cons_start || !cons || !fill) {
    st = lens_error_oom();
    goto done;
  }
  cons_start[0] = 0;
  for (int t = 0; t < g->n_tensors; t++) cons_start[t + 1] = cons_start[t] + cons_count[t];
  for (int i = 0; i < n; i++)
    for (int k = 0; k < g->nodes[i].n_inputs; k++) {
      int t = g->nodes[i].inputs[k];
      if (t >= 0 && g->tensors[t].producer >= 0) cons[cons_start[t] + fill[t]++] = i;
    }
  /* A min-heap would keep strict file order; a FIFO queue seeded in file order is enough to
   * keep already-sorted graphs unchanged, which is what matters for readable profiles. */
  int head = 0, tail = 0;
  for (int i = 0; i < n; i++)
    if (indegree[i] == 0) order[tail++] = i;
  while (head < tail) {
    int i = order[head++];
    for (int k = 0; k < g->nodes[i].n_outputs; k++) {
      int t = g->nodes[i].outputs[k];
      if (t < 0) continue;
      for (int c = cons_start[t]; c < cons_start[t + 1]; c++)
        if (--indegree[cons[c]] == 0) order[tail++] = cons[c];
    }
  }
  if (tail != n) {
    int culprit = -1;
    for (int i = 0; i < n && culprit < 0; i++)
      if (indegree[i] > 0) culprit = i;
    st = lens_node_error(&g->nodes[culprit], LENS_ERR_INVALID_MODEL,
                         "the graph has a cycle through this node");
    goto done;
  }
  for (int i = 0; i < n; i++) {
    sorted[i] = g->nodes[order[i]];
    old_to_new[order[i]] = i;
  }
  free(g->nodes);
  g->nodes = sorted;
  g->cap_nodes = n;
  sorted = NULL;
  for (int t = 0; t < g->n_tensors; t++)
    if (g->tensors[t].producer >= 0) g->tensors[t].producer = old_to_new[g->tensors[t].producer];
done:
  free(indegree);
  free(order);
  free(cons_count);
  free(cons_start);
  free(cons);
  free(fill);
  free(sorted);
  free(old_to_new);
  return st;
}

static lens_status *arity_error(const lens_node *node, const char *what, int have, int min,
                                int max) {
  if (min == max)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "has %d %s%s, expects %d", have, what,
                           have == 1 ? "" : "s", min);
  return lens_node_error(node, LENS_ERR_INVALID_MODEL, "has %d %s%s, expects %d to %d", have,
                         what, have == 1 ? "" : "s", min, max);
}

lens_status *lens_graph_finalize(lens_graph *g) {
  /* single assignment: each tensor produced at most once, never an input or initializer */
  for (int i = 0; i < g->n_nodes; i++) {
    lens_node *node = &g->nodes[i];
    for (int k = 0; k < node->n_outputs; k++) {
      int t = node->outputs[k];
      if (t < 0) continue;
      lens_graph_tensor *gt = &g->tensors[t];
      if (gt->kind != LENS_TENSOR_INTERMEDIATE)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                               "output '%s' overwrites a graph %s", gt->name,
                               gt->kind == LENS_TENSOR_INPUT ? "input" : "initializer");
      if (gt->producer >= 0)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                               "output '%s' is already produced by node '%s'", gt->name,
                               g->nodes[gt->producer].name);
      for (int j = 0; j < k; j++)
        if (node->outputs[j] == t)
          return lens_node_error(node, LENS_ERR_INVALID_MODEL, "output '%s' appears twice",
                                 gt->name);
      gt->producer = i;
    }
  }
  /* every input is produced, an input or an initializer */
  for (int i = 0; i < g->n_nodes; i++) {
    lens_node *node = &g->nodes[i];
    for (int k = 0; k < node->n_inputs; k++) {
      int t = node->inputs[k];
      if (t < 0) continue;
      const lens_graph_tensor *gt = &g->tensors[t];
      if (gt->kind == LENS_TENSOR_INTERMEDIATE && gt->producer < 0)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                               "input '%s' is not produced by any node, nor a graph input or "
                               "initializer",
                               gt->name);
    }
  }
  for (int k = 0; k < g->n_outputs; k++) {
    const lens_graph_tensor *gt = &g->tensors[g->outputs[k]];
    if (gt->kind == LENS_TENSOR_INTERMEDIATE && gt->producer < 0)
      return lens_error(LENS_ERR_INVALID_MODEL, "graph output '%s' is not produced by any node",
                        gt->name);
    for (int j = 0; j < k; j++)
      if (g->outputs[j] == g->outputs[k])
        return lens_error(LENS_ERR_INVALID_MODEL, "graph output '%s' is listed twice", gt->name);
  }
  LENS_TRY(sort_topologically(g));
  /* bind and validate operators */
  for (int i = 0; i < g->n_nodes; i++) {
    lens_node *node = &g->nodes[i];
    node->def = lens_op_find(node->domain, node->op_type);
    if (!node->def)
      return lens_node_error(node, LENS_ERR_UNSUPPORTED, "operator %s%s%s is not supported",
                             node->domain[0] ? node->domain : "", node->domain[0] ? "." : "",
                             node->op_type);
    const lens_op_def *def = node->def;
    int n_in = node->n_inputs, n_out = node->n_outputs;
    /* trailing omitted optionals do not count toward arity */
    while (n_in > 0 && node->inputs[n_in - 1] < 0) n_in--;
    while (n_out > 0 && node->outputs[n_out - 1] < 0) n_out--;
    if (n_in < def->min_inputs || n_in > def->max_inputs)
      return arity_error(node, "input", n_in, def->min_inputs, def->max_inputs);
    if (n_out < def->min_outputs || n_out > def->max_outputs)
      return arity_error(node, "output", n_out, def->min_outputs, def->max_outputs);
    node->n_inputs = n_in;
    node->n_outputs = n_out;
    for (int k = 0; k < def->min_inputs; k++)
      if (node->inputs[k] < 0)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL, "required input %d is missing", k);
    if (def->prepare) LENS_TRY(def->prepare(node));
  }
  return NULL;
}
