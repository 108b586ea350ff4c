/* The shared elementwise broadcasting loop and the table-driven operator helpers. */
#include "ops/elementwise_common.h"

#include <stdatomic.h>
#include <string.h>

/* Outputs smaller than this run on the calling thread: below it, waking workers costs more
 * than the loop. */
#define EW_PARALLEL_MIN_ELEMENTS ((int64_t)1 << 15)
/* float16 runs are converted through float buffers of this many elements. */
#define EW_F16_BLOCK 256

_Static_assert(LENS_DTYPE_FLOAT16 < LENS_EW_DTYPES && LENS_DTYPE_BOOL < LENS_EW_DTYPES,
               "kernel tables must have a slot for every Lens dtype");

/* An iteration over the output after coalescing: rank >= 1, the last dim is the run. */
typedef struct ew_plan {
  int rank;
  int n_in;
  int64_t dims[LENS_MAX_RANK];
  int64_t strides[LENS_EW_MAX_INPUTS][LENS_MAX_RANK]; /* in elements; 0 along broadcasts */
  const char *in_data[LENS_EW_MAX_INPUTS];
  size_t in_size[LENS_EW_MAX_INPUTS];
  char *out_data;
  size_t out_size;
  lens_ew_fn fn;
  const void *params;
  atomic_int failed;
} ew_plan;

/* Drops size-1 dims and merges neighbours that every input walks contiguously (or not at
 * all), so equal shapes become one dim and the innermost stride of each input is 0 or 1. */
static void ew_plan_build(ew_plan *p, int n_in, const lens_value *const *in,
                          const lens_value *out) {
  int64_t strides[LENS_EW_MAX_INPUTS][LENS_MAX_RANK];
  for (int k = 0; k < n_in; k++)
    lens_broadcast_strides(in[k], out->rank, out->dims, strides[k]);
  p->n_in = n_in;
  p->rank = 0;
  for (int d = 0; d < out->rank; d++) {
    if (out->dims[d] == 1) continue;
    int r = p->rank;
    bool merge = r > 0;
    for (int k = 0; k < n_in && merge; k++)
      merge = p->strides[k][r - 1] == strides[k][d] * out->dims[d];
    if (merge) {
      p->dims[r - 1] *= out->dims[d];
      for (int k = 0; k < n_in; k++) p->strides[k][r - 1] = strides[k][d];
    } else {
      p->dims[r] = out->dims[d];
      for (int k = 0; k < n_in; k++) p->strides[k][r] = strides[k][d];
      p->rank++;
    }
  }
  if (p->rank == 0) { /* a single element */
    p->rank = 1;
    p->dims[0] = 1;
    for (int k = 0; k < n_in; k++) p->strides[k][0] = 0;
  }
  for (int k = 0; k < n_in; k++) {
    p->in_data[k] = in[k]->data;
    p->in_size[k] = lens_dtype_size(in[k]->dtype);
  }
  p->out_data = out->data;
  p->out_size = lens_dtype_size(out->dtype);
}

/* Computes output elements [begin, end) run by run. */
static void ew_plan_range(void *arg, size_t begin, size_t end) {
  ew_plan *p = arg;
  const int r = p->rank;
  const int64_t inner = p->dims[r - 1];
  int64_t pos = (int64_t)begin, stop = (int64_t)end;
  int64_t col = pos % inner, row = pos / inner;
  int64_t idx[LENS_MAX_RANK] = {0}; /* index of the current run over dims [0, r-1) */
  for (int d = r - 2; d >= 0; d--) {
    idx[d] = row % p->dims[d];
    row /= p->dims[d];
  }
  /* step: the innermost stride (0 or 1); off: where the current run starts, kept up to date
   * as idx advances so that short runs cost no more than an add per input. */
  int64_t step[LENS_EW_MAX_INPUTS], off[LENS_EW_MAX_INPUTS];
  for (int k = 0; k < p->n_in; k++) {
    step[k] = p->strides[k][r - 1];
    off[k] = 0;
    for (int d = 0; d < r - 1; d++) off[k] += idx[d] * p->strides[k][d];
  }
  bool ok = true;
  while (pos < stop) {
    int64_t n = inner - col < stop - pos ? inner - col : stop - pos;
    const void *ptr[LENS_EW_MAX_INPUTS];
    for (int k = 0; k < p->n_in; k++)
      ptr[k] = p->in_data[k] + (size_t)(off[k] + col * step[k]) * p->in_size[k];
    if (!p->fn(ptr, step, p->out_data + (size_t)pos * p->out_size, n, p->params)) ok = false;
    pos += n;
    col = 0;
    for (int d = r - 2; d >= 0; d--) {
      if (++idx[d] < p->dims[d]) {
        for (int k = 0; k < p->n_in; k++) off[k] += p->strides[k][d];
        break;
      }
      idx[d] = 0;
      for (int k = 0; k < p->n_in; k++) off[k] -= (p->dims[d] - 1) * p->strides[k][d];
    }
  }
  if (!ok) atomic_store(&p->failed, 1);
}

bool lens_ew_apply(lens_exec_ctx *ctx, int n_in, const lens_value *const *in, lens_value *out,
                   lens_ew_fn fn, const void *params) {
  int64_t total = lens_value_elements(out);
  if (total <= 0) return true;
  ew_plan p;
  ew_plan_build(&p, n_in, in, out);
  p.fn = fn;
  p.params = params;
  atomic_init(&p.failed, 0);
  if (total >= EW_PARALLEL_MIN_ELEMENTS && ctx && lens_exec_threads(ctx) > 1)
    lens_parallel_for(ctx, (size_t)total, ew_plan_range, &p);
  else
    ew_plan_range(&p, 0, (size_t)total);
  return atomic_load(&p.failed) == 0;
}

/* ---- float16 through the float32 kernel ------------------------------------------------- */

typedef struct ew_f16_params {
  lens_ew_fn fn; /* the float32 kernel */
  const void *params;
  int n_in;
  bool out_f16;    /* else the output (bool) is written directly */
  size_t out_size;
} ew_f16_params;

static bool ew_f16_run(const void *const *in, const int64_t *step, void *out, int64_t n,
                       const void *params) {
  const ew_f16_params *w = params;
  float buf[LENS_EW_MAX_INPUTS][EW_F16_BLOCK];
  float obuf[EW_F16_BLOCK];
  const void *ptr[LENS_EW_MAX_INPUTS];
  bool ok = true;
  for (int k = 0; k < w->n_in; k++) {
    ptr[k] = buf[k];
    if (!step[k]) buf[k][0] = lens_half_to_float(*(const uint16_t *)in[k]);
  }
  for (int64_t s = 0; s < n; s += EW_F16_BLOCK) {
    int64_t m = n - s < EW_F16_BLOCK ? n - s : EW_F16_BLOCK;
    for (int k = 0; k < w->n_in; k++) {
      if (!step[k]) continue;
      const uint16_t *h = (const uint16_t *)in[k] + s;
      for (int64_t i = 0; i < m; i++) buf[k][i] = lens_half_to_float(h[i]);
    }
    void *o = w->out_f16 ? (void *)obuf : (char *)out + (size_t)s * w->out_size;
    if (!w->fn(ptr, step, o, m, w->params)) ok = false;
    if (w->out_f16) {
      uint16_t *h = (uint16_t *)out + s;
      for (int64_t i = 0; i < m; i++) h[i] = lens_float_to_half(obuf[i]);
    }
  }
  return ok;
}

/* ---- table-driven operators ------------------------------------------------------------- */

bool lens_ew_supports(const lens_ew_op *op, lens_dtype dtype) {
  if ((unsigned)dtype >= LENS_EW_DTYPES) return false;
  if (op->fn[dtype]) return true;
  return dtype == LENS_DTYPE_FLOAT16 && op->float16_via_float32 && op->fn[LENS_DTYPE_FLOAT32];
}

bool lens_ew_run(lens_exec_ctx *ctx, const lens_ew_op *op, lens_dtype dtype, int n_in,
                 const lens_value *const *in, lens_value *out, const void *params) {
  if (!lens_ew_supports(op, dtype)) return false;
  if (op->fn[dtype]) return lens_ew_apply(ctx, n_in, in, out, op->fn[dtype], params);
  ew_f16_params w = {op->fn[LENS_DTYPE_FLOAT32], params, n_in,
                     out->dtype == LENS_DTYPE_FLOAT16, lens_dtype_size(out->dtype)};
  return lens_ew_apply(ctx, n_in, in, out, ew_f16_run, &w);
}

lens_status *lens_ew_check_attrs(const lens_node *node, const char *const *allowed) {
  for (int i = 0; i < node->n_attrs; i++) {
    bool known = false;
    for (const char *const *a = allowed; a && *a && !known; a++)
      known = strcmp(node->attrs[i].name, *a) == 0;
    if (!known)
      return lens_node_error(node, LENS_ERR_UNSUPPORTED,
                             "attribute '%s' is not supported (opset %lld)",
                             node->attrs[i].name, (long long)node->opset);
  }
  return NULL;
}

lens_status *lens_ew_prepare_no_attrs(lens_node *node) { return lens_ew_check_attrs(node, NULL); }

lens_status *lens_ew_infer(const lens_node *node, const lens_ew_op *op, const lens_value *in,
                           lens_value *out) {
  const int n = node->n_inputs;
  if (n < 1 || (op->arity == 1 && n != 1))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "has %d inputs", n);
  for (int k = 0; k < n; k++)
    if (!lens_value_present(&in[k]))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "input %d is missing", k);
  const lens_dtype dtype = in[0].dtype;
  for (int k = 1; k < n; k++)
    if (in[k].dtype != dtype)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "input %d has dtype %s but input 0 has %s", k,
                             lens_dtype_name(in[k].dtype), lens_dtype_name(dtype));
  if (!lens_ew_supports(op, dtype))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%s inputs are not supported",
                           lens_dtype_name(dtype));
  lens_value shape = in[0];
  for (int k = 1; k < n; k++) {
    const lens_value *pair[2] = {&shape, &in[k]};
    lens_value next;
    LENS_TRY(lens_broadcast_shape(node, pair, 2, &next));
    shape.rank = next.rank;
    memcpy(shape.dims, next.dims, sizeof next.dims);
  }
  bool grows = shape.rank != in[0].rank ||
               memcmp(shape.dims, in[0].dims, sizeof(int64_t) * (size_t)in[0].rank) != 0;
  if (op->unidirectional && grows) {
    char a[160], b[160];
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "input 1 of shape %s does not broadcast to input 0's shape %s",
                           lens_format_dims(a, sizeof a, in[1].dims, in[1].rank),
                           lens_format_dims(b, sizeof b, in[0].dims, in[0].rank));
  }
  out[0].dtype = op->bool_output ? LENS_DTYPE_BOOL : dtype;
  out[0].rank = shape.rank;
  memcpy(out[0].dims, shape.dims, sizeof shape.dims);
  return lens_check_output_shape(node, &out[0]);
}

lens_status *lens_ew_compute(const lens_node *node, const lens_ew_op *op, const lens_value *in,
                             lens_value *out, lens_exec_ctx *ctx, const void *params) {
  const int n = node->n_inputs;
  const lens_dtype dtype = in[0].dtype;
  bool ok = true;
  if (op->arity == 1) {
    const lens_value *args[1] = {&in[0]};
    ok = lens_ew_run(ctx, op, dtype, 1, args, out, params);
  } else if (n == 1) {
    int64_t count = lens_value_elements(out);
    if (count > 0 && out->data != in[0].data)
      memcpy(out->data, in[0].data, (size_t)count * lens_dtype_size(dtype));
  } else {
    const lens_value *args[2] = {&in[0], &in[1]};
    ok = lens_ew_run(ctx, op, dtype, 2, args, out, params);
    for (int k = 2; k < n && ok; k++) {
      args[0] = out;
      args[1] = &in[k];
      ok = lens_ew_run(ctx, op, dtype, 2, args, out, params);
    }
  }
  if (!ok)
    return lens_node_error(node, LENS_ERR_RUNTIME, "%s",
                           op->failure ? op->failure : "an element could not be computed");
  return NULL;
}

double lens_ew_flops(const lens_node *node, const lens_ew_op *op, const lens_value *in,
                     const lens_value *out) {
  if (in[0].dtype != LENS_DTYPE_FLOAT32 && in[0].dtype != LENS_DTYPE_FLOAT16) return 0.0;
  double steps = op->arity == 1 || node->n_inputs < 2 ? 1.0 : (double)(node->n_inputs - 1);
  double per = op->flops_per_element > 0 ? op->flops_per_element : 1.0;
  return (double)lens_value_elements(&out[0]) * steps * per;
}
