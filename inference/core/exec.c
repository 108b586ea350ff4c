/* Execution-context services for kernels. */
#include "core/exec.h"

#include <math.h>
#include <stdlib.h>

void *lens_exec_scratch(lens_exec_ctx *ctx) { return ctx->scratch; }

int lens_exec_threads(const lens_exec_ctx *ctx) { return lens_threadpool_threads(ctx->pool); }

void *lens_exec_kernel_state(const lens_exec_ctx *ctx) { return ctx->kernel_state; }

const lens_epilogue *lens_exec_epilogue(const lens_exec_ctx *ctx) {
  return ctx ? ctx->epilogue : NULL;
}

void lens_epilogue_apply(const lens_epilogue *ep, float *out, size_t offset, size_t n) {
  if (!ep) return;
  float *o = out + offset;
  if (ep->residual) {
    const float *r = ep->residual + offset;
    for (size_t i = 0; i < n; i++) o[i] += r[i];
  }
  switch (ep->act) {
  case LENS_ACT_NONE: break;
  case LENS_ACT_RELU:
    for (size_t i = 0; i < n; i++) o[i] = o[i] > 0 ? o[i] : 0;
    break;
  case LENS_ACT_CLIP:
    for (size_t i = 0; i < n; i++) o[i] = o[i] < ep->alpha ? ep->alpha : o[i] > ep->beta ? ep->beta : o[i];
    break;
  case LENS_ACT_SIGMOID:
    for (size_t i = 0; i < n; i++)
      o[i] = o[i] >= 0 ? 1.0f / (1.0f + expf(-o[i])) : expf(o[i]) / (1.0f + expf(o[i]));
    break;
  case LENS_ACT_TANH:
    for (size_t i = 0; i < n; i++) o[i] = tanhf(o[i]);
    break;
  case LENS_ACT_LEAKYRELU:
    for (size_t i = 0; i < n; i++) o[i] = o[i] >= 0 ? o[i] : o[i] * ep->alpha;
    break;
  case LENS_ACT_HARDSIGMOID:
    for (size_t i = 0; i < n; i++) {
      float y = ep->alpha * o[i] + ep->beta;
      o[i] = y < 0 ? 0 : y > 1 ? 1 : y;
    }
    break;
  case LENS_ACT_HARDSWISH:
    for (size_t i = 0; i < n; i++) {
      float y = o[i] / 6.0f + 0.5f;
      o[i] *= y < 0 ? 0 : y > 1 ? 1 : y;
    }
    break;
  }
}

/* Chunks of a parallel loop per thread: more than one, so that a thread on a faster core
 * takes over the end of a slower one's share (the pool deals them out in contiguous ranges,
 * so with equal cores each thread still runs the same part of every loop). */
#define CHUNKS_PER_THREAD 4

typedef struct parallel_job {
  size_t n;
  int chunks;
  void (*fn)(void *arg, size_t begin, size_t end);
  void *arg;
} parallel_job;

static void run_chunk(void *arg, int task) {
  const parallel_job *job = arg;
  size_t begin = job->n * (size_t)task / (size_t)job->chunks;
  size_t end = job->n * (size_t)(task + 1) / (size_t)job->chunks;
  if (begin < end) job->fn(job->arg, begin, end);
}

void lens_parallel_for(lens_exec_ctx *ctx, size_t n,
                       void (*fn)(void *arg, size_t begin, size_t end), void *arg) {
  int threads = ctx ? lens_threadpool_threads(ctx->pool) : 1;
  if (n == 0) return;
  if (threads <= 1 || n == 1) {
    fn(arg, 0, n);
    return;
  }
  size_t chunks = (size_t)threads * CHUNKS_PER_THREAD;
  parallel_job job = {n, chunks < n ? (int)chunks : (int)n, fn, arg};
  lens_threadpool_run(ctx->pool, job.chunks, run_chunk, &job);
}

int lens_exec_thread_index(void) { return lens_threadpool_self(); }

int lens_plane_parts(const lens_exec_ctx *ctx, int64_t rows, int64_t cols) {
  int threads = ctx ? lens_threadpool_threads(ctx->pool) : 1;
  return threads > 1 && rows * cols >= LENS_PLANE_SPLIT_MIN &&
                 rows >= LENS_PLANE_SPLIT_MIN_ROWS * threads
             ? threads
             : 1;
}

typedef struct plane_parts_job {
  size_t planes;
  void (*fn)(void *arg, size_t plane, int part);
  void *arg;
} plane_parts_job;

/* Index i: part i / planes (so that the pool's contiguous shares are whole parts). */
static void run_plane_parts(void *arg, size_t begin, size_t end) {
  const plane_parts_job *job = arg;
  for (size_t i = begin; i < end; i++) {
    int part = (int)(i / job->planes);
    size_t plane = i % job->planes;
    job->fn(job->arg, part % 2 ? job->planes - 1 - plane : plane, part);
  }
}

void lens_parallel_plane_parts(lens_exec_ctx *ctx, size_t planes, int parts,
                               void (*fn)(void *arg, size_t plane, int part), void *arg) {
  if (planes == 0 || parts < 1) return;
  plane_parts_job job = {planes, fn, arg};
  lens_parallel_for(ctx, planes * (size_t)parts, run_plane_parts, &job);
}

/* ---- static splits sized by the threads' speeds ------------------------------------------ */

_Static_assert(LENS_POOL_SPEED_THREADS == LENS_SPLIT_MAX_PARTS,
               "a pool keeps a speed for every part a split can have");

/* Each run moves a thread's speed this far towards what its static regions measured. */
#define SPEED_STEP 0.2
/* Runs whose static regions took less than this on some thread say more about wake-ups
 * and clocks than about speeds. */
#define SPEED_MIN_SECONDS 100e-6
/* Shares move in steps of 1/64, and only when one is 1/32 away from where it is: the
 * parts' edges are where the threads' positions stop lining up from node to node, so they
 * stay put through the measurements' noise (a few percent between equal cores). */
#define SHARE_QUANTUM (LENS_SPLIT_ONE / 64)
#define SHARE_HYSTERESIS (LENS_SPLIT_ONE / 32)
/* The least share a part keeps (1/256), so that its thread's speed is still measured. */
#define SHARE_MIN (LENS_SPLIT_ONE / 32 / LENS_SPLIT_MAX_PARTS * 2)

static bool split_by_speeds(const lens_exec_ctx *ctx, int parts) {
  return ctx && ctx->pool && parts >= 2 && parts <= LENS_SPLIT_MAX_PARTS &&
         parts == lens_threadpool_threads(ctx->pool);
}

void lens_exec_split(const lens_exec_ctx *ctx, int parts, lens_split *s) {
  s->parts = parts < 1 ? 1 : parts;
  s->weighted = false;
  if (!split_by_speeds(ctx, parts)) return;
  const lens_thread_speeds *v = lens_threadpool_speeds(ctx->pool);
  if (!v->weighted) return;
  s->weighted = true;
  for (int t = 0; t <= parts; t++) s->at[t] = v->at[t];
}

void lens_split_range(const lens_split *s, int64_t n, int64_t unit, int part, int64_t *b,
                      int64_t *e) {
  int64_t units = unit > 0 ? (n + unit - 1) / unit : n, u0, u1;
  if (s->weighted) {
    u0 = (units * s->at[part] + LENS_SPLIT_ONE / 2) / LENS_SPLIT_ONE;
    u1 = (units * s->at[part + 1] + LENS_SPLIT_ONE / 2) / LENS_SPLIT_ONE;
  } else {
    u0 = units * part / s->parts;
    u1 = units * (part + 1) / s->parts;
  }
  if (unit < 1) unit = 1;
  *b = u0 * unit < n ? u0 * unit : n;
  *e = u1 * unit < n ? u1 * unit : n;
}

void lens_exec_split_observe(lens_exec_ctx *ctx, const lens_split *s, const double *work,
                             const double *seconds) {
  if (!split_by_speeds(ctx, s->parts)) return;
  for (int t = 0; t < s->parts; t++)
    if (!(seconds[t] >= 0.0) || !(work[t] >= 0.0)) return;
  lens_thread_speeds *v = lens_threadpool_speeds(ctx->pool);
  for (int t = 0; t < s->parts; t++) {
    v->work[t] += work[t];
    v->seconds[t] += seconds[t];
  }
}

void lens_exec_settle_shares(lens_threadpool *pool) {
  int parts = lens_threadpool_threads(pool);
  lens_thread_speeds *v = lens_threadpool_speeds(pool);
  if (!v || parts < 2 || parts > LENS_SPLIT_MAX_PARTS) return;
  double rate[LENS_SPLIT_MAX_PARTS], sum = 0.0, shortest = INFINITY;
  for (int t = 0; t < parts; t++) {
    rate[t] = v->seconds[t] > 0.0 ? v->work[t] / v->seconds[t] : 0.0;
    sum += rate[t];
    if (v->seconds[t] < shortest) shortest = v->seconds[t];
    v->work[t] = v->seconds[t] = 0.0;
  }
  if (!(shortest >= SPEED_MIN_SECONDS) || !(sum > 0.0)) return;
  double total = 0.0;
  for (int t = 0; t < parts; t++) {
    v->speed[t] += SPEED_STEP * (rate[t] * parts / sum - v->speed[t]);
    total += v->speed[t];
  }
  /* the shares the speeds ask for; every part keeps some, or its thread's speed would no
   * longer be measured */
  uint16_t want[LENS_SPLIT_MAX_PARTS + 1];
  double cum = 0.0;
  want[0] = 0;
  want[parts] = LENS_SPLIT_ONE;
  for (int t = 0; t + 1 < parts; t++) {
    cum += v->speed[t];
    want[t + 1] = (uint16_t)(lround(cum / total * (LENS_SPLIT_ONE / SHARE_QUANTUM)) *
                             SHARE_QUANTUM);
  }
  for (int t = 1; t < parts; t++)
    if (want[t] < want[t - 1] + SHARE_MIN) want[t] = (uint16_t)(want[t - 1] + SHARE_MIN);
  for (int t = parts - 1; t >= 1; t--)
    if (want[t] > want[t + 1] - SHARE_MIN) want[t] = (uint16_t)(want[t + 1] - SHARE_MIN);
  /* how far they are from the current shares (equal, or v->at), and from equal ones */
  int moved = 0, off_equal = 0;
  for (int t = 1; t < parts; t++) {
    int equal = (int)((long)LENS_SPLIT_ONE * t / parts);
    int now = v->weighted ? v->at[t] : equal;
    if (abs(want[t] - now) > moved) moved = abs(want[t] - now);
    if (abs(want[t] - equal) > off_equal) off_equal = abs(want[t] - equal);
  }
  if (moved < SHARE_HYSTERESIS) return;
  v->weighted = off_equal >= SHARE_HYSTERESIS;
  if (v->weighted)
    for (int t = 0; t <= parts; t++) v->at[t] = want[t];
}
