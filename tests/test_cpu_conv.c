/* The convolution kernels' fast paths against the reference Conv on awkward sizes, at every
 * ISA level the machine has, with fused epilogues and several threads: Winograd F(4x4, 3x3)
 * on small planes (few tiles, many channels), conv2d_im2col_sgemm's paths for few input
 * channels and strided convolutions, and depthwise planes split into bands of rows or
 * interleaved by channels. */
#include "cpu/conv_depthwise.h"
#include "cpu_kernel_check.h"

/* Winograd F(4x4, 3x3) rounds differently from the direct sum (its transforms scale terms
 * by up to 8 before they cancel): the same named budget as the large-plane layout's. */
#define WINOGRAD_F4_TOLERANCE 5e-4

/* Runs every case at every ISA level with every second epilogue, then with 2 to 5 threads
 * (splits of the work that do and do not divide it evenly; Winograd's small planes go by
 * bands of tile rows up to 4 threads and by output channels, in blocks or rows of
 * positions, past that), each with its own epilogue, in equal and in unequal shares; tol
 * is the named error budget of the kernel. */
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
  for (int threads = 2; threads <= 5; threads++) {
    lens_threadpool *pool = NULL;
    CHECK_OK(lens_threadpool_create(threads, &pool));
    lens_exec_ctx ctx = {0};
    ctx.pool = pool;
    const lens_epilogue *ep = &epilogues[(size_t)(2 * threads - 3) % N_EPILOGUES];
    for (int unequal = 0; unequal <= 1; unequal++) {
      if (unequal) set_unequal_shares(pool);
      for (size_t i = 0; i < n_cases; i++) {
        double diff = run_conv(kernel, &cases[i], ep, true, true, &ctx);
        CHECK_MSG(diff <= tol, "%s case %zu, %d threads%s: %g", kernel, i, threads,
                  unequal ? ", unequal shares" : "", diff);
      }
    }
    lens_threadpool_free(pool);
  }
}

static const conv_case winograd_small_cases[] = {
    /* 16 tiles, 4 channel blocks */
    {1, 128, 14, 14, 256, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},
    {1, 130, 13, 7, 70, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},    /* 8 tiles, a partial block */
    {2, 128, 13, 11, 65, 3, 3, 1, 1, 1, {2, 0, 1, 2}, false, NULL},  /* batch 2, uneven pads */
    {1, 131, 18, 10, 64, 3, 3, 1, 1, 1, {0, 0, 0, 0}, true, NULL},   /* whole tiles, unpadded */
    {1, 137, 22, 20, 67, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},   /* 30 tiles, padded to 32 */
    {1, 128, 30, 3, 129, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},   /* one partial tile per row */
    {1, 64, 13, 13, 96, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},    /* V_k 4 KiB apart: spread */
    {1, 48, 13, 13, 192, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},   /* 3 blocks: bands, or rows */
    {1, 16, 7, 7, 40, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},      /* 4 tiles, 16 channels */
    {1, 19, 6, 6, 33, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},      /* 36 outputs in 4 tiles */
    {1, 256, 7, 7, 64, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},     /* 8 input channel chunks */
    /* 49 tiles: the small-plane layout in unequal bands at 2-4 threads, else the large one */
    {1, 32, 27, 27, 128, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},
    {1, 20, 28, 26, 70, 3, 3, 1, 1, 1, {1, 1, 1, 1}, false, NULL},   /* a partial block */
    {2, 17, 24, 26, 33, 3, 3, 1, 1, 1, {1, 0, 1, 2}, true, NULL},    /* 6 x 7 tiles, batch 2 */
};

static void test_conv3x3_winograd_f4_small_planes_match_reference(void) {
  check_cases("conv3x3_winograd_f4", winograd_small_cases,
              sizeof winograd_small_cases / sizeof winograd_small_cases[0],
              WINOGRAD_F4_TOLERANCE);
}

/* Where im2col measured faster: fewer than 36 outputs, 512 and 1024 channels on 7x7 (weights
 * streamed from memory), and too few channels. (supports reads the weights' shape, not the
 * weights.) */
static void test_conv3x3_winograd_f4_declines_tiny_planes(void) {
  const lens_kernel *k = find_kernel("conv3x3_winograd_f4");
  CHECK(k != NULL);
  static const int64_t shapes[][3] = {{256, 5, 5}, {64, 4, 8}, {1024, 7, 7}, {512, 7, 7},
                                      {8, 13, 13}};
  static float w[1];
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
    {1, 3, 97, 83, 64, 7, 7, 2, 1, 1, {3, 3, 3, 3}, true, NULL},    /* resnet stem: 2 chunks */
    {1, 3, 29, 31, 32, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true, NULL},    /* mobilenet stem */
    {2, 3, 23, 19, 17, 3, 3, 2, 1, 1, {0, 0, 0, 0}, false, NULL},   /* batch 2, 17 channels */
    {1, 1, 13, 50, 5, 3, 3, 1, 1, 1, {2, 0, 1, 3}, true, NULL},     /* stride 1, uneven pads */
    {1, 4, 20, 33, 13, 5, 5, 3, 1, 1, {2, 1, 0, 2}, true, NULL},    /* stride 3 */
    {1, 2, 25, 27, 11, 3, 3, 2, 2, 1, {2, 2, 2, 2}, true, NULL},    /* dilation 2 */
    {1, 6, 21, 47, 12, 3, 3, 2, 1, 2, {1, 1, 1, 1}, true, NULL},    /* 2 groups of 3 */
    {1, 3, 9, 3, 9, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true, NULL},       /* 2 output columns */
    {1, 3, 3, 100, 24, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true, NULL},    /* 50 columns: every tail */
    {1, 3, 7, 7, 8, 7, 7, 2, 1, 1, {0, 0, 0, 0}, true, NULL},       /* a single output */
    {1, 3, 45, 161, 16, 3, 3, 2, 1, 1, {0, 1, 1, 0}, true, NULL},   /* odd width, 2 chunks */
    {1, 3, 12, 37, 16, 1, 1, 2, 1, 1, {0, 0, 0, 0}, true, NULL},    /* 1x1 stride 2 */
    {1, 8, 15, 17, 10, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true, NULL},    /* 8 channels: gathered */
};

/* Every epilogue, with and without a residual: the AVX-512 path applies some activations
 * in registers and the others row by row after the sums are stored. */
static void test_conv_im2col_few_input_channels_match_reference(void) {
  size_t n_cases = sizeof small_cin_cases / sizeof small_cin_cases[0];
  check_conv_every_epilogue("conv2d_im2col_sgemm", small_cin_cases, n_cases, IM2COL_TOLERANCE);
}

/* Runs every case on 2 and 3 threads at every ISA level, with a residual and Relu, with
 * Tanh and with HardSwish, in equal and in unequal shares (lens_exec_split); tol is the
 * named error budget of the kernel. */
static void check_cases_on_threads(const char *kernel, const conv_case *cases, size_t n_cases,
                                   double tol) {
  int levels[3], n_levels = isa_levels(levels);
  for (int threads = 2; threads <= 3; threads++) {
    lens_threadpool *pool = NULL;
    CHECK_OK(lens_threadpool_create(threads, &pool));
    lens_exec_ctx ctx = {0};
    ctx.pool = pool;
    for (int li = 0; li < 2 * n_levels; li++) {
      if (li == n_levels) set_unequal_shares(pool);
      lens_cpu_force_isa(levels[li % n_levels]);
      for (size_t i = 0; i < n_cases; i++)
        for (size_t e = 1; e < N_EPILOGUES; e += 3) {
          double diff = run_conv(kernel, &cases[i], &epilogues[e], e == 1, true, &ctx);
          CHECK_MSG(diff <= tol, "%s case %zu epilogue %zu, %d threads%s, isa %s: %g", kernel,
                    i, e, threads, li >= n_levels ? " in unequal shares" : "",
                    lens_cpu_isa_name(levels[li % n_levels]), diff);
        }
    }
    lens_cpu_force_isa(-1);
    lens_threadpool_free(pool);
  }
}

/* Threads split the output rows (AVX-512) or the flattened columns (otherwise) of each
 * image, each through its own buffer. */
static void test_conv_im2col_few_input_channels_threads_match_reference(void) {
  check_cases_on_threads("conv2d_im2col_sgemm", small_cin_cases,
                         sizeof small_cin_cases / sizeof small_cin_cases[0], IM2COL_TOLERANCE);
}

/* conv2d_im2col_sgemm with more input channels: the GEMM gathers its columns from stride
 * phases of the input (one plane, channel-major, for 1x1 kernels). Edges of rows and of the
 * 16-column loads that build the phases, every phase count, runs of output columns that
 * split a 48-column panel in many places, both threads' splits. */
static const conv_case general_cases[] = {
    {1, 16, 29, 31, 33, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true, NULL},   /* stride 2, odd sizes */
    {1, 9, 12, 37, 16, 1, 1, 2, 1, 1, {0, 0, 0, 0}, true, NULL},    /* 1x1 stride 2: subsample */
    {1, 7, 13, 14, 9, 1, 1, 1, 1, 1, {1, 0, 0, 1}, false, NULL},    /* padded 1x1 */
    {1, 7, 20, 33, 13, 5, 5, 3, 1, 1, {2, 1, 0, 2}, true, NULL},    /* stride 3: scalar rows */
    {1, 6, 25, 27, 11, 3, 3, 2, 2, 1, {2, 2, 2, 2}, true, NULL},    /* dilation with stride */
    {1, 8, 40, 41, 12, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true, NULL},    /* 2 load steps a row */
    {2, 10, 13, 11, 14, 3, 3, 2, 1, 2, {1, 1, 1, 1}, true, NULL},   /* batch 2, 2 groups */
    {1, 12, 7, 7, 8, 7, 7, 1, 1, 1, {3, 3, 3, 3}, true, NULL},      /* 49 taps */
    {1, 5, 11, 11, 6, 9, 9, 1, 1, 1, {4, 4, 4, 4}, false, NULL},    /* 81 taps: untabled */
    {1, 16, 14, 14, 64, 3, 3, 2, 1, 1, {1, 1, 1, 1}, true, NULL},   /* 49 columns: row split */
    {1, 8, 6, 100, 16, 3, 3, 1, 1, 1, {0, 2, 1, 0}, true, NULL},    /* wide, uneven pads */
    {1, 6, 1, 1, 4, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},       /* 1x1 input, all padding */
    {1, 5, 4, 4, 3, 3, 3, 1, 1, 1, {0, 17, 0, 2}, true, NULL},      /* a pad past a load */
    {1, 6, 9, 1, 7, 3, 1, 1, 1, 1, {1, 0, 1, 0}, true, NULL},       /* 1-column plane */
    /* deeper than a K block of the GEMM (512): B read in place, then gathered */
    {1, 530, 5, 9, 19, 1, 1, 1, 1, 1, {0, 0, 0, 0}, true, NULL},
    {1, 61, 9, 10, 20, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},
};

static void test_conv_im2col_gathered_columns_match_reference(void) {
  size_t n_cases = sizeof general_cases / sizeof general_cases[0];
  check_conv_every_epilogue("conv2d_im2col_sgemm", general_cases, n_cases, IM2COL_TOLERANCE);
}

static void test_conv_im2col_gathered_columns_threads_match_reference(void) {
  check_cases_on_threads("conv2d_im2col_sgemm", general_cases,
                         sizeof general_cases / sizeof general_cases[0], IM2COL_TOLERANCE);
}

/* Planes large enough that the threads split them into bands of rows (LENS_PLANE_SPLIT_MIN
 * positions, LENS_PLANE_SPLIT_MIN_ROWS rows per thread): odd widths (a cache line across two
 * planes), stride 2, 5x5, a channel multiplier with dilation (the band path), batch 2. */
static const conv_case depthwise_band_cases[] = {
    {1, 5, 100, 61, 5, 3, 3, 1, 1, 5, {1, 1, 1, 1}, true, NULL},
    {1, 4, 130, 97, 4, 3, 3, 2, 1, 4, {1, 1, 1, 1}, true, NULL},
    {1, 3, 70, 50, 3, 5, 5, 1, 1, 3, {2, 2, 2, 2}, true, NULL},
    {1, 2, 80, 45, 4, 3, 3, 1, 2, 2, {2, 2, 2, 2}, false, NULL},
    {2, 3, 64, 50, 3, 3, 3, 1, 1, 3, {1, 1, 1, 1}, true, NULL},
};

/* The direct sum in another order: the budget of the depthwise tests in test_cpu_kernels. */
#define DEPTHWISE_TOLERANCE 2e-5

static void test_conv2d_depthwise_direct_bands_on_threads_match_reference(void) {
  check_cases_on_threads("conv2d_depthwise_direct", depthwise_band_cases,
                         sizeof depthwise_band_cases / sizeof depthwise_band_cases[0],
                         DEPTHWISE_TOLERANCE);
}

/* Small planes, whose groups of 16 channels go through the channel-interleaved path on
 * AVX-512 (3x3 outputs up to 12 wide, 5x5 up to 31): channel counts with a tail of planes
 * for the plane path, 1x1 and one-row outputs, input rows and columns no output reads,
 * strides, dilation, uneven pads, 7x7 and 1x3 windows, batch 2. */
static const conv_case depthwise_small_cases[] = {
    {1, 33, 7, 7, 33, 3, 3, 1, 1, 33, {1, 1, 1, 1}, true, NULL},
    {1, 48, 14, 14, 48, 3, 3, 2, 1, 48, {1, 1, 1, 1}, true, NULL},
    {1, 16, 10, 10, 16, 5, 5, 1, 1, 16, {2, 2, 2, 2}, true, NULL},
    {1, 35, 20, 19, 35, 5, 5, 2, 1, 35, {2, 1, 2, 2}, false, NULL},
    {2, 17, 5, 6, 17, 3, 3, 2, 1, 17, {1, 1, 1, 1}, true, NULL},
    {1, 32, 1, 1, 32, 3, 3, 1, 1, 32, {1, 1, 1, 1}, true, NULL},
    {1, 16, 8, 9, 16, 3, 3, 2, 1, 16, {0, 0, 0, 0}, true, NULL}, /* last row, column unread */
    {1, 20, 11, 3, 20, 3, 3, 1, 2, 20, {2, 2, 2, 1}, true, NULL},   /* dilated */
    {1, 16, 9, 9, 16, 7, 7, 1, 1, 16, {3, 3, 3, 3}, true, NULL},
    {1, 31, 2, 13, 31, 1, 3, 1, 1, 31, {0, 1, 0, 1}, false, NULL},
    {1, 64, 20, 20, 64, 5, 5, 1, 1, 64, {2, 2, 2, 2}, true, NULL},
};

static void test_conv2d_depthwise_direct_small_planes_match_reference(void) {
  size_t n_cases = sizeof depthwise_small_cases / sizeof depthwise_small_cases[0];
  check_conv_every_epilogue("conv2d_depthwise_direct", depthwise_small_cases, n_cases,
                            DEPTHWISE_TOLERANCE);
  check_cases_on_threads("conv2d_depthwise_direct", depthwise_small_cases, n_cases,
                         DEPTHWISE_TOLERANCE);
}

/* Weights given only at run time are packed into the scratch after the chunk buffers. */
static void test_conv_im2col_few_input_channels_runtime_weights(void) {
  for (size_t i = 0; i < 3; i++) {
    double diff = run_conv("conv2d_im2col_sgemm", &small_cin_cases[i], &epilogues[1], true,
                           false, NULL);
    CHECK_MSG(diff <= IM2COL_TOLERANCE, "case %zu: %g", i, diff);
  }
}


/* ---- a depthwise convolution run in bands of rows a source makes (lens_cpu_dw_bands) ----- */

typedef struct dw_band_case {
  int64_t c, h, w, k, stride, pad, dilation;
} dw_band_case;

/* Bands of two output rows at stride 2 (one input row shared), of several at stride 1 (two
 * shared), of one output row (wide rows), 5x5, dilated and stride-3 kernels (the other
 * plane functions), no padding, an odd last row. */
static const dw_band_case dw_band_cases[] = {
    {96, 40, 112, 3, 2, 1, 1}, {72, 33, 56, 3, 1, 1, 1}, {21, 29, 30, 5, 2, 2, 1},
    {9, 17, 25, 3, 1, 0, 2},   {700, 9, 120, 3, 1, 1, 1}, {3, 50, 26, 7, 3, 3, 1},
    {40, 31, 24, 3, 2, 0, 1},
};

typedef struct whole_input {
  const float *x;
  int64_t c, h, w;
  bool count;        /* one thread: count the rows asked for */
  int64_t rows_made; /* input rows made, each channel's counting once */
} whole_input;

static void copy_input_rows(const void *arg, int64_t r0, int64_t r1, float *dst, int64_t ld) {
  whole_input *in = (whole_input *)arg;
  CHECK(r0 >= 0 && r0 < r1 && r1 <= in->h);
  for (int64_t c = 0; c < in->c; c++)
    memcpy(dst + c * ld, in->x + (c * in->h + r0) * in->w,
           sizeof(float) * (size_t)((r1 - r0) * in->w));
  if (in->count) in->rows_made += r1 - r0;
}

/* The case through lens_cpu_dw_bands (NULL ctx: one thread) with activation ep, against the
 * reference depthwise Conv and the activation's plain definition; the worst relative
 * difference, INFINITY when it does not run. */
static double dw_band_case_diff(const dw_band_case *dc, const lens_epilogue *ep,
                                lens_exec_ctx *ctx, int64_t *rows_made) {
  int64_t xd[4] = {1, dc->c, dc->h, dc->w}, wd[4] = {dc->c, 1, dc->k, dc->k}, bd[1] = {dc->c};
  int64_t xn = dc->c * dc->h * dc->w, wn = dc->c * dc->k * dc->k;
  float *x = malloc(sizeof(float) * (size_t)xn), *w = malloc(sizeof(float) * (size_t)wn);
  float *b = malloc(sizeof(float) * (size_t)dc->c);
  fill_random(x, xn, 61);
  fill_random(w, wn, 62);
  fill_random(b, dc->c, 63);
  int64_t strides[2] = {dc->stride, dc->stride}, dil[2] = {dc->dilation, dc->dilation};
  int64_t pads[4] = {dc->pad, dc->pad, dc->pad, dc->pad};
  tnode t;
  tnode_init(&t, "Conv", 11, 3, 1);
  tnode_ints(&t, "strides", strides, 2);
  tnode_ints(&t, "dilations", dil, 2);
  tnode_int(&t, "group", dc->c);
  tnode_ints(&t, "pads", pads, 4);
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 4, wd, w),
                      tval(LENS_DTYPE_FLOAT32, 1, bd, b)};
  double worst = INFINITY;
  lens_value ref[1];
  lens_status *st = trun(&t, in, ref, 1, NULL);
  CHECK_MSG(st == NULL, "reference: %s", st ? lens_status_message(st) : "");
  if (!st) {
    int64_t n = lens_value_elements(&ref[0]);
    lens_epilogue_apply(ep, ref[0].data, 0, (size_t)n);
    lens_fused_dw dw = {.node = &t.node, .n_in = 3, .ep = *ep};
    memcpy(dw.in, in, sizeof in);
    dw.in[0].data = NULL;
    int threads = ctx ? lens_exec_threads(ctx) : 1;
    size_t bytes = lens_cpu_dw_band_scratch(&dw, threads);
    CHECK_MSG(bytes > 0, "bands declined %lld channels of %lldx%lld", (long long)dc->c,
              (long long)dc->h, (long long)dc->w);
    float *y = malloc(tval_bytes(&ref[0]));
    memset(y, 0xff, tval_bytes(&ref[0])); /* NaN: every output must be written */
    void *scratch = bytes ? aligned_alloc(64, bytes) : NULL;
    whole_input src = {x, dc->c, dc->h, dc->w, threads == 1, 0};
    lens_exec_ctx local = {0};
    st = lens_cpu_dw_bands(ctx ? ctx : &local, &dw, y, copy_input_rows, &src, scratch, bytes);
    CHECK_MSG(st == NULL, "bands: %s", st ? lens_status_message(st) : "");
    if (!st && bytes) worst = max_rel_diff(y, ref[0].data, n);
    *rows_made = src.rows_made;
    lens_status_free(st);
    free(scratch);
    free(y);
  }
  lens_status_free(st);
  tfree_outputs(ref, 1);
  tnode_free(&t);
  free(x);
  free(w);
  free(b);
  return worst;
}

/* Every ISA level on one thread, each input row made once (the bands after the first keep
 * the rows they share); then 2 and 3 threads with equal and unequal speeds, whose runs of
 * bands make their own first rows. Activations applied in the plane functions' registers
 * (Relu, Clip) and after them (Sigmoid, HardSwish). */
static void test_depthwise_bands_from_a_source_match_reference(void) {
  static const size_t acts[] = {1, 2, 3, 7};
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < sizeof dw_band_cases / sizeof dw_band_cases[0]; i++) {
      const dw_band_case *dc = &dw_band_cases[i];
      int64_t rows = 0;
      double diff = dw_band_case_diff(dc, &epilogues[acts[i % 4]], NULL, &rows);
      CHECK_MSG(diff <= 2e-5, "band case %zu isa %s: %g", i, lens_cpu_isa_name(levels[li]),
                diff);
      CHECK_MSG(rows <= dc->h, "band case %zu: %lld input rows made for %lld", i,
                (long long)rows, (long long)dc->h);
    }
  }
  lens_cpu_force_isa(-1);
  for (int threads = 2; threads <= 3; threads++) {
    lens_threadpool *pool = NULL;
    CHECK_OK(lens_threadpool_create(threads, &pool));
    lens_exec_ctx ctx = {0};
    ctx.pool = pool;
    for (int unequal = 0; unequal <= 1; unequal++) {
      if (unequal) set_unequal_shares(pool);
      for (size_t i = 0; i < sizeof dw_band_cases / sizeof dw_band_cases[0]; i++) {
        int64_t rows = 0;
        double diff = dw_band_case_diff(&dw_band_cases[i], &epilogues[2], &ctx, &rows);
        CHECK_MSG(diff <= 2e-5, "band case %zu, %d threads%s: %g", i, threads,
                  unequal ? ", unequal" : "", diff);
      }
    }
    lens_threadpool_free(pool);
  }
}

LENS_TEST_MAIN(LENS_TEST(test_conv3x3_winograd_f4_small_planes_match_reference),
               LENS_TEST(test_conv3x3_winograd_f4_declines_tiny_planes),
               LENS_TEST(test_conv_im2col_few_input_channels_match_reference),
               LENS_TEST(test_conv_im2col_few_input_channels_threads_match_reference),
               LENS_TEST(test_conv_im2col_gathered_columns_match_reference),
               LENS_TEST(test_conv_im2col_gathered_columns_threads_match_reference),
               LENS_TEST(test_conv2d_depthwise_direct_bands_on_threads_match_reference),
               LENS_TEST(test_conv2d_depthwise_direct_small_planes_match_reference),
               LENS_TEST(test_conv_im2col_few_input_channels_runtime_weights),
               LENS_TEST(test_depthwise_bands_from_a_source_match_reference))
