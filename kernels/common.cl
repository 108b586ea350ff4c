/* Shared by every Lens OpenCL kernel: the storage type and how values are loaded/stored.
 *
 *   fp32                      T = float, arithmetic in float.
 *   fp16 (LENS_FP16)          T = half storage; vload_half/vstore_half_rte convert, arithmetic
 *                             in float (works on every OpenCL 1.2 device).
 *   fp16 + LENS_FP16_ARITH    the device has cl_khr_fp16: half loads/stores, products of the
 *                             convolution and GEMM inner loops in half (REAL), their sums and
 *                             all other arithmetic in float.
 * Offsets are in elements. */
#ifdef LENS_FP16
#ifdef LENS_FP16_ARITH
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
typedef half REAL;
#define LD(p, i) ((p)[(i)])
#define ST(p, i, v) ((p)[(i)] = (half)(v))
#else
typedef float REAL;
#define LD(p, i) vload_half((i), (p))
#define ST(p, i, v) vstore_half_rte((float)(v), (i), (p))
#endif
typedef half T;
#else
typedef float T;
typedef float REAL;
#define LD(p, i) ((p)[(i)])
#define ST(p, i, v) ((p)[(i)] = (v))
#endif

/* Activation codes: the same values as lens_activation_kind, then plain unary ops. */
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_CLIP 2
#define ACT_SIGMOID 3
#define ACT_TANH 4
#define ACT_LEAKYRELU 5
#define ACT_HARDSIGMOID 6
#define ACT_HARDSWISH 7
#define ACT_EXP 8
#define ACT_SQRT 9
#define ACT_NEG 10
#define ACT_LOG 11

float lens_act(int kind, float x, float a, float b) {
  switch (kind) {
  case ACT_RELU: return fmax(x, 0.0f);
  case ACT_CLIP: return fmin(fmax(x, a), b);
  case ACT_SIGMOID: return 1.0f / (1.0f + exp(-x));
  case ACT_TANH: return tanh(x);
  case ACT_LEAKYRELU: return x < 0.0f ? a * x : x;
  case ACT_HARDSIGMOID: return fmax(0.0f, fmin(1.0f, a * x + b));
  case ACT_HARDSWISH: return x * fmax(0.0f, fmin(1.0f, x / 6.0f + 0.5f));
  case ACT_EXP: return exp(x);
  case ACT_SQRT: return sqrt(x);
  case ACT_NEG: return -x;
  case ACT_LOG: return log(x);
  default: return x;
  }
}

/* Output epilogue shared by convolution and GEMM: + bias, + residual, activation. */
#define EPILOGUE(v, has_res, res, res_off, idx, act, a, b)                                    \
  do {                                                                                       \
    if (has_res) v += (float)LD(res, (res_off) + (idx));                                     \
    v = lens_act(act, v, a, b);                                                              \
  } while (0)
