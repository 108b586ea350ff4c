/* Helpers for the neural-network operator and CPU kernel tests: build a node by hand, run
 * an operator's prepare / infer / compute, compare float buffers. */
#ifndef LENS_TESTS_NN_TEST_UTIL_H
#define LENS_TESTS_NN_TEST_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/exec.h"
#include "lens_test.h"
#include "ops/op.h"

typedef struct tnode {
  lens_node node;
  lens_attr attrs[16];
  int inputs[8];
  int outputs[8];
} tnode;

static inline void tnode_init(tnode *t, const char *op_type, int64_t opset, int n_inputs,
                       int n_outputs) {
  memset(t, 0, sizeof *t);
  t->node.name = (char *)"n";
  t->node.op_type = (char *)op_type;
  t->node.domain = (char *)"";
  t->node.def = lens_op_find("", op_type);
  t->node.opset = opset;
  t->node.n_inputs = n_inputs;
  t->node.n_outputs = n_outputs;
  for (int i = 0; i < 8; i++) t->inputs[i] = t->outputs[i] = i;
  t->node.inputs = t->inputs;
  t->node.outputs = t->outputs;
  t->node.attrs = t->attrs;
}

static inline lens_attr *tnode_attr(tnode *t, const char *name, lens_attr_type type) {
  lens_attr *a = &t->attrs[t->node.n_attrs++];
  a->name = (char *)name;
  a->type = type;
  return a;
}

static inline void tnode_int(tnode *t, const char *name, int64_t v) {
  tnode_attr(t, name, LENS_ATTR_INT)->i = v;
}

static inline void tnode_float(tnode *t, const char *name, float v) {
  tnode_attr(t, name, LENS_ATTR_FLOAT)->f = v;
}

/* v must outlive the node (a static or caller array). */
static inline void tnode_ints(tnode *t, const char *name, const int64_t *v, size_t n) {
  lens_attr *a = tnode_attr(t, name, LENS_ATTR_INTS);
  a->ints = (int64_t *)v;
  a->count = n;
}

static inline void tnode_string(tnode *t, const char *name, const char *s) {
  lens_attr *a = tnode_attr(t, name, LENS_ATTR_STRING);
  a->s = (char *)s;
  a->s_len = strlen(s);
}

static inline void tnode_free(tnode *t) {
  free(t->node.params);
  t->node.params = NULL;
}

static inline lens_value tval(lens_dtype dtype, int rank, const int64_t *dims, const void *data) {
  lens_value v;
  memset(&v, 0, sizeof v);
  v.dtype = dtype;
  v.rank = rank;
  for (int i = 0; i < rank; i++) v.dims[i] = dims[i];
  v.data = (void *)data;
  return v;
}

static inline lens_value tnone(void) {
  lens_value v;
  memset(&v, 0, sizeof v);
  return v;
}

static inline size_t tval_bytes(const lens_value *v) {
  return (size_t)lens_value_elements(v) * lens_dtype_size(v->dtype);
}

/* prepare, infer, allocate the outputs (free them with tfree_outputs) and compute with the
 * operator's reference kernel. */
static inline lens_status *trun(tnode *t, lens_value *in, lens_value *out, int n_out,
                         lens_exec_ctx *ctx_or_null) {
  const lens_op_def *def = t->node.def;
  if (!def) return lens_error(LENS_ERR_UNSUPPORTED, "no such op %s", t->node.op_type);
  if (def->prepare) LENS_TRY(def->prepare(&t->node));
  memset(out, 0, sizeof *out * (size_t)n_out);
  LENS_TRY(def->infer(&t->node, in, out));
  for (int i = 0; i < n_out; i++) {
    if (out[i].dtype == LENS_DTYPE_UNDEFINED) continue;
    out[i].data = calloc(1, tval_bytes(&out[i]) + 64);
    if (!out[i].data) return lens_error_oom();
  }
  lens_exec_ctx local = {0};
  lens_exec_ctx *ctx = ctx_or_null ? ctx_or_null : &local;
  size_t scratch = def->scratch_bytes ? def->scratch_bytes(&t->node, in, out) : 0;
  void *buf = scratch ? aligned_alloc(64, (scratch + 63) / 64 * 64) : NULL;
  ctx->scratch = buf;
  ctx->scratch_bytes = scratch;
  lens_status *st = def->compute(&t->node, in, out, ctx);
  ctx->scratch = NULL;
  ctx->scratch_bytes = 0;
  free(buf);
  return st;
}

static inline void tfree_outputs(lens_value *out, int n_out) {
  for (int i = 0; i < n_out; i++) {
    free(out[i].data);
    out[i].data = NULL;
  }
}

/* Largest |a - b| / (1 + |b|) over n floats. */
static inline double max_rel_diff(const float *a, const float *b, int64_t n) {
  double worst = 0.0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]) / (1.0 + fabs((double)b[i]));
    if (d != d) d = INFINITY; /* NaN */
    if (d > worst) worst = d;
  }
  return worst;
}

/* Deterministic pseudo-random floats in [-1, 1). */
static inline void fill_random(float *x, int64_t n, uint32_t seed) {
  uint32_t s = seed * 2654435761u + 1u;
  for (int64_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
}

#endif
