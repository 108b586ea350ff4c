/* Workers spin briefly on the run counter after each run (yielding now and then), then sleep
 * on a condition variable; the caller likewise spins before it sleeps waiting for them. A run that
 * follows another within the spin window (the common case: one run per parallel loop of
 * every node) costs no system call. A run of at most one task per thread is scheduled
 * statically, task t on thread t (the caller is thread 0): the kernels split the same
 * positions the same way node after node, so each thread then reads what its own core
 * wrote (a line written by the other core costs several times as much here). More
 * tasks than threads are dealt out the same way, as one contiguous range per thread, and
 * a thread that finishes its range takes the remaining tasks of the others: the two cores
 * of the shared machines this runs on are often unequal (one at about 60% of the other's
 * vector throughput for seconds at a time), and a static split then waits for the slow one.
 * Static splits are sized instead by the threads' speeds, which the pool keeps for its
 * users (lens_thread_speeds; see lens_exec_split). */
#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
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
  struct task_range *ranges; /* one per thread */
  atomic_int active;         /* workers still inside the current run */
  struct worker_arg *args;
  lens_thread_speeds speeds;
};

/* The next unclaimed task of a thread's range, alone on its cache line: the owner and the
 * threads that steal from it both claim by fetch_add, so no task is run twice. */
typedef struct task_range {
  _Alignas(64) atomic_int next;
  int end;
} task_range;

typedef struct worker_arg {
  lens_threadpool *pool;
  int index; /* 1 .. threads - 1; the caller of a run is 0 */
} worker_arg;

static void run_range(lens_threadpool *p, task_range *r) {
  for (;;) {
    int t = atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed);
    if (t >= r->end) break;
    p->fn(p->arg, t);
  }
}

static _Thread_local int current_index;

int lens_threadpool_self(void) { return current_index; }

static void run_tasks(lens_threadpool *p, int self) {
  current_index = self;
  if (p->n_tasks <= p->threads) {
    if (self < p->n_tasks) p->fn(p->arg, self);
    return;
  }
  run_range(p, &p->ranges[self]);
  for (int i = 1; i < p->threads; i++) run_range(p, &p->ranges[(self + i) % p->threads]);
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
  for (int i = 0; i < LENS_POOL_SPEED_THREADS; i++) p->speeds.speed[i] = 1.0;
  pthread_mutex_init(&p->mutex, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  atomic_init(&p->generation, 0);
  atomic_init(&p->stop, false);
  atomic_init(&p->active, 0);
  p->ranges = aligned_alloc(_Alignof(task_range), (size_t)threads * sizeof *p->ranges);
  if (!p->ranges) {
    lens_threadpool_free(p);
    return lens_error_oom();
  }
  for (int i = 0; i < threads; i++) atomic_init(&p->ranges[i].next, 0);
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
  free(p->ranges);
  pthread_mutex_destroy(&p->mutex);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p);
}

int lens_threadpool_threads(const lens_threadpool *p) { return p ? p->threads : 1; }

lens_thread_speeds *lens_threadpool_speeds(lens_threadpool *p) { return p ? &p->speeds : NULL; }

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
  for (int i = 0; i < p->threads; i++) {
    atomic_store_explicit(&p->ranges[i].next, (int)((int64_t)n_tasks * i / p->threads),
                          memory_order_relaxed);
    p->ranges[i].end = (int)((int64_t)n_tasks * (i + 1) / p->threads);
  }
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
