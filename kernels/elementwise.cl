/* Elementwise: an optional broadcast binary op followed by a chain of up to 8 unary ops (the
 * session fuses consecutive elementwise nodes into one launch). Operand modes: 0 advances
 * with the output, 1 is a single element, 2 is strided by its broadcast strides. */
#define BIN_NONE 0
#define BIN_ADD 1
#define BIN_SUB 2
#define BIN_MUL 3
#define BIN_DIV 4
#define BIN_POW 5
#define BIN_MAX 6
#define BIN_MIN 7
#define BIN_PRELU 8

__kernel void eltwise(__global T *y, int y_off, __global const T *a, int a_off, int a_mode,
                      __global const T *b, int b_off, int b_mode, int binop, int rank,
                      int8 dims, int8 astr, int8 bstr, int n_ops, int8 ops, float8 pa,
                      float8 pb, int total) {
  const int i = get_global_id(0);
  if (i >= total) return;
  int ai = a_mode == 1 ? 0 : i, bi = b_mode == 1 ? 0 : i;
  if (a_mode == 2 || b_mode == 2) {
    int D[8], SA[8], SB[8];
    vstore8(dims, 0, D);
    vstore8(astr, 0, SA);
    vstore8(bstr, 0, SB);
    int r = i, sa = 0, sb = 0;
    for (int d = rank - 1; d >= 0; d--) {
      int q = r % D[d];
      r /= D[d];
      sa += q * SA[d];
      sb += q * SB[d];
    }
    if (a_mode == 2) ai = sa;
    if (b_mode == 2) bi = sb;
  }
  float v = LD(a, a_off + ai);
  if (binop != BIN_NONE) {
    float u = LD(b, b_off + bi);
    switch (binop) {
    case BIN_ADD: v = v + u; break;
    case BIN_SUB: v = v - u; break;
    case BIN_MUL: v = v * u; break;
    case BIN_DIV: v = v / u; break;
    case BIN_POW: v = u == 2.0f ? v * v : u == 0.5f ? sqrt(v) : pow(v, u); break;
    case BIN_MAX: v = fmax(v, u); break;
    case BIN_MIN: v = fmin(v, u); break;
    case BIN_PRELU: v = v < 0.0f ? v * u : v; break;
    default: break;
    }
  }
  if (n_ops > 0) {
    int O[8];
    float A[8], B[8];
    vstore8(ops, 0, O);
    vstore8(pa, 0, A);
    vstore8(pb, 0, B);
    for (int k = 0; k < n_ops; k++) v = lens_act(O[k], v, A[k], B[k]);
  }
  ST(y, y_off + i, v);
}

/* y = x * scale[c] + shift[c] over [N][C][inner] (BatchNormalization at inference). */
__kernel void channel_affine(__global T *y, int y_off, __global const T *x, int x_off,
                             __global const float *scale, __global const float *shift, int C,
                             int inner, int total, int act, float p0, float p1) {
  const int i = get_global_id(0);
  if (i >= total) return;
  const int c = (i / inner) % C;
  float v = (float)LD(x, x_off + i) * scale[c] + shift[c];
  ST(y, y_off + i, lens_act(act, v, p0, p1));
}
