/* Reductions over the middle dim of [outer][L][inner]: one work-item per (outer, inner). */
__kernel void softmax_rows(__global T *y, int y_off, __global const T *x, int x_off, int L,
                           int inner, int total) {
  const int i = get_global_id(0);
  if (i >= total) return;
  const int o = i / inner, in = i - o * inner, base = o * L * inner + in;
  float mx = -INFINITY;
  for (int k = 0; k < L; k++) mx = fmax(mx, (float)LD(x, x_off + base + k * inner));
  float sum = 0.0f;
  for (int k = 0; k < L; k++) sum += exp((float)LD(x, x_off + base + k * inner) - mx);
  for (int k = 0; k < L; k++)
    ST(y, y_off + base + k * inner, exp((float)LD(x, x_off + base + k * inner) - mx) / sum);
}

/* kind 0 mean, 1 sum, 2 max */
__kernel void reduce_rows(__global T *y, int y_off, __global const T *x, int x_off, int L,
                          int inner, int kind, int total) {
  const int i = get_global_id(0);
  if (i >= total) return;
  const int o = i / inner, in = i - o * inner, base = o * L * inner + in;
  float acc = kind == 2 ? -INFINITY : 0.0f;
  for (int k = 0; k < L; k++) {
    float v = LD(x, x_off + base + k * inner);
    acc = kind == 2 ? fmax(acc, v) : acc + v;
  }
  if (kind == 0) acc /= (float)L;
  ST(y, y_off + i, acc);
}
