/* liblens — the Lens inference engine: load an ONNX model, run it.
 *
 *   lens_model *model = NULL;
 *   lens_session *session = NULL;
 *   lens_status *st = lens_model_load_file("det.onnx", &model);
 *   lens_session_options opts;
 *   lens_session_options_init(&opts);
 *   opts.threads = 2;
 *   const int64_t dims[4] = {1, 3, 640, 640};
 *   lens_input_shape shape = {"x", 4, dims};
 *   opts.input_shapes = &shape;
 *   opts.n_input_shapes = 1;
 *   if (!st) st = lens_session_create(model, &opts, &session);
 *   lens_tensor in = {LENS_DTYPE_FLOAT32, 4, {1, 3, 640, 640}, pixels, sizeof pixels};
 *   lens_tensor out[1];
 *   if (!st) st = lens_session_run(session, &in, 1, out, 1);
 *   if (st) fprintf(stderr, "%s\n", lens_status_message(st));
 *   lens_status_free(st);
 *   lens_session_free(session);
 *   lens_model_free(model);
 *
 * Every fallible call returns NULL on success or a status that names the node, tensor or
 * byte offset at fault; the caller frees it. No call aborts on bad data. There is no global
 * mutable state: separate sessions may run concurrently from separate threads; one session
 * runs one request at a time.
 */
#ifndef LENS_LENS_H
#define LENS_LENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LENS_MAX_RANK 8

typedef enum lens_status_code {
  LENS_OK = 0,
  LENS_ERR_INVALID_ARGUMENT, /* the caller passed something wrong */
  LENS_ERR_INVALID_MODEL,    /* the model file or graph is malformed */
  LENS_ERR_UNSUPPORTED,      /* valid ONNX that Lens does not implement */
  LENS_ERR_IO,               /* a file could not be read or written */
  LENS_ERR_OUT_OF_MEMORY,
  LENS_ERR_RUNTIME,          /* failure while running (e.g. data-dependent index out of range) */
} lens_status_code;

typedef struct lens_status lens_status;

lens_status_code lens_status_get_code(const lens_status *status);
/* The message; "ok" for NULL. Valid until the status is freed. */
const char *lens_status_message(const lens_status *status);
void lens_status_free(lens_status *status);
/* A status for applications and tools that report through the same type (printf format). */
lens_status *lens_status_create(lens_status_code code, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Values follow ONNX TensorProto.DataType so they can be compared with files directly. */
typedef enum lens_dtype {
  LENS_DTYPE_UNDEFINED = 0,
  LENS_DTYPE_FLOAT32 = 1,
  LENS_DTYPE_UINT8 = 2,
  LENS_DTYPE_INT8 = 3,
  LENS_DTYPE_INT32 = 6,
  LENS_DTYPE_INT64 = 7,
  LENS_DTYPE_BOOL = 9,
  LENS_DTYPE_FLOAT16 = 10,
} lens_dtype;

/* Bytes per element; 0 for an unknown dtype. */
size_t lens_dtype_size(lens_dtype dtype);
const char *lens_dtype_name(lens_dtype dtype);

/* A model input or output as declared. A dimension is -1 when it is symbolic (dim_params[i]
 * then holds its name, e.g. "batch") or unknown (dim_params[i] NULL). */
typedef struct lens_tensor_desc {
  const char *name;
  lens_dtype dtype;
  int rank; /* -1 when the model does not declare it */
  int64_t dims[LENS_MAX_RANK];
  const char *dim_params[LENS_MAX_RANK];
} lens_tensor_desc;

/* A tensor value: dense, row-major, native byte order. */
typedef struct lens_tensor {
  lens_dtype dtype;
  int rank;
  int64_t dims[LENS_MAX_RANK];
  void *data;
  size_t nbytes;
} lens_tensor;

/* ---- Models ---------------------------------------------------------------------------- */

typedef struct lens_model lens_model;

/* Loads and validates an ONNX model. External data is read only from files inside the
 * model's directory. */
lens_status *lens_model_load_file(const char *path, lens_model **out_model);
/* Same from memory; base_dir is where external data files live (NULL: none allowed).
 * The bytes are not referenced after the call returns. */
lens_status *lens_model_load_memory(const void *data, size_t size, const char *base_dir,
                                    lens_model **out_model);
/* Models are reference-counted by their sessions: freeing a model that still has sessions
 * is safe, the memory goes when the last session is freed. NULL is ignored. */
void lens_model_free(lens_model *model);

size_t lens_model_input_count(const lens_model *model);
size_t lens_model_output_count(const lens_model *model);
/* NULL if the index is out of range. Valid as long as the model. */
const lens_tensor_desc *lens_model_input(const lens_model *model, size_t index);
const lens_tensor_desc *lens_model_output(const lens_model *model, size_t index);
/* Index of the input or output with this name, or -1. */
int lens_model_find_input(const lens_model *model, const char *name);
int lens_model_find_output(const lens_model *model, const char *name);

size_t lens_model_node_count(const lens_model *model);
/* The highest opset of the default ONNX domain the model imports. */
int64_t lens_model_opset(const lens_model *model);

/* ---- Sessions -------------------------------------------------------------------------- */

/* Binds a symbolic dimension (by its dim_param name, e.g. "batch") to a size. */
typedef struct lens_dim_binding {
  const char *name;
  int64_t value;
} lens_dim_binding;

/* The full shape of one input for this session (overrides declared and symbolic dims). */
typedef struct lens_input_shape {
  const char *name;
  int rank;
  const int64_t *dims;
} lens_input_shape;

typedef struct lens_session_options {
  /* "cpu" (default when NULL), or an OpenCL device: "gpu" (the first GPU, else the first
   * OpenCL device of any type: PoCL, for one, is a CPU device), "gpu.N" (as numbered by
   * lens_device_get_info) or "gpu:NAME" (the first device whose name contains NAME). Nodes
   * the device cannot run stay on the CPU; profiles say where each node ran. */
  const char *device;
  int threads;        /* worker threads for one request; <= 0 means 1. A run of under
                       * 100 MFLOP uses one: there, a second core costs more than it saves */
  const lens_dim_binding *dim_bindings;
  size_t n_dim_bindings;
  const lens_input_shape *input_shapes;
  size_t n_input_shapes;
  bool profile;         /* record per-node time on every run */
  bool reference_only;  /* run every node on its plain reference kernel (for testing) */
  /* "fp32" (default when NULL) or "fp16" (device gpu only): tensors on the device are
   * stored as half; devices with cl_khr_fp16 multiply in half inside convolutions and GEMMs
   * (sums in float), others convert to float for all arithmetic. Host tensors, inputs and
   * outputs stay float32. */
  const char *precision;
  /* A session of the same model, on the CPU, with the same bound input shapes, whose
   * prepared weights (packed and transformed once at creation: about the model's size
   * again) this one uses instead of preparing its own: several requests or streams of one
   * model then hold them once. It must stay alive during this call; after it, either
   * session may be freed first. NULL: its own. */
  const struct lens_session *share_weights_with;
} lens_session_options;

void lens_session_options_init(lens_session_options *options);

typedef struct lens_session lens_session;

/* Binds shapes, infers every tensor's type and shape, folds constants, chooses a kernel per
 * node and plans activation memory into one arena. Symbolic dimensions that are neither
 * bound nor given by input_shapes are an error that names them. */
lens_status *lens_session_create(const lens_model *model, const lens_session_options *options,
                                 lens_session **out_session);
void lens_session_free(lens_session *session);

/* Shapes as bound in this session (dims -1 only where they depend on input data). */
const lens_tensor_desc *lens_session_input(const lens_session *session, size_t index);
const lens_tensor_desc *lens_session_output(const lens_session *session, size_t index);

/* Runs one request. inputs[i] is the model's i-th input (dtype and shape must match the
 * session's); the run reads it, in place where it can, and never writes it. outputs[i]
 * receives the i-th output: data points into session memory that stays valid until the
 * next run or the session is freed. */
lens_status *lens_session_run(lens_session *session, const lens_tensor *inputs,
                              size_t n_inputs, lens_tensor *outputs, size_t n_outputs);

/* ---- Introspection: what runs, where, how fast ----------------------------------------- */

typedef struct lens_node_profile {
  const char *node_name;
  const char *op_type;
  const char *kernel;    /* e.g. "conv2d_im2col_sgemm", "reference" */
  const char *precision; /* "fp32", ... */
  double flops;          /* floating-point operations per run for the bound shapes */
  double iops;           /* integer operations per run (nodes computing on integer tensors) */
  int64_t parameters;    /* elements of the node's constant inputs (weights, biases) */
  uint64_t runs;
  uint64_t total_ns;     /* summed over runs (profile option only) */
  size_t n_inputs;       /* inputs and outputs with their bound shapes (name NULL: omitted) */
  const lens_tensor_desc *inputs;
  size_t n_outputs;
  const lens_tensor_desc *outputs;
  const char *fused_into; /* a following activation this node could absorb, or NULL */
  const char *fused_nodes; /* nodes the kernel executes inside this one, e.g. "add_3,relu_4" */
  const char *device;      /* where the node ran: "cpu" or "gpu" */
  uint64_t transfer_ns;    /* summed over runs: copying its inputs across to where it ran */
  uint64_t transfer_bytes; /* (and for a graph output it made, back to the host) */
  const char *note;        /* why a node stayed on the CPU of a gpu session, or NULL */
} lens_node_profile;

/* Nodes the session executes (after folding), in execution order. */
size_t lens_session_node_count(const lens_session *session);
lens_status *lens_session_node_profile(const lens_session *session, size_t index,
                                       lens_node_profile *out);
/* Bytes of the planned activation arena. */
size_t lens_session_arena_bytes(const lens_session *session);
/* Threads a run uses: the options' threads, or 1 for a run of under 100 MFLOP. */
int lens_session_threads(const lens_session *session);

/* Theoretical analysis of a model for the shapes bound in a session. */
typedef struct lens_model_analysis {
  double flops;                 /* floating-point operations per run */
  double iops;                  /* integer operations per run */
  int64_t parameters;           /* elements of the constants the executed nodes read */
  size_t weight_bytes;          /* their bytes */
  size_t min_activation_bytes;  /* the planned arena (tensors share memory by liveness) */
  size_t max_activation_bytes;  /* every activation tensor alive at once */
  size_t n_nodes;               /* nodes executed per run */
  size_t n_folded;              /* nodes folded away at session creation */
} lens_model_analysis;

lens_status *lens_session_analyze(const lens_session *session, lens_model_analysis *out);
/* Creates a session with options (for the shape bindings), analyses it and frees it. */
lens_status *lens_model_analyze(const lens_model *model, const lens_session_options *options,
                                lens_model_analysis *out);

/* ---- Devices (OpenCL) ------------------------------------------------------------------ */

typedef struct lens_device_info {
  char spec[32];            /* the device string that selects it: "gpu.N" */
  char name[256];
  char vendor[256];
  char driver_version[128];
  char platform[256];
  char type[16];            /* "gpu", "cpu" (e.g. PoCL), "accelerator" or "other" */
  int compute_units;
  uint64_t global_memory_bytes;
  uint64_t max_allocation_bytes; /* the largest single buffer (bounds the activation arena) */
  uint64_t local_memory_bytes;
  bool fp16;                /* cl_khr_fp16: half arithmetic (without it fp16 is storage only) */
} lens_device_info;

/* OpenCL devices on this machine, over all platforms (0 when none is installed or liblens
 * was built without OpenCL). */
lens_status *lens_device_count(size_t *count);
lens_status *lens_device_get_info(size_t index, lens_device_info *out);

/* The instruction set the CPU kernels use: "avx512", "avx2" or "baseline" (portable C) —
 * the best the CPU and OS support, capped by the environment variable LENS_CPU_ISA ("avx2"
 * or "baseline"), which is read once, on first use. */
const char *lens_cpu_isa_in_use(void);

/* ---- Tensor files (ONNX TensorProto .pb, as in ONNX's test data) ------------------------ */

/* Reads a TensorProto; *out_name gets its name (may be NULL). Free with lens_tensor_free. */
lens_status *lens_tensor_load_pb(const char *path, lens_tensor *out, char **out_name);
lens_status *lens_tensor_save_pb(const char *path, const lens_tensor *tensor, const char *name);
/* Frees data owned by a tensor returned from lens_tensor_load_pb. */
void lens_tensor_free(lens_tensor *tensor);
/* Element count, or -1 if the dims are negative or the product overflows. */
int64_t lens_tensor_elements(const lens_tensor *tensor);

/* float16 <-> float32 conversion helpers (IEEE binary16, round to nearest even). */
float lens_half_to_float(uint16_t h);
uint16_t lens_float_to_half(float f);

#ifdef __cplusplus
}
#endif

#endif /* LENS_LENS_H */
