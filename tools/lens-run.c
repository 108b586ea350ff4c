/* lens-run: runs ONNX test folders (model.onnx + test_data_set_N/) and checks the outputs,
 * or runs a model on given .pb tensors and writes its outputs.
 *
 *   lens-run [-d cpu|gpu|gpu.N|gpu:NAME] [--precision fp32|fp16] [--rtol R] [--atol A]
 *            [--range-tol T] [--threads N] [--list-devices] FOLDER...
 *   lens-run --model M.onnx --input in0.pb [--input in1.pb ...] --output-dir DIR
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testfolder.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: lens-run [options] FOLDER...\n"
          "       lens-run [options] --model MODEL.onnx --input IN.pb [--input ...] "
          "--output-dir DIR\n"
          "\n"
          "Runs folders in ONNX's test layout (model.onnx, test_data_set_N/input_K.pb and\n"
          "output_K.pb), prints per output the max absolute and relative error and PASS or\n"
          "FAIL per folder; exits 1 if any folder fails.\n"
          "\n"
          "  -d, --device DEV    device to run on: cpu (default), gpu (first OpenCL GPU, else\n"
          "                      first OpenCL device), gpu.N, gpu:NAME\n"
          "  -p, --precision P   fp32 (default) or fp16 (gpu only)\n"
          "      --range-tol T   pass when max abs error <= T x the expected output's range\n"
          "                      (for fp16; replaces --rtol/--atol)\n"
          "      --list-devices  print the OpenCL devices and exit\n"
          "      --rtol R        relative tolerance (default 1e-3)\n"
          "      --atol A        absolute tolerance (default 1e-7, ONNX's own)\n"
          "      --threads N     threads per request (default 1)\n"
          "      --reference     run every node on its reference kernel\n"
          "  -q, --quiet         only the PASS/FAIL lines and the summary\n"
          "      --model M       run model M on the --input tensors (in input order) ...\n"
          "      --input F       ... an input TensorProto file (repeatable)\n"
          "      --output-dir D  ... and write output_K.pb files into D\n"
          "  -h, --help          this text\n");
}

static int parse_double(const char *s, double *out) {
  char *end;
  errno = 0;
  *out = strtod(s, &end);
  return !errno && end != s && !*end;
}

static int run_model(const char *model_path, char **input_paths, int n_inputs,
                     const char *output_dir, const lens_folder_options *o) {
  lens_model *model = NULL;
  lens_session *session = NULL;
  lens_tensor *inputs = calloc((size_t)n_inputs + 1, sizeof *inputs);
  lens_input_shape *shapes = calloc((size_t)n_inputs + 1, sizeof *shapes);
  lens_tensor *outputs = NULL;
  size_t n_out = 0;
  int rc = 1;
  lens_status *st = lens_model_load_file(model_path, &model);
  if (!st && (size_t)n_inputs != lens_model_input_count(model))
    st = lens_status_create(LENS_ERR_INVALID_ARGUMENT, "the model has %zu inputs, %d given",
                            lens_model_input_count(model), n_inputs);
  for (int i = 0; !st && i < n_inputs; i++) {
    st = lens_tensor_load_pb(input_paths[i], &inputs[i], NULL);
    shapes[i].name = lens_model_input(model, (size_t)i)->name;
    shapes[i].rank = inputs[i].rank;
    shapes[i].dims = inputs[i].dims;
  }
  if (!st) {
    lens_session_options so;
    lens_session_options_init(&so);
    so.device = o->device;
    so.precision = o->precision;
    so.threads = o->threads;
    so.input_shapes = shapes;
    so.n_input_shapes = (size_t)n_inputs;
    so.reference_only = o->reference_only != 0;
    st = lens_session_create(model, &so, &session);
  }
  if (!st) {
    n_out = lens_model_output_count(model);
    outputs = calloc(n_out + 1, sizeof *outputs);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = lens_session_run(session, inputs, (size_t)n_inputs, outputs, n_out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!st)
      printf("ran %s in %.2f ms\n", model_path,
             (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
  }
  if (!st && mkdir(output_dir, 0755) != 0 && errno != EEXIST)
    st = lens_status_create(LENS_ERR_IO, "cannot create '%s': %s", output_dir, strerror(errno));
  for (size_t i = 0; !st && i < n_out; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/output_%zu.pb", output_dir, i);
    const char *name = lens_model_output(model, i)->name;
    st = lens_tensor_save_pb(path, &outputs[i], name);
    if (!st) {
      printf("  %s: %s [", path, lens_dtype_name(outputs[i].dtype));
      for (int d = 0; d < outputs[i].rank; d++)
        printf("%s%lld", d ? "," : "", (long long)outputs[i].dims[d]);
      printf("] '%s'\n", name);
    }
  }
  if (st) fprintf(stderr, "lens-run: %s\n", lens_status_message(st));
  else rc = 0;
  lens_status_free(st);
  for (int i = 0; i < n_inputs; i++) lens_tensor_free(&inputs[i]);
  free(inputs);
  free(shapes);
  free(outputs);
  lens_session_free(session);
  lens_model_free(model);
  return rc;
}

static int list_devices(void) {
  size_t n = 0;
  lens_status *st = lens_device_count(&n);
  for (size_t i = 0; !st && i < n; i++) {
    lens_device_info d;
    if ((st = lens_device_get_info(i, &d))) break;
    printf("%s: %s (%s, %s) platform '%s', driver %s, %d compute units, %.0f MiB memory, "
           "largest buffer %.0f MiB, fp16 arithmetic %s\n",
           d.spec, d.name, d.type, d.vendor, d.platform, d.driver_version, d.compute_units,
           (double)d.global_memory_bytes / 1048576.0, (double)d.max_allocation_bytes / 1048576.0,
           d.fp16 ? "yes" : "no (fp16 is storage only)");
  }
  if (!st && n == 0) printf("no OpenCL devices\n");
  if (st) fprintf(stderr, "lens-run: %s\n", lens_status_message(st));
  int rc = st ? 1 : 0;
  lens_status_free(st);
  return rc;
}

int main(int argc, char **argv) {
  lens_folder_options o = {1e-3, 1e-7, 1, "cpu", 0, stdout, "fp32", 0};
  const char *model_path = NULL, *output_dir = NULL;
  char **input_paths = calloc((size_t)argc + 1, sizeof *input_paths);
  int n_inputs = 0;
  enum { OPT_RTOL = 256, OPT_ATOL, OPT_THREADS, OPT_REFERENCE, OPT_MODEL, OPT_INPUT, OPT_OUTDIR,
         OPT_RANGE_TOL, OPT_LIST };
  static const struct option longopts[] = {
      {"device", required_argument, NULL, 'd'},     {"rtol", required_argument, NULL, OPT_RTOL},
      {"atol", required_argument, NULL, OPT_ATOL},  {"threads", required_argument, NULL, OPT_THREADS},
      {"reference", no_argument, NULL, OPT_REFERENCE}, {"quiet", no_argument, NULL, 'q'},
      {"model", required_argument, NULL, OPT_MODEL}, {"input", required_argument, NULL, OPT_INPUT},
      {"output-dir", required_argument, NULL, OPT_OUTDIR}, {"help", no_argument, NULL, 'h'},
      {"precision", required_argument, NULL, 'p'}, {"range-tol", required_argument, NULL, OPT_RANGE_TOL},
      {"list-devices", no_argument, NULL, OPT_LIST},
      {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "d:p:qh", longopts, NULL)) != -1) {
    switch (c) {
    case 'd': o.device = optarg; break;
    case 'p':
      if (strcmp(optarg, "fp32") != 0 && strcmp(optarg, "fp16") != 0) {
        fprintf(stderr, "lens-run: --precision must be fp32 or fp16\n");
        return 2;
      }
      o.precision = optarg;
      break;
    case OPT_RANGE_TOL:
      if (!parse_double(optarg, &o.range_tol) || o.range_tol <= 0) {
        fprintf(stderr, "lens-run: --range-tol needs a positive number\n");
        return 2;
      }
      break;
    case OPT_LIST: free(input_paths); return list_devices();
    case 'q': o.log = NULL; break;
    case OPT_RTOL:
    case OPT_ATOL:
      if (!parse_double(optarg, c == OPT_RTOL ? &o.rtol : &o.atol)) {
        fprintf(stderr, "lens-run: '%s' is not a number\n", optarg);
        return 2;
      }
      break;
    case OPT_THREADS:
      o.threads = atoi(optarg);
      if (o.threads < 1 || o.threads > 256) {
        fprintf(stderr, "lens-run: --threads must be 1..256\n");
        return 2;
      }
      break;
    case OPT_REFERENCE: o.reference_only = 1; break;
    case OPT_MODEL: model_path = optarg; break;
    case OPT_INPUT: input_paths[n_inputs++] = optarg; break;
    case OPT_OUTDIR: output_dir = optarg; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (model_path || output_dir || n_inputs) {
    if (!model_path || !output_dir) {
      fprintf(stderr, "lens-run: --model and --output-dir go together\n");
      return 2;
    }
    int rc = run_model(model_path, input_paths, n_inputs, output_dir, &o);
    free(input_paths);
    return rc;
  }
  free(input_paths);
  if (optind >= argc) {
    usage(stderr);
    return 2;
  }
  int passed = 0, failed = 0;
  printf("CPU kernels: %s\n", lens_cpu_isa_in_use());
  for (int i = optind; i < argc; i++) {
    const char *folder = argv[i];
    size_t len = strlen(folder);
    while (len > 1 && folder[len - 1] == '/') len--;
    const char *base = folder + len;
    while (base > folder && base[-1] != '/') base--;
    if (o.log) printf("%.*s\n", (int)(folder + len - base), base);
    int ok = 0;
    lens_status *st = lens_run_test_folder(folder, &o, &ok);
    printf("%s %.*s%s%s\n", ok ? "PASS" : "FAIL", (int)(folder + len - base), base,
           st ? ": " : "", st ? lens_status_message(st) : "");
    lens_status_free(st);
    if (ok) passed++;
    else failed++;
    fflush(stdout);
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
