/* A persistent pool of worker threads owned by one session. */
#ifndef LENS_CORE_THREADPOOL_H
#define LENS_CORE_THREADPOOL_H

#include "core/status.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct lens_threadpool lens_threadpool;

/* threads counts the calling thread: threads == 1 creates no workers. */
lens_status *lens_threadpool_create(int threads, lens_threadpool **out);
void lens_threadpool_free(lens_threadpool *pool);
int lens_threadpool_threads(const lens_threadpool *pool);

/* What the pool's users learned about its threads' speeds (see lens_exec_split): kept with
 * the pool, read and written on the caller's thread between runs only. */
#define LENS_POOL_SPEED_THREADS 16
typedef struct lens_thread_speeds {
  double speed[LENS_POOL_SPEED_THREADS]; /* relative to their mean, 1 at the start */
  /* this run's static regions so far: each thread's work and seconds in them */
  double work[LENS_POOL_SPEED_THREADS], seconds[LENS_POOL_SPEED_THREADS];
  bool weighted;                         /* at holds unequal shares */
  uint16_t at[LENS_POOL_SPEED_THREADS + 1];
} lens_thread_speeds;
lens_thread_speeds *lens_threadpool_speeds(lens_threadpool *pool);
/* Calls fn(arg, i) for i in [0, n_tasks) across the workers and the caller; returns when all
 * are done. Thread t (the caller is 0) starts on the t-th contiguous share of the tasks, in
 * order; a thread done with its share runs the rest of the others'. Not reentrant: one run
 * at a time per pool. */
void lens_threadpool_run(lens_threadpool *pool, int n_tasks, void (*fn)(void *arg, int task),
                         void *arg);
/* The calling thread's index in the run it is taking part in (the caller of a run is 0;
 * 0 outside runs). */
int lens_threadpool_self(void);

#endif
