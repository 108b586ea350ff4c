/* Model loading and the public model API. */
#include "core/model.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/optimize.h"
#include "onnx/onnx_import.h"

/* Files larger than this are refused before reading: protobuf messages cannot exceed 2 GiB. */
#define LENS_MAX_MODEL_FILE_BYTES ((size_t)INT32_MAX)

void lens_desc_from_graph_tensor(const lens_graph_tensor *t, lens_tensor_desc *d) {
  memset(d, 0, sizeof *d);
  d->name = t->name;
  d->dtype = t->dtype;
  d->rank = t->rank;
  for (int i = 0; i < t->rank && i < LENS_MAX_RANK; i++) {
    d->dims[i] = t->dims[i];
    d->dim_params[i] = t->dim_params[i];
  }
}

static void model_destroy(lens_model *m) {
  lens_graph_free(&m->graph);
  free(m->inputs);
  free(m->outputs);
  free(m);
}

void lens_model_retain(const lens_model *model) {
  atomic_fetch_add(&((lens_model *)model)->refs, 1);
}

void lens_model_free(lens_model *model) {
  if (model && atomic_fetch_sub(&model->refs, 1) == 1) model_destroy(model);
}

lens_status *lens_model_load_memory(const void *data, size_t size, const char *base_dir,
                                    lens_model **out_model) {
  if (!out_model) return lens_error(LENS_ERR_INVALID_ARGUMENT, "out_model is NULL");
  *out_model = NULL;
  if (!data && size) return lens_error(LENS_ERR_INVALID_ARGUMENT, "data is NULL");
  lens_model *m = calloc(1, sizeof *m);
  if (!m) return lens_error_oom();
  atomic_init(&m->refs, 1);
  lens_graph_init(&m->graph);
  lens_status *st = lens_onnx_import(data, size, base_dir, &m->graph);
  if (!st) st = lens_graph_finalize(&m->graph);
  if (!st) st = lens_graph_optimize(&m->graph, NULL);
  if (!st) {
    lens_graph *g = &m->graph;
    m->inputs = calloc((size_t)g->n_inputs + 1, sizeof *m->inputs);
    m->outputs = calloc((size_t)g->n_outputs + 1, sizeof *m->outputs);
    if (!m->inputs || !m->outputs) st = lens_error_oom();
    for (int i = 0; !st && i < g->n_inputs; i++)
      lens_desc_from_graph_tensor(&g->tensors[g->inputs[i]], &m->inputs[i]);
    for (int i = 0; !st && i < g->n_outputs; i++)
      lens_desc_from_graph_tensor(&g->tensors[g->outputs[i]], &m->outputs[i]);
  }
  if (st) {
    model_destroy(m);
    return st;
  }
  *out_model = m;
  return NULL;
}

lens_status *lens_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *out_size) {
  *out = NULL;
  *out_size = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lens_error(LENS_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return lens_error(LENS_ERR_IO, "'%s' is not a regular file", path);
  }
  if ((uint64_t)st.st_size > max_bytes) {
    close(fd);
    return lens_error(LENS_ERR_INVALID_MODEL, "'%s' is %lld bytes, more than the %zu allowed",
                      path, (long long)st.st_size, max_bytes);
  }
  size_t size = (size_t)st.st_size;
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) {
    close(fd);
    return lens_error_oom();
  }
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, buf + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      free(buf);
      return lens_error(LENS_ERR_IO, "reading '%s' at byte offset %zu: %s", path, done,
                        n < 0 ? strerror(errno) : "unexpected end of file");
    }
    done += (size_t)n;
  }
  close(fd);
  *out = buf;
  *out_size = size;
  return NULL;
}

lens_status *lens_model_load_file(const char *path, lens_model **out_model) {
  if (!out_model) return lens_error(LENS_ERR_INVALID_ARGUMENT, "out_model is NULL");
  *out_model = NULL;
  if (!path) return lens_error(LENS_ERR_INVALID_ARGUMENT, "path is NULL");
  uint8_t *data;
  size_t size;
  LENS_TRY(lens_read_file(path, LENS_MAX_MODEL_FILE_BYTES, &data, &size));
  char dir_buf[PATH_MAX];
  if (strlen(path) >= sizeof dir_buf) {
    free(data);
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "path is too long");
  }
  strcpy(dir_buf, path);
  const char *dir = dirname(dir_buf);
  lens_status *st = lens_model_load_memory(data, size, dir, out_model);
  free(data);
  return lens_error_wrap(st, "%s: ", path);
}

size_t lens_model_input_count(const lens_model *m) { return m ? (size_t)m->graph.n_inputs : 0; }
size_t lens_model_output_count(const lens_model *m) { return m ? (size_t)m->graph.n_outputs : 0; }

const lens_tensor_desc *lens_model_input(const lens_model *m, size_t i) {
  return m && i < (size_t)m->graph.n_inputs ? &m->inputs[i] : NULL;
}

const lens_tensor_desc *lens_model_output(const lens_model *m, size_t i) {
  return m && i < (size_t)m->graph.n_outputs ? &m->outputs[i] : NULL;
}

int lens_model_find_input(const lens_model *m, const char *name) {
  for (int i = 0; m && name && i < m->graph.n_inputs; i++)
    if (strcmp(m->inputs[i].name, name) == 0) return i;
  return -1;
}

int lens_model_find_output(const lens_model *m, const char *name) {
  for (int i = 0; m && name && i < m->graph.n_outputs; i++)
    if (strcmp(m->outputs[i].name, name) == 0) return i;
  return -1;
}

size_t lens_model_node_count(const lens_model *m) { return m ? (size_t)m->graph.n_nodes : 0; }

int64_t lens_model_opset(const lens_model *m) { return m ? m->graph.opset : 0; }
