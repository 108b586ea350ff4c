/* Pad: grows (or, with negative pads, crops) each dim by pads[d] before and pads[rank + d]
 * after. Before opset 11 pads and value are attributes; from 11 pads and constant_value are
 * inputs. Modes: constant, reflect (mirror without repeating the edge, as numpy) and edge. */
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

typedef enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE } pad_mode;

typedef struct pad_params {
  pad_mode mode;
  bool from_inputs;
  float value;          /* constant before opset 11 */
  size_t n_pads;
  int64_t pads[2 * LENS_MAX_RANK];
} pad_params;

static lens_status *pad_parse(lens_node *node, void *out) {
  pad_params *p = out;
  const char *mode;
  LENS_TRY(lens_attr_string(node, "mode", "constant", &mode));
  if (strcmp(mode, "constant") == 0) p->mode = PAD_CONSTANT;
  else if (strcmp(mode, "reflect") == 0) p->mode = PAD_REFLECT;
  else if (strcmp(mode, "edge") == 0) p->mode = PAD_EDGE;
  else return lens_node_error(node, LENS_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
  p->from_inputs = node->opset >= 11;
  if (p->from_inputs) {
    if (lens_node_attr(node, "pads") || lens_node_attr(node, "value"))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "pads and value are inputs from opset 11, not attributes");
    if (node->n_inputs < 2)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "pads input is required from opset 11");
    if (node->n_inputs > 3)
      return lens_node_error(node, LENS_ERR_UNSUPPORTED, "the axes input (opset 18) is not supported");
    return NULL;
  }
  if (node->n_inputs > 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "takes one input before opset 11 (pads is an attribute)");
  const int64_t *pads;
  size_t n;
  LENS_TRY(lens_attr_ints(node, "pads", &pads, &n));
  if (!lens_node_attr(node, "pads"))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "pads attribute is required");
  if (n > 2 * LENS_MAX_RANK)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "pads has %zu values, at most %d supported",
                           n, 2 * LENS_MAX_RANK);
  p->n_pads = n;
  if (n) memcpy(p->pads, pads, n * sizeof *pads);
  return lens_attr_float(node, "value", 0.0f, &p->value);
}

static lens_status *pad_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(pad_params), pad_parse);
}

/* The 2*rank pads; *known is false while the pads input has no data. */
static lens_status *pad_read(const lens_node *node, const lens_value *in, int64_t *pads,
                             bool *known) {
  const pad_params *p = node->params;
  int rank = in[0].rank;
  size_t n = p->n_pads;
  *known = true;
  if (p->from_inputs) {
    if (in[1].rank != 1)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "pads must be 1-D, found rank %d",
                             in[1].rank);
    if (in[1].dtype != LENS_DTYPE_INT64)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "pads must be int64, found %s",
                             lens_dtype_name(in[1].dtype));
    if (in[1].dims[0] != 2 * (int64_t)rank)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "pads has %lld values for a rank-%d input",
                             (long long)in[1].dims[0], rank);
    if (!in[1].data && rank > 0) {
      *known = false;
      return NULL;
    }
    if (rank > 0) LENS_TRY(lens_value_read_ints(node, &in[1], "pads", pads, 2 * LENS_MAX_RANK, &n));
    else n = 0;
  } else {
    memcpy(pads, p->pads, n * sizeof *pads);
  }
  if (n != 2 * (size_t)rank)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "pads has %zu values for a rank-%d input",
                           n, rank);
  return NULL;
}

static lens_status *pad_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const pad_params *p = node->params;
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "data", &es));
  out[0].dtype = in[0].dtype;
  const lens_value *cv = p->from_inputs ? lens_shape_input(node, in, 2) : NULL;
  if (cv) {
    if (cv->dtype != in[0].dtype)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "constant_value is %s, data is %s",
                             lens_dtype_name(cv->dtype), lens_dtype_name(in[0].dtype));
    if (lens_value_elements(cv) > 1)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "constant_value must be a scalar");
  }
  int64_t pads[2 * LENS_MAX_RANK];
  bool known;
  LENS_TRY(pad_read(node, in, pads, &known));
  if (!known) {
    out[0].rank = -1;
    return NULL;
  }
  int rank = in[0].rank;
  out[0].rank = rank;
  for (int d = 0; d < rank; d++) {
    int64_t dim = in[0].dims[d], o;
    if (!lens_add_i64(dim, pads[d], &o) || !lens_add_i64(o, pads[rank + d], &o) || o < 0)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "pads %lld and %lld make axis %d of size %lld invalid",
                             (long long)pads[d], (long long)pads[rank + d], d, (long long)dim);
    if (dim == 0 && o > 0 && p->mode != PAD_CONSTANT)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "cannot %s-pad axis %d of size 0",
                             p->mode == PAD_REFLECT ? "reflect" : "edge", d);
    out[0].dims[d] = o;
  }
  return lens_check_output_shape(node, &out[0]);
}

/* The source index for position i (relative to the input's start) of a dim of size n, or
 * -1 for the constant. */
static int64_t pad_source(pad_mode mode, int64_t i, int64_t n) {
  if (i >= 0 && i < n) return i;
  if (mode == PAD_CONSTANT) return -1;
  if (mode == PAD_EDGE) return i < 0 ? 0 : n - 1;
  if (n == 1) return 0;
  int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

typedef struct pad_job {
  pad_mode mode;
  int rank;
  size_t es;
  const uint8_t *src;
  uint8_t *dst;
  uint8_t value[8];
  int64_t in_dims[LENS_MAX_RANK], out_dims[LENS_MAX_RANK], begin[LENS_MAX_RANK];
  int64_t in_strides[LENS_MAX_RANK];
} pad_job;

static void pad_rows(void *arg, size_t row_begin, size_t row_end) {
  const pad_job *job = arg;
  const int r = job->rank;
  const size_t es = job->es;
  const int64_t last = job->out_dims[r - 1], n = job->in_dims[r - 1], b = job->begin[r - 1];
  for (size_t row = row_begin; row < row_end; row++) {
    uint8_t *dst = job->dst + row * (size_t)last * es;
    int64_t rem = (int64_t)row, off = 0;
    bool fill = false;
    for (int d = r - 2; d >= 0; d--) {
      int64_t s = pad_source(job->mode, rem % job->out_dims[d] - job->begin[d], job->in_dims[d]);
      rem /= job->out_dims[d];
      if (s < 0) fill = true;
      else off += s * job->in_strides[d];
    }
    if (fill) {
      for (int64_t j = 0; j < last; j++) memcpy(dst + j * es, job->value, es);
      continue;
    }
    const uint8_t *src = job->src + off * (int64_t)es;
    /* [lo, hi) of the output row reads the input row in order */
    int64_t lo = b > 0 ? b : 0, hi = b + n < last ? b + n : last;
    if (hi < lo) hi = lo = 0;
    for (int64_t j = 0; j < last; j++) {
      if (j == lo && hi > lo) {
        memcpy(dst + j * es, src + (j - b) * (int64_t)es, (size_t)(hi - lo) * es);
        j = hi - 1;
        continue;
      }
      int64_t s = pad_source(job->mode, j - b, n);
      lens_shape_copy_elem(dst + j * es, s < 0 ? job->value : src + s * (int64_t)es, es);
    }
  }
}

static lens_status *pad_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                lens_exec_ctx *ctx) {
  const pad_params *p = node->params;
  int64_t pads[2 * LENS_MAX_RANK];
  bool known;
  LENS_TRY(pad_read(node, in, pads, &known));
  if (!known) return lens_node_error(node, LENS_ERR_RUNTIME, "pads input has no data");
  pad_job job;
  memset(&job, 0, sizeof job);
  job.mode = p->mode;
  job.es = lens_dtype_size(in[0].dtype);
  job.src = in[0].data;
  job.dst = out[0].data;
  const lens_value *cv = p->from_inputs ? lens_shape_input(node, in, 2) : NULL;
  if (cv && lens_value_elements(cv) == 1) memcpy(job.value, cv->data, job.es);
  else if (!p->from_inputs) lens_value_set_f64(in[0].dtype, job.value, 0, p->value);
  int rank = in[0].rank;
  if (lens_value_elements(&out[0]) == 0) return NULL;
  if (rank == 0) {
    memcpy(job.dst, job.src, job.es);
    return NULL;
  }
  job.rank = rank;
  for (int d = 0; d < rank; d++) {
    job.in_dims[d] = in[0].dims[d];
    job.out_dims[d] = out[0].dims[d];
    job.begin[d] = pads[d];
  }
  lens_contiguous_strides(in[0].dims, rank, job.in_strides);
  int64_t rows = lens_value_elements(&out[0]) / out[0].dims[rank - 1];
  if (rows > 1 && lens_value_elements(&out[0]) * (int64_t)job.es >= ((int64_t)1 << 20))
    lens_parallel_for(ctx, (size_t)rows, pad_rows, &job);
  else
    pad_rows(&job, 0, (size_t)rows);
  return NULL;
}

const lens_op_def lens_op_pad = {
    .name = "Pad",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 4,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = pad_prepare,
    .infer = pad_infer,
    .compute = pad_compute,
};
