/* The OpenCL backend's internals: one open device per session (context, in-order queue,
 * the program built from kernels/ (*.cl) for the session's precision, its kernels). */
#ifndef LENS_OPENCL_OCL_H
#define LENS_OPENCL_OCL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "core/backend.h"

enum {
  OCL_K_CONV,
  OCL_K_DEPTHWISE,
  OCL_K_CONV_TRANSPOSE,
  OCL_K_GEMM,
  OCL_K_ELTWISE,
  OCL_K_CHANNEL_AFFINE,
  OCL_K_POOL,
  OCL_K_GLOBAL_POOL,
  OCL_K_COPY,
  OCL_K_PAD,
  OCL_K_RESIZE,
  OCL_K_SOFTMAX,
  OCL_K_REDUCE,
  OCL_K_COUNT
};

typedef struct ocl_device {
  cl_platform_id platform;
  cl_device_id device;
  cl_context context;
  cl_command_queue queue;
  cl_program program;
  cl_kernel kernels[OCL_K_COUNT];
  cl_mem dummy;      /* bound to absent optional buffer arguments */
  char name[256];
  char driver[128];
  char platform_version[256];
  bool fp16;         /* session precision is fp16 */
  bool fp16_arith;   /* ... and the device computes in half (cl_khr_fp16) */
  size_t elem;       /* bytes per stored float: 4 or 2 */
  cl_ulong max_alloc;
  cl_ulong global_mem;
  size_t max_work_group;
  uint16_t *staging; /* fp16 conversion buffer for transfers */
  size_t staging_n;
} ocl_device;

/* "CL_OUT_OF_RESOURCES (-5)" */
const char *lens_ocl_error_name(cl_int err);
/* A status for a failed OpenCL call: out-of-memory codes map to LENS_ERR_OUT_OF_MEMORY. */
lens_status *lens_ocl_error(cl_int err, const char *what);

/* Opens and closes a device (see lens_backend.open). */
lens_status *lens_ocl_open(const char *spec, const char *precision, ocl_device **out);
void lens_ocl_close(ocl_device *d);

/* Creates a read-only buffer holding n floats converted to the device's storage type
 * (as_float: always float32, for biases and per-channel parameters). */
lens_status *lens_ocl_const_buffer(ocl_device *d, const float *data, size_t n, bool as_float,
                                   cl_mem *out);

extern const lens_backend lens_ocl_backend;

#endif
