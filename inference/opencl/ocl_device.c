/* OpenCL devices: enumeration (lens_device_count / lens_device_get_info), selection from a
 * device string, and the program for a session, built once per device and precision and
 * cached on disk.
 *
 * Device strings: "gpu" takes the first device of type GPU, else the first OpenCL device of
 * any type (PoCL, for one, is a CPU device); "gpu.N" the N-th device in platform order, as
 * lens_device_get_info numbers them; "gpu:TEXT" the first whose name contains TEXT
 * (case-insensitive).
 *
 * Program cache: $LENS_OPENCL_CACHE_DIR, else $XDG_CACHE_HOME/lens/opencl, else
 * ~/.cache/lens/opencl (LENS_OPENCL_CACHE_DIR="" turns it off). One file per key, the key
 * hashing device name, driver and platform version, build options and the kernels' source
 * hash. A file that is short, fails its checksum or that the driver refuses is rebuilt from
 * source and replaced, never an error. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "opencl/ocl.h"

extern const char *const lens_ocl_source_lines[];
extern const size_t lens_ocl_source_line_count;
extern const char lens_ocl_source_hash[];

#define MAX_DEVICES 64

const char *lens_ocl_error_name(cl_int err) {
  switch (err) {
#define E(x) case x: return #x;
    E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
    E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
    E(CL_BUILD_PROGRAM_FAILURE) E(CL_INVALID_VALUE) E(CL_INVALID_DEVICE) E(CL_INVALID_BINARY)
    E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM) E(CL_INVALID_KERNEL_NAME)
    E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE)
    E(CL_INVALID_ARG_SIZE) E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION)
    E(CL_INVALID_WORK_GROUP_SIZE) E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET)
    E(CL_INVALID_BUFFER_SIZE) E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_COMMAND_QUEUE)
    E(CL_INVALID_CONTEXT) E(CL_INVALID_PLATFORM) E(CL_INVALID_OPERATION)
    E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
#undef E
  case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
  default: return "CL error";
  }
}

lens_status *lens_ocl_error(cl_int err, const char *what) {
  lens_status_code code = err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
                                  err == CL_OUT_OF_HOST_MEMORY || err == CL_INVALID_BUFFER_SIZE
                              ? LENS_ERR_OUT_OF_MEMORY
                              : LENS_ERR_RUNTIME;
  return lens_error(code, "OpenCL: %s failed: %s (%d)%s", what, lens_ocl_error_name(err),
                    (int)err,
                    code == LENS_ERR_OUT_OF_MEMORY ? " (the device is out of memory or resources)"
                                                   : "");
}

/* Every device of every platform, in platform order. *n is 0 when no platform is
 * installed (the ICD loader then reports CL_PLATFORM_NOT_FOUND_KHR). */
static void enumerate(cl_device_id *devs, cl_platform_id *plats, size_t *n) {
  *n = 0;
  cl_platform_id platforms[16];
  cl_uint np = 0;
  if (clGetPlatformIDs(16, platforms, &np) != CL_SUCCESS) return;
  for (cl_uint p = 0; p < np && p < 16; p++) {
    cl_device_id ids[MAX_DEVICES];
    cl_uint nd = 0;
    if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, ids, &nd) != CL_SUCCESS)
      continue;
    for (cl_uint k = 0; k < nd && k < MAX_DEVICES && *n < MAX_DEVICES; k++) {
      devs[*n] = ids[k];
      plats[*n] = platforms[p];
      (*n)++;
    }
  }
}

static bool has_extension(cl_device_id dev, const char *ext) {
  size_t size = 0;
  if (clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS || !size)
    return false;
  char *buf = malloc(size + 1);
  if (!buf) return false;
  bool found = false;
  if (clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, size, buf, NULL) == CL_SUCCESS) {
    buf[size] = 0;
    size_t len = strlen(ext);
    for (const char *p = buf; (p = strstr(p, ext)) != NULL; p += len)
      if ((p == buf || p[-1] == ' ') && (p[len] == 0 || p[len] == ' ')) found = true;
  }
  free(buf);
  return found;
}

static void info_string(cl_device_id dev, cl_device_info what, char *out, size_t cap) {
  out[0] = 0;
  if (clGetDeviceInfo(dev, what, cap, out, NULL) != CL_SUCCESS) out[0] = 0;
  out[cap - 1] = 0;
}

lens_status *lens_device_count(size_t *count) {
  if (!count) return lens_error(LENS_ERR_INVALID_ARGUMENT, "count is NULL");
  cl_device_id devs[MAX_DEVICES];
  cl_platform_id plats[MAX_DEVICES];
  enumerate(devs, plats, count);
  return NULL;
}

lens_status *lens_device_get_info(size_t index, lens_device_info *out) {
  if (!out) return lens_error(LENS_ERR_INVALID_ARGUMENT, "out is NULL");
  memset(out, 0, sizeof *out);
  cl_device_id devs[MAX_DEVICES];
  cl_platform_id plats[MAX_DEVICES];
  size_t n;
  enumerate(devs, plats, &n);
  if (index >= n)
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "device index %zu is out of range (%zu OpenCL "
                                                 "devices)", index, n);
  cl_device_id d = devs[index];
  snprintf(out->spec, sizeof out->spec, "gpu.%zu", index);
  info_string(d, CL_DEVICE_NAME, out->name, sizeof out->name);
  info_string(d, CL_DEVICE_VENDOR, out->vendor, sizeof out->vendor);
  info_string(d, CL_DRIVER_VERSION, out->driver_version, sizeof out->driver_version);
  if (clGetPlatformInfo(plats[index], CL_PLATFORM_NAME, sizeof out->platform, out->platform,
                        NULL) != CL_SUCCESS)
    out->platform[0] = 0;
  out->platform[sizeof out->platform - 1] = 0;
  cl_device_type type = 0;
  clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
  snprintf(out->type, sizeof out->type, "%s",
           type & CL_DEVICE_TYPE_GPU           ? "gpu"
           : type & CL_DEVICE_TYPE_CPU         ? "cpu"
           : type & CL_DEVICE_TYPE_ACCELERATOR ? "accelerator"
                                               : "other");
  cl_uint cu = 0;
  clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
  out->compute_units = (int)cu;
  cl_ulong v = 0;
  clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof v, &v, NULL);
  out->global_memory_bytes = v;
  v = 0;
  clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof v, &v, NULL);
  out->max_allocation_bytes = v;
  v = 0;
  clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof v, &v, NULL);
  out->local_memory_bytes = v;
  out->fp16 = has_extension(d, "cl_khr_fp16");
  return NULL;
}

static bool contains_nocase(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  if (!n) return false;
  for (; *hay; hay++) {
    size_t k = 0;
    while (k < n && hay[k] && tolower((unsigned char)hay[k]) == tolower((unsigned char)needle[k]))
      k++;
    if (k == n) return true;
  }
  return false;
}

static lens_status *select_device(const char *spec, cl_device_id *dev, cl_platform_id *plat) {
  cl_device_id devs[MAX_DEVICES];
  cl_platform_id plats[MAX_DEVICES];
  size_t n;
  enumerate(devs, plats, &n);
  if (n == 0) {
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err != CL_SUCCESS || np == 0)
      return lens_error(LENS_ERR_UNSUPPORTED,
                        "device '%s' requested but no OpenCL platform is installed (an ICD in "
                        "/etc/OpenCL/vendors, e.g. from pocl-opencl-icd or the GPU driver)",
                        spec);
    return lens_error(LENS_ERR_UNSUPPORTED,
                      "device '%s' requested but the OpenCL platforms have no devices", spec);
  }
  long pick = -1;
  if (strcmp(spec, "gpu") == 0) {
    for (size_t i = 0; i < n && pick < 0; i++) {
      cl_device_type type = 0;
      if (clGetDeviceInfo(devs[i], CL_DEVICE_TYPE, sizeof type, &type, NULL) == CL_SUCCESS &&
          (type & CL_DEVICE_TYPE_GPU))
        pick = (long)i;
    }
    if (pick < 0) pick = 0;
  } else if (strncmp(spec, "gpu.", 4) == 0) {
    char *end;
    errno = 0;
    long idx = strtol(spec + 4, &end, 10);
    if (errno || end == spec + 4 || *end || idx < 0)
      return lens_error(LENS_ERR_INVALID_ARGUMENT, "device '%s': expected gpu.N", spec);
    if ((size_t)idx >= n)
      return lens_error(LENS_ERR_INVALID_ARGUMENT,
                        "device '%s' does not exist: there are %zu OpenCL devices (gpu.0 to "
                        "gpu.%zu)", spec, n, n - 1);
    pick = idx;
  } else {
    const char *text = strncmp(spec, "gpu:", 4) == 0 ? spec + 4 : spec;
    for (size_t i = 0; i < n && pick < 0; i++) {
      char name[256];
      info_string(devs[i], CL_DEVICE_NAME, name, sizeof name);
      if (contains_nocase(name, text)) pick = (long)i;
    }
    if (pick < 0)
      return lens_error(LENS_ERR_INVALID_ARGUMENT,
                        "device '%s': no OpenCL device's name contains '%s'", spec, text);
  }
  *dev = devs[pick];
  *plat = plats[pick];
  return NULL;
}

/* ---- program cache ---------------------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

#define FNV_SEED 1469598103934665603ull
#define CACHE_MAGIC "LENSOCL1"

typedef struct cache_header {
  char magic[8];
  uint64_t key;
  uint64_t size;
  uint64_t checksum;
} cache_header;

/* The cache directory (created), or false when caching is off or impossible. */
static bool cache_dir(char *out, size_t cap) {
  const char *env = getenv("LENS_OPENCL_CACHE_DIR");
  int len;
  if (env) {
    if (!*env) return false;
    len = snprintf(out, cap, "%s", env);
  } else if (getenv("XDG_CACHE_HOME") && *getenv("XDG_CACHE_HOME")) {
    len = snprintf(out, cap, "%s/lens/opencl", getenv("XDG_CACHE_HOME"));
  } else if (getenv("HOME") && *getenv("HOME")) {
    len = snprintf(out, cap, "%s/.cache/lens/opencl", getenv("HOME"));
  } else {
    return false;
  }
  if (len <= 0 || (size_t)len >= cap) return false;
  /* mkdir -p */
  for (char *p = out + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      mkdir(out, 0755);
      *p = '/';
    }
  mkdir(out, 0755);
  struct stat sb;
  return stat(out, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static unsigned char *cache_read(const char *path, uint64_t key, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  cache_header h;
  unsigned char *bin = NULL;
  if (fread(&h, sizeof h, 1, f) == 1 && memcmp(h.magic, CACHE_MAGIC, 8) == 0 && h.key == key &&
      h.size > 0 && h.size < ((uint64_t)1 << 30)) {
    bin = malloc((size_t)h.size);
    if (bin && (fread(bin, 1, (size_t)h.size, f) != h.size ||
                fnv1a(FNV_SEED, bin, (size_t)h.size) != h.checksum)) {
      free(bin);
      bin = NULL;
    }
    if (bin) *size = (size_t)h.size;
  }
  fclose(f);
  return bin;
}

static void cache_write(const char *path, uint64_t key, const unsigned char *bin, size_t size) {
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp) return;
  FILE *f = fopen(tmp, "wb");
  if (!f) return;
  cache_header h;
  memcpy(h.magic, CACHE_MAGIC, 8);
  h.key = key;
  h.size = size;
  h.checksum = fnv1a(FNV_SEED, bin, size);
  bool ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(bin, 1, size, f) == size;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) remove(tmp);
}

static lens_status *build_log_error(ocl_device *d, cl_program prog, cl_int err) {
  size_t size = 0;
  clGetProgramBuildInfo(prog, d->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size);
  char *log = malloc(size + 1);
  if (log) {
    log[0] = 0;
    if (size) clGetProgramBuildInfo(prog, d->device, CL_PROGRAM_BUILD_LOG, size, log, NULL);
    log[size] = 0;
  }
  const size_t max = 6000; /* the head of a long log says what went wrong first */
  if (log && strlen(log) > max) strcpy(log + max - 4, "...");
  lens_status *st = lens_error(LENS_ERR_RUNTIME,
                               "OpenCL: building the Lens kernels for '%s' failed: %s (%d); "
                               "build log:\n%s",
                               d->name, lens_ocl_error_name(err), (int)err,
                               log ? log : "(no memory for the log)");
  free(log);
  return st;
}

static lens_status *build_program(ocl_device *d, const char *options) {
  uint64_t key = FNV_SEED;
  key = fnv1a(key, d->name, strlen(d->name) + 1);
  key = fnv1a(key, d->driver, strlen(d->driver) + 1);
  key = fnv1a(key, d->platform_version, strlen(d->platform_version) + 1);
  key = fnv1a(key, options, strlen(options) + 1);
  key = fnv1a(key, lens_ocl_source_hash, strlen(lens_ocl_source_hash));
  char dir[4096], path[4160];
  bool cache = cache_dir(dir, sizeof dir);
  if (cache) snprintf(path, sizeof path, "%s/%016llx.bin", dir, (unsigned long long)key);
  cl_int err;
  if (cache) {
    size_t size = 0;
    unsigned char *bin = cache_read(path, key, &size);
    if (bin) {
      const unsigned char *bins[1] = {bin};
      cl_int bin_status = CL_SUCCESS;
      cl_program prog = clCreateProgramWithBinary(d->context, 1, &d->device, &size, bins,
                                                  &bin_status, &err);
      if (prog && err == CL_SUCCESS && bin_status == CL_SUCCESS &&
          clBuildProgram(prog, 1, &d->device, options, NULL, NULL) == CL_SUCCESS) {
        free(bin);
        d->program = prog;
        return NULL;
      }
      if (prog) clReleaseProgram(prog);
      free(bin); /* unusable entry: rebuilt from source below and replaced */
    }
  }
  cl_program prog = clCreateProgramWithSource(d->context, (cl_uint)lens_ocl_source_line_count,
                                              (const char **)lens_ocl_source_lines, NULL, &err);
  if (!prog || err != CL_SUCCESS) return lens_ocl_error(err, "clCreateProgramWithSource");
  err = clBuildProgram(prog, 1, &d->device, options, NULL, NULL);
  if (err != CL_SUCCESS) {
    lens_status *st = build_log_error(d, prog, err);
    clReleaseProgram(prog);
    return st;
  }
  d->program = prog;
  if (cache) {
    size_t size = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) ==
            CL_SUCCESS &&
        size > 0) {
      unsigned char *bin = malloc(size);
      unsigned char *bins[1] = {bin};
      if (bin && clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) ==
                     CL_SUCCESS)
        cache_write(path, key, bin, size);
      free(bin);
    }
  }
  return NULL;
}

/* ---- open / close ------------------------------------------------------------------------ */

static const char *const kernel_names[OCL_K_COUNT] = {
    [OCL_K_CONV] = "conv2d_tiled",         [OCL_K_DEPTHWISE] = "conv2d_depthwise",
    [OCL_K_CONV_TRANSPOSE] = "conv_transpose2d", [OCL_K_GEMM] = "gemm_tiled",
    [OCL_K_ELTWISE] = "eltwise",           [OCL_K_CHANNEL_AFFINE] = "channel_affine",
    [OCL_K_POOL] = "pool2d",               [OCL_K_GLOBAL_POOL] = "global_pool",
    [OCL_K_COPY] = "copy_nd",              [OCL_K_PAD] = "pad_nd",
    [OCL_K_RESIZE] = "resize2d",           [OCL_K_SOFTMAX] = "softmax_rows",
    [OCL_K_REDUCE] = "reduce_rows",
};

void lens_ocl_close(ocl_device *d) {
  if (!d) return;
  if (d->queue) clFinish(d->queue);
  for (int k = 0; k < OCL_K_COUNT; k++)
    if (d->kernels[k]) clReleaseKernel(d->kernels[k]);
  if (d->dummy) clReleaseMemObject(d->dummy);
  if (d->program) clReleaseProgram(d->program);
  if (d->queue) clReleaseCommandQueue(d->queue);
  if (d->context) clReleaseContext(d->context);
  free(d->staging);
  free(d);
}

lens_status *lens_ocl_open(const char *spec, const char *precision, ocl_device **out) {
  *out = NULL;
  bool fp16 = precision && strcmp(precision, "fp16") == 0;
  if (precision && !fp16 && strcmp(precision, "fp32") != 0)
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "precision '%s' is not fp32 or fp16",
                      precision);
  ocl_device *d = calloc(1, sizeof *d);
  if (!d) return lens_error_oom();
  lens_status *st = select_device(spec, &d->device, &d->platform);
  if (st) {
    free(d);
    return st;
  }
  info_string(d->device, CL_DEVICE_NAME, d->name, sizeof d->name);
  info_string(d->device, CL_DRIVER_VERSION, d->driver, sizeof d->driver);
  if (clGetPlatformInfo(d->platform, CL_PLATFORM_VERSION, sizeof d->platform_version,
                        d->platform_version, NULL) != CL_SUCCESS)
    d->platform_version[0] = 0;
  d->platform_version[sizeof d->platform_version - 1] = 0;
  clGetDeviceInfo(d->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof d->max_alloc, &d->max_alloc,
                  NULL);
  clGetDeviceInfo(d->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof d->global_mem, &d->global_mem,
                  NULL);
  clGetDeviceInfo(d->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof d->max_work_group,
                  &d->max_work_group, NULL);
  d->fp16 = fp16;
  /* LENS_OPENCL_FP16=storage forces half storage with float arithmetic (for testing). */
  const char *mode = getenv("LENS_OPENCL_FP16");
  d->fp16_arith = fp16 && has_extension(d->device, "cl_khr_fp16") &&
                  !(mode && strcmp(mode, "storage") == 0);
  d->elem = fp16 ? 2 : 4;
  cl_int err;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)d->platform, 0};
  d->context = clCreateContext(props, 1, &d->device, NULL, NULL, &err);
  if (!d->context || err != CL_SUCCESS) {
    st = lens_ocl_error(err, "clCreateContext");
    goto fail;
  }
  d->queue = clCreateCommandQueue(d->context, d->device, 0, &err);
  if (!d->queue || err != CL_SUCCESS) {
    st = lens_ocl_error(err, "clCreateCommandQueue");
    goto fail;
  }
  if (d->max_work_group < 128) {
    st = lens_error(LENS_ERR_UNSUPPORTED,
                    "OpenCL device '%s' allows work-groups of %zu work-items; Lens needs 128",
                    d->name, d->max_work_group);
    goto fail;
  }
  const char *options = !fp16 ? "-cl-std=CL1.2"
                        : d->fp16_arith ? "-cl-std=CL1.2 -DLENS_FP16 -DLENS_FP16_ARITH"
                                        : "-cl-std=CL1.2 -DLENS_FP16";
  if ((st = build_program(d, options))) goto fail;
  for (int k = 0; k < OCL_K_COUNT; k++) {
    d->kernels[k] = clCreateKernel(d->program, kernel_names[k], &err);
    if (!d->kernels[k] || err != CL_SUCCESS) {
      st = lens_ocl_error(err, kernel_names[k]);
      goto fail;
    }
  }
  d->dummy = clCreateBuffer(d->context, CL_MEM_READ_WRITE, 64, NULL, &err);
  if (!d->dummy || err != CL_SUCCESS) {
    st = lens_ocl_error(err, "clCreateBuffer");
    goto fail;
  }
  *out = d;
  return NULL;
fail:
  lens_ocl_close(d);
  return st;
}

lens_status *lens_ocl_const_buffer(ocl_device *d, const float *data, size_t n, bool as_float,
                                   cl_mem *out) {
  *out = NULL;
  size_t es = as_float ? sizeof(float) : d->elem;
  size_t bytes = (n ? n : 1) * es;
  void *host = (void *)data;
  uint16_t *half = NULL;
  if (es == 2 && n) {
    half = malloc(n * sizeof *half);
    if (!half) return lens_error_oom();
    for (size_t i = 0; i < n; i++) half[i] = lens_float_to_half(data[i]);
    host = half;
  }
  if (bytes > d->max_alloc) {
    free(half);
    return lens_error(LENS_ERR_OUT_OF_MEMORY,
                      "OpenCL device '%s' cannot hold a %zu-byte constant (largest buffer %llu "
                      "bytes)", d->name, bytes, (unsigned long long)d->max_alloc);
  }
  cl_int err;
  *out = clCreateBuffer(d->context, CL_MEM_READ_ONLY | (n ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                        n ? host : NULL, &err);
  free(half);
  if (!*out || err != CL_SUCCESS) {
    *out = NULL;
    return lens_ocl_error(err, "clCreateBuffer (constant)");
  }
  return NULL;
}
