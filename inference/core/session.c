/* Sessions: bind shapes, infer, fold constants, choose kernels, plan memory, run.
 *
 * A session whose every shape is known after binding and folding runs "static": activation
 * memory is one arena planned by liveness at creation, and a run allocates nothing. When a
 * shape depends on input data (a Reshape fed by a graph input, say), the session runs
 * "dynamic": shapes are inferred again on each run and tensors come from a bump allocator
 * whose chunks are kept between runs.
 *
 * With a device backend (device "gpu"), each static node runs on the device when the
 * backend supports it, else on the CPU. Each tensor then has a home on the side that makes
 * it and a copy on the other side if a node there reads it; both sides are planned by the
 * same liveness planner (host arena, device arena) and the copies are made just before the
 * first reader. Dynamic sessions run on the CPU. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/backend.h"
#include "core/exec.h"
#include "core/model.h"
#include "cpu/conv_depthwise.h"
#include "cpu/kernels.h"
#include "cpu/pool.h"

#define ARENA_ALIGN 64

typedef struct session_tensor {
  lens_dtype dtype;
  int rank; /* -1: unknown until run time */
  int64_t dims[LENS_MAX_RANK];
  void *data;      /* constant value, or the run's storage */
  bool is_const;
  void *owned;     /* folded constant storage */
  size_t nbytes;
  int64_t offset;  /* arena offset for planned tensors, -1 otherwise */
  int first_step;  /* exec step that defines it (-1: before the first) */
  int last_step;   /* last exec step that reads it */
  bool needed;
  /* device sessions: the device copy's arena element offset (-1: none) and lifetime, which
   * exec node made it, and which copies hold this run's value */
  int64_t dev_offset;
  int dev_first, dev_last;
  int producer_exec;
  bool host_valid, dev_valid;
} session_tensor;

typedef struct exec_node {
  const lens_node *node;
  const lens_kernel *kernel; /* NULL: the operator's reference kernel */
  void *kernel_state;
  bool state_shared;         /* kernel_state belongs to the session's weights, not to it */
  bool static_shapes;        /* shapes known at creation (kernel chosen for them) */
  size_t scratch_bytes;
  double flops;
  double iops;
  int64_t parameters;
  const char *fused_into;    /* name of an activation this node could absorb */
  int out0;                  /* tensor output 0 is written to (an absorbed node's output) */
  int residual;              /* tensor added by the epilogue, -1 if none */
  bool has_epilogue;
  bool removed;              /* absorbed into an earlier node */
  lens_epilogue epilogue;
  bool has_pool;             /* a MaxPool absorbed (pool_scratch_bytes): epilogue.pool */
  lens_window pool;
  bool has_dw;               /* a depthwise Conv absorbed (dw_scratch_bytes): epilogue.dw */
  lens_fused_dw dw;
  char *fused_nodes;
  lens_tensor_desc *in_desc; /* bound shapes, for profiles and analysis */
  lens_tensor_desc *out_desc;
  uint64_t runs;
  uint64_t total_ns;
  bool on_device;            /* runs on the session's backend */
  unsigned dev_fuses;        /* LENS_FUSE_* the backend kernel absorbs */
  void *dev_state;
  lens_epilogue chain[LENS_MAX_CHAIN]; /* unary nodes run inside this one (device only) */
  int n_chain;
  uint64_t transfer_ns;
  uint64_t transfer_bytes;
} exec_node;

/* The kernel states (packed weights) of a session's nodes, by graph node index, shared by
 * the sessions created with share_weights_with: the last one to go frees them. States are
 * only read once prepared, so sessions use them concurrently. */
typedef struct weights_bundle {
  atomic_int refs;
  int n_nodes;
  const lens_kernel **kernels; /* NULL: no state for that node */
  void **states;
} weights_bundle;

static void weights_release(weights_bundle *w) {
  if (!w || atomic_fetch_sub(&w->refs, 1) != 1) return;
  for (int i = 0; i < w->n_nodes; i++)
    if (w->states[i]) {
      if (w->kernels[i]->release) w->kernels[i]->release(w->states[i]);
      else free(w->states[i]);
    }
  free(w->kernels);
  free(w->states);
  free(w);
}

typedef struct dyn_chunk {
  struct dyn_chunk *next;
  size_t size, used;
  uint8_t *data;
} dyn_chunk;

struct lens_session {
  const lens_model *model;
  const lens_graph *graph;
  session_tensor *tensors;
  exec_node *exec;
  int n_exec;
  lens_threadpool *pool;
  uint8_t *arena;
  size_t arena_bytes;
  uint8_t *scratch;
  size_t scratch_bytes;
  bool dynamic;
  bool profile;
  int n_folded;
  dyn_chunk *chunks;
  lens_tensor_desc *in_desc;
  lens_tensor_desc *out_desc;
  const lens_backend *backend; /* NULL: cpu session */
  void *dev;
  void *dev_arena;
  size_t dev_arena_bytes;
  const char *precision;
  const char *note; /* for every node, e.g. why a gpu session runs on the CPU */
  weights_bundle *weights; /* the states its nodes share (own or share_weights_with's) */
};

/* Frees an exec node's kernel state unless the session's weights own it. */
static void release_state(exec_node *x) {
  if (x->kernel_state && !x->state_shared) {
    if (x->kernel->release) x->kernel->release(x->kernel_state);
    else free(x->kernel_state);
  }
  x->kernel_state = NULL;
  x->state_shared = false;
}

void lens_session_options_init(lens_session_options *o) {
  memset(o, 0, sizeof *o);
  o->device = "cpu";
  o->threads = 1;
  o->precision = "fp32";
}

static size_t align_up(size_t n) { return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

#define HUGE_PAGE ((size_t)2 << 20)

static void *aligned_zalloc(size_t bytes) {
  size_t n = align_up(bytes ? bytes : 1);
  void *p;
  if (n >= HUGE_PAGE) {
    /* Large arenas: whole huge pages, asked for before the first touch (page faults are
     * expensive here, and madvise takes only page-aligned ranges). */
    n = (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    p = aligned_alloc(HUGE_PAGE, n);
    if (p) madvise(p, n, MADV_HUGEPAGE);
  } else {
    p = aligned_alloc(ARENA_ALIGN, n);
  }
  if (!p) return NULL;
  memset(p, 0, n);
  return p;
}

static void value_of(const lens_session *s, int t, lens_value *v) {
  memset(v, 0, sizeof *v);
  if (t < 0) return; /* omitted optional: dtype UNDEFINED */
  const session_tensor *st = &s->tensors[t];
  v->dtype = st->dtype;
  v->rank = st->rank;
  memcpy(v->dims, st->dims, sizeof v->dims);
  v->data = st->data;
}

/* Fills in[] for a node: its inputs, then "omitted" values up to the operator's maximum
 * arity, so kernels may look at any optional input slot without reading garbage. */
static void inputs_of(const lens_session *s, const lens_node *node, lens_value *in) {
  int k = 0;
  for (; k < node->n_inputs; k++) value_of(s, node->inputs[k], &in[k]);
  int max = node->def->max_inputs < 64 ? node->def->max_inputs : 64;
  for (; k < max; k++) value_of(s, -1, &in[k]);
}

static lens_status *tensor_bytes(const lens_node *node, const lens_value *v, size_t *out) {
  LENS_TRY(lens_check_output_shape(node, v));
  int64_t n;
  lens_dims_product(v->dims, v->rank, &n);
  size_t es = lens_dtype_size(v->dtype);
  if (!es)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "output has unsupported dtype %s",
                           lens_dtype_name(v->dtype));
  *out = (size_t)n * es;
  return NULL;
}

/* ---- shape binding ------------------------------------------------------------------------ */

static lens_status *bind_inputs(lens_session *s, const lens_session_options *o) {
  const lens_graph *g = s->graph;
  for (size_t k = 0; k < o->n_input_shapes; k++) {
    const lens_input_shape *is = &o->input_shapes[k];
    if (!is->name || lens_model_find_input(s->model, is->name) < 0)
      return lens_error(LENS_ERR_INVALID_ARGUMENT, "input_shapes names '%s', which is not a "
                                                   "model input",
                        is->name ? is->name : "(null)");
  }
  for (int i = 0; i < g->n_inputs; i++) {
    const lens_graph_tensor *gt = &g->tensors[g->inputs[i]];
    session_tensor *st = &s->tensors[g->inputs[i]];
    st->dtype = gt->dtype;
    st->rank = gt->rank;
    memcpy(st->dims, gt->dims, sizeof st->dims);
    const lens_input_shape *given = NULL;
    for (size_t k = 0; k < o->n_input_shapes; k++)
      if (strcmp(o->input_shapes[k].name, gt->name) == 0) given = &o->input_shapes[k];
    if (given) {
      if (given->rank != gt->rank || (given->rank > 0 && !given->dims))
        return lens_error(LENS_ERR_INVALID_ARGUMENT,
                          "input '%s' has rank %d, but input_shapes gives rank %d", gt->name,
                          gt->rank, given->rank);
      for (int d = 0; d < gt->rank; d++) {
        if (given->dims[d] < 0)
          return lens_error(LENS_ERR_INVALID_ARGUMENT, "input '%s' dimension %d is negative",
                            gt->name, d);
        if (gt->dims[d] >= 0 && gt->dims[d] != given->dims[d])
          return lens_error(LENS_ERR_INVALID_ARGUMENT,
                            "input '%s' dimension %d is fixed at %lld by the model, not %lld",
                            gt->name, d, (long long)gt->dims[d], (long long)given->dims[d]);
        st->dims[d] = given->dims[d];
      }
    }
    for (int d = 0; d < gt->rank; d++) {
      if (st->dims[d] >= 0) continue;
      const char *param = gt->dim_params[d];
      for (size_t k = 0; param && k < o->n_dim_bindings; k++)
        if (o->dim_bindings[k].name && strcmp(o->dim_bindings[k].name, param) == 0) {
          if (o->dim_bindings[k].value < 0)
            return lens_error(LENS_ERR_INVALID_ARGUMENT, "dimension '%s' is bound to %lld",
                              param, (long long)o->dim_bindings[k].value);
          st->dims[d] = o->dim_bindings[k].value;
        }
      if (st->dims[d] < 0)
        return lens_error(LENS_ERR_INVALID_ARGUMENT,
                          "input '%s' dimension %d%s%s%s is not bound: give its size with "
                          "dim_bindings or input_shapes",
                          gt->name, d, param ? " ('" : "", param ? param : "",
                          param ? "')" : "");
    }
    lens_value v = {st->dtype, st->rank, {0}, NULL};
    memcpy(v.dims, st->dims, sizeof v.dims);
    int64_t n;
    if (!lens_dims_product(v.dims, v.rank, &n) ||
        n > LENS_MAX_TENSOR_BYTES / (int64_t)(lens_dtype_size(v.dtype) ? lens_dtype_size(v.dtype)
                                                                        : 1))
      return lens_error(LENS_ERR_INVALID_ARGUMENT, "input '%s' is too large", gt->name);
    st->nbytes = (size_t)n * lens_dtype_size(v.dtype);
  }
  return NULL;
}

/* ---- inference and folding --------------------------------------------------------------- */

/* Marks the tensors and nodes that reach a graph output. Returns per-node flags. */
static lens_status *mark_needed(lens_session *s, bool **out_needed_nodes) {
  const lens_graph *g = s->graph;
  bool *needed = calloc((size_t)g->n_nodes + 1, sizeof *needed);
  if (!needed) return lens_error_oom();
  for (int k = 0; k < g->n_outputs; k++) s->tensors[g->outputs[k]].needed = true;
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    const lens_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_outputs && !needed[i]; k++)
      if (n->outputs[k] >= 0 && s->tensors[n->outputs[k]].needed) needed[i] = true;
    if (!needed[i]) continue;
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0) s->tensors[n->inputs[k]].needed = true;
  }
  *out_needed_nodes = needed;
  return NULL;
}

static lens_status *fold_node(lens_session *s, const lens_node *node, lens_value *in,
                              lens_value *out) {
  for (int k = 0; k < node->n_outputs; k++) {
    if (node->outputs[k] < 0) continue;
    size_t bytes = 0;
    LENS_TRY(tensor_bytes(node, &out[k], &bytes));
    session_tensor *st = &s->tensors[node->outputs[k]];
    st->owned = malloc(bytes ? bytes : 1);
    if (!st->owned) return lens_error_oom();
    st->data = st->owned;
    st->nbytes = bytes;
    out[k].data = st->owned;
  }
  lens_exec_ctx ctx = {0};
  size_t scratch = node->def->scratch_bytes ? node->def->scratch_bytes(node, in, out) : 0;
  void *buf = NULL;
  if (scratch) {
    buf = aligned_zalloc(scratch);
    if (!buf) return lens_error_oom();
  }
  ctx.scratch = buf;
  ctx.scratch_bytes = scratch;
  lens_status *st = node->def->compute(node, in, out, &ctx);
  free(buf);
  if (st) return st;
  for (int k = 0; k < node->n_outputs; k++)
    if (node->outputs[k] >= 0) s->tensors[node->outputs[k]].is_const = true;
  return NULL;
}

static lens_status *infer_and_fold(lens_session *s, const lens_session_options *o) {
  const lens_graph *g = s->graph;
  bool *needed = NULL;
  LENS_TRY(mark_needed(s, &needed));
  lens_status *st = NULL;
  s->exec = calloc((size_t)g->n_nodes + 1, sizeof *s->exec);
  if (!s->exec) {
    free(needed);
    return lens_error_oom();
  }
  for (int i = 0; i < g->n_nodes && !st; i++) {
    if (!needed[i]) continue;
    const lens_node *node = &g->nodes[i];
    lens_value in[64], out[64];
    if (node->n_inputs > 64 || node->n_outputs > 64) {
      st = lens_node_error(node, LENS_ERR_UNSUPPORTED, "more than 64 inputs or outputs");
      break;
    }
    bool known = true, all_const = true;
    inputs_of(s, node, in);
    for (int k = 0; k < node->n_inputs; k++) {
      if (node->inputs[k] < 0) continue;
      if (in[k].rank < 0) known = false;
      if (!s->tensors[node->inputs[k]].is_const) all_const = false;
    }
    memset(out, 0, sizeof out);
    if (known) {
      for (int k = 0; k < node->n_outputs; k++) out[k].rank = -1;
      st = node->def->infer(node, in, out);
      if (st) break;
    } else {
      for (int k = 0; k < node->n_outputs; k++) out[k].rank = -1;
    }
    bool out_known = known;
    for (int k = 0; k < node->n_outputs; k++) {
      if (node->outputs[k] < 0) continue;
      if (out[k].rank < 0) {
        out_known = false;
        continue;
      }
      size_t bytes = 0;
      if ((st = tensor_bytes(node, &out[k], &bytes))) break;
      session_tensor *t = &s->tensors[node->outputs[k]];
      t->dtype = out[k].dtype;
      t->rank = out[k].rank;
      memcpy(t->dims, out[k].dims, sizeof t->dims);
      t->nbytes = bytes;
    }
    if (st) break;
    for (int k = 0; k < node->n_outputs; k++)
      if (node->outputs[k] >= 0 && out[k].rank < 0) {
        session_tensor *t = &s->tensors[node->outputs[k]];
        t->rank = -1;
        t->dtype = out[k].dtype;
      }
    bool shapes_only = (node->def->flags & LENS_OP_READS_SHAPES_ONLY) != 0;
    if (out_known && (all_const || shapes_only)) {
      if ((st = fold_node(s, node, in, out))) break;
      s->n_folded++;
      continue;
    }
    exec_node *e = &s->exec[s->n_exec++];
    e->node = node;
    e->out0 = node->n_outputs > 0 ? node->outputs[0] : -1;
    e->residual = -1;
    e->static_shapes = out_known;
    if (!out_known) s->dynamic = true;
    if (out_known) {
      if (node->def->flops) e->flops = node->def->flops(node, in, out);
      lens_dtype od = node->n_outputs > 0 ? out[0].dtype : LENS_DTYPE_UNDEFINED;
      if (od != LENS_DTYPE_FLOAT32 && od != LENS_DTYPE_FLOAT16) {
        e->iops = e->flops;
        e->flops = 0;
      }
      e->scratch_bytes = node->def->scratch_bytes ? node->def->scratch_bytes(node, in, out) : 0;
      if (!o->reference_only) {
        size_t nk;
        const lens_kernel *const *kernels = lens_cpu_kernels(&nk);
        for (size_t k = 0; k < nk; k++) {
          const lens_kernel *kern = kernels[k];
          if (strcmp(kern->op_type, node->op_type) != 0 || !kern->supports(node, in, out))
            continue;
          const weights_bundle *from =
              o->share_weights_with ? o->share_weights_with->weights : NULL;
          if (from && from->kernels[i] == kern) {
            e->kernel_state = from->states[i];
            e->state_shared = true;
          } else if (kern->prepare && (st = kern->prepare(node, in, out, &e->kernel_state))) {
            break;
          }
          e->kernel = kern;
          e->scratch_bytes = kern->scratch_bytes ? kern->scratch_bytes(node, in, out) : 0;
          break;
        }
      }
    }
  }
  free(needed);
  return st;
}

/* The tensor an executed node's output k goes to (output 0 may be redirected by fusion). */
static int exec_output(const exec_node *x, int k) {
  return k == 0 && x->node->n_outputs > 0 ? x->out0 : x->node->outputs[k];
}

/* ---- fusion of residual adds, activations and MaxPools into the kernels that absorb them */

static bool activation_of(const lens_session *s, const lens_node *n, lens_epilogue *ep) {
  const char *op = n->op_type;
  float f;
  if (n->n_outputs != 1 || s->tensors[n->outputs[0]].dtype != LENS_DTYPE_FLOAT32) return false;
  if (strcmp(op, "Relu") == 0) ep->act = LENS_ACT_RELU;
  else if (strcmp(op, "Sigmoid") == 0) ep->act = LENS_ACT_SIGMOID;
  else if (strcmp(op, "Tanh") == 0) ep->act = LENS_ACT_TANH;
  else if (strcmp(op, "HardSwish") == 0) ep->act = LENS_ACT_HARDSWISH;
  else if (strcmp(op, "LeakyRelu") == 0) {
    lens_status *st = lens_attr_float(n, "alpha", 0.01f, &f);
    if (st) {
      lens_status_free(st);
      return false;
    }
    ep->act = LENS_ACT_LEAKYRELU;
    ep->alpha = f;
  } else if (strcmp(op, "HardSigmoid") == 0) {
    float a, b;
    lens_status *st = lens_attr_float(n, "alpha", 0.2f, &a);
    if (!st) st = lens_attr_float(n, "beta", 0.5f, &b);
    if (st) {
      lens_status_free(st);
      return false;
    }
    ep->act = LENS_ACT_HARDSIGMOID;
    ep->alpha = a;
    ep->beta = b;
  } else if (strcmp(op, "Clip") == 0) {
    float lo = -3.402823466e38f, hi = 3.402823466e38f;
    if (n->opset < 11) {
      lens_status *st = lens_attr_float(n, "min", lo, &lo);
      if (!st) st = lens_attr_float(n, "max", hi, &hi);
      if (st) {
        lens_status_free(st);
        return false;
      }
    } else {
      for (int k = 1; k < n->n_inputs && k < 3; k++) {
        int t = n->inputs[k];
        if (t < 0) continue;
        const session_tensor *b = &s->tensors[t];
        if (!b->is_const || b->dtype != LENS_DTYPE_FLOAT32 || b->nbytes != sizeof(float))
          return false;
        memcpy(k == 1 ? &lo : &hi, b->data, sizeof(float));
      }
    }
    ep->act = LENS_ACT_CLIP;
    ep->alpha = lo;
    ep->beta = hi;
  } else {
    return false;
  }
  return true;
}

static bool same_shape(const session_tensor *a, const session_tensor *b) {
  if (a->rank != b->rank || a->dtype != b->dtype) return false;
  for (int k = 0; k < a->rank; k++)
    if (a->dims[k] != b->dims[k]) return false;
  return true;
}

static lens_status *append_fused_name(exec_node *x, const char *name) {
  size_t old = x->fused_nodes ? strlen(x->fused_nodes) : 0;
  char *joined = realloc(x->fused_nodes, old + strlen(name) + 2);
  if (!joined) return lens_error_oom();
  if (old) joined[old++] = ',';
  strcpy(joined + old, name);
  x->fused_nodes = joined;
  return NULL;
}

/* Drops absorbed nodes, keeping order. */
static void drop_removed(lens_session *s) {
  int kept = 0;
  for (int e = 0; e < s->n_exec; e++) {
    if (s->exec[e].removed) {
      release_state(&s->exec[e]);
      free(s->exec[e].fused_nodes);
      continue;
    }
    s->exec[kept++] = s->exec[e];
  }
  s->n_exec = kept;
}

/* Absorbs MaxPool node mp, the only reader of x's output cur, when x's kernel can pool its
 * output as it computes it (see pool_scratch_bytes). */
static lens_status *fuse_maxpool(lens_session *s, exec_node *x, exec_node *mp, int cur) {
  if (mp->removed || mp->on_device || mp->kernel != &lens_kernel_maxpool2d_direct ||
      mp->node->inputs[0] != cur)
    return NULL;
  lens_value pool_in, in[64];
  value_of(s, cur, &pool_in);
  if (!lens_cpu_maxpool_window(mp->node, &pool_in, &x->pool)) return NULL;
  inputs_of(s, x->node, in);
  size_t scratch = x->kernel->pool_scratch_bytes(x->node, in, &x->pool);
  if (!scratch) return NULL;
  x->has_pool = true;
  x->has_epilogue = true;
  x->scratch_bytes = scratch;
  x->out0 = mp->node->outputs[0];
  mp->removed = true;
  return append_fused_name(x, mp->node->name);
}

/* Points a fused node's epilogue at this run's residual and at its pool window (exec nodes
 * move when absorbed ones are dropped, so the pointers are set per run). */
static void bind_epilogue(const lens_session *s, exec_node *x) {
  if (x->residual >= 0) x->epilogue.residual = s->tensors[x->residual].data;
  x->epilogue.pool = x->has_pool ? &x->pool : NULL;
  x->epilogue.dw = x->has_dw ? &x->dw : NULL;
}

static lens_status *fuse_epilogues(lens_session *s) {
  const lens_graph *g = s->graph;
  size_t nt = (size_t)g->n_tensors + 1;
  int *readers = calloc(nt, sizeof *readers), *reader = calloc(nt, sizeof *reader);
  int *producer = malloc(nt * sizeof *producer);
  lens_status *st = NULL;
  if (!readers || !reader || !producer) {
    st = lens_error_oom();
    goto done;
  }
  for (size_t t = 0; t < nt; t++) producer[t] = -1;
  for (int e = 0; e < s->n_exec; e++) {
    const lens_node *n = s->exec[e].node;
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0) {
        readers[n->inputs[k]]++;
        reader[n->inputs[k]] = e;
      }
    for (int k = 0; k < n->n_outputs; k++)
      if (n->outputs[k] >= 0) producer[n->outputs[k]] = e;
  }
  for (int e = 0; e < s->n_exec && !st; e++) {
    exec_node *x = &s->exec[e];
    unsigned fuses = x->on_device ? x->dev_fuses : x->kernel ? x->kernel->fuses : 0;
    if (x->removed || !(fuses & (LENS_FUSE_RESIDUAL | LENS_FUSE_ACTIVATION)) ||
        x->node->n_outputs != 1)
      continue;
    int cur = x->out0;
    if (cur < 0 || s->tensors[cur].dtype != LENS_DTYPE_FLOAT32) continue;
    if ((fuses & LENS_FUSE_RESIDUAL) && readers[cur] == 1 && !g->tensors[cur].is_output) {
      exec_node *add = &s->exec[reader[cur]];
      const lens_node *an = add->node;
      if (strcmp(an->op_type, "Add") == 0 && an->n_inputs == 2 && an->n_outputs == 1 &&
          an->inputs[0] != an->inputs[1]) {
        int other = an->inputs[0] == cur ? an->inputs[1] : an->inputs[0];
        int out = an->outputs[0];
        /* the other operand must exist when this node runs, and nothing may broadcast */
        bool ready = producer[other] < e;
        if (ready && same_shape(&s->tensors[other], &s->tensors[cur]) &&
            same_shape(&s->tensors[out], &s->tensors[cur])) {
          x->residual = other;
          x->has_epilogue = true;
          x->out0 = out;
          add->removed = true;
          cur = out;
          st = append_fused_name(x, an->name);
        }
      }
    }
    if (!st && (fuses & LENS_FUSE_ACTIVATION) && readers[cur] == 1 &&
        !g->tensors[cur].is_output) {
      exec_node *act = &s->exec[reader[cur]];
      lens_epilogue ep = {0};
      if (act->node->inputs[0] == cur && activation_of(s, act->node, &ep)) {
        x->epilogue.act = ep.act;
        x->epilogue.alpha = ep.alpha;
        x->epilogue.beta = ep.beta;
        x->has_epilogue = true;
        x->out0 = act->node->outputs[0];
        act->removed = true;
        cur = x->out0;
        st = append_fused_name(x, act->node->name);
      }
    }
    if (!st && !x->on_device && x->kernel && x->kernel->pool_scratch_bytes &&
        x->residual < 0 && readers[cur] == 1 && !g->tensors[cur].is_output)
      st = fuse_maxpool(s, x, &s->exec[reader[cur]], cur);
  }
  drop_removed(s);
done:
  free(readers);
  free(reader);
  free(producer);
  return st;
}

/* readers[t]: the exec nodes that read tensor t (a residual counting); reader[t]: the last. */
static void count_readers(const lens_session *s, int *readers, int *reader) {
  for (int e = 0; e < s->n_exec; e++) {
    const exec_node *x = &s->exec[e];
    for (int k = 0; k <= x->node->n_inputs; k++) {
      int t = k < x->node->n_inputs ? x->node->inputs[k] : x->residual;
      if (t >= 0) {
        readers[t]++;
        reader[t] = e;
      }
    }
  }
}

/* Absorbs a depthwise convolution into the CPU node before it when that node's kernel can
 * make the depthwise layer's input band by band (dw_scratch_bytes): the only reader of the
 * node's (activated) output, with an activation of its own at most. Runs after
 * fuse_epilogues, so that both nodes' activations are already theirs. */
static lens_status *fuse_depthwise(lens_session *s) {
  const lens_graph *g = s->graph;
  size_t nt = (size_t)g->n_tensors + 1;
  int *readers = calloc(nt, sizeof *readers), *reader = calloc(nt, sizeof *reader);
  lens_status *st = NULL;
  if (!readers || !reader) {
    st = lens_error_oom();
    goto done;
  }
  count_readers(s, readers, reader);
  int threads = lens_threadpool_threads(s->pool);
  for (int e = 0; e < s->n_exec && !st; e++) {
    exec_node *x = &s->exec[e];
    int cur = x->out0;
    if (x->removed || x->on_device || !x->kernel || !x->kernel->dw_scratch_bytes ||
        x->has_pool || x->has_dw || x->residual >= 0 || x->node->n_outputs != 1 || cur < 0 ||
        readers[cur] != 1 || g->tensors[cur].is_output)
      continue;
    exec_node *d = &s->exec[reader[cur]];
    if (d->removed || d->on_device || d->kernel != &lens_kernel_conv2d_depthwise_direct ||
        d->node->n_inputs < 2 || d->node->n_inputs > 3 || d->node->inputs[0] != cur ||
        d->residual >= 0 || d->has_pool || d->has_dw || !d->static_shapes)
      continue;
    lens_fused_dw dw = {.node = d->node, .n_in = d->node->n_inputs, .ep = d->epilogue};
    inputs_of(s, d->node, dw.in);
    dw.in[0].data = NULL;
    lens_value in[64];
    inputs_of(s, x->node, in);
    size_t scratch = x->kernel->dw_scratch_bytes(x->node, in, &dw, threads);
    if (!scratch) continue;
    x->has_dw = true;
    x->dw = dw;
    x->has_epilogue = true;
    x->scratch_bytes = scratch;
    x->out0 = d->out0;
    d->removed = true;
    st = append_fused_name(x, d->node->name);
    if (!st && d->fused_nodes) st = append_fused_name(x, d->fused_nodes);
  }
  if (!st) drop_removed(s);
done:
  free(readers);
  free(reader);
  return st;
}

/* ---- device assignment ------------------------------------------------------------------ */

/* Gives each static node to the backend when it supports it (the CPU kernel chosen for it
 * is released), else leaves it on the CPU. */
static void assign_devices(lens_session *s) {
  lens_value in[64], out[64];
  for (int e = 0; e < s->n_exec; e++) {
    exec_node *x = &s->exec[e];
    const lens_node *node = x->node;
    if (!x->static_shapes) continue;
    inputs_of(s, node, in);
    for (int k = 0; k < node->n_outputs; k++) value_of(s, node->outputs[k], &out[k]);
    unsigned fuses = 0;
    if (!s->backend->supports(s->dev, node, in, out, &fuses)) continue;
    x->on_device = true;
    x->dev_fuses = fuses;
    release_state(x);
    x->kernel = NULL;
    x->scratch_bytes = 0;
  }
}

/* Runs chains of unary elementwise device nodes inside the device node before them (one
 * launch instead of one per node): Add -> Relu, Mul -> Clip -> ..., Sigmoid -> Neg. */
static lens_status *fuse_unary_chains(lens_session *s) {
  const lens_graph *g = s->graph;
  size_t nt = (size_t)g->n_tensors + 1;
  int *readers = calloc(nt, sizeof *readers), *reader = calloc(nt, sizeof *reader);
  lens_status *st = NULL;
  if (!readers || !reader) {
    free(readers);
    free(reader);
    return lens_error_oom();
  }
  count_readers(s, readers, reader);
  for (int e = 0; e < s->n_exec && !st; e++) {
    exec_node *x = &s->exec[e];
    if (x->removed || !x->on_device || !(x->dev_fuses & LENS_FUSE_UNARY_CHAIN) ||
        x->node->n_outputs != 1)
      continue;
    while (!st && x->n_chain < LENS_MAX_CHAIN) {
      int cur = x->out0;
      if (cur < 0 || readers[cur] != 1 || g->tensors[cur].is_output) break;
      exec_node *next = &s->exec[reader[cur]];
      lens_epilogue ep = {0};
      if (next->removed || !next->on_device || next->node->n_inputs < 1 ||
          next->node->inputs[0] != cur || !activation_of(s, next->node, &ep))
        break;
      x->chain[x->n_chain++] = ep;
      x->out0 = next->node->outputs[0];
      next->removed = true;
      st = append_fused_name(x, next->node->name);
    }
  }
  free(readers);
  free(reader);
  if (!st) drop_removed(s);
  return st;
}

static lens_status *prepare_devices(lens_session *s) {
  lens_value in[64], out[64];
  for (int e = 0; e < s->n_exec; e++) {
    exec_node *x = &s->exec[e];
    if (!x->on_device) continue;
    const lens_node *node = x->node;
    inputs_of(s, node, in);
    for (int k = 0; k < node->n_outputs; k++) value_of(s, exec_output(x, k), &out[k]);
    lens_backend_node bn = {node, in, out, x->has_epilogue ? &x->epilogue : NULL,
                            x->residual >= 0, x->chain, x->n_chain};
    lens_status *st = s->backend->prepare(s->dev, &bn, &x->dev_state);
    if (st) return lens_error_wrap(st, "preparing node '%s' for the device: ", node->name);
  }
  return NULL;
}

/* ---- memory planning -------------------------------------------------------------------- */

/* Greedy best-fit by decreasing size: each tensor takes the lowest offset that does not
 * overlap a tensor already placed whose lifetime [first, last] intersects its own.
 * order[] lists the m tensors to place; returns the arena size. */
static size_t place_tensors(int *order, int m, const int *first, const int *last,
                            const size_t *size, int64_t *offset) {
  size_t total = 0;
  for (int i = 0; i < m; i++) {
    int t = order[i];
    size_t bytes = align_up(size[t]);
    size_t off = 0;
    /* try offsets just past each conflicting placed tensor, lowest first */
    for (bool moved = true; moved;) {
      moved = false;
      for (int j = 0; j < i; j++) {
        int p = order[j];
        if (last[p] < first[t] || last[t] < first[p]) continue;
        size_t pstart = (size_t)offset[p], pend = pstart + align_up(size[p]);
        if (off < pend && pstart < off + bytes) {
          off = pend;
          moved = true;
        }
      }
    }
    offset[t] = (int64_t)off;
    if (off + bytes > total) total = off + bytes;
  }
  return total;
}

static int cmp_size_desc(const void *a, const void *b, void *ctx) {
  const size_t *size = ctx;
  size_t x = size[*(const int *)a], y = size[*(const int *)b];
  return x < y ? 1 : x > y ? -1 : *(const int *)a - *(const int *)b;
}

/* A Concat whose inputs are contiguous slices of its output (every dimension before the
 * axis is 1) need not copy: each input is placed inside the output, at its slice, and
 * written there by its producer. */
static lens_status *concat_in_place_compute(const lens_node *node, const lens_value *in,
                                            lens_value *out, lens_exec_ctx *ctx) {
  (void)node, (void)in, (void)out, (void)ctx;
  return NULL;
}

static const lens_kernel concat_in_place = {
    .name = "concat_in_place",
    .op_type = "Concat",
    .precision = "fp32",
    .compute = concat_in_place_compute,
};

/* Marks the Concats of a host session that can run in place: base[t] becomes the Concat
 * output that input t lives in, at byte offset slice[t], and that output's lifetime grows
 * to cover its inputs'. A tensor qualifies when a host node makes it, it is no graph
 * input or output, it feeds no other Concat in place, and it is no such Concat's output
 * itself (no nesting); all inputs of a Concat qualify or none moves. */
static void plan_concats_in_place(lens_session *s, int *first, int *last, int *base,
                                  size_t *slice) {
  const lens_graph *g = s->graph;
  for (int e = 0; e < s->n_exec; e++) {
    exec_node *x = &s->exec[e];
    const lens_node *node = x->node;
    if (x->on_device || x->kernel || strcmp(node->op_type, "Concat") != 0 ||
        node->domain[0] || node->n_outputs != 1 || node->n_inputs < 1)
      continue;
    int o = exec_output(x, 0);
    if (o < 0) continue;
    const session_tensor *ot = &s->tensors[o];
    if (ot->is_const || ot->rank < 1 || ot->dtype != LENS_DTYPE_FLOAT32 ||
        base[o] >= 0)
      continue;
    int64_t axis;
    lens_status *st = lens_attr_int(node, "axis", 0, &axis);
    if (st) {
      lens_status_free(st);
      continue;
    }
    if (axis < 0) axis += ot->rank;
    if (axis < 0 || axis >= ot->rank) continue;
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; d++) outer *= ot->dims[d];
    if (outer != 1) continue;
    bool ok = true;
    size_t total = 0;
    for (int k = 0; k < node->n_inputs && ok; k++) {
      int t = node->inputs[k];
      const session_tensor *tt = t >= 0 ? &s->tensors[t] : NULL;
      ok = tt && !tt->is_const && tt->producer_exec >= 0 && tt->producer_exec < e &&
           !s->exec[tt->producer_exec].on_device && base[t] < 0 && t != o &&
           g->tensors[t].kind != LENS_TENSOR_INPUT && !g->tensors[t].is_output &&
           tt->dtype == ot->dtype;
      for (int j = 0; j < k && ok; j++) ok = node->inputs[j] != t;
      /* a tensor that is some other in-place Concat's output cannot move again */
      if (ok) ok = s->exec[tt->producer_exec].kernel != &concat_in_place;
      if (ok) total += tt->nbytes;
    }
    if (!ok || total != ot->nbytes) continue;
    size_t off = 0;
    for (int k = 0; k < node->n_inputs; k++) {
      int t = node->inputs[k];
      base[t] = o;
      slice[t] = off;
      off += s->tensors[t].nbytes;
      if (first[t] < first[o]) first[o] = first[t];
      if (last[t] > last[o]) last[o] = last[t];
    }
    x->kernel = &concat_in_place;
  }
}

/* Lifetimes by side: a tensor lives on the side of the node that makes it (graph inputs:
 * host) from that step, and on the other side from its first reader there; graph outputs
 * live on the host until the end. */
static lens_status *plan_memory(lens_session *s) {
  const lens_graph *g = s->graph;
  int n = g->n_tensors;
  size_t nn = (size_t)n + 1;
  int *hf = malloc(nn * sizeof *hf), *hl = malloc(nn * sizeof *hl);
  int *df = malloc(nn * sizeof *df), *dl = malloc(nn * sizeof *dl);
  size_t *hsize = calloc(nn, sizeof *hsize), *dsize = calloc(nn, sizeof *dsize);
  int64_t *hoff = malloc(nn * sizeof *hoff), *doff = malloc(nn * sizeof *doff);
  int *order = malloc(nn * sizeof *order), *base = malloc(nn * sizeof *base);
  size_t *slice = calloc(nn, sizeof *slice);
  lens_status *st = NULL;
  if (!hf || !hl || !df || !dl || !hsize || !dsize || !hoff || !doff || !order || !base ||
      !slice) {
    st = lens_error_oom();
    goto done;
  }
  size_t es = s->backend ? s->backend->element_size(s->dev) : 4;
  for (int t = 0; t < n; t++) {
    session_tensor *x = &s->tensors[t];
    x->offset = -1;
    x->dev_offset = -1;
    x->producer_exec = -1;
    hf[t] = df[t] = -1;
    hl[t] = dl[t] = -2;
    hoff[t] = doff[t] = -1;
    base[t] = -1;
    hsize[t] = x->nbytes;
    size_t fs = lens_dtype_size(x->dtype);
    dsize[t] = fs ? x->nbytes / fs * es : 0;
  }
  for (int i = 0; i < g->n_inputs; i++) hl[g->inputs[i]] = -1;
  for (int e = 0; e < s->n_exec; e++) {
    const exec_node *x = &s->exec[e];
    const lens_node *node = x->node;
    int *first = x->on_device ? df : hf, *last = x->on_device ? dl : hl;
    for (int k = 0; k <= node->n_inputs; k++) {
      int t = k < node->n_inputs ? node->inputs[k] : x->residual;
      if (t < 0 || s->tensors[t].is_const) continue;
      if (last[t] == -2) {
        /* the copy arrives for its first reader on this side, read from the home side,
         * which must keep the value until then */
        first[t] = e;
        int p = s->tensors[t].producer_exec;
        bool home_dev = p >= 0 && s->exec[p].on_device;
        int *home_last = home_dev ? dl : hl;
        if (home_dev != x->on_device && home_last[t] < e) home_last[t] = e;
      }
      if (last[t] < e) last[t] = e;
    }
    for (int k = 0; k < node->n_outputs; k++) {
      int t = exec_output(x, k);
      if (t < 0) continue;
      first[t] = e;
      last[t] = e;
      s->tensors[t].producer_exec = e;
    }
  }
  for (int k = 0; k < g->n_outputs; k++) {
    int t = g->outputs[k];
    if (s->tensors[t].is_const) continue;
    if (hl[t] == -2) {
      hf[t] = s->n_exec;
      if (dl[t] >= 0) dl[t] = s->n_exec; /* downloaded after the last node */
    }
    hl[t] = s->n_exec;
  }
  if (!s->backend) plan_concats_in_place(s, hf, hl, base, slice);
  int m = 0;
  for (int t = 0; t < n; t++)
    if (!s->tensors[t].is_const && hl[t] >= -1 && base[t] < 0 &&
        (g->tensors[t].kind == LENS_TENSOR_INPUT || hf[t] >= 0))
      order[m++] = t;
  qsort_r(order, (size_t)m, sizeof *order, cmp_size_desc, hsize);
  size_t total = place_tensors(order, m, hf, hl, hsize, hoff);
  for (int t = 0; t < n; t++)
    if (base[t] >= 0) hoff[t] = hoff[base[t]] + (int64_t)slice[t];
  for (int t = 0; t < n; t++) {
    s->tensors[t].offset = hoff[t];
    s->tensors[t].first_step = hf[t];
    s->tensors[t].last_step = hl[t];
    s->tensors[t].dev_first = df[t];
    s->tensors[t].dev_last = dl[t];
  }
  s->arena_bytes = total;
  s->arena = aligned_zalloc(total);
  if (!s->arena) {
    st = lens_error_oom();
    goto done;
  }
  for (int t = 0; t < n; t++)
    if (s->tensors[t].offset >= 0) s->tensors[t].data = s->arena + s->tensors[t].offset;
  if (s->backend) {
    m = 0;
    for (int t = 0; t < n; t++)
      if (!s->tensors[t].is_const && dl[t] >= 0) order[m++] = t;
    qsort_r(order, (size_t)m, sizeof *order, cmp_size_desc, dsize);
    s->dev_arena_bytes = place_tensors(order, m, df, dl, dsize, doff);
    for (int t = 0; t < n; t++)
      if (doff[t] >= 0) s->tensors[t].dev_offset = doff[t] / (int64_t)es;
    if (m && (st = s->backend->alloc(s->dev, s->dev_arena_bytes, &s->dev_arena))) goto done;
  }
  size_t scratch = 0;
  for (int e = 0; e < s->n_exec; e++)
    if (s->exec[e].scratch_bytes > scratch) scratch = s->exec[e].scratch_bytes;
  s->scratch_bytes = scratch;
  if (scratch) {
    s->scratch = aligned_zalloc(scratch);
    if (!s->scratch) st = lens_error_oom();
  }
done:
  free(hf), free(hl), free(df), free(dl), free(hsize), free(dsize), free(hoff), free(doff);
  free(order), free(base), free(slice);
  return st;
}

/* ---- descriptions, fusion candidates, analysis ---------------------------------------- */

static bool is_fusable_activation(const char *op) {
  static const char *const ops[] = {"Relu", "Clip", "Sigmoid", "HardSwish", "HardSigmoid",
                                     "LeakyRelu", "Tanh"};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(op, ops[i]) == 0) return true;
  return false;
}

static bool is_fusion_producer(const char *op) {
  static const char *const ops[] = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Add",
                                    "BatchNormalization"};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(op, ops[i]) == 0) return true;
  return false;
}

/* Records, per executed node, the activation it could absorb: its only output read by
 * exactly one executed node, an activation, and not a graph output. */
static lens_status *find_fusions(lens_session *s) {
  const lens_graph *g = s->graph;
  int *readers = calloc((size_t)g->n_tensors + 1, sizeof *readers);
  int *reader = calloc((size_t)g->n_tensors + 1, sizeof *reader);
  if (!readers || !reader) {
    free(readers);
    free(reader);
    return lens_error_oom();
  }
  for (int e = 0; e < s->n_exec; e++) {
    const lens_node *n = s->exec[e].node;
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0) {
        readers[n->inputs[k]]++;
        reader[n->inputs[k]] = e;
      }
  }
  for (int e = 0; e < s->n_exec; e++) {
    const lens_node *n = s->exec[e].node;
    if (n->n_outputs != 1 || n->outputs[0] < 0 || !is_fusion_producer(n->op_type)) continue;
    int t = n->outputs[0];
    if (readers[t] != 1 || g->tensors[t].is_output) continue;
    const lens_node *next = s->exec[reader[t]].node;
    if (is_fusable_activation(next->op_type) && next->inputs[0] == t)
      s->exec[e].fused_into = next->name;
  }
  free(readers);
  free(reader);
  return NULL;
}

static void desc_of(const lens_session *s, int t, lens_tensor_desc *d) {
  memset(d, 0, sizeof *d);
  d->rank = -1;
  if (t < 0) return;
  const session_tensor *st = &s->tensors[t];
  d->name = s->graph->tensors[t].name;
  d->dtype = st->dtype;
  d->rank = st->rank;
  for (int k = 0; k < st->rank && k < LENS_MAX_RANK; k++) d->dims[k] = st->dims[k];
}

static lens_status *describe_nodes(lens_session *s) {
  for (int e = 0; e < s->n_exec; e++) {
    exec_node *x = &s->exec[e];
    const lens_node *n = x->node;
    x->in_desc = calloc((size_t)n->n_inputs + 1, sizeof *x->in_desc);
    x->out_desc = calloc((size_t)n->n_outputs + 1, sizeof *x->out_desc);
    if (!x->in_desc || !x->out_desc) return lens_error_oom();
    for (int k = 0; k < n->n_inputs; k++) {
      desc_of(s, n->inputs[k], &x->in_desc[k]);
      const session_tensor *t = n->inputs[k] >= 0 ? &s->tensors[n->inputs[k]] : NULL;
      if (t && t->is_const && t->rank >= 0) {
        int64_t count;
        if (lens_dims_product(t->dims, t->rank, &count)) x->parameters += count;
      }
    }
    for (int k = 0; k < n->n_outputs; k++) desc_of(s, exec_output(x, k), &x->out_desc[k]);
  }
  return find_fusions(s);
}

lens_status *lens_session_analyze(const lens_session *s, lens_model_analysis *out) {
  if (!s || !out) return lens_error(LENS_ERR_INVALID_ARGUMENT, "session or out is NULL");
  memset(out, 0, sizeof *out);
  const lens_graph *g = s->graph;
  bool *counted = calloc((size_t)g->n_tensors + 1, sizeof *counted);
  if (!counted) return lens_error_oom();
  for (int e = 0; e < s->n_exec; e++) {
    const exec_node *x = &s->exec[e];
    out->flops += x->flops;
    out->iops += x->iops;
    for (int k = 0; k < x->node->n_inputs; k++) {
      int t = x->node->inputs[k];
      if (t < 0 || counted[t] || !s->tensors[t].is_const) continue;
      counted[t] = true;
      int64_t count;
      if (s->tensors[t].rank >= 0 &&
          lens_dims_product(s->tensors[t].dims, s->tensors[t].rank, &count))
        out->parameters += count;
      out->weight_bytes += s->tensors[t].nbytes;
    }
  }
  for (int t = 0; t < g->n_tensors; t++)
    if (!s->tensors[t].is_const && s->tensors[t].rank >= 0 &&
        (g->tensors[t].kind == LENS_TENSOR_INPUT || g->tensors[t].producer >= 0))
      out->max_activation_bytes += align_up(s->tensors[t].nbytes);
  free(counted);
  out->min_activation_bytes = s->dynamic ? out->max_activation_bytes : s->arena_bytes;
  out->n_nodes = (size_t)s->n_exec;
  out->n_folded = (size_t)s->n_folded;
  return NULL;
}

lens_status *lens_model_analyze(const lens_model *model, const lens_session_options *options,
                                lens_model_analysis *out) {
  lens_session_options o;
  if (options) o = *options;
  else lens_session_options_init(&o);
  o.reference_only = true; /* analysis needs shapes and the plan, not packed weights */
  o.device = NULL;          /* ... nor a device */
  o.precision = NULL;
  o.threads = 1;
  lens_session *s = NULL;
  LENS_TRY(lens_session_create(model, &o, &s));
  lens_status *st = lens_session_analyze(s, out);
  lens_session_free(s);
  return st;
}

/* ---- public API -------------------------------------------------------------------------- */

static void fill_descs(lens_session *s) {
  const lens_graph *g = s->graph;
  for (int i = 0; i < g->n_inputs; i++) {
    lens_tensor_desc *d = &s->in_desc[i];
    lens_desc_from_graph_tensor(&g->tensors[g->inputs[i]], d);
    memcpy(d->dims, s->tensors[g->inputs[i]].dims, sizeof d->dims);
  }
  for (int i = 0; i < g->n_outputs; i++) {
    const session_tensor *t = &s->tensors[g->outputs[i]];
    lens_tensor_desc *d = &s->out_desc[i];
    lens_desc_from_graph_tensor(&g->tensors[g->outputs[i]], d);
    if (t->dtype != LENS_DTYPE_UNDEFINED) d->dtype = t->dtype;
    d->rank = t->rank;
    for (int k = 0; k < LENS_MAX_RANK; k++) d->dims[k] = k < t->rank ? t->dims[k] : 0;
  }
}

/* Below this many FLOPs per run, a run uses one thread whatever was asked: its nodes take a
 * few microseconds each, about what handing work to another core costs, and each node then
 * reads what the other core wrote (PP-OCR cls, 36 MFLOP: 0.44 ms on one thread, 0.57 on
 * two). */
#define SMALL_RUN_FLOPS 100e6

static int threads_for_run(const lens_session *s, int requested) {
  if (requested <= 1 || s->dynamic) return requested;
  double flops = 0;
  for (int e = 0; e < s->n_exec; e++) flops += s->exec[e].flops;
  return flops < SMALL_RUN_FLOPS ? 1 : requested;
}

/* share_weights_with: the same model, on the CPU, with the same bound input shapes (the
 * states were prepared for those shapes). */
static lens_status *check_sibling(const lens_session *s, const lens_session *sib) {
  if (sib->model != s->model)
    return lens_error(LENS_ERR_INVALID_ARGUMENT,
                      "share_weights_with: that session runs another model");
  if (s->backend || sib->backend)
    return lens_error(LENS_ERR_UNSUPPORTED,
                      "share_weights_with: only CPU sessions share weights");
  const lens_graph *g = s->graph;
  for (int i = 0; i < g->n_inputs; i++) {
    const session_tensor *a = &s->tensors[g->inputs[i]], *b = &sib->tensors[g->inputs[i]];
    if (a->rank != b->rank || memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank)) {
      char da[200], db[200];
      return lens_error(LENS_ERR_INVALID_ARGUMENT,
                        "share_weights_with: input '%s' is bound to %s here but %s there",
                        g->tensors[g->inputs[i]].name,
                        lens_format_dims(da, sizeof da, a->dims, a->rank),
                        lens_format_dims(db, sizeof db, b->dims, b->rank));
    }
  }
  return NULL;
}

/* After creation: the session takes a reference to the states it shares, or makes the
 * states it prepared the weights others may share. */
static lens_status *settle_weights(lens_session *s, const lens_session_options *o) {
  if (o->share_weights_with) {
    s->weights = o->share_weights_with->weights;
    atomic_fetch_add(&s->weights->refs, 1);
    return NULL;
  }
  const lens_graph *g = s->graph;
  weights_bundle *w = calloc(1, sizeof *w);
  if (!w) return lens_error_oom();
  atomic_init(&w->refs, 1);
  w->n_nodes = g->n_nodes;
  w->kernels = calloc((size_t)g->n_nodes + 1, sizeof *w->kernels);
  w->states = calloc((size_t)g->n_nodes + 1, sizeof *w->states);
  if (!w->kernels || !w->states) {
    weights_release(w);
    return lens_error_oom();
  }
  for (int e = 0; e < s->n_exec; e++) {
    exec_node *x = &s->exec[e];
    if (!x->kernel_state || x->state_shared) continue;
    int i = (int)(x->node - g->nodes);
    w->kernels[i] = x->kernel;
    w->states[i] = x->kernel_state;
    x->state_shared = true;
  }
  s->weights = w;
  return NULL;
}

lens_status *lens_session_create(const lens_model *model, const lens_session_options *options,
                                 lens_session **out_session) {
  if (!out_session) return lens_error(LENS_ERR_INVALID_ARGUMENT, "out_session is NULL");
  *out_session = NULL;
  if (!model) return lens_error(LENS_ERR_INVALID_ARGUMENT, "model is NULL");
  lens_session_options defaults;
  lens_session_options_init(&defaults);
  const lens_session_options *o = options ? options : &defaults;
  const char *device = o->device ? o->device : "cpu";
  bool gpu = strcmp(device, "gpu") == 0 || strncmp(device, "gpu.", 4) == 0 ||
             strncmp(device, "gpu:", 4) == 0;
  if (!gpu && strcmp(device, "cpu") != 0)
    return lens_error(LENS_ERR_UNSUPPORTED,
                      "device '%s' is not available (devices: cpu, gpu, gpu.N, gpu:NAME)",
                      device);
  const char *precision = o->precision ? o->precision : "fp32";
  if (strcmp(precision, "fp32") != 0 && strcmp(precision, "fp16") != 0)
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "precision '%s' is not fp32 or fp16",
                      precision);
  if (!gpu && strcmp(precision, "fp32") != 0)
    return lens_error(LENS_ERR_UNSUPPORTED,
                      "precision '%s' needs device gpu; the CPU computes in fp32", precision);
  if (gpu && !lens_opencl_backend())
    return lens_error(LENS_ERR_UNSUPPORTED,
                      "device '%s' is not available: liblens was built without OpenCL", device);
  if (o->threads > 256)
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "threads=%d is more than 256", o->threads);
  lens_session *s = calloc(1, sizeof *s);
  if (!s) return lens_error_oom();
  s->model = model;
  lens_model_retain(model);
  s->graph = &model->graph;
  s->profile = o->profile;
  s->precision = strcmp(precision, "fp16") == 0 ? "fp16" : "fp32";
  const lens_graph *g = s->graph;
  lens_status *st = NULL;
  if (gpu) {
    s->backend = lens_opencl_backend();
    st = s->backend->open(device, s->precision, &s->dev);
    if (st) {
      s->backend = NULL;
      lens_session_free(s);
      return st;
    }
  }
  s->tensors = calloc((size_t)g->n_tensors + 1, sizeof *s->tensors);
  s->in_desc = calloc((size_t)g->n_inputs + 1, sizeof *s->in_desc);
  s->out_desc = calloc((size_t)g->n_outputs + 1, sizeof *s->out_desc);
  if (!s->tensors || !s->in_desc || !s->out_desc) st = lens_error_oom();
  for (int t = 0; !st && t < g->n_tensors; t++) {
    const lens_graph_tensor *gt = &g->tensors[t];
    session_tensor *x = &s->tensors[t];
    x->rank = -1;
    x->offset = -1;
    if (gt->kind == LENS_TENSOR_INITIALIZER) {
      x->dtype = gt->dtype;
      x->rank = gt->rank;
      memcpy(x->dims, gt->dims, sizeof x->dims);
      x->data = gt->data;
      x->nbytes = gt->nbytes;
      x->is_const = true;
    }
  }
  if (!st) st = bind_inputs(s, o);
  if (!st && o->share_weights_with) st = check_sibling(s, o->share_weights_with);
  if (!st) st = infer_and_fold(s, o);
  if (!st) st = lens_threadpool_create(threads_for_run(s, o->threads), &s->pool);
  if (!st && s->backend && (s->dynamic || o->reference_only)) {
    /* shapes known only at run time (or reference kernels asked for): all on the CPU */
    s->note = s->dynamic ? "dynamic-shape session: every node runs on the CPU"
                         : "reference_only: every node runs on the CPU";
    s->backend->close(s->dev);
    s->backend = NULL;
    s->dev = NULL;
  }
  if (!st && s->backend) assign_devices(s);
  if (!st && !s->dynamic && !o->reference_only) st = fuse_epilogues(s);
  if (!st && !s->dynamic && !o->reference_only) st = fuse_depthwise(s);
  if (!st && s->backend) st = fuse_unary_chains(s);
  if (!st && s->backend) st = prepare_devices(s);
  if (!st && !s->dynamic) st = plan_memory(s);
  if (!st) st = describe_nodes(s);
  if (!st) st = settle_weights(s, o);
  if (st) {
    lens_session_free(s);
    return st;
  }
  fill_descs(s);
  *out_session = s;
  return NULL;
}

static void free_chunks(dyn_chunk *c) {
  while (c) {
    dyn_chunk *next = c->next;
    free(c->data);
    free(c);
    c = next;
  }
}

void lens_session_free(lens_session *s) {
  if (!s) return;
  for (int e = 0; s->exec && e < s->n_exec; e++) {
    free(s->exec[e].in_desc);
    free(s->exec[e].out_desc);
    free(s->exec[e].fused_nodes);
  }
  for (int e = 0; s->exec && e < s->n_exec; e++)
    if (s->exec[e].dev_state) {
      if (s->backend->release) s->backend->release(s->exec[e].dev_state);
      else free(s->exec[e].dev_state);
    }
  if (s->dev_arena) s->backend->free(s->dev, s->dev_arena);
  if (s->dev) s->backend->close(s->dev);
  for (int e = 0; s->exec && e < s->n_exec; e++) release_state(&s->exec[e]);
  weights_release(s->weights);
  for (int t = 0; s->tensors && t < s->graph->n_tensors; t++) free(s->tensors[t].owned);
  free(s->tensors);
  free(s->exec);
  free(s->arena);
  free(s->scratch);
  free_chunks(s->chunks);
  free(s->in_desc);
  free(s->out_desc);
  lens_threadpool_free(s->pool);
  lens_model_free((lens_model *)s->model);
  free(s);
}

const lens_tensor_desc *lens_session_input(const lens_session *s, size_t i) {
  return s && i < (size_t)s->graph->n_inputs ? &s->in_desc[i] : NULL;
}

const lens_tensor_desc *lens_session_output(const lens_session *s, size_t i) {
  return s && i < (size_t)s->graph->n_outputs ? &s->out_desc[i] : NULL;
}

size_t lens_session_arena_bytes(const lens_session *s) { return s ? s->arena_bytes : 0; }

int lens_session_threads(const lens_session *s) {
  return s ? lens_threadpool_threads(s->pool) : 0;
}

size_t lens_session_node_count(const lens_session *s) { return s ? (size_t)s->n_exec : 0; }

lens_status *lens_session_node_profile(const lens_session *s, size_t i, lens_node_profile *out) {
  if (!s || !out || i >= (size_t)s->n_exec)
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "node index %zu is out of range", i);
  const exec_node *e = &s->exec[i];
  out->node_name = e->node->name;
  out->op_type = e->node->op_type;
  out->kernel = e->on_device ? s->backend->kernel_name(e->dev_state)
               : e->kernel  ? e->kernel->name
                            : "reference";
  out->precision = e->on_device ? s->precision : e->kernel ? e->kernel->precision : "fp32";
  out->device = e->on_device ? "gpu" : "cpu";
  out->transfer_ns = e->transfer_ns;
  out->transfer_bytes = e->transfer_bytes;
  out->note = s->note ? s->note
              : s->backend && !e->on_device
                  ? "the OpenCL backend has no kernel for this node (shapes, types or "
                    "attributes); it ran on the CPU"
                  : NULL;
  out->flops = e->flops;
  out->iops = e->iops;
  out->parameters = e->parameters;
  out->runs = e->runs;
  out->total_ns = e->total_ns;
  out->n_inputs = (size_t)e->node->n_inputs;
  out->inputs = e->in_desc;
  out->n_outputs = (size_t)e->node->n_outputs;
  out->outputs = e->out_desc;
  out->fused_into = e->fused_into;
  out->fused_nodes = e->fused_nodes;
  return NULL;
}

/* ---- running ------------------------------------------------------------------------------ */

/* Bump allocation for dynamic sessions; chunks are kept, and merged into one after a run
 * that needed several, so steady-state runs do not allocate. */
static void *dyn_alloc(lens_session *s, size_t bytes) {
  size_t need = align_up(bytes ? bytes : 1);
  for (dyn_chunk *c = s->chunks; c; c = c->next)
    if (c->size - c->used >= need) {
      void *p = c->data + c->used;
      c->used += need;
      return p;
    }
  size_t size = need > ((size_t)1 << 22) ? need : ((size_t)1 << 22);
  dyn_chunk *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->data = aligned_alloc(ARENA_ALIGN, size);
  if (!c->data) {
    free(c);
    return NULL;
  }
  c->size = size;
  c->used = need;
  c->next = s->chunks;
  s->chunks = c;
  return c->data;
}

static void dyn_reset(lens_session *s) {
  size_t total = 0;
  int count = 0;
  for (dyn_chunk *c = s->chunks; c; c = c->next) {
    total += c->size;
    count++;
    c->used = 0;
  }
  if (count > 1) {
    free_chunks(s->chunks);
    s->chunks = NULL;
    if (dyn_alloc(s, total)) s->chunks->used = 0;
  }
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static lens_status *check_input(const lens_session *s, size_t i, const lens_tensor *in) {
  const lens_tensor_desc *d = &s->in_desc[i];
  char a[200], b[200];
  if (in->dtype != d->dtype)
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "input '%s' must be %s, got %s", d->name,
                      lens_dtype_name(d->dtype), lens_dtype_name(in->dtype));
  bool same = in->rank == d->rank;
  for (int k = 0; same && k < d->rank; k++) same = in->dims[k] == d->dims[k];
  if (!same)
    return lens_error(LENS_ERR_INVALID_ARGUMENT,
                      "input '%s' has shape %s, but the session was created for %s", d->name,
                      lens_format_dims(a, sizeof a, in->dims, in->rank < 0 ? 0 : in->rank),
                      lens_format_dims(b, sizeof b, d->dims, d->rank));
  if (in->nbytes != s->tensors[s->graph->inputs[i]].nbytes || (!in->data && in->nbytes))
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "input '%s' has %zu bytes, expected %zu",
                      d->name, in->nbytes, s->tensors[s->graph->inputs[i]].nbytes);
  return NULL;
}

static lens_status *run_dynamic_node(lens_session *s, exec_node *e, lens_value *in,
                                     lens_value *out) {
  const lens_node *node = e->node;
  for (int k = 0; k < node->n_outputs; k++) out[k].rank = -1;
  LENS_TRY(node->def->infer(node, in, out));
  for (int k = 0; k < node->n_outputs; k++) {
    if (node->outputs[k] < 0) continue;
    if (out[k].rank < 0)
      return lens_node_error(node, LENS_ERR_RUNTIME, "output %d shape is still unknown", k);
    size_t bytes = 0;
    LENS_TRY(tensor_bytes(node, &out[k], &bytes));
    session_tensor *t = &s->tensors[node->outputs[k]];
    t->dtype = out[k].dtype;
    t->rank = out[k].rank;
    memcpy(t->dims, out[k].dims, sizeof t->dims);
    t->nbytes = bytes;
    t->data = dyn_alloc(s, bytes);
    if (!t->data) return lens_error_oom();
    out[k].data = t->data;
  }
  size_t scratch = node->def->scratch_bytes ? node->def->scratch_bytes(node, in, out) : 0;
  if (e->kernel) scratch = e->scratch_bytes;
  if (scratch > s->scratch_bytes) {
    free(s->scratch);
    s->scratch_bytes = 0;
    s->scratch = aligned_zalloc(scratch);
    if (!s->scratch) return lens_error_oom();
    s->scratch_bytes = scratch;
  }
  return NULL;
}

static void describe_outputs(const lens_session *s, lens_tensor *outputs, size_t n_outputs) {
  for (size_t i = 0; i < n_outputs; i++) {
    const session_tensor *t = &s->tensors[s->graph->outputs[i]];
    lens_tensor *o = &outputs[i];
    memset(o, 0, sizeof *o);
    o->dtype = t->dtype;
    o->rank = t->rank;
    memcpy(o->dims, t->dims, sizeof o->dims);
    o->data = t->data;
    o->nbytes = t->nbytes;
  }
}

static size_t float_elements(const session_tensor *t) { return t->nbytes / sizeof(float); }

/* Makes tensor t's value present on the side a node runs on (copying it across). */
static lens_status *stage(lens_session *s, exec_node *x, int t, bool on_device) {
  session_tensor *v = &s->tensors[t];
  if (v->is_const || (on_device ? v->dev_valid : v->host_valid)) return NULL;
  uint64_t t0 = s->profile ? now_ns() : 0;
  lens_device_ref ref = {s->dev_arena, (size_t)(v->dev_offset < 0 ? 0 : v->dev_offset)};
  if (on_device) {
    if (!v->host_valid || v->dev_offset < 0 || !v->data)
      return lens_error(LENS_ERR_RUNTIME, "tensor '%s' has no value to upload",
                        s->graph->tensors[t].name);
    LENS_TRY(s->backend->upload(s->dev, &ref, v->data, float_elements(v)));
    v->dev_valid = true;
  } else {
    if (!v->dev_valid || !v->data)
      return lens_error(LENS_ERR_RUNTIME, "tensor '%s' has no value to download",
                        s->graph->tensors[t].name);
    LENS_TRY(s->backend->download(s->dev, &ref, v->data, float_elements(v)));
    v->host_valid = true;
  }
  x->transfer_bytes += v->nbytes;
  if (s->profile) x->transfer_ns += now_ns() - t0;
  return NULL;
}

/* A static session with some nodes on the device (inputs already checked). */
static lens_status *run_with_device(lens_session *s, const lens_tensor *inputs,
                                    size_t n_inputs, lens_tensor *outputs, size_t n_outputs) {
  const lens_graph *g = s->graph;
  for (int t = 0; t < g->n_tensors; t++) {
    s->tensors[t].host_valid = false;
    s->tensors[t].dev_valid = false;
  }
  for (size_t i = 0; i < n_inputs; i++) {
    session_tensor *t = &s->tensors[g->inputs[i]];
    if (t->data && inputs[i].nbytes) memcpy(t->data, inputs[i].data, inputs[i].nbytes);
    t->host_valid = true;
  }
  lens_value in[64], out[64];
  lens_device_ref din[64], dout[64];
  for (int e = 0; e < s->n_exec; e++) {
    exec_node *x = &s->exec[e];
    const lens_node *node = x->node;
    for (int k = 0; k < node->n_inputs; k++)
      if (node->inputs[k] >= 0) LENS_TRY(stage(s, x, node->inputs[k], x->on_device));
    if (x->residual >= 0) LENS_TRY(stage(s, x, x->residual, x->on_device));
    uint64_t t0 = s->profile ? now_ns() : 0;
    lens_status *st;
    if (x->on_device) {
      for (int k = 0; k < node->n_inputs; k++) {
        const session_tensor *v = node->inputs[k] >= 0 ? &s->tensors[node->inputs[k]] : NULL;
        din[k].mem = v && !v->is_const && v->dev_offset >= 0 ? s->dev_arena : NULL;
        din[k].offset = din[k].mem ? (size_t)v->dev_offset : 0;
      }
      for (int k = 0; k < node->n_outputs; k++) {
        int t = exec_output(x, k);
        dout[k].mem = t >= 0 && s->tensors[t].dev_offset >= 0 ? s->dev_arena : NULL;
        dout[k].offset = dout[k].mem ? (size_t)s->tensors[t].dev_offset : 0;
      }
      lens_device_ref res = {NULL, 0};
      if (x->residual >= 0) {
        res.mem = s->dev_arena;
        res.offset = (size_t)s->tensors[x->residual].dev_offset;
      }
      st = s->backend->compute(s->dev, x->dev_state, din, dout, &res);
      if (!st && s->profile) st = s->backend->finish(s->dev);
    } else {
      inputs_of(s, node, in);
      for (int k = 0; k < node->n_outputs; k++) value_of(s, exec_output(x, k), &out[k]);
      bind_epilogue(s, x);
      lens_exec_ctx ctx = {s->pool, s->scratch, s->scratch_bytes, x->kernel_state,
                           x->has_epilogue ? &x->epilogue : NULL};
      st = x->kernel ? x->kernel->compute(node, in, out, &ctx)
                     : node->def->compute(node, in, out, &ctx);
    }
    if (st) {
      lens_status_free(s->backend->finish(s->dev));
      return lens_error_wrap(st, "node '%s' on the %s: ", node->name,
                             x->on_device ? "device" : "CPU");
    }
    for (int k = 0; k < node->n_outputs; k++) {
      int t = exec_output(x, k);
      if (t < 0) continue;
      s->tensors[t].host_valid = !x->on_device;
      s->tensors[t].dev_valid = x->on_device;
    }
    if (s->profile) {
      x->total_ns += now_ns() - t0;
      x->runs++;
    }
  }
  for (int k = 0; k < g->n_outputs; k++) {
    int t = g->outputs[k];
    int p = s->tensors[t].producer_exec;
    if (p >= 0) LENS_TRY(stage(s, &s->exec[p], t, false));
  }
  LENS_TRY(s->backend->finish(s->dev));
  lens_exec_settle_shares(s->pool);
  describe_outputs(s, outputs, n_outputs);
  return NULL;
}

/* Whether input i can be read from the caller's tensor for a CPU run: a static session's
 * input that is not also a graph output (whose data would then point to the caller's
 * memory), its elements aligned. */
static bool reads_in_place(const lens_session *s, size_t i, const lens_tensor *in) {
  int t = s->graph->inputs[i];
  const session_tensor *st = &s->tensors[t];
  size_t es = lens_dtype_size(st->dtype);
  return !s->backend && !s->dynamic && st->offset >= 0 && !s->graph->tensors[t].is_output &&
         in->data && in->nbytes == st->nbytes && es && (uintptr_t)in->data % es == 0;
}

lens_status *lens_session_run(lens_session *s, const lens_tensor *inputs, size_t n_inputs,
                              lens_tensor *outputs, size_t n_outputs) {
  if (!s) return lens_error(LENS_ERR_INVALID_ARGUMENT, "session is NULL");
  const lens_graph *g = s->graph;
  if (n_inputs != (size_t)g->n_inputs || (n_inputs && !inputs))
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "the model has %d inputs, %zu given",
                      g->n_inputs, n_inputs);
  if (n_outputs > (size_t)g->n_outputs || (n_outputs && !outputs))
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "the model has %d outputs, %zu requested",
                      g->n_outputs, n_outputs);
  for (size_t i = 0; i < n_inputs; i++) LENS_TRY(check_input(s, i, &inputs[i]));
  if (s->dynamic) dyn_reset(s);
  for (size_t i = 0; i < n_inputs; i++) {
    session_tensor *t = &s->tensors[g->inputs[i]];
    if (s->dynamic) {
      t->data = dyn_alloc(s, t->nbytes);
      if (!t->data) return lens_error_oom();
    } else if (reads_in_place(s, i, &inputs[i])) {
      /* no node writes a graph input, so the caller's buffer serves for the run: SqueezeNet
       * and MobileNetV2 spent 1% of a two-thread run copying their 600 KB */
      t->data = inputs[i].data;
      continue;
    } else if (t->offset >= 0) {
      t->data = s->arena + t->offset;
    }
    if (t->data && inputs[i].nbytes) memcpy(t->data, inputs[i].data, inputs[i].nbytes);
  }
  if (s->backend) return run_with_device(s, inputs, n_inputs, outputs, n_outputs);
  lens_value in[64], out[64];
  for (int e = 0; e < s->n_exec; e++) {
    exec_node *x = &s->exec[e];
    const lens_node *node = x->node;
    inputs_of(s, node, in);
    for (int k = 0; k < node->n_outputs; k++) value_of(s, exec_output(x, k), &out[k]);
    if (s->dynamic) LENS_TRY(run_dynamic_node(s, x, in, out));
    bind_epilogue(s, x);
    lens_exec_ctx ctx = {s->pool, s->scratch, s->scratch_bytes, x->kernel_state,
                         x->has_epilogue ? &x->epilogue : NULL};
    uint64_t t0 = s->profile ? now_ns() : 0;
    lens_status *st = x->kernel ? x->kernel->compute(node, in, out, &ctx)
                                : node->def->compute(node, in, out, &ctx);
    if (st) return st;
    if (s->profile) {
      x->total_ns += now_ns() - t0;
      x->runs++;
    }
  }
  lens_exec_settle_shares(s->pool);
  for (size_t i = 0; i < n_outputs; i++) {
    const session_tensor *t = &s->tensors[g->outputs[i]];
    lens_tensor *o = &outputs[i];
    memset(o, 0, sizeof *o);
    o->dtype = t->dtype;
    o->rank = t->rank;
    memcpy(o->dims, t->dims, sizeof o->dims);
    o->data = t->data;
    o->nbytes = t->nbytes;
  }
  return NULL;
}
