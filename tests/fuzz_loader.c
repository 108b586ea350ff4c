/* Fuzz target for the ONNX loader: any byte string must give a model or a status, never a
 * crash, a hang or a leak.
 *
 * libFuzzer build (meson -Dfuzzer=true with clang): the fuzz_loader_libfuzzer binary, run as
 *   fuzz_loader_libfuzzer -max_len=65536 CORPUS_DIR tests/fuzz/corpus
 *
 * Standalone build (-DLENS_FUZZ_STANDALONE): fuzz_loader PATH... runs the target over every
 * file under the given files and directories, and over deterministic mutations of each:
 * truncations at every 1/16th, single-byte flips at 64 pseudo-random positions (a fixed
 * xorshift seed), all 64 flips at once, and a few insertions. A crash is the failure: the
 * process dies (under ASan with a report) and names the input it was running. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lens/lens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touch_desc(const lens_tensor_desc *d) {
  if (!d) return 0;
  size_t n = d->name ? strlen(d->name) : 0;
  n += lens_dtype_size(d->dtype);
  if (d->rank > LENS_MAX_RANK) abort(); /* a descriptor the API promises never to hand out */
  for (int i = 0; i < d->rank; i++) {
    n += (size_t)d->dims[i];
    if (d->dim_params[i]) n += strlen(d->dim_params[i]);
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const uint8_t empty[1];
  lens_model *model = NULL;
  lens_status *st = lens_model_load_memory(size ? (const void *)data : empty, size, NULL, &model);
  if (st) {
    /* An error: it must carry a message and a real error code, and no model. */
    const char *msg = lens_status_message(st);
    lens_status_code code = lens_status_get_code(st);
    if (!msg || code == LENS_OK || model) abort();
    volatile size_t sink = strlen(msg);
    (void)sink;
  } else {
    if (!model) abort();
    volatile size_t sink = 0;
    for (size_t i = 0; i < lens_model_input_count(model); i++)
      sink += touch_desc(lens_model_input(model, i));
    for (size_t i = 0; i < lens_model_output_count(model); i++)
      sink += touch_desc(lens_model_output(model, i));
    sink += lens_model_node_count(model) + (size_t)lens_model_opset(model);
    (void)sink;
  }
  lens_status_free(st);
  lens_model_free(model);
  return 0;
}

#ifdef LENS_FUZZ_STANDALONE

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define LENS_FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LENS_FUZZ_ASAN 1
#endif
#endif

/* Mutated shapes can ask for up to LENS_MAX_TENSOR_BYTES; with MALLOC_PERTURB_ (set by meson
 * test) glibc would fill such a block byte by byte. A 4 GiB address-space cap makes those
 * allocations fail fast instead (not under ASan, which reserves terabytes; LENS_TEST_NO_RLIMIT
 * skips it). Oversized allocations are test_hostile_models' and libFuzzer's business. */
static void cap_address_space(void) {
#ifndef LENS_FUZZ_ASAN
  if (getenv("LENS_TEST_NO_RLIMIT")) return;
  struct rlimit rl;
  const rlim_t cap = (rlim_t)4 << 30;
  if (getrlimit(RLIMIT_AS, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > cap)) {
    rl.rlim_cur = cap;
    setrlimit(RLIMIT_AS, &rl);
  }
#endif
}

/* What is running now, for the crash report (a fixed buffer: read in a signal handler). */
static char current_input[1024];
static unsigned long long inputs_run;

static void report_current(void) {
  static const char head[] = "\nfuzz_loader: CRASH while running ";
  ssize_t r = write(2, head, sizeof head - 1);
  r = write(2, current_input, strlen(current_input));
  r = write(2, "\n", 1);
  (void)r;
}

static void on_fatal_signal(int sig) {
  report_current();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Called by the sanitizers when they report an error and are about to exit (weak: absent
 * without a sanitizer runtime). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static void install_crash_reporting(void) {
  static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    /* leave a sanitizer's handler in place: its report is better than ours */
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
      signal(sigs[i], on_fatal_signal);
  }
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(report_current);
}

static void run_one(const char *path, const char *what, const uint8_t *data, size_t size) {
  snprintf(current_input, sizeof current_input, "%s (%s, %zu bytes)", path, what, size);
  LLVMFuzzerTestOneInput(data, size);
  inputs_run++;
}

static uint64_t xorshift64(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "fuzz_loader: cannot open %s: %s\n", path, strerror(errno));
    return 0;
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (!buf) break;
    if (n == cap) {
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    if (got == 0) break;
    n += got;
  }
  fclose(f);
  if (!buf) {
    fprintf(stderr, "fuzz_loader: out of memory reading %s\n", path);
    return 0;
  }
  char what[64];
  run_one(path, "original", buf, n);
  if (n > 0) {
    /* truncations at every 1/16th */
    for (int k = 0; k < 16; k++) {
      size_t cut = n * (size_t)k / 16;
      snprintf(what, sizeof what, "truncated at %zu", cut);
      run_one(path, what, buf, cut);
    }
    uint8_t *mut = malloc(n + 64);
    if (!mut) {
      free(buf);
      return 0;
    }
    /* one byte flipped at 64 pseudo-random positions, one at a time, then all at once */
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    memcpy(mut, buf, n);
    for (int k = 0; k < 64; k++) {
      size_t pos = (size_t)(xorshift64(&seed) % n);
      uint8_t x = (uint8_t)(xorshift64(&seed) % 255 + 1);
      uint8_t old = mut[pos];
      mut[pos] ^= x;
      snprintf(what, sizeof what, "byte %zu ^= 0x%02x", pos, x);
      run_one(path, what, mut, n);
      mut[pos] = old;
    }
    for (int k = 0; k < 64; k++) {
      size_t pos = (size_t)(xorshift64(&seed) % n);
      mut[pos] ^= (uint8_t)(xorshift64(&seed) % 255 + 1);
    }
    run_one(path, "64 bytes flipped", mut, n);
    /* insertions: a maximal varint, a zero, random bytes, a copy of a chunk of the input */
    static const uint8_t varint_max[10] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0xff, 0x01};
    for (int k = 0; k < 4; k++) {
      size_t pos = (size_t)(xorshift64(&seed) % (n + 1));
      uint8_t ins[32];
      size_t len;
      if (k == 0) {
        memcpy(ins, varint_max, sizeof varint_max);
        len = sizeof varint_max;
      } else if (k == 1) {
        ins[0] = 0;
        len = 1;
      } else if (k == 2) {
        len = 8;
        for (size_t i = 0; i < len; i++) ins[i] = (uint8_t)xorshift64(&seed);
      } else {
        size_t from = (size_t)(xorshift64(&seed) % n);
        len = n - from < sizeof ins ? n - from : sizeof ins;
        memcpy(ins, buf + from, len);
      }
      memcpy(mut, buf, pos);
      memcpy(mut + pos, ins, len);
      memcpy(mut + pos + len, buf + pos, n - pos);
      snprintf(what, sizeof what, "%zu bytes inserted at %zu", len, pos);
      run_one(path, what, mut, n + len);
    }
    free(mut);
  }
  free(buf);
  return 1;
}

/* Files directly named are always run; under directories, regular files (symlinks are not
 * followed, so a hostile corpus cannot send the walk elsewhere). Returns files run. */
static long run_path(const char *path, int top) {
  struct stat sb;
  if ((top ? stat(path, &sb) : lstat(path, &sb)) != 0) {
    fprintf(stderr, "fuzz_loader: %s: %s\n", path, strerror(errno));
    return top ? -1 : 0;
  }
  if (S_ISREG(sb.st_mode)) return run_file(path);
  if (!S_ISDIR(sb.st_mode)) return 0;
  DIR *d = opendir(path);
  if (!d) {
    fprintf(stderr, "fuzz_loader: %s: %s\n", path, strerror(errno));
    return top ? -1 : 0;
  }
  /* sorted, so runs are reproducible */
  char **names = NULL;
  size_t count = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (count == cap) {
      cap = cap ? cap * 2 : 64;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) break;
      names = nn;
    }
    names[count] = strdup(e->d_name);
    if (names[count]) count++;
  }
  closedir(d);
  for (size_t i = 1; i < count; i++)
    for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
      char *t = names[j];
      names[j] = names[j - 1];
      names[j - 1] = t;
    }
  long files = 0;
  for (size_t i = 0; i < count; i++) {
    size_t plen = strlen(path), nlen = strlen(names[i]);
    char *child = malloc(plen + 1 + nlen + 1);
    if (child) {
      memcpy(child, path, plen);
      child[plen] = '/';
      memcpy(child + plen + 1, names[i], nlen + 1);
      long r = run_path(child, 0);
      if (r > 0) files += r;
      free(child);
    }
    free(names[i]);
  }
  free(names);
  return files;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  install_crash_reporting();
  cap_address_space();
  long files = 0;
  for (int i = 1; i < argc; i++) {
    long r = run_path(argv[i], 1);
    if (r < 0) return 2;
    files += r;
  }
  if (files == 0) {
    fprintf(stderr, "fuzz_loader: no input files\n");
    return 2;
  }
  printf("fuzz_loader: ran %llu inputs from %ld files without a crash\n", inputs_run, files);
  /* each seed file, with all its mutations, is one test case */
  printf("%ld passed, 0 failed\n", files);
  return 0;
}

#endif /* LENS_FUZZ_STANDALONE */
