/* Execution-context services for kernels. */
#include "core/exec.h"

void *lens_exec_scratch(lens_exec_ctx *ctx) { return ctx->scratch; }

int lens_exec_threads(const lens_exec_ctx *ctx) { return lens_threadpool_threads(ctx->pool); }

void *lens_exec_kernel_state(const lens_exec_ctx *ctx) { return ctx->kernel_state; }

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
  parallel_job job = {n, (size_t)threads < n ? threads : (int)n, fn, arg};
  lens_threadpool_run(ctx->pool, job.chunks, run_chunk, &job);
}
