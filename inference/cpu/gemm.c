/* Single-precision GEMM: GotoBLAS/BLIS blocking (N by NC, K by KC, M by MB), A and B packed
 * into panels of LENS_SGEMM_MR rows and NR columns, and a micro-kernel that keeps an
 * MR x NR tile of C in registers. The micro-kernel is written once with GCC vector
 * extensions and instantiated per ISA through target attributes. */

/* The library is compiled as ISO C11, where GCC does not fuse a * b + c into an FMA; the
 * micro-kernels depend on that fusion. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#endif

#include "cpu/gemm.h"

#include "cpu/epilogue.h"
#include "cpu/prefetch.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#define MR LENS_SGEMM_MR
#define NR_MAX 48
/* Depth of one packed block. Each block costs a pass over C (every tile loaded, summed and
 * stored again): against 256, squeezenet1_1 at two threads ran 6.5% faster and resnet50 3%
 * (its 1x1 convolutions, K 512-2048, 3.7%), 8 paired rounds each; one thread unchanged,
 * except a 7x7 3x3 convolution of 512 channels, whose gathered B panel (KC x 48, 96 KB)
 * no longer fits L1: 3% slower. Sub-blocking that panel at 256 made it 22% slower instead:
 * each sub-block then reads every A panel in strides, not as one stream. */
#define KC 512
#define NC 3072     /* columns of one packed B block (a multiple of every NR) */
#define MB 1536     /* rows of one packed A block (a multiple of MR) */
#define TASK_ROWS 96 /* rows of C per parallel task (a multiple of MR) */

/* Below this many multiply-adds a call runs on the calling thread only: a hand-off to the
 * session's threads costs about 18 us here (a condition-variable wake-up), the time of some
 * 2-3 million multiply-adds. */
#define SERIAL_MACS (2.0 * 1024.0 * 1024.0)

/* The epilogue of a full MR x NR tile, applied to the sums in registers before the one
 * store: C = act((C + bias[row]) + residual), with the same operations in the same order as
 * lens_cpu_epilogue_fn, so that both give the same bits. Activations whose vector form would
 * differ (FMA contraction, library calls) are left to the per-row epilogue. */
typedef struct tile_epi {
  const float *bias;     /* MR values (one per row), or NULL */
  const float *residual; /* the tile's first element, ldr apart, or NULL */
  int64_t ldr;
  lens_activation_kind act; /* NONE, RELU, CLIP, LEAKYRELU or HARDSWISH */
  float lo, hi;
} tile_epi;

typedef void (*ukr_fn)(int64_t kc, const float *pa, const float *pb, int64_t ldpb, float *c,
                       int64_t ldc, int mr, int nr, float alpha, float beta,
                       const tile_epi *te);

/* Distance, in floats, at which the micro-kernel prefetches the packed A stream: the
 * weights of a layer are read once per run, from memory rather than cache, and with few
 * columns of C per row of A the hardware prefetcher alone leaves the kernel waiting. */
#define A_PREFETCH_FLOATS 512

/* The common full tiles, C = act((acc + bias) + residual) and, for a K block after the first,
 * C += acc (alpha 1, beta 0 or 1): one copy of the store per activation and residual or
 * none, unrolled, so that the sums are stored from the registers they were summed in. A
 * loop over the tile that decides per vector keeps the sums in memory instead (all 24 stored
 * and reloaded: at K 64, 15% of the kernel's time was outside its K loop). Same operations
 * in the same order as the general path below, so the same bits. */
#define LENS_UKR_STORE_ROWS(NAME, VL, NV, RP, ACCUM, EPI, ACT, HAS_RES)                       \
  do {                                                                                        \
    _Pragma("GCC unroll 16") for (int i = 0; i < RP; i++) {                                   \
      float bias_s = EPI && te->bias ? te->bias[r0 + i] : 0.0f;                               \
      _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) {                                  \
        NAME##_vec r = acc[i][v];                                                             \
        if (ACCUM) {                                                                          \
          NAME##_vec old;                                                                     \
          memcpy(&old, c + i * ldc + v * VL, sizeof old);                                     \
          r = r + old;                                                                        \
        }                                                                                     \
        if (EPI) {                                                                            \
          r = r + bias_s;                                                                     \
          if (HAS_RES) {                                                                      \
            NAME##_vec x;                                                                     \
            memcpy(&x, te->residual + (r0 + i) * te->ldr + v * VL, sizeof x);                 \
            r = r + x;                                                                        \
          }                                                                                   \
          r = NAME##_act(r, ACT, te->lo, te->hi);                                             \
        }                                                                                     \
        memcpy(c + i * ldc + v * VL, &r, sizeof r);                                           \
      }                                                                                       \
    }                                                                                         \
  } while (0)
#define LENS_UKR_STORE_CASE(NAME, VL, NV, RP, ACCUM, ACT, HAS_RES)                            \
  case ACT: LENS_UKR_STORE_ROWS(NAME, VL, NV, RP, ACCUM, true, ACT, HAS_RES); break
#define LENS_UKR_STORE_ACT(NAME, VL, NV, RP, ACCUM, HAS_RES)                                  \
  do {                                                                                        \
    switch (te->act) {                                                                        \
      LENS_UKR_STORE_CASE(NAME, VL, NV, RP, ACCUM, LENS_ACT_RELU, HAS_RES);                   \
      LENS_UKR_STORE_CASE(NAME, VL, NV, RP, ACCUM, LENS_ACT_CLIP, HAS_RES);                   \
      LENS_UKR_STORE_CASE(NAME, VL, NV, RP, ACCUM, LENS_ACT_LEAKYRELU, HAS_RES);              \
      LENS_UKR_STORE_CASE(NAME, VL, NV, RP, ACCUM, LENS_ACT_HARDSWISH, HAS_RES);              \
    default:                                                                                  \
      LENS_UKR_STORE_ROWS(NAME, VL, NV, RP, ACCUM, true, LENS_ACT_NONE, HAS_RES);             \
      break;                                                                                  \
    }                                                                                         \
  } while (0)
#define LENS_UKR_STORE_TILE(NAME, VL, NV, RP, ACCUM, TE)                                      \
  do {                                                                                        \
    if (!(TE)) {                                                                              \
      LENS_UKR_STORE_ROWS(NAME, VL, NV, RP, ACCUM, false, LENS_ACT_NONE, false);              \
    } else if ((TE)->residual) {                                                              \
      LENS_UKR_STORE_ACT(NAME, VL, NV, RP, ACCUM, true);                                      \
    } else {                                                                                  \
      LENS_UKR_STORE_ACT(NAME, VL, NV, RP, ACCUM, false);                                     \
    }                                                                                         \
  } while (0)

/* C[0:mr, 0:nr] = alpha * acc + beta * C (C not read when beta == 0), acc being the MR x NR
 * product of the packed panel pa (kc x MR) and pb (kc rows of NR, ldpb apart: NR when
 * packed, B's own leading dimension when read in place); then te's epilogue (full tiles
 * only; te NULL: none). NR is VL * NV; the rows go RP at a time. AVX-512 keeps the whole
 * 8 x 48 tile in 24 of its 32 registers (3 loads and 8 broadcasts per 24 FMAs: 10% faster
 * than 6 x 32 here); AVX2 (4 x 24, 12 sums) and the baseline, with 16 registers, take the 8
 * rows in two passes of 4 over the same B panel. */
#define LENS_DEFINE_UKR(NAME, ATTR, VL, NV, RP)                                               \
  typedef float NAME##_vec __attribute__((vector_size(VL * sizeof(float))));                  \
  typedef int32_t NAME##_ivec __attribute__((vector_size(VL * sizeof(float))));               \
  /* where m is set, a; else b */                                                             \
  ATTR static inline NAME##_vec NAME##_select(NAME##_ivec m, NAME##_vec a, NAME##_vec b) {    \
    return (NAME##_vec)(((NAME##_ivec)a & m) | ((NAME##_ivec)b & ~m));                        \
  }                                                                                           \
  /* act a constant where this is inlined: the switch is then resolved at compile time */     \
  ATTR static inline __attribute__((always_inline)) NAME##_vec NAME##_act(                    \
      NAME##_vec v, lens_activation_kind act, float lo_s, float hi_s) {                       \
    NAME##_vec zero = (NAME##_vec){0};                                                        \
    switch (act) {                                                                            \
    case LENS_ACT_RELU: return NAME##_select(v > zero, v, zero);                              \
    case LENS_ACT_CLIP: {                                                                     \
      NAME##_vec lo = zero + lo_s, hi = zero + hi_s;                                          \
      return NAME##_select(v < lo, lo, NAME##_select(v > hi, hi, v));                         \
    }                                                                                         \
    case LENS_ACT_LEAKYRELU: return NAME##_select(v >= zero, v, v * lo_s);                    \
    case LENS_ACT_HARDSWISH: {                                                                \
      NAME##_vec t = v / 6.0f + 0.5f, one = zero + 1.0f;                                      \
      return v * NAME##_select(t < zero, zero, NAME##_select(t > one, one, t));               \
    }                                                                                         \
    default: return v;                                                                        \
    }                                                                                         \
  }                                                                                           \
  ATTR static inline NAME##_vec NAME##_epi(const tile_epi *te, NAME##_vec v, float bias,      \
                                           const float *res) {                                \
    v = v + bias;                                                                             \
    if (res) {                                                                                \
      NAME##_vec r;                                                                           \
      memcpy(&r, res, sizeof r);                                                              \
      v = v + r;                                                                              \
    }                                                                                         \
    return NAME##_act(v, te->act, te->lo, te->hi);                                            \
  }                                                                                           \
  /* RP rows of the panel (from row r0 of the tile) against NR columns: RP x NV sums stay in \
   * registers, which is why ISAs with fewer registers take the MR rows in several passes */ \
  ATTR static inline __attribute__((always_inline)) void NAME##_pass(                         \
      int64_t kc, const float *restrict pa, const float *restrict pb, int64_t ldpb,           \
      float *restrict c, int64_t ldc, int mr, int nr, float alpha, float beta,                \
      const tile_epi *te, int r0) {                                                           \
    enum { NR = VL * NV };                                                                    \
    NAME##_vec acc[RP][NV];                                                                   \
    for (int i = 0; i < RP; i++)                                                              \
      for (int v = 0; v < NV; v++) acc[i][v] = (NAME##_vec){0};                               \
    for (int64_t p = 0; p < kc; p++) {                                                        \
      NAME##_vec bv[NV];                                                                      \
      for (int v = 0; v < NV; v++) memcpy(&bv[v], pb + v * VL, sizeof bv[v]);                \
      if (r0 == 0) __builtin_prefetch(pa + A_PREFETCH_FLOATS);                                \
      for (int i = 0; i < RP; i++) {                                                          \
        float av = pa[i];                                                                     \
        for (int v = 0; v < NV; v++) acc[i][v] += av * bv[v];                                 \
      }                                                                                       \
      pa += MR;                                                                               \
      pb += ldpb;                                                                             \
    }                                                                                         \
    if (mr == RP && nr == NR && alpha == 1.0f && beta == 0.0f) {                              \
      LENS_UKR_STORE_TILE(NAME, VL, NV, RP, false, te);                                       \
      return;                                                                                 \
    }                                                                                         \
    if (mr == RP && nr == NR && alpha == 1.0f && beta == 1.0f) {                              \
      LENS_UKR_STORE_TILE(NAME, VL, NV, RP, true, te);                                        \
      return;                                                                                 \
    }                                                                                         \
    if (mr == RP && nr == NR) {                                                               \
      _Pragma("GCC unroll 16") for (int i = 0; i < RP; i++)                                   \
          _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) {                              \
          float *cp = c + i * ldc + v * VL;                                                   \
          NAME##_vec r = alpha * acc[i][v];                                                   \
          if (beta != 0.0f) {                                                                 \
            NAME##_vec old;                                                                   \
            memcpy(&old, cp, sizeof old);                                                     \
            r += beta * old;                                                                  \
          }                                                                                   \
          if (te)                                                                             \
            r = NAME##_epi(te, r, te->bias ? te->bias[r0 + i] : 0.0f,                         \
                           te->residual ? te->residual + (r0 + i) * te->ldr + v * VL : NULL); \
          memcpy(cp, &r, sizeof r);                                                           \
        }                                                                                     \
      return;                                                                                 \
    }                                                                                         \
    float tile[RP * NR];                                                                      \
    _Pragma("GCC unroll 16") for (int i = 0; i < RP; i++)                                     \
        _Pragma("GCC unroll 8") for (int v = 0; v < NV; v++) {                                \
      NAME##_vec t = acc[i][v];                                                               \
      memcpy(tile + i * NR + v * VL, &t, sizeof t);                                           \
    }                                                                                         \
    for (int i = 0; i < mr; i++)                                                              \
      for (int j = 0; j < nr; j++) {                                                          \
        float r = alpha * tile[i * NR + j];                                                   \
        if (beta != 0.0f) r += beta * c[i * ldc + j];                                         \
        c[i * ldc + j] = r;                                                                   \
      }                                                                                       \
  }                                                                                           \
  ATTR static void NAME(int64_t kc, const float *restrict pa, const float *restrict pb,       \
                        int64_t ldpb, float *restrict c, int64_t ldc, int mr, int nr,         \
                        float alpha, float beta, const tile_epi *te) {                        \
    for (int r0 = 0; r0 < mr; r0 += RP)                                                       \
      NAME##_pass(kc, pa + r0, pb, ldpb, c + r0 * ldc, ldc, mr - r0 < RP ? mr - r0 : RP, nr,  \
                  alpha, beta, te, r0);                                                       \
  }

#if defined(__x86_64__) || defined(__i386__)
#define LENS_GEMM_X86 1
LENS_DEFINE_UKR(ukr_avx512, __attribute__((target("avx512f"))), 16, 3, 8)
LENS_DEFINE_UKR(ukr_avx2, __attribute__((target("avx2,fma"))), 8, 3, 4)
/* two vectors wide, for a last panel of 9 to 16 columns */
LENS_DEFINE_UKR(ukr_avx2_mid, __attribute__((target("avx2,fma"))), 8, 2, 4)
/* one vector wide, for a last panel of at most one vector's columns (read from the packed
 * panel of the full width: the kernels step through B by ldpb) */
LENS_DEFINE_UKR(ukr_avx512_narrow, __attribute__((target("avx512f"))), 16, 1, 8)
/* two vectors wide, for a last panel of 17 to 32 columns */
LENS_DEFINE_UKR(ukr_avx512_mid, __attribute__((target("avx512f"))), 16, 2, 8)
LENS_DEFINE_UKR(ukr_avx2_narrow, __attribute__((target("avx2,fma"))), 8, 1, 8)
#endif
LENS_DEFINE_UKR(ukr_baseline, , 4, 2, 4)
LENS_DEFINE_UKR(ukr_baseline_narrow, , 4, 1, 8)

typedef struct isa_impl {
  int nr;
  ukr_fn ukr;
  int narrow_nr; /* columns of ukr_narrow */
  ukr_fn ukr_narrow;
  int mid_nr; /* columns of ukr_mid, between narrow_nr and nr */
  ukr_fn ukr_mid;
} isa_impl;

static const isa_impl impl_baseline = {8, ukr_baseline, 4, ukr_baseline_narrow, 8,
                                       ukr_baseline};
#ifdef LENS_GEMM_X86
static const isa_impl impl_avx2 = {24, ukr_avx2, 8, ukr_avx2_narrow, 16, ukr_avx2_mid};
static const isa_impl impl_avx512 = {48, ukr_avx512, 16, ukr_avx512_narrow, 32,
                                     ukr_avx512_mid};
#endif

/* The kernel for a panel of cols columns (at most nr), and its width. */
static ukr_fn panel_kernel(const isa_impl *isa, int64_t cols, int *width) {
  if (cols <= isa->narrow_nr) {
    *width = isa->narrow_nr;
    return isa->ukr_narrow;
  }
  if (cols <= isa->mid_nr) {
    *width = isa->mid_nr;
    return isa->ukr_mid;
  }
  *width = isa->nr;
  return isa->ukr;
}

/* ---- ISA selection ---------------------------------------------------------------------- */

static int detected_isa = -1; /* accessed atomically: computed once, on first use */
static int forced_isa = -1;

static int detect_isa(void) {
  int isa = LENS_CPU_ISA_BASELINE;
#ifdef LENS_GEMM_X86
  __builtin_cpu_init();
  /* libgcc's checks include the OS's support for the register state (XGETBV). */
  if (__builtin_cpu_supports("avx512f")) isa = LENS_CPU_ISA_AVX512;
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    isa = LENS_CPU_ISA_AVX2;
#endif
  /* LENS_CPU_ISA caps the level for the whole process, read once (before any session runs):
   * the real-model checks run every path on one machine with it. Other values: no cap. */
  const char *cap = getenv("LENS_CPU_ISA");
  for (int level = LENS_CPU_ISA_BASELINE; cap && level < isa; level++)
    if (strcmp(cap, lens_cpu_isa_name(level)) == 0) return level;
  return isa;
}

int lens_cpu_isa(void) {
  int isa = __atomic_load_n(&detected_isa, __ATOMIC_RELAXED);
  if (isa < 0) {
    isa = detect_isa();
    __atomic_store_n(&detected_isa, isa, __ATOMIC_RELAXED);
  }
  int cap = __atomic_load_n(&forced_isa, __ATOMIC_RELAXED);
  return cap >= 0 && cap < isa ? cap : isa;
}

void lens_cpu_force_isa(int level) { __atomic_store_n(&forced_isa, level, __ATOMIC_RELAXED); }

const char *lens_cpu_isa_in_use(void) { return lens_cpu_isa_name(lens_cpu_isa()); }

const char *lens_cpu_isa_name(int level) {
  switch (level) {
  case LENS_CPU_ISA_AVX512: return "avx512";
  case LENS_CPU_ISA_AVX2: return "avx2";
  default: return "baseline";
  }
}

static const isa_impl *current_impl(void) {
#ifdef LENS_GEMM_X86
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: return &impl_avx512;
  case LENS_CPU_ISA_AVX2: return &impl_avx2;
  default: break;
  }
#endif
  return &impl_baseline;
}

/* ---- packing ---------------------------------------------------------------------------- */

static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Rows [i0, i0 + MR) and depth [p0, p0 + kc) of op(A) into dst (kc x MR), zero-filling rows
 * at or past m. */
static void pack_a_panel(bool trans_a, const float *a, int64_t lda, int64_t m, int64_t i0,
                         int64_t p0, int64_t kc, float *dst) {
  int64_t rows = min64(MR, m - i0);
  if (trans_a) {
    for (int64_t p = 0; p < kc; p++) {
      const float *src = a + (p0 + p) * lda + i0;
      int64_t i = 0;
      for (; i < rows; i++) dst[p * MR + i] = src[i];
      for (; i < MR; i++) dst[p * MR + i] = 0.0f;
    }
  } else {
    for (int64_t i = 0; i < MR; i++) {
      if (i < rows) {
        const float *src = a + (i0 + i) * lda + p0;
        for (int64_t p = 0; p < kc; p++) dst[p * MR + i] = src[p];
      } else {
        for (int64_t p = 0; p < kc; p++) dst[p * MR + i] = 0.0f;
      }
    }
  }
}

/* Columns [j0, j0 + nr_full) and depth [p0, p0 + kc) of op(B) into dst (kc x nr_full),
 * zero-filling columns at or past n. */
static void pack_b_panel(bool trans_b, const float *b, int64_t ldb, int64_t n, int64_t j0,
                         int64_t p0, int64_t kc, int nr_full, float *dst) {
  int64_t cols = min64(nr_full, n - j0);
  if (trans_b) {
    for (int64_t j = 0; j < nr_full; j++) {
      if (j < cols) {
        const float *src = b + (j0 + j) * ldb + p0;
        for (int64_t p = 0; p < kc; p++) dst[p * nr_full + j] = src[p];
      } else {
        for (int64_t p = 0; p < kc; p++) dst[p * nr_full + j] = 0.0f;
      }
    }
  } else {
    for (int64_t p = 0; p < kc; p++) {
      const float *src = b + (p0 + p) * ldb + j0;
      float *d = dst + p * nr_full;
      memcpy(d, src, (size_t)cols * sizeof *d);
      for (int64_t j = cols; j < nr_full; j++) d[j] = 0.0f;
    }
  }
}

size_t lens_sgemm_packed_a_floats(int64_t m, int64_t k) {
  return (size_t)(round_up(m, MR) * k);
}

/* Packed A layout: K blocks of KC in order; within a block of depth kc, the panels of MR
 * rows, each kc x MR. Block p0 starts at round_up(m, MR) * p0. */
void lens_sgemm_pack_a(bool trans_a, int64_t m, int64_t k, const float *a, int64_t lda,
                       float *packed) {
  int64_t m_r = round_up(m, MR);
  for (int64_t p0 = 0; p0 < k; p0 += KC) {
    int64_t kc = min64(KC, k - p0);
    for (int64_t i0 = 0; i0 < m; i0 += MR)
      pack_a_panel(trans_a, a, lda, m, i0, p0, kc, packed + m_r * p0 + i0 * kc);
  }
}

size_t lens_sgemm_workspace_bytes(int64_t m, int64_t n, int64_t k) {
  if (m <= 0 || n <= 0 || k <= 0) return 0;
  int64_t kc = min64(KC, k);
  int64_t a_floats = round_up(min64(m, MB), MR) * kc;
  int64_t b_floats = round_up(min64(n, NC), NR_MAX) * kc;
  /* Each part starts on a 64-byte boundary. */
  return (size_t)(round_up(a_floats, 16) + b_floats) * sizeof(float);
}

/* ---- the blocked product ---------------------------------------------------------------- */

typedef void (*tail_fn)(int64_t kc, const float *pa, int64_t rows, const float *pb,
                        int64_t ldpb, float *c, int64_t ldc, int cols, float alpha, float beta,
                        const lens_sgemm_epilogue *epi, lens_cpu_epilogue_fn fn, int64_t row0,
                        int64_t col0);

typedef struct sgemm_run {
  const isa_impl *isa;
  int64_t m, n, k;
  float alpha, beta;
  bool trans_a, trans_b;
  const float *a, *packed_a, *b;
  int64_t lda, ldb, ldc;
  float *c;
  float *ws_a, *ws_b;
  /* The current block: columns [jc, jc + nc), depth [pc, pc + kc), rows [ic, ic + mb). */
  int64_t jc, nc, pc, kc, ic, mb;
  const float *cur_a; /* packed panels of the current (pc, ic) block */
  int64_t task_cols;  /* columns of C per task (a multiple of NR) */
  int64_t tasks_m;
  bool b_in_place; /* full panels of B are read where they are, not packed */
  lens_sgemm_gather_b gather_b; /* B is never stored: its panels are gathered, or NULL */
  const void *gather_arg;
  /* The next tile's lines of C are asked for, to write, while a tile of the last K block is
   * multiplied. With threads, C's memory was last written by whichever core the arena's
   * previous tenant ran on, and a store to the other core's line waits for it; asked for
   * early, it arrives during the products. Two threads (envab, in one process): squeezenet
   * 3.7%, mobilenet_v2 3.1%, resnet50 0.7% faster; one thread: no change (its lines are its
   * own), so only split products do it. */
  bool prefetch_c;
  const lens_sgemm_epilogue *epi; /* applied to each tile after the last K block */
  lens_cpu_epilogue_fn epi_fn;
  tail_fn tail; /* a last panel of at most TAIL_MAX_COLS columns */
} sgemm_run;

/* One micro-kernel call for the tile of C at (row0, col0) (rows, cols in size), followed by
 * epi when it is the last K block: in registers for a full tile whose activation allows it,
 * else row by row over the stored tile. */
static inline void run_tile(ukr_fn ukr, int width, int64_t kc, const float *pa,
                            const float *pb, int64_t ldpb, float *c, int64_t ldc, int rows,
                            int cols, float alpha, float beta, const lens_sgemm_epilogue *epi,
                            lens_cpu_epilogue_fn epi_fn, int64_t row0, int64_t col0) {
  if (!epi) {
    ukr(kc, pa, pb, ldpb, c, ldc, rows, cols, alpha, beta, NULL);
    return;
  }
  const float *res = epi->residual ? epi->residual + row0 * ldc + col0 : NULL;
  if (rows == MR && cols == width && lens_cpu_epilogue_in_registers(epi->ep)) {
    tile_epi te = {epi->bias ? epi->bias + row0 : NULL, res, ldc,
                   epi->ep ? epi->ep->act : LENS_ACT_NONE, epi->ep ? epi->ep->alpha : 0.0f,
                   epi->ep ? epi->ep->beta : 0.0f};
    ukr(kc, pa, pb, ldpb, c, ldc, rows, cols, alpha, beta, &te);
    return;
  }
  ukr(kc, pa, pb, ldpb, c, ldc, rows, cols, alpha, beta, NULL);
  for (int q = 0; q < rows; q++)
    epi_fn(epi->ep, epi->bias ? epi->bias[row0 + q] : 0.0f, c + q * ldc,
           res ? res + q * ldc : NULL, (size_t)cols);
}

/* ---- a few last columns ------------------------------------------------------------------
 * A last panel of 1 to TAIL_MAX_COLS columns (a 7x7 plane is 48 + 1) would cost a whole
 * vector of columns per row in the micro-kernels: 16 lanes for 1 useful one. Here the vectors
 * run down the rows instead, 8 rows (one packed panel, so MR must be 8) against each column
 * broadcast, two panels at a time: the tail costs in proportion to its columns. The
 * epilogue is applied per element with the operations of the vector one (same bits). */

#define TAIL_MAX_COLS 7

_Static_assert(MR == 8, "the tail kernel holds a packed panel's rows in one 8-float vector");

static inline float tail_epi(const lens_sgemm_epilogue *epi, float v, int64_t row,
                             const float *res) {
  v = v + (epi->bias ? epi->bias[row] : 0.0f);
  if (res) v = v + *res;
  const lens_epilogue *ep = epi->ep;
  switch (ep ? ep->act : LENS_ACT_NONE) {
  case LENS_ACT_RELU: return v > 0.0f ? v : 0.0f;
  case LENS_ACT_CLIP: return v < ep->alpha ? ep->alpha : v > ep->beta ? ep->beta : v;
  case LENS_ACT_LEAKYRELU: return v >= 0.0f ? v : v * ep->alpha;
  case LENS_ACT_HARDSWISH: {
    float t = v / 6.0f + 0.5f;
    return v * (t < 0.0f ? 0.0f : t > 1.0f ? 1.0f : t);
  }
  default: return v;
  }
}

/* where m is set, a; else b (a macro: a function returning an 8-float vector would change
 * the ABI of the baseline build) */
#define TAIL_SEL(NAME, m, a, b) ((NAME##_v8)(((NAME##_v8i)(a) & (m)) | ((NAME##_v8i)(b) & ~(m))))

#define LENS_DEFINE_TAIL(NAME, ATTR, PAIR)                                                    \
  typedef float NAME##_v8 __attribute__((vector_size(8 * sizeof(float))));                    \
  typedef int32_t NAME##_v8i __attribute__((vector_size(8 * sizeof(float))));                 \
  /* R columns of NP panels (R, NP constants once inlined: the sums stay in registers) */     \
  ATTR static inline __attribute__((always_inline)) void NAME##_sums(                         \
      int R, int NP, int64_t kc, const float *restrict pa, const float *restrict pb,          \
      int64_t ldpb, float out[2][TAIL_MAX_COLS][8]) {                                         \
    NAME##_v8 acc[2][TAIL_MAX_COLS];                                                          \
    for (int q = 0; q < NP; q++)                                                              \
      for (int r = 0; r < R; r++) acc[q][r] = (NAME##_v8){0};                                 \
    for (int64_t p = 0; p < kc; p++) {                                                        \
      NAME##_v8 a[2];                                                                         \
      for (int q = 0; q < NP; q++) memcpy(&a[q], pa + q * MR * kc + p * MR, sizeof a[q]);     \
      for (int r = 0; r < R; r++) {                                                           \
        float bv = pb[p * ldpb + r];                                                          \
        for (int q = 0; q < NP; q++) acc[q][r] += a[q] * bv;                                  \
      }                                                                                       \
    }                                                                                         \
    for (int q = 0; q < NP; q++)                                                              \
      for (int r = 0; r < R; r++) memcpy(out[q][r], &acc[q][r], sizeof acc[q][r]);            \
  }                                                                                           \
  ATTR static inline __attribute__((always_inline)) void NAME##_pair(                         \
      int R, int64_t kc, const float *restrict pa, const float *restrict pb, int64_t ldpb,    \
      float out[2][TAIL_MAX_COLS][8]) {                                                       \
    NAME##_sums(R, 2, kc, pa, pb, ldpb, out);                                                 \
  }                                                                                           \
  /* one panel's 8 rows of the R columns, the rows down a vector: the epilogue's operations   \
   * as tail_epi's (the same bits), without deciding the activation per element */            \
  ATTR static void NAME##_store(float s[TAIL_MAX_COLS][8], int cols, float *c, int64_t ldc,   \
                                float alpha, float beta, const lens_sgemm_epilogue *epi,      \
                                int64_t row, int64_t col0) {                                  \
    NAME##_v8 zero = (NAME##_v8){0}, bias = zero;                                             \
    if (epi && epi->bias) memcpy(&bias, epi->bias + row, sizeof bias);                        \
    const lens_epilogue *ep = epi ? epi->ep : NULL;                                           \
    lens_activation_kind act = ep ? ep->act : LENS_ACT_NONE;                                  \
    NAME##_v8 lo = zero + (ep ? ep->alpha : 0.0f), hi = zero + (ep ? ep->beta : 0.0f);        \
    const float *res = epi && epi->residual ? epi->residual + row * ldc + col0 : NULL;        \
    for (int r = 0; r < cols; r++) {                                                          \
      NAME##_v8 v;                                                                            \
      memcpy(&v, s[r], sizeof v);                                                             \
      v = alpha * v;                                                                          \
      if (beta != 0.0f) {                                                                     \
        NAME##_v8 old;                                                                        \
        for (int l = 0; l < 8; l++) old[l] = c[l * ldc + r];                                  \
        v += beta * old;                                                                      \
      }                                                                                       \
      if (epi) {                                                                              \
        v = v + bias;                                                                         \
        if (res) {                                                                            \
          NAME##_v8 x;                                                                        \
          for (int l = 0; l < 8; l++) x[l] = res[l * ldc + r];                                \
          v = v + x;                                                                          \
        }                                                                                     \
        switch (act) {                                                                        \
        case LENS_ACT_RELU: v = TAIL_SEL(NAME, v > zero, v, zero); break;                     \
        case LENS_ACT_CLIP:                                                                   \
          v = TAIL_SEL(NAME, v < lo, lo, TAIL_SEL(NAME, v > hi, hi, v));                      \
          break;                                                                              \
        case LENS_ACT_LEAKYRELU: v = TAIL_SEL(NAME, v >= zero, v, v * lo); break;             \
        case LENS_ACT_HARDSWISH: {                                                            \
          NAME##_v8 t = v / 6.0f + 0.5f, one = zero + 1.0f;                                   \
          v = v * TAIL_SEL(NAME, t < zero, zero, TAIL_SEL(NAME, t > one, one, t));            \
          break;                                                                              \
        }                                                                                     \
        default: break;                                                                       \
        }                                                                                     \
      }                                                                                       \
      for (int l = 0; l < 8; l++) c[l * ldc + r] = v[l];                                      \
    }                                                                                         \
  }                                                                                           \
  ATTR static void NAME(int64_t kc, const float *pa, int64_t rows, const float *pb,           \
                        int64_t ldpb, float *c, int64_t ldc, int cols, float alpha,           \
                        float beta, const lens_sgemm_epilogue *epi, lens_cpu_epilogue_fn fn,  \
                        int64_t row0, int64_t col0) {                                         \
    float sums[2][TAIL_MAX_COLS][8];                                                          \
    bool inline_epi = epi && lens_cpu_epilogue_in_registers(epi->ep);                         \
    for (int64_t i0 = 0; i0 < rows; i0 += 2 * MR) {                                           \
      int np = rows - i0 > MR ? 2 : 1;                                                        \
      const float *pp = pa + i0 * kc;                                                         \
      switch (np * 8 + cols) {                                                                \
      case 9: NAME##_sums(1, 1, kc, pp, pb, ldpb, sums); break;                               \
      case 10: NAME##_sums(2, 1, kc, pp, pb, ldpb, sums); break;                              \
      case 11: NAME##_sums(3, 1, kc, pp, pb, ldpb, sums); break;                              \
      case 12: NAME##_sums(4, 1, kc, pp, pb, ldpb, sums); break;                              \
      case 13: NAME##_sums(5, 1, kc, pp, pb, ldpb, sums); break;                              \
      case 14: NAME##_sums(6, 1, kc, pp, pb, ldpb, sums); break;                              \
      case 15: NAME##_sums(7, 1, kc, pp, pb, ldpb, sums); break;                              \
      case 17: PAIR(1, kc, pp, pb, ldpb, sums); break;                                        \
      case 18: PAIR(2, kc, pp, pb, ldpb, sums); break;                                        \
      case 19: PAIR(3, kc, pp, pb, ldpb, sums); break;                                        \
      case 20: PAIR(4, kc, pp, pb, ldpb, sums); break;                                        \
      case 21: PAIR(5, kc, pp, pb, ldpb, sums); break;                                        \
      case 22: PAIR(6, kc, pp, pb, ldpb, sums); break;                                        \
      default: PAIR(7, kc, pp, pb, ldpb, sums); break;                                        \
      }                                                                                       \
      /* whole panels of rows a vector at a time; a last short one, or an epilogue that       \
       * needs the library, per element below */                                              \
      int64_t whole = !epi || inline_epi ? (rows - i0) / MR : 0;                              \
      if (whole > np) whole = np;                                                             \
      for (int q = 0; q < whole; q++)                                                         \
        NAME##_store(sums[q], cols, c + (i0 + q * MR) * ldc, ldc, alpha, beta, epi,           \
                     row0 + i0 + q * MR, col0);                                               \
      for (int64_t i = i0 + whole * MR; i < rows && i < i0 + np * MR; i++) {                  \
        float *crow = c + i * ldc;                                                            \
        const float *res = epi && epi->residual ? epi->residual + (row0 + i) * ldc + col0     \
                                                 : NULL;                                      \
        int q = (int)((i - i0) / MR), l = (int)((i - i0) % MR);                               \
        for (int r = 0; r < cols; r++) {                                                      \
          float v = alpha * sums[q][r][l];                                                    \
          if (beta != 0.0f) v += beta * crow[r];                                              \
          if (inline_epi) v = tail_epi(epi, v, row0 + i, res ? res + r : NULL);               \
          crow[r] = v;                                                                        \
        }                                                                                     \
        if (epi && !inline_epi)                                                               \
          fn(epi->ep, epi->bias ? epi->bias[row0 + i] : 0.0f, crow, res, (size_t)cols);       \
      }                                                                                       \
    }                                                                                         \
  }

#if defined(__x86_64__) || defined(__i386__)
/* Two panels' 16 rows in one 512-bit vector (as 8-float vectors they take twice the
 * multiply-adds), over even and odd steps of the depth in separate sums: R of them alone
 * would wait on their own latency. Against the 8-float form (convbench, base and new
 * alternating, 8 rounds): 1x1 convolutions at 14x14 (196 = 4 x 48 + 4 columns) and 7x7
 * (48 + 1) 1-2% faster at one thread, 1-4% at two. */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) __m512
tail_rows16(const float *pa, int64_t kc, int64_t p) {
  __m512d lo = _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(pa + p * MR)));
  return _mm512_castpd_ps(
      _mm512_insertf64x4(lo, _mm256_castps_pd(_mm256_loadu_ps(pa + MR * kc + p * MR)), 1));
}

__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void
tail_pair_avx512(int R, int64_t kc, const float *restrict pa, const float *restrict pb,
                 int64_t ldpb, float out[2][TAIL_MAX_COLS][8]) {
  __m512 even[TAIL_MAX_COLS], odd[TAIL_MAX_COLS];
  for (int r = 0; r < R; r++) even[r] = odd[r] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + 2 <= kc; p += 2) {
    __m512 a0 = tail_rows16(pa, kc, p), a1 = tail_rows16(pa, kc, p + 1);
    for (int r = 0; r < R; r++) {
      even[r] = _mm512_fmadd_ps(a0, _mm512_set1_ps(pb[p * ldpb + r]), even[r]);
      odd[r] = _mm512_fmadd_ps(a1, _mm512_set1_ps(pb[(p + 1) * ldpb + r]), odd[r]);
    }
  }
  if (p < kc) {
    __m512 a0 = tail_rows16(pa, kc, p);
    for (int r = 0; r < R; r++)
      even[r] = _mm512_fmadd_ps(a0, _mm512_set1_ps(pb[p * ldpb + r]), even[r]);
  }
  for (int r = 0; r < R; r++) {
    __m512 sum = _mm512_add_ps(even[r], odd[r]);
    _mm256_storeu_ps(out[0][r], _mm512_castps512_ps256(sum));
    _mm256_storeu_ps(out[1][r],
                     _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sum), 1)));
  }
}

LENS_DEFINE_TAIL(tail_avx512, __attribute__((target("avx512f"))), tail_pair_avx512)
LENS_DEFINE_TAIL(tail_avx2, __attribute__((target("avx2,fma"))), tail_avx2_pair)
#endif
LENS_DEFINE_TAIL(tail_baseline, , tail_baseline_pair)

static tail_fn current_tail(void) {
#if defined(__x86_64__) || defined(__i386__)
  switch (lens_cpu_isa()) {
  case LENS_CPU_ISA_AVX512: return tail_avx512;
  case LENS_CPU_ISA_AVX2: return tail_avx2;
  default: break;
  }
#endif
  return tail_baseline;
}

static void pack_b_panels(void *arg, size_t begin, size_t end) {
  const sgemm_run *r = arg;
  int nr = r->isa->nr;
  for (size_t q = begin; q < end; q++) {
    int64_t j0 = r->jc + (int64_t)q * nr;
    if (r->b_in_place && j0 + nr <= r->jc + r->nc) continue;
    pack_b_panel(r->trans_b, r->b, r->ldb, r->n, j0, r->pc, r->kc, nr,
                 r->ws_b + (int64_t)q * nr * r->kc);
  }
}

static void pack_a_panels(void *arg, size_t begin, size_t end) {
  const sgemm_run *r = arg;
  for (size_t q = begin; q < end; q++)
    pack_a_panel(r->trans_a, r->a, r->lda, r->m, r->ic + (int64_t)q * MR, r->pc, r->kc,
                 r->ws_a + (int64_t)q * MR * r->kc);
}

static void compute_tasks(void *arg, size_t begin, size_t end) {
  const sgemm_run *r = arg;
  int nr = r->isa->nr;
  /* The first K block applies beta; later ones accumulate. */
  float beta = r->pc == 0 ? r->beta : 1.0f;
  const lens_sgemm_epilogue *epi = r->pc + r->kc >= r->k ? r->epi : NULL;
  for (size_t t = begin; t < end; t++) {
    int64_t tm = (int64_t)t % r->tasks_m, tn = (int64_t)t / r->tasks_m;
    int64_t i_begin = tm * TASK_ROWS, i_end = min64(i_begin + TASK_ROWS, r->mb);
    int64_t j_begin = tn * r->task_cols, j_end = min64(j_begin + r->task_cols, r->nc);
    for (int64_t j = j_begin; j < j_end; j += nr) {
      const float *pb = r->ws_b + j * r->kc;
      int cols = (int)min64(nr, r->nc - j);
      int64_t ldpb = nr;
      int width;
      ukr_fn panel_ukr = panel_kernel(r->isa, cols, &width);
      if (r->b_in_place && cols == nr) {
        pb = r->b + r->pc * r->ldb + r->jc + j;
        ldpb = r->ldb;
      }
      if (cols <= TAIL_MAX_COLS) {
        r->tail(r->kc, r->cur_a + i_begin * r->kc, i_end - i_begin, pb, ldpb,
                r->c + (r->ic + i_begin) * r->ldc + r->jc + j, r->ldc, cols, r->alpha, beta,
                epi, r->epi_fn, r->ic + i_begin, r->jc + j);
        continue;
      }
      for (int64_t i = i_begin; i < i_end; i += MR) {
        const float *pa = r->cur_a + i * r->kc;
        int rows = (int)min64(MR, r->mb - i);
        float *c = r->c + (r->ic + i) * r->ldc + r->jc + j;
        run_tile(panel_ukr, width, r->kc, pa, pb, ldpb, c, r->ldc, rows, cols, r->alpha, beta,
                 epi, r->epi_fn, r->ic + i, r->jc + j);
      }
    }
  }
}

static void run_parallel(lens_exec_ctx *ctx, bool serial, size_t n,
                         void (*fn)(void *arg, size_t begin, size_t end), void *arg) {
  if (serial) fn(arg, 0, n);
  else lens_parallel_for(ctx, n, fn, arg);
}

/* B (not transposed) is read in place rather than packed: packing costs a pass over B, and
 * rows of 48 floats read from B's own rows stream as well as a packed panel. With few rows
 * of C the pass costs as much as the product (MobileNet's 112x112 32 -> 16 convolution:
 * 0.128 -> 0.096 ms in place); with many it still shows (16 -> 96 at 112x112 4% faster at
 * one thread, 6% at two; 512 -> 128 at 28x28 7%; never slower on the 1x1 convolutions of
 * the bundled models). Rows a multiple of 1 KiB apart fall in a few sets of the L1 cache,
 * so a deep panel of them would evict itself; up to 64 rows (3 lines each) still fit those
 * sets' ways. */
static bool read_b_in_place(bool trans_b, int64_t k, int64_t ldb) {
  return !trans_b && (ldb % 256 != 0 || k <= 64);
}

/* C = beta * C, for k == 0. */
static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

static void sgemm_blocked(lens_exec_ctx *ctx, sgemm_run *r, void *workspace) {
  if (r->m <= 0 || r->n <= 0) return;
  if (r->k <= 0) {
    scale_c(r->m, r->n, r->beta, r->c, r->ldc);
    return;
  }
  int threads = ctx ? lens_exec_threads(ctx) : 1;
  r->b_in_place = read_b_in_place(r->trans_b, r->k, r->ldb);
  bool serial = threads <= 1 || (double)r->m * (double)r->n * (double)r->k < SERIAL_MACS;
  int nr = r->isa->nr;
  int64_t kc_max = min64(KC, r->k);
  r->ws_a = workspace;
  r->ws_b = r->ws_a + round_up(round_up(min64(r->m, MB), MR) * kc_max, 16);
  for (r->jc = 0; r->jc < r->n; r->jc += NC) {
    r->nc = min64(NC, r->n - r->jc);
    int64_t panels_n = (r->nc + nr - 1) / nr;
    for (r->pc = 0; r->pc < r->k; r->pc += KC) {
      r->kc = min64(KC, r->k - r->pc);
      run_parallel(ctx, serial, (size_t)panels_n, pack_b_panels, r);
      for (r->ic = 0; r->ic < r->m; r->ic += MB) {
        r->mb = min64(MB, r->m - r->ic);
        int64_t panels_m = (r->mb + MR - 1) / MR;
        if (r->packed_a) {
          r->cur_a = r->packed_a + round_up(r->m, MR) * r->pc + r->ic * r->kc;
        } else {
          run_parallel(ctx, serial, (size_t)panels_m, pack_a_panels, r);
          r->cur_a = r->ws_a;
        }
        /* Tasks: TASK_ROWS x task_cols tiles of C, enough of them to keep every thread
         * busy (about four per thread) but no wider than 256 columns. */
        r->tasks_m = (r->mb + TASK_ROWS - 1) / TASK_ROWS;
        int64_t group = 256 / nr;
        int64_t want = (int64_t)threads * 4;
        while (group > 1 && r->tasks_m * ((panels_n + group - 1) / group) < want) group /= 2;
        r->task_cols = group * nr;
        int64_t tasks_n = (panels_n + group - 1) / group;
        run_parallel(ctx, serial, (size_t)(r->tasks_m * tasks_n), compute_tasks, r);
      }
    }
  }
}

/* ---- one parallel region per call ------------------------------------------------------
 * Each thread computes its own rectangle of C (a range of columns, or of rows when C is
 * narrow) through every K block, packing the B panels it needs into a buffer of its own:
 * no barrier and no shared workspace inside the region. */

/* C[i0:i1, j0:j1] of a prepacked product (i0 a multiple of MR) on the calling thread. */
static void gemm_range(const sgemm_run *r, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  float bbuf[KC * NR_MAX] __attribute__((aligned(64)));
  int nr = r->isa->nr;
  int64_t m_r = round_up(r->m, MR);
  for (int64_t pc = 0; pc < r->k; pc += KC) {
    int64_t kc = min64(KC, r->k - pc);
    float beta = pc == 0 ? r->beta : 1.0f;
    bool last_block = pc + kc >= r->k;
    const lens_sgemm_epilogue *epi = last_block ? r->epi : NULL;
    const float *a_blk = r->packed_a + m_r * pc;
    for (int64_t j = j0; j < j1; j += nr) {
      int cols = (int)min64(nr, j1 - j);
      int width;
      ukr_fn ukr = panel_kernel(r->isa, cols, &width);
      const float *pb = bbuf;
      int64_t ldpb = nr;
      if (r->gather_b) {
        r->gather_b(r->gather_arg, j, cols, pc, kc, nr, bbuf);
      } else if (r->b_in_place && cols == nr) {
        pb = r->b + pc * r->ldb + j;
        ldpb = r->ldb;
      } else if (cols <= TAIL_MAX_COLS && read_b_in_place(r->trans_b, kc, r->ldb)) {
        /* the tail kernel reads just its columns: a 7x7 plane's last one in place, where
         * a panel of the full width (kc x 48, 184 KB at kc 960) was packed around it */
        pb = r->b + pc * r->ldb + j;
        ldpb = r->ldb;
      } else {
        /* a last panel only as wide as the kernel that multiplies it */
        ldpb = cols <= TAIL_MAX_COLS ? cols : width;
        pack_b_panel(r->trans_b, r->b, r->ldb, j1, j, pc, kc, (int)ldpb, bbuf);
      }
      if (cols <= TAIL_MAX_COLS) {
        r->tail(kc, a_blk + i0 * kc, i1 - i0, pb, ldpb, r->c + i0 * r->ldc + j, r->ldc, cols,
                r->alpha, beta, epi, r->epi_fn, i0, j);
        continue;
      }
      for (int64_t i = i0; i < i1; i += MR) {
        int rows = (int)min64(MR, i1 - i);
        float *c = r->c + i * r->ldc + j;
        if (r->prefetch_c && last_block && i + MR < i1)
          for (int q = 0; q < MR && i + MR + q < i1; q++)
            lens_prefetch_for_write(c + (MR + q) * r->ldc, cols);
        run_tile(ukr, width, kc, a_blk + i * kc, pb, ldpb, c, r->ldc, rows, cols, r->alpha,
                 beta, epi, r->epi_fn, i, j);
      }
    }
  }
}

void lens_sgemm_split_cols(const lens_split *s, int64_t n, int part, int64_t *j0,
                           int64_t *j1) {
  lens_split_range(s, n, current_impl()->narrow_nr, part, j0, j1);
}

typedef struct split_job {
  const sgemm_run *r;
  lens_split split;
  bool by_rows;
  /* each part's multiply-adds and time, for the threads' speeds */
  double work[LENS_SPLIT_MAX_PARTS], seconds[LENS_SPLIT_MAX_PARTS];
} split_job;

static double seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void split_part(void *arg, size_t begin, size_t end) {
  split_job *s = arg;
  const sgemm_run *r = s->r;
  for (size_t t = begin; t < end; t++) {
    double start = seconds_now();
    int64_t i0 = 0, i1 = r->m, j0 = 0, j1 = r->n;
    if (s->by_rows) {
      lens_split_range(&s->split, (r->m + MR - 1) / MR, 1, (int)t, &i0, &i1);
      i0 = min64(r->m, i0 * MR);
      i1 = min64(r->m, i1 * MR);
    } else {
      lens_sgemm_split_cols(&s->split, r->n, (int)t, &j0, &j1);
    }
    if (i0 < i1 && j0 < j1) gemm_range(r, i0, i1, j0, j1);
    if (t < LENS_SPLIT_MAX_PARTS) {
      s->work[t] = (double)(i1 - i0) * (double)(j1 - j0) * (double)r->k;
      s->seconds[t] = seconds_now() - start;
    }
  }
}

/* Below this many multiply-adds a threaded call runs on the calling thread only. */
#define SPLIT_MIN_MACS (256.0 * 1024.0)

/* Runs a prepacked product as one parallel region when that pays; false: not done. */
static bool sgemm_split(lens_exec_ctx *ctx, sgemm_run *r) {
  int threads = ctx ? lens_exec_threads(ctx) : 1;
  if (threads <= 1 || r->m <= 0 || r->n <= 0 || r->k <= 0) return false;
  if ((double)r->m * (double)r->n * (double)r->k < SPLIT_MIN_MACS) return false;
  int64_t unit = r->isa->narrow_nr, panels_m = (r->m + MR - 1) / MR;
  if ((r->n + unit - 1) / unit < threads && panels_m < threads) return false;
  split_job s = {.r = r, .by_rows = lens_sgemm_splits_rows(threads, r->m, r->n)};
  lens_exec_split(ctx, threads, &s.split);
  r->b_in_place = !r->gather_b && read_b_in_place(r->trans_b, r->k, r->ldb);
  r->prefetch_c = true;
  lens_parallel_for(ctx, (size_t)threads, split_part, &s);
  lens_exec_split_observe(ctx, &s.split, s.work, s.seconds);
  return true;
}

bool lens_sgemm_splits_rows(int threads, int64_t m, int64_t n) {
  int64_t unit = current_impl()->narrow_nr, panels_m = (m + MR - 1) / MR;
  if (threads <= 1) return false;
  if ((n + unit - 1) / unit < threads) return true;
  /* Column parts under 8 cache lines of each output row (a 14x14 plane's 98 floats at two
   * threads): the threads' lines of every plane interleave, which in the shared machines'
   * slow states costs more than reading the other core's half of B (bench/
   * memory_ownership.c). A chain of 1x1 convolutions at 14x14 on two threads, in such a
   * state: 0.50 ms split in columns, 0.38 in rows (0.66 on one); at 28x28 columns still
   * win (0.43 against 0.81), so the limit stays below a 16x16 plane. Narrower products
   * gain twice: a 7x7 plane's 49 columns split in columns would run part-width panels
   * (32 + 17 lanes of 64), in rows each thread runs 48 and a tail. */
  return n < 128 * (int64_t)threads && panels_m >= 2 * threads;
}

void lens_sgemm_prepacked_range(bool trans_b, int64_t m, int64_t n, int64_t k,
                                const float *packed_a, const float *b, int64_t ldb, float *c,
                                int64_t ldc, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                                const lens_sgemm_epilogue *epilogue) {
  if (i0 >= i1 || j0 >= j1) return;
  sgemm_run r = {
      .isa = current_impl(),
      .tail = current_tail(),
      .m = m, .n = n, .k = k,
      .alpha = 1.0f, .beta = 0.0f,
      .trans_b = trans_b,
      .packed_a = packed_a, .b = b, .ldb = ldb, .ldc = ldc, .c = c,
      .epi = epilogue,
      .epi_fn = lens_cpu_epilogue_select(),
  };
  if (k <= 0) {
    for (int64_t i = i0; i < i1; i++) {
      for (int64_t j = j0; j < j1; j++) c[i * ldc + j] = 0.0f;
      if (epilogue)
        r.epi_fn(epilogue->ep, epilogue->bias ? epilogue->bias[i] : 0.0f, c + i * ldc + j0,
                 epilogue->residual ? epilogue->residual + i * ldc + j0 : NULL,
                 (size_t)(j1 - j0));
    }
    return;
  }
  r.b_in_place = read_b_in_place(trans_b, k, ldb);
  gemm_range(&r, i0, i1, j0, j1);
}

void lens_sgemm(lens_exec_ctx *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n,
                int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                int64_t ldb, float beta, float *c, int64_t ldc, void *workspace) {
  sgemm_run r = {
      .isa = current_impl(),
      .tail = current_tail(),
      .m = m, .n = n, .k = k,
      .alpha = alpha, .beta = beta,
      .trans_a = trans_a, .trans_b = trans_b,
      .a = a, .b = b, .lda = lda, .ldb = ldb, .ldc = ldc, .c = c,
  };
  sgemm_blocked(ctx, &r, workspace);
}

void lens_sgemm_prepacked(lens_exec_ctx *ctx, bool trans_b, int64_t m, int64_t n, int64_t k,
                          float alpha, const float *packed_a, const float *b, int64_t ldb,
                          float beta, float *c, int64_t ldc, void *workspace) {
  sgemm_run r = {
      .isa = current_impl(),
      .tail = current_tail(),
      .m = m, .n = n, .k = k,
      .alpha = alpha, .beta = beta,
      .trans_b = trans_b,
      .packed_a = packed_a, .b = b, .ldb = ldb, .ldc = ldc, .c = c,
  };
  if (sgemm_split(ctx, &r)) return;
  sgemm_blocked(ctx, &r, workspace);
}

void lens_sgemm_prepacked_epilogue(lens_exec_ctx *ctx, bool trans_b, int64_t m, int64_t n,
                                   int64_t k, const float *packed_a, const float *b,
                                   int64_t ldb, float *c, int64_t ldc, void *workspace,
                                   const lens_sgemm_epilogue *epilogue) {
  sgemm_run r = {
      .isa = current_impl(),
      .tail = current_tail(),
      .m = m, .n = n, .k = k,
      .alpha = 1.0f, .beta = 0.0f,
      .trans_b = trans_b,
      .packed_a = packed_a, .b = b, .ldb = ldb, .ldc = ldc, .c = c,
      .epi = epilogue,
      .epi_fn = lens_cpu_epilogue_select(),
  };
  if (k <= 0 && epilogue) {
    /* no K block runs: C is the epilogue of zero */
    sgemm_blocked(ctx, &r, workspace);
    for (int64_t i = 0; i < m; i++)
      r.epi_fn(epilogue->ep, epilogue->bias ? epilogue->bias[i] : 0.0f, c + i * ldc,
               epilogue->residual ? epilogue->residual + i * ldc : NULL, (size_t)n);
    return;
  }
  if (sgemm_split(ctx, &r)) return;
  sgemm_blocked(ctx, &r, workspace);
}

void lens_sgemm_prepacked_gather(lens_exec_ctx *ctx, int64_t m, int64_t n, int64_t k,
                                 const float *packed_a, lens_sgemm_gather_b gather_b,
                                 const void *gather_arg, float *c, int64_t ldc,
                                 const lens_sgemm_epilogue *epilogue) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  sgemm_run r = {
      .isa = current_impl(),
      .tail = current_tail(),
      .m = m, .n = n, .k = k,
      .alpha = 1.0f, .beta = 0.0f,
      .packed_a = packed_a, .ldc = ldc, .c = c,
      .epi = epilogue,
      .epi_fn = lens_cpu_epilogue_select(),
      .gather_b = gather_b, .gather_arg = gather_arg,
  };
  if (sgemm_split(ctx, &r)) return;
  gemm_range(&r, 0, m, 0, n);
}
