/* Neural-network operators on hand-computed values and their error paths: Conv,
 * ConvTranspose, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, BatchNormalization,
 * Gemm, MatMul, Softmax. */
#include "nn_test_util.h"

static void check_floats(const lens_value *v, const float *expect, int64_t n, double tol) {
  CHECK(lens_value_elements(v) == n);
  if (lens_value_elements(v) != n) return;
  const float *got = v->data;
  for (int64_t i = 0; i < n; i++) CHECK_NEAR(got[i], expect[i], tol);
}

static void check_dims(const lens_value *v, int rank, const int64_t *dims) {
  CHECK(v->rank == rank);
  for (int i = 0; i < rank && i < v->rank; i++) CHECK(v->dims[i] == dims[i]);
}

static void iota(float *x, int64_t n, float start) {
  for (int64_t i = 0; i < n; i++) x[i] = start + (float)i;
}

/* ---- Conv ------------------------------------------------------------------------------- */

/* Runs Conv on X [1,1,5,5] = 0..24 with a 3x3 kernel of ones. */
static void run_conv_5x5(tnode *t, const float *expect, int64_t oh, int64_t ow) {
  float x[25], w[9];
  iota(x, 25, 0.0f);
  for (int i = 0; i < 9; i++) w[i] = 1.0f;
  int64_t xd[4] = {1, 1, 5, 5}, wd[4] = {1, 1, 3, 3};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 4, wd, w),
                      tnone()};
  lens_value out[1];
  CHECK_OK(trun(t, in, out, 1, NULL));
  int64_t od[4] = {1, 1, oh, ow};
  check_dims(&out[0], 4, od);
  check_floats(&out[0], expect, oh * ow, 1e-4);
  tfree_outputs(out, 1);
  tnode_free(t);
}

static void test_conv_3x3_without_and_with_padding(void) {
  tnode t;
  tnode_init(&t, "Conv", 11, 2, 1);
  static const float valid[9] = {54, 63, 72, 99, 108, 117, 144, 153, 162};
  run_conv_5x5(&t, valid, 3, 3);

  static const int64_t pads[4] = {1, 1, 1, 1};
  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_ints(&t, "pads", pads, 4);
  static const float padded[25] = {12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108,
                                   117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84};
  run_conv_5x5(&t, padded, 5, 5);
}

static void test_conv_strides_and_asymmetric_pads(void) {
  /* X [1,1,7,5] = 0..34, ones 3x3, strides 2, pads top/bottom 1 (ONNX's own example). */
  float x[35], w[9];
  iota(x, 35, 0.0f);
  for (int i = 0; i < 9; i++) w[i] = 1.0f;
  static const int64_t strides[2] = {2, 2}, pads[4] = {1, 0, 1, 0};
  tnode t;
  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_ints(&t, "strides", strides, 2);
  tnode_ints(&t, "pads", pads, 4);
  int64_t xd[4] = {1, 1, 7, 5}, wd[4] = {1, 1, 3, 3};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 4, wd, w),
                      tnone()};
  lens_value out[1];
  CHECK_OK(trun(&t, in, out, 1, NULL));
  static const int64_t od[4] = {1, 1, 4, 2};
  static const float expect[8] = {21, 33, 99, 117, 189, 207, 171, 183};
  check_dims(&out[0], 4, od);
  check_floats(&out[0], expect, 8, 1e-4);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

static void test_conv_depthwise_groups_with_bias(void) {
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, w[2] = {2, 3}, b[2] = {1, -1};
  tnode t;
  tnode_init(&t, "Conv", 11, 3, 1);
  tnode_int(&t, "group", 2);
  int64_t xd[4] = {1, 2, 2, 2}, wd[4] = {2, 1, 1, 1}, bd[1] = {2};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 4, wd, w),
                      tval(LENS_DTYPE_FLOAT32, 1, bd, b)};
  lens_value out[1];
  CHECK_OK(trun(&t, in, out, 1, NULL));
  static const float expect[8] = {3, 5, 7, 9, 14, 17, 20, 23};
  check_floats(&out[0], expect, 8, 1e-5);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

static void test_conv_dilation_2(void) {
  float x[16], w[4] = {1, 1, 1, 1};
  iota(x, 16, 0.0f);
  static const int64_t dil[2] = {2, 2};
  tnode t;
  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_ints(&t, "dilations", dil, 2);
  int64_t xd[4] = {1, 1, 4, 4}, wd[4] = {1, 1, 2, 2};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 4, wd, w),
                      tnone()};
  lens_value out[1];
  CHECK_OK(trun(&t, in, out, 1, NULL));
  static const float expect[4] = {20, 24, 36, 40};
  check_floats(&out[0], expect, 4, 1e-5);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

/* 1-D: X = [1,2,3,4,5], W = [1,1]. */
static void run_conv_1d_auto_pad(const char *mode, const float *expect, int64_t n_out) {
  float x[5] = {1, 2, 3, 4, 5}, w[2] = {1, 1};
  tnode t;
  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_string(&t, "auto_pad", mode);
  int64_t xd[3] = {1, 1, 5}, wd[3] = {1, 1, 2};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 3, xd, x), tval(LENS_DTYPE_FLOAT32, 3, wd, w),
                      tnone()};
  lens_value out[1];
  CHECK_OK(trun(&t, in, out, 1, NULL));
  CHECK(out[0].rank == 3 && out[0].dims[2] == n_out);
  check_floats(&out[0], expect, n_out, 1e-5);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

static void test_conv_1d_auto_pad_modes(void) {
  static const float upper[5] = {3, 5, 7, 9, 5}, lower[5] = {1, 3, 5, 7, 9},
                     valid[4] = {3, 5, 7, 9};
  run_conv_1d_auto_pad("SAME_UPPER", upper, 5);
  run_conv_1d_auto_pad("SAME_LOWER", lower, 5);
  run_conv_1d_auto_pad("VALID", valid, 4);
  run_conv_1d_auto_pad("NOTSET", valid, 4);
}

static void test_conv_3d(void) {
  float x[8], w[8];
  for (int i = 0; i < 8; i++) x[i] = w[i] = 1.0f;
  x[7] = 3.0f;
  tnode t;
  tnode_init(&t, "Conv", 11, 2, 1);
  int64_t xd[5] = {1, 1, 2, 2, 2}, wd[5] = {1, 1, 2, 2, 2};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 5, xd, x), tval(LENS_DTYPE_FLOAT32, 5, wd, w),
                      tnone()};
  lens_value out[1];
  CHECK_OK(trun(&t, in, out, 1, NULL));
  static const int64_t od[5] = {1, 1, 1, 1, 1};
  check_dims(&out[0], 5, od);
  static const float expect[1] = {10};
  check_floats(&out[0], expect, 1, 1e-5);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

/* Prepare + infer only, for error paths. */
static lens_status *prepare_infer(tnode *t, lens_value *in, lens_value *out) {
  lens_status *st = t->node.def->prepare ? t->node.def->prepare(&t->node) : NULL;
  if (!st) st = t->node.def->infer(&t->node, in, out);
  tnode_free(t);
  return st;
}

static void test_conv_rejects_bad_models(void) {
  float x[36] = {0}, w[36] = {0}, b[3] = {0};
  lens_value out[1];
  int64_t xd[4] = {1, 3, 3, 4}, wd[4] = {2, 3, 1, 1}, bd[1] = {3};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 4, wd, w),
                      tnone()};
  tnode t;

  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_int(&t, "group", 2); /* 3 channels are not divisible into 2 groups */
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "group");

  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_int(&t, "group", 0);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "group");

  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_float(&t, "group", 1.0f);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "type int");

  static const int64_t k33[2] = {3, 3};
  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_ints(&t, "kernel_shape", k33, 2);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "kernel_shape");

  static const int64_t pads[4] = {1, 1, 1, 1};
  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_ints(&t, "pads", pads, 4);
  tnode_string(&t, "auto_pad", "SAME_UPPER");
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "auto_pad");

  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_string(&t, "auto_pad", "SAME_MIDDLE");
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "auto_pad");

  static const int64_t zero_strides[2] = {0, 1};
  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_ints(&t, "strides", zero_strides, 2);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "strides");

  static const int64_t three_strides[3] = {1, 1, 1};
  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_ints(&t, "strides", three_strides, 3);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "strides");

  static const int64_t odd_pads[3] = {1, 1, 1};
  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_ints(&t, "pads", odd_pads, 3);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "pads");

  /* B with the wrong length. */
  in[2] = tval(LENS_DTYPE_FLOAT32, 1, bd, b);
  tnode_init(&t, "Conv", 11, 3, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "B must be 1-D");
  in[2] = tnone();

  /* W's channels do not match X's. */
  int64_t wd_bad[4] = {2, 2, 1, 1};
  in[1] = tval(LENS_DTYPE_FLOAT32, 4, wd_bad, w);
  tnode_init(&t, "Conv", 11, 2, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "input channels");

  /* A kernel larger than the input. */
  int64_t wd_big[4] = {2, 3, 4, 4};
  in[1] = tval(LENS_DTYPE_FLOAT32, 4, wd_big, w);
  tnode_init(&t, "Conv", 11, 2, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "does not fit");

  /* Rank mismatch and an unsupported dtype. */
  int64_t wd3[3] = {2, 3, 1};
  in[1] = tval(LENS_DTYPE_FLOAT32, 3, wd3, w);
  tnode_init(&t, "Conv", 11, 2, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "rank");
  in[0].dtype = in[1].dtype = LENS_DTYPE_FLOAT16;
  tnode_init(&t, "Conv", 11, 2, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_UNSUPPORTED, "float16");
}

/* ---- ConvTranspose ---------------------------------------------------------------------- */

static void test_convtranspose_3x3_two_output_channels(void) {
  float x[9], w[18];
  iota(x, 9, 0.0f);
  for (int i = 0; i < 18; i++) w[i] = 1.0f;
  tnode t;
  tnode_init(&t, "ConvTranspose", 11, 2, 1);
  int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 2, 3, 3};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 4, wd, w),
                      tnone()};
  lens_value out[1];
  CHECK_OK(trun(&t, in, out, 1, NULL));
  static const int64_t od[4] = {1, 2, 5, 5};
  check_dims(&out[0], 4, od);
  static const float plane[25] = {0, 1,  3,  3,  2,  3, 8,  15, 12, 7,  9,  21, 36,
                                  27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8};
  float expect[50];
  memcpy(expect, plane, sizeof plane);
  memcpy(expect + 25, plane, sizeof plane);
  check_floats(&out[0], expect, 50, 1e-5);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

/* 1-D: X = [1, 2], W = [1, 1, 1], stride 2, plus one extra attribute. */
static void run_convtranspose_1d(const char *attr, const int64_t *v, size_t n, const char *mode,
                                 const float *expect, int64_t n_out) {
  float x[2] = {1, 2}, w[3] = {1, 1, 1};
  static const int64_t strides[1] = {2};
  tnode t;
  tnode_init(&t, "ConvTranspose", 11, 2, 1);
  tnode_ints(&t, "strides", strides, 1);
  if (attr) tnode_ints(&t, attr, v, n);
  if (mode) tnode_string(&t, "auto_pad", mode);
  int64_t xd[3] = {1, 1, 2}, wd[3] = {1, 1, 3};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 3, xd, x), tval(LENS_DTYPE_FLOAT32, 3, wd, w),
                      tnone()};
  lens_value out[1];
  CHECK_OK(trun(&t, in, out, 1, NULL));
  CHECK_MSG(out[0].rank == 3 && out[0].dims[2] == n_out, "%s: size %lld", attr ? attr : mode,
            (long long)out[0].dims[2]);
  check_floats(&out[0], expect, n_out, 1e-5);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

static void test_convtranspose_1d_strides_pads_output_padding_and_shape(void) {
  static const float plain[5] = {1, 1, 3, 2, 2};
  run_convtranspose_1d(NULL, NULL, 0, NULL, plain, 5);
  static const int64_t one[1] = {1}, pads[2] = {1, 1}, shape[1] = {7}, full_shape[3] = {1, 1, 7};
  static const float extra[6] = {1, 1, 3, 2, 2, 0};
  run_convtranspose_1d("output_padding", one, 1, NULL, extra, 6);
  static const float cropped[3] = {1, 3, 2};
  run_convtranspose_1d("pads", pads, 2, NULL, cropped, 3);
  static const float grown[7] = {1, 1, 3, 2, 2, 0, 0};
  run_convtranspose_1d("output_shape", shape, 1, NULL, grown, 7);
  run_convtranspose_1d("output_shape", full_shape, 3, NULL, grown, 7);
  /* SAME: output = input * stride = 4, one cell of padding to place. */
  static const float upper[4] = {1, 1, 3, 2}, lower[4] = {1, 3, 2, 2};
  run_convtranspose_1d(NULL, NULL, 0, "SAME_UPPER", upper, 4);
  run_convtranspose_1d(NULL, NULL, 0, "SAME_LOWER", lower, 4);
}

static void test_convtranspose_groups_dilation_and_bias(void) {
  /* Two groups of one channel; channel 1's kernel [1, 2] dilated by 2. */
  float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 1, 2}, b[2] = {10, 20};
  static const int64_t dil[1] = {2};
  tnode t;
  tnode_init(&t, "ConvTranspose", 11, 3, 1);
  tnode_int(&t, "group", 2);
  tnode_ints(&t, "dilations", dil, 1);
  int64_t xd[3] = {1, 2, 2}, wd[3] = {2, 1, 2}, bd[1] = {2};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 3, xd, x), tval(LENS_DTYPE_FLOAT32, 3, wd, w),
                      tval(LENS_DTYPE_FLOAT32, 1, bd, b)};
  lens_value out[1];
  CHECK_OK(trun(&t, in, out, 1, NULL));
  /* out = 1 * (2 - 1) + (2 - 1) * 2 + 1 = 4; ch0: x=[1,2] at 0,1 and 2,3. */
  static const float expect[8] = {11, 12, 11, 12, 23, 24, 26, 28};
  check_floats(&out[0], expect, 8, 1e-5);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

static void test_convtranspose_rejects_bad_models(void) {
  float x[4] = {0}, w[8] = {0};
  int64_t xd[3] = {1, 2, 2}, wd[3] = {1, 2, 2};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 3, xd, x), tval(LENS_DTYPE_FLOAT32, 3, wd, w),
                      tnone()};
  lens_value out[1];
  tnode t;
  tnode_init(&t, "ConvTranspose", 11, 2, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "input channels");
  int64_t wd_ok[3] = {2, 1, 2};
  in[1] = tval(LENS_DTYPE_FLOAT32, 3, wd_ok, w);
  static const int64_t shape2[2] = {5, 5};
  tnode_init(&t, "ConvTranspose", 11, 2, 1);
  tnode_ints(&t, "output_shape", shape2, 2);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "output_shape");
  static const int64_t big_pads[2] = {2, 2};
  tnode_init(&t, "ConvTranspose", 11, 2, 1);
  tnode_ints(&t, "pads", big_pads, 2);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "exceed");
  static const int64_t neg[1] = {-1};
  tnode_init(&t, "ConvTranspose", 11, 2, 1);
  tnode_ints(&t, "output_padding", neg, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "output_padding");
  tnode_init(&t, "ConvTranspose", 11, 2, 1);
  tnode_int(&t, "group", 3);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "group");
}

/* ---- MaxPool ---------------------------------------------------------------------------- */

static void test_maxpool_2x2_stride_2_with_indices(void) {
  float x[16];
  iota(x, 16, 0.0f);
  x[5] = 20.0f; /* makes window 0 pick (1,1) */
  x[6] = 30.0f; /* window 1 picks (1,2): column-major index 2 * 4 + 1 */
  static const int64_t k[2] = {2, 2}, s[2] = {2, 2};
  for (int order = 0; order < 2; order++) {
    tnode t;
    tnode_init(&t, "MaxPool", 12, 1, 2);
    tnode_ints(&t, "kernel_shape", k, 2);
    tnode_ints(&t, "strides", s, 2);
    tnode_int(&t, "storage_order", order);
    int64_t xd[4] = {1, 1, 4, 4};
    lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x)};
    lens_value out[2];
    CHECK_OK(trun(&t, in, out, 2, NULL));
    static const float expect[4] = {20, 30, 13, 15};
    check_floats(&out[0], expect, 4, 0);
    CHECK(out[1].dtype == LENS_DTYPE_INT64);
    const int64_t *idx = out[1].data;
    if (idx) {
      CHECK(idx[0] == 5);
      CHECK(idx[1] == (order ? 9 : 6));
      CHECK(idx[2] == (order ? 7 : 13));
      CHECK(idx[3] == 15);
    }
    tfree_outputs(out, 2);
    tnode_free(&t);
  }
}

static void test_maxpool_ceil_mode_pads_and_dilations(void) {
  float x[16];
  iota(x, 16, 1.0f);
  static const int64_t k2[2] = {2, 2}, s2[2] = {2, 2}, d2[2] = {2, 2};
  int64_t xd3[4] = {1, 1, 3, 3}, xd4[4] = {1, 1, 4, 4};
  lens_value out[1];
  tnode t;

  /* 3x3 with a 2x2/2 window: floor gives one output, ceil two per dim. */
  tnode_init(&t, "MaxPool", 12, 1, 1);
  tnode_ints(&t, "kernel_shape", k2, 2);
  tnode_ints(&t, "strides", s2, 2);
  tnode_int(&t, "ceil_mode", 1);
  lens_value in3[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd3, x)};
  CHECK_OK(trun(&t, in3, out, 1, NULL));
  static const float ceil_expect[4] = {5, 6, 8, 9};
  check_floats(&out[0], ceil_expect, 4, 0);
  tfree_outputs(out, 1);
  tnode_free(&t);

  tnode_init(&t, "MaxPool", 12, 1, 1);
  tnode_ints(&t, "kernel_shape", k2, 2);
  tnode_ints(&t, "dilations", d2, 2);
  lens_value in4[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd4, x)};
  CHECK_OK(trun(&t, in4, out, 1, NULL));
  static const float dil_expect[4] = {11, 12, 15, 16};
  check_floats(&out[0], dil_expect, 4, 0);
  tfree_outputs(out, 1);
  tnode_free(&t);

  /* Padding never wins, even against negative values. */
  float neg[2] = {-1, -2};
  static const int64_t k12[2] = {1, 2}, pads[4] = {0, 1, 0, 1};
  int64_t nd[4] = {1, 1, 1, 2};
  tnode_init(&t, "MaxPool", 12, 1, 1);
  tnode_ints(&t, "kernel_shape", k12, 2);
  tnode_ints(&t, "pads", pads, 4);
  lens_value inn[1] = {tval(LENS_DTYPE_FLOAT32, 4, nd, neg)};
  CHECK_OK(trun(&t, inn, out, 1, NULL));
  static const float pad_expect[3] = {-1, -1, -2};
  check_floats(&out[0], pad_expect, 3, 0);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

static void test_maxpool_same_upper_and_integer_types(void) {
  uint8_t xu[5] = {3, 250, 7, 1, 9};
  int8_t xs[5] = {-3, -100, 7, -1, -9};
  static const int64_t k[1] = {2}, s[1] = {2};
  int64_t xd[3] = {1, 1, 5};
  lens_value out[1];
  tnode t;
  tnode_init(&t, "MaxPool", 12, 1, 1);
  tnode_ints(&t, "kernel_shape", k, 1);
  tnode_ints(&t, "strides", s, 1);
  tnode_string(&t, "auto_pad", "SAME_UPPER");
  lens_value inu[1] = {tval(LENS_DTYPE_UINT8, 3, xd, xu)};
  CHECK_OK(trun(&t, inu, out, 1, NULL));
  CHECK(out[0].dtype == LENS_DTYPE_UINT8 && out[0].dims[2] == 3);
  const uint8_t *yu = out[0].data;
  if (yu) CHECK(yu[0] == 250 && yu[1] == 7 && yu[2] == 9);
  tfree_outputs(out, 1);
  tnode_free(&t);

  tnode_init(&t, "MaxPool", 12, 1, 1);
  tnode_ints(&t, "kernel_shape", k, 1);
  tnode_ints(&t, "strides", s, 1);
  tnode_string(&t, "auto_pad", "SAME_UPPER");
  lens_value ins[1] = {tval(LENS_DTYPE_INT8, 3, xd, xs)};
  CHECK_OK(trun(&t, ins, out, 1, NULL));
  const int8_t *ys = out[0].data;
  if (ys) CHECK(ys[0] == -3 && ys[1] == 7 && ys[2] == -9);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

static void test_maxpool_rejects_bad_models(void) {
  float x[16] = {0};
  int64_t xd[4] = {1, 1, 4, 4};
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x)};
  lens_value out[2];
  tnode t;
  tnode_init(&t, "MaxPool", 12, 1, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "kernel_shape");
  static const int64_t k[2] = {2, 2}, k1[1] = {2}, big[2] = {5, 5};
  tnode_init(&t, "MaxPool", 12, 1, 1);
  tnode_ints(&t, "kernel_shape", k, 2);
  tnode_int(&t, "ceil_mode", 2);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "ceil_mode");
  tnode_init(&t, "MaxPool", 12, 1, 1);
  tnode_ints(&t, "kernel_shape", k1, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "kernel_shape");
  tnode_init(&t, "MaxPool", 12, 1, 1);
  tnode_ints(&t, "kernel_shape", big, 2);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "does not fit");
  in[0].dtype = LENS_DTYPE_INT32;
  tnode_init(&t, "MaxPool", 12, 1, 1);
  tnode_ints(&t, "kernel_shape", k, 2);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_UNSUPPORTED, "int32");
}

/* ---- AveragePool ------------------------------------------------------------------------ */

static void test_averagepool_count_include_pad(void) {
  float x[4] = {1, 2, 3, 4};
  static const int64_t k[2] = {3, 3}, pads[4] = {1, 1, 1, 1};
  int64_t xd[4] = {1, 1, 2, 2};
  for (int include = 0; include < 2; include++) {
    tnode t;
    tnode_init(&t, "AveragePool", 11, 1, 1);
    tnode_ints(&t, "kernel_shape", k, 2);
    tnode_ints(&t, "pads", pads, 4);
    tnode_int(&t, "count_include_pad", include);
    lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x)};
    lens_value out[1];
    CHECK_OK(trun(&t, in, out, 1, NULL));
    float v = include ? 10.0f / 9.0f : 2.5f;
    float expect[4] = {v, v, v, v};
    check_floats(&out[0], expect, 4, 1e-6);
    tfree_outputs(out, 1);
    tnode_free(&t);
  }
}

static void test_averagepool_ceil_mode_and_strides(void) {
  float x[9];
  iota(x, 9, 0.0f);
  static const int64_t k[2] = {2, 2}, k12[2] = {1, 2}, s12[2] = {1, 2};
  int64_t xd[4] = {1, 1, 3, 3}, xr[4] = {1, 1, 1, 3};
  lens_value out[1];
  tnode t;
  tnode_init(&t, "AveragePool", 11, 1, 1);
  tnode_ints(&t, "kernel_shape", k, 2);
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x)};
  CHECK_OK(trun(&t, in, out, 1, NULL));
  static const float plain[4] = {2, 3, 5, 6};
  check_floats(&out[0], plain, 4, 1e-6);
  tfree_outputs(out, 1);
  tnode_free(&t);

  /* [0,1,2] with a 2-wide window, stride 2, ceil: the overhang is not counted even with
   * count_include_pad (it is not padding). */
  for (int include = 0; include < 2; include++) {
    tnode_init(&t, "AveragePool", 11, 1, 1);
    tnode_ints(&t, "kernel_shape", k12, 2);
    tnode_ints(&t, "strides", s12, 2);
    tnode_int(&t, "ceil_mode", 1);
    tnode_int(&t, "count_include_pad", include);
    lens_value inr[1] = {tval(LENS_DTYPE_FLOAT32, 4, xr, x)};
    CHECK_OK(trun(&t, inr, out, 1, NULL));
    static const float ceil_expect[2] = {0.5f, 2.0f};
    check_floats(&out[0], ceil_expect, 2, 1e-6);
    tfree_outputs(out, 1);
    tnode_free(&t);
  }
}

static void test_averagepool_float16_same_lower(void) {
  uint16_t x[4];
  for (int i = 0; i < 4; i++) x[i] = lens_float_to_half((float)(i + 1));
  static const int64_t k[1] = {2};
  int64_t xd[3] = {1, 1, 4};
  tnode t;
  tnode_init(&t, "AveragePool", 11, 1, 1);
  tnode_ints(&t, "kernel_shape", k, 1);
  tnode_string(&t, "auto_pad", "SAME_LOWER");
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT16, 3, xd, x)};
  lens_value out[1];
  CHECK_OK(trun(&t, in, out, 1, NULL));
  CHECK(out[0].dtype == LENS_DTYPE_FLOAT16 && out[0].dims[2] == 4);
  const uint16_t *y = out[0].data;
  static const float expect[4] = {1.0f, 1.5f, 2.5f, 3.5f};
  if (y)
    for (int i = 0; i < 4; i++) CHECK_NEAR(lens_half_to_float(y[i]), expect[i], 1e-3);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

static void test_averagepool_rejects_bad_models(void) {
  float x[4] = {0};
  int64_t xd[4] = {1, 1, 2, 2};
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x)};
  lens_value out[1];
  tnode t;
  static const int64_t k[2] = {2, 2};
  tnode_init(&t, "AveragePool", 11, 1, 1);
  tnode_ints(&t, "kernel_shape", k, 2);
  tnode_int(&t, "count_include_pad", 3);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "count_include_pad");
  int64_t xd2[2] = {1, 4};
  in[0] = tval(LENS_DTYPE_FLOAT32, 2, xd2, x);
  tnode_init(&t, "AveragePool", 11, 1, 1);
  tnode_ints(&t, "kernel_shape", k, 2);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "rank");
}

/* ---- Global pools ----------------------------------------------------------------------- */

static void test_global_pools(void) {
  float x[12] = {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6};
  int64_t xd[4] = {1, 2, 2, 3};
  static const int64_t od[4] = {1, 2, 1, 1};
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x)};
  lens_value out[1];
  tnode t;
  tnode_init(&t, "GlobalAveragePool", 11, 1, 1);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  check_dims(&out[0], 4, od);
  static const float avg[2] = {3.5f, -3.5f};
  check_floats(&out[0], avg, 2, 1e-6);
  tfree_outputs(out, 1);
  tnode_init(&t, "GlobalMaxPool", 11, 1, 1);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  check_dims(&out[0], 4, od);
  static const float max[2] = {6.0f, -1.0f};
  check_floats(&out[0], max, 2, 0);
  tfree_outputs(out, 1);
  int64_t xd2[2] = {2, 6};
  in[0] = tval(LENS_DTYPE_FLOAT32, 2, xd2, x);
  tnode_init(&t, "GlobalMaxPool", 11, 1, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "rank");
  in[0] = tval(LENS_DTYPE_INT32, 4, xd, x);
  tnode_init(&t, "GlobalAveragePool", 11, 1, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_UNSUPPORTED, "int32");
}

/* ---- BatchNormalization ----------------------------------------------------------------- */

static void test_batchnorm_inference(void) {
  float x[4] = {1, 2, 3, 4}, scale[2] = {1, 2}, bias[2] = {0, 1}, mean[2] = {1, 3},
        var[2] = {1, 4};
  int64_t xd[4] = {1, 2, 1, 2}, pd[1] = {2};
  lens_value in[5] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 1, pd, scale),
                      tval(LENS_DTYPE_FLOAT32, 1, pd, bias), tval(LENS_DTYPE_FLOAT32, 1, pd, mean),
                      tval(LENS_DTYPE_FLOAT32, 1, pd, var)};
  lens_value out[1];
  tnode t;
  tnode_init(&t, "BatchNormalization", 15, 5, 1);
  tnode_float(&t, "epsilon", 0.0f);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  static const float expect[4] = {0, 1, 1, 2};
  check_floats(&out[0], expect, 4, 1e-6);
  tfree_outputs(out, 1);
  tnode_free(&t);

  /* Default epsilon 1e-5. */
  tnode_init(&t, "BatchNormalization", 9, 5, 1);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  CHECK_NEAR(((float *)out[0].data)[1], 1.0 / sqrt(1.0 + 1e-5), 1e-6);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

static void test_batchnorm_opset7_spatial_0(void) {
  /* Per-position parameters of shape [C, W] = [1, 2]. */
  float x[4] = {1, 2, 3, 4}, scale[2] = {1, 2}, bias[2] = {0, 1}, mean[2] = {0, 1},
        var[2] = {1, 1};
  int64_t xd[3] = {2, 1, 2}, pd[2] = {1, 2};
  lens_value in[5] = {tval(LENS_DTYPE_FLOAT32, 3, xd, x), tval(LENS_DTYPE_FLOAT32, 2, pd, scale),
                      tval(LENS_DTYPE_FLOAT32, 2, pd, bias), tval(LENS_DTYPE_FLOAT32, 2, pd, mean),
                      tval(LENS_DTYPE_FLOAT32, 2, pd, var)};
  lens_value out[1];
  tnode t;
  tnode_init(&t, "BatchNormalization", 7, 5, 1);
  tnode_int(&t, "spatial", 0);
  tnode_float(&t, "epsilon", 0.0f);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  static const float expect[4] = {1, 3, 3, 7};
  check_floats(&out[0], expect, 4, 1e-6);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

static void test_batchnorm_rejects_training_and_bad_shapes(void) {
  float x[4] = {0}, p[2] = {1, 1};
  int64_t xd[4] = {1, 2, 1, 2}, pd[1] = {2}, pd3[1] = {3};
  lens_value in[5] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 1, pd, p),
                      tval(LENS_DTYPE_FLOAT32, 1, pd, p), tval(LENS_DTYPE_FLOAT32, 1, pd, p),
                      tval(LENS_DTYPE_FLOAT32, 1, pd, p)};
  lens_value out[3];
  tnode t;
  tnode_init(&t, "BatchNormalization", 15, 5, 1);
  tnode_int(&t, "training_mode", 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_UNSUPPORTED, "training_mode");
  tnode_init(&t, "BatchNormalization", 15, 5, 3);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_UNSUPPORTED, "output 1");
  /* Declared but omitted optional outputs are fine. */
  tnode_init(&t, "BatchNormalization", 9, 5, 3);
  t.outputs[1] = t.outputs[2] = -1;
  CHECK_OK(prepare_infer(&t, in, out));
  in[3] = tval(LENS_DTYPE_FLOAT32, 1, pd3, p);
  tnode_init(&t, "BatchNormalization", 15, 5, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "mean has shape [3]");
  in[3] = tval(LENS_DTYPE_INT64, 1, pd, p);
  tnode_init(&t, "BatchNormalization", 15, 5, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_UNSUPPORTED, "int64");
}

/* ---- Gemm ------------------------------------------------------------------------------- */

static void test_gemm_alpha_beta_transposes_and_bias_broadcast(void) {
  /* A = [[1,2,3],[4,5,6]], B = [[1,0],[0,1],[1,1]] -> AB = [[4,5],[10,11]]. */
  float a[6] = {1, 2, 3, 4, 5, 6}, at[6] = {1, 4, 2, 5, 3, 6};
  float b[6] = {1, 0, 0, 1, 1, 1}, bt[6] = {1, 0, 1, 0, 1, 1};
  float c_row[2] = {1, 2}, c_col[2] = {10, 20}, c_scalar[1] = {7};
  int64_t ad[2] = {2, 3}, atd[2] = {3, 2}, bd[2] = {3, 2}, btd[2] = {2, 3};
  int64_t rowd[1] = {2}, cold[2] = {2, 1};
  for (int ta = 0; ta < 2; ta++) {
    for (int tb = 0; tb < 2; tb++) {
      for (int c_kind = 0; c_kind < 4; c_kind++) {
        tnode t;
        tnode_init(&t, "Gemm", 13, c_kind ? 3 : 2, 1);
        tnode_float(&t, "alpha", 2.0f);
        tnode_float(&t, "beta", 0.5f);
        tnode_int(&t, "transA", ta);
        tnode_int(&t, "transB", tb);
        lens_value in[3] = {ta ? tval(LENS_DTYPE_FLOAT32, 2, atd, at)
                               : tval(LENS_DTYPE_FLOAT32, 2, ad, a),
                            tb ? tval(LENS_DTYPE_FLOAT32, 2, btd, bt)
                               : tval(LENS_DTYPE_FLOAT32, 2, bd, b),
                            tnone()};
        float cadd[4] = {0, 0, 0, 0};
        if (c_kind == 1) {
          in[2] = tval(LENS_DTYPE_FLOAT32, 1, rowd, c_row);
          float v[4] = {1, 2, 1, 2};
          memcpy(cadd, v, sizeof v);
        } else if (c_kind == 2) {
          in[2] = tval(LENS_DTYPE_FLOAT32, 2, cold, c_col);
          float v[4] = {10, 10, 20, 20};
          memcpy(cadd, v, sizeof v);
        } else if (c_kind == 3) {
          in[2] = tval(LENS_DTYPE_FLOAT32, 0, NULL, c_scalar);
          float v[4] = {7, 7, 7, 7};
          memcpy(cadd, v, sizeof v);
        }
        lens_value out[1];
        CHECK_OK(trun(&t, in, out, 1, NULL));
        static const float ab[4] = {4, 5, 10, 11};
        float expect[4];
        for (int i = 0; i < 4; i++) expect[i] = 2.0f * ab[i] + 0.5f * cadd[i];
        CHECK(out[0].rank == 2 && out[0].dims[0] == 2 && out[0].dims[1] == 2);
        check_floats(&out[0], expect, 4, 1e-5);
        tfree_outputs(out, 1);
        tnode_free(&t);
      }
    }
  }
}

static void test_gemm_rejects_bad_shapes(void) {
  float a[12] = {0};
  int64_t ad[2] = {2, 3}, bd[2] = {2, 3}, cd[2] = {3, 2}, a3[3] = {1, 2, 3};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 2, ad, a), tval(LENS_DTYPE_FLOAT32, 2, bd, a),
                      tnone()};
  lens_value out[1];
  tnode t;
  tnode_init(&t, "Gemm", 13, 2, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "K");
  tnode_init(&t, "Gemm", 13, 3, 1);
  tnode_int(&t, "transB", 1);
  in[2] = tval(LENS_DTYPE_FLOAT32, 2, cd, a);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "broadcast");
  tnode_init(&t, "Gemm", 13, 2, 1);
  tnode_int(&t, "transA", 2);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "transA");
  in[2] = tnone();
  in[0] = tval(LENS_DTYPE_FLOAT32, 3, a3, a);
  tnode_init(&t, "Gemm", 13, 2, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "2-D");
  in[0] = tval(LENS_DTYPE_INT32, 2, ad, a);
  in[1] = tval(LENS_DTYPE_INT32, 2, cd, a);
  tnode_init(&t, "Gemm", 13, 2, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_UNSUPPORTED, "int32");
}

/* ---- MatMul ----------------------------------------------------------------------------- */

static void test_matmul_batched_broadcast(void) {
  /* A [2,1,2,3] (two batches), B [3,3,2] (three batches) -> [2,3,2,2]. */
  float a[12], b[18];
  iota(a, 12, 0.0f);
  iota(b, 18, -5.0f);
  int64_t ad[4] = {2, 1, 2, 3}, bd[3] = {3, 3, 2};
  lens_value in[2] = {tval(LENS_DTYPE_FLOAT32, 4, ad, a), tval(LENS_DTYPE_FLOAT32, 3, bd, b)};
  lens_value out[1];
  tnode t;
  tnode_init(&t, "MatMul", 13, 2, 1);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  static const int64_t od[4] = {2, 3, 2, 2};
  check_dims(&out[0], 4, od);
  const float *y = out[0].data;
  for (int i = 0; y && i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int r = 0; r < 2; r++)
        for (int c = 0; c < 2; c++) {
          float acc = 0;
          for (int k = 0; k < 3; k++) acc += a[i * 6 + r * 3 + k] * b[j * 6 + k * 2 + c];
          CHECK_NEAR(y[((i * 3 + j) * 2 + r) * 2 + c], acc, 1e-4);
        }
  tfree_outputs(out, 1);
}

static void test_matmul_1d_operands(void) {
  float v[3] = {1, 2, 3}, m[6] = {1, 2, 3, 4, 5, 6};
  int64_t vd[1] = {3}, m32[2] = {3, 2}, m23[2] = {2, 3};
  lens_value out[1];
  tnode t;
  /* [3] x [3,2] -> [2] */
  lens_value in1[2] = {tval(LENS_DTYPE_FLOAT32, 1, vd, v), tval(LENS_DTYPE_FLOAT32, 2, m32, m)};
  tnode_init(&t, "MatMul", 13, 2, 1);
  CHECK_OK(trun(&t, in1, out, 1, NULL));
  CHECK(out[0].rank == 1 && out[0].dims[0] == 2);
  static const float e1[2] = {22, 28};
  check_floats(&out[0], e1, 2, 1e-5);
  tfree_outputs(out, 1);
  /* [2,3] x [3] -> [2] */
  lens_value in2[2] = {tval(LENS_DTYPE_FLOAT32, 2, m23, m), tval(LENS_DTYPE_FLOAT32, 1, vd, v)};
  CHECK_OK(trun(&t, in2, out, 1, NULL));
  CHECK(out[0].rank == 1 && out[0].dims[0] == 2);
  static const float e2[2] = {14, 32};
  check_floats(&out[0], e2, 2, 1e-5);
  tfree_outputs(out, 1);
  /* [3] x [3] -> scalar */
  lens_value in3[2] = {tval(LENS_DTYPE_FLOAT32, 1, vd, v), tval(LENS_DTYPE_FLOAT32, 1, vd, v)};
  CHECK_OK(trun(&t, in3, out, 1, NULL));
  CHECK(out[0].rank == 0);
  static const float e3[1] = {14};
  check_floats(&out[0], e3, 1, 1e-5);
  tfree_outputs(out, 1);
}

static void test_matmul_int64_and_errors(void) {
  int64_t a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
  int64_t d2[2] = {2, 2}, d3[2] = {3, 2}, b1[3] = {2, 2, 2}, b2[3] = {3, 2, 2};
  lens_value in[2] = {tval(LENS_DTYPE_INT64, 2, d2, a), tval(LENS_DTYPE_INT64, 2, d2, b)};
  lens_value out[1];
  tnode t;
  tnode_init(&t, "MatMul", 13, 2, 1);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  const int64_t *y = out[0].data;
  if (y) CHECK(y[0] == 19 && y[1] == 22 && y[2] == 43 && y[3] == 50);
  tfree_outputs(out, 1);
  in[1] = tval(LENS_DTYPE_INT64, 2, d3, b);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "cannot be multiplied");
  in[0] = tval(LENS_DTYPE_INT64, 3, b1, a);
  in[1] = tval(LENS_DTYPE_INT64, 3, b2, b);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "broadcast");
  in[1] = tval(LENS_DTYPE_FLOAT32, 3, b1, b);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "float32");
  in[0] = tval(LENS_DTYPE_BOOL, 2, d2, a);
  in[1] = tval(LENS_DTYPE_BOOL, 2, d2, b);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_UNSUPPORTED, "bool");
}

/* ---- Softmax ---------------------------------------------------------------------------- */

static void test_softmax_axis_semantics_by_opset(void) {
  /* [2,2]-shaped rows of a [1,2,2] tensor: opset 11 (axis 1) normalises over 4 values,
   * opset 13 (axis 1) over the 2 values of dim 1. */
  float x[4] = {0, 1, 2, 3};
  int64_t xd[3] = {1, 2, 2};
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 3, xd, x)};
  lens_value out[1];
  tnode t;
  tnode_init(&t, "Softmax", 11, 1, 1);
  tnode_int(&t, "axis", 1);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  double z = 1 + exp(1) + exp(2) + exp(3);
  float e11[4] = {(float)(1 / z), (float)(exp(1) / z), (float)(exp(2) / z), (float)(exp(3) / z)};
  check_floats(&out[0], e11, 4, 1e-6);
  tfree_outputs(out, 1);
  tnode_free(&t);

  tnode_init(&t, "Softmax", 13, 1, 1);
  tnode_int(&t, "axis", 1);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  float lo = (float)(1 / (1 + exp(2))), hi = (float)(exp(2) / (1 + exp(2)));
  float e13[4] = {lo, lo, hi, hi};
  check_floats(&out[0], e13, 4, 1e-6);
  tfree_outputs(out, 1);
  tnode_free(&t);

  /* Opset 13 default axis -1: over the last dim. */
  tnode_init(&t, "Softmax", 13, 1, 1);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  float a = (float)(1 / (1 + exp(1))), b = (float)(exp(1) / (1 + exp(1)));
  float elast[4] = {a, b, a, b};
  check_floats(&out[0], elast, 4, 1e-6);
  tfree_outputs(out, 1);
  tnode_free(&t);

  /* Opset 11 default axis 1 on [2,2]: each row. */
  int64_t xd2[2] = {2, 2};
  in[0] = tval(LENS_DTYPE_FLOAT32, 2, xd2, x);
  tnode_init(&t, "Softmax", 11, 1, 1);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  check_floats(&out[0], elast, 4, 1e-6);
  tfree_outputs(out, 1);
  tnode_free(&t);
}

static void test_softmax_large_values_and_errors(void) {
  float x[3] = {1000, 1001, 1002};
  int64_t xd[1] = {3};
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 1, xd, x)};
  lens_value out[1];
  tnode t;
  tnode_init(&t, "Softmax", 13, 1, 1);
  CHECK_OK(trun(&t, in, out, 1, NULL));
  double z = 1 + exp(1) + exp(2);
  float e[3] = {(float)(1 / z), (float)(exp(1) / z), (float)(exp(2) / z)};
  check_floats(&out[0], e, 3, 1e-6);
  tfree_outputs(out, 1);
  tnode_free(&t);
  tnode_init(&t, "Softmax", 13, 1, 1);
  tnode_int(&t, "axis", 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "axis");
  tnode_init(&t, "Softmax", 13, 1, 1);
  tnode_int(&t, "axis", -2);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_INVALID_MODEL, "axis");
  in[0].dtype = LENS_DTYPE_INT32;
  tnode_init(&t, "Softmax", 13, 1, 1);
  CHECK_ERR(prepare_infer(&t, in, out), LENS_ERR_UNSUPPORTED, "int32");
}

LENS_TEST_MAIN(LENS_TEST(test_conv_3x3_without_and_with_padding),
               LENS_TEST(test_conv_strides_and_asymmetric_pads),
               LENS_TEST(test_conv_depthwise_groups_with_bias), LENS_TEST(test_conv_dilation_2),
               LENS_TEST(test_conv_1d_auto_pad_modes), LENS_TEST(test_conv_3d),
               LENS_TEST(test_conv_rejects_bad_models),
               LENS_TEST(test_convtranspose_3x3_two_output_channels),
               LENS_TEST(test_convtranspose_1d_strides_pads_output_padding_and_shape),
               LENS_TEST(test_convtranspose_groups_dilation_and_bias),
               LENS_TEST(test_convtranspose_rejects_bad_models),
               LENS_TEST(test_maxpool_2x2_stride_2_with_indices),
               LENS_TEST(test_maxpool_ceil_mode_pads_and_dilations),
               LENS_TEST(test_maxpool_same_upper_and_integer_types),
               LENS_TEST(test_maxpool_rejects_bad_models),
               LENS_TEST(test_averagepool_count_include_pad),
               LENS_TEST(test_averagepool_ceil_mode_and_strides),
               LENS_TEST(test_averagepool_float16_same_lower),
               LENS_TEST(test_averagepool_rejects_bad_models), LENS_TEST(test_global_pools),
               LENS_TEST(test_batchnorm_inference), LENS_TEST(test_batchnorm_opset7_spatial_0),
               LENS_TEST(test_batchnorm_rejects_training_and_bad_shapes),
               LENS_TEST(test_gemm_alpha_beta_transposes_and_bias_broadcast),
               LENS_TEST(test_gemm_rejects_bad_shapes), LENS_TEST(test_matmul_batched_broadcast),
               LENS_TEST(test_matmul_1d_operands), LENS_TEST(test_matmul_int64_and_errors),
               LENS_TEST(test_softmax_axis_semantics_by_opset),
               LENS_TEST(test_softmax_large_values_and_errors))
