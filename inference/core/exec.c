/* Execution-context services for kernels. */
#include "core/exec.h"

#include <math.h>

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
