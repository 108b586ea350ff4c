/* The execution context handed to kernels. */
#ifndef LENS_CORE_EXEC_H
#define LENS_CORE_EXEC_H

#include "core/threadpool.h"
#include "ops/op.h"

struct lens_exec_ctx {
  lens_threadpool *pool; /* NULL: run on the calling thread */
  void *scratch;         /* 64-byte aligned, at least the node's scratch_bytes */
  size_t scratch_bytes;
  void *kernel_state;
  const lens_epilogue *epilogue; /* NULL: none */
};

/* After a run: the threads' speeds measured in its static regions (lens_exec_split_observe)
 * move the shares of the next runs' splits. */
void lens_exec_settle_shares(lens_threadpool *pool);

#endif
