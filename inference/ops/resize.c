/* Resize: nearest or (multi)linear sampling of a tensor of any rank to new dims given by
 * scales (opset 10: input 1; 11+: input 2) or sizes (11+: input 3).
 *
 * Coordinates follow ONNX's reference implementation: an output index x maps to
 *   half_pixel                (x + 0.5) / scale - 0.5
 *   pytorch_half_pixel        the same, or 0 when the output dim is 1
 *   align_corners             x * (in - 1) / (resized - 1), or 0 when resized is 1
 *   asymmetric                x / scale
 *   tf_half_pixel_for_nearest (x + 0.5) / scale
 * where resized = in * scale (the unfloored length) when scales are given, and scale =
 * out / in when sizes are. Opset 10 has no attributes besides mode: it uses asymmetric
 * coordinates and floor for nearest. Neighbours outside the input repeat its edge.
 * Nearest moves bytes (any dtype); linear is float32/float16. cubic and tf_crop_and_resize
 * are not supported. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/shape_common.h"

typedef enum resize_mode { RESIZE_NEAREST, RESIZE_LINEAR } resize_mode;

typedef enum resize_coord {
  COORD_HALF_PIXEL,
  COORD_PYTORCH_HALF_PIXEL,
  COORD_ALIGN_CORNERS,
  COORD_ASYMMETRIC,
  COORD_TF_HALF_PIXEL_FOR_NEAREST,
} resize_coord;

typedef enum resize_nearest {
  NEAREST_ROUND_PREFER_FLOOR,
  NEAREST_ROUND_PREFER_CEIL,
  NEAREST_FLOOR,
  NEAREST_CEIL,
} resize_nearest;

typedef struct resize_params {
  resize_mode mode;
  resize_coord coord;
  resize_nearest nearest;
  int scales_input; /* index of the scales input */
  int sizes_input;  /* index of the sizes input, -1 before opset 11 */
} resize_params;

typedef struct name_value {
  const char *name;
  int value;
} name_value;

static lens_status *resize_enum(const lens_node *node, const char *attr, const char *def,
                                const name_value *table, size_t n, int *out) {
  const char *s;
  LENS_TRY(lens_attr_string(node, attr, def, &s));
  for (size_t i = 0; i < n; i++) {
    if (table[i].name && strcmp(s, table[i].name) == 0) {
      *out = table[i].value;
      return NULL;
    }
  }
  return lens_node_error(node, LENS_ERR_UNSUPPORTED, "%s '%s' is not supported", attr, s);
}

static lens_status *resize_parse(lens_node *node, void *out) {
  resize_params *p = out;
  static const name_value modes[] = {{"nearest", RESIZE_NEAREST}, {"linear", RESIZE_LINEAR}};
  int v = 0;
  LENS_TRY(resize_enum(node, "mode", "nearest", modes, 2, &v));
  p->mode = (resize_mode)v;
  if (node->opset < 11) {
    static const char *const later[] = {"coordinate_transformation_mode", "nearest_mode",
                                        "cubic_coeff_a", "exclude_outside", "extrapolation_value"};
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
      if (lens_node_attr(node, later[i]))
        return lens_node_error(node, LENS_ERR_INVALID_MODEL, "attribute %s needs opset 11",
                               later[i]);
    if (node->n_inputs != 2)
      return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                             "takes inputs X and scales at opset %lld", (long long)node->opset);
    p->coord = COORD_ASYMMETRIC;
    p->nearest = NEAREST_FLOOR;
    p->scales_input = 1;
    p->sizes_input = -1;
    return NULL;
  }
  static const name_value coords[] = {
      {"half_pixel", COORD_HALF_PIXEL},
      {"pytorch_half_pixel", COORD_PYTORCH_HALF_PIXEL},
      {"align_corners", COORD_ALIGN_CORNERS},
      {"asymmetric", COORD_ASYMMETRIC},
      {"tf_half_pixel_for_nearest", COORD_TF_HALF_PIXEL_FOR_NEAREST},
      {"tf_half_pixel_for_nn", COORD_TF_HALF_PIXEL_FOR_NEAREST}, /* its name in older exporters */
  };
  LENS_TRY(resize_enum(node, "coordinate_transformation_mode", "half_pixel", coords,
                       sizeof coords / sizeof coords[0], &v));
  p->coord = (resize_coord)v;
  static const name_value nearests[] = {
      {"round_prefer_floor", NEAREST_ROUND_PREFER_FLOOR},
      {"round_prefer_ceil", NEAREST_ROUND_PREFER_CEIL},
      {"floor", NEAREST_FLOOR},
      {"ceil", NEAREST_CEIL},
  };
  LENS_TRY(resize_enum(node, "nearest_mode", "round_prefer_floor", nearests,
                       sizeof nearests / sizeof nearests[0], &v));
  p->nearest = (resize_nearest)v;
  /* these only change cubic and tf_crop_and_resize, which are rejected above; with two
   * taps the repeated edge makes exclude_outside irrelevant for linear too */
  float f;
  int64_t exclude_outside, antialias;
  LENS_TRY(lens_attr_float(node, "cubic_coeff_a", -0.75f, &f));
  LENS_TRY(lens_attr_float(node, "extrapolation_value", 0.0f, &f));
  LENS_TRY(lens_attr_int(node, "exclude_outside", 0, &exclude_outside));
  if (exclude_outside != 0 && exclude_outside != 1)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "exclude_outside must be 0 or 1");
  LENS_TRY(lens_attr_int(node, "antialias", 0, &antialias));
  if (antialias != 0)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "antialias is not supported");
  if (lens_node_attr(node, "axes"))
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "the axes attribute is not supported");
  const char *policy;
  LENS_TRY(lens_attr_string(node, "keep_aspect_ratio_policy", "stretch", &policy));
  if (strcmp(policy, "stretch") != 0)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED,
                           "keep_aspect_ratio_policy '%s' is not supported", policy);
  p->scales_input = 2;
  p->sizes_input = 3;
  return NULL;
}

static lens_status *resize_prepare(lens_node *node) {
  return lens_node_store_params(node, sizeof(resize_params), resize_parse);
}

/* Per input dim: the output size, the scale and the resized length the coordinate
 * transform divides by. *known is false while scales or sizes have no data. */
static lens_status *resize_plan(const lens_node *node, const lens_value *in, int64_t *out_dims,
                                double *scale, double *resized, bool *known) {
  const resize_params *p = node->params;
  int rank = in[0].rank;
  const lens_value *sc = lens_shape_input(node, in, p->scales_input);
  const lens_value *sz = p->sizes_input >= 0 ? lens_shape_input(node, in, p->sizes_input) : NULL;
  if (sc && lens_value_elements(sc) == 0) sc = NULL;
  if (sz && lens_value_elements(sz) == 0) sz = NULL;
  *known = true;
  if (sc && sz)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "has both scales and sizes");
  if (!sc && !sz)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "has neither scales nor sizes");
  if (rank < 1) return lens_node_error(node, LENS_ERR_INVALID_MODEL, "cannot resize a scalar");
  const lens_value *given = sc ? sc : sz;
  const char *what = sc ? "scales" : "sizes";
  if (given->rank != 1 || given->dims[0] != rank)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "%s must hold %d values (one per dim)",
                           what, rank);
  if (sc && sc->dtype != LENS_DTYPE_FLOAT32)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "scales must be float32, found %s",
                           lens_dtype_name(sc->dtype));
  if (sz && sz->dtype != LENS_DTYPE_INT64)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "sizes must be int64, found %s",
                           lens_dtype_name(sz->dtype));
  if (!given->data) {
    *known = false;
    return NULL;
  }
  for (int d = 0; d < rank; d++) {
    int64_t n = in[0].dims[d];
    if (sc) {
      double s = ((const float *)sc->data)[d];
      if (!(s > 0.0) || !isfinite(s))
        return lens_node_error(node, LENS_ERR_INVALID_MODEL, "scale %g for axis %d must be > 0", s,
                               d);
      double o = floor((double)n * s);
      if (o > (double)LENS_MAX_TENSOR_BYTES)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL, "scale %g for axis %d is too large",
                               s, d);
      out_dims[d] = (int64_t)o;
      scale[d] = s;
      resized[d] = (double)n * s;
    } else {
      int64_t o = ((const int64_t *)sz->data)[d];
      if (o < 0)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL, "size %lld for axis %d is negative",
                               (long long)o, d);
      if (n == 0 && o > 0)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL,
                               "cannot resize axis %d of size 0 to %lld", d, (long long)o);
      out_dims[d] = o;
      scale[d] = n > 0 ? (double)o / (double)n : 1.0;
      resized[d] = (double)o;
    }
  }
  return NULL;
}

static lens_status *resize_infer(const lens_node *node, const lens_value *in, lens_value *out) {
  const resize_params *p = node->params;
  size_t es;
  LENS_TRY(lens_shape_elem_size(node, in[0].dtype, "X", &es));
  if (p->mode == RESIZE_LINEAR && in[0].dtype != LENS_DTYPE_FLOAT32 &&
      in[0].dtype != LENS_DTYPE_FLOAT16)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "linear mode does not support dtype %s",
                           lens_dtype_name(in[0].dtype));
  out[0].dtype = in[0].dtype;
  double scale[LENS_MAX_RANK], resized[LENS_MAX_RANK];
  bool known;
  LENS_TRY(resize_plan(node, in, out[0].dims, scale, resized, &known));
  if (!known) {
    out[0].rank = -1;
    return NULL;
  }
  out[0].rank = in[0].rank;
  return lens_check_output_shape(node, &out[0]);
}

/* The input coordinate of output index x. */
static double resize_coordinate(resize_coord coord, double x, double scale, double resized,
                                int64_t in_len, int64_t out_len) {
  switch (coord) {
  case COORD_HALF_PIXEL: return (x + 0.5) / scale - 0.5;
  case COORD_PYTORCH_HALF_PIXEL: return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  case COORD_ALIGN_CORNERS:
    return resized == 1.0 ? 0.0 : x * (double)(in_len - 1) / (resized - 1.0);
  case COORD_ASYMMETRIC: return x / scale;
  case COORD_TF_HALF_PIXEL_FOR_NEAREST: return (x + 0.5) / scale;
  }
  return 0.0;
}

static int64_t clamp_index(double i, int64_t n) {
  if (i < 0.0) return 0;
  if (i > (double)(n - 1)) return n - 1;
  return (int64_t)i;
}

/* The nearest input index of coordinate c in a dim of size n. */
static int64_t resize_nearest_index(resize_nearest mode, double c, int64_t n) {
  double f = floor(c), r = c - f;
  if (r == 0.0) return clamp_index(f, n);
  bool up;
  switch (mode) {
  case NEAREST_ROUND_PREFER_FLOOR: up = r > 0.5; break;
  case NEAREST_ROUND_PREFER_CEIL: up = r >= 0.5; break;
  case NEAREST_FLOOR: up = false; break;
  default: up = true; break;
  }
  return clamp_index(up ? f + 1.0 : f, n);
}

typedef struct resize_job {
  resize_mode mode;
  lens_dtype dtype;
  size_t es;
  int rank;
  const uint8_t *src;
  uint8_t *dst;
  int64_t out_dims[LENS_MAX_RANK];
  int64_t in_strides[LENS_MAX_RANK];
  /* per dim, per output index: the lower (or only) source index, the upper one and the
   * weight of the upper one (linear) */
  int64_t *lo[LENS_MAX_RANK];
  int64_t *hi[LENS_MAX_RANK];
  double *w[LENS_MAX_RANK];
  int active[LENS_MAX_RANK]; /* dims where some weight is nonzero */
  int n_active;
} resize_job;

static double resize_load(const resize_job *job, int64_t off) {
  if (job->dtype == LENS_DTYPE_FLOAT32) return ((const float *)job->src)[off];
  return lens_half_to_float(((const uint16_t *)job->src)[off]);
}

/* Output rows [begin, end): a row is the innermost dim. */
static void resize_rows(void *arg, size_t begin, size_t end) {
  const resize_job *job = arg;
  const int r = job->rank;
  const int64_t last = job->out_dims[r - 1];
  int64_t idx[LENS_MAX_RANK];
  for (size_t row = begin; row < end; row++) {
    int64_t rem = (int64_t)row;
    for (int d = r - 2; d >= 0; d--) {
      idx[d] = rem % job->out_dims[d];
      rem /= job->out_dims[d];
    }
    if (job->mode == RESIZE_NEAREST) {
      int64_t off = 0;
      for (int d = 0; d < r - 1; d++) off += job->lo[d][idx[d]] * job->in_strides[d];
      const uint8_t *s = job->src + off * (int64_t)job->es;
      uint8_t *dst = job->dst + row * (size_t)last * job->es;
      for (int64_t j = 0; j < last; j++)
        lens_shape_copy_elem(dst + j * (int64_t)job->es, s + job->lo[r - 1][j] * (int64_t)job->es,
                             job->es);
      continue;
    }
    for (int64_t j = 0; j < last; j++) {
      idx[r - 1] = j;
      int64_t base = 0;
      for (int d = 0; d < r; d++) base += job->lo[d][idx[d]] * job->in_strides[d];
      double acc = 0.0;
      for (int corner = 0; corner < (1 << job->n_active); corner++) {
        int64_t off = base;
        double wt = 1.0;
        for (int t = 0; t < job->n_active; t++) {
          int d = job->active[t];
          double w = job->w[d][idx[d]];
          if (corner & (1 << t)) {
            off += (job->hi[d][idx[d]] - job->lo[d][idx[d]]) * job->in_strides[d];
            wt *= w;
          } else {
            wt *= 1.0 - w;
          }
        }
        if (wt != 0.0) acc += wt * resize_load(job, off);
      }
      size_t o = row * (size_t)last + (size_t)j;
      if (job->dtype == LENS_DTYPE_FLOAT32) ((float *)job->dst)[o] = (float)acc;
      else ((uint16_t *)job->dst)[o] = lens_float_to_half((float)acc);
    }
  }
}

static lens_status *resize_compute(const lens_node *node, const lens_value *in, lens_value *out,
                                   lens_exec_ctx *ctx) {
  const resize_params *p = node->params;
  int64_t out_dims[LENS_MAX_RANK];
  double scale[LENS_MAX_RANK], resized[LENS_MAX_RANK];
  bool known;
  LENS_TRY(resize_plan(node, in, out_dims, scale, resized, &known));
  if (!known) return lens_node_error(node, LENS_ERR_RUNTIME, "scales or sizes have no data");
  if (lens_value_elements(&out[0]) == 0) return NULL;
  int rank = in[0].rank;
  resize_job job;
  memset(&job, 0, sizeof job);
  job.mode = p->mode;
  job.dtype = in[0].dtype;
  job.es = lens_dtype_size(in[0].dtype);
  job.rank = rank;
  job.src = in[0].data;
  job.dst = out[0].data;
  memcpy(job.out_dims, out[0].dims, sizeof job.out_dims);
  lens_contiguous_strides(in[0].dims, rank, job.in_strides);
  int64_t total = 0;
  for (int d = 0; d < rank; d++) total += out[0].dims[d];
  int64_t *ints = malloc((size_t)total * 2 * sizeof *ints);
  double *weights = malloc((size_t)total * sizeof *weights);
  if (!ints || !weights) {
    free(ints);
    free(weights);
    return lens_error_oom();
  }
  int64_t at = 0;
  for (int d = 0; d < rank; d++) {
    int64_t n = in[0].dims[d], o = out[0].dims[d];
    job.lo[d] = ints + 2 * at;
    job.hi[d] = ints + 2 * at + o;
    job.w[d] = weights + at;
    at += o;
    bool active = false;
    for (int64_t x = 0; x < o; x++) {
      double c = resize_coordinate(p->coord, (double)x, scale[d], resized[d], n, o);
      if (p->mode == RESIZE_NEAREST) {
        job.lo[d][x] = job.hi[d][x] = resize_nearest_index(p->nearest, c, n);
        job.w[d][x] = 0.0;
        continue;
      }
      double f = floor(c);
      job.lo[d][x] = clamp_index(f, n);
      job.hi[d][x] = clamp_index(f + 1.0, n);
      job.w[d][x] = job.lo[d][x] == job.hi[d][x] ? 0.0 : c - f;
      if (job.w[d][x] != 0.0) active = true;
    }
    if (active) job.active[job.n_active++] = d;
  }
  int64_t rows = lens_value_elements(&out[0]) / out[0].dims[rank - 1];
  if (rows > 1 && lens_value_elements(&out[0]) >= 65536)
    lens_parallel_for(ctx, (size_t)rows, resize_rows, &job);
  else
    resize_rows(&job, 0, (size_t)rows);
  free(ints);
  free(weights);
  return NULL;
}

static double resize_flops(const lens_node *node, const lens_value *in, const lens_value *out) {
  const resize_params *p = node->params;
  if (p->mode != RESIZE_LINEAR) return 0.0;
  int spatial = 0;
  for (int d = 0; d < in[0].rank && d < out[0].rank; d++)
    if (in[0].dims[d] != out[0].dims[d]) spatial++;
  /* one multiply-add per tap plus the weight products */
  return (double)lens_value_elements(&out[0]) * (double)(1 << spatial) * (2.0 + spatial);
}

const lens_op_def lens_op_resize = {
    .name = "Resize",
    .domain = "",
    .min_inputs = 1,
    .max_inputs = 4,
    .min_outputs = 1,
    .max_outputs = 1,
    .prepare = resize_prepare,
    .infer = resize_infer,
    .flops = resize_flops,
    .compute = resize_compute,
};
