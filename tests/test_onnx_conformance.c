/* ONNX's own backend node tests (Debian libonnx-testdata) as a test suite: every test whose
 * operators Lens supports must pass at ONNX's tolerances (rtol 1e-3, atol 1e-7), except the
 * cases listed with a reason in tests/conformance_skip.txt.
 *
 *   test_onnx_conformance NODE_TEST_DIR SKIP_FILE [FILTER] */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "onnx.pb-c.h"
#include "ops/op.h"
#include "testfolder.h"

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 if every node's operator is in Lens's table, 0 if not, -1 if the model is unreadable. */
static int ops_supported(const char *model_path, char *missing, size_t missing_size) {
  uint8_t *data;
  size_t size;
  lens_status *st = lens_read_file(model_path, (size_t)1 << 30, &data, &size);
  if (st) {
    lens_status_free(st);
    return -1;
  }
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, data);
  free(data);
  if (!mp || !mp->graph) {
    if (mp) onnx__model_proto__free_unpacked(mp, NULL);
    return -1;
  }
  int ok = 1;
  for (size_t i = 0; i < mp->graph->n_node && ok; i++) {
    const Onnx__NodeProto *n = mp->graph->node[i];
    if (!lens_op_find(n->domain ? n->domain : "", n->op_type ? n->op_type : "")) {
      snprintf(missing, missing_size, "%s", n->op_type ? n->op_type : "?");
      ok = 0;
    }
  }
  onnx__model_proto__free_unpacked(mp, NULL);
  return ok;
}

typedef struct skip_list {
  char **names;
  int n;
} skip_list;

static void load_skips(const char *path, skip_list *s) {
  s->names = NULL;
  s->n = 0;
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[1024];
  int cap = 0;
  while (fgets(line, sizeof line, f)) {
    char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '#' || *p == '\n' || !*p) continue;
    size_t len = strcspn(p, " \t\n#");
    if (s->n == cap) {
      cap = cap ? cap * 2 : 64;
      s->names = realloc(s->names, (size_t)cap * sizeof *s->names);
    }
    s->names[s->n++] = strndup(p, len);
  }
  fclose(f);
}

static int is_skipped(const skip_list *s, const char *name) {
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->names[i], name) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s NODE_TEST_DIR SKIP_FILE [FILTER]\n", argv[0]);
    return 2;
  }
  const char *root = argv[1], *filter = argc > 3 ? argv[3] : NULL;
  DIR *d = opendir(root);
  if (!d) {
    printf("ONNX test data not found at %s (install libonnx-testdata)\n", root);
    return 77; /* meson: skipped */
  }
  skip_list skips;
  load_skips(argv[2], &skips);
  char **names = NULL;
  int n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "test_", 5) != 0) continue;
    if (filter && !strstr(e->d_name, filter)) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 256;
      names = realloc(names, (size_t)cap * sizeof *names);
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  lens_folder_options o = {1e-3, 1e-7, 1, "cpu", 0, NULL, "fp32", 0};
  int passed = 0, failed = 0, skipped = 0, unsupported = 0;
  for (int i = 0; i < n; i++) {
    char folder[PATH_MAX], model[PATH_MAX + 16], missing[128] = "";
    snprintf(folder, sizeof folder, "%s/%s", root, names[i]);
    snprintf(model, sizeof model, "%s/model.onnx", folder);
    int sup = ops_supported(model, missing, sizeof missing);
    if (sup == 0) {
      unsupported++;
      continue;
    }
    if (is_skipped(&skips, names[i])) {
      printf("SKIP %s (listed in the skip file)\n", names[i]);
      skipped++;
      continue;
    }
    int ok = 0;
    lens_status *st = lens_run_test_folder(folder, &o, &ok);
    if (!ok && !st) { /* rerun with the log on to show which output differs */
      printf("FAIL %s\n", names[i]);
      o.log = stdout;
      lens_status_free(lens_run_test_folder(folder, &o, &ok));
      o.log = NULL;
      ok = 0;
    } else {
      printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", names[i], st ? ": " : "",
             st ? lens_status_message(st) : "");
    }
    lens_status_free(st);
    if (ok) passed++;
    else failed++;
    fflush(stdout);
  }
  printf("conformance: %d node tests with supported operators, %d use operators Lens does not "
         "implement (not run)\n",
         passed + failed + skipped, unsupported);
  printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  for (int i = 0; i < skips.n; i++) free(skips.names[i]);
  free(skips.names);
  return failed ? 1 : 0;
}
