/* Shared by the CPU kernel tests: finding a kernel by name, the ISA levels to run, the
 * epilogues every fusing kernel is checked with, and running a kernel against its
 * operator's reference (check_kernel), for convolutions through run_conv. */
#ifndef LENS_TESTS_CPU_KERNEL_CHECK_H
#define LENS_TESTS_CPU_KERNEL_CHECK_H

#include "core/threadpool.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "nn_test_util.h"

static inline const lens_kernel *find_kernel(const char *name) {
  size_t n;
  const lens_kernel *const *all = lens_cpu_kernels(&n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(all[i]->name, name) == 0) return all[i];
  return NULL;
}

static inline int isa_levels(int *levels) {
  lens_cpu_force_isa(-1);
  int best = lens_cpu_isa(), n = 0;
  for (int l = LENS_CPU_ISA_BASELINE; l <= best; l++) levels[n++] = l;
  return n;
}

/* Gives the pool's threads unequal shares of every static split (lens_exec_split), as a
 * session does when thread 0's core runs at half the others' speed: the kernels must cover
 * the same work in parts of other sizes. Kernels only report to the pool; the shares stay
 * until a session settles them. */
static inline void set_unequal_shares(lens_threadpool *pool) {
  lens_thread_speeds *v = lens_threadpool_speeds(pool);
  int n = lens_threadpool_threads(pool);
  v->weighted = true;
  v->at[0] = 0;
  for (int t = 1; t < n; t++) v->at[t] = (uint16_t)(LENS_SPLIT_ONE * (2 * t - 1) / (2 * n - 1));
  v->at[n] = LENS_SPLIT_ONE;
}

/* The epilogues every fusing kernel is checked with: none, residual alone, each activation
 * alone, and residual with an activation. */
static const lens_epilogue epilogues[] __attribute__((unused)) = {
    {NULL, LENS_ACT_NONE, 0, 0, NULL, NULL},
    {NULL, LENS_ACT_RELU, 0, 0, NULL, NULL},
    {NULL, LENS_ACT_CLIP, -0.25f, 0.5f, NULL, NULL},
    {NULL, LENS_ACT_SIGMOID, 0, 0, NULL, NULL},
    {NULL, LENS_ACT_TANH, 0, 0, NULL, NULL},
    {NULL, LENS_ACT_LEAKYRELU, 0.1f, 0, NULL, NULL},
    {NULL, LENS_ACT_HARDSIGMOID, 0.2f, 0.5f, NULL, NULL},
    {NULL, LENS_ACT_HARDSWISH, 0, 0, NULL, NULL},
};
#define N_EPILOGUES (sizeof epilogues / sizeof epilogues[0])

/* Runs the reference op (then the epilogue's plain definition on its output), and the
 * kernel with the epilogue (residual given when with_residual); returns the worst relative
 * difference, INFINITY on a failure. Inputs from 1 on are constant when const_weights. */
static inline double check_kernel(const char *kernel_name, tnode *t, lens_value *in,
                                  int n_in, bool const_weights, const lens_epilogue *epi,
                                  bool with_residual, lens_exec_ctx *ctx) {
  const lens_kernel *k = find_kernel(kernel_name);
  CHECK_MSG(k != NULL, "%s is not registered", kernel_name);
  if (!k) return INFINITY;
  lens_value ref[1];
  lens_status *st = trun(t, in, ref, 1, NULL);
  if (st) {
    fprintf(stderr, "  reference failed: %s\n", lens_status_message(st));
    lens_status_free(st);
    tfree_outputs(ref, 1);
    return INFINITY;
  }
  int64_t n = lens_value_elements(&ref[0]);
  float *residual = NULL;
  lens_epilogue ep = epi ? *epi : (lens_epilogue){0};
  if (with_residual) {
    residual = malloc(sizeof(float) * (size_t)(n + 1));
    fill_random(residual, n, 77);
    ep.residual = residual;
  }
  bool has_ep = epi || with_residual;
  if (has_ep) lens_epilogue_apply(&ep, ref[0].data, 0, (size_t)n);
  lens_value fast = ref[0];
  fast.data = malloc(tval_bytes(&ref[0]) + 64);
  memset(fast.data, 0xff, tval_bytes(&ref[0])); /* NaN: every output must be written */
  double worst = INFINITY;
  lens_value prep_in[8];
  memcpy(prep_in, in, sizeof *in * (size_t)n_in);
  prep_in[0].data = NULL;
  if (!const_weights)
    for (int i = 1; i < n_in; i++) prep_in[i].data = NULL;
  void *state = NULL;
  if (!k->supports(&t->node, prep_in, &fast)) {
    fprintf(stderr, "  %s does not support this case\n", kernel_name);
    goto done;
  }
  if (has_ep && !k->fuses) {
    fprintf(stderr, "  %s does not fuse epilogues\n", kernel_name);
    goto done;
  }
  if (k->prepare && (st = k->prepare(&t->node, prep_in, &fast, &state))) {
    fprintf(stderr, "  prepare failed: %s\n", lens_status_message(st));
    lens_status_free(st);
    goto done;
  }
  size_t scratch = k->scratch_bytes ? k->scratch_bytes(&t->node, prep_in, &fast) : 0;
  lens_exec_ctx local = {0};
  if (!ctx) ctx = &local;
  ctx->scratch = scratch ? aligned_alloc(64, (scratch + 63) / 64 * 64) : NULL;
  ctx->scratch_bytes = scratch;
  ctx->kernel_state = state;
  ctx->epilogue = has_ep ? &ep : NULL;
  st = k->compute(&t->node, in, &fast, ctx);
  free(ctx->scratch);
  ctx->scratch = NULL;
  ctx->scratch_bytes = 0;
  ctx->kernel_state = NULL;
  ctx->epilogue = NULL;
  if (k->release) k->release(state);
  else free(state);
  if (st) {
    fprintf(stderr, "  compute failed: %s\n", lens_status_message(st));
    lens_status_free(st);
    goto done;
  }
  worst = max_rel_diff(fast.data, ref[0].data, n);
done:
  free(fast.data);
  free(residual);
  tfree_outputs(ref, 1);
  return worst;
}

/* ---- convolutions with epilogues -------------------------------------------------------- */

typedef struct conv_case {
  int64_t n, c, h, w, m, kh, kw;
  int64_t stride, dilation, group;
  int64_t pads[4];
  bool bias;
  const char *auto_pad; /* NULL: explicit pads */
} conv_case;

static inline double run_conv(const char *kernel, const conv_case *cc,
                              const lens_epilogue *ep, bool residual, bool const_weights,
                              lens_exec_ctx *ctx) {
  int64_t cg = cc->c / cc->group;
  int64_t xd[4] = {cc->n, cc->c, cc->h, cc->w}, wd[4] = {cc->m, cg, cc->kh, cc->kw};
  int64_t bd[1] = {cc->m};
  int64_t xn = cc->n * cc->c * cc->h * cc->w, wn = cc->m * cg * cc->kh * cc->kw;
  float *x = malloc(sizeof(float) * (size_t)xn), *w = malloc(sizeof(float) * (size_t)wn);
  float *b = malloc(sizeof(float) * (size_t)cc->m);
  fill_random(x, xn, 1);
  fill_random(w, wn, 2);
  fill_random(b, cc->m, 3);
  int64_t strides[2] = {cc->stride, cc->stride}, dil[2] = {cc->dilation, cc->dilation};
  tnode t;
  tnode_init(&t, "Conv", 11, cc->bias ? 3 : 2, 1);
  tnode_ints(&t, "strides", strides, 2);
  tnode_ints(&t, "dilations", dil, 2);
  tnode_int(&t, "group", cc->group);
  if (cc->auto_pad) tnode_string(&t, "auto_pad", cc->auto_pad);
  if (!cc->auto_pad || strcmp(cc->auto_pad, "NOTSET") == 0) tnode_ints(&t, "pads", cc->pads, 4);
  lens_value in[3] = {tval(LENS_DTYPE_FLOAT32, 4, xd, x), tval(LENS_DTYPE_FLOAT32, 4, wd, w),
                      cc->bias ? tval(LENS_DTYPE_FLOAT32, 1, bd, b) : tnone()};
  double diff =
      check_kernel(kernel, &t, in, cc->bias ? 3 : 2, const_weights, ep, residual, ctx);
  tnode_free(&t);
  free(x);
  free(w);
  free(b);
  return diff;
}

/* Runs every case at every ISA level on one thread with every epilogue (and none), each
 * with and without a residual: the fast paths apply some activations (and the residual
 * before them) in registers and the others after the sums are stored. tol is the kernel's
 * named error budget. */
static inline void check_conv_every_epilogue(const char *kernel, const conv_case *cases,
                                             size_t n_cases, double tol) {
  int levels[3], n_levels = isa_levels(levels);
  for (int li = 0; li < n_levels; li++) {
    lens_cpu_force_isa(levels[li]);
    for (size_t i = 0; i < n_cases; i++)
      for (size_t e = 0; e <= N_EPILOGUES; e++)
        for (int residual = 0; residual <= 1; residual++) {
          const lens_epilogue *ep = e < N_EPILOGUES ? &epilogues[e] : NULL;
          double diff = run_conv(kernel, &cases[i], ep, residual, true, NULL);
          CHECK_MSG(diff <= tol, "%s case %zu epilogue %zu residual %d isa %s: %g", kernel, i,
                    e, residual, lens_cpu_isa_name(levels[li]), diff);
        }
  }
  lens_cpu_force_isa(-1);
}

#endif
