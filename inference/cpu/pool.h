/* What maxpool2d_direct shares with kernels that absorb a following MaxPool (their
 * pool_scratch_bytes): its window and its plane function. */
#ifndef LENS_CPU_POOL_H
#define LENS_CPU_POOL_H

#include "cpu/kernels.h"
#include "ops/nn_common.h"

extern const lens_kernel lens_kernel_maxpool2d_direct;

/* The max over w of one N-C plane x into y (w's rows: only x's rows [0, w->in[0]) are
 * read, the window's others count as padding). */
typedef void (*lens_max_plane_fn)(const lens_window *w, const float *x, float *y);

/* The plane function for w at the current ISA level. */
lens_max_plane_fn lens_cpu_max_plane(const lens_window *w);

/* The 2-D window of a MaxPool node maxpool2d_direct runs, over input x; false otherwise. */
bool lens_cpu_maxpool_window(const lens_node *node, const lens_value *x, lens_window *w);

#endif
