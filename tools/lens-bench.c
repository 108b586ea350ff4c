/* lens-bench: measures a model's latency and throughput, the counterpart of OpenVINO's
 * benchmark_app.
 *
 *   lens-bench -m MODEL [-d cpu] [-b N] [-shape NAME=d0,d1,...] [-hint latency|throughput]
 *              [-nthreads N] [-nstreams N] [-nireq N] [-t SECONDS | -niter N]
 *              [-i INPUT.pb ...] [-pc [-pcsort]] [-noshare] [-report FILE.json]
 *
 * Model of execution: a stream is a group of requests; a request is one lens_session with
 * its own worker threads (-nthreads), driven by its own pthread that runs it in a loop. So
 * nstreams * nireq sessions run at the same time. Every request runs once to warm up (first
 * touch of its arena, excluded), then all start together; with -t they stop at the first
 * run that ends after the deadline, with -niter when the shared count of runs is reached.
 *
 * The JSON report (-report) has these names, which scripts may rely on:
 *   model                string   the model path as given
 *   device               string   the -d value ("cpu" by default)
 *   cpu_isa              string   the CPU kernels' instruction set: avx512, avx2, baseline
 *   config.batch         int      frames per run (the first dim of the first input)
 *   config.nthreads      int      threads per request
 *   config.nstreams      int      streams
 *   config.nireq         int      requests per stream
 *   config.hint          string   "latency", "throughput" or "none"
 *   config.share_weights bool     requests share one copy of the prepared weights
 *   config.duration_s    number   requested duration, null with -niter alone
 *   config.niter         int      requested iterations, null with -t alone
 *   inputs               [{name, dtype, shape, source}]  source: a file path or "random"
 *   latency_ms.{min,median,p90,p99,max,mean}  number   per run, over all requests
 *   throughput_fps       number   iterations * batch / wall_s
 *   gflop_per_frame      number   analysed floating-point work per frame (10^9)
 *   gflops_per_s         number   gflop_per_frame * throughput_fps
 *   iterations           int      timed runs over all requests (warm-up excluded)
 *   wall_s               number   time from the common start to the last run's end
 *   layers               [{order, name, op, kernel, precision, time_ms, share, fused_nodes}]
 *                        per executed node with -pc (time_ms per run, share of the sum of
 *                        node times in [0,1], fused_nodes the nodes its kernel runs inside
 *                        it, comma-separated, or null), in execution order or by time with
 *                        -pcsort; [] without -pc
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inputshapes.h"
#include "jsonwrite.h"

#define MAX_REQUESTS 1024
#define RANDOM_SEED 42u

static void usage(FILE *f) {
  fprintf(f,
          "usage: lens-bench -m MODEL [options]\n"
          "\n"
          "Measures latency (min, median, p90, p99, max) and throughput of a model, like\n"
          "OpenVINO's benchmark_app. Each request is its own session on its own thread.\n"
          "\n"
          "  -m MODEL            the ONNX model\n"
          "  -d DEVICE           cpu (default), or gpu, gpu.N, gpu:NAME where liblens has\n"
          "                      an OpenCL device\n"
          "  -p PRECISION        fp32 (default) or fp16 (device gpu: half storage)\n"
          "  -b N                batch: the first dim of every input (symbolic or equal)\n"
          "  -shape NAME=D,D,..  full shape of input NAME (repeatable), for symbolic dims\n"
          "  -hint H             latency: 1 stream, 1 request, all cores (default)\n"
          "                      throughput: a stream per core, 1 thread, 1 request each\n"
          "                      none: 1 stream, 1 request, 1 thread\n"
          "  -nthreads N         threads per request (overrides the hint)\n"
          "  -nstreams N         independent streams (overrides the hint)\n"
          "  -nireq N            requests in flight per stream (overrides the hint)\n"
          "  -t SECONDS          duration of the timed phase (default 10)\n"
          "  -niter N            number of timed runs over all requests (with -t: the first\n"
          "                      limit reached ends the run)\n"
          "  -i INPUT.pb         input tensor file, in input order (repeatable); otherwise\n"
          "                      random inputs, seed %u: floats uniform in [0,1), integers\n"
          "                      in [0,10), uint8 in [0,256), bools 0 or 1\n"
          "  -pc                 per-layer counters (time per node, enables profiling)\n"
          "  -pcsort             with -pc, sort the layers by time, slowest first\n"
          "  -noshare            each request prepares its own weights (by default the CPU\n"
          "                      requests share one copy: share_weights_with)\n"
          "  -report FILE.json   write the figures as JSON (names documented in the source\n"
          "                      and in README.md)\n"
          "  -h                  this text\n"
          "\n"
          "Exit status: 0 success, 1 the model failed to load or run, 2 bad arguments.\n",
          RANDOM_SEED);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- configuration ------------------------------------------------------------------------ */

typedef struct bench_config {
  const char *model_path;
  const char *device;
  int64_t batch; /* 0: not given */
  lens_shape_arg shape_args[LENS_MAX_RANK * 8];
  size_t n_shape_args;
  const char *input_paths[64];
  size_t n_input_paths;
  const char *hint;
  int64_t nthreads, nstreams, nireq; /* -1: from the hint */
  double duration_s;                 /* 0: none */
  int64_t niter;                     /* 0: none */
  bool pc, pcsort;
  bool noshare; /* every request its own prepared weights */
  const char *report_path;
  const char *precision; /* -p: fp32 (default) or fp16 (gpu) */
} bench_config;

/* Whether the requests share one copy of the prepared weights (CPU sessions only). */
static bool shares_weights(const bench_config *c) {
  return !c->noshare && (!c->device || strcmp(c->device, "cpu") == 0);
}

static int arg_error(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "lens-bench: ");
  fprintf(stderr, fmt, a, b);
  fprintf(stderr, "\n(lens-bench -h for help)\n");
  return 2;
}

/* cpu, gpu, gpu.N or gpu:NAME, as lens_session_options.device spells devices. */
static bool valid_device_spec(const char *d) {
  int64_t index;
  if (strcmp(d, "cpu") == 0 || strcmp(d, "gpu") == 0) return true;
  if (strncmp(d, "gpu.", 4) == 0) return lens_parse_int64(d + 4, 0, 1023, &index) == 0;
  return strncmp(d, "gpu:", 4) == 0 && d[4] != '\0';
}

static int parse_args(int argc, char **argv, bench_config *c) {
  enum { OPT_SHAPE = 256, OPT_NTHREADS, OPT_NSTREAMS, OPT_NIREQ, OPT_HINT, OPT_NITER, OPT_PC,
         OPT_PCSORT, OPT_NOSHARE, OPT_REPORT };
  static const struct option longopts[] = {
      {"m", required_argument, NULL, 'm'},
      {"d", required_argument, NULL, 'd'},
      {"b", required_argument, NULL, 'b'},
      {"shape", required_argument, NULL, OPT_SHAPE},
      {"nthreads", required_argument, NULL, OPT_NTHREADS},
      {"nstreams", required_argument, NULL, OPT_NSTREAMS},
      {"nireq", required_argument, NULL, OPT_NIREQ},
      {"hint", required_argument, NULL, OPT_HINT},
      {"t", required_argument, NULL, 't'},
      {"niter", required_argument, NULL, OPT_NITER},
      {"i", required_argument, NULL, 'i'},
      {"pc", no_argument, NULL, OPT_PC},
      {"pcsort", no_argument, NULL, OPT_PCSORT},
      {"noshare", no_argument, NULL, OPT_NOSHARE},
      {"report", required_argument, NULL, OPT_REPORT},
      {"h", no_argument, NULL, 'h'},
      {"help", no_argument, NULL, 'h'},
      {"p", required_argument, NULL, 'p'},
      {NULL, 0, NULL, 0}};
  memset(c, 0, sizeof *c);
  c->device = "cpu";
  c->precision = "fp32";
  c->hint = "latency";
  c->nthreads = c->nstreams = c->nireq = -1;
  opterr = 0;
  int opt;
  while ((opt = getopt_long_only(argc, argv, ":m:d:b:t:i:p:h", longopts, NULL)) != -1) {
    switch (opt) {
    case 'm': c->model_path = optarg; break;
    case 'p':
      if (strcmp(optarg, "fp32") != 0 && strcmp(optarg, "fp16") != 0)
        return arg_error("-p %s: expected fp32 or fp16%s", optarg, "");
      c->precision = optarg;
      break;
    case 'd':
      /* Only the spelling is checked here (exit 2); whether this build and machine have the
       * device is lens_session_create's to say (exit 1). */
      if (!valid_device_spec(optarg))
        return arg_error("-d %s: expected cpu, gpu, gpu.N or gpu:NAME%s", optarg, "");
      c->device = optarg;
      break;
    case 'b':
      if (lens_parse_int64(optarg, 1, 1 << 20, &c->batch))
        return arg_error("-b %s: expected an integer in 1..1048576%s", optarg, "");
      break;
    case OPT_SHAPE: {
      if (c->n_shape_args == sizeof c->shape_args / sizeof c->shape_args[0])
        return arg_error("too many -shape arguments%s%s", "", "");
      lens_status *st = lens_shape_arg_parse(optarg, &c->shape_args[c->n_shape_args]);
      if (st) {
        fprintf(stderr, "lens-bench: %s\n", lens_status_message(st));
        lens_status_free(st);
        return 2;
      }
      c->n_shape_args++;
      break;
    }
    case OPT_NTHREADS:
      if (lens_parse_int64(optarg, 1, 256, &c->nthreads))
        return arg_error("-nthreads %s: expected an integer in 1..256%s", optarg, "");
      break;
    case OPT_NSTREAMS:
      if (lens_parse_int64(optarg, 1, MAX_REQUESTS, &c->nstreams))
        return arg_error("-nstreams %s: expected an integer in 1..1024%s", optarg, "");
      break;
    case OPT_NIREQ:
      if (lens_parse_int64(optarg, 1, MAX_REQUESTS, &c->nireq))
        return arg_error("-nireq %s: expected an integer in 1..1024%s", optarg, "");
      break;
    case OPT_HINT:
      if (strcmp(optarg, "latency") && strcmp(optarg, "throughput") && strcmp(optarg, "none"))
        return arg_error("-hint %s: expected latency, throughput or none%s", optarg, "");
      c->hint = optarg;
      break;
    case 't': {
      char *end;
      errno = 0;
      c->duration_s = strtod(optarg, &end);
      if (errno || end == optarg || *end || !(c->duration_s > 0) || c->duration_s > 1e6)
        return arg_error("-t %s: expected a number of seconds in (0, 1e6]%s", optarg, "");
      break;
    }
    case OPT_NITER:
      if (lens_parse_int64(optarg, 1, (int64_t)1 << 40, &c->niter))
        return arg_error("-niter %s: expected a positive integer%s", optarg, "");
      break;
    case 'i':
      if (c->n_input_paths == sizeof c->input_paths / sizeof c->input_paths[0])
        return arg_error("too many -i arguments%s%s", "", "");
      c->input_paths[c->n_input_paths++] = optarg;
      break;
    case OPT_PC: c->pc = true; break;
    case OPT_PCSORT: c->pcsort = true; break;
    case OPT_NOSHARE: c->noshare = true; break;
    case OPT_REPORT: c->report_path = optarg; break;
    case 'h': usage(stdout); exit(0);
    case ':': return arg_error("%s needs a value%s", argv[optind - 1], "");
    default: return arg_error("unknown or ambiguous option %s%s", argv[optind - 1], "");
    }
  }
  if (optind < argc) return arg_error("unexpected argument '%s'%s", argv[optind], "");
  if (!c->model_path) return arg_error("-m MODEL is required%s%s", "", "");
  if (access(c->model_path, R_OK) != 0)
    return arg_error("-m %s: %s", c->model_path, strerror(errno));
  for (size_t i = 0; i < c->n_input_paths; i++)
    if (access(c->input_paths[i], R_OK) != 0)
      return arg_error("-i %s: %s", c->input_paths[i], strerror(errno));
  if (c->pcsort && !c->pc) c->pc = true;
  if (!c->duration_s && !c->niter) c->duration_s = 10;

  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores < 1) cores = 1;
  if (cores > 256) cores = 256;
  int64_t threads = 1, streams = 1, ireq = 1;
  if (strcmp(c->hint, "latency") == 0) {
    threads = cores;
  } else if (strcmp(c->hint, "throughput") == 0) {
    /* one single-threaded session per core: a second request per stream only adds threads
     * competing for the core and its cache (5% fewer frames/s here) */
    streams = cores;
  }
  if (c->nthreads < 0) c->nthreads = threads;
  if (c->nstreams < 0) c->nstreams = streams;
  if (c->nireq < 0) c->nireq = ireq;
  if (c->nstreams * c->nireq > MAX_REQUESTS) {
    char n[32];
    snprintf(n, sizeof n, "%lld", (long long)(c->nstreams * c->nireq));
    return arg_error("-nstreams x -nireq = %s requests; at most 1024%s", n, "");
  }
  return 0;
}

/* ---- inputs ------------------------------------------------------------------------------- */

/* splitmix64: a fixed-seed generator so random inputs are the same on every run. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static lens_status *fill_random(lens_tensor *t, uint64_t seed) {
  size_t esize = lens_dtype_size(t->dtype);
  int64_t count = lens_tensor_elements(t);
  if (!esize || count < 0 || (uint64_t)count > SIZE_MAX / esize)
    return lens_status_create(LENS_ERR_UNSUPPORTED, "cannot make a random %s tensor of this size",
                              lens_dtype_name(t->dtype));
  t->nbytes = (size_t)count * esize;
  t->data = malloc(t->nbytes ? t->nbytes : 1);
  if (!t->data) return lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
  uint64_t state = seed;
  for (int64_t k = 0; k < count; k++) {
    uint64_t r = next_random(&state);
    float u = (float)(r >> 40) * (1.0f / 16777216.0f); /* 24 bits: uniform in [0,1) */
    switch (t->dtype) {
    case LENS_DTYPE_FLOAT32: ((float *)t->data)[k] = u; break;
    case LENS_DTYPE_FLOAT16: ((uint16_t *)t->data)[k] = lens_float_to_half(u); break;
    case LENS_DTYPE_UINT8: ((uint8_t *)t->data)[k] = (uint8_t)(r >> 56); break;
    case LENS_DTYPE_INT8: ((int8_t *)t->data)[k] = (int8_t)(r % 10); break;
    case LENS_DTYPE_INT32: ((int32_t *)t->data)[k] = (int32_t)(r % 10); break;
    case LENS_DTYPE_INT64: ((int64_t *)t->data)[k] = (int64_t)(r % 10); break;
    case LENS_DTYPE_BOOL: ((uint8_t *)t->data)[k] = (uint8_t)(r >> 63); break;
    default:
      return lens_status_create(LENS_ERR_UNSUPPORTED, "cannot make a random %s tensor",
                                lens_dtype_name(t->dtype));
    }
  }
  return NULL;
}

/* ---- requests ----------------------------------------------------------------------------- */

typedef struct node_time {
  uint64_t ns, runs;
} node_time;

typedef struct bench_shared {
  const lens_tensor *inputs;
  size_t n_inputs, n_outputs, n_nodes;
  /* The start gate: requests count themselves in n_warm after their warm-up run and wait
   * for go, which main sets once every started request is in, after taking the start time. */
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  size_t n_warm;
  bool go;
  double deadline;        /* 0: none */
  int64_t niter;          /* 0: none */
  atomic_int_fast64_t claimed;
  atomic_uint_fast64_t done, done_ns;
  atomic_int stop;
  atomic_int finished;
} bench_shared;

typedef struct request {
  bench_shared *shared;
  lens_session *session;
  pthread_t thread;
  bool started;
  lens_tensor *outputs;
  double *lat_ms;
  size_t n_lat, cap_lat;
  double warmup_ms, end_s;
  node_time *baseline; /* per-node counters after the warm-up (with -pc) */
  lens_status *error;
} request;

static void snapshot_nodes(const request *r, node_time *out) {
  for (size_t n = 0; n < r->shared->n_nodes; n++) {
    lens_node_profile p;
    memset(&p, 0, sizeof p);
    lens_status_free(lens_session_node_profile(r->session, n, &p));
    out[n].ns = p.total_ns;
    out[n].runs = p.runs;
  }
}

static void *request_main(void *arg) {
  request *r = arg;
  bench_shared *sh = r->shared;
  double t0 = now_s();
  r->error = lens_session_run(r->session, sh->inputs, sh->n_inputs, r->outputs, sh->n_outputs);
  r->warmup_ms = (now_s() - t0) * 1e3;
  if (r->error) atomic_store(&sh->stop, 1);
  if (r->baseline) snapshot_nodes(r, r->baseline);
  pthread_mutex_lock(&sh->mutex);
  sh->n_warm++;
  pthread_cond_broadcast(&sh->cond);
  while (!sh->go) pthread_cond_wait(&sh->cond, &sh->mutex);
  pthread_mutex_unlock(&sh->mutex);
  while (!r->error && !atomic_load(&sh->stop)) {
    if (sh->niter && atomic_fetch_add(&sh->claimed, 1) >= sh->niter) break;
    double start = now_s();
    /* With -t every request runs at least once, so short durations still give a figure. */
    if (sh->deadline > 0 && r->n_lat > 0 && start >= sh->deadline) break;
    r->error = lens_session_run(r->session, sh->inputs, sh->n_inputs, r->outputs, sh->n_outputs);
    double end = now_s();
    if (r->error) {
      atomic_store(&sh->stop, 1);
      break;
    }
    if (r->n_lat == r->cap_lat) {
      size_t cap = r->cap_lat ? r->cap_lat * 2 : 1024;
      double *p = realloc(r->lat_ms, cap * sizeof *p);
      if (!p) {
        r->error = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory for latencies");
        atomic_store(&sh->stop, 1);
        break;
      }
      r->lat_ms = p;
      r->cap_lat = cap;
    }
    r->lat_ms[r->n_lat++] = (end - start) * 1e3;
    r->end_s = end;
    atomic_fetch_add(&sh->done, 1);
    atomic_fetch_add(&sh->done_ns, (uint_fast64_t)((end - start) * 1e9));
  }
  atomic_fetch_add(&sh->finished, 1);
  return NULL;
}

/* ---- results ------------------------------------------------------------------------------ */

typedef struct latency_stats {
  double min, median, p90, p99, max, mean;
} latency_stats;

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *v, size_t n, double p) {
  size_t rank = (size_t)ceil(p / 100.0 * (double)n);
  return v[rank ? rank - 1 : 0];
}

static latency_stats compute_stats(double *v, size_t n) {
  latency_stats s = {NAN, NAN, NAN, NAN, NAN, NAN};
  if (!n) return s;
  qsort(v, n, sizeof *v, compare_double);
  double sum = 0;
  for (size_t k = 0; k < n; k++) sum += v[k];
  s.min = v[0];
  s.max = v[n - 1];
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.p90 = percentile(v, n, 90);
  s.p99 = percentile(v, n, 99);
  s.mean = sum / (double)n;
  return s;
}

typedef struct layer_row {
  size_t order;
  lens_node_profile p;
  double time_ms, share;
} layer_row;

static int compare_layer_time(const void *a, const void *b) {
  const layer_row *x = a, *y = b;
  if (x->time_ms != y->time_ms) return x->time_ms < y->time_ms ? 1 : -1;
  return (x->order > y->order) - (x->order < y->order);
}

/* Per-layer time per run, summed over the requests' timed runs (warm-up excluded). */
static layer_row *collect_layers(request *reqs, size_t n_req, size_t n_nodes, bool sort) {
  layer_row *rows = calloc(n_nodes + 1, sizeof *rows);
  node_time *now = calloc(n_nodes + 1, sizeof *now);
  if (!rows || !now) {
    free(rows);
    free(now);
    return NULL;
  }
  double total = 0;
  for (size_t n = 0; n < n_nodes; n++) {
    rows[n].order = n;
    lens_status_free(lens_session_node_profile(reqs[0].session, n, &rows[n].p));
  }
  uint64_t *ns = calloc(n_nodes + 1, sizeof *ns), *runs = calloc(n_nodes + 1, sizeof *runs);
  if (!ns || !runs) {
    free(ns);
    free(runs);
    free(now);
    free(rows);
    return NULL;
  }
  for (size_t k = 0; k < n_req; k++) {
    snapshot_nodes(&reqs[k], now);
    for (size_t n = 0; n < n_nodes; n++) {
      ns[n] += now[n].ns - reqs[k].baseline[n].ns;
      runs[n] += now[n].runs - reqs[k].baseline[n].runs;
    }
  }
  for (size_t n = 0; n < n_nodes; n++) {
    rows[n].time_ms = runs[n] ? (double)ns[n] / (double)runs[n] / 1e6 : 0;
    total += rows[n].time_ms;
  }
  for (size_t n = 0; n < n_nodes; n++) rows[n].share = total > 0 ? rows[n].time_ms / total : 0;
  if (sort) qsort(rows, n_nodes, sizeof *rows, compare_layer_time);
  free(ns);
  free(runs);
  free(now);
  return rows;
}

static void print_layers(const layer_row *rows, size_t n) {
  int wname = 4, wop = 2, wkernel = 6;
  for (size_t k = 0; k < n; k++) {
    int l = (int)strlen(rows[k].p.node_name ? rows[k].p.node_name : "");
    if (l > wname) wname = l;
    l = (int)strlen(rows[k].p.op_type);
    if (l > wop) wop = l;
    l = (int)strlen(rows[k].p.kernel);
    if (l > wkernel) wkernel = l;
  }
  if (wname > 56) wname = 56;
  double sum = 0;
  printf("\nper-layer counters (time per run, warm-up excluded)\n");
  printf("%5s  %-*s  %-*s  %-*s  %-9s  %10s  %6s  %s\n", "order", wname, "name", wop, "op",
         wkernel, "kernel", "precision", "time ms", "share", "fused");
  for (size_t k = 0; k < n; k++) {
    const char *name = rows[k].p.node_name ? rows[k].p.node_name : "";
    size_t len = strlen(name);
    /* Keep the end of long names: exported names differ in their last components. */
    const char *shown = len > (size_t)wname ? name + len - (size_t)wname + 3 : name;
    printf("%5zu  %s%-*s  %-*s  %-*s  %-9s  %10.4f  %5.1f%%%s%s\n", rows[k].order,
           shown != name ? "..." : "", shown != name ? wname - 3 : wname, shown, wop,
           rows[k].p.op_type, wkernel, rows[k].p.kernel, rows[k].p.precision, rows[k].time_ms,
           rows[k].share * 100, rows[k].p.fused_nodes ? "  " : "",
           rows[k].p.fused_nodes ? rows[k].p.fused_nodes : "");
    sum += rows[k].time_ms;
  }
  printf("%5s  %-*s  %*s  %10.4f\n", "", wname, "sum of layers", wop + wkernel + 13, "", sum);
}

/* Writes the report into f (opened before the run, so a bad path fails early) and closes it. */
static lens_status *write_report(FILE *f, const char *path, const bench_config *c, int64_t batch,
                                 const lens_session *s, const latency_stats *lat,
                                 double fps, double gflop_per_frame, uint64_t iterations,
                                 double wall_s, const layer_row *rows, size_t n_rows) {
  fputs("{\n  \"model\": ", f);
  lens_json_string(f, c->model_path);
  fputs(",\n  \"device\": ", f);
  lens_json_string(f, c->device);
  fputs(",\n  \"cpu_isa\": ", f);
  lens_json_string(f, lens_cpu_isa_in_use());
  fprintf(f, ",\n  \"config\": {\"batch\": %lld, \"nthreads\": %lld, \"nstreams\": %lld, "
             "\"nireq\": %lld, \"hint\": ",
          (long long)batch, (long long)c->nthreads, (long long)c->nstreams, (long long)c->nireq);
  lens_json_string(f, c->hint);
  fputs(", \"duration_s\": ", f);
  if (c->duration_s > 0) lens_json_number(f, c->duration_s);
  else fputs("null", f);
  fputs(", \"niter\": ", f);
  if (c->niter > 0) lens_json_int(f, c->niter);
  else fputs("null", f);
  fprintf(f, ", \"share_weights\": %s", shares_weights(c) ? "true" : "false");
  fputs("},\n  \"inputs\": [", f);
  for (size_t i = 0; s && lens_session_input(s, i); i++) {
    const lens_tensor_desc *d = lens_session_input(s, i);
    fputs(i ? ", {\"name\": " : "{\"name\": ", f);
    lens_json_string(f, d->name);
    fputs(", \"dtype\": ", f);
    lens_json_string(f, lens_dtype_name(d->dtype));
    fputs(", \"shape\": ", f);
    lens_json_dims(f, d->rank, d->dims);
    fputs(", \"source\": ", f);
    lens_json_string(f, i < c->n_input_paths ? c->input_paths[i] : "random");
    fputc('}', f);
  }
  fputs("],\n  \"latency_ms\": {", f);
  const char *names[] = {"min", "median", "p90", "p99", "max", "mean"};
  const double values[] = {lat->min, lat->median, lat->p90, lat->p99, lat->max, lat->mean};
  for (int k = 0; k < 6; k++) {
    fprintf(f, "%s\"%s\": ", k ? ", " : "", names[k]);
    lens_json_number(f, values[k]);
  }
  fputs("},\n  \"throughput_fps\": ", f);
  lens_json_number(f, fps);
  fputs(",\n  \"gflop_per_frame\": ", f);
  lens_json_number(f, gflop_per_frame);
  fputs(",\n  \"gflops_per_s\": ", f);
  lens_json_number(f, gflop_per_frame * fps);
  fprintf(f, ",\n  \"iterations\": %llu", (unsigned long long)iterations);
  fputs(",\n  \"wall_s\": ", f);
  lens_json_number(f, wall_s);
  fputs(",\n  \"layers\": [", f);
  for (size_t k = 0; k < n_rows; k++) {
    fprintf(f, "%s\n    {\"order\": %zu, \"name\": ", k ? "," : "", rows[k].order);
    lens_json_string(f, rows[k].p.node_name);
    fputs(", \"op\": ", f);
    lens_json_string(f, rows[k].p.op_type);
    fputs(", \"kernel\": ", f);
    lens_json_string(f, rows[k].p.kernel);
    fputs(", \"precision\": ", f);
    lens_json_string(f, rows[k].p.precision);
    fputs(", \"time_ms\": ", f);
    lens_json_number(f, rows[k].time_ms);
    fputs(", \"share\": ", f);
    lens_json_number(f, rows[k].share);
    fputs(", \"fused_nodes\": ", f);
    lens_json_string(f, rows[k].p.fused_nodes);
    fputc('}', f);
  }
  fputs(n_rows ? "\n  ]\n}\n" : "]\n}\n", f);
  bool failed = ferror(f) != 0;
  if (fclose(f) != 0 || failed)
    return lens_status_create(LENS_ERR_IO, "writing '%s' failed: %s", path, strerror(errno));
  return NULL;
}

/* ---- main --------------------------------------------------------------------------------- */

static void print_progress(const bench_shared *sh, double t0, const bench_config *c) {
  uint64_t done = atomic_load(&sh->done), ns = atomic_load(&sh->done_ns);
  double elapsed = now_s() - t0;
  char limit[64];
  if (c->niter && !c->duration_s)
    snprintf(limit, sizeof limit, "%llu / %lld runs", (unsigned long long)done,
             (long long)c->niter);
  else
    snprintf(limit, sizeof limit, "%.1f / %.1f s, %llu runs", elapsed, c->duration_s,
             (unsigned long long)done);
  fprintf(stderr, "\r  running: %s, mean latency %.2f ms   ", limit,
          done ? (double)ns / (double)done / 1e6 : 0.0);
  fflush(stderr);
}

int main(int argc, char **argv) {
  bench_config c;
  int rc = parse_args(argc, argv, &c);
  if (rc) return rc;
  FILE *report = NULL;
  if (c.report_path && !(report = fopen(c.report_path, "w"))) {
    fprintf(stderr, "lens-bench: -report %s: %s\n", c.report_path, strerror(errno));
    return 2;
  }

  lens_model *model = NULL;
  lens_tensor *inputs = NULL;
  lens_bound_shapes bound = {0};
  request *reqs = NULL;
  layer_row *rows = NULL;
  double *all = NULL;
  size_t n_req = (size_t)(c.nstreams * c.nireq), n_inputs = 0, n_outputs = 0;
  bench_shared sh;
  memset(&sh, 0, sizeof sh);
  pthread_mutex_init(&sh.mutex, NULL);
  pthread_cond_init(&sh.cond, NULL);
  rc = 1;

  lens_status *st = lens_model_load_file(c.model_path, &model);
  if (!st) {
    n_inputs = lens_model_input_count(model);
    n_outputs = lens_model_output_count(model);
    inputs = calloc(n_inputs + 1, sizeof *inputs);
    if (!inputs) st = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
  }
  if (!st && c.n_input_paths && c.n_input_paths != n_inputs) {
    fprintf(stderr, "lens-bench: the model has %zu input%s; %zu -i given\n", n_inputs,
            n_inputs == 1 ? "" : "s", c.n_input_paths);
    rc = 2;
    goto done;
  }
  for (size_t i = 0; !st && i < c.n_input_paths; i++) {
    st = lens_tensor_load_pb(c.input_paths[i], &inputs[i], NULL);
    const lens_tensor_desc *d = lens_model_input(model, i);
    if (!st && d->dtype != LENS_DTYPE_UNDEFINED && d->dtype != inputs[i].dtype) {
      fprintf(stderr, "lens-bench: %s is %s; input '%s' is %s\n", c.input_paths[i],
              lens_dtype_name(inputs[i].dtype), d->name, lens_dtype_name(d->dtype));
      rc = 2;
      goto done;
    }
  }
  if (!st) {
    st = lens_bind_input_shapes(model, c.shape_args, c.n_shape_args,
                                c.n_input_paths ? inputs : NULL, c.batch, &bound);
    if (st) {
      rc = 2;
      goto done;
    }
  }

  reqs = calloc(n_req, sizeof *reqs);
  if (!st && !reqs) st = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
  lens_session_options so;
  lens_session_options_init(&so);
  so.device = c.device;
  so.precision = c.precision;
  so.threads = (int)c.nthreads;
  so.input_shapes = bound.shapes;
  so.n_input_shapes = bound.count;
  so.profile = c.pc;
  double t_create = now_s();
  bool share = shares_weights(&c);
  for (size_t k = 0; !st && k < n_req; k++) {
    reqs[k].shared = &sh;
    so.share_weights_with = share && k > 0 ? reqs[0].session : NULL;
    st = lens_session_create(model, &so, &reqs[k].session);
    if (!st) reqs[k].outputs = calloc(n_outputs + 1, sizeof *reqs[k].outputs);
    if (!st && !reqs[k].outputs) st = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
  }
  t_create = now_s() - t_create;
  if (st) goto done;

  const lens_session *s0 = reqs[0].session;
  for (size_t i = c.n_input_paths; !st && i < n_inputs; i++) {
    const lens_tensor_desc *d = lens_session_input(s0, i);
    inputs[i].dtype = d->dtype;
    inputs[i].rank = d->rank;
    memcpy(inputs[i].dims, d->dims, sizeof inputs[i].dims);
    st = fill_random(&inputs[i], RANDOM_SEED + i);
  }
  lens_model_analysis an;
  if (!st) st = lens_session_analyze(s0, &an);
  if (st) goto done;
  int64_t batch = c.batch;
  if (!batch) {
    const lens_tensor_desc *d = lens_session_input(s0, 0);
    batch = d && d->rank >= 1 && d->dims[0] > 0 ? d->dims[0] : 1;
  }
  double gflop_per_frame = an.flops / (double)batch / 1e9;
  sh.n_nodes = lens_session_node_count(s0);

  printf("model      %s\n", c.model_path);
  printf("device     %s (CPU kernels: %s), hint %s: %lld stream%s x %lld request%s, %lld "
         "thread%s per request\n",
         c.device, lens_cpu_isa_in_use(), c.hint, (long long)c.nstreams,
         c.nstreams == 1 ? "" : "s", (long long)c.nireq, c.nireq == 1 ? "" : "s",
         (long long)c.nthreads, c.nthreads == 1 ? "" : "s");
  if (lens_session_threads(s0) < c.nthreads)
    printf("threads    %d per request: a run of %.1f MFLOP is too small to share\n",
           lens_session_threads(s0), an.flops / 1e6);
  for (size_t i = 0; i < n_inputs; i++) {
    const lens_tensor_desc *d = lens_session_input(s0, i);
    char dims[128];
    lens_format_dims(dims, sizeof dims, d->rank, d->dims);
    if (i < c.n_input_paths)
      printf("input      %s %s [%s] from %s\n", d->name, lens_dtype_name(d->dtype), dims,
             c.input_paths[i]);
    else
      printf("input      %s %s [%s] random (seed %u)\n", d->name, lens_dtype_name(d->dtype),
             dims, RANDOM_SEED + (unsigned)i);
  }
  printf("work       %.3f GFLOP per frame, batch %lld; %zu session%s created in %.0f ms\n",
         gflop_per_frame, (long long)batch, n_req, n_req == 1 ? "" : "s", t_create * 1e3);
  fflush(stdout);

  if (c.pc)
    for (size_t k = 0; !st && k < n_req; k++) {
      reqs[k].baseline = calloc(sh.n_nodes + 1, sizeof *reqs[k].baseline);
      if (!reqs[k].baseline) st = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
    }
  if (st) goto done;

  sh.inputs = inputs;
  sh.n_inputs = n_inputs;
  sh.n_outputs = n_outputs;
  sh.niter = c.niter;
  size_t started = 0;
  for (size_t k = 0; k < n_req; k++) {
    if (pthread_create(&reqs[k].thread, NULL, request_main, &reqs[k]) != 0) break;
    reqs[k].started = true;
    started++;
  }
  if (started < n_req) atomic_store(&sh.stop, 1);
  pthread_mutex_lock(&sh.mutex);
  while (sh.n_warm < started) pthread_cond_wait(&sh.cond, &sh.mutex);
  double t0 = now_s();
  if (c.duration_s > 0) sh.deadline = t0 + c.duration_s;
  sh.go = true;
  pthread_cond_broadcast(&sh.cond);
  pthread_mutex_unlock(&sh.mutex);
  double last_print = 0;
  while (atomic_load(&sh.finished) < (int)started) {
    struct timespec nap = {0, 20 * 1000 * 1000};
    nanosleep(&nap, NULL);
    double t = now_s();
    if (t - last_print >= 0.25) {
      print_progress(&sh, t0, &c);
      last_print = t;
    }
  }
  for (size_t k = 0; k < n_req; k++)
    if (reqs[k].started) pthread_join(reqs[k].thread, NULL);
  print_progress(&sh, t0, &c);
  fputc('\n', stderr);
  if (started < n_req) {
    st = lens_status_create(LENS_ERR_RUNTIME, "could not start request thread %zu", started);
    goto done;
  }
  for (size_t k = 0; k < n_req && !st; k++)
    if (reqs[k].error) {
      st = reqs[k].error;
      reqs[k].error = NULL;
    }
  if (st) goto done;

  size_t n_all = 0;
  double t_end = t0, warmup_ms = 0;
  for (size_t k = 0; k < n_req; k++) {
    n_all += reqs[k].n_lat;
    if (reqs[k].end_s > t_end) t_end = reqs[k].end_s;
    if (reqs[k].warmup_ms > warmup_ms) warmup_ms = reqs[k].warmup_ms;
  }
  all = malloc((n_all + 1) * sizeof *all);
  if (!all) {
    st = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
    goto done;
  }
  for (size_t k = 0, at = 0; k < n_req; k++) {
    memcpy(all + at, reqs[k].lat_ms, reqs[k].n_lat * sizeof *all);
    at += reqs[k].n_lat;
  }
  latency_stats lat = compute_stats(all, n_all);
  double wall = t_end - t0;
  double fps = wall > 0 ? (double)n_all * (double)batch / wall : NAN;

  if (c.pc) {
    rows = collect_layers(reqs, n_req, sh.n_nodes, c.pcsort);
    if (!rows) {
      st = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
      goto done;
    }
    print_layers(rows, sh.n_nodes);
  }

  printf("\nwarm-up    %.2f ms (first run, excluded)\n", warmup_ms);
  printf("iterations %zu (%lld frames) in %.3f s\n", n_all, (long long)n_all * (long long)batch,
         wall);
  printf("latency    min %.3f  median %.3f  p90 %.3f  p99 %.3f  max %.3f ms (mean %.3f)\n",
         lat.min, lat.median, lat.p90, lat.p99, lat.max, lat.mean);
  printf("throughput %.2f frames/s\n", fps);
  printf("compute    %.2f GFLOP/s (%.3f GFLOP per frame)\n", gflop_per_frame * fps,
         gflop_per_frame);

  if (report) {
    st = write_report(report, c.report_path, &c, batch, s0, &lat, fps, gflop_per_frame, n_all,
                      wall, rows, c.pc ? sh.n_nodes : 0);
    report = NULL;
  }
  if (!st) rc = 0;

done:
  if (report) fclose(report); /* a failed run leaves an empty report */
  if (st) {
    fprintf(stderr, "lens-bench: %s\n", lens_status_message(st));
    lens_status_free(st);
  }
  pthread_mutex_destroy(&sh.mutex);
  pthread_cond_destroy(&sh.cond);
  for (size_t k = 0; reqs && k < n_req; k++) {
    lens_status_free(reqs[k].error);
    lens_session_free(reqs[k].session);
    free(reqs[k].outputs);
    free(reqs[k].lat_ms);
    free(reqs[k].baseline);
  }
  free(reqs);
  free(rows);
  free(all);
  for (size_t i = 0; inputs && i < n_inputs; i++) {
    if (i < c.n_input_paths) lens_tensor_free(&inputs[i]);
    else free(inputs[i].data);
  }
  free(inputs);
  lens_bound_shapes_free(&bound);
  lens_model_free(model);
  return rc;
}
