/* Every fast CPU kernel against the plain definition, on awkward sizes, at every ISA level
 * the machine has (AVX-512, AVX2, baseline): lens_sgemm itself, conv2d_im2col_sgemm,
 * conv2d_depthwise_direct, gemm_sgemm and matmul_sgemm. */
#include <pthread.h>
#include <time.h>

#include "cpu/epilogue.h"
#include "cpu_kernel_check.h"

/* ---- lens_sgemm ------------------------------------------------------------------------- */

typedef struct gemm_case {
  int64_t m, n, k;
  bool ta, tb;
  float alpha, beta;
  int64_t pad; /* extra elements per row of A, B and C (leading dimension > width) */
} gemm_case;

/* Runs one case through lens_sgemm (or the prepacked form) and compares with a double
 * product; the bound scales with sum |a| |b| per output. */
static bool check_sgemm_case(const gemm_case *c, lens_exec_ctx *ctx, bool prepacked) {
  int64_t a_rows = c->ta ? c->k : c->m, a_cols = c->ta ? c->m : c->k;
  int64_t b_rows = c->tb ? c->n : c->k, b_cols = c->tb ? c->k : c->n;
  int64_t lda = a_cols + c->pad, ldb = b_cols + c->pad, ldc = c->n + c->pad;
  float *a = malloc(sizeof(float) * (size_t)(a_rows * lda + 1));
  float *b = malloc(sizeof(float) * (size_t)(b_rows * ldb + 1));
  float *cm = malloc(sizeof(float) * (size_t)(c->m * ldc + 1));
  float *c0 = malloc(sizeof(float) * (size_t)(c->m * ldc + 1));
  size_t ws_bytes = lens_sgemm_workspace_bytes(c->m, c->n, c->k);
  void *ws = aligned_alloc(64, (ws_bytes + 63) / 64 * 64 + 64);
  float *packed = malloc(sizeof(float) * (lens_sgemm_packed_a_floats(c->m, c->k) + 1));
  fill_random(a, a_rows * lda, (uint32_t)(c->m * 7 + c->k));
  fill_random(b, b_rows * ldb, (uint32_t)(c->n * 13 + c->k));
  fill_random(c0, c->m * ldc, 99);
  if (c->beta == 0.0f)
    for (int64_t i = 0; i < c->m * ldc; i++) c0[i] = NAN; /* beta 0 must not read C */
  memcpy(cm, c0, sizeof(float) * (size_t)(c->m * ldc));
  if (prepacked) {
    lens_sgemm_pack_a(c->ta, c->m, c->k, a, lda, packed);
    lens_sgemm_prepacked(ctx, c->tb, c->m, c->n, c->k, c->alpha, packed, b, ldb, c->beta, cm,
                         ldc, ws);
  } else {
    lens_sgemm(ctx, c->ta, c->tb, c->m, c->n, c->k, c->alpha, a, lda, b, ldb, c->beta, cm, ldc,
               ws);
  }
  bool ok = true;
  for (int64_t i = 0; i < c->m && ok; i++) {
    for (int64_t j = 0; j < c->n && ok; j++) {
      double acc = 0.0, mag = 0.0;
      for (int64_t p = 0; p < c->k; p++) {
        double x = c->ta ? a[p * lda + i] : a[i * lda + p];
        double y = c->tb ? b[j * ldb + p] : b[p * ldb + j];
        acc += x * y;
        mag += fabs(x * y);
      }
      double expect = c->alpha * acc;
      if (c->beta != 0.0f) expect += (double)c->beta * c0[i * ldc + j];
      double got = cm[i * ldc + j];
      double tol = 1e-5 * (fabs(c->alpha) * mag + fabs(c->beta) + 1.0);
      if (!(fabs(got - expect) <= tol)) {
        fprintf(stderr,
                "  sgemm %s m=%lld n=%lld k=%lld ta=%d tb=%d alpha=%g beta=%g pad=%lld isa=%s: "
                "C[%lld,%lld] = %g, expected %g\n",
                prepacked ? "prepacked" : "plain", (long long)c->m, (long long)c->n,
                (long long)c->k, c->ta, c->tb, c->alpha, c->beta, (long long)c->pad,
                lens_cpu_isa_name(lens_cpu_isa()), (long long)i, (long long)j, got, expect);
        ok = false;
      }
    }
  }
  /* The padding columns of C are never written. */
  for (int64_t i = 0; i < c->m && ok; i++)
    for (int64_t j = c->n; j < ldc; j++)
      if (memcmp(&cm[i * ldc + j], &c0[i * ldc + j], sizeof(float)) != 0) ok = false;
  free(a);
  free(b);
  free(cm);
  free(c0);
  free(ws);
  free(packed);
  return ok;
}

static void test_sgemm_matches_naive_on_awkward_sizes(void) {
  static const int64_t sizes[] = {1, 3, 7, 17, 31, 65};
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    CHECK(lens_cpu_isa() == levels[li]);
    int failures = 0;
    for (size_t mi = 0; mi < 6; mi++)
      for (size_t ni = 0; ni < 6; ni++)
        for (size_t ki = 0; ki < 6; ki++) {
          int variant = (int)(mi + ni + ki);
          gemm_case c = {sizes[mi], sizes[ni], sizes[ki], variant % 2 == 1, variant % 4 >= 2,
                         variant % 3 == 0 ? 1.0f : -0.75f, variant % 5 == 0 ? 0.0f : 0.5f,
                         variant % 3};
          if (!check_sgemm_case(&c, NULL, false)) failures++;
          if (failures > 3) break;
        }
    CHECK_MSG(failures == 0, "%d failing sgemm cases at %s", failures,
              lens_cpu_isa_name(levels[li]));
  }
  lens_cpu_force_isa(-1);
}

/* Sizes past each blocking boundary: K past KC (512), N past NC (3072), M past MB (1536),
 * and N across the micro-kernels' widths. */
static void test_sgemm_crosses_cache_blocks_all_transposes(void) {
  static const gemm_case cases[] = {
      {67, 45, 600, false, false, 1.0f, 0.0f, 0}, {67, 45, 600, true, true, 2.0f, 1.0f, 1},
      {5, 3100, 9, false, true, 1.0f, 0.0f, 3},   {1601, 7, 5, true, false, 1.0f, -1.0f, 0},
      {13, 300, 513, false, false, 0.5f, 2.0f, 2}, {64, 64, 256, true, false, 1.0f, 0.0f, 0},
      /* B read in place, past NC and KC, padded rows, a partial last panel */
      {7, 3100, 600, false, false, 1.0f, 0.5f, 1}, {64, 256, 40, false, false, 1.0f, 0.0f, 0},
      /* B's rows 1 KiB apart and deeper than 64: packed, rows of C many or few */
      {100, 256, 100, false, false, 1.0f, 0.5f, 0}, {9, 512, 700, false, false, 1.0f, 0.0f, 0},
      /* whole 48-wide AVX-512 panels, one then a 32-wide, one then a 1-wide */
      {16, 96, 33, false, false, 1.0f, 0.0f, 0},  {17, 80, 70, false, true, 1.0f, 0.5f, 1},
      {24, 49, 300, true, false, -1.0f, 0.0f, 2},
  };
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      CHECK(check_sgemm_case(&cases[i], NULL, false));
      CHECK(check_sgemm_case(&cases[i], NULL, true));
    }
  }
  lens_cpu_force_isa(-1);
}

static void test_sgemm_threads_and_zero_sizes(void) {
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(3, &pool));
  lens_exec_ctx ctx = {0};
  ctx.pool = pool;
  static const gemm_case cases[] = {
      {203, 301, 97, false, false, 1.0f, 0.0f, 0},
      {97, 1000, 300, false, true, 1.0f, 0.5f, 1},
      {8, 4000, 33, true, false, -1.0f, 0.0f, 0},
      {8, 9000, 40, false, false, 1.0f, 0.0f, 0}, /* threads with B read in place */
      {20, 12000, 300, true, false, 1.0f, 0.0f, 2},
      {517, 49, 300, false, false, 1.0f, 0.0f, 1}, /* few columns: split by rows */
      {203, 96, 70, false, true, 1.0f, 0.5f, 0},
      {48, 383, 65, false, false, 1.0f, 0.0f, 1}, /* under 128 columns a thread: rows */
      {40, 383, 65, false, true, 1.0f, 0.0f, 0},  /* too few row panels for that */
      /* split by rows, last panels packed only as wide as their kernel: a 7-column tail
       * and a 10-column one (B's rows 1 KiB apart, so not read in place), a transposed
       * 5-column tail */
      {200, 247, 300, false, false, 1.0f, 0.0f, 9},
      {200, 250, 100, false, false, 1.0f, 0.5f, 6},
      {150, 101, 80, false, true, 1.0f, 0.0f, 0},
      /* split by rows, 56 a thread, B read in place; and past a K block, with a tail */
      {150, 200, 90, false, false, 1.0f, 0.0f, 3},
      {150, 196, 530, false, false, 1.0f, 0.0f, 1},
  };
  for (int unequal = 0; unequal <= 1; unequal++) {
    if (unequal) set_unequal_shares(pool); /* the split products' parts of other sizes */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      CHECK(check_sgemm_case(&cases[i], &ctx, false));
      CHECK(check_sgemm_case(&cases[i], &ctx, true));
    }
  }
  lens_threadpool_free(pool);

  /* k = 0 scales C by beta; m or n = 0 touches nothing. */
  float c[4] = {1, 2, 3, 4};
  lens_sgemm(NULL, false, false, 2, 2, 0, 1.0f, NULL, 1, NULL, 1, 0.5f, c, 2, NULL);
  CHECK(c[0] == 0.5f && c[3] == 2.0f);
  lens_sgemm(NULL, false, false, 2, 2, 0, 1.0f, NULL, 1, NULL, 1, 0.0f, c, 2, NULL);
  CHECK(c[0] == 0.0f && c[3] == 0.0f);
  c[0] = 7.0f;
  lens_sgemm(NULL, false, false, 0, 2, 3, 1.0f, NULL, 1, NULL, 1, 0.0f, c, 2, NULL);
  CHECK(c[0] == 7.0f);
  CHECK(lens_sgemm_workspace_bytes(0, 5, 5) == 0);
}

/* lens_sgemm_prepacked_gather: B handed over a panel at a time by a callback, which here
 * reads a dense matrix and checks each request lies inside it. */
typedef struct dense_panels {
  const float *b;
  int64_t n, k;
  _Atomic int bad_requests;
} dense_panels;

static void gather_dense(const void *arg, int64_t j0, int64_t cols, int64_t p0, int64_t kc,
                         int64_t ld, float *dst) {
  dense_panels *d = (dense_panels *)arg;
  if (j0 < 0 || cols < 1 || j0 + cols > d->n || p0 < 0 || kc < 1 || p0 + kc > d->k || ld < cols)
    d->bad_requests++;
  for (int64_t p = 0; p < kc; p++)
    for (int64_t j = 0; j < ld; j++)
      dst[p * ld + j] = j < cols && j0 + j < d->n && p0 + p < d->k ? d->b[(p0 + p) * d->n + j0 + j]
                                                                  : 0.0f;
}

static bool check_gathered_case(int64_t m, int64_t n, int64_t k, bool bias_relu,
                                lens_exec_ctx *ctx) {
  float *a = malloc(sizeof(float) * (size_t)(m * k));
  float *b = malloc(sizeof(float) * (size_t)(k * n));
  float *bias = malloc(sizeof(float) * (size_t)m);
  float *c = malloc(sizeof(float) * (size_t)(m * n));
  float *packed = malloc(sizeof(float) * lens_sgemm_packed_a_floats(m, k));
  fill_random(a, m * k, (uint32_t)(m * 5 + k));
  fill_random(b, k * n, (uint32_t)(n * 11 + k));
  fill_random(bias, m, 3);
  for (int64_t i = 0; i < m * n; i++) c[i] = NAN; /* written, never read */
  lens_sgemm_pack_a(false, m, k, a, k, packed);
  lens_epilogue relu = {NULL, LENS_ACT_RELU, 0.0f, 0.0f, NULL, NULL};
  lens_sgemm_epilogue epi = {bias, NULL, &relu};
  dense_panels d = {b, n, k, 0};
  lens_sgemm_prepacked_gather(ctx, m, n, k, packed, gather_dense, &d, c, n,
                              bias_relu ? &epi : NULL);
  bool ok = d.bad_requests == 0;
  for (int64_t i = 0; i < m && ok; i++)
    for (int64_t j = 0; j < n && ok; j++) {
      double acc = bias_relu ? bias[i] : 0.0, mag = fabs(acc);
      for (int64_t p = 0; p < k; p++) {
        acc += (double)a[i * k + p] * b[p * n + j];
        mag += fabs((double)a[i * k + p] * b[p * n + j]);
      }
      if (bias_relu && acc < 0.0) acc = 0.0;
      if (!(fabs(c[i * n + j] - acc) <= 1e-5 * (mag + 1.0))) {
        fprintf(stderr, "  gathered m=%lld n=%lld k=%lld isa=%s: C[%lld,%lld] = %g, expected %g\n",
                (long long)m, (long long)n, (long long)k, lens_cpu_isa_name(lens_cpu_isa()),
                (long long)i, (long long)j, c[i * n + j], acc);
        ok = false;
      }
    }
  free(a);
  free(b);
  free(bias);
  free(c);
  free(packed);
  return ok;
}

/* Both splits (columns; rows when the columns are few), K past one block, 1-wide and
 * part-width panels, on 1 to 3 threads at every ISA level. */
static void test_sgemm_prepacked_gather_matches_naive(void) {
  static const int64_t cases[][3] = {{1, 1, 1},    {9, 17, 7},    {67, 49, 300}, {8, 97, 33},
                                     {203, 300, 70}, {64, 1, 257}, {33, 383, 65}, {517, 49, 40}};
  int levels[3], n_levels = isa_levels(levels);
  for (int threads = 1; threads <= 3; threads++) {
    lens_threadpool *pool = NULL;
    if (threads > 1) CHECK_OK(lens_threadpool_create(threads, &pool));
    lens_exec_ctx ctx = {0};
    ctx.pool = pool;
    for (int li = 0; li < n_levels; li++) {
      lens_cpu_force_isa(levels[li]);
      for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int e = 0; e < 2; e++)
          CHECK_MSG(check_gathered_case(cases[i][0], cases[i][1], cases[i][2], e == 1, &ctx),
                    "case %zu, %d threads", i, threads);
    }
    lens_cpu_force_isa(-1);
    lens_threadpool_free(pool);
  }
}

/* The vector epilogue's Sigmoid against the operator's definition (expf): within a few ulp
 * over the whole range, 0 and 1 at the ends, NaN kept, for every tail length, with a bias
 * and a residual, at every ISA level. */
static void test_epilogue_sigmoid_matches_definition(void) {
  static const float special[] = {-INFINITY, -1000.0f, -104.0f, -88.0f, -87.3f, -87.0f,
                                  -20.0f,    -1e-7f,   -0.0f,   0.0f,   1e-7f,  0.5f,
                                  15.0f,     17.0f,    88.0f,   1000.0f, INFINITY, NAN};
  enum { N = 531 };
  float x[N], res[N], got[N], want[N];
  for (int i = 0; i < N; i++) {
    bool is_special = i < (int)(sizeof special / sizeof special[0]);
    x[i] = is_special ? special[i] : ((float)(i * 7919 % 2001) - 1000.0f) / 37.0f;
    res[i] = (float)(i % 5) * 0.25f - 0.5f;
  }
  lens_epilogue sig = {NULL, LENS_ACT_SIGMOID, 0, 0, NULL, NULL};
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    lens_cpu_epilogue_fn fn = lens_cpu_epilogue_select();
    for (int with_res = 0; with_res < 2; with_res++)
      for (size_t n = 1; n <= N; n += n < 40 ? 1 : 97) {
        float bias = with_res ? 0.125f : 0.0f;
        memcpy(got, x, sizeof(float) * n);
        fn(&sig, bias, got, with_res ? res : NULL, n);
        for (size_t i = 0; i < n; i++) want[i] = (x[i] + bias) + (with_res ? res[i] : 0.0f);
        lens_epilogue_apply(&sig, want, 0, n);
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
          bool ok = isnan(want[i]) ? isnan(got[i])
                                   : fabsf(got[i] - want[i]) <= 4e-7f * fabsf(want[i]) + 1e-37f;
          if (!ok && bad++ < 3)
            fprintf(stderr, "  sigmoid isa %s n %zu: x %g -> %.9g, expected %.9g\n",
                    lens_cpu_isa_name(levels[li]), n, (double)x[i], (double)got[i],
                    (double)want[i]);
        }
        CHECK(bad == 0);
      }
  }
  lens_cpu_force_isa(-1);
}

/* A run of one task per thread is static: task 0 on the caller, the others each on its own
 * worker, the same worker for the same task run after run (what keeps consecutive nodes'
 * data on the core that wrote it); more tasks than threads all run once, for counts that
 * do and do not divide among the threads. */
typedef struct task_record {
  pthread_t who[8];
  int count[64];
} task_record;

static void record_task(void *arg, int task) {
  task_record *r = arg;
  if (task < 8) r->who[task] = pthread_self();
  __atomic_add_fetch(&r->count[task], 1, __ATOMIC_RELAXED);
}

static void test_threadpool_runs_one_task_per_thread_statically(void) {
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(3, &pool));
  if (!pool) return;
  pthread_t first[3];
  for (int run = 0; run < 50; run++) {
    task_record r;
    memset(&r, 0, sizeof r);
    lens_threadpool_run(pool, 3, record_task, &r);
    CHECK(r.count[0] == 1 && r.count[1] == 1 && r.count[2] == 1);
    CHECK(pthread_equal(r.who[0], pthread_self()));
    CHECK(!pthread_equal(r.who[1], r.who[0]) && !pthread_equal(r.who[2], r.who[0]) &&
          !pthread_equal(r.who[1], r.who[2]));
    if (run == 0) memcpy(first, r.who, sizeof first);
    else CHECK(pthread_equal(first[1], r.who[1]) && pthread_equal(first[2], r.who[2]));
  }
  static const int counts[] = {4, 5, 7, 13, 61, 64};
  for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
    task_record many;
    memset(&many, 0, sizeof many);
    lens_threadpool_run(pool, counts[c], record_task, &many);
    int once = 0;
    for (int t = 0; t < 64; t++) once += many.count[t] == (t < counts[c]);
    CHECK(once == 64);
  }
  lens_threadpool_free(pool);
}

/* A thread that finishes its own range takes the rest of another's: here the caller's first
 * task waits until the other seven are done, and three of those are in the caller's range. */
typedef struct steal_record {
  int done;
  bool waited_out;
} steal_record;

static void wait_for_the_others(void *arg, int task) {
  steal_record *r = arg;
  if (task == 0) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t);
    while (__atomic_load_n(&r->done, __ATOMIC_ACQUIRE) < 7 &&
           (t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 5000000000L);
    r->waited_out = __atomic_load_n(&r->done, __ATOMIC_ACQUIRE) < 7;
    return;
  }
  __atomic_add_fetch(&r->done, 1, __ATOMIC_RELEASE);
}

/* Equal parts are units * part / parts units from the start, as every static split was
 * before shares; unequal ones follow the shares, and either way the parts tile [0, n). */
static void test_split_ranges_tile_the_work(void) {
  static const int64_t sizes[] = {0, 1, 5, 48, 49, 196, 1000, 3136};
  static const int64_t units[] = {1, 16};
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
    for (size_t ui = 0; ui < 2; ui++)
      for (int parts = 1; parts <= 5; parts++)
        for (int weighted = 0; weighted <= 1; weighted++) {
          int64_t n = sizes[si], unit = units[ui], whole = (n + unit - 1) / unit, end = 0;
          lens_split s = {parts, weighted, {0}};
          for (int t = 1; t < parts; t++) /* growing shares */
            s.at[t] = (uint16_t)(LENS_SPLIT_ONE * t * t / (parts * parts));
          s.at[parts] = LENS_SPLIT_ONE;
          for (int t = 0; t < parts; t++) {
            int64_t b, e;
            lens_split_range(&s, n, unit, t, &b, &e);
            CHECK_MSG(b == end && e >= b && e <= n && (b % unit == 0 || b == n),
                      "n %lld unit %lld part %d of %d: [%lld, %lld) after %lld", (long long)n,
                      (long long)unit, t, parts, (long long)b, (long long)e, (long long)end);
            if (!weighted) {
              int64_t even = whole * t / parts * unit;
              CHECK(b == (even < n ? even : n));
            } else if (n >= 1000) {
              /* within a unit (and rounding) of the share */
              double share = (double)(s.at[t + 1] - s.at[t]) / LENS_SPLIT_ONE;
              CHECK(fabs((double)(e - b) - share * (double)n) <= 2.0 * (double)unit);
            }
            end = e;
          }
          CHECK(end == n);
        }
}

typedef struct plane_visits {
  size_t n, plane[64];
  int part[64];
} plane_visits;

static void record_plane_visit(void *arg, size_t plane, int part) {
  plane_visits *v = arg;
  if (v->n < 64) {
    v->plane[v->n] = plane;
    v->part[v->n] = part;
  }
  v->n++;
}

/* lens_plane_parts_next names the plane each part takes next in lens_parallel_plane_parts
 * (on one thread the calls come in the order of the parts' own sequences), and -1 after
 * its last; every plane of every part is visited once. */
static void test_plane_parts_next_follows_the_traversal(void) {
  static const size_t plane_counts[] = {1, 2, 7};
  for (size_t pi = 0; pi < 3; pi++)
    for (int parts = 1; parts <= 3; parts++) {
      size_t planes = plane_counts[pi];
      plane_visits v = {0};
      lens_parallel_plane_parts(NULL, planes, parts, record_plane_visit, &v);
      CHECK(v.n == planes * (size_t)parts);
      int seen[3][7] = {{0}};
      for (size_t i = 0; i < v.n && i < 64; i++) {
        CHECK(v.part[i] >= 0 && v.part[i] < parts && v.plane[i] < planes);
        seen[v.part[i]][v.plane[i]]++;
        bool last_of_part = i + 1 == v.n || v.part[i + 1] != v.part[i];
        int64_t next = lens_plane_parts_next(planes, v.plane[i], v.part[i]);
        CHECK_MSG(last_of_part ? next == -1 : next == (int64_t)v.plane[i + 1],
                  "%zu planes, %d parts: after plane %zu of part %d comes %lld", planes, parts,
                  v.plane[i], v.part[i], (long long)next);
      }
      for (int t = 0; t < parts; t++)
        for (size_t q = 0; q < planes; q++) CHECK(seen[t][q] == 1);
    }
}

/* A pool learns its threads' speeds from the static regions of each run (thread 1 twice as
 * fast: thread 0 then takes a third), keeps its shares through noise of a few percent, and
 * goes back to equal parts when the speeds even out. Splits of other part counts, and
 * regions too short to time, are left alone. */
static void test_split_shares_follow_the_threads_speeds(void) {
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(2, &pool));
  lens_exec_ctx ctx = {0};
  ctx.pool = pool;
  lens_split s;
  lens_exec_split(&ctx, 2, &s);
  CHECK(s.parts == 2 && !s.weighted);
  double work[2] = {1.0, 1.0}, slow[2] = {2e-3, 1e-3}, even[2] = {1e-3, 1e-3};
  double noisy[2] = {1.03e-3, 1e-3}, short_run[2] = {2e-6, 1e-6};
  for (int run = 0; run < 30; run++) {
    lens_exec_split(&ctx, 2, &s);
    lens_exec_split_observe(&ctx, &s, work, slow);
    lens_exec_settle_shares(pool);
  }
  lens_exec_split(&ctx, 2, &s);
  CHECK(s.weighted);
  CHECK_MSG(abs((int)s.at[1] - LENS_SPLIT_ONE / 3) <= LENS_SPLIT_ONE / 64, "at[1] %d",
            (int)s.at[1]);
  int64_t b, e;
  lens_split_range(&s, 3000, 1, 0, &b, &e);
  CHECK(b == 0 && e > 950 && e < 1050);
  lens_split other;
  lens_exec_split(&ctx, 3, &other); /* not one part per thread */
  CHECK(!other.weighted);
  uint16_t learned = s.at[1];
  for (int run = 0; run < 30; run++) {
    lens_exec_split_observe(&ctx, &s, work, short_run);
    lens_exec_settle_shares(pool);
  }
  lens_exec_split(&ctx, 2, &s);
  CHECK(s.weighted && s.at[1] == learned);
  /* speeds even: the shares go back to equal parts, which then hold through 3% noise */
  for (int run = 0; run < 40; run++) {
    lens_exec_split(&ctx, 2, &s);
    lens_split_range(&s, 1000, 1, 0, &b, &e);
    double part_work[2] = {(double)e, 1000.0 - (double)e};
    double seconds[2] = {(double)e * 1e-6, (1000.0 - (double)e) * 1e-6};
    lens_exec_split_observe(&ctx, &s, part_work, seconds);
    lens_exec_settle_shares(pool);
  }
  lens_exec_split(&ctx, 2, &s);
  CHECK(!s.weighted);
  for (int run = 0; run < 40; run++) {
    lens_exec_split_observe(&ctx, &s, work, run % 2 ? noisy : even);
    lens_exec_settle_shares(pool);
    lens_exec_split(&ctx, 2, &s);
    CHECK(!s.weighted);
  }
  lens_threadpool_free(pool);
}

static void test_threadpool_takes_over_a_busy_threads_tasks(void) {
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(2, &pool));
  if (!pool) return;
  steal_record r = {0, false};
  lens_threadpool_run(pool, 8, wait_for_the_others, &r);
  CHECK(!r.waited_out && r.done == 7);
  lens_threadpool_free(pool);
}

static void test_cpu_force_isa_caps_and_restores(void) {
  lens_cpu_force_isa(-1);
  int best = lens_cpu_isa();
  CHECK(best >= LENS_CPU_ISA_BASELINE && best <= LENS_CPU_ISA_AVX512);
  lens_cpu_force_isa(LENS_CPU_ISA_BASELINE);
  CHECK(lens_cpu_isa() == LENS_CPU_ISA_BASELINE);
  lens_cpu_force_isa(LENS_CPU_ISA_AVX512);
  CHECK(lens_cpu_isa() == best); /* a cap above the CPU's level does not raise it */
  lens_cpu_force_isa(-1);
  CHECK(lens_cpu_isa() == best);
  CHECK(strcmp(lens_cpu_isa_name(LENS_CPU_ISA_AVX2), "avx2") == 0);
}

/* ---- kernels against their operators ---------------------------------------------------- */

static const conv_case conv_cases[] = {
    {1, 3, 7, 9, 5, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},          /* plain 3x3 pad 1 */
    {2, 4, 5, 5, 6, 1, 1, 1, 1, 1, {0, 0, 0, 0}, true, NULL},          /* 1x1 direct */
    {1, 17, 3, 1, 31, 1, 1, 1, 2, 1, {0, 0, 0, 0}, false, NULL},       /* 1x1, dilation moot */
    {1, 8, 11, 13, 8, 3, 3, 2, 1, 8, {1, 1, 1, 1}, true, NULL},        /* depthwise stride 2 */
    {1, 6, 9, 10, 4, 3, 2, 1, 2, 2, {2, 1, 0, 3}, true, NULL},         /* groups, dilation 2 */
    {1, 3, 17, 15, 7, 5, 5, 2, 1, 1, {0, 0, 0, 0}, false, "SAME_UPPER"},
    {1, 2, 8, 8, 3, 4, 4, 3, 1, 1, {0, 0, 0, 0}, true, "SAME_LOWER"},
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, {0, 0, 0, 0}, false, NULL},         /* all ones */
    {1, 5, 6, 7, 65, 2, 3, 1, 1, 1, {0, 1, 1, 0}, true, NULL},         /* M past a panel */
    {1, 16, 9, 9, 16, 3, 3, 1, 1, 4, {1, 1, 1, 1}, true, "NOTSET"},    /* groups of 4 */
    {1, 4, 12, 12, 2, 1, 1, 2, 1, 1, {0, 0, 0, 0}, true, "VALID"},     /* 1x1 stride 2 */
    {1, 3, 5, 5, 2, 3, 3, 1, 1, 1, {2, 2, 2, 2}, false, NULL},         /* pads beyond kernel */
};

static void run_conv_case_on(const char *kernel, const conv_case *cc, bool const_weights,
                             lens_exec_ctx *ctx) {
  double diff = run_conv(kernel, cc, NULL, false, const_weights, ctx);
  CHECK_MSG(diff <= 2e-5,
            "%s n=%lld c=%lld %lldx%lld m=%lld k=%lldx%lld s=%lld d=%lld g=%lld isa=%s "
            "const=%d: diff %g",
            kernel, (long long)cc->n, (long long)cc->c, (long long)cc->h, (long long)cc->w,
            (long long)cc->m, (long long)cc->kh, (long long)cc->kw, (long long)cc->stride,
            (long long)cc->dilation, (long long)cc->group, lens_cpu_isa_name(lens_cpu_isa()),
            const_weights, diff);
}

static void run_conv_case(const conv_case *cc, bool const_weights, lens_exec_ctx *ctx) {
  run_conv_case_on("conv2d_im2col_sgemm", cc, const_weights, ctx);
}

static void test_conv2d_im2col_sgemm_matches_reference(void) {
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
      run_conv_case(&conv_cases[i], true, NULL);
      run_conv_case(&conv_cases[i], false, NULL);
    }
  }
  lens_cpu_force_isa(-1);
}

/* On 3 threads: planes past their budget (8 MiB: 64 channels of 102 x 332 padded), whose
 * columns are gathered from the input itself, strided and not; a 1x1 stride-1 product;
 * a depthwise convolution as 32 groups. */
static void test_conv2d_im2col_sgemm_threads_and_large_planes(void) {
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(3, &pool));
  lens_exec_ctx ctx = {0};
  ctx.pool = pool;
  static const conv_case big[] = {
      {1, 64, 100, 330, 8, 3, 3, 1, 1, 1, {1, 1, 1, 1}, true, NULL},
      {1, 64, 199, 331, 6, 3, 3, 2, 1, 1, {1, 0, 1, 2}, true, NULL},
      {2, 32, 33, 35, 48, 1, 1, 1, 1, 1, {0, 0, 0, 0}, true, NULL},
      {1, 32, 20, 20, 32, 3, 3, 2, 1, 32, {1, 1, 1, 1}, true, NULL},
  };
  for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) run_conv_case(&big[i], true, &ctx);
  lens_threadpool_free(pool);
}

static void test_conv2d_im2col_sgemm_declines_what_it_cannot_run(void) {
  const lens_kernel *k = find_kernel("conv2d_im2col_sgemm");
  CHECK(k != NULL);
  if (!k) return;
  float x[64] = {0}, w[64] = {0};
  int64_t xd[5] = {1, 1, 2, 2, 2}, wd[5] = {1, 1, 1, 1, 1};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 5, xd, x), tval(LENS_DTYPE_FLOAT32, 5, wd, w),
                      tnone()};
  lens_value out[1] = {tval(LENS_DTYPE_FLOAT32, 5, xd, NULL)};
  tnode t;
  tnode_init(&t, "Conv", 11, 2, 1);
  CHECK_OK(t.node.def->prepare(&t.node));
  CHECK(!k->supports(&t.node, in, out)); /* 3-D */
  in[0] = tval(LENS_DTYPE_FLOAT16, 4, xd, x);
  in[1] = tval(LENS_DTYPE_FLOAT16, 4, wd, w);
  CHECK(!k->supports(&t.node, in, out)); /* float16 */
  tnode_free(&t);
  tnode_init(&t, "MaxPool", 11, 1, 1);
  CHECK(!k->supports(&t.node, in, out)); /* another op */
}

static const conv_case depthwise_cases[] = {
    {1, 8, 11, 13, 8, 3, 3, 2, 1, 8, {1, 1, 1, 1}, true, NULL},
    {2, 5, 7, 6, 5, 3, 3, 1, 1, 5, {1, 1, 1, 1}, false, NULL},
    {1, 4, 9, 17, 8, 3, 3, 1, 2, 4, {2, 0, 1, 3}, true, NULL},       /* multiplier 2, dilated */
    {1, 3, 31, 33, 3, 5, 5, 2, 1, 3, {0, 0, 0, 0}, true, "SAME_UPPER"},
    {1, 3, 4, 4, 3, 5, 5, 1, 1, 3, {2, 2, 2, 2}, true, NULL},         /* kernel wider than X */
    {1, 2, 1, 65, 2, 1, 7, 3, 1, 2, {0, 3, 0, 3}, false, NULL},
    {1, 2, 6, 6, 2, 3, 3, 1, 1, 2, {3, 3, 3, 3}, true, NULL},         /* pads past the kernel */
};

static void test_conv2d_depthwise_direct_matches_reference(void) {
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < sizeof depthwise_cases / sizeof depthwise_cases[0]; i++)
      run_conv_case_on("conv2d_depthwise_direct", &depthwise_cases[i], true, NULL);
  }
  lens_cpu_force_isa(-1);
  lens_threadpool *pool = NULL;
  CHECK_OK(lens_threadpool_create(3, &pool));
  lens_exec_ctx ctx = {0};
  ctx.pool = pool;
  static const conv_case big = {2, 32, 20, 20, 32, 3, 3, 2, 1, 32, {1, 1, 1, 1}, true, NULL};
  run_conv_case_on("conv2d_depthwise_direct", &big, true, &ctx);
  lens_threadpool_free(pool);
  /* Not depthwise: two channels per group. */
  const lens_kernel *k = find_kernel("conv2d_depthwise_direct");
  float x[16] = {0}, w[8] = {0};
  int64_t xd[4] = {1, 4, 2, 2}, wd[4] = {2, 2, 1, 1};
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 4, wd, w),
                      tnone()};
  lens_value out[1] = {tval(LENS_DTYPE_FLOAT32, 4, xd, NULL)};
  tnode t;
  tnode_init(&t, "Conv", 11, 2, 1);
  tnode_int(&t, "group", 2);
  CHECK_OK(t.node.def->prepare(&t.node));
  if (k) CHECK(!k->supports(&t.node, in, out));
  tnode_free(&t);
}

static void test_gemm_sgemm_matches_reference(void) {
  /* single rows (the GEMV): column counts around its blocks of 4, depths with tails */
  static const int64_t dims[][3] = {{1, 1, 1},  {3, 7, 17},  {31, 1, 65}, {17, 65, 3},
                                    {2, 300, 31}, {1, 7, 17}, {1, 13, 33}, {1, 4, 16},
                                    {1, 67, 1031}};
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
      for (int variant = 0; variant < 8; variant++) {
        int64_t m = dims[di][0], n = dims[di][1], k = dims[di][2];
        bool ta = variant & 1, tb = (variant >> 1) & 1;
        int c_kind = variant % 4; /* none, [N], [M,1], [M,N] */
        float *a = malloc(sizeof(float) * (size_t)(m * k));
        float *b = malloc(sizeof(float) * (size_t)(k * n));
        float *c = malloc(sizeof(float) * (size_t)(m * n));
        fill_random(a, m * k, 5);
        fill_random(b, k * n, 6);
        fill_random(c, m * n, 7);
        int64_t ad[2] = {ta ? k : m, ta ? m : k}, bd[2] = {tb ? n : k, tb ? k : n};
        int64_t cd_n[1] = {n}, cd_m1[2] = {m, 1}, cd_mn[2] = {m, n};
        tnode t;
        tnode_init(&t, "Gemm", 13, c_kind ? 3 : 2, 1);
        tnode_int(&t, "transA", ta);
        tnode_int(&t, "transB", tb);
        tnode_float(&t, "alpha", variant >= 4 ? 0.5f : 1.0f);
        tnode_float(&t, "beta", variant >= 4 ? 2.0f : 1.0f);
        lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 2, ad, a), tval(LENS_DTYPE_FLOAT32, 2, bd, b),
                            tnone()};
        if (c_kind == 1) in[2] = tval(LENS_DTYPE_FLOAT32, 1, cd_n, c);
        if (c_kind == 2) in[2] = tval(LENS_DTYPE_FLOAT32, 2, cd_m1, c);
        if (c_kind == 3) in[2] = tval(LENS_DTYPE_FLOAT32, 2, cd_mn, c);
        double diff = check_kernel("gemm_sgemm", &t, in, c_kind ? 3 : 2, true, NULL, false, NULL);
        CHECK_MSG(diff <= 2e-5, "gemm %lldx%lldx%lld variant %d isa %s: diff %g", (long long)m,
                  (long long)n, (long long)k, variant, lens_cpu_isa_name(levels[li]), diff);
        tnode_free(&t);
        free(a);
        free(b);
        free(c);
      }
    }
  }
  lens_cpu_force_isa(-1);
}

typedef struct matmul_case {
  int ra, rb;
  int64_t a[4], b[4];
} matmul_case;

static void test_matmul_sgemm_matches_reference(void) {
  static const matmul_case cases[] = {
      {2, 2, {7, 17}, {17, 3}},
      {1, 2, {31}, {31, 5}},
      {2, 1, {5, 31}, {31}},
      {1, 1, {65}, {65}},
      {3, 2, {3, 17, 7}, {7, 65}},           /* folds the batch into M */
      {4, 3, {2, 1, 5, 3}, {3, 3, 7}},       /* both sides broadcast */
      {2, 3, {5, 9}, {4, 9, 2}},             /* A shared by the batch */
      {4, 4, {1, 3, 1, 1}, {2, 1, 1, 1}},
  };
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      const matmul_case *mc = &cases[i];
      int64_t na = 1, nb = 1;
      for (int d = 0; d < mc->ra; d++) na *= mc->a[d];
      for (int d = 0; d < mc->rb; d++) nb *= mc->b[d];
      float *a = malloc(sizeof(float) * (size_t)na), *b = malloc(sizeof(float) * (size_t)nb);
      fill_random(a, na, 11);
      fill_random(b, nb, 12);
      tnode t;
      tnode_init(&t, "MatMul", 13, 2, 1);
      lens_value in[2] = {tval(LENS_DTYPE_FLOAT32, mc->ra, mc->a, a),
                          tval(LENS_DTYPE_FLOAT32, mc->rb, mc->b, b)};
      double diff = check_kernel("matmul_sgemm", &t, in, 2, false, NULL, false, NULL);
      CHECK_MSG(diff <= 2e-5, "matmul case %zu isa %s: diff %g", i,
                lens_cpu_isa_name(levels[li]), diff);
      tnode_free(&t);
      free(a);
      free(b);
    }
  }
  lens_cpu_force_isa(-1);
}

static void test_registry_lists_the_sgemm_kernels(void) {
  static const char *const names[] = {"conv2d_depthwise_direct", "conv2d_im2col_sgemm",
                                      "gemm_sgemm", "matmul_sgemm"};
  static const char *const ops[] = {"Conv", "Conv", "Gemm", "MatMul"};
  for (int i = 0; i < 4; i++) {
    const lens_kernel *k = find_kernel(names[i]);
    CHECK_MSG(k != NULL, "%s is not registered", names[i]);
    if (!k) continue;
    CHECK(strcmp(k->op_type, ops[i]) == 0);
    CHECK(strcmp(k->precision, "fp32") == 0);
    CHECK(k->supports && k->compute);
  }
  /* Integer MatMul stays on the reference kernel. */
  int64_t d[2] = {2, 2};
  lens_value in[2] = {tval(LENS_DTYPE_INT64, 2, d, NULL), tval(LENS_DTYPE_INT64, 2, d, NULL)};
  lens_value out[1] = {tval(LENS_DTYPE_INT64, 2, d, NULL)};
  tnode t;
  tnode_init(&t, "MatMul", 13, 2, 1);
  const lens_kernel *mm = find_kernel("matmul_sgemm");
  if (mm) CHECK(!mm->supports(&t.node, in, out));
}

LENS_TEST_MAIN(LENS_TEST(test_cpu_force_isa_caps_and_restores),
               LENS_TEST(test_sgemm_prepacked_gather_matches_naive),
               LENS_TEST(test_split_ranges_tile_the_work),
               LENS_TEST(test_split_shares_follow_the_threads_speeds),
               LENS_TEST(test_plane_parts_next_follows_the_traversal),
               LENS_TEST(test_sgemm_matches_naive_on_awkward_sizes),
               LENS_TEST(test_sgemm_crosses_cache_blocks_all_transposes),
               LENS_TEST(test_sgemm_threads_and_zero_sizes),
               LENS_TEST(test_threadpool_runs_one_task_per_thread_statically),
               LENS_TEST(test_threadpool_takes_over_a_busy_threads_tasks),
               LENS_TEST(test_epilogue_sigmoid_matches_definition),
               LENS_TEST(test_conv2d_im2col_sgemm_matches_reference),
               LENS_TEST(test_conv2d_im2col_sgemm_threads_and_large_planes),
               LENS_TEST(test_conv2d_im2col_sgemm_declines_what_it_cannot_run),
               LENS_TEST(test_conv2d_depthwise_direct_matches_reference),
               LENS_TEST(test_gemm_sgemm_matches_reference),
               LENS_TEST(test_matmul_sgemm_matches_reference),
               LENS_TEST(test_registry_lists_the_sgemm_kernels))
