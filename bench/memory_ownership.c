/* Benchmark (not a test): how the way two threads share out the memory of a layer chain
 * changes its speed on this machine, with no arithmetic to hide it. It models an inverted-
 * residual block as three memory phases over NCHW tensors X (24 planes), A and B (144 planes):
 * expand (read X, write A), depthwise (read A with one row of halo, write B), project (read
 * B, write X), each phase ended by a barrier, all at AVX-512 loads and stores.
 *
 *   positions: every thread takes the same contiguous share of positions of every plane
 *              in every phase (the GEMM column split), so the threads' pieces interleave
 *              once per plane;
 *   channels:  every thread takes a contiguous share of the planes (one boundary), and the
 *              expand and project phases read all of their input planes, half of them
 *              written by the other thread.
 *
 * The plane size is varied with the total kept (3.9 MB touched per run). Per phase it prints
 * the time of one thread doing all of it and of each thread doing its share.
 *
 * usage: memory_ownership [THREADS [RUNS]]    (default 2 threads, 2000 runs) */
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 16

typedef struct shape {
  int64_t hw, c_mid, c_in; /* positions per plane, planes of A and B, planes of X */
} shape;

typedef struct run {
  shape s;
  bool by_channels;
  int threads, runs;
  float *x, *a, *b;
  atomic_int arrived;
  double phase_us[MAX_THREADS][3];
} run;

typedef struct worker {
  run *r;
  int t;
} worker;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static void barrier(run *r, int *generation) {
  (*generation)++;
  atomic_fetch_add(&r->arrived, 1);
  while (atomic_load(&r->arrived) < *generation * r->threads) _mm_pause();
}

/* [*lo, *hi) of n in 16-float units for thread t of threads. */
static void share(int64_t n, int t, int threads, int64_t *lo, int64_t *hi) {
  int64_t units = n / 16;
  *lo = units * t / threads * 16;
  *hi = t == threads - 1 ? n : units * (t + 1) / threads * 16;
}

__attribute__((target("avx512f"))) static void *work(void *arg) {
  const worker *w = arg;
  run *r = w->r;
  int t = w->t, generation = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(t, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  int64_t hw = r->s.hw, cm = r->s.c_mid, ci = r->s.c_in, p0, p1, c0, c1, x0, x1;
  share(hw, t, r->threads, &p0, &p1);
  c0 = cm * t / r->threads, c1 = cm * (t + 1) / r->threads;
  x0 = ci * t / r->threads, x1 = ci * (t + 1) / r->threads;
  if (!r->by_channels) c0 = 0, c1 = cm, x0 = 0, x1 = ci;
  else p0 = 0, p1 = hw;
  int64_t width = 56 < hw ? 56 : hw; /* one row of halo for the depthwise phase */
  __m512 acc = _mm512_setzero_ps();
  for (int k = 0; k < r->runs; k++) {
    barrier(r, &generation);
    double t0 = now_us();
    if (r->by_channels) /* a 1x1 convolution by output channels reads every input plane */
      for (int64_t p = 0; p < ci * hw; p += 16)
        acc = _mm512_add_ps(acc, _mm512_loadu_ps(r->x + p));
    for (int64_t c = c0; c < c1; c++) {
      const float *src = r->x + (c % ci) * hw;
      for (int64_t p = p0; p < p1; p += 16)
        _mm512_storeu_ps(r->a + c * hw + p, _mm512_add_ps(_mm512_loadu_ps(src + p), acc));
    }
    barrier(r, &generation);
    double t1 = now_us();
    for (int64_t c = c0; c < c1; c++) {
      int64_t h0 = p0 - width < 0 ? 0 : (p0 - width) / 16 * 16;
      int64_t h1 = p1 + width > hw ? hw : p1 + width;
      for (int64_t p = h0; p + 16 <= h1; p += 16)
        acc = _mm512_add_ps(acc, _mm512_loadu_ps(r->a + c * hw + p));
      for (int64_t p = p0; p < p1; p += 16) _mm512_storeu_ps(r->b + c * hw + p, acc);
    }
    barrier(r, &generation);
    double t2 = now_us();
    for (int64_t c = 0; c < cm; c++) /* every plane of B, this thread's positions */
      for (int64_t p = r->by_channels ? 0 : p0; p < (r->by_channels ? hw : p1); p += 16)
        acc = _mm512_add_ps(acc, _mm512_loadu_ps(r->b + c * hw + p));
    for (int64_t c = x0; c < x1; c++)
      for (int64_t p = p0; p < p1; p += 16)
        _mm512_storeu_ps(r->x + c * hw + p, _mm512_mul_ps(acc, _mm512_setzero_ps()));
    barrier(r, &generation);
    double t3 = now_us();
    if (k >= r->runs / 4) { /* after the warm-up */
      r->phase_us[t][0] += t1 - t0;
      r->phase_us[t][1] += t2 - t1;
      r->phase_us[t][2] += t3 - t2;
    }
  }
  volatile float sink = _mm512_reduce_add_ps(acc);
  (void)sink;
  return NULL;
}

static int measure(shape s, int threads, bool by_channels, int runs) {
  run *r = calloc(1, sizeof *r);
  if (!r) return 1;
  r->s = s, r->threads = threads, r->by_channels = by_channels, r->runs = runs;
  size_t mid = (size_t)(s.c_mid * s.hw) * sizeof(float), in = (size_t)(s.c_in * s.hw) * 4;
  r->a = aligned_alloc(64, mid), r->b = aligned_alloc(64, mid), r->x = aligned_alloc(64, in);
  if (!r->a || !r->b || !r->x) return 1;
  memset(r->a, 0, mid), memset(r->b, 0, mid), memset(r->x, 0, in);
  pthread_t ids[MAX_THREADS];
  worker ws[MAX_THREADS];
  for (int t = 0; t < threads; t++) {
    ws[t] = (worker){r, t};
    if (t > 0 && pthread_create(&ids[t], NULL, work, &ws[t]) != 0) return 1;
  }
  work(&ws[0]);
  for (int t = 1; t < threads; t++) pthread_join(ids[t], NULL);
  double n = runs - runs / 4, worst[3] = {0, 0, 0};
  for (int t = 0; t < threads; t++)
    for (int p = 0; p < 3; p++)
      if (r->phase_us[t][p] / n > worst[p]) worst[p] = r->phase_us[t][p] / n;
  printf("%6lld floats/plane  %d thread%s %-9s  expand %7.1f us  depthwise %7.1f us  "
         "project %7.1f us\n",
         (long long)s.hw, threads, threads > 1 ? "s" : " ",
         threads > 1 ? (by_channels ? "channels" : "positions") : "", worst[0], worst[1],
         worst[2]);
  free(r->a), free(r->b), free(r->x), free(r);
  return 0;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2, runs = argc > 2 ? atoi(argv[2]) : 2000;
  if (threads < 2 || threads > MAX_THREADS || runs < 4) {
    fprintf(stderr, "usage: memory_ownership [THREADS (2-%d) [RUNS (4-)]]\n", MAX_THREADS);
    return 2;
  }
  if (!__builtin_cpu_supports("avx512f")) {
    fprintf(stderr, "memory_ownership: needs AVX-512\n");
    return 2;
  }
  static const int64_t planes[] = {784, 3136, 12544, 50176};
  for (size_t i = 0; i < sizeof planes / sizeof planes[0]; i++) {
    shape s = {planes[i], 144 * 3136 / planes[i], 24 * 3136 / planes[i]};
    if (measure(s, 1, false, runs) || measure(s, threads, false, runs) ||
        measure(s, threads, true, runs))
      return 1;
  }
  return 0;
}
