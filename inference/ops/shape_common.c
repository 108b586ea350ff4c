/* Helpers shared by the shape and data-movement operators and the Reduce* family. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

const lens_value *lens_shape_input(const lens_node *node, const lens_value *in, int k) {
  if (k >= node->n_inputs || !lens_value_present(&in[k])) return NULL;
  return &in[k];
}

lens_status *lens_shape_elem_size(const lens_node *node, lens_dtype dtype, const char *what,
                                  size_t *out) {
  size_t es = lens_dtype_size(dtype);
  if (es == 0)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%s has unsupported dtype %s (%d)", what,
                           lens_dtype_name(dtype), (int)dtype);
  *out = es;
  return NULL;
}

size_t lens_shape_value_bytes(const lens_value *v) {
  return lens_dtype_size(v->dtype) * (size_t)lens_value_elements(v);
}

void lens_shape_copy_all(const lens_value *src, lens_value *dst) {
  size_t n = lens_shape_value_bytes(src);
  if (n && dst->data != src->data) memmove(dst->data, src->data, n);
}

lens_status *lens_shape_copy_view(const lens_node *node, const lens_value *in, lens_value *out,
                                  lens_exec_ctx *ctx) {
  (void)ctx;
  if (lens_value_elements(&in[0]) != lens_value_elements(&out[0]) || in[0].dtype != out[0].dtype)
    return lens_node_error(node, LENS_ERR_RUNTIME, "output does not match the input's size");
  lens_shape_copy_all(&in[0], &out[0]);
  return NULL;
}

lens_status *lens_shape_normalize_axes(const lens_node *node, const int64_t *axes, size_t n,
                                       int rank, const char *what, int *out) {
  bool seen[LENS_MAX_RANK] = {false};
  for (size_t i = 0; i < n; i++) {
    int64_t a = axes[i];
    if (a < -(int64_t)rank || a >= rank)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s value %lld out of range for rank %d",
                             what, (long long)a, rank);
    int ax = (int)(a < 0 ? a + rank : a);
    if (seen[ax])
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s repeats axis %d", what, ax);
    seen[ax] = true;
    out[i] = ax;
  }
  return NULL;
}

lens_status *lens_shape_read_ints_alloc(const lens_node *node, const lens_value *v,
                                        const char *what, size_t max, int64_t **out,
                                        size_t *count) {
  *out = NULL;
  *count = 0;
  if (v->rank > 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s must be 1-D, found rank %d", what,
                           v->rank);
  int64_t n = lens_value_elements(v);
  if (n < 0 || (uint64_t)n > max)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s has %lld values, at most %zu allowed",
                           what, (long long)n, max);
  if (n == 0) return lens_value_read_ints(node, v, what, NULL, 0, count);
  int64_t *buf = malloc((size_t)n * sizeof *buf);
  if (!buf) return lens_error_oom();
  lens_status *st = lens_value_read_ints(node, v, what, buf, (size_t)n, count);
  if (st) {
    free(buf);
    return st;
  }
  *out = buf;
  return NULL;
}

/* ---- strided copy ----------------------------------------------------------------------- */

typedef struct strided_job {
  uint8_t *dst;
  const uint8_t *src;
  int64_t es;
  int rank; /* >= 1 */
  int64_t dims[LENS_SHAPE_COPY_MAX_DIMS];
  int64_t strides[LENS_SHAPE_COPY_MAX_DIMS];
} strided_job;

/* Copies rows [begin, end) where a row is the innermost dimension. */
static void strided_rows(void *arg, size_t begin, size_t end) {
  const strided_job *job = arg;
  const int r = job->rank;
  const int64_t es = job->es, inner = job->dims[r - 1], in_stride = job->strides[r - 1];
  int64_t idx[LENS_SHAPE_COPY_MAX_DIMS] = {0};
  int64_t rem = (int64_t)begin, off = 0;
  for (int d = r - 2; d >= 0; d--) {
    idx[d] = rem % job->dims[d];
    rem /= job->dims[d];
    off += idx[d] * job->strides[d];
  }
  uint8_t *dst = job->dst + (int64_t)begin * inner * es;
  for (size_t row = begin; row < end; row++) {
    const uint8_t *s = job->src + off * es;
    if (in_stride == 1) {
      memcpy(dst, s, (size_t)(inner * es));
    } else {
      const int64_t step = in_stride * es;
      for (int64_t k = 0; k < inner; k++) lens_shape_copy_elem(dst + k * es, s + k * step, (size_t)es);
    }
    dst += inner * es;
    for (int d = r - 2; d >= 0; d--) {
      idx[d]++;
      off += job->strides[d];
      if (idx[d] < job->dims[d]) break;
      off -= job->dims[d] * job->strides[d];
      idx[d] = 0;
    }
  }
}

void lens_shape_strided_copy(lens_exec_ctx *ctx, void *dst, const void *src, size_t es,
                             int rank, const int64_t *dims, const int64_t *src_strides) {
  strided_job job;
  job.dst = dst;
  job.src = src;
  job.es = (int64_t)es;
  /* drop unit dims, then merge neighbours that are contiguous in the source as well */
  int r = 0;
  for (int d = 0; d < rank; d++) {
    if (dims[d] == 0) return;
    if (dims[d] == 1) continue;
    if (r > 0 && job.strides[r - 1] == src_strides[d] * dims[d]) {
      job.dims[r - 1] *= dims[d];
      job.strides[r - 1] = src_strides[d];
      continue;
    }
    job.dims[r] = dims[d];
    job.strides[r] = src_strides[d];
    r++;
  }
  if (r == 0) {
    job.dims[0] = 1;
    job.strides[0] = 1;
    r = 1;
  }
  job.rank = r;
  int64_t rows = 1;
  for (int d = 0; d < r - 1; d++) rows *= job.dims[d];
  int64_t bytes = rows * job.dims[r - 1] * job.es;
  if (ctx && rows > 1 && bytes >= ((int64_t)1 << 20))
    lens_parallel_for(ctx, (size_t)rows, strided_rows, &job);
  else
    strided_rows(&job, 0, (size_t)rows);
}

/* ---- Reduce* ---------------------------------------------------------------------------- */

typedef struct reduce_params {
  lens_reduce_kind kind;
  bool keepdims;
  bool noop_with_empty_axes;
  bool axes_from_input;
  size_t n_axes;
  int64_t axes[LENS_MAX_RANK];
} reduce_params;

lens_status *lens_reduce_prepare(lens_node *node, lens_reduce_kind kind) {
  reduce_params *p = calloc(1, sizeof *p);
  if (!p) return lens_error_oom();
  free(node->params);
  node->params = p;
  p->kind = kind;
  int64_t keepdims, noop = 0;
  LENS_TRY(lens_attr_int(node, "keepdims", 1, &keepdims));
  if (keepdims != 0 && keepdims != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "keepdims must be 0 or 1, found %lld",
                           (long long)keepdims);
  p->keepdims = keepdims != 0;
  p->axes_from_input = (kind == LENS_REDUCE_SUM && node->opset >= 13) || node->opset >= 18;
  if (p->axes_from_input) {
    if (lens_node_attr(node, "axes"))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "axes is an input from opset %d, not an attribute",
                             kind == LENS_REDUCE_SUM ? 13 : 18);
    LENS_TRY(lens_attr_int(node, "noop_with_empty_axes", 0, &noop));
    if (noop != 0 && noop != 1)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "noop_with_empty_axes must be 0 or 1, found %lld", (long long)noop);
    p->noop_with_empty_axes = noop != 0;
  } else {
    if (node->n_inputs > 1)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "takes one input at opset %lld (axes is an attribute)",
                             (long long)node->opset);
    if (lens_node_attr(node, "noop_with_empty_axes"))
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "noop_with_empty_axes is not an attribute at opset %lld",
                             (long long)node->opset);
    const int64_t *axes;
    size_t n;
    LENS_TRY(lens_attr_ints(node, "axes", &axes, &n));
    if (n > LENS_MAX_RANK)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axes has %zu values, more than rank %d",
                             n, LENS_MAX_RANK);
    if (n) memcpy(p->axes, axes, n * sizeof *axes);
    p->n_axes = n;
  }
  return NULL;
}

/* Which input axes are reduced. *known is false when the axes input is not known yet;
 * *noop is true when the node passes its input through (noop_with_empty_axes). */
static lens_status *reduce_plan(const lens_node *node, const lens_value *in, bool *mask,
                                bool *known, bool *noop) {
  const reduce_params *p = node->params;
  int64_t axes[LENS_MAX_RANK];
  size_t n = 0;
  int rank = in[0].rank;
  *known = true;
  *noop = false;
  if (p->axes_from_input) {
    const lens_value *a = lens_shape_input(node, in, 1);
    if (a) {
      if (a->rank > 1)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axes must be 1-D, found rank %d",
                               a->rank);
      if (lens_value_elements(a) > 0 && !a->data) {
        *known = false;
        return NULL;
      }
      if (lens_value_elements(a) > LENS_MAX_RANK)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL, "axes has %lld values, more than rank %d",
                               (long long)lens_value_elements(a), rank);
      LENS_TRY(lens_value_read_ints(node, a, "axes", axes, LENS_MAX_RANK, &n));
    }
  } else {
    n = p->n_axes;
    memcpy(axes, p->axes, n * sizeof *axes);
  }
  for (int d = 0; d < rank; d++) mask[d] = false;
  if (n == 0) {
    if (p->noop_with_empty_axes) *noop = true;
    else
      for (int d = 0; d < rank; d++) mask[d] = true;
    return NULL;
  }
  int norm[LENS_MAX_RANK];
  LENS_TRY(lens_shape_normalize_axes(node, axes, n, rank, "axes", norm));
  for (size_t i = 0; i < n; i++) mask[norm[i]] = true;
  return NULL;
}

lens_status *lens_reduce_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const reduce_params *p = node->params;
  lens_dtype dt = in[0].dtype;
  if (dt != LENS_DTYPE_FLOAT32 && dt != LENS_DTYPE_FLOAT16 && dt != LENS_DTYPE_INT32 &&
      dt != LENS_DTYPE_INT64)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "input dtype %s is not supported",
                           lens_dtype_name(dt));
  out[0].dtype = dt;
  bool mask[LENS_MAX_RANK], known, noop;
  LENS_TRY(reduce_plan(node, in, mask, &known, &noop));
  if (!known) {
    out[0].rank = -1;
    return NULL;
  }
  if (noop) {
    out[0].rank = in[0].rank;
    memcpy(out[0].dims, in[0].dims, sizeof out[0].dims);
    return NULL;
  }
  int r = 0;
  int64_t count = 1;
  for (int d = 0; d < in[0].rank; d++) {
    if (!mask[d]) out[0].dims[r++] = in[0].dims[d];
    else {
      count *= in[0].dims[d];
      if (p->keepdims) out[0].dims[r++] = 1;
    }
  }
  out[0].rank = r;
  if (count == 0 && p->kind == LENS_REDUCE_MEAN &&
      (dt == LENS_DTYPE_INT32 || dt == LENS_DTYPE_INT64))
    return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                           "the mean of zero %s elements is undefined", lens_dtype_name(dt));
  return lens_check_output_shape(node, &out[0]);
}

double lens_reduce_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  (void)node;
  (void)out;
  return (double)lens_value_elements(&in[0]);
}

typedef struct reduce_job {
  lens_reduce_kind kind;
  lens_dtype dtype;
  const void *src;
  void *dst;
  int n_kept, n_red;
  int64_t kept_dims[LENS_MAX_RANK], kept_strides[LENS_MAX_RANK];
  int64_t red_dims[LENS_MAX_RANK], red_strides[LENS_MAX_RANK];
  int64_t red_count;
} reduce_job;

static double load_float(lens_dtype dt, const void *src, int64_t i) {
  return dt == LENS_DTYPE_FLOAT32 ? (double)((const float *)src)[i]
                                  : (double)lens_half_to_float(((const uint16_t *)src)[i]);
}

static int64_t load_int(lens_dtype dt, const void *src, int64_t i) {
  return dt == LENS_DTYPE_INT64 ? ((const int64_t *)src)[i] : ((const int32_t *)src)[i];
}

static void reduce_outputs(void *arg, size_t begin, size_t end) {
  const reduce_job *job = arg;
  const bool is_float = job->dtype == LENS_DTYPE_FLOAT32 || job->dtype == LENS_DTYPE_FLOAT16;
  for (size_t o = begin; o < end; o++) {
    int64_t rem = (int64_t)o, base = 0;
    for (int t = job->n_kept - 1; t >= 0; t--) {
      base += (rem % job->kept_dims[t]) * job->kept_strides[t];
      rem /= job->kept_dims[t];
    }
    int64_t ridx[LENS_MAX_RANK] = {0};
    int64_t off = base;
    double facc = job->kind == LENS_REDUCE_MAX ? -INFINITY : 0.0;
    uint64_t usum = 0;
    int64_t imax = job->dtype == LENS_DTYPE_INT64 ? INT64_MIN : INT32_MIN;
    for (int64_t k = 0; k < job->red_count; k++) {
      if (is_float) {
        double x = load_float(job->dtype, job->src, off);
        if (job->kind == LENS_REDUCE_MAX) {
          if (x > facc || x != x) facc = x;
        } else {
          facc += x;
        }
      } else {
        int64_t x = load_int(job->dtype, job->src, off);
        if (job->kind == LENS_REDUCE_MAX) {
          if (x > imax) imax = x;
        } else {
          usum += (uint64_t)x; /* wraps like the tensor type instead of overflowing */
        }
      }
      for (int t = job->n_red - 1; t >= 0; t--) {
        ridx[t]++;
        off += job->red_strides[t];
        if (ridx[t] < job->red_dims[t]) break;
        off -= job->red_dims[t] * job->red_strides[t];
        ridx[t] = 0;
      }
    }
    if (is_float) {
      if (job->kind == LENS_REDUCE_MEAN) facc /= (double)job->red_count; /* 0/0: NaN */
      if (job->dtype == LENS_DTYPE_FLOAT32) ((float *)job->dst)[o] = (float)facc;
      else ((uint16_t *)job->dst)[o] = lens_float_to_half((float)facc);
    } else {
      int64_t v;
      if (job->kind == LENS_REDUCE_MAX) v = imax;
      else if (job->kind == LENS_REDUCE_SUM) v = (int64_t)usum;
      else v = (int64_t)usum / job->red_count;
      if (job->dtype == LENS_DTYPE_INT64) ((int64_t *)job->dst)[o] = v;
      else ((int32_t *)job->dst)[o] = (int32_t)(uint32_t)(uint64_t)v;
    }
  }
}

lens_status *lens_reduce_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                 lens_exec_ctx *ctx) {
  bool mask[LENS_MAX_RANK], known, noop;
  LENS_TRY(reduce_plan(node, in, mask, &known, &noop));
  if (!known)
    return lens_node_error(node, LENS_ERR_RUNTIME, "axes input has no data at run time");
  if (noop) {
    lens_shape_copy_all(&in[0], &out[0]);
    return NULL;
  }
  reduce_job job;
  memset(&job, 0, sizeof job);
  job.kind = ((const reduce_params *)node->params)->kind;
  job.dtype = in[0].dtype;
  job.src = in[0].data;
  job.dst = out[0].data;
  job.red_count = 1;
  int64_t strides[LENS_MAX_RANK];
  lens_contiguous_strides(in[0].dims, in[0].rank, strides);
  for (int d = 0; d < in[0].rank; d++) {
    if (mask[d]) {
      job.red_dims[job.n_red] = in[0].dims[d];
      job.red_strides[job.n_red++] = strides[d];
      job.red_count *= in[0].dims[d];
    } else {
      job.kept_dims[job.n_kept] = in[0].dims[d];
      job.kept_strides[job.n_kept++] = strides[d];
    }
  }
  int64_t n_out = lens_value_elements(&out[0]);
  if (n_out > 1 && lens_value_elements(&in[0]) >= 65536)
    lens_parallel_for(ctx, (size_t)n_out, reduce_outputs, &job);
  else
    reduce_outputs(&job, 0, (size_t)n_out);
  return NULL;
}
