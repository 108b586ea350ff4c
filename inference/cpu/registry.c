/* The CPU kernel registry, in order of preference. */
#include "cpu/kernels.h"

#include "cpu/conv_depthwise.h"

extern const lens_kernel lens_kernel_conv3x3_winograd_f4;
extern const lens_kernel lens_kernel_conv2d_im2col_sgemm;
extern const lens_kernel lens_kernel_gemm_sgemm;
extern const lens_kernel lens_kernel_matmul_sgemm;
extern const lens_kernel lens_kernel_maxpool2d_direct;
extern const lens_kernel lens_kernel_avgpool2d_direct;
extern const lens_kernel lens_kernel_global_average_pool;
extern const lens_kernel lens_kernel_batchnorm_affine;
extern const lens_kernel lens_kernel_conv_transpose2d_sgemm;
extern const lens_kernel lens_kernel_softmax_lastaxis;
extern const lens_kernel lens_kernel_add_f32;
extern const lens_kernel lens_kernel_sub_f32;
extern const lens_kernel lens_kernel_mul_f32;
extern const lens_kernel lens_kernel_div_f32;
extern const lens_kernel lens_kernel_resize_nearest_int;
extern const lens_kernel lens_kernel_sigmoid_f32;

static const lens_kernel *const cpu_kernels[] = {
    &lens_kernel_conv2d_depthwise_direct,
    &lens_kernel_conv3x3_winograd_f4,
    &lens_kernel_conv2d_im2col_sgemm,
    &lens_kernel_gemm_sgemm,
    &lens_kernel_matmul_sgemm,
    &lens_kernel_maxpool2d_direct,
    &lens_kernel_avgpool2d_direct,
    &lens_kernel_global_average_pool,
    &lens_kernel_batchnorm_affine,
    &lens_kernel_conv_transpose2d_sgemm,
    &lens_kernel_softmax_lastaxis,
    &lens_kernel_add_f32,
    &lens_kernel_sub_f32,
    &lens_kernel_mul_f32,
    &lens_kernel_div_f32,
    &lens_kernel_resize_nearest_int,
    &lens_kernel_sigmoid_f32,
};

const lens_kernel *const *lens_cpu_kernels(size_t *count) {
  size_t n = 0;
  while (n < sizeof cpu_kernels / sizeof cpu_kernels[0] && cpu_kernels[n]) n++;
  *count = n;
  return cpu_kernels;
}
