/* Pooling over the last two dims of [N*C][H][W]. */
__kernel void pool2d(__global T *y, int y_off, __global const T *x, int x_off, int H, int W,
                     int OH, int OW, int KH, int KW, int sh, int sw, int ph, int pw, int ph_end,
                     int pw_end, int dh, int dw, int is_max, int count_include_pad, int total) {
  const int i = get_global_id(0);
  if (i >= total) return;
  const int ow = i % OW, oh = (i / OW) % OH, z = i / (OW * OH);
  const int xb = x_off + z * H * W;
  const int h0 = oh * sh - ph, w0 = ow * sw - pw;
  float acc = is_max ? -INFINITY : 0.0f;
  int count = 0;
  for (int kh = 0; kh < KH; kh++) {
    int ih = h0 + kh * dh;
    if (ih < 0 || ih >= H) continue;
    for (int kw = 0; kw < KW; kw++) {
      int iw = w0 + kw * dw;
      if (iw < 0 || iw >= W) continue;
      float v = LD(x, xb + ih * W + iw);
      acc = is_max ? fmax(acc, v) : acc + v;
      count++;
    }
  }
  if (!is_max) {
    if (count_include_pad) {
      /* the window clipped to the padded input, as ONNX Runtime counts it */
      int hs = min(h0 + (KH - 1) * dh + 1, H + ph_end) - h0;
      int ws = min(w0 + (KW - 1) * dw + 1, W + pw_end) - w0;
      count = hs * ws;
    }
    acc = count > 0 ? acc / (float)count : 0.0f;
  }
  ST(y, y_off + i, acc);
}

/* Global average / max pool: one 64-wide work-group per [n][c] plane. */
__kernel __attribute__((reqd_work_group_size(64, 1, 1)))
void global_pool(__global T *y, int y_off, __global const T *x, int x_off, int HW,
                 int is_max) {
  __local float part[64];
  const int z = get_group_id(0), l = get_local_id(0);
  const int xb = x_off + z * HW;
  float acc = is_max ? -INFINITY : 0.0f;
  for (int k = l; k < HW; k += 64) {
    float v = LD(x, xb + k);
    acc = is_max ? fmax(acc, v) : acc + v;
  }
  part[l] = acc;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = 32; s > 0; s >>= 1) {
    if (l < s) part[l] = is_max ? fmax(part[l], part[l + s]) : part[l] + part[l + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (l == 0) ST(y, y_off + z, is_max ? part[0] : part[0] / (float)HW);
}
