/* The CPU kernel registry, in order of preference. */
#include "cpu/kernels.h"

extern const lens_kernel lens_kernel_conv2d_depthwise_direct;
extern const lens_kernel lens_kernel_conv2d_im2col_sgemm;
extern const lens_kernel lens_kernel_gemm_sgemm;
extern const lens_kernel lens_kernel_matmul_sgemm;

static const lens_kernel *const cpu_kernels[] = {
    &lens_kernel_conv2d_depthwise_direct,
    &lens_kernel_conv2d_im2col_sgemm,
    &lens_kernel_gemm_sgemm,
    &lens_kernel_matmul_sgemm,
};

const lens_kernel *const *lens_cpu_kernels(size_t *count) {
  size_t n = 0;
  while (n < sizeof cpu_kernels / sizeof cpu_kernels[0] && cpu_kernels[n]) n++;
  *count = n;
  return cpu_kernels;
}
