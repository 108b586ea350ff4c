/* Batched GEMM with strides: Y[z] = alpha * A[z] B[z] + beta * C, A[z](m, k) at
 * a_off + z*a_bs + m*a_sm + k*a_sk (transposes and broadcast batches are strides), C
 * broadcast by its strides. Same 32x64 tiling and register blocking as conv2d_tiled. */
#define GT_M 32
#define GT_N 64
#define GT_K 16
#define GT_LX 16
#define GT_LY 8

__kernel __attribute__((reqd_work_group_size(GT_LX, GT_LY, 1)))
void gemm_tiled(__global const T *a, int a_off, int a_bs, int a_sm, int a_sk,
                __global const T *bm, int b_off, int b_bs, int b_sk, int b_sn,
                __global const float *c, int c_sm, int c_sn, int has_c, float alpha,
                float beta, __global T *y, int y_off, __global const T *res, int res_off,
                int has_res, int M, int N, int K, int act, float p0, float p1) {
  const int lx = get_local_id(0), ly = get_local_id(1), tid = ly * GT_LX + lx;
  const int n0 = get_group_id(0) * GT_N, m0 = get_group_id(1) * GT_M;
  const int z = get_global_id(2);
  const int ab = a_off + z * a_bs, bb = b_off + z * b_bs;
  __local REAL As[GT_K][GT_M];
  __local REAL Bs[GT_K][GT_N];
  float acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
  for (int k0 = 0; k0 < K; k0 += GT_K) {
    for (int i = tid; i < GT_M * GT_K; i += GT_LX * GT_LY) {
      int mm = i / GT_K, kk = i - mm * GT_K;
      int m = m0 + mm, k = k0 + kk;
      As[kk][mm] = (m < M && k < K) ? (REAL)LD(a, ab + m * a_sm + k * a_sk) : (REAL)0;
    }
    for (int i = tid; i < GT_K * GT_N; i += GT_LX * GT_LY) {
      int kk = i / GT_N, nn = i - kk * GT_N;
      int k = k0 + kk, n = n0 + nn;
      Bs[kk][nn] = (k < K && n < N) ? (REAL)LD(bm, bb + k * b_sk + n * b_sn) : (REAL)0;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < GT_K; kk++) {
      REAL av[4], bv[4];
      for (int i = 0; i < 4; i++) av[i] = As[kk][ly + GT_LY * i];
      for (int j = 0; j < 4; j++) bv[j] = Bs[kk][lx + GT_LX * j];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] += av[i] * bv[j];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (int i = 0; i < 4; i++) {
    int m = m0 + ly + GT_LY * i;
    if (m >= M) continue;
    for (int j = 0; j < 4; j++) {
      int n = n0 + lx + GT_LX * j;
      if (n >= N) continue;
      int idx = (z * M + m) * N + n;
      float v = alpha * acc[i][j];
      if (has_c) v += beta * c[m * c_sm + n * c_sn];
      EPILOGUE(v, has_res, res, res_off, idx, act, p0, p1);
      ST(y, y_off + idx, v);
    }
  }
}
