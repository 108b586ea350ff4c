/* lens-analyze: what a model costs, without running it: FLOPs, parameters, weight and
 * activation memory, and a per-layer table, for the shapes bound on the command line.
 *
 *   lens-analyze [-shape NAME=d0,d1,...] [-b BATCH] [--json] [--dot FILE.dot]
 *                [--svg FILE.svg] MODEL
 *
 * The figures are those of lens_session_analyze and lens_session_node_profile for a session
 * bound to the given shapes (symbolic first dims default to 1).
 *
 * --json writes one object to stdout with these names, which scripts may rely on:
 *   model                  string  the model path as given
 *   opset                  int     the default-domain opset the model imports
 *   inputs, outputs        [{name, dtype, shape}]  shape: [dims], -1 where data-dependent
 *   flops, iops            number  operations per run
 *   gflop, giop            number  the same in 10^9
 *   parameters             int     elements of the constants the executed nodes read
 *   weight_bytes           int     their bytes
 *   min_activation_bytes   int     the planned arena (tensors share memory by liveness)
 *   max_activation_bytes   int     every activation tensor alive at once
 *   nodes_executed         int     nodes run per inference
 *   nodes_folded           int     nodes folded away when the session was created
 *   layers                 [{order, name, op, inputs, outputs, mflop, miop, params,
 *                            fused_into}]  per executed node in execution order; inputs are
 *                          {name, dtype, shape, constant}, outputs {name, dtype, shape};
 *                          fused_into is the activation the node could absorb, or null
 *
 * --dot writes the executed graph for Graphviz: a box per node (op, name, output shape), an
 * ellipse per graph input and output, an edge wherever a node reads a tensor that another
 * executed node or a graph input produces. --svg renders it with Graphviz's `dot` when that
 * is on PATH; otherwise it says so and still exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inputshapes.h"
#include "jsonwrite.h"

extern char **environ;

static void usage(FILE *f) {
  fprintf(f,
          "usage: lens-analyze [options] MODEL\n"
          "\n"
          "Prints the work (GFLOP, GIOP), parameters, weight bytes, activation memory and a\n"
          "per-layer table of an ONNX model for the bound input shapes.\n"
          "\n"
          "  -shape NAME=D,D,..  full shape of input NAME (repeatable), for symbolic dims\n"
          "  -b N                batch: the first dim of every input (default 1 if symbolic)\n"
          "  --json              write JSON to stdout instead of the text report\n"
          "  --dot FILE.dot      write the executed graph in Graphviz's DOT language\n"
          "  --svg FILE.svg      render it to SVG with Graphviz's dot (when on PATH)\n"
          "  -h, --help          this text\n"
          "\n"
          "Exit status: 0 success, 1 the model failed to load or bind, 2 bad arguments.\n");
}

typedef struct layer {
  lens_node_profile p;
  bool *input_const; /* per input: not produced by an executed node or a graph input */
} layer;

/* A produced tensor: by executed node `node`, or by graph input `input` (node -1). */
typedef struct producer {
  const char *name;
  int node, input;
} producer;

static int compare_producer(const void *a, const void *b) {
  return strcmp(((const producer *)a)->name, ((const producer *)b)->name);
}

static const producer *find_producer(const producer *v, size_t n, const char *name) {
  if (!name) return NULL;
  producer key = {name, 0, 0};
  return bsearch(&key, v, n, sizeof *v, compare_producer);
}

static void format_thousands(char *buf, size_t size, int64_t v) {
  char digits[32];
  int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
  size_t at = 0;
  if (v < 0 && at + 1 < size) buf[at++] = '-';
  for (int k = 0; k < n && at + 1 < size; k++) {
    if (k && (n - k) % 3 == 0 && at + 2 < size) buf[at++] = ',';
    buf[at++] = digits[k];
  }
  buf[at] = '\0';
}

/* "1x3x224x224, 1x64 -> 1x64x112x112" with only the activation (non-constant) inputs. */
static void format_layer_shapes(char *buf, size_t size, const layer *l) {
  size_t used = 0;
  int shown = 0;
  buf[0] = '\0';
  for (size_t k = 0; k < l->p.n_inputs && used < size; k++) {
    if (!l->p.inputs[k].name || l->input_const[k]) continue;
    char d[128];
    lens_format_dims(d, sizeof d, l->p.inputs[k].rank, l->p.inputs[k].dims);
    int n = snprintf(buf + used, size - used, "%s%s", shown++ ? ", " : "", d);
    if (n > 0) used += (size_t)n;
  }
  if (used < size) {
    int n = snprintf(buf + used, size - used, " ->");
    if (n > 0) used += (size_t)n;
  }
  for (size_t k = 0; k < l->p.n_outputs && used < size; k++) {
    if (!l->p.outputs[k].name) continue;
    char d[128];
    lens_format_dims(d, sizeof d, l->p.outputs[k].rank, l->p.outputs[k].dims);
    int n = snprintf(buf + used, size - used, "%s %s", k ? "," : "", d);
    if (n > 0) used += (size_t)n;
  }
}

static void print_text(const char *path, const lens_model *model, const lens_session *s,
                       const lens_model_analysis *an, const layer *layers, size_t n) {
  char buf[64];
  printf("model        %s (opset %lld)\n", path, (long long)lens_model_opset(model));
  for (int out = 0; out < 2; out++)
    for (size_t i = 0;; i++) {
      const lens_tensor_desc *d = out ? lens_session_output(s, i) : lens_session_input(s, i);
      if (!d) break;
      char dims[128];
      lens_format_dims(dims, sizeof dims, d->rank, d->dims);
      printf("%-12s %s %s [%s]\n", i ? "" : out ? "outputs" : "inputs", d->name,
             lens_dtype_name(d->dtype), dims);
    }
  printf("GFLOP        %.4f\n", an->flops / 1e9);
  printf("GIOP         %.4f\n", an->iops / 1e9);
  format_thousands(buf, sizeof buf, an->parameters);
  printf("parameters   %s\n", buf);
  printf("weights      %.2f MiB (%zu bytes)\n", (double)an->weight_bytes / 1048576.0,
         an->weight_bytes);
  printf("activations  min %.2f MiB (the planned arena), max %.2f MiB (every tensor alive)\n",
         (double)an->min_activation_bytes / 1048576.0,
         (double)an->max_activation_bytes / 1048576.0);
  printf("nodes        %zu executed, %zu folded\n\n", an->n_nodes, an->n_folded);

  int wname = 4, wop = 2, wshape = 6;
  char shapes[1024];
  for (size_t k = 0; k < n; k++) {
    int l = (int)strlen(layers[k].p.node_name ? layers[k].p.node_name : "");
    if (l > wname) wname = l;
    l = (int)strlen(layers[k].p.op_type);
    if (l > wop) wop = l;
    format_layer_shapes(shapes, sizeof shapes, &layers[k]);
    l = (int)strlen(shapes);
    if (l > wshape) wshape = l;
  }
  if (wname > 56) wname = 56;
  if (wshape > 80) wshape = 80;
  printf("%5s  %-*s  %-*s  %-*s  %10s  %10s  %s\n", "order", wname, "name", wop, "op", wshape,
         "shapes", "MFLOP", "params", "fused_into");
  for (size_t k = 0; k < n; k++) {
    const lens_node_profile *p = &layers[k].p;
    const char *name = p->node_name ? p->node_name : "";
    size_t len = strlen(name);
    /* Keep the end of long names: exported names differ in their last components. */
    const char *shown = len > (size_t)wname ? name + len - (size_t)wname + 3 : name;
    format_layer_shapes(shapes, sizeof shapes, &layers[k]);
    format_thousands(buf, sizeof buf, p->parameters);
    printf("%5zu  %s%-*s  %-*s  %-*s  %10.3f  %10s%s%s\n", k, shown != name ? "..." : "",
           shown != name ? wname - 3 : wname, shown, wop, p->op_type, wshape, shapes,
           p->flops / 1e6, buf, p->fused_into ? "  " : "", p->fused_into ? p->fused_into : "");
  }
}

/* {name, dtype, shape} and, when is_const is given, constant. */
static void json_desc(FILE *f, const lens_tensor_desc *d, const bool *is_const) {
  fputs("{\"name\": ", f);
  lens_json_string(f, d->name);
  fputs(", \"dtype\": ", f);
  lens_json_string(f, lens_dtype_name(d->dtype));
  fputs(", \"shape\": ", f);
  lens_json_dims(f, d->rank, d->dims);
  if (is_const) fprintf(f, ", \"constant\": %s", *is_const ? "true" : "false");
  fputc('}', f);
}

/* A JSON array of the named descs (omitted optional inputs have no name and are skipped). */
static void json_descs(FILE *f, const lens_tensor_desc *d, size_t n, const bool *is_const) {
  fputc('[', f);
  bool first = true;
  for (size_t k = 0; k < n; k++) {
    if (!d[k].name) continue;
    if (!first) fputs(", ", f);
    first = false;
    json_desc(f, &d[k], is_const ? &is_const[k] : NULL);
  }
  fputc(']', f);
}

static void print_json(FILE *f, const char *path, const lens_model *model,
                       const lens_session *s, const lens_model_analysis *an,
                       const layer *layers, size_t n) {
  fputs("{\n  \"model\": ", f);
  lens_json_string(f, path);
  fprintf(f, ",\n  \"opset\": %lld", (long long)lens_model_opset(model));
  for (int out = 0; out < 2; out++) {
    fputs(out ? ",\n  \"outputs\": [" : ",\n  \"inputs\": [", f);
    for (size_t i = 0;; i++) {
      const lens_tensor_desc *d = out ? lens_session_output(s, i) : lens_session_input(s, i);
      if (!d) break;
      if (i) fputs(", ", f);
      json_desc(f, d, NULL);
    }
    fputc(']', f);
  }
  fputs(",\n  \"flops\": ", f);
  lens_json_number(f, an->flops);
  fputs(", \"iops\": ", f);
  lens_json_number(f, an->iops);
  fputs(", \"gflop\": ", f);
  lens_json_number(f, an->flops / 1e9);
  fputs(", \"giop\": ", f);
  lens_json_number(f, an->iops / 1e9);
  fprintf(f, ",\n  \"parameters\": %lld, \"weight_bytes\": %zu", (long long)an->parameters,
          an->weight_bytes);
  fprintf(f, ",\n  \"min_activation_bytes\": %zu, \"max_activation_bytes\": %zu",
          an->min_activation_bytes, an->max_activation_bytes);
  fprintf(f, ",\n  \"nodes_executed\": %zu, \"nodes_folded\": %zu", an->n_nodes, an->n_folded);
  fputs(",\n  \"layers\": [", f);
  for (size_t k = 0; k < n; k++) {
    const lens_node_profile *p = &layers[k].p;
    fprintf(f, "%s\n    {\"order\": %zu, \"name\": ", k ? "," : "", k);
    lens_json_string(f, p->node_name);
    fputs(", \"op\": ", f);
    lens_json_string(f, p->op_type);
    fputs(", \"inputs\": ", f);
    json_descs(f, p->inputs, p->n_inputs, layers[k].input_const);
    fputs(", \"outputs\": ", f);
    json_descs(f, p->outputs, p->n_outputs, NULL);
    fputs(", \"mflop\": ", f);
    lens_json_number(f, p->flops / 1e6);
    fputs(", \"miop\": ", f);
    lens_json_number(f, p->iops / 1e6);
    fprintf(f, ", \"params\": %lld, \"fused_into\": ", (long long)p->parameters);
    lens_json_string(f, p->fused_into);
    fputc('}', f);
  }
  fputs(n ? "\n  ]\n}\n" : "]\n}\n", f);
}

/* A DOT double-quoted string: quotes and backslashes escaped, newlines as \n. */
static void dot_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    if (*s == '\n') fputs("\\n", f);
    else fputc(*s, f);
  }
  fputc('"', f);
}

static void dot_desc_label(FILE *f, const lens_tensor_desc *d) {
  char dims[128], label[512];
  lens_format_dims(dims, sizeof dims, d->rank, d->dims);
  snprintf(label, sizeof label, "%s\n%s %s", d->name ? d->name : "", lens_dtype_name(d->dtype),
           dims);
  dot_string(f, label);
}

static lens_status *write_dot(const char *path, const lens_session *s, const layer *layers,
                              size_t n, const producer *prod, size_t n_prod) {
  FILE *f = fopen(path, "w");
  if (!f) return lens_status_create(LENS_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
  fputs("digraph lens {\n  rankdir=TB;\n"
        "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n"
        "  edge [fontname=\"Helvetica\", fontsize=8];\n",
        f);
  for (size_t i = 0; lens_session_input(s, i); i++) {
    fprintf(f, "  in%zu [shape=ellipse, style=filled, fillcolor=\"#dbe9f6\", label=", i);
    dot_desc_label(f, lens_session_input(s, i));
    fputs("];\n", f);
  }
  for (size_t k = 0; k < n; k++) {
    const lens_node_profile *p = &layers[k].p;
    char label[1024], dims[128] = "";
    if (p->n_outputs && p->outputs[0].name)
      lens_format_dims(dims, sizeof dims, p->outputs[0].rank, p->outputs[0].dims);
    snprintf(label, sizeof label, "%s\n%s\n%s", p->op_type, p->node_name ? p->node_name : "",
             dims);
    fprintf(f, "  n%zu [label=", k);
    dot_string(f, label);
    fputs(p->fused_into ? ", color=\"#c0504d\"];\n" : "];\n", f);
  }
  for (size_t k = 0; k < n; k++) {
    const lens_node_profile *p = &layers[k].p;
    for (size_t i = 0; i < p->n_inputs; i++) {
      const producer *src = find_producer(prod, n_prod, p->inputs[i].name);
      if (!src) continue;
      if (src->node >= 0) fprintf(f, "  n%d -> n%zu;\n", src->node, k);
      else fprintf(f, "  in%d -> n%zu;\n", src->input, k);
    }
  }
  for (size_t o = 0; lens_session_output(s, o); o++) {
    const lens_tensor_desc *d = lens_session_output(s, o);
    fprintf(f, "  out%zu [shape=ellipse, style=filled, fillcolor=\"#e2efd9\", label=", o);
    dot_desc_label(f, d);
    fputs("];\n", f);
    const producer *src = find_producer(prod, n_prod, d->name);
    if (src && src->node >= 0) fprintf(f, "  n%d -> out%zu;\n", src->node, o);
    else if (src) fprintf(f, "  in%d -> out%zu;\n", src->input, o);
  }
  fputs("}\n", f);
  bool failed = ferror(f) != 0;
  if (fclose(f) != 0 || failed)
    return lens_status_create(LENS_ERR_IO, "writing '%s' failed: %s", path, strerror(errno));
  return NULL;
}

static bool dot_on_path(void) {
  const char *path = getenv("PATH");
  if (!path) return false;
  while (*path) {
    const char *colon = strchr(path, ':');
    size_t len = colon ? (size_t)(colon - path) : strlen(path);
    char candidate[4096];
    if (len && len + 5 < sizeof candidate) {
      memcpy(candidate, path, len);
      memcpy(candidate + len, "/dot", 5);
      if (access(candidate, X_OK) == 0) return true;
    }
    if (!colon) break;
    path = colon + 1;
  }
  return false;
}

static lens_status *render_svg(const char *dot_path, const char *svg_path) {
  char *argv[] = {"dot", "-Tsvg", "-o", (char *)svg_path, (char *)dot_path, NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, "dot", NULL, NULL, argv, environ);
  if (err) return lens_status_create(LENS_ERR_IO, "cannot run dot: %s", strerror(err));
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return lens_status_create(LENS_ERR_IO, "waitpid: %s", strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return lens_status_create(LENS_ERR_IO, "dot -Tsvg failed for '%s'", dot_path);
  return NULL;
}

int main(int argc, char **argv) {
  enum { OPT_SHAPE = 256, OPT_JSON, OPT_DOT, OPT_SVG };
  static const struct option longopts[] = {
      {"shape", required_argument, NULL, OPT_SHAPE}, {"b", required_argument, NULL, 'b'},
      {"json", no_argument, NULL, OPT_JSON},         {"dot", required_argument, NULL, OPT_DOT},
      {"svg", required_argument, NULL, OPT_SVG},     {"h", no_argument, NULL, 'h'},
      {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0}};
  lens_shape_arg shape_args[64];
  size_t n_shape_args = 0;
  int64_t batch = 0;
  bool json = false;
  const char *dot_path = NULL, *svg_path = NULL;
  opterr = 0;
  int opt;
  while ((opt = getopt_long_only(argc, argv, ":b:h", longopts, NULL)) != -1) {
    switch (opt) {
    case OPT_SHAPE: {
      lens_status *st = n_shape_args == sizeof shape_args / sizeof shape_args[0]
                            ? lens_status_create(LENS_ERR_INVALID_ARGUMENT, "too many -shape")
                            : lens_shape_arg_parse(optarg, &shape_args[n_shape_args]);
      if (st) {
        fprintf(stderr, "lens-analyze: %s\n", lens_status_message(st));
        lens_status_free(st);
        return 2;
      }
      n_shape_args++;
      break;
    }
    case 'b':
      if (lens_parse_int64(optarg, 1, 1 << 20, &batch)) {
        fprintf(stderr, "lens-analyze: -b %s: expected an integer in 1..1048576\n", optarg);
        return 2;
      }
      break;
    case OPT_JSON: json = true; break;
    case OPT_DOT: dot_path = optarg; break;
    case OPT_SVG: svg_path = optarg; break;
    case 'h': usage(stdout); return 0;
    case ':':
      fprintf(stderr, "lens-analyze: %s needs a value\n", argv[optind - 1]);
      return 2;
    default:
      fprintf(stderr, "lens-analyze: unknown or ambiguous option %s (-h for help)\n",
              argv[optind - 1]);
      return 2;
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, optind >= argc ? "lens-analyze: MODEL is missing (-h for help)\n"
                                   : "lens-analyze: one MODEL, please (-h for help)\n");
    return 2;
  }
  const char *model_path = argv[optind];
  if (access(model_path, R_OK) != 0) {
    fprintf(stderr, "lens-analyze: %s: %s\n", model_path, strerror(errno));
    return 2;
  }

  int rc = 1;
  lens_model *model = NULL;
  lens_session *session = NULL;
  lens_bound_shapes bound = {0};
  layer *layers = NULL;
  producer *prod = NULL;
  size_t n = 0, n_prod = 0;
  char tmp_dot[] = "/tmp/lens-analyze-XXXXXX";
  bool tmp_made = false;
  lens_status *st = lens_model_load_file(model_path, &model);
  if (!st) {
    st = lens_bind_input_shapes(model, shape_args, n_shape_args, NULL, batch, &bound);
    if (st) rc = 2;
  }
  if (!st) {
    lens_session_options o;
    lens_session_options_init(&o);
    o.input_shapes = bound.shapes;
    o.n_input_shapes = bound.count;
    o.reference_only = true; /* the analysis needs shapes and the plan, not packed weights */
    st = lens_session_create(model, &o, &session);
  }
  lens_model_analysis an;
  if (!st) st = lens_session_analyze(session, &an);
  if (!st) {
    n = lens_session_node_count(session);
    layers = calloc(n + 1, sizeof *layers);
    if (!layers) st = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
  }
  for (size_t k = 0; !st && k < n; k++) st = lens_session_node_profile(session, k, &layers[k].p);
  size_t cap = 0;
  for (size_t k = 0; !st && k < n; k++) cap += layers[k].p.n_outputs;
  if (!st) {
    cap += lens_model_input_count(model);
    prod = calloc(cap + 1, sizeof *prod);
    if (!prod) st = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
  }
  if (!st) {
    for (size_t i = 0; lens_session_input(session, i); i++)
      prod[n_prod++] = (producer){lens_session_input(session, i)->name, -1, (int)i};
    for (size_t k = 0; k < n; k++)
      for (size_t o = 0; o < layers[k].p.n_outputs; o++)
        if (layers[k].p.outputs[o].name)
          prod[n_prod++] = (producer){layers[k].p.outputs[o].name, (int)k, -1};
    qsort(prod, n_prod, sizeof *prod, compare_producer);
  }
  for (size_t k = 0; !st && k < n; k++) {
    layers[k].input_const = calloc(layers[k].p.n_inputs + 1, sizeof(bool));
    if (!layers[k].input_const) st = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; !st && i < layers[k].p.n_inputs; i++)
      layers[k].input_const[i] = layers[k].p.inputs[i].name &&
                                 !find_producer(prod, n_prod, layers[k].p.inputs[i].name);
  }
  if (!st) {
    if (json) print_json(stdout, model_path, model, session, &an, layers, n);
    else print_text(model_path, model, session, &an, layers, n);
    fflush(stdout);
  }
  if (!st && svg_path && !dot_on_path()) {
    fprintf(stderr,
            "lens-analyze: Graphviz's 'dot' is not on PATH, so %s was not written "
            "(install graphviz, or render a --dot file elsewhere)\n",
            svg_path);
    svg_path = NULL;
  }
  if (!st && svg_path && !dot_path) {
    int fd = mkstemp(tmp_dot);
    if (fd < 0) st = lens_status_create(LENS_ERR_IO, "mkstemp: %s", strerror(errno));
    else {
      close(fd);
      tmp_made = true;
      dot_path = tmp_dot;
    }
  }
  if (!st && dot_path) st = write_dot(dot_path, session, layers, n, prod, n_prod);
  if (!st && svg_path) st = render_svg(dot_path, svg_path);
  if (!st) {
    if (dot_path && !tmp_made) fprintf(stderr, "lens-analyze: wrote %s\n", dot_path);
    if (svg_path) fprintf(stderr, "lens-analyze: wrote %s\n", svg_path);
    rc = 0;
  }
  if (st) {
    fprintf(stderr, "lens-analyze: %s\n", lens_status_message(st));
    lens_status_free(st);
  }
  if (tmp_made) unlink(tmp_dot);
  for (size_t k = 0; layers && k < n; k++) free(layers[k].input_const);
  free(layers);
  free(prod);
  lens_bound_shapes_free(&bound);
  lens_session_free(session);
  lens_model_free(model);
  return rc;
}
