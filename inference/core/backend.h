/* Device backends. The session runs every node on the CPU kernels unless a backend is
 * opened for the session's device; it then asks the backend, node by node, whether it runs
 * that node (supports) and gives it the node if so, else keeps it on the CPU. Each tensor
 * then lives in host memory (the host arena), in device memory (the device arena, planned
 * by the same liveness planner) or both, and the session copies it across where a node
 * reads it on the other side. An incomplete backend still runs the whole graph. */
#ifndef LENS_CORE_BACKEND_H
#define LENS_CORE_BACKEND_H

#include "ops/op.h"

/* Where a non-constant float tensor lies in device memory: an allocation from alloc() and
 * an element offset into it (elements of the device's storage type). */
typedef struct lens_device_ref {
  void *mem;
  size_t offset;
} lens_device_ref;

/* What prepare() learns about a node once the session has fused its epilogue and chain. */
typedef struct lens_backend_node {
  const lens_node *node;
  const lens_value *in;  /* bound shapes; constant inputs have data, others do not */
  const lens_value *out; /* output shapes (output 0 is the last fused node's output) */
  const lens_epilogue *epilogue; /* residual/activation absorbed (LENS_FUSE_*), or NULL */
  bool has_residual;
  const lens_epilogue *chain; /* unary elementwise nodes absorbed after this one, in order */
  int n_chain;
} lens_backend_node;

/* A device backend: one struct of function pointers, one open device per session. */
typedef struct lens_backend {
  const char *name;   /* "opencl" */
  /* Opens the device named by spec ("gpu", "gpu.N", "gpu:NAME") for one session at a
   * precision ("fp32", "fp16"). Fails with a status that says what is missing. */
  lens_status *(*open)(const char *spec, const char *precision, void **dev);
  void (*close)(void *dev);
  /* Whether the device runs this node for these bound shapes (constant inputs have data);
   * *fuses receives the LENS_FUSE_* epilogues its kernel can absorb. */
  bool (*supports)(void *dev, const lens_node *node, const lens_value *in,
                   const lens_value *out, unsigned *fuses);
  /* Chooses the kernel and uploads constant inputs, once at session creation. */
  lens_status *(*prepare)(void *dev, const lens_backend_node *info, void **state);
  /* Kernel name for profiles, e.g. "ocl_conv2d_tiled_32x64". */
  const char *(*kernel_name)(const void *state);
  /* Frees what prepare made. (optional: free()) */
  void (*release)(void *state);
  /* Bytes per float element in device memory (4 for fp32, 2 for fp16 storage). */
  size_t (*element_size)(void *dev);
  /* Allocates device memory; a size the device cannot hold is a status naming the sizes. */
  lens_status *(*alloc)(void *dev, size_t bytes, void **mem);
  void (*free)(void *dev, void *mem);
  /* Copies n float32 values to / from device memory, converting to the storage type. */
  lens_status *(*upload)(void *dev, const lens_device_ref *dst, const float *src, size_t n);
  lens_status *(*download)(void *dev, const lens_device_ref *src, float *dst, size_t n);
  /* Enqueues the node. in[k]/out[k] locate non-constant tensors (mem NULL for constants and
   * omitted ones); residual is the epilogue's residual operand (mem NULL: none). */
  lens_status *(*compute)(void *dev, void *state, const lens_device_ref *in,
                          const lens_device_ref *out, const lens_device_ref *residual);
  /* Waits for everything enqueued; reports errors of asynchronous execution. */
  lens_status *(*finish)(void *dev);
  /* The open device's name, e.g. "NVIDIA H100 80GB HBM3". */
  const char *(*device_name)(void *dev);
} lens_backend;

/* The OpenCL backend, or NULL when liblens was built without OpenCL. */
const lens_backend *lens_opencl_backend(void);

/* Fuse flag (with LENS_FUSE_ACTIVATION / LENS_FUSE_RESIDUAL of cpu/kernels.h): the kernel
 * can run following unary elementwise nodes as a chain in the same launch. */
#define LENS_FUSE_UNARY_CHAIN (1u << 2)
#define LENS_MAX_CHAIN 8

#endif
