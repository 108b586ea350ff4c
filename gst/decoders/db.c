/* PaddleOCR DB text detection: probability map [B,1,H,W] -> rotated text boxes.
 *
 * As PaddleOCR's DBPostProcess (box_type 'quad'): the map is thresholded at
 * db_binary_threshold; each 8-connected region is one candidate; its minimum-area rotated
 * rectangle is taken over the region's pixel centres (convex hull, then one rectangle per hull
 * edge — the rotating-calipers candidates); regions whose rectangle is under 3 px on the short
 * side or whose mean probability is under db_box_threshold are dropped; the rectangle is
 * expanded by distance = area * db_unclip_ratio / perimeter on every side (what pyclipper's
 * offset gives for a rectangle) and dropped if still under 5 px. Pixel (x, y) has its centre
 * at ((x + 0.5) / W, (y + 0.5) / H) in normalised coordinates.
 * Memory: 5 bytes per map pixel plus a few per row; no recursion. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "decoders_private.h"

/* PaddleOCR's min_size: the short side, in pixels, below which a region is not text. */
#define LENS_DB_MIN_SIZE 3.0
/* Larger maps are refused (memory grows with the map; 4096x4096 needs ~80 MiB). */
#define LENS_DB_MAX_PIXELS ((size_t)1 << 24)

typedef struct db_point {
  int64_t x, y;
} db_point;

typedef struct db_rect {
  double cx, cy;     /* centre, pixels */
  double ux, uy;     /* unit vector along the first side */
  double w, h;       /* side lengths: along u, along its normal */
} db_rect;

typedef struct db_work {
  size_t width, height;
  unsigned char *mask; /* 0 background, 1 text not yet visited, 2 visited */
  uint32_t *queue;     /* the region's pixels: breadth-first queue, then the pixel list */
  int32_t *row_min, *row_max;
  db_point *points, *hull;
} db_work;

static int64_t cross(db_point o, db_point a, db_point b) {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

/* Andrew's monotone chain over points sorted by (y, x) (the textbook algorithm with the axes
 * swapped; the orientation of the result does not matter here). Collinear points are dropped.
 * Returns the vertex count (hull needs n + 1 slots). */
static size_t convex_hull(const db_point *p, size_t n, db_point *hull) {
  if (n < 3) {
    for (size_t i = 0; i < n; i++) hull[i] = p[i];
    return n;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    while (k >= 2 && cross(hull[k - 2], hull[k - 1], p[i]) >= 0) k--;
    hull[k++] = p[i];
  }
  for (size_t i = n - 1, t = k + 1; i-- > 0;) {
    while (k >= t && cross(hull[k - 2], hull[k - 1], p[i]) >= 0) k--;
    hull[k++] = p[i];
  }
  return k - 1;
}

/* Minimum-area rectangle of a convex polygon: one side lies on a hull edge, so each edge's
 * bounding rectangle is a candidate. Hulls of pixel regions have few vertices (O(R^(2/3)) for
 * a region of radius R), so the candidates are evaluated directly. */
static bool min_area_rect(const db_point *h, size_t n, db_rect *r) {
  if (n < 3) return false;
  double best = INFINITY;
  for (size_t i = 0; i < n; i++) {
    const db_point a = h[i], b = h[(i + 1) % n];
    double ex = (double)(b.x - a.x), ey = (double)(b.y - a.y), len = hypot(ex, ey);
    if (!(len > 0.0)) continue;
    double ux = ex / len, uy = ey / len;
    double umin = 0.0, umax = 0.0, vmin = 0.0, vmax = 0.0;
    for (size_t j = 0; j < n; j++) {
      double dx = (double)(h[j].x - a.x), dy = (double)(h[j].y - a.y);
      double u = dx * ux + dy * uy, v = -dx * uy + dy * ux;
      umin = fmin(umin, u);
      umax = fmax(umax, u);
      vmin = fmin(vmin, v);
      vmax = fmax(vmax, v);
    }
    double area = (umax - umin) * (vmax - vmin);
    if (area < best) {
      best = area;
      double cu = 0.5 * (umin + umax), cv = 0.5 * (vmin + vmax);
      r->cx = (double)a.x + cu * ux - cv * uy;
      r->cy = (double)a.y + cu * uy + cv * ux;
      r->ux = ux;
      r->uy = uy;
      r->w = umax - umin;
      r->h = vmax - vmin;
    }
  }
  return isfinite(best);
}

/* Corners in PaddleOCR's order: of the two leftmost, the upper is top-left, the lower
 * bottom-left; of the two rightmost, the upper is top-right: TL, TR, BR, BL (clockwise on
 * screen). */
static void rect_quad(const db_rect *r, double q[8]) {
  double hx = 0.5 * r->w, hy = 0.5 * r->h;
  double c[4][2];
  const double su[4] = {-1, 1, 1, -1}, sv[4] = {-1, -1, 1, 1};
  for (int k = 0; k < 4; k++) {
    c[k][0] = r->cx + su[k] * hx * r->ux - sv[k] * hy * r->uy;
    c[k][1] = r->cy + su[k] * hx * r->uy + sv[k] * hy * r->ux;
  }
  /* Sort the four corners by x (insertion sort). */
  for (int i = 1; i < 4; i++) {
    for (int j = i; j > 0 && c[j][0] < c[j - 1][0]; j--) {
      double tx = c[j][0], ty = c[j][1];
      c[j][0] = c[j - 1][0];
      c[j][1] = c[j - 1][1];
      c[j - 1][0] = tx;
      c[j - 1][1] = ty;
    }
  }
  int tl = c[1][1] > c[0][1] ? 0 : 1, bl = 1 - tl;
  int tr = c[3][1] > c[2][1] ? 2 : 3, br = 5 - tr;
  const int order[4] = {tl, tr, br, bl};
  for (int k = 0; k < 4; k++) {
    q[2 * k] = c[order[k]][0];
    q[2 * k + 1] = c[order[k]][1];
  }
}

/* Breadth-first fill of the region containing `start`; returns its pixel count (pixels in
 * w->queue[0..count)) and the sum of their probabilities. */
static size_t fill_region(db_work *w, const lens_dec_view *v, size_t start, double *prob_sum) {
  size_t head = 0, tail = 0;
  double sum = 0.0;
  w->mask[start] = 2;
  w->queue[tail++] = (uint32_t)start;
  while (head < tail) {
    size_t p = w->queue[head++];
    size_t x = p % w->width, y = p / w->width;
    sum += lens_dec_at(v, p);
    size_t y0 = y ? y - 1 : y, y1 = y + 1 < w->height ? y + 1 : y;
    size_t x0 = x ? x - 1 : x, x1 = x + 1 < w->width ? x + 1 : x;
    for (size_t ny = y0; ny <= y1; ny++) {
      for (size_t nx = x0; nx <= x1; nx++) {
        size_t q = ny * w->width + nx;
        if (w->mask[q] == 1) {
          w->mask[q] = 2;
          w->queue[tail++] = (uint32_t)q;
        }
      }
    }
  }
  *prob_sum = sum;
  return tail;
}

/* The region's boundary points: the leftmost and rightmost pixel of each row, sorted by
 * (y, x). Their hull is the hull of the whole region. */
static size_t region_points(db_work *w, size_t count) {
  size_t ymin = w->height, ymax = 0;
  for (size_t i = 0; i < count; i++) {
    size_t y = w->queue[i] / w->width;
    if (y < ymin) ymin = y;
    if (y > ymax) ymax = y;
  }
  for (size_t y = ymin; y <= ymax; y++) {
    w->row_min[y] = INT32_MAX;
    w->row_max[y] = -1;
  }
  for (size_t i = 0; i < count; i++) {
    size_t y = w->queue[i] / w->width;
    int32_t x = (int32_t)(w->queue[i] % w->width);
    if (x < w->row_min[y]) w->row_min[y] = x;
    if (x > w->row_max[y]) w->row_max[y] = x;
  }
  size_t n = 0;
  for (size_t y = ymin; y <= ymax; y++) {
    if (w->row_max[y] < 0) continue;
    w->points[n++] = (db_point){w->row_min[y], (int64_t)y};
    if (w->row_max[y] != w->row_min[y]) w->points[n++] = (db_point){w->row_max[y], (int64_t)y};
  }
  return n;
}

/* Turns one region into a detection; false when it is not a text box. */
static bool region_detection(db_work *w, size_t count, double prob_sum,
                             const lens_dec_limits *lim, lens_detection *d) {
  double score = prob_sum / (double)count;
  if (!(score >= lim->p.db_box_threshold)) return false;
  size_t np = region_points(w, count);
  size_t nh = convex_hull(w->points, np, w->hull);
  db_rect r = {0};
  if (!min_area_rect(w->hull, nh, &r)) return false;
  if (fmin(r.w, r.h) < LENS_DB_MIN_SIZE) return false;
  double perimeter = 2.0 * (r.w + r.h);
  double dist = r.w * r.h * (double)lim->p.db_unclip_ratio / perimeter;
  r.w += 2.0 * dist;
  r.h += 2.0 * dist;
  if (!(fmin(r.w, r.h) >= LENS_DB_MIN_SIZE + 2.0)) return false;

  double q[8];
  rect_quad(&r, q);
  float xmin = 1.0f, ymin = 1.0f, xmax = 0.0f, ymax = 0.0f;
  for (int k = 0; k < 4; k++) {
    float x = lens_dec_clamp01((float)((q[2 * k] + 0.5) / (double)w->width));
    float y = lens_dec_clamp01((float)((q[2 * k + 1] + 0.5) / (double)w->height));
    d->quad[2 * k] = x;
    d->quad[2 * k + 1] = y;
    xmin = fminf(xmin, x);
    xmax = fmaxf(xmax, x);
    ymin = fminf(ymin, y);
    ymax = fmaxf(ymax, y);
  }
  if (!(xmax > xmin) || !(ymax > ymin)) return false;
  d->x_min = xmin;
  d->y_min = ymin;
  d->x_max = xmax;
  d->y_max = ymax;
  d->confidence = lens_dec_clamp01((float)score);
  d->label_id = 0;
  d->has_quad = true;
  return true;
}

lens_status *lens_decode_db(const lens_tensor *outputs, size_t n_outputs, size_t batch,
                            const lens_dec_limits *lim, lens_detection *out, size_t *n_out) {
  const lens_tensor *t = &outputs[0];
  char shape[160];
  if (!((t->rank == 4 && t->dims[1] == 1) || t->rank == 3))
    return lens_status_create(LENS_ERR_INVALID_ARGUMENT,
                              "db decoder: output shape %s is not [B,1,H,W] or [B,H,W]",
                              lens_dec_shape_string(t->dims, t->rank, shape, sizeof shape));
  lens_dec_view v;
  lens_status *st = lens_dec_view_batch(t, "db decoder: probability map", batch, &v);
  if (st) return st;
  db_work w = {0};
  w.height = (size_t)t->dims[t->rank - 2];
  w.width = (size_t)t->dims[t->rank - 1];
  size_t pixels = v.count; /* = width * height, checked by the view */
  if (pixels > LENS_DB_MAX_PIXELS || w.height > INT32_MAX || w.width > INT32_MAX)
    return lens_status_create(LENS_ERR_UNSUPPORTED,
                              "db decoder: probability map %s is larger than %zu pixels",
                              lens_dec_shape_string(t->dims, t->rank, shape, sizeof shape),
                              LENS_DB_MAX_PIXELS);
  w.mask = malloc(pixels);
  w.queue = malloc(pixels * sizeof *w.queue);
  w.row_min = malloc(w.height * sizeof *w.row_min);
  w.row_max = malloc(w.height * sizeof *w.row_max);
  w.points = malloc(2 * w.height * sizeof *w.points);
  w.hull = malloc((2 * w.height + 1) * sizeof *w.hull);
  lens_dec_cands cands = {0};
  if (!w.mask || !w.queue || !w.row_min || !w.row_max || !w.points || !w.hull) {
    st = lens_status_create(LENS_ERR_OUT_OF_MEMORY, "db decoder: out of memory for %s",
                            lens_dec_shape_string(t->dims, t->rank, shape, sizeof shape));
    goto done;
  }
  const float thr = lim->p.db_binary_threshold;
  for (size_t i = 0; i < pixels; i++) w.mask[i] = lens_dec_at(&v, i) > thr;
  for (size_t i = 0; i < pixels && !st; i++) {
    if (w.mask[i] != 1) continue;
    double sum;
    size_t count = fill_region(&w, &v, i, &sum);
    lens_detection d = {0};
    if (region_detection(&w, count, sum, lim, &d)) st = lens_dec_cands_push(&cands, &d);
  }
  if (!st) lens_dec_finish(cands.v, cands.n, lim, true, out, n_out);
done:
  free(cands.v);
  free(w.hull);
  free(w.points);
  free(w.row_max);
  free(w.row_min);
  free(w.queue);
  free(w.mask);
  return st;
}
