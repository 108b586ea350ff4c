/* resize_nearest_int: float32 N-C-H-W nearest Resize by whole factors (each output row and
 * column repeats one input value s times) with the coordinate rule that reads input index
 * floor(x / s): asymmetric coordinates with nearest_mode floor, as opset 10 always does.
 * The reference computes a coordinate per output element; this copies rows. */
#include <string.h>

#include "cpu/kernels.h"

static bool attr_is(const lens_node *node, const char *name, const char *def, const char *want) {
  const char *s;
  lens_status *st = lens_attr_string(node, name, def, &s);
  if (st) {
    lens_status_free(st);
    return false;
  }
  return strcmp(s, want) == 0;
}

static bool resize_supports(const lens_node *node, const lens_value *in, const lens_value *out) {
  if (strcmp(node->op_type, "Resize") != 0 || (node->domain && node->domain[0]) ||
      in[0].dtype != LENS_DTYPE_FLOAT32 || in[0].rank != 4 || out[0].rank != 4)
    return false;
  if (!attr_is(node, "mode", "nearest", "nearest")) return false;
  if (node->opset >= 11 &&
      (!attr_is(node, "coordinate_transformation_mode", "half_pixel", "asymmetric") ||
       !attr_is(node, "nearest_mode", "round_prefer_floor", "floor")))
    return false;
  if (out[0].dims[0] != in[0].dims[0] || out[0].dims[1] != in[0].dims[1]) return false;
  for (int d = 2; d < 4; d++)
    if (in[0].dims[d] <= 0 || out[0].dims[d] % in[0].dims[d] != 0) return false;
  return true;
}

typedef struct resize_job {
  const float *x;
  float *y;
  int64_t ih, iw, sh, sw;
} resize_job;

/* One (batch, channel) plane per index. */
static void resize_planes(void *arg, size_t begin, size_t end) {
  const resize_job *j = arg;
  int64_t ow = j->iw * j->sw;
  for (size_t p = begin; p < end; p++) {
    const float *x = j->x + (int64_t)p * j->ih * j->iw;
    float *y = j->y + (int64_t)p * j->ih * j->sh * ow;
    for (int64_t r = 0; r < j->ih; r++) {
      float *row = y + r * j->sh * ow;
      const float *src = x + r * j->iw;
      if (j->sw == 2) {
        for (int64_t c = 0; c < j->iw; c++) row[2 * c] = row[2 * c + 1] = src[c];
      } else {
        for (int64_t c = 0; c < j->iw; c++)
          for (int64_t k = 0; k < j->sw; k++) row[c * j->sw + k] = src[c];
      }
      for (int64_t k = 1; k < j->sh; k++) memcpy(row + k * ow, row, (size_t)ow * sizeof *row);
    }
  }
}

static lens_status *resize_compute(const lens_node *node, const lens_value *in,
                                   lens_value *out, lens_exec_ctx *ctx) {
  resize_job job = {in[0].data, out[0].data, in[0].dims[2], in[0].dims[3],
                    out[0].dims[2] / in[0].dims[2], out[0].dims[3] / in[0].dims[3]};
  size_t planes = (size_t)(in[0].dims[0] * in[0].dims[1]);
  if (lens_value_elements(&out[0]) < 65536) resize_planes(&job, 0, planes);
  else lens_parallel_for(ctx, planes, resize_planes, &job);
  return NULL;
}

const lens_kernel lens_kernel_resize_nearest_int = {
    .name = "resize_nearest_int",
    .op_type = "Resize",
    .precision = "fp32",
    .supports = resize_supports,
    .compute = resize_compute,
};
