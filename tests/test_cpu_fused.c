/* The fast CPU kernels added for speed, each against its operator's reference kernel on
 * awkward sizes at every ISA level the machine has, with every fused epilogue (residual,
 * each activation): conv2d_im2col_sgemm and conv2d_depthwise_direct epilogues,
 * maxpool2d_direct, global_average_pool, batchnorm_affine, conv_transpose2d_sgemm and the
 * single-row Gemm / MatMul path; and sessions that fuse Conv -> Add -> Relu and
 * Conv -> Relu -> MaxPool. */
#include "cpu_kernel_check.h"
#include "onnx.pb-c.h"


static const conv_case gemm_conv_cases[] = {
    {1, 3, 7, 9, 5, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},   /* 3x3 pad 1 */
    {2, 4, 5, 5, 6, 1, 1, 1, 1, 1, {0, 0, 0, 0}, true, NULL},   /* 1x1 direct, batch 2 */
    {1, 5, 6, 7, 65, 2, 3, 1, 1, 1, {0, 1, 1, 0}, false, NULL}, /* M past a panel */
    {1, 16, 9, 9, 16, 3, 3, 1, 1, 4, {1, 1, 1, 1}, true, NULL}, /* groups of 4 */
    {1, 6, 9, 10, 4, 3, 2, 2, 2, 2, {2, 1, 0, 3}, true, NULL},  /* groups, stride 2, dilation 2 */
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, true, NULL},   /* all ones */
    {1, 7, 13, 37, 33, 1, 1, 1, 1, 1, {0, 0, 0, 0}, true, NULL}, /* N past a 32-wide panel */
};

static const conv_case depthwise_cases[] = {
    {1, 8, 11, 13, 8, 3, 3, 2, 1, 8, {1, 1, 1, 1}, true, NULL},
    {2, 5, 7, 6, 5, 3, 3, 1, 1, 5, {1, 1, 1, 1}, false, NULL},
    {1, 4, 9, 17, 8, 3, 3, 1, 2, 4, {2, 0, 1, 3}, true, NULL},   /* multiplier 2, dilated */
    {1, 3, 31, 33, 3, 5, 5, 2, 1, 3, {2, 2, 2, 2}, true, NULL},  /* 5x5 stride 2 */
    {1, 3, 4, 4, 3, 5, 5, 1, 1, 3, {2, 2, 2, 2}, true, NULL},    /* kernel wider than X */
    {1, 2, 1, 65, 2, 1, 7, 3, 1, 2, {0, 3, 0, 3}, false, NULL},  /* stride 3 */
    {1, 2, 6, 6, 2, 3, 3, 1, 1, 2, {3, 3, 3, 3}, true, NULL},    /* pads past the kernel */
    {1, 3, 17, 47, 3, 3, 3, 1, 1, 3, {1, 1, 1, 1}, true, NULL},  /* tails of every width */
    {1, 2, 5, 3000, 2, 3, 3, 1, 1, 2, {1, 1, 1, 1}, true, NULL}, /* too wide for a band */
    {1, 2, 40, 33, 2, 3, 3, 2, 1, 2, {0, 0, 1, 1}, true, NULL},  /* several bands, odd pads */
    /* small planes: channels interleaved by the vector width, then the rest by plane */
    {2, 35, 7, 7, 35, 3, 3, 1, 1, 35, {1, 1, 1, 1}, true, NULL},
    {1, 33, 14, 14, 33, 5, 5, 2, 1, 33, {2, 2, 2, 2}, true, NULL},
    {1, 32, 9, 11, 32, 3, 3, 1, 2, 32, {2, 1, 2, 3}, false, NULL},
    /* the direct path: stride 2 over 16-lane steps with tails, borders, multiplier 2 */
    {1, 4, 6, 65, 8, 3, 3, 2, 1, 4, {1, 1, 1, 1}, true, NULL},
    {1, 3, 5, 1, 3, 3, 3, 1, 1, 3, {1, 1, 1, 1}, true, NULL},    /* one column */
    {1, 2, 9, 31, 2, 5, 5, 1, 1, 2, {2, 2, 2, 2}, false, NULL},  /* 5x5 stride 1 */
    {1, 2, 12, 97, 2, 3, 3, 2, 1, 2, {0, 1, 1, 0}, true, NULL},  /* odd rows, uneven pads */
    {1, 2, 13, 250, 2, 3, 3, 1, 1, 2, {1, 1, 1, 1}, true, NULL}, /* many steps, a tail */
    {1, 2, 8, 34, 2, 3, 3, 2, 1, 2, {2, 2, 2, 2}, true, NULL},   /* pads of 2 at stride 2 */
    {1, 3, 5, 20, 6, 3, 3, 1, 1, 3, {1, 1, 0, 0}, true, NULL},   /* multiplier 2, no right pad */
    /* stride 2, even width, no end pad */
    {1, 2, 9, 64, 2, 3, 3, 2, 1, 2, {1, 1, 0, 0}, true, NULL},
    {1, 2, 4, 3, 2, 3, 3, 2, 1, 2, {1, 1, 1, 1}, true, NULL},    /* stride 2, 3 columns */
};

static void check_conv_cases(const char *kernel, const conv_case *cases, size_t n_cases) {
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < n_cases; i++)
      for (size_t e = 0; e <= N_EPILOGUES; e++)
        for (int r = 0; r < 2; r++) {
          const lens_epilogue *ep = e < N_EPILOGUES ? &epilogues[e] : NULL;
          double diff = run_conv(kernel, &cases[i], ep, r == 1, (i + e) % 2 == 0, NULL);
          CHECK_MSG(diff <= 2e-5, "%s case %zu epilogue %zu residual %d isa %s: diff %g",
                    kernel, i, e, r, lens_cpu_isa_name(levels[li]), diff);
        }
  }
  lens_cpu_force_isa(-1);
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(3, &pool));
  lens_exec_ctx ctx = {0};
  ctx.pool = pool;
  for (size_t i = 0; i < n_cases; i++) {
    double diff = run_conv(kernel, &cases[i], &epilogues[2], true, true, &ctx);
    CHECK_MSG(diff <= 2e-5, "%s case %zu with 3 threads: diff %g", kernel, i, diff);
  }
  lens_threadpool_free(pool);
}

static void test_conv2d_im2col_sgemm_applies_every_epilogue(void) {
  check_conv_cases("conv2d_im2col_sgemm", gemm_conv_cases,
                   sizeof gemm_conv_cases / sizeof gemm_conv_cases[0]);
}

static void test_conv2d_depthwise_direct_applies_every_epilogue(void) {
  check_conv_cases("conv2d_depthwise_direct", depthwise_cases,
                   sizeof depthwise_cases / sizeof depthwise_cases[0]);
}

/* Winograd F(4x4, 3x3) rounds differently from the direct sum (its transforms scale terms
 * by up to 8 before they cancel): a looser, named budget. With 864 uniform [-1, 1) terms per
 * output, as here, the worst seen is 2.4e-4 of 1 + |y|. */
#define WINOGRAD_F4_TOLERANCE 5e-4

static const conv_case winograd_cases[] = {
    {1, 64, 23, 25, 64, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},  /* partial tiles both ways */
    {2, 64, 24, 24, 65, 3, 3, 1, 1, 1, {0, 0, 0, 0}, false, NULL}, /* batch 2, no padding */
    {1, 67, 30, 29, 70, 3, 3, 1, 1, 1, {2, 0, 1, 2}, true, NULL},  /* uneven pads */
    {1, 96, 56, 56, 64, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},  /* several tile blocks */
    {1, 8, 40, 37, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},   /* the fewest channels taken */
    {1, 9, 7, 150, 17, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},   /* 38 tiles a row: 16+16+6 */
};

static void test_conv3x3_winograd_f4_matches_reference(void) {
  size_t n_cases = sizeof winograd_cases / sizeof winograd_cases[0];
  /* AVX-512 applies Relu and Clip (and the residual before them) in the transform */
  check_conv_every_epilogue("conv3x3_winograd_f4", winograd_cases, n_cases,
                            WINOGRAD_F4_TOLERANCE);
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(2, &pool));
  lens_exec_ctx ctx = {0};
  ctx.pool = pool;
  for (size_t i = 0; i < n_cases; i++) {
    double diff = run_conv("conv3x3_winograd_f4", &winograd_cases[i], &epilogues[1], true,
                           true, &ctx);
    CHECK_MSG(diff <= WINOGRAD_F4_TOLERANCE, "winograd case %zu, 2 threads: %g", i, diff);
  }
  lens_threadpool_free(pool);
  /* Declines: stride 2, dilation 2, groups, few channels, weights known only at run time. */
  const lens_kernel *k = find_kernel("conv3x3_winograd_f4");
  static const conv_case declined[] = {
      {1, 64, 30, 30, 64, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true, NULL},
      {1, 64, 30, 30, 64, 3, 3, 1, 2, 1, {2, 2, 2, 2}, true, NULL},
      {1, 64, 30, 30, 64, 3, 3, 1, 1, 2, {1, 1, 1, 1}, true, NULL},
      {1, 4, 30, 30, 64, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},   /* 4 input channels */
      {1, 64, 5, 5, 64, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},    /* 25 outputs */
      {1, 64, 30, 30, 64, 5, 5, 1, 1, 1, {2, 2, 2, 2}, true, NULL},
  };
  for (size_t i = 0; k && i < sizeof declined / sizeof declined[0]; i++) {
    const conv_case *cc = &declined[i];
    int64_t xd[4] = {cc->n, cc->c, cc->h, cc->w};
    int64_t wd[4] = {cc->m, cc->c / cc->group, cc->kh, cc->kw};
    static float wdata[64 * 64 * 25];
    int64_t s[2] = {cc->stride, cc->stride}, d[2] = {cc->dilation, cc->dilation};
    tnode t;
    tnode_init(&t, "Conv", 11, 2, 1);
    tnode_ints(&t, "strides", s, 2);
    tnode_ints(&t, "dilations", d, 2);
    tnode_int(&t, "group", cc->group);
    tnode_ints(&t, "pads", cc->pads, 4);
    CHECK_OK(t.node.def->prepare(&t.node));
    lens_value in[2] = {tval(LENS_DTYPE_FLOAT32, 4, xd, NULL),
                        tval(LENS_DTYPE_FLOAT32, 4, wd, wdata)};
    lens_value out[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, NULL)};
    CHECK_MSG(!k->supports(&t.node, in, out), "winograd declined case %zu", i);
    tnode_free(&t);
  }
  {
    const conv_case *cc = &winograd_cases[0];
    int64_t xd[4] = {cc->n, cc->c, cc->h, cc->w}, wd[4] = {cc->m, cc->c, 3, 3};
    tnode t;
    tnode_init(&t, "Conv", 11, 2, 1);
    tnode_ints(&t, "pads", cc->pads, 4);
    CHECK_OK(t.node.def->prepare(&t.node));
    lens_value in[2] = {tval(LENS_DTYPE_FLOAT32, 4, xd, NULL),
                        tval(LENS_DTYPE_FLOAT32, 4, wd, NULL)};
    lens_value out[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, NULL)};
    if (k) CHECK(!k->supports(&t.node, in, out)); /* weights not constant */
    tnode_free(&t);
  }
}

/* ---- pooling ---------------------------------------------------------------------------- */

typedef struct pool_case {
  int64_t n, c, h, w, kh, kw, sh, sw, dil;
  int64_t pads[4];
  int64_t ceil_mode;
} pool_case;

static const pool_case pool_cases[] = {
    {1, 3, 112, 112, 3, 3, 2, 2, 1, {1, 1, 1, 1}, 0}, /* resnet stem */
    {1, 2, 111, 111, 3, 3, 2, 2, 1, {0, 0, 0, 0}, 1}, /* squeezenet, ceil_mode */
    {2, 3, 7, 5, 2, 2, 2, 2, 1, {0, 0, 0, 0}, 0},
    {1, 1, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 0},
    {1, 4, 17, 19, 3, 2, 1, 3, 2, {1, 0, 2, 1}, 1},   /* dilation, odd pads */
    {1, 2, 5, 37, 5, 5, 1, 1, 1, {2, 2, 2, 2}, 0},    /* 5x5 same */
    {1, 2, 3, 3, 3, 3, 1, 1, 1, {2, 2, 2, 2}, 0},     /* windows in the padding */
    {1, 1, 3, 5000, 3, 3, 2, 2, 1, {1, 1, 1, 1}, 0},  /* too wide for the two-pass path */
    {1, 2, 9, 40, 3, 4, 3, 3, 1, {0, 2, 1, 1}, 1},    /* stride 3, ceil_mode */
    /* stride 2 at most 3 wide: widths that leave tails for every vector width */
    {1, 3, 9, 47, 3, 3, 2, 2, 1, {1, 1, 1, 1}, 1},
    {1, 2, 6, 33, 3, 3, 2, 2, 1, {2, 2, 0, 0}, 0},    /* left pad of 2 */
    {1, 2, 7, 66, 2, 2, 2, 2, 1, {0, 0, 0, 0}, 1},    /* 2x2, ceil_mode */
    {1, 2, 5, 20, 2, 1, 3, 2, 1, {0, 0, 0, 0}, 0},    /* one column wide */
    {1, 2, 6, 21, 2, 3, 2, 2, 1, {1, 2, 0, 1}, 0},    /* top row half in the padding */
    {1, 2, 27, 27, 3, 3, 2, 2, 1, {0, 0, 0, 0}, 1},   /* squeezenet's last pool */
    {1, 1, 4, 3, 3, 3, 2, 2, 1, {1, 1, 1, 1}, 1},     /* narrower than any vector */
};

/* Attribute values of a pool node: the node points into them, so they live with it. */
typedef struct pool_window_attrs {
  int64_t kernel[2], strides[2], dilations[2];
} pool_window_attrs;

/* A MaxPool or AveragePool node with pool case pc's window, its lists in *attrs. */
static void init_pool_node(tnode *t, const char *op, int opset, const pool_case *pc,
                           pool_window_attrs *attrs) {
  *attrs = (pool_window_attrs){{pc->kh, pc->kw}, {pc->sh, pc->sw}, {pc->dil, pc->dil}};
  tnode_init(t, op, opset, 1, 1);
  tnode_ints(t, "kernel_shape", attrs->kernel, 2);
  tnode_ints(t, "strides", attrs->strides, 2);
  tnode_ints(t, "dilations", attrs->dilations, 2);
  tnode_ints(t, "pads", pc->pads, 4);
  tnode_int(t, "ceil_mode", pc->ceil_mode);
}

/* The largest difference of kernel from the reference op (MaxPool or AveragePool) on pool
 * case pc, its input filled from seed; count_include_pad is set unless negative. */
static double pool_case_diff(const char *kernel, const char *op, int opset, const pool_case *pc,
                             uint32_t seed, int64_t count_include_pad, lens_exec_ctx *ctx) {
  int64_t xd[4] = {pc->n, pc->c, pc->h, pc->w}, xn = pc->n * pc->c * pc->h * pc->w;
  float *x = malloc(sizeof(float) * (size_t)xn);
  fill_random(x, xn, seed);
  tnode t;
  pool_window_attrs attrs;
  init_pool_node(&t, op, opset, pc, &attrs);
  if (count_include_pad >= 0) tnode_int(&t, "count_include_pad", count_include_pad);
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x)};
  double diff = check_kernel(kernel, &t, in, 1, true, NULL, false, ctx);
  tnode_free(&t);
  free(x);
  return diff;
}

/* maxpool2d_direct's largest difference from the reference MaxPool on pool case i. */
static double maxpool_case_diff(size_t i, lens_exec_ctx *ctx) {
  return pool_case_diff("maxpool2d_direct", "MaxPool", 12, &pool_cases[i], (uint32_t)i + 5, -1,
                        ctx);
}

static void test_maxpool2d_direct_matches_reference(void) {
  size_t n_cases = sizeof pool_cases / sizeof pool_cases[0];
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < n_cases; i++) {
      double diff = maxpool_case_diff(i, NULL);
      CHECK_MSG(diff == 0.0, "maxpool case %zu isa %s: diff %g", i,
                lens_cpu_isa_name(levels[li]), diff);
    }
  }
  lens_cpu_force_isa(-1);
  /* with threads, bands of rows of every plane (2 and 3: bands that do not divide the
   * rows, first and last bands in the padding) */
  for (int threads = 2; threads <= 3; threads++) {
    lens_threadpool *pool = NULL;
    CHECK_OK(lens_threadpool_create(threads, &pool));
    lens_exec_ctx ctx = {0};
    ctx.pool = pool;
    for (size_t i = 0; i < n_cases; i++) {
      double diff = maxpool_case_diff(i, &ctx);
      CHECK_MSG(diff == 0.0, "maxpool case %zu, %d threads: diff %g", i, threads, diff);
    }
    lens_threadpool_free(pool);
  }
  /* The Indices output stays with the reference kernel. */
  const lens_kernel *k = find_kernel("maxpool2d_direct");
  int64_t xd[4] = {1, 1, 4, 4}, kk[2] = {2, 2};
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, NULL)};
  lens_value out[2] = {tval(LENS_DTYPE_FLOAT32, 4, xd, NULL), tval(LENS_DTYPE_INT64, 4, xd, NULL)};
  tnode t;
  tnode_init(&t, "MaxPool", 12, 1, 2);
  tnode_ints(&t, "kernel_shape", kk, 2);
  if (k) CHECK(!k->supports(&t.node, in, out));
}

/* avgpool2d_direct against the reference AveragePool: the pool cases with each
 * count_include_pad, plus PP-OCR rec's 3x2 / 3x2 pool and windows larger than the input. */
static void test_avgpool2d_direct_matches_reference(void) {
  static const pool_case extra[] = {
      {1, 5, 3, 80, 3, 2, 3, 2, 1, {0, 0, 0, 0}, 0},  /* PP-OCR rec */
      {2, 3, 4, 5, 7, 6, 1, 2, 1, {3, 2, 3, 3}, 0},   /* window past the input, batch 2 */
      {1, 2, 9, 11, 3, 3, 2, 3, 2, {1, 2, 2, 1}, 1},  /* dilation, ceil_mode overhang */
  };
  size_t n_base = sizeof pool_cases / sizeof pool_cases[0];
  size_t n_extra = sizeof extra / sizeof extra[0];
  for (size_t i = 0; i < n_base + n_extra; i++)
    for (int64_t include_pad = 0; include_pad < 2; include_pad++) {
      const pool_case *pc = i < n_base ? &pool_cases[i] : &extra[i - n_base];
      double diff = pool_case_diff("avgpool2d_direct", "AveragePool", 19, pc, (uint32_t)i + 11,
                                   include_pad, NULL);
      CHECK_MSG(diff <= 1e-6, "avgpool case %zu count_include_pad %d: diff %g", i,
                (int)include_pad, diff);
    }
}

static void test_maxpool2d_direct_propagates_nan(void) {
  float x[16];
  fill_random(x, 16, 9);
  x[5] = NAN;
  int64_t xd[4] = {1, 1, 4, 4}, kk[2] = {2, 2};
  tnode t;
  tnode_init(&t, "MaxPool", 12, 1, 1);
  tnode_ints(&t, "kernel_shape", kk, 2);
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x)};
  lens_value ref[1];
  CHECK_OK(trun(&t, in, ref, 1, NULL));
  const lens_kernel *k = find_kernel("maxpool2d_direct");
  float got[9];
  lens_value out = ref[0];
  out.data = got;
  lens_exec_ctx ctx = {0};
  if (k) CHECK_OK(k->compute(&t.node, in, &out, &ctx));
  const float *want = ref[0].data;
  for (int i = 0; i < 9; i++)
    CHECK_MSG(isnan(got[i]) == isnan(want[i]) && (isnan(got[i]) || got[i] == want[i]),
              "output %d: %g, expected %g", i, got[i], want[i]);
  tfree_outputs(ref, 1);
  tnode_free(&t);
}

/* The stride-2 path: a NaN at the first, last and shared (even) columns of windows, and in
 * a row two windows share, at every ISA level. */
static void test_maxpool2d_direct_stride2_propagates_nan(void) {
  enum { H = 7, W = 37 };
  float x[H * W];
  fill_random(x, H * W, 11);
  x[0] = NAN;
  x[2 * W + 5] = NAN;
  x[3 * W + 20] = NAN;
  x[6 * W + 36] = NAN;
  int64_t xd[4] = {1, 1, H, W}, kk[2] = {3, 3}, st[2] = {2, 2}, pads[4] = {1, 1, 1, 1};
  tnode t;
  tnode_init(&t, "MaxPool", 12, 1, 1);
  tnode_ints(&t, "kernel_shape", kk, 2);
  tnode_ints(&t, "strides", st, 2);
  tnode_ints(&t, "pads", pads, 4);
  tnode_int(&t, "ceil_mode", 1);
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x)};
  lens_value ref[1];
  CHECK_OK(trun(&t, in, ref, 1, NULL));
  const lens_kernel *k = find_kernel("maxpool2d_direct");
  int64_t n = lens_value_elements(&ref[0]);
  float *got = malloc(sizeof(float) * (size_t)n);
  const float *want = ref[0].data;
  int levels[3], n_levels = isa_levels(levels), nans = 0;
  for (int64_t i = 0; i < n; i++) nans += isnan(want[i]) != 0;
  CHECK(nans > 4);
  for (int li = 0; k && li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    lens_value out = ref[0];
    out.data = got;
    lens_exec_ctx ctx = {0};
    CHECK_OK(k->compute(&t.node, in, &out, &ctx));
    for (int64_t i = 0; i < n; i++)
      CHECK_MSG(isnan(got[i]) == isnan(want[i]) && (isnan(got[i]) || got[i] == want[i]),
                "isa %s output %lld: %g, expected %g", lens_cpu_isa_name(levels[li]),
                (long long)i, got[i], want[i]);
  }
  lens_cpu_force_isa(-1);
  free(got);
  tfree_outputs(ref, 1);
  tnode_free(&t);
}

static void test_global_average_pool_matches_reference(void) {
  static const int64_t shapes[][4] = {{1, 3, 7, 7}, {2, 5, 1, 1}, {1, 1, 33, 31}, {1, 17, 56, 56}};
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
      int64_t xn = shapes[i][0] * shapes[i][1] * shapes[i][2] * shapes[i][3];
      float *x = malloc(sizeof(float) * (size_t)xn);
      fill_random(x, xn, (uint32_t)i);
      tnode t;
      tnode_init(&t, "GlobalAveragePool", 11, 1, 1);
      lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, shapes[i], x)};
      double diff = check_kernel("global_average_pool", &t, in, 1, true, NULL, false, NULL);
      CHECK_MSG(diff <= 1e-5, "global average pool case %zu isa %s: diff %g", i,
                lens_cpu_isa_name(levels[li]), diff);
      tnode_free(&t);
      free(x);
    }
  }
  lens_cpu_force_isa(-1);
}

/* ---- BatchNormalization ----------------------------------------------------------------- */

static void test_batchnorm_affine_matches_reference(void) {
  static const int64_t shapes[][4] = {{1, 3, 7, 9}, {2, 17, 1, 1}, {1, 1, 1, 1}, {1, 24, 40, 41}};
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
      int64_t c = shapes[i][1], xn = shapes[i][0] * c * shapes[i][2] * shapes[i][3];
      float *x = malloc(sizeof(float) * (size_t)xn), *p = malloc(sizeof(float) * (size_t)(4 * c));
      fill_random(x, xn, (uint32_t)i);
      fill_random(p, 4 * c, 11);
      for (int64_t j = 0; j < c; j++) p[3 * c + j] = fabsf(p[3 * c + j]) + 0.1f; /* var */
      int64_t cd[1] = {c};
      tnode t;
      tnode_init(&t, "BatchNormalization", 15, 5, 1);
      tnode_float(&t, "epsilon", 1e-3f);
      lens_value in[5] = {tval(LENS_DTYPE_FLOAT32, 4, shapes[i], x),
                          tval(LENS_DTYPE_FLOAT32, 1, cd, p),
                          tval(LENS_DTYPE_FLOAT32, 1, cd, p + c),
                          tval(LENS_DTYPE_FLOAT32, 1, cd, p + 2 * c),
                          tval(LENS_DTYPE_FLOAT32, 1, cd, p + 3 * c)};
      for (size_t e = 0; e <= N_EPILOGUES; e++) {
        const lens_epilogue *ep = e < N_EPILOGUES ? &epilogues[e] : NULL;
        double diff = check_kernel("batchnorm_affine", &t, in, 5, e % 2 == 0, ep, e % 3 == 1,
                                   NULL);
        CHECK_MSG(diff <= 2e-5, "batchnorm case %zu epilogue %zu isa %s: diff %g", i, e,
                  lens_cpu_isa_name(levels[li]), diff);
      }
      tnode_free(&t);
      free(x);
      free(p);
    }
  }
  lens_cpu_force_isa(-1);
}

/* ---- ConvTranspose ---------------------------------------------------------------------- */

typedef struct ct_case {
  int64_t n, c, h, w, m, kh, kw, sh, sw, dil;
  int64_t pads[4];
  int64_t out_pad;
  bool bias;
} ct_case;

static const ct_case ct_cases[] = {
    {1, 8, 5, 7, 4, 2, 2, 2, 2, 1, {0, 0, 0, 0}, 0, true},  /* PaddleOCR det: k == s */
    {2, 3, 4, 4, 5, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 0, true},  /* overlapping taps */
    {1, 5, 3, 6, 7, 3, 3, 2, 2, 1, {1, 0, 1, 2}, 1, false}, /* output_padding */
    {1, 2, 5, 5, 3, 3, 2, 3, 2, 2, {0, 1, 2, 0}, 0, true},  /* dilation, uneven strides */
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 0, true},
    {1, 33, 9, 11, 17, 4, 4, 4, 4, 1, {0, 0, 0, 0}, 0, true},
};

static void test_conv_transpose2d_sgemm_matches_reference(void) {
  int levels[3], n_levels = isa_levels(levels);
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(2, &pool));
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < sizeof ct_cases / sizeof ct_cases[0]; i++) {
      const ct_case *cc = &ct_cases[i];
      int64_t xd[4] = {cc->n, cc->c, cc->h, cc->w}, wd[4] = {cc->c, cc->m, cc->kh, cc->kw};
      int64_t bd[1] = {cc->m}, xn = cc->n * cc->c * cc->h * cc->w;
      int64_t wn = cc->c * cc->m * cc->kh * cc->kw;
      float *x = malloc(sizeof(float) * (size_t)xn), *w = malloc(sizeof(float) * (size_t)wn);
      float *b = malloc(sizeof(float) * (size_t)cc->m);
      fill_random(x, xn, 21);
      fill_random(w, wn, 22);
      fill_random(b, cc->m, 23);
      int64_t s[2] = {cc->sh, cc->sw}, d[2] = {cc->dil, cc->dil}, op[2] = {cc->out_pad, 0};
      tnode t;
      tnode_init(&t, "ConvTranspose", 11, cc->bias ? 3 : 2, 1);
      tnode_ints(&t, "strides", s, 2);
      tnode_ints(&t, "dilations", d, 2);
      tnode_ints(&t, "pads", cc->pads, 4);
      if (cc->out_pad) tnode_ints(&t, "output_padding", op, 2);
      lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 4, wd, w),
                          cc->bias ? tval(LENS_DTYPE_FLOAT32, 1, bd, b) : tnone()};
      for (int e = 0; e < 3; e++) {
        lens_exec_ctx ctx = {0};
        ctx.pool = e == 2 ? pool : NULL;
        const lens_epilogue *ep = e == 1 ? &epilogues[1] : e == 2 ? &epilogues[7] : NULL;
        double diff = check_kernel("conv_transpose2d_sgemm", &t, in, cc->bias ? 3 : 2, e != 1,
                                   ep, e == 2, &ctx);
        CHECK_MSG(diff <= 2e-5, "conv transpose case %zu variant %d isa %s: diff %g", i, e,
                  lens_cpu_isa_name(levels[li]), diff);
      }
      tnode_free(&t);
      free(x);
      free(w);
      free(b);
    }
  }
  lens_cpu_force_isa(-1);
  lens_threadpool_free(pool);
  /* Groups and output_shape stay with the reference kernel. */
  const lens_kernel *k = find_kernel("conv_transpose2d_sgemm");
  int64_t xd[4] = {1, 4, 3, 3}, wd[4] = {4, 2, 2, 2}, od[4] = {1, 4, 6, 6};
  lens_value in[2] = {tval(LENS_DTYPE_FLOAT32, 4, xd, NULL), tval(LENS_DTYPE_FLOAT32, 4, wd, NULL)};
  lens_value out[1] = {tval(LENS_DTYPE_FLOAT32, 4, od, NULL)};
  tnode t;
  tnode_init(&t, "ConvTranspose", 11, 2, 1);
  tnode_int(&t, "group", 2);
  if (k) CHECK(!k->supports(&t.node, in, out));
}

/* ---- single-row Gemm and MatMul --------------------------------------------------------- */

static void test_single_row_gemm_and_matmul_match_reference(void) {
  static const int64_t nk[][2] = {{1, 1}, {1000, 2048}, {7, 65}, {129, 3}, {64, 17}};
  int levels[3], n_levels = isa_levels(levels);
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(2, &pool));
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < sizeof nk / sizeof nk[0]; i++) {
      int64_t n = nk[i][0], k = nk[i][1];
      float *a = malloc(sizeof(float) * (size_t)k), *b = malloc(sizeof(float) * (size_t)(n * k));
      float *c = malloc(sizeof(float) * (size_t)n);
      fill_random(a, k, 31);
      fill_random(b, n * k, 32);
      fill_random(c, n, 33);
      for (int tb = 0; tb < 2; tb++) {
        int64_t ad[2] = {1, k}, bd[2] = {tb ? n : k, tb ? k : n}, cd[1] = {n};
        tnode t;
        tnode_init(&t, "Gemm", 13, 3, 1);
        tnode_int(&t, "transB", tb);
        tnode_float(&t, "alpha", 0.5f);
        tnode_float(&t, "beta", 2.0f);
        lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 2, ad, a), tval(LENS_DTYPE_FLOAT32, 2, bd, b),
                            tval(LENS_DTYPE_FLOAT32, 1, cd, c)};
        lens_exec_ctx ctx = {0};
        ctx.pool = tb ? pool : NULL;
        double diff = check_kernel("gemm_sgemm", &t, in, 3, true, NULL, false, &ctx);
        CHECK_MSG(diff <= 2e-5, "gemm 1x%lldx%lld transB %d isa %s: diff %g", (long long)n,
                  (long long)k, tb, lens_cpu_isa_name(levels[li]), diff);
        tnode_free(&t);
      }
      int64_t ad[2] = {1, k}, bd[2] = {k, n};
      tnode t;
      tnode_init(&t, "MatMul", 13, 2, 1);
      lens_value in[2] = {tval(LENS_DTYPE_FLOAT32, 2, ad, a), tval(LENS_DTYPE_FLOAT32, 2, bd, b)};
      double diff = check_kernel("matmul_sgemm", &t, in, 2, true, NULL, false, NULL);
      CHECK_MSG(diff <= 2e-5, "matmul 1x%lldx%lld isa %s: diff %g", (long long)n, (long long)k,
                lens_cpu_isa_name(levels[li]), diff);
      tnode_free(&t);
      free(a);
      free(b);
      free(c);
    }
  }
  lens_cpu_force_isa(-1);
  lens_threadpool_free(pool);
}

/* ---- Softmax ---------------------------------------------------------------------------- */

static void test_softmax_lastaxis_matches_reference(void) {
  static const struct {
    int rank;
    int64_t dims[4];
    int64_t opset, axis;
  } cases[] = {
      {3, {1, 40, 6625}, 13, -1}, {4, {1, 8, 40, 40}, 13, 3}, {1, {1}, 13, 0},
      {3, {2, 3, 17}, 11, 1},     {2, {5, 33}, 13, 1},        {2, {3, 7}, 1, 1},
  };
  int levels[3], n_levels = isa_levels(levels);
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(2, &pool));
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      int64_t n = 1;
      for (int d = 0; d < cases[i].rank; d++) n *= cases[i].dims[d];
      float *x = malloc(sizeof(float) * (size_t)n);
      fill_random(x, n, (uint32_t)i + 50);
      for (int64_t k = 0; k < n; k++) x[k] *= 40.0f; /* exp over its whole range */
      tnode t;
      tnode_init(&t, "Softmax", cases[i].opset, 1, 1);
      tnode_int(&t, "axis", cases[i].axis);
      lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, cases[i].rank, cases[i].dims, x)};
      lens_exec_ctx ctx = {0};
      ctx.pool = pool;
      double diff = check_kernel("softmax_lastaxis", &t, in, 1, true, NULL, false, &ctx);
      CHECK_MSG(diff <= 1e-6, "softmax case %zu isa %s: diff %g", i,
                lens_cpu_isa_name(levels[li]), diff);
      tnode_free(&t);
      free(x);
    }
  }
  lens_cpu_force_isa(-1);
  lens_threadpool_free(pool);
  /* opset 13 over an inner axis is strided: left to the reference kernel */
  const lens_kernel *k = find_kernel("softmax_lastaxis");
  int64_t d[3] = {2, 3, 4};
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 3, d, NULL)};
  lens_value out[1] = {tval(LENS_DTYPE_FLOAT32, 3, d, NULL)};
  tnode t;
  tnode_init(&t, "Softmax", 13, 1, 1);
  tnode_int(&t, "axis", 1);
  if (k) CHECK(!k->supports(&t.node, in, out));
}

/* sigmoid_f32 against the reference Sigmoid: lengths from 1 past several tasks, values over
 * exp's whole range, at every ISA level, with and without threads. */
static void test_sigmoid_f32_matches_reference(void) {
  static const int64_t lengths[] = {1, 15, 17, 1000, 16384 * 2 + 7};
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(3, &pool));
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
      int64_t n = lengths[i];
      float *x = malloc(sizeof(float) * (size_t)n);
      fill_random(x, n, (uint32_t)i + 70);
      for (int64_t k = 0; k < n; k++) x[k] *= 120.0f;
      tnode t;
      tnode_init(&t, "Sigmoid", 13, 1, 1);
      lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 1, &lengths[i], x)};
      lens_exec_ctx ctx = {0};
      ctx.pool = i % 2 ? pool : NULL;
      double diff = check_kernel("sigmoid_f32", &t, in, 1, true, NULL, false, &ctx);
      CHECK_MSG(diff <= 1e-6, "sigmoid length %lld isa %s: diff %g", (long long)n,
                lens_cpu_isa_name(levels[li]), diff);
      tnode_free(&t);
      free(x);
    }
  }
  lens_cpu_force_isa(-1);
  lens_threadpool_free(pool);
}

/* ---- Add, Sub, Mul, Div ---------------------------------------------------------------- */

static void test_binary_f32_matches_reference_for_each_broadcast(void) {
  static const struct {
    int ra;
    int64_t a[4];
    int rb;
    int64_t b[4];
  } cases[] = {
      {4, {1, 5, 7, 9}, 4, {1, 5, 7, 9}},     /* same shape */
      {4, {2, 3, 40, 41}, 1, {1}},            /* scalar second, past a block */
      {0, {0}, 4, {1, 3, 5, 7}},              /* scalar first (rank 0) */
      {4, {1, 6, 5, 7}, 3, {6, 1, 1}},        /* per channel second */
      {4, {1, 6, 1, 1}, 4, {1, 6, 9, 11}},    /* per channel first */
      {3, {4, 3, 17}, 1, {17}},               /* a row second */
      {3, {4, 3, 17}, 3, {4, 1, 1}},          /* per batch: rows of 51 */
      {2, {1, 17}, 3, {5, 2, 17}},            /* a row first */
      {4, {1, 1, 1, 1}, 4, {1, 1, 1, 1}},     /* one element */
      {4, {1, 2, 40, 41}, 2, {1, 1}},         /* scalar second, past a block */
      {4, {1, 64, 40, 41}, 4, {1, 64, 40, 41}}, /* threads, a partial last block */
      /* threads, planes they split by position (LENS_PLANE_SPLIT_MIN): an odd width
       * puts one plane's end and the next one's start in a cache line */
      {4, {1, 21, 40, 81}, 4, {1, 21, 40, 81}}, /* same shape */
      {4, {2, 11, 40, 81}, 1, {1}},             /* scalar second */
      {0, {0}, 4, {1, 21, 33, 97}},             /* scalar first */
      {4, {1, 22, 50, 61}, 3, {22, 1, 1}},      /* per channel second */
      {4, {1, 21, 40, 81}, 2, {40, 81}},        /* a plane second */
  };
  static const char *const ops[] = {"Add", "Sub", "Mul", "Div"};
  static const char *const kernels[] = {"add_f32", "sub_f32", "mul_f32", "div_f32"};
  int levels[3], n_levels = isa_levels(levels);
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(2, &pool));
  /* each ISA level, then each again with the threads' parts of planes in unequal shares */
  for (int li = 0; li < 2 * n_levels; li++) {
    if (li == n_levels) set_unequal_shares(pool);
    lens_cpu_force_isa(levels[li % n_levels]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      int64_t na = 1, nb = 1;
      for (int d = 0; d < cases[i].ra; d++) na *= cases[i].a[d];
      for (int d = 0; d < cases[i].rb; d++) nb *= cases[i].b[d];
      float *a = malloc(sizeof(float) * (size_t)na), *b = malloc(sizeof(float) * (size_t)nb);
      fill_random(a, na, 61);
      fill_random(b, nb, 62);
      for (int64_t k = 0; k < nb; k++) b[k] += b[k] < 0 ? -0.5f : 0.5f; /* no tiny divisors */
      for (int o = 0; o < 4; o++) {
        tnode t;
        tnode_init(&t, ops[o], 14, 2, 1);
        lens_value in[2] = {tval(LENS_DTYPE_FLOAT32, cases[i].ra, cases[i].a, a),
                            tval(LENS_DTYPE_FLOAT32, cases[i].rb, cases[i].b, b)};
        size_t e = (i + (size_t)o) % (N_EPILOGUES + 1);
        lens_exec_ctx ctx = {0};
        ctx.pool = pool;
        double diff = check_kernel(kernels[o], &t, in, 2, false,
                                   e < N_EPILOGUES ? &epilogues[e] : NULL, o == 1, &ctx);
        CHECK_MSG(diff <= 1e-6, "%s case %zu isa %s%s: diff %g", ops[o], i,
                  lens_cpu_isa_name(levels[li % n_levels]),
                  li >= n_levels ? ", unequal shares" : "", diff);
        tnode_free(&t);
      }
      free(a);
      free(b);
    }
  }
  lens_cpu_force_isa(-1);
  lens_threadpool_free(pool);
  /* Two broadcast operands, or one with two blocks, stay with the reference kernel. */
  const lens_kernel *k = find_kernel("add_f32");
  int64_t da[3] = {2, 1, 3}, db[3] = {1, 4, 1}, dout[3] = {2, 4, 3};
  lens_value in[2] = {tval(LENS_DTYPE_FLOAT32, 3, da, NULL), tval(LENS_DTYPE_FLOAT32, 3, db, NULL)};
  lens_value out[1] = {tval(LENS_DTYPE_FLOAT32, 3, dout, NULL)};
  tnode t;
  tnode_init(&t, "Add", 14, 2, 1);
  if (k) CHECK(!k->supports(&t.node, in, out));
  in[1] = tval(LENS_DTYPE_FLOAT32, 3, dout, NULL);
  if (k) CHECK(!k->supports(&t.node, in, out));
  in[0] = tval(LENS_DTYPE_INT64, 3, dout, NULL);
  in[1] = tval(LENS_DTYPE_INT64, 3, dout, NULL);
  if (k) CHECK(!k->supports(&t.node, in, out)); /* integers */
}

/* ---- Resize ----------------------------------------------------------------------------- */

static void test_resize_nearest_int_matches_reference(void) {
  static const struct {
    int64_t in[4], out[4];
    int64_t opset;
  } cases[] = {
      {{1, 3, 5, 7}, {1, 3, 10, 14}, 13}, {{2, 2, 3, 3}, {2, 2, 9, 6}, 11},
      {{1, 1, 1, 1}, {1, 1, 4, 4}, 13},   {{1, 4, 80, 80}, {1, 4, 160, 160}, 10},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t n = cases[i].in[0] * cases[i].in[1] * cases[i].in[2] * cases[i].in[3];
    float *x = malloc(sizeof(float) * (size_t)n);
    fill_random(x, n, 71);
    float scales[4];
    for (int d = 0; d < 4; d++) scales[d] = (float)cases[i].out[d] / (float)cases[i].in[d];
    int64_t sd[1] = {4};
    tnode t;
    bool v10 = cases[i].opset < 11;
    tnode_init(&t, "Resize", cases[i].opset, v10 ? 2 : 3, 1);
    tnode_string(&t, "mode", "nearest");
    if (!v10) {
      tnode_string(&t, "coordinate_transformation_mode", "asymmetric");
      tnode_string(&t, "nearest_mode", "floor");
    }
    lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, cases[i].in, x), tnone(),
                        tval(LENS_DTYPE_FLOAT32, 1, sd, scales)};
    if (v10) in[1] = in[2];
    lens_threadpool *pool = NULL;
    CHECK_OK(lens_threadpool_create(2, &pool));
    lens_exec_ctx ctx = {0};
    ctx.pool = pool;
    double diff = check_kernel("resize_nearest_int", &t, in, v10 ? 2 : 3, true, NULL, false,
                               &ctx);
    CHECK_MSG(diff == 0.0, "resize case %zu: diff %g", i, diff);
    lens_threadpool_free(pool);
    tnode_free(&t);
    free(x);
  }
  /* half_pixel rounding and fractional factors stay with the reference kernel */
  const lens_kernel *k = find_kernel("resize_nearest_int");
  int64_t a[4] = {1, 1, 4, 4}, b[4] = {1, 1, 8, 8}, c[4] = {1, 1, 6, 6};
  lens_value in[1] = {tval(LENS_DTYPE_FLOAT32, 4, a, NULL)};
  lens_value out[1] = {tval(LENS_DTYPE_FLOAT32, 4, b, NULL)};
  tnode t;
  tnode_init(&t, "Resize", 13, 3, 1);
  if (k) CHECK(!k->supports(&t.node, in, out)); /* half_pixel by default */
  tnode_string(&t, "coordinate_transformation_mode", "asymmetric");
  tnode_string(&t, "nearest_mode", "floor");
  if (k) CHECK(k->supports(&t.node, in, out));
  out[0] = tval(LENS_DTYPE_FLOAT32, 4, c, NULL);
  if (k) CHECK(!k->supports(&t.node, in, out));
}

/* ---- a session fuses Conv -> Add -> Relu ------------------------------------------------ */

/* A float initializer of that name, dims and values (kept by the caller). */
static Onnx__TensorProto float_init(const char *name, int64_t *dims, size_t rank,
                                    const float *values) {
  Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
  t.name = (char *)name;
  t.has_data_type = 1;
  t.data_type = LENS_DTYPE_FLOAT32;
  t.n_dims = rank;
  t.dims = dims;
  t.n_float_data = 1;
  for (size_t i = 0; i < rank; i++) t.n_float_data *= (size_t)dims[i];
  t.float_data = (float *)values;
  return t;
}

/* A packed opset-13 model: float input x of dims xd, output y, the initializers and nodes. */
static uint8_t *pack_model(const char *name, const int64_t *xd, Onnx__TensorProto **inits,
                           size_t n_inits, Onnx__NodeProto **nodes, size_t n_nodes,
                           size_t *size) {
  Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
  Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  Onnx__OperatorSetIdProto *opsets[1] = {&opset};
  opset.domain = "";
  opset.has_version = 1;
  opset.version = 13;
  model.has_ir_version = 1;
  model.ir_version = 8;
  model.n_opset_import = 1;
  model.opset_import = opsets;
  model.graph = &graph;
  graph.name = (char *)name;
  Onnx__TensorShapeProto__Dimension dims[4], *dim_ptrs[4];
  for (int i = 0; i < 4; i++) {
    onnx__tensor_shape_proto__dimension__init(&dims[i]);
    dims[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    dims[i].dim_value = xd[i];
    dim_ptrs[i] = &dims[i];
  }
  Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
  shape.n_dim = 4;
  shape.dim = dim_ptrs;
  Onnx__TypeProto__Tensor ttype = ONNX__TYPE_PROTO__TENSOR__INIT;
  ttype.has_elem_type = 1;
  ttype.elem_type = LENS_DTYPE_FLOAT32;
  ttype.shape = &shape;
  Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
  type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type.tensor_type = &ttype;
  Onnx__ValueInfoProto vin = ONNX__VALUE_INFO_PROTO__INIT, vout = ONNX__VALUE_INFO_PROTO__INIT;
  vin.name = "x";
  vin.type = &type;
  vout.name = "y";
  Onnx__ValueInfoProto *ins[1] = {&vin}, *outs[1] = {&vout};
  graph.n_input = 1;
  graph.input = ins;
  graph.n_output = 1;
  graph.output = outs;
  graph.n_initializer = n_inits;
  graph.initializer = inits;
  graph.n_node = n_nodes;
  graph.node = nodes;
  *size = onnx__model_proto__get_packed_size(&model);
  uint8_t *buf = malloc(*size);
  onnx__model_proto__pack(&model, buf);
  return buf;
}

/* pack_model with initializers W (dims wd, values w) and B (bias of bd[0]). */
static uint8_t *pack_conv_model(const char *name, const int64_t *xd, int64_t *wd,
                                const float *w, int64_t *bd, const float *bias,
                                Onnx__NodeProto **nodes, size_t n_nodes, size_t *size) {
  Onnx__TensorProto wt = float_init("W", wd, 4, w), bt = float_init("B", bd, 1, bias);
  Onnx__TensorProto *inits[2] = {&wt, &bt};
  return pack_model(name, xd, inits, 2, nodes, n_nodes, size);
}

/* x (1x4x6x6) -> Conv 3x3 pad 1 (bias) -> Add(x) -> Relu -> y */
static uint8_t *conv_add_relu_model(size_t *size) {
  static float w[4 * 4 * 9], bias[4];
  fill_random(w, 4 * 4 * 9, 41);
  fill_random(bias, 4, 42);
  static int64_t wd[4] = {4, 4, 3, 3}, bd[1] = {4}, xd[4] = {1, 4, 6, 6};
  static int64_t pads[4] = {1, 1, 1, 1};
  Onnx__AttributeProto pads_attr = ONNX__ATTRIBUTE_PROTO__INIT, *conv_attrs[1] = {&pads_attr};
  pads_attr.name = "pads";
  pads_attr.has_type = 1;
  pads_attr.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  pads_attr.n_ints = 4;
  pads_attr.ints = pads;
  char *conv_in[3] = {"x", "W", "B"}, *conv_out[1] = {"c"};
  char *add_in[2] = {"c", "x"}, *add_out[1] = {"s"};
  char *relu_in[1] = {"s"}, *relu_out[1] = {"y"};
  Onnx__NodeProto nodes[3] = {ONNX__NODE_PROTO__INIT, ONNX__NODE_PROTO__INIT,
                              ONNX__NODE_PROTO__INIT};
  Onnx__NodeProto *node_ptrs[3] = {&nodes[0], &nodes[1], &nodes[2]};
  nodes[0].op_type = "Conv", nodes[0].name = "conv";
  nodes[0].n_input = 3, nodes[0].input = conv_in, nodes[0].n_output = 1;
  nodes[0].output = conv_out;
  nodes[0].n_attribute = 1, nodes[0].attribute = conv_attrs;
  nodes[1].op_type = "Add", nodes[1].name = "add";
  nodes[1].n_input = 2, nodes[1].input = add_in, nodes[1].n_output = 1, nodes[1].output = add_out;
  nodes[2].op_type = "Relu", nodes[2].name = "relu";
  nodes[2].n_input = 1, nodes[2].input = relu_in, nodes[2].n_output = 1;
  nodes[2].output = relu_out;
  return pack_conv_model("conv_add_relu", xd, wd, w, bd, bias, node_ptrs, 3, size);
}

static void test_session_fuses_conv_add_relu_and_matches_reference(void) {
  size_t size;
  uint8_t *buf = conv_add_relu_model(&size);
  lens_model *m = NULL;
  CHECK_OK(lens_model_load_memory(buf, size, NULL, &m));
  free(buf);
  if (!m) return;
  float x[144], want[144], got[144];
  fill_random(x, 144, 43);
  lens_tensor in = {LENS_DTYPE_FLOAT32, 4, {1, 4, 6, 6}, x, sizeof x};
  for (int variant = 0; variant < 2; variant++) {
    lens_session_options o;
    lens_session_options_init(&o);
    o.reference_only = variant == 0;
    o.threads = 2;
    lens_session *s = NULL;
    CHECK_OK(lens_session_create(m, &o, &s));
    if (!s) continue;
    lens_tensor out[1];
    CHECK_OK(lens_session_run(s, &in, 1, out, 1));
    memcpy(variant == 0 ? want : got, out[0].data, sizeof got);
    if (variant == 1) {
      CHECK(lens_session_node_count(s) == 1);
      lens_node_profile p;
      CHECK_OK(lens_session_node_profile(s, 0, &p));
      CHECK(strcmp(p.kernel, "conv2d_im2col_sgemm") == 0);
      CHECK(p.fused_nodes && strcmp(p.fused_nodes, "add,relu") == 0);
    }
    lens_session_free(s);
  }
  double diff = max_rel_diff(got, want, 144);
  CHECK_MSG(diff <= 1e-5, "fused session differs from the reference: %g", diff);
  lens_model_free(m);
}

/* ---- a session fuses Conv -> Relu -> MaxPool ------------------------------------------- */

typedef struct pool_fusion_case {
  int64_t n, c, h, w, m, k, stride, pad;       /* the convolution: k x k, pads all `pad` */
  int64_t pk, ps, pd, ppad, ceil;              /* the pool: pk x pk, stride, dilation, pads */
  bool fuses;                                  /* whether the session absorbs the pool */
} pool_fusion_case;

static const pool_fusion_case pool_fusion_cases[] = {
    {1, 3, 37, 37, 10, 3, 2, 0, 3, 2, 1, 0, 1, true},  /* SqueezeNet's: ceil_mode, 10 channels */
    {1, 3, 30, 30, 5, 7, 2, 3, 3, 2, 1, 1, 0, true},   /* ResNet's: 7x7 stride 2, pool pad 1 */
    {2, 1, 13, 50, 9, 3, 1, 1, 2, 2, 1, 0, 0, true},   /* windows apart, tails, batch 2 */
    {1, 2, 41, 7, 8, 5, 1, 0, 3, 1, 1, 1, 0, true},    /* stride 1: bands share two rows */
    {1, 4, 20, 20, 6, 3, 1, 1, 3, 2, 2, 0, 1, true},   /* dilated pool */
    {1, 3, 101, 17, 4, 3, 2, 1, 3, 2, 1, 0, 1, true},  /* tall: many bands per thread */
    {1, 1, 3, 3, 3, 2, 1, 0, 2, 2, 1, 0, 0, true},     /* one pooled output */
    {1, 8, 12, 12, 8, 3, 1, 1, 2, 2, 1, 0, 0, false},  /* too many input channels to fuse */
};

/* x [n, c, h, w] -> Conv (bias) -> Relu -> MaxPool -> y */
static uint8_t *conv_relu_pool_model(const pool_fusion_case *pc, size_t *size) {
  int64_t wn = pc->m * pc->c * pc->k * pc->k;
  float *w = malloc(sizeof(float) * (size_t)wn), bias[64];
  fill_random(w, wn, 51);
  fill_random(bias, pc->m, 52);
  int64_t wd[4] = {pc->m, pc->c, pc->k, pc->k}, bd[1] = {pc->m};
  int64_t xd[4] = {pc->n, pc->c, pc->h, pc->w};
  int64_t pads[4] = {pc->pad, pc->pad, pc->pad, pc->pad}, strides[2] = {pc->stride, pc->stride};
  int64_t pool_k[2] = {pc->pk, pc->pk}, pool_s[2] = {pc->ps, pc->ps};
  int64_t pool_d[2] = {pc->pd, pc->pd};
  int64_t pool_p[4] = {pc->ppad, pc->ppad, pc->ppad, pc->ppad};
  Onnx__AttributeProto attrs[7], *conv_attrs[2], *pool_attrs[5];
  const char *names[7] = {"pads", "strides", "kernel_shape", "strides", "dilations", "pads",
                          "ceil_mode"};
  int64_t *values[6] = {pads, strides, pool_k, pool_s, pool_d, pool_p};
  size_t counts[6] = {4, 2, 2, 2, 2, 4};
  for (int i = 0; i < 7; i++) {
    onnx__attribute_proto__init(&attrs[i]);
    attrs[i].name = (char *)names[i];
    attrs[i].has_type = 1;
    if (i < 6) {
      attrs[i].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
      attrs[i].n_ints = counts[i];
      attrs[i].ints = values[i];
    } else {
      attrs[i].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
      attrs[i].has_i = 1;
      attrs[i].i = pc->ceil;
    }
    if (i < 2) conv_attrs[i] = &attrs[i];
    else pool_attrs[i - 2] = &attrs[i];
  }
  char *conv_in[3] = {"x", "W", "B"}, *conv_out[1] = {"c"};
  char *relu_in[1] = {"c"}, *relu_out[1] = {"r"};
  char *pool_in[1] = {"r"}, *pool_out[1] = {"y"};
  Onnx__NodeProto nodes[3] = {ONNX__NODE_PROTO__INIT, ONNX__NODE_PROTO__INIT,
                              ONNX__NODE_PROTO__INIT};
  Onnx__NodeProto *node_ptrs[3] = {&nodes[0], &nodes[1], &nodes[2]};
  nodes[0].op_type = "Conv", nodes[0].name = "conv";
  nodes[0].n_input = 3, nodes[0].input = conv_in, nodes[0].n_output = 1;
  nodes[0].output = conv_out;
  nodes[0].n_attribute = 2, nodes[0].attribute = conv_attrs;
  nodes[1].op_type = "Relu", nodes[1].name = "relu";
  nodes[1].n_input = 1, nodes[1].input = relu_in, nodes[1].n_output = 1;
  nodes[1].output = relu_out;
  nodes[2].op_type = "MaxPool", nodes[2].name = "pool";
  nodes[2].n_input = 1, nodes[2].input = pool_in, nodes[2].n_output = 1;
  nodes[2].output = pool_out;
  nodes[2].n_attribute = 5, nodes[2].attribute = pool_attrs;
  uint8_t *buf = pack_conv_model("conv_relu_pool", xd, wd, w, bd, bias, node_ptrs, 3, size);
  free(w);
  return buf;
}

/* The output of a session (reference kernels only, or the fast ones at threads), whether
 * it ran as one conv2d_im2col_sgemm node with those fused nodes, and on how many threads. */
static float *run_fused_session(lens_model *m, const lens_tensor *in, bool reference,
                                int threads, const char *fused_nodes, bool *fused, int *ran_on,
                                size_t *n_out) {
  lens_session_options o;
  lens_session_options_init(&o);
  o.reference_only = reference;
  o.threads = threads;
  lens_session *s = NULL;
  CHECK_OK(lens_session_create(m, &o, &s));
  if (!s) return NULL;
  lens_tensor out[1];
  float *copy = NULL;
  CHECK_OK(lens_session_run(s, in, 1, out, 1));
  if (out[0].data) {
    copy = malloc(out[0].nbytes);
    memcpy(copy, out[0].data, out[0].nbytes);
    *n_out = out[0].nbytes / sizeof(float);
  }
  lens_node_profile p;
  *fused = lens_session_node_count(s) == 1 && !lens_session_node_profile(s, 0, &p) &&
           p.fused_nodes && strcmp(p.fused_nodes, fused_nodes) == 0 &&
           strcmp(p.kernel, "conv2d_im2col_sgemm") == 0;
  *ran_on = lens_session_threads(s);
  lens_session_free(s);
  return copy;
}

/* Case i's model on input in, at every ISA level on 1-3 threads, against its reference
 * kernels: the same output, and fused_nodes absorbed when fuses is (only when the session
 * runs on one thread, with single_thread); with all_threads, sessions that run on the
 * threads asked for. */
static void check_fused_sessions(lens_model *m, const lens_tensor *in, size_t i,
                                 const char *fused_nodes, bool fuses, bool single_thread,
                                 bool all_threads) {
  int levels[3], n_levels = isa_levels(levels);
  bool fused;
  int ran_on = 0;
  size_t n_want = 0, n_got = 0;
  float *want = run_fused_session(m, in, true, 1, fused_nodes, &fused, &ran_on, &n_want);
  for (int li = 0; li < n_levels && want; li++) {
    lens_cpu_force_isa(levels[li]);
    for (int threads = 1; threads <= 3; threads++) {
      float *got =
          run_fused_session(m, in, false, threads, fused_nodes, &fused, &ran_on, &n_got);
      bool expect = fuses && (!single_thread || ran_on == 1);
      CHECK_MSG(fused == expect, "case %zu isa %s threads %d (ran on %d): fused %d", i,
                lens_cpu_isa_name(levels[li]), threads, ran_on, fused);
      if (all_threads)
        CHECK_MSG(ran_on == threads, "case %zu: %d threads asked, ran on %d", i, threads,
                  ran_on);
      if (got && n_got == n_want) {
        double diff = max_rel_diff(got, want, n_want);
        CHECK_MSG(diff <= 1e-5, "case %zu isa %s threads %d: differs from the reference: %g",
                  i, lens_cpu_isa_name(levels[li]), threads, diff);
      } else {
        CHECK_MSG(false, "case %zu: %zu outputs, %zu expected", i, n_got, n_want);
      }
      free(got);
    }
  }
  lens_cpu_force_isa(-1);
  free(want);
}

static void test_session_fuses_conv_relu_maxpool_and_matches_reference(void) {
  for (size_t i = 0; i < sizeof pool_fusion_cases / sizeof pool_fusion_cases[0]; i++) {
    const pool_fusion_case *pc = &pool_fusion_cases[i];
    size_t size;
    uint8_t *buf = conv_relu_pool_model(pc, &size);
    lens_model *m = NULL;
    CHECK_OK(lens_model_load_memory(buf, size, NULL, &m));
    free(buf);
    if (!m) continue;
    int64_t xn = pc->n * pc->c * pc->h * pc->w;
    float *x = malloc(sizeof(float) * (size_t)xn);
    fill_random(x, xn, 53 + (uint32_t)i);
    lens_tensor in = {LENS_DTYPE_FLOAT32, 4, {pc->n, pc->c, pc->h, pc->w}, x,
                      sizeof(float) * (size_t)xn};
    check_fused_sessions(m, &in, i, "relu,pool", pc->fuses, false, false);
    free(x);
    lens_model_free(m);
  }
}

/* ---- a session fuses a 1x1 Conv -> Relu -> depthwise Conv -> Relu ----------------------- */

typedef struct dw_fusion_case {
  int64_t c, e, h, w, k, stride, pad; /* 1x1 c -> e channels on h x w, then e's k x k */
  bool fuses;                         /* at one thread */
} dw_fusion_case;

static const dw_fusion_case dw_fusion_cases[] = {
    {16, 96, 82, 112, 3, 2, 1, true},  /* MobileNetV2's expansion at stride 2 (3.5 MB) */
    {24, 72, 110, 100, 3, 1, 1, true}, /* stride 1: bands share two rows */
    {5, 61, 121, 110, 5, 2, 2, true},  /* 5x5, odd channels and height */
    {9, 130, 64, 101, 3, 1, 0, true},  /* no padding, odd width */
    {16, 64, 56, 56, 3, 1, 1, false},  /* an expanded tensor the caches keep (0.8 MB) */
    {64, 384, 56, 56, 3, 2, 1, true},  /* 154 MFLOP: runs on the threads asked for */
};

/* x [1, c, h, w] -> Conv 1x1 (bias) -> Relu -> Conv k x k, group e (bias) -> Relu -> y */
static uint8_t *expand_dw_model(const dw_fusion_case *fc, size_t *size) {
  int64_t wn = fc->e * fc->c, dn = fc->e * fc->k * fc->k;
  float *w = malloc(sizeof(float) * (size_t)wn), *d = malloc(sizeof(float) * (size_t)dn);
  float *bias = malloc(sizeof(float) * (size_t)fc->e);
  float *dbias = malloc(sizeof(float) * (size_t)fc->e);
  fill_random(w, wn, 71);
  fill_random(d, dn, 72);
  fill_random(bias, fc->e, 73);
  fill_random(dbias, fc->e, 74);
  int64_t xd[4] = {1, fc->c, fc->h, fc->w}, wd[4] = {fc->e, fc->c, 1, 1}, bd[1] = {fc->e};
  int64_t dd[4] = {fc->e, 1, fc->k, fc->k};
  Onnx__TensorProto wt = float_init("W", wd, 4, w), bt = float_init("B", bd, 1, bias);
  Onnx__TensorProto dt = float_init("D", dd, 4, d), et = float_init("E", bd, 1, dbias);
  Onnx__TensorProto *inits[4] = {&wt, &bt, &dt, &et};
  int64_t pads[4] = {fc->pad, fc->pad, fc->pad, fc->pad}, strides[2] = {fc->stride, fc->stride};
  Onnx__AttributeProto attrs[3], *dw_attrs[3] = {&attrs[0], &attrs[1], &attrs[2]};
  for (int i = 0; i < 3; i++) {
    onnx__attribute_proto__init(&attrs[i]);
    attrs[i].has_type = 1;
  }
  attrs[0].name = "pads", attrs[0].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  attrs[0].n_ints = 4, attrs[0].ints = pads;
  attrs[1].name = "strides", attrs[1].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  attrs[1].n_ints = 2, attrs[1].ints = strides;
  attrs[2].name = "group", attrs[2].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  attrs[2].has_i = 1, attrs[2].i = fc->e;
  char *conv_in[3] = {"x", "W", "B"}, *conv_out[1] = {"a"}, *relu_in[1] = {"a"};
  char *relu_out[1] = {"b"}, *dw_in[3] = {"b", "D", "E"}, *dw_out[1] = {"c"};
  char *relu2_in[1] = {"c"}, *relu2_out[1] = {"y"};
  Onnx__NodeProto nodes[4];
  Onnx__NodeProto *node_ptrs[4] = {&nodes[0], &nodes[1], &nodes[2], &nodes[3]};
  for (int i = 0; i < 4; i++) onnx__node_proto__init(&nodes[i]);
  nodes[0].op_type = "Conv", nodes[0].name = "expand";
  nodes[0].n_input = 3, nodes[0].input = conv_in, nodes[0].n_output = 1;
  nodes[0].output = conv_out;
  nodes[1].op_type = "Relu", nodes[1].name = "relu";
  nodes[1].n_input = 1, nodes[1].input = relu_in, nodes[1].n_output = 1;
  nodes[1].output = relu_out;
  nodes[2].op_type = "Conv", nodes[2].name = "dw";
  nodes[2].n_input = 3, nodes[2].input = dw_in, nodes[2].n_output = 1;
  nodes[2].output = dw_out;
  nodes[2].n_attribute = 3, nodes[2].attribute = dw_attrs;
  nodes[3].op_type = "Relu", nodes[3].name = "relu2";
  nodes[3].n_input = 1, nodes[3].input = relu2_in, nodes[3].n_output = 1;
  nodes[3].output = relu2_out;
  uint8_t *buf = pack_model("expand_dw", xd, inits, 4, node_ptrs, 4, size);
  free(w);
  free(d);
  free(bias);
  free(dbias);
  return buf;
}

/* What the expansion absorbs: its activation, the depthwise layer and that one's. */
#define DW_FUSED "relu,dw,relu2"

/* Fused when the session runs on one thread (every ISA level; small models do whatever was
 * asked), not on two or three (see conv_dw_scratch); the same output as the reference
 * kernels either way. */
static void test_session_fuses_expansion_and_depthwise_and_matches_reference(void) {
  for (size_t i = 0; i < sizeof dw_fusion_cases / sizeof dw_fusion_cases[0]; i++) {
    const dw_fusion_case *fc = &dw_fusion_cases[i];
    size_t size;
    uint8_t *buf = expand_dw_model(fc, &size);
    lens_model *m = NULL;
    CHECK_OK(lens_model_load_memory(buf, size, NULL, &m));
    free(buf);
    if (!m) continue;
    int64_t xn = fc->c * fc->h * fc->w;
    float *x = malloc(sizeof(float) * (size_t)xn);
    fill_random(x, xn, 75 + (uint32_t)i);
    lens_tensor in = {LENS_DTYPE_FLOAT32, 4, {1, fc->c, fc->h, fc->w}, x,
                      sizeof(float) * (size_t)xn};
    /* the sessions of over 100 MFLOP run on the threads asked for */
    check_fused_sessions(m, &in, i, DW_FUSED, fc->fuses, true,
                         2.0 * (double)(fc->c * fc->e * fc->h * fc->w) > 100e6);
    free(x);
    lens_model_free(m);
  }
}

LENS_TEST_MAIN(LENS_TEST(test_conv2d_im2col_sgemm_applies_every_epilogue),
               LENS_TEST(test_conv2d_depthwise_direct_applies_every_epilogue),
               LENS_TEST(test_session_fuses_conv_relu_maxpool_and_matches_reference),
               LENS_TEST(test_session_fuses_expansion_and_depthwise_and_matches_reference),
               LENS_TEST(test_conv3x3_winograd_f4_matches_reference),
               LENS_TEST(test_maxpool2d_direct_matches_reference),
               LENS_TEST(test_maxpool2d_direct_propagates_nan),
               LENS_TEST(test_avgpool2d_direct_matches_reference),
               LENS_TEST(test_maxpool2d_direct_stride2_propagates_nan),
               LENS_TEST(test_global_average_pool_matches_reference),
               LENS_TEST(test_batchnorm_affine_matches_reference),
               LENS_TEST(test_conv_transpose2d_sgemm_matches_reference),
               LENS_TEST(test_single_row_gemm_and_matmul_match_reference),
               LENS_TEST(test_softmax_lastaxis_matches_reference),
               LENS_TEST(test_sigmoid_f32_matches_reference),
               LENS_TEST(test_binary_f32_matches_reference_for_each_broadcast),
               LENS_TEST(test_resize_nearest_int_matches_reference),
               LENS_TEST(test_session_fuses_conv_add_relu_and_matches_reference))
