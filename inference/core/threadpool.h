/* A persistent pool of worker threads owned by one session. */
#ifndef LENS_CORE_THREADPOOL_H
#define LENS_CORE_THREADPOOL_H

#include "core/status.h"

typedef struct lens_threadpool lens_threadpool;

/* threads counts the calling thread: threads == 1 creates no workers. */
lens_status *lens_threadpool_create(int threads, lens_threadpool **out);
void lens_threadpool_free(lens_threadpool *pool);
int lens_threadpool_threads(const lens_threadpool *pool);
/* Calls fn(arg, i) for i in [0, n_tasks) across the workers and the caller; returns when all
 * are done. Thread t (the caller is 0) starts on the t-th contiguous share of the tasks, in
 * order; a thread done with its share runs the rest of the others'. Not reentrant: one run
 * at a time per pool. */
void lens_threadpool_run(lens_threadpool *pool, int n_tasks, void (*fn)(void *arg, int task),
                         void *arg);

#endif
