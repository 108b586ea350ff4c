/* Workers spin briefly on the run counter after each run (yielding now and then), then sleep
 * on a condition variable; the caller likewise spins before it sleeps waiting for them. A run that
 * follows another within the spin window (the common case: one run per parallel loop of
 * every node) costs no system call. A run of at most one task per thread is scheduled
 * statically, task t on thread t (the caller is thread 0): the kernels split the same
 * positions the same way node after node, so each thread then reads what its own core
 * wrote (a line written by the other core costs about three times as much here). More
 * tasks than threads are claimed with an atomic counter, so uneven tasks balance. */
#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Polls before sleeping; every YIELD_EVERY-th poll yields the core, so that a thread we
 * wait for that shares our core (an oversubscribed machine) gets to run. */
#define SPIN_POLLS 20000
#define YIELD_EVERY 1024

static void spin_pause(int i) {
  if (i % YIELD_EVERY == YIELD_EVERY - 1) sched_yield();
  else cpu_relax();
}

struct lens_threadpool {
  int threads;
  pthread_t *workers;
  pthread_mutex_t mutex;
  pthread_cond_t wake;
  pthread_cond_t done;
  atomic_uint_fast64_t generation; /* bumped for every run; workers wait for a new one */
  atomic_bool stop;
  void (*fn)(void *arg, int task);
  void *arg;
  int n_tasks;
  atomic_int next_task;
  atomic_int active; /* workers still inside the current run */
  struct worker_arg *args;
};

typedef struct worker_arg {
  lens_threadpool *pool;
  int index; /* 1 .. threads - 1; the caller of a run is 0 */
} worker_arg;

static void run_tasks(lens_threadpool *p, int self) {
  if (p->n_tasks <= p->threads) {
    if (self < p->n_tasks) p->fn(p->arg, self);
    return;
  }
  for (;;) {
    int t = atomic_fetch_add(&p->next_task, 1);
    if (t >= p->n_tasks) break;
    p->fn(p->arg, t);
  }
}

static void *worker_main(void *arg) {
  const worker_arg *self = arg;
  lens_threadpool *p = self->pool;
  uint_fast64_t seen = 0;
  for (;;) {
    for (int i = 0; i < SPIN_POLLS && atomic_load(&p->generation) == seen &&
                    !atomic_load(&p->stop);
         i++)
      spin_pause(i);
    if (atomic_load(&p->generation) == seen && !atomic_load(&p->stop)) {
      pthread_mutex_lock(&p->mutex);
      while (!atomic_load(&p->stop) && atomic_load(&p->generation) == seen)
        pthread_cond_wait(&p->wake, &p->mutex);
      pthread_mutex_unlock(&p->mutex);
    }
    if (atomic_load(&p->stop)) break;
    seen = atomic_load(&p->generation);
    run_tasks(p, self->index);
    if (atomic_fetch_sub(&p->active, 1) == 1) {
      pthread_mutex_lock(&p->mutex);
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mutex);
    }
  }
  return NULL;
}

lens_status *lens_threadpool_create(int threads, lens_threadpool **out) {
  *out = NULL;
  if (threads < 1) threads = 1;
  if (threads > 256)
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "threads=%d is more than 256", threads);
  lens_threadpool *p = calloc(1, sizeof *p);
  if (!p) return lens_error_oom();
  p->threads = threads;
  pthread_mutex_init(&p->mutex, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  atomic_init(&p->generation, 0);
  atomic_init(&p->stop, false);
  atomic_init(&p->next_task, 0);
  atomic_init(&p->active, 0);
  if (threads > 1) {
    p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
    p->args = calloc((size_t)threads - 1, sizeof *p->args);
    if (!p->workers || !p->args) {
      lens_threadpool_free(p);
      return lens_error_oom();
    }
    for (int i = 0; i < threads - 1; i++) {
      p->args[i] = (worker_arg){p, i + 1};
      if (pthread_create(&p->workers[i], NULL, worker_main, &p->args[i]) != 0) {
        p->threads = i + 1; /* free joins only the ones that started */
        lens_threadpool_free(p);
        return lens_error(LENS_ERR_RUNTIME, "could not start worker thread %d", i + 1);
      }
    }
  }
  *out = p;
  return NULL;
}

void lens_threadpool_free(lens_threadpool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mutex);
  atomic_store(&p->stop, true);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mutex);
  for (int i = 0; p->workers && i < p->threads - 1; i++) pthread_join(p->workers[i], NULL);
  free(p->workers);
  free(p->args);
  pthread_mutex_destroy(&p->mutex);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p);
}

int lens_threadpool_threads(const lens_threadpool *p) { return p ? p->threads : 1; }

void lens_threadpool_run(lens_threadpool *p, int n_tasks, void (*fn)(void *arg, int task),
                         void *arg) {
  if (n_tasks <= 0) return;
  if (!p || p->threads == 1 || n_tasks == 1) {
    for (int t = 0; t < n_tasks; t++) fn(arg, t);
    return;
  }
  p->fn = fn;
  p->arg = arg;
  p->n_tasks = n_tasks;
  atomic_store(&p->next_task, 0);
  atomic_store(&p->active, p->threads - 1);
  /* under the mutex, so that a worker about to sleep sees either the new generation or
   * the broadcast */
  pthread_mutex_lock(&p->mutex);
  atomic_fetch_add(&p->generation, 1);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mutex);
  run_tasks(p, 0);
  for (int i = 0; i < SPIN_POLLS && atomic_load(&p->active) > 0; i++) spin_pause(i);
  if (atomic_load(&p->active) > 0) {
    pthread_mutex_lock(&p->mutex);
    while (atomic_load(&p->active) > 0) pthread_cond_wait(&p->done, &p->mutex);
    pthread_mutex_unlock(&p->mutex);
  }
}
