/* The convolution kernels' fast paths against the reference Conv on awkward sizes, at every
 * ISA level the machine has, with fused epilogues and several threads: Winograd F(4x4, 3x3)
 * on small planes (few tiles, many channels) and conv2d_im2col_sgemm's paths for few input
 * channels and strided convolutions. */
#include "core/threadpool.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "nn_test_util.h"

static const lens_kernel *find_kernel(const char *name) {
  size_t n;
  const lens_kernel *const *all = lens_cpu_kernels(&n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(all[i]->name, name) == 0) return all[i];
  return NULL;
}

static int isa_levels(int *levels) {
  lens_cpu_force_isa(-1);
  int best = lens_cpu_isa(), n = 0;
  for (int l = LENS_CPU_ISA_BASELINE; l <= best; l++) levels[n++] = l;
  return n;
}

/* The epilogues every fusing kernel is checked with: none, residual alone, each activation
 * alone, and residual with an activation. */
static const lens_epilogue epilogues[] = {
    {NULL, LENS_ACT_NONE, 0, 0},          {NULL, LENS_ACT_RELU, 0, 0},
    {NULL, LENS_ACT_CLIP, -0.25f, 0.5f},  {NULL, LENS_ACT_SIGMOID, 0, 0},
    {NULL, LENS_ACT_TANH, 0, 0},          {NULL, LENS_ACT_LEAKYRELU, 0.1f, 0},
    {NULL, LENS_ACT_HARDSIGMOID, 0.2f, 0.5f}, {NULL, LENS_ACT_HARDSWISH, 0, 0},
};
#define N_EPILOGUES (sizeof epilogues / sizeof epilogues[0])

/* Runs the reference op (then the epilogue's plain definition on its output), and the
 * kernel with the epilogue (residual given when with_residual); returns the worst relative
 * difference, INFINITY on a failure. Inputs from 1 on are constant when const_weights. */
static double check_kernel(const char *kernel_name, tnode *t, lens_value *in, int n_in,
                           bool const_weights, const lens_epilogue *epi, bool with_residual,
                           lens_exec_ctx *ctx) {
  const lens_kernel *k = find_kernel(kernel_name);
  CHECK_MSG(k != NULL, "%s is not registered", kernel_name);
  if (!k) return INFINITY;
  lens_value ref[1];
  lens_status *st = trun(t, in, ref, 1, NULL);
  if (st) {
    fprintf(stderr, "  reference failed: %s\n", lens_status_message(st));
    lens_status_free(st);
    tfree_outputs(ref, 1);
    return INFINITY;
  }
  int64_t n = lens_value_elements(&ref[0]);
  float *residual = NULL;
  lens_epilogue ep = epi ? *epi : (lens_epilogue){0};
  if (with_residual) {
    residual = malloc(sizeof(float) * (size_t)(n + 1));
    fill_random(residual, n, 77);
    ep.residual = residual;
  }
  bool has_ep = epi || with_residual;
  if (has_ep) lens_epilogue_apply(&ep, ref[0].data, 0, (size_t)n);
  lens_value fast = ref[0];
  fast.data = malloc(tval_bytes(&ref[0]) + 64);
  memset(fast.data, 0xff, tval_bytes(&ref[0])); /* NaN: every output must be written */
  double worst = INFINITY;
  lens_value prep_in[8];
  memcpy(prep_in, in, sizeof *in * (size_t)n_in);
  prep_in[0].data = NULL;
  if (!const_weights)
    for (int i = 1; i < n_in; i++) prep_in[i].data = NULL;
  void *state = NULL;
  if (!k->supports(&t->node, prep_in, &fast)) {
    fprintf(stderr, "  %s does not support this case\n", kernel_name);
    goto done;
  }
  if (has_ep && !k->fuses) {
    fprintf(stderr, "  %s does not fuse epilogues\n", kernel_name);
    goto done;
  }
  if (k->prepare && (st = k->prepare(&t->node, prep_in, &fast, &state))) {
    fprintf(stderr, "  prepare failed: %s\n", lens_status_message(st));
    lens_status_free(st);
    goto done;
  }
  size_t scratch = k->scratch_bytes ? k->scratch_bytes(&t->node, prep_in, &fast) : 0;
  lens_exec_ctx local = {0};
  if (!ctx) ctx = &local;
  ctx->scratch = scratch ? aligned_alloc(64, (scratch + 63) / 64 * 64) : NULL;
  ctx->scratch_bytes = scratch;
  ctx->kernel_state = state;
  ctx->epilogue = has_ep ? &ep : NULL;
  st = k->compute(&t->node, in, &fast, ctx);
  free(ctx->scratch);
  ctx->scratch = NULL;
  ctx->scratch_bytes = 0;
  ctx->kernel_state = NULL;
  ctx->epilogue = NULL;
  if (k->release) k->release(state);
  else free(state);
  if (st) {
    fprintf(stderr, "  compute failed: %s\n", lens_status_message(st));
    lens_status_free(st);
    goto done;
  }
  worst = max_rel_diff(fast.data, ref[0].data, n);
done:
  free(fast.data);
  free(residual);
  tfree_outputs(ref, 1);
  return worst;
}

/* ---- convolutions with epilogues -------------------------------------------------------- */

typedef struct conv_case {
  int64_t n, c, h, w, m, kh, kw;
  int64_t stride, dilation, group;
  int64_t pads[4];
  bool bias;
} conv_case;

static double run_conv(const char *kernel, const conv_case *cc, const lens_epilogue *ep,
                       bool residual, bool const_weights, lens_exec_ctx *ctx) {
  int64_t cg = cc->c / cc->group;
  int64_t xd[4] = {cc->n, cc->c, cc->h, cc->w}, wd[4] = {cc->m, cg, cc->kh, cc->kw};
  int64_t bd[1] = {cc->m};
  int64_t xn = cc->n * cc->c * cc->h * cc->w, wn = cc->m * cg * cc->kh * cc->kw;
  float *x = malloc(sizeof(float) * (size_t)xn), *w = malloc(sizeof(float) * (size_t)wn);
  float *b = malloc(sizeof(float) * (size_t)cc->m);
  fill_random(x, xn, 1);
  fill_random(w, wn, 2);
  fill_random(b, cc->m, 3);
  int64_t strides[2] = {cc->stride, cc->stride}, dil[2] = {cc->dilation, cc->dilation};
  tnode t;
  tnode_init(&t, "Conv", 11, cc->bias ? 3 : 2, 1);
  tnode_ints(&t, "strides", strides, 2);
  tnode_ints(&t, "dilations", dil, 2);
  tnode_int(&t, "group", cc->group);
  tnode_ints(&t, "pads", cc->pads, 4);
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 4, wd, w),
                      cc->bias ? tval(LENS_DTYPE_FLOAT32, 1, bd, b) : tnone()};
  double diff =
      check_kernel(kernel, &t, in, cc->bias ? 3 : 2, const_weights, ep, residual, ctx);
  tnode_free(&t);
  free(x);
  free(w);
  free(b);
  return diff;
}

/* Winograd F(4x4, 3x3) rounds differently from the direct sum (its transforms scale terms
 * by up to 8 before they cancel): the same named budget as the large-plane layout's. */
#define WINOGRAD_F4_TOLERANCE 5e-4

/* Runs every case at every ISA level with every second epilogue, then with 2 and 3 threads;
 * tol is the named error budget of the kernel. */
static void check_cases(const char *kernel, const conv_case *cases, size_t n_cases, double tol) {
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < n_cases; i++)
      for (size_t e = 0; e <= N_EPILOGUES; e += 2) {
        const lens_epilogue *ep = e < N_EPILOGUES ? &epilogues[e] : NULL;
        double diff = run_conv(kernel, &cases[i], ep, e % 4 == 0, true, NULL);
        CHECK_MSG(diff <= tol, "%s case %zu epilogue %zu isa %s: %g", kernel, i, e,
                  lens_cpu_isa_name(levels[li]), diff);
      }
  }
  lens_cpu_force_isa(-1);
  for (int threads = 2; threads <= 3; threads++) {
    lens_threadpool *pool = NULL;
    CHECK_OK(lens_threadpool_create(threads, &pool));
    lens_exec_ctx ctx = {0};
    ctx.pool = pool;
    for (size_t i = 0; i < n_cases; i++) {
      double diff = run_conv(kernel, &cases[i], &epilogues[1], true, true, &ctx);
      CHECK_MSG(diff <= tol, "%s case %zu, %d threads: %g", kernel, i, threads, diff);
    }
    lens_threadpool_free(pool);
  }
}

static const conv_case winograd_small_cases[] = {
    {1, 128, 14, 14, 256, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true},  /* 16 tiles, 4 channel blocks */
    {1, 130, 13, 7, 70, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true},    /* 8 tiles, a partial block */
    {2, 128, 13, 11, 65, 3, 3, 1, 1, 1, {2, 0, 1, 2}, false},  /* batch 2, uneven pads */
    {1, 131, 18, 10, 64, 3, 3, 1, 1, 1, {0, 0, 0, 0}, true},   /* whole tiles, unpadded */
    {1, 137, 22, 20, 67, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true},   /* 30 tiles, padded to 32 */
    {1, 128, 30, 3, 129, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true},   /* one partial tile per row */
};

static void test_conv3x3_winograd_f4_small_planes_match_reference(void) {
  check_cases("conv3x3_winograd_f4", winograd_small_cases,
              sizeof winograd_small_cases / sizeof winograd_small_cases[0],
              WINOGRAD_F4_TOLERANCE);
}

/* Where im2col measured faster: 7x7 outputs (4 tiles), few channels on 14x14. */
static void test_conv3x3_winograd_f4_declines_tiny_planes(void) {
  const lens_kernel *k = find_kernel("conv3x3_winograd_f4");
  CHECK(k != NULL);
  static const int64_t shapes[][3] = {{512, 7, 7}, {64, 14, 14}, {128, 6, 6}};
  static float w[512 * 512 * 9];
  for (size_t i = 0; k && i < sizeof shapes / sizeof shapes[0]; i++) {
    int64_t xd[4] = {1, shapes[i][0], shapes[i][1], shapes[i][2]};
    int64_t wd[4] = {shapes[i][0], shapes[i][0], 3, 3}, pads[4] = {1, 1, 1, 1};
    tnode t;
    tnode_init(&t, "Conv", 11, 2, 1);
    tnode_ints(&t, "pads", pads, 4);
    CHECK_OK(t.node.def->prepare(&t.node));
    lens_value in[2] = {tval(LENS_DTYPE_FLOAT32, 4, xd, NULL), tval(LENS_DTYPE_FLOAT32, 4, wd, w)};
    lens_value out[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, NULL)};
    CHECK_MSG(!k->supports(&t.node, in, out), "declined shape %zu", i);
    tnode_free(&t);
  }
}

/* conv2d_im2col_sgemm with up to 4 input channels per group (the first layer of image
 * models) builds its columns in L2-sized chunks of the flattened output, per thread: chunk
 * and thread boundaries fall inside output rows, stride 2 takes a vector path whose tails
 * read up to the last input float. The budget of the other fused kernels' tests. */
#define IM2COL_TOLERANCE 2e-5

static const conv_case small_cin_cases[] = {
    {1, 3, 97, 83, 64, 7, 7, 2, 1, 1, {3, 3, 3, 3}, true},    /* resnet stem: 2 chunks */
    {1, 3, 29, 31, 32, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true},    /* mobilenet stem */
    {2, 3, 23, 19, 17, 3, 3, 2, 1, 1, {0, 0, 0, 0}, false},   /* batch 2, 17 channels */
    {1, 1, 13, 50, 5, 3, 3, 1, 1, 1, {2, 0, 1, 3}, true},     /* stride 1, uneven pads */
    {1, 4, 20, 33, 13, 5, 5, 3, 1, 1, {2, 1, 0, 2}, true},    /* stride 3 */
    {1, 2, 25, 27, 11, 3, 3, 2, 2, 1, {2, 2, 2, 2}, true},    /* dilation 2 */
    {1, 6, 21, 47, 12, 3, 3, 2, 1, 2, {1, 1, 1, 1}, true},    /* 2 groups of 3 */
    {1, 3, 9, 3, 9, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true},       /* 2 output columns */
    {1, 3, 3, 100, 24, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true},    /* 50 columns: every tail */
    {1, 3, 7, 7, 8, 7, 7, 2, 1, 1, {0, 0, 0, 0}, true},       /* a single output */
    {1, 3, 45, 161, 16, 3, 3, 2, 1, 1, {0, 1, 1, 0}, true},   /* odd width, 2 chunks */
    {1, 3, 12, 37, 16, 1, 1, 2, 1, 1, {0, 0, 0, 0}, true},    /* 1x1 stride 2 */
    {1, 8, 15, 17, 10, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true},    /* 8 channels: band path */
};

/* Every epilogue, with and without a residual: the AVX-512 path applies some activations
 * in registers and the others row by row after the sums are stored. */
static void test_conv_im2col_few_input_channels_match_reference(void) {
  size_t n_cases = sizeof small_cin_cases / sizeof small_cin_cases[0];
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < n_cases; i++)
      for (size_t e = 0; e <= N_EPILOGUES; e++)
        for (int residual = 0; residual <= 1; residual++) {
          const lens_epilogue *ep = e < N_EPILOGUES ? &epilogues[e] : NULL;
          double diff =
              run_conv("conv2d_im2col_sgemm", &small_cin_cases[i], ep, residual, true, NULL);
          CHECK_MSG(diff <= IM2COL_TOLERANCE, "case %zu epilogue %zu residual %d isa %s: %g",
                    i, e, residual, lens_cpu_isa_name(levels[li]), diff);
        }
  }
  lens_cpu_force_isa(-1);
}

/* Threads split the output rows (AVX-512) or the flattened columns (otherwise) of each
 * image, each through its own buffer. */
static void test_conv_im2col_few_input_channels_threads_match_reference(void) {
  size_t n_cases = sizeof small_cin_cases / sizeof small_cin_cases[0];
  int levels[3], n_levels = isa_levels(levels);
  for (int threads = 2; threads <= 3; threads++) {
    lens_threadpool *pool = NULL;
    CHECK_OK(lens_threadpool_create(threads, &pool));
    lens_exec_ctx ctx = {0};
    ctx.pool = pool;
    for (int li = 0; li < n_levels; li++) {
      lens_cpu_force_isa(levels[li]);
      for (size_t i = 0; i < n_cases; i++)
        for (size_t e = 1; e < N_EPILOGUES; e += 3) {
          double diff = run_conv("conv2d_im2col_sgemm", &small_cin_cases[i], &epilogues[e],
                                 e == 1, true, &ctx);
          CHECK_MSG(diff <= IM2COL_TOLERANCE, "case %zu epilogue %zu, %d threads, isa %s: %g",
                    i, e, threads, lens_cpu_isa_name(levels[li]), diff);
        }
    }
    lens_cpu_force_isa(-1);
    lens_threadpool_free(pool);
  }
}

/* Weights given only at run time are packed into the scratch after the chunk buffers. */
static void test_conv_im2col_few_input_channels_runtime_weights(void) {
  for (size_t i = 0; i < 3; i++) {
    double diff = run_conv("conv2d_im2col_sgemm", &small_cin_cases[i], &epilogues[1], true,
                           false, NULL);
    CHECK_MSG(diff <= IM2COL_TOLERANCE, "case %zu: %g", i, diff);
  }
}

LENS_TEST_MAIN(LENS_TEST(test_conv3x3_winograd_f4_small_planes_match_reference),
               LENS_TEST(test_conv3x3_winograd_f4_declines_tiny_planes),
               LENS_TEST(test_conv_im2col_few_input_channels_match_reference),
               LENS_TEST(test_conv_im2col_few_input_channels_threads_match_reference),
               LENS_TEST(test_conv_im2col_few_input_channels_runtime_weights))
