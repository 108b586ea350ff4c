/* Data movement: Transpose, Concat, Split, Slice, Reshape are all one strided copy; Pad
 * (constant) reads inside the input or writes the value. */
__kernel void copy_nd(__global T *y, int y_off, int8 ystr, __global const T *x, int x_off,
                      int8 xstr, int8 dims, int rank, int total) {
  const int i = get_global_id(0);
  if (i >= total) return;
  int D[8], SY[8], SX[8];
  vstore8(dims, 0, D);
  vstore8(ystr, 0, SY);
  vstore8(xstr, 0, SX);
  int r = i, yi = y_off, xi = x_off;
  for (int d = rank - 1; d >= 0; d--) {
    int q = r % D[d];
    r /= D[d];
    yi += q * SY[d];
    xi += q * SX[d];
  }
  ST(y, yi, LD(x, xi));
}

__kernel void pad_nd(__global T *y, int y_off, __global const T *x, int x_off, int8 odims,
                     int8 idims, int8 begin, int rank, float value, int total) {
  const int i = get_global_id(0);
  if (i >= total) return;
  int OD[8], ID[8], PB[8];
  vstore8(odims, 0, OD);
  vstore8(idims, 0, ID);
  vstore8(begin, 0, PB);
  int r = i, xi = 0, stride = 1;
  bool inside = true;
  for (int d = rank - 1; d >= 0; d--) {
    int q = r % OD[d] - PB[d];
    r /= OD[d];
    if (q < 0 || q >= ID[d]) inside = false;
    xi += q * stride;
    stride *= ID[d];
  }
  ST(y, y_off + i, inside ? (float)LD(x, x_off + xi) : value);
}

/* Resize over the last two dims. mode 0 nearest, 1 linear. coord: 0 half_pixel,
 * 1 asymmetric, 2 align_corners, 3 pytorch_half_pixel. nearest: 0 round_prefer_floor,
 * 1 round_prefer_ceil, 2 floor, 3 ceil. */
float resize_coord(int coord, int o, int isize, int osize, float scale) {
  switch (coord) {
  case 0: return ((float)o + 0.5f) / scale - 0.5f;
  case 1: return (float)o / scale;
  case 2: {
    /* the unfloored resized length, as ONNX's reference uses it */
    float resized = (float)isize * scale;
    return resized != 1.0f ? (float)o * (float)(isize - 1) / (resized - 1.0f) : 0.0f;
  }
  default: return osize > 1 ? ((float)o + 0.5f) / scale - 0.5f : 0.0f;
  }
}

int resize_nearest(int nearest, float c, int isize) {
  int k;
  switch (nearest) {
  case 0: k = (c == floor(c) + 0.5f) ? (int)floor(c) : (int)round(c); break;
  case 1: k = (int)round(c); break;
  case 2: k = (int)floor(c); break;
  default: k = (int)ceil(c); break;
  }
  return clamp(k, 0, isize - 1);
}

__kernel void resize2d(__global T *y, int y_off, __global const T *x, int x_off, int H, int W,
                       int OH, int OW, int mode, int coord, int nearest, float scale_h,
                       float scale_w, int total) {
  const int i = get_global_id(0);
  if (i >= total) return;
  const int ow = i % OW, oh = (i / OW) % OH, z = i / (OW * OH);
  const int xb = x_off + z * H * W;
  float ch = resize_coord(coord, oh, H, OH, scale_h), cw = resize_coord(coord, ow, W, OW, scale_w);
  float v;
  if (mode == 0) {
    v = LD(x, xb + resize_nearest(nearest, ch, H) * W + resize_nearest(nearest, cw, W));
  } else {
    ch = clamp(ch, 0.0f, (float)(H - 1));
    cw = clamp(cw, 0.0f, (float)(W - 1));
    int h0 = (int)floor(ch), w0 = (int)floor(cw);
    int h1 = min(h0 + 1, H - 1), w1 = min(w0 + 1, W - 1);
    float fh = ch - (float)h0, fw = cw - (float)w0;
    float v00 = LD(x, xb + h0 * W + w0), v01 = LD(x, xb + h0 * W + w1);
    float v10 = LD(x, xb + h1 * W + w0), v11 = LD(x, xb + h1 * W + w1);
    v = (v00 * (1.0f - fw) + v01 * fw) * (1.0f - fh) + (v10 * (1.0f - fw) + v11 * fw) * fh;
  }
  ST(y, y_off + i, v);
}
