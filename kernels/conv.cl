/* Convolution as an implicit GEMM per group: M = output channels of the group, N = output
 * pixels, K = input channels of the group x kernel window. A work-group of 16x8 work-items
 * computes a 32x64 output tile; each work-item keeps a 4x4 register block. Tiles of the
 * weights and of the (implicitly unfolded) input pass through local memory, TK = 16 deep.
 * The epilogue adds the bias and a residual and applies the activation. */
#define CT_M 32
#define CT_N 64
#define CT_K 16
#define CT_LX 16
#define CT_LY 8

__kernel __attribute__((reqd_work_group_size(CT_LX, CT_LY, 1)))
void conv2d_tiled(__global const T *x, int x_off, __global const T *w,
                  __global const float *bias, int has_bias, __global T *y, int y_off,
                  __global const T *res, int res_off, int has_res, int C, int H, int W,
                  int OC, int OH, int OW, int KH, int KW, int sh, int sw, int ph, int pw,
                  int dh, int dw, int groups, int pointwise, int act, float alpha,
                  float beta) {
  const int Cg = C / groups, OCg = OC / groups;
  const int KHW = KH * KW, K = Cg * KHW, N = OH * OW, M = OCg;
  const int lx = get_local_id(0), ly = get_local_id(1), tid = ly * CT_LX + lx;
  const int n0 = get_group_id(0) * CT_N, m0 = get_group_id(1) * CT_M;
  const int z = get_global_id(2), b = z / groups, g = z - b * groups;
  __local REAL As[CT_K][CT_M];
  __local REAL Bs[CT_K][CT_N];
  float acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
  const int xb = x_off + (b * C + g * Cg) * H * W;
  const int wb = g * OCg * K;
  for (int k0 = 0; k0 < K; k0 += CT_K) {
    for (int i = tid; i < CT_M * CT_K; i += CT_LX * CT_LY) {
      int mm = i / CT_K, kk = i - mm * CT_K;
      int m = m0 + mm, k = k0 + kk;
      As[kk][mm] = (m < M && k < K) ? (REAL)LD(w, wb + m * K + k) : (REAL)0;
    }
    for (int i = tid; i < CT_K * CT_N; i += CT_LX * CT_LY) {
      int kk = i / CT_N, nn = i - kk * CT_N;
      int k = k0 + kk, p = n0 + nn;
      REAL v = 0;
      if (k < K && p < N) {
        if (pointwise) {
          v = LD(x, xb + k * N + p);
        } else {
          int ci = k / KHW, r = k - ci * KHW;
          int kh = r / KW, kw = r - kh * KW;
          int oh = p / OW, ow = p - oh * OW;
          int ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw;
          if (ih >= 0 && ih < H && iw >= 0 && iw < W) v = LD(x, xb + (ci * H + ih) * W + iw);
        }
      }
      Bs[kk][nn] = v;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < CT_K; kk++) {
      REAL av[4], bv[4];
      for (int i = 0; i < 4; i++) av[i] = As[kk][ly + CT_LY * i];
      for (int j = 0; j < 4; j++) bv[j] = Bs[kk][lx + CT_LX * j];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] += av[i] * bv[j];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (int i = 0; i < 4; i++) {
    int m = m0 + ly + CT_LY * i;
    if (m >= M) continue;
    int co = g * OCg + m;
    float bval = has_bias ? bias[co] : 0.0f;
    for (int j = 0; j < 4; j++) {
      int p = n0 + lx + CT_LX * j;
      if (p >= N) continue;
      int idx = (b * OC + co) * N + p;
      float v = acc[i][j] + bval;
      EPILOGUE(v, has_res, res, res_off, idx, act, alpha, beta);
      ST(y, y_off + idx, v);
    }
  }
}

/* Depthwise (one input channel per group, `mult` outputs per group): each work-item
 * computes 4 horizontally adjacent outputs, reusing each weight from a register. */
__kernel void conv2d_depthwise(__global const T *x, int x_off, __global const T *w,
                               __global const float *bias, int has_bias, __global T *y,
                               int y_off, __global const T *res, int res_off, int has_res,
                               int C, int H, int W, int OC, int OH, int OW, int KH, int KW,
                               int sh, int sw, int ph, int pw, int dh, int dw, int act,
                               float alpha, float beta) {
  const int ow0 = get_global_id(0) * 4, oh = get_global_id(1), z = get_global_id(2);
  if (ow0 >= OW || oh >= OH) return;
  const int b = z / OC, co = z - b * OC, mult = OC / C, ci = co / mult;
  const int xb = x_off + (b * C + ci) * H * W, wb = co * KH * KW;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int kh = 0; kh < KH; kh++) {
    int ih = oh * sh - ph + kh * dh;
    if (ih < 0 || ih >= H) continue;
    for (int kw = 0; kw < KW; kw++) {
      float wv = LD(w, wb + kh * KW + kw);
      for (int j = 0; j < 4; j++) {
        int iw = (ow0 + j) * sw - pw + kw * dw;
        if (iw >= 0 && iw < W) acc[j] += wv * (float)LD(x, xb + ih * W + iw);
      }
    }
  }
  float bval = has_bias ? bias[co] : 0.0f;
  for (int j = 0; j < 4 && ow0 + j < OW; j++) {
    int idx = ((b * OC + co) * OH + oh) * OW + ow0 + j;
    float v = acc[j] + bval;
    EPILOGUE(v, has_res, res, res_off, idx, act, alpha, beta);
    ST(y, y_off + idx, v);
  }
}

/* ConvTranspose (2-D): each output gathers the inputs that scatter into it. Weights are
 * [C][OC/groups][KH][KW]. */
__kernel void conv_transpose2d(__global const T *x, int x_off, __global const T *w,
                               __global const float *bias, int has_bias, __global T *y,
                               int y_off, int C, int H, int W, int OC, int OH, int OW, int KH,
                               int KW, int sh, int sw, int ph, int pw, int dh, int dw,
                               int groups, int total) {
  const int i = get_global_id(0);
  if (i >= total) return;
  const int ow = i % OW, oh = (i / OW) % OH, co = (i / (OW * OH)) % OC, b = i / (OW * OH * OC);
  const int Cg = C / groups, OCg = OC / groups, g = co / OCg, cog = co - g * OCg;
  float acc = has_bias ? bias[co] : 0.0f;
  for (int kh = 0; kh < KH; kh++) {
    int th = oh + ph - kh * dh;
    if (th < 0 || th % sh) continue;
    int ih = th / sh;
    if (ih >= H) continue;
    for (int kw = 0; kw < KW; kw++) {
      int tw = ow + pw - kw * dw;
      if (tw < 0 || tw % sw) continue;
      int iw = tw / sw;
      if (iw >= W) continue;
      for (int c = 0; c < Cg; c++) {
        int ci = g * Cg + c;
        acc += (float)LD(x, x_off + ((b * C + ci) * H + ih) * W + iw) *
               (float)LD(w, ((ci * OCg + cog) * KH + kh) * KW + kw);
      }
    }
  }
  ST(y, y_off + i, acc);
}
