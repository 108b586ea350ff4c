/* Bad-input tests for the ONNX loader.
 *
 *   test_hostile_models DIR
 *
 * DIR is what scripts/gen_hostile_models.py wrote: model files and DIR/cases.txt, one case a
 * line: FILENAME<TAB>EXPECTED_CODE<TAB>EXPECTED_SUBSTRING ('#' lines are comments).
 * EXPECTED_CODE is OK, INVALID_MODEL, UNSUPPORTED or IO; EXPECTED_SUBSTRING ('*' for any)
 * must occur in the error message. Each model is loaded twice, with lens_model_load_file and
 * with lens_model_load_memory (base_dir = the model file's directory), and both must give the
 * expected result. A loader that returns a model together with an error fails the case.
 * Prints PASS/FAIL per case and "N passed, N failed"; exits non-zero on any failure. With
 * LENS_TEST_VERBOSE set in the environment, also prints every expected error message. An
 * optional second argument runs only the cases whose file name contains it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lens/lens.h"

typedef struct code_name {
  const char *name;
  lens_status_code code;
} code_name;

static const code_name codes[] = {
    {"OK", LENS_OK},
    {"INVALID_ARGUMENT", LENS_ERR_INVALID_ARGUMENT},
    {"INVALID_MODEL", LENS_ERR_INVALID_MODEL},
    {"UNSUPPORTED", LENS_ERR_UNSUPPORTED},
    {"IO", LENS_ERR_IO},
    {"OUT_OF_MEMORY", LENS_ERR_OUT_OF_MEMORY},
    {"RUNTIME", LENS_ERR_RUNTIME},
};

static const char *code_to_name(lens_status_code code) {
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    if (codes[i].code == code) return codes[i].name;
  return "?";
}

static int name_to_code(const char *name, lens_status_code *out) {
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    if (strcmp(codes[i].name, name) == 0) {
      *out = codes[i].code;
      return 1;
    }
  return 0;
}

/* Reads a whole file; *size gets its length. The buffer is never NULL on success (an empty
 * file gives a 1-byte allocation) so that load_memory sees a real pointer. */
static unsigned char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, len = 0;
  unsigned char *buf = malloc(cap);
  while (buf) {
    if (len == cap) {
      unsigned char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  if (buf && ferror(f)) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = len;
  return buf;
}

/* Checks one load result; returns 1 if it matches. how is "file" or "memory". */
static int check_result(const char *file, const char *how, lens_status *st, lens_model *model,
                        lens_status_code want, const char *needle) {
  int ok = 1;
  lens_status_code got = st ? lens_status_get_code(st) : LENS_OK;
  const char *msg = lens_status_message(st);
  if (got != want) {
    printf("  %s [%s]: expected %s, got %s: %s\n", file, how, code_to_name(want),
           code_to_name(got), msg);
    ok = 0;
  } else if (want != LENS_OK && strcmp(needle, "*") != 0 && !strstr(msg, needle)) {
    printf("  %s [%s]: %s as expected, but the message lacks \"%s\": %s\n", file, how,
           code_to_name(got), needle, msg);
    ok = 0;
  }
  if (want == LENS_OK && !st && !model) {
    printf("  %s [%s]: succeeded without returning a model\n", file, how);
    ok = 0;
  }
  if (st && model) {
    printf("  %s [%s]: returned a model together with an error\n", file, how);
    ok = 0;
  }
  if (ok && st && getenv("LENS_TEST_VERBOSE"))
    printf("  %s [%s]: %s: %s\n", file, how, code_to_name(got), msg);
  if (!st && model) {
    /* Touch the loaded model's descriptors so a broken one shows up (under ASan/valgrind). */
    for (size_t i = 0; i < lens_model_input_count(model); i++) {
      const lens_tensor_desc *d = lens_model_input(model, i);
      if (!d || !d->name || lens_model_find_input(model, d->name) != (int)i) {
        printf("  %s [%s]: input %zu is inconsistent\n", file, how, i);
        ok = 0;
      }
    }
    for (size_t i = 0; i < lens_model_output_count(model); i++) {
      const lens_tensor_desc *d = lens_model_output(model, i);
      if (!d || !d->name || lens_model_find_output(model, d->name) != (int)i) {
        printf("  %s [%s]: output %zu is inconsistent\n", file, how, i);
        ok = 0;
      }
    }
  }
  lens_model_free(model);
  lens_status_free(st);
  return ok;
}

#if defined(__SANITIZE_ADDRESS__)
#define LENS_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LENS_TEST_ASAN 1
#endif
#endif

/* Loading these small models never needs much memory, but several cases declare shapes of
 * 16 GiB (under LENS_MAX_TENSOR_BYTES) with a few bytes of data: a loader that allocates
 * before checking the data would "succeed" lazily under overcommit. A 4 GiB address-space
 * cap turns that into OUT_OF_MEMORY, which fails the case. ASan reserves terabytes of
 * address space, so there run_hostile.sh caps the largest allocation through ASAN_OPTIONS
 * instead. LENS_TEST_NO_RLIMIT skips the cap (e.g. under valgrind). */
static void cap_address_space(void) {
#ifndef LENS_TEST_ASAN
  if (getenv("LENS_TEST_NO_RLIMIT")) return;
  struct rlimit rl;
  const rlim_t cap = (rlim_t)4 << 30;
  if (getrlimit(RLIMIT_AS, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > cap)) {
    rl.rlim_cur = cap;
    setrlimit(RLIMIT_AS, &rl);
  }
#endif
}

/* A case that hangs (say, a FIFO opened for reading) fails instead of stalling the suite. */
enum { CASE_TIMEOUT_S = 20 };
static char current_case[512];

static void on_alarm(int sig) {
  (void)sig;
  static const char head[] = "FAIL ";
  static const char tail[] = ": hung (no result within the per-case time limit)\n";
  ssize_t r = write(1, head, sizeof head - 1);
  r = write(1, current_case, strlen(current_case));
  r = write(1, tail, sizeof tail - 1);
  (void)r;
  _exit(1);
}

static int run_case(const char *dir, const char *file, lens_status_code want,
                    const char *needle) {
  size_t plen = strlen(dir) + 1 + strlen(file) + 1;
  char *path = malloc(plen);
  char *base = malloc(plen);
  if (!path || !base) {
    free(path);
    free(base);
    printf("  %s: out of memory\n", file);
    return 0;
  }
  snprintf(path, plen, "%s/%s", dir, file);
  /* base_dir for load_memory: the directory holding the model file */
  snprintf(base, plen, "%s", path);
  char *slash = strrchr(base, '/');
  *slash = '\0';

  int ok = 1;
  lens_model *model = NULL;
  lens_status *st = lens_model_load_file(path, &model);
  ok &= check_result(file, "file", st, model, want, needle);

  size_t size = 0;
  unsigned char *bytes = read_file(path, &size);
  if (!bytes) {
    printf("  %s: cannot read %s: %s\n", file, path, strerror(errno));
    ok = 0;
  } else {
    model = NULL;
    st = lens_model_load_memory(bytes, size, base, &model);
    ok &= check_result(file, "memory", st, model, want, needle);
    free(bytes);
  }
  free(path);
  free(base);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR [FILTER]\n", argv[0]);
    return 2;
  }
  signal(SIGALRM, on_alarm);
  cap_address_space();
  const char *dir = argv[1];
  const char *filter = argc > 2 ? argv[2] : NULL;
  size_t mlen = strlen(dir) + sizeof "/cases.txt";
  char *manifest = malloc(mlen);
  if (!manifest) return 2;
  snprintf(manifest, mlen, "%s/cases.txt", dir);
  FILE *f = fopen(manifest, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s: %s\n", manifest, strerror(errno));
    free(manifest);
    return 2;
  }
  int passed = 0, failed = 0, lineno = 0;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0' || line[0] == '#') continue;
    char *file = line;
    char *code = strchr(file, '\t');
    char *needle = code ? strchr(code + 1, '\t') : NULL;
    lens_status_code want;
    if (!code || !needle) {
      printf("FAIL %s:%d: malformed manifest line\n", manifest, lineno);
      failed++;
      continue;
    }
    *code++ = '\0';
    *needle++ = '\0';
    if (!name_to_code(code, &want)) {
      printf("FAIL %s:%d: unknown code %s\n", manifest, lineno, code);
      failed++;
      continue;
    }
    if (filter && !strstr(file, filter)) continue;
    size_t clen = strlen(file) < sizeof current_case ? strlen(file) : sizeof current_case - 1;
    memcpy(current_case, file, clen);
    current_case[clen] = '\0';
    alarm(CASE_TIMEOUT_S);
    int ok = run_case(dir, file, want, needle);
    alarm(0);
    printf("%s %s (%s%s%s)\n", ok ? "PASS" : "FAIL", file, code,
           strcmp(needle, "*") ? ", " : "", strcmp(needle, "*") ? needle : "");
    fflush(stdout);
    if (ok) passed++;
    else failed++;
  }
  fclose(f);
  free(manifest);
  if (passed + failed == 0) {
    printf("no cases in %s/cases.txt\n", dir);
    return 1;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
