/* Output decoders (gst/decoders) on synthetic tensors with known answers, plus the real
 * models' ONNX Runtime outputs (models/real, made by scripts/make_real_models.sh):
 *
 *   test_decoders [--models DIR] [--dict FILE] [FILTER]
 *
 * A case that needs a real-model file which is missing reports SKIP and counts neither as
 * passed nor failed; everything else still runs. */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decoders.h"
#include "lens_test.h"

static const char *models_dir;
static const char *dict_path;
static int skipped_;

/* Marks the running case skipped (the missing file is named) and returns from it. */
#define SKIP_IF_MISSING(path)                                                                 \
  do {                                                                                        \
    if (!(path) || access((path), R_OK) != 0) {                                               \
      printf("  skip: %s not found\n", (path) ? (path) : "(no path given)");                 \
      skipped_ = 1;                                                                           \
      return;                                                                                 \
    }                                                                                         \
  } while (0)

static lens_tensor f32_tensor(void *data, int rank, const int64_t *dims) {
  lens_tensor t = {LENS_DTYPE_FLOAT32, rank, {0}, data, 0};
  size_t n = 1;
  for (int i = 0; i < rank; i++) {
    t.dims[i] = dims[i];
    n *= (size_t)dims[i];
  }
  t.nbytes = n * sizeof(float);
  return t;
}

static lens_tensor_desc desc(const char *name, int rank, const int64_t *dims) {
  lens_tensor_desc d = {0};
  d.name = name;
  d.dtype = LENS_DTYPE_FLOAT32;
  d.rank = rank;
  for (int i = 0; i < rank; i++) d.dims[i] = dims[i];
  return d;
}

static char *path_join(const char *dir, const char *rel) {
  if (!dir) return NULL;
  size_t n = strlen(dir) + strlen(rel) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, rel);
  return p;
}

static lens_detection det(float x1, float y1, float x2, float y2, float conf, int label) {
  lens_detection d = {0};
  d.x_min = x1;
  d.y_min = y1;
  d.x_max = x2;
  d.y_max = y2;
  d.confidence = conf;
  d.label_id = label;
  return d;
}

static bool box_valid(const lens_detection *d) {
  return d->x_min >= 0.0f && d->y_min >= 0.0f && d->x_max <= 1.0f && d->y_max <= 1.0f &&
         d->x_max > d->x_min && d->y_max > d->y_min && isfinite(d->confidence);
}

/* ---- NMS --------------------------------------------------------------------------------- */

static void test_nms_suppresses_overlap_of_the_same_class(void) {
  lens_detection d[3] = {det(0.1f, 0.1f, 0.5f, 0.5f, 0.6f, 1),
                         det(0.12f, 0.1f, 0.52f, 0.5f, 0.9f, 1),
                         det(0.6f, 0.6f, 0.9f, 0.9f, 0.7f, 1)};
  size_t n = lens_nms(d, 3, 0.45f, false);
  CHECK(n == 2);
  CHECK_NEAR(d[0].confidence, 0.9, 1e-6); /* sorted: the stronger of the pair survives */
  CHECK_NEAR(d[1].confidence, 0.7, 1e-6);
}

static void test_nms_keeps_other_classes_unless_class_agnostic(void) {
  lens_detection d[2] = {det(0.1f, 0.1f, 0.5f, 0.5f, 0.8f, 1),
                         det(0.1f, 0.1f, 0.5f, 0.5f, 0.7f, 2)};
  CHECK(lens_nms(d, 2, 0.45f, false) == 2);
  lens_detection e[2] = {d[0], d[1]};
  CHECK(lens_nms(e, 2, 0.45f, true) == 1);
  CHECK(e[0].label_id == 1);
}

static void test_nms_threshold_is_strict(void) {
  /* IoU exactly 1/3: boxes [0,2]x[0,1] and [1,3]x[0,1] overlap by 1 of 3. */
  lens_detection d[2] = {det(0.0f, 0.0f, 0.5f, 0.25f, 0.9f, 0),
                         det(0.25f, 0.0f, 0.75f, 0.25f, 0.8f, 0)};
  lens_detection e[2] = {d[0], d[1]};
  CHECK(lens_nms(d, 2, 1.0f / 3.0f + 1e-4f, false) == 2);
  CHECK(lens_nms(e, 2, 0.3f, false) == 1);
}

static void test_nms_limit_stops_at_max_keep(void) {
  lens_detection d[5];
  for (int i = 0; i < 5; i++) {
    float x = 0.1f * (float)i;
    d[i] = det(x, 0.0f, x + 0.05f, 0.1f, 0.1f * (float)(i + 1), 0);
  }
  CHECK(lens_nms_limit(d, 5, 0.5f, false, 3) == 3);
  CHECK_NEAR(d[0].confidence, 0.5, 1e-6);
  CHECK_NEAR(d[2].confidence, 0.3, 1e-6);
  CHECK(lens_nms_limit(d, 5, 0.5f, false, 0) == 0);
  CHECK(lens_nms(NULL, 5, 0.5f, false) == 0);
}

static void test_nms_survives_nan_and_degenerate_boxes(void) {
  lens_detection d[4] = {det(0.1f, 0.1f, 0.5f, 0.5f, NAN, 0), det(0.5f, 0.5f, 0.5f, 0.5f, 0.9f, 0),
                         det(0.7f, 0.7f, 0.6f, 0.6f, 0.8f, 0), det(NAN, 0.1f, 0.5f, 0.5f, 0.7f, 0)};
  size_t n = lens_nms(d, 4, 0.45f, false);
  CHECK(n == 3); /* the NaN-confidence box goes; zero or negative areas overlap nothing */
  for (size_t i = 0; i < n; i++) CHECK(!isnan(d[i].confidence));
}

/* ---- names, parameters, automatic choice --------------------------------------------------- */

static void test_decoder_names_round_trip(void) {
  for (int k = LENS_DECODER_AUTO; k <= LENS_DECODER_RAW; k++) {
    lens_decoder_kind back;
    CHECK(lens_decoder_from_string(lens_decoder_name((lens_decoder_kind)k), &back));
    CHECK(back == (lens_decoder_kind)k);
  }
  lens_decoder_kind kind;
  CHECK(lens_decoder_from_string("yolov11", &kind) && kind == LENS_DECODER_YOLOV8);
  CHECK(lens_decoder_from_string("SSD", &kind) && kind == LENS_DECODER_SSD);
  CHECK(!lens_decoder_from_string("retinanet", &kind));
  CHECK(!lens_decoder_from_string(NULL, &kind));
  CHECK(strcmp(lens_decoder_name((lens_decoder_kind)99), "unknown") == 0);
}

static void test_params_defaults(void) {
  lens_detect_params p;
  memset(&p, 0xff, sizeof p);
  lens_detect_params_init(&p);
  CHECK_NEAR(p.threshold, 0.5, 1e-9);
  CHECK_NEAR(p.nms_threshold, 0.45, 1e-7);
  CHECK(p.max_detections == 100);
  CHECK_NEAR(p.db_binary_threshold, 0.3, 1e-7);
  CHECK_NEAR(p.db_unclip_ratio, 1.5, 1e-9);
  CHECK_NEAR(p.db_box_threshold, 0.6, 1e-7);
  CHECK(p.background_label == 0);
  CHECK(!p.class_agnostic_nms);
  CHECK(p.box_units == LENS_BOX_UNITS_AUTO && p.ssd_format == LENS_SSD_FORMAT_AUTO);
  CHECK(p.input_width == 0 && p.input_height == 0);
}

static lens_decoder_kind detect_one(bool cls, int rank, const int64_t *dims) {
  lens_tensor_desc d = desc("out", rank, dims);
  lens_decoder_kind k = (lens_decoder_kind)-1;
  lens_status *st = lens_decoder_detect(&d, 1, cls, &k);
  if (st) {
    lens_status_free(st);
    return (lens_decoder_kind)-1;
  }
  return k;
}

static void test_detect_chooses_decoder_from_shapes(void) {
  CHECK(detect_one(false, 4, (int64_t[]){1, 1, 200, 7}) == LENS_DECODER_SSD);
  CHECK(detect_one(false, 4, (int64_t[]){1, 1, 640, 640}) == LENS_DECODER_DB);
  CHECK(detect_one(false, 3, (int64_t[]){1, 25200, 85}) == LENS_DECODER_YOLOV5);
  CHECK(detect_one(false, 3, (int64_t[]){1, 84, 8400}) == LENS_DECODER_YOLOV8);
  CHECK(detect_one(false, 3, (int64_t[]){-1, 84, -1}) == LENS_DECODER_YOLOV8);
  CHECK(detect_one(false, 3, (int64_t[]){-1, -1, 85}) == LENS_DECODER_YOLOV5);
  CHECK(detect_one(true, 2, (int64_t[]){1, 1000}) == LENS_DECODER_SOFTMAX);
  CHECK(detect_one(true, 4, (int64_t[]){1, 1000, 1, 1}) == LENS_DECODER_SOFTMAX);
  CHECK(detect_one(true, 3, (int64_t[]){1, 40, 6625}) == LENS_DECODER_CTC);

  lens_tensor_desc two[2] = {desc("bbox_regression", 3, (int64_t[]){1, 3234, 4}),
                             desc("cls_logits", 3, (int64_t[]){1, 3234, 91})};
  lens_decoder_kind k = LENS_DECODER_RAW;
  CHECK_OK(lens_decoder_detect(two, 2, false, &k));
  CHECK(k == LENS_DECODER_SSD);
  lens_tensor_desc three[3] = {desc("scores", 2, (int64_t[]){1, 100}),
                               desc("boxes", 3, (int64_t[]){1, 100, 4}),
                               desc("labels", 2, (int64_t[]){1, 100})};
  k = LENS_DECODER_RAW;
  CHECK_OK(lens_decoder_detect(three, 3, false, &k));
  CHECK(k == LENS_DECODER_SSD);
}

static void test_detect_reports_ambiguous_shapes(void) {
  lens_decoder_kind k;
  lens_tensor_desc sq = desc("output0", 3, (int64_t[]){1, 85, 85});
  CHECK_ERR(lens_decoder_detect(&sq, 1, false, &k), LENS_ERR_UNSUPPORTED, "output0[1,85,85]");
  lens_tensor_desc dyn = desc("y", 3, (int64_t[]){1, -1, -1});
  CHECK_ERR(lens_decoder_detect(&dyn, 1, false, &k), LENS_ERR_UNSUPPORTED, "y[1,?,?]");
  lens_tensor_desc flat = desc("logits", 2, (int64_t[]){1, 1000});
  CHECK_ERR(lens_decoder_detect(&flat, 1, false, &k), LENS_ERR_UNSUPPORTED, "logits[1,1000]");
  lens_tensor_desc map = desc("map", 4, (int64_t[]){1, 1, 64, 64});
  CHECK_ERR(lens_decoder_detect(&map, 1, true, &k), LENS_ERR_UNSUPPORTED, "map[1,1,64,64]");
  lens_tensor_desc mismatched[2] = {desc("boxes", 3, (int64_t[]){1, 100, 4}),
                                    desc("scores", 3, (int64_t[]){1, 99, 91})};
  CHECK_ERR(lens_decoder_detect(mismatched, 2, false, &k), LENS_ERR_UNSUPPORTED,
            "boxes[1,100,4], scores[1,99,91]");
  lens_tensor_desc two_cls[2] = {desc("a", 2, (int64_t[]){1, 10}), desc("b", 2, (int64_t[]){1, 5})};
  CHECK_ERR(lens_decoder_detect(two_cls, 2, true, &k), LENS_ERR_UNSUPPORTED, "a[1,10], b[1,5]");
  lens_tensor_desc unranked = desc("u", 0, NULL);
  unranked.rank = -1;
  CHECK_ERR(lens_decoder_detect(&unranked, 1, false, &k), LENS_ERR_UNSUPPORTED, "no declared rank");
  CHECK_ERR(lens_decoder_detect(NULL, 0, false, &k), LENS_ERR_UNSUPPORTED, "no outputs");
  CHECK_ERR(lens_decoder_detect(&sq, 1, false, NULL), LENS_ERR_INVALID_ARGUMENT, "");
}

/* ---- SSD --------------------------------------------------------------------------------- */

static void test_ssdlite_default_boxes_match_torchvision(void) {
  /* cx,cy,w,h from torchvision 0.14's DefaultBoxGenerator([[2,3]]*6, 0.2, 0.95) at 320x320
   * (converted from its x1,y1,x2,y2 pixels). */
  static const struct {
    size_t index;
    float b[4];
  } ref[] = {
      {0, {0.025f, 0.025f, 0.2f, 0.2f}},
      {1, {0.025f, 0.025f, 0.26457515f, 0.26457515f}},
      {2, {0.025f, 0.025f, 0.28284273f, 0.14142136f}},
      {5, {0.025f, 0.025f, 0.11547005f, 0.34641016f}},
      {6, {0.075f, 0.025f, 0.2f, 0.2f}},
      {2399, {0.975f, 0.975f, 0.11547003f, 0.3464101f}},
      {2400, {0.05f, 0.05f, 0.35f, 0.35f}},
      {2405, {0.05f, 0.05f, 0.20207258f, 0.60621774f}},
      {3000, {0.1f, 0.1f, 0.5f, 0.5f}},
      {3228, {0.5f, 0.5f, 0.95f, 0.95f}},
      {3232, {0.5f, 0.5f, 1.0f, 0.54848278f}}, /* clipped to 1 */
      {3233, {0.5f, 0.5f, 0.54848278f, 1.0f}},
  };
  float *b = NULL;
  CHECK_OK(lens_ssdlite_default_boxes(3234, 0, 0, &b));
  if (b) {
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
      for (int k = 0; k < 4; k++) CHECK_NEAR(b[4 * ref[i].index + k], ref[i].b[k], 1e-6);
  }
  free(b);
  b = NULL;
  /* 400x240 input: maps 15x25, 8x13, 4x7, 2x4, 1x2, 1x1 -> 3108 boxes (torchvision agrees). */
  CHECK_OK(lens_ssdlite_default_boxes(3108, 400, 240, &b));
  if (b) {
    CHECK_NEAR(b[0], 0.5f / 25.0f, 1e-7);
    CHECK_NEAR(b[1], 0.5f / 15.0f, 1e-7);
  }
  free(b);
  b = NULL;
  CHECK_ERR(lens_ssdlite_default_boxes(3108, 0, 0, &b), LENS_ERR_UNSUPPORTED, "3108 boxes");
  CHECK_ERR(lens_ssdlite_default_boxes(3235, 320, 320, &b), LENS_ERR_UNSUPPORTED, "3235");
  CHECK_ERR(lens_ssdlite_default_boxes(0, 0, 0, &b), LENS_ERR_INVALID_ARGUMENT, "");
  CHECK_ERR(lens_ssdlite_default_boxes(SIZE_MAX, 0, 0, &b), LENS_ERR_INVALID_ARGUMENT, "");
  CHECK(b == NULL);
}

static void test_ssd_torchvision_head_decodes_a_known_box(void) {
  enum { N = 3234, C = 3 };
  float *reg = calloc(N * 4, sizeof *reg), *logits = calloc(N * C, sizeof *logits);
  if (!reg || !logits) {
    CHECK(!"out of memory");
    free(reg);
    free(logits);
    return;
  }
  for (int i = 0; i < N; i++) logits[i * C] = 8.0f; /* background everywhere */
  /* Default box 3000 is (0.1, 0.1, 0.5, 0.5); deltas scaled by (10,10,5,5). */
  reg[3000 * 4 + 0] = 1.0f;                   /* cx = 0.1 + 0.1 * 0.5 = 0.15 */
  reg[3000 * 4 + 1] = 2.0f;                   /* cy = 0.1 + 0.2 * 0.5 = 0.2 */
  reg[3000 * 4 + 2] = 5.0f * logf(1.2f);      /* w = 0.6 */
  reg[3000 * 4 + 3] = 0.0f;                   /* h = 0.5 */
  logits[3000 * C + 0] = 0.0f;
  logits[3000 * C + 2] = 10.0f;
  /* Background wins at 17: no detection from it even with a high logit elsewhere. */
  logits[17 * C + 0] = 20.0f;
  logits[17 * C + 1] = 12.0f;
  lens_tensor t[2] = {f32_tensor(reg, 3, (int64_t[]){1, N, 4}),
                      f32_tensor(logits, 3, (int64_t[]){1, N, C})};
  lens_detect_params p;
  lens_detect_params_init(&p);
  lens_detection d[10];
  size_t n = 99;
  CHECK_OK(lens_decode_detections(LENS_DECODER_AUTO, t, 2, 0, &p, d, 10, &n));
  CHECK(n == 1);
  if (n == 1) {
    CHECK(d[0].label_id == 2);
    CHECK_NEAR(d[0].confidence, expf(10.0f) / (expf(10.0f) + 2.0f), 1e-5);
    CHECK_NEAR(d[0].x_min, 0.0, 1e-6); /* -0.15 clipped */
    CHECK_NEAR(d[0].x_max, 0.45, 1e-5);
    CHECK_NEAR(d[0].y_min, 0.0, 1e-6); /* -0.05 clipped */
    CHECK_NEAR(d[0].y_max, 0.45, 1e-5);
    CHECK(!d[0].has_quad);
  }
  /* background_label -1: class 0 counts as an object too. */
  p.background_label = -1;
  CHECK_OK(lens_decode_detections(LENS_DECODER_SSD, t, 2, 0, &p, d, 10, &n));
  CHECK(n == 10);
  /* 3000 boxes are a 304x304 input (maps 19,10,5,3,2,1); 3001 fit no layout. */
  p.ssd_format = LENS_SSD_FORMAT_TORCHVISION_HEAD;
  t[0].dims[1] = t[1].dims[1] = 3000;
  CHECK_OK(lens_decode_detections(LENS_DECODER_SSD, t, 2, 0, &p, d, 10, &n));
  t[0].dims[1] = t[1].dims[1] = 3001;
  CHECK_ERR(lens_decode_detections(LENS_DECODER_SSD, t, 2, 0, &p, d, 10, &n),
            LENS_ERR_UNSUPPORTED, "3001 boxes");
  free(reg);
  free(logits);
}

static void test_ssd_torchvision_head_matches_torchvision_on_the_real_model(void) {
  char *p0 = path_join(models_dir, "ssdlite320_mobilenet_v3_large/test_data_set_0/output_0.pb");
  char *p1 = path_join(models_dir, "ssdlite320_mobilenet_v3_large/test_data_set_0/output_1.pb");
  if (!p0 || access(p0, R_OK) != 0 || access(p1, R_OK) != 0) {
    printf("  skip: %s not found\n", p0 ? p0 : "(no --models)");
    skipped_ = 1;
    free(p0);
    free(p1);
    return;
  }
  lens_tensor t[2] = {0};
  CHECK_OK(lens_tensor_load_pb(p0, &t[0], NULL));
  CHECK_OK(lens_tensor_load_pb(p1, &t[1], NULL));
  /* Random weights: the detections are noise, but they are torchvision's noise. Reference:
   * SSD.postprocess_detections with score_thresh 0.02, nms_thresh 0.55, 300 per image. */
  static const float ref[4][6] = {
      {27, 0.083459f, 45.97865f, 192.20697f, 94.58090f, 276.35126f},
      {56, 0.078937f, 25.20477f, 245.71831f, 139.81207f, 283.68881f},
      {47, 0.077482f, 44.92718f, 206.72894f, 94.58639f, 292.71066f},
      {31, 0.075206f, 30.76618f, 185.50894f, 113.53422f, 284.18726f},
  };
  lens_detect_params p;
  lens_detect_params_init(&p);
  p.threshold = 0.02f;
  p.nms_threshold = 0.55f;
  p.max_detections = 300;
  lens_detection *d = calloc(300, sizeof *d);
  size_t n = 0;
  if (d && t[0].data && t[1].data) {
    CHECK_OK(lens_decode_detections(LENS_DECODER_AUTO, t, 2, 0, &p, d, 300, &n));
    CHECK(n == 300);
    for (size_t i = 0; i < 4 && i < n; i++) {
      CHECK(d[i].label_id == (int)ref[i][0]);
      CHECK_NEAR(d[i].confidence, ref[i][1], 2e-6);
      CHECK_NEAR(d[i].x_min * 320.0f, ref[i][2], 1e-3);
      CHECK_NEAR(d[i].y_min * 320.0f, ref[i][3], 1e-3);
      CHECK_NEAR(d[i].x_max * 320.0f, ref[i][4], 1e-3);
      CHECK_NEAR(d[i].y_max * 320.0f, ref[i][5], 1e-3);
    }
    for (size_t i = 0; i < n; i++)
      CHECK(box_valid(&d[i]) && d[i].label_id >= 1 && d[i].label_id < 91);
    /* The default threshold finds nothing in noise (max softmax ~0.08 of 91 classes). */
    lens_detect_params_init(&p);
    CHECK_OK(lens_decode_detections(LENS_DECODER_SSD, t, 2, 0, &p, d, 300, &n));
    CHECK(n == 0);
  }
  free(d);
  lens_tensor_free(&t[0]);
  lens_tensor_free(&t[1]);
  free(p0);
  free(p1);
}

static void test_ssd_decoded_boxes_with_scores_and_labels(void) {
  float boxes[3 * 4] = {0.1f, 0.1f, 0.4f, 0.4f, 0.5f, 0.5f, 0.9f, 0.8f, 0.2f, 0.2f, 0.3f, 0.3f};
  float scores[3] = {0.9f, 0.7f, 0.3f};
  int64_t labels[3] = {5, 0, 7};
  lens_tensor t[3] = {f32_tensor(boxes, 3, (int64_t[]){1, 3, 4}),
                      f32_tensor(labels, 2, (int64_t[]){1, 3}),
                      f32_tensor(scores, 2, (int64_t[]){1, 3})};
  t[1].dtype = LENS_DTYPE_INT64;
  t[1].nbytes = sizeof labels;
  lens_detect_params p;
  lens_detect_params_init(&p);
  lens_detection d[4];
  size_t n = 0;
  CHECK_OK(lens_decode_detections(LENS_DECODER_AUTO, t, 3, 0, &p, d, 4, &n));
  CHECK(n == 2);
  if (n == 2) {
    CHECK(d[0].label_id == 5 && d[1].label_id == 0); /* labels given: no background skip */
    CHECK_NEAR(d[0].confidence, 0.9, 1e-6);
    CHECK_NEAR(d[1].x_max, 0.9, 1e-6);
    CHECK_NEAR(d[1].y_max, 0.8, 1e-6);
  }
  /* Scores [1,N] alone, in input pixels. */
  float px[2 * 4] = {32, 64, 96, 128, 300, 300, 310, 290}; /* second box: y2 < y1 */
  float sc[2] = {0.8f, 0.95f};
  lens_tensor u[2] = {f32_tensor(px, 3, (int64_t[]){1, 2, 4}),
                      f32_tensor(sc, 2, (int64_t[]){1, 2})};
  CHECK_ERR(lens_decode_detections(LENS_DECODER_SSD, u, 2, 0, &p, d, 4, &n),
            LENS_ERR_INVALID_ARGUMENT, "input_width");
  p.input_width = 320;
  p.input_height = 640;
  CHECK_OK(lens_decode_detections(LENS_DECODER_SSD, u, 2, 0, &p, d, 4, &n));
  CHECK(n == 1);
  if (n == 1) {
    CHECK_NEAR(d[0].x_min, 0.1, 1e-6);
    CHECK_NEAR(d[0].y_min, 0.1, 1e-6);
    CHECK_NEAR(d[0].x_max, 0.3, 1e-6);
    CHECK_NEAR(d[0].y_max, 0.2, 1e-6);
    CHECK(d[0].label_id == 0);
  }
}

static void test_ssd_decoded_boxes_with_per_class_scores(void) {
  /* Ordered boxes and probabilities: the decoded layout; class 0 is background. */
  float boxes[2 * 4] = {0.1f, 0.1f, 0.4f, 0.4f, 0.12f, 0.1f, 0.42f, 0.4f};
  float scores[2 * 3] = {0.1f, 0.8f, 0.1f, 0.2f, 0.7f, 0.1f};
  lens_tensor t[2] = {f32_tensor(boxes, 3, (int64_t[]){1, 2, 4}),
                      f32_tensor(scores, 3, (int64_t[]){1, 2, 3})};
  lens_detect_params p;
  lens_detect_params_init(&p);
  lens_detection d[4];
  size_t n = 0;
  CHECK_OK(lens_decode_detections(LENS_DECODER_SSD, t, 2, 0, &p, d, 4, &n));
  CHECK(n == 1); /* the second box overlaps the first: suppressed */
  if (n) {
    CHECK(d[0].label_id == 1);
    CHECK_NEAR(d[0].confidence, 0.8, 1e-6);
    CHECK_NEAR(d[0].x_min, 0.1, 1e-6);
  }
  p.nms_threshold = 1.0f;
  CHECK_OK(lens_decode_detections(LENS_DECODER_SSD, t, 2, 0, &p, d, 4, &n));
  CHECK(n == 2);
  /* Forcing the torchvision head on 2 boxes fails clearly. */
  p.ssd_format = LENS_SSD_FORMAT_TORCHVISION_HEAD;
  CHECK_ERR(lens_decode_detections(LENS_DECODER_SSD, t, 2, 0, &p, d, 4, &n),
            LENS_ERR_UNSUPPORTED, "2 boxes");
}

static void test_ssd_detection_output_rows(void) {
  float rows[6 * 7] = {
      0, 3, 0.9f, 0.1f, 0.1f, 0.3f, 0.3f,  /* image 0 */
      1, 4, 0.8f, 0.5f, 0.5f, 0.7f, 0.9f,  /* image 1 */
      0, 2, 0.2f, 0.1f, 0.1f, 0.3f, 0.3f,  /* below threshold */
      0, 1, 0.7f, 0.6f, 0.6f, 1.4f, 0.8f,  /* clipped to 1 */
      -1, 0, 0, 0, 0, 0, 0,                /* end marker */
      0, 5, 0.99f, 0.1f, 0.1f, 0.2f, 0.2f, /* padding after the marker */
  };
  lens_tensor t = f32_tensor(rows, 4, (int64_t[]){1, 1, 6, 7});
  lens_detect_params p;
  lens_detect_params_init(&p);
  lens_detection d[8];
  size_t n = 0;
  CHECK_OK(lens_decode_detections(LENS_DECODER_AUTO, &t, 1, 0, &p, d, 8, &n));
  CHECK(n == 2);
  if (n == 2) {
    CHECK(d[0].label_id == 3 && d[1].label_id == 1);
    CHECK_NEAR(d[1].x_max, 1.0, 1e-6);
  }
  CHECK_OK(lens_decode_detections(LENS_DECODER_SSD, &t, 1, 1, &p, d, 8, &n));
  CHECK(n == 1 && d[0].label_id == 4);
  CHECK_OK(lens_decode_detections(LENS_DECODER_SSD, &t, 1, 2, &p, d, 8, &n));
  CHECK(n == 0);
  p.max_detections = 1;
  CHECK_OK(lens_decode_detections(LENS_DECODER_SSD, &t, 1, 0, &p, d, 8, &n));
  CHECK(n == 1 && d[0].label_id == 3);
}

static void test_ssd_survives_hostile_values(void) {
  enum { N = 3234, C = 4 };
  float *reg = malloc(N * 4 * sizeof *reg), *logits = malloc(N * C * sizeof *logits);
  if (!reg || !logits) {
    CHECK(!"out of memory");
    free(reg);
    free(logits);
    return;
  }
  const float bad[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.0f, 50.0f, -50.0f, 3.0f};
  const size_t nb = sizeof bad / sizeof bad[0];
  for (size_t i = 0; i < N * 4; i++) reg[i] = bad[(i * 7) % nb];
  for (size_t i = 0; i < N * C; i++) logits[i] = bad[(i * 5 + 3) % nb];
  lens_tensor t[2] = {f32_tensor(reg, 3, (int64_t[]){1, N, 4}),
                      f32_tensor(logits, 3, (int64_t[]){1, N, C})};
  lens_detect_params p;
  lens_detect_params_init(&p);
  p.threshold = 0.0f;
  p.max_detections = 0; /* no limit but max_out */
  lens_detection d[64];
  size_t n = 0;
  CHECK_OK(lens_decode_detections(LENS_DECODER_SSD, t, 2, 0, &p, d, 64, &n));
  CHECK(n <= 64);
  for (size_t i = 0; i < n; i++) CHECK(box_valid(&d[i]));
  /* Decoded layout with absurd boxes. */
  p.ssd_format = LENS_SSD_FORMAT_DECODED;
  p.box_units = LENS_BOX_UNITS_NORMALISED;
  for (size_t i = 0; i < N * C; i++) logits[i] = 0.5f;
  CHECK_OK(lens_decode_detections(LENS_DECODER_SSD, t, 2, 0, &p, d, 64, &n));
  for (size_t i = 0; i < n; i++) CHECK(box_valid(&d[i]));
  /* Data shorter than the shape, batch out of range, a NULL output array. */
  t[1].nbytes -= 4;
  CHECK_ERR(lens_decode_detections(LENS_DECODER_SSD, t, 2, 0, &p, d, 64, &n),
            LENS_ERR_INVALID_ARGUMENT, "do not cover");
  t[1].nbytes += 4;
  CHECK_ERR(lens_decode_detections(LENS_DECODER_SSD, t, 2, 1, &p, d, 64, &n),
            LENS_ERR_INVALID_ARGUMENT, "batch item 1");
  CHECK_ERR(lens_decode_detections(LENS_DECODER_SSD, NULL, 2, 0, &p, d, 64, &n),
            LENS_ERR_INVALID_ARGUMENT, "");
  free(reg);
  free(logits);
}

/* ---- YOLO -------------------------------------------------------------------------------- */

static void test_yolov5_scores_objectness_times_class_and_applies_nms(void) {
  /* [1,5,7]: cx,cy,w,h (640x640 pixels), obj, 2 classes. */
  float rows[5 * 7] = {
      320, 320, 128, 64, 0.9f, 0.9f, 0.1f,  /* score 0.81, class 0 */
      324, 320, 128, 64, 0.8f, 0.8f, 0.2f,  /* 0.64, overlaps the first: suppressed */
      320, 320, 128, 64, 0.9f, 0.1f, 0.7f,  /* 0.63, class 1: kept */
      100, 100, 20, 20, 0.4f, 1.0f, 0.0f,   /* 0.4 < 0.5 */
      600, 600, 100, 100, 1.0f, 0.6f, 0.0f, /* crosses the border: clipped */
  };
  lens_tensor t = f32_tensor(rows, 3, (int64_t[]){1, 5, 7});
  lens_detect_params p;
  lens_detect_params_init(&p);
  p.input_width = 640;
  p.input_height = 640;
  lens_detection d[8];
  size_t n = 0;
  CHECK_OK(lens_decode_detections(LENS_DECODER_YOLOV5, &t, 1, 0, &p, d, 8, &n));
  CHECK(n == 3);
  if (n == 3) {
    CHECK(d[0].label_id == 0);
    CHECK_NEAR(d[0].confidence, 0.81, 1e-6);
    CHECK_NEAR(d[0].x_min, 256.0 / 640, 1e-6);
    CHECK_NEAR(d[0].y_min, 288.0 / 640, 1e-6);
    CHECK_NEAR(d[0].x_max, 384.0 / 640, 1e-6);
    CHECK_NEAR(d[0].y_max, 352.0 / 640, 1e-6);
    CHECK(d[1].label_id == 1);
    CHECK_NEAR(d[1].confidence, 0.63, 1e-6);
    CHECK_NEAR(d[2].confidence, 0.6, 1e-6);
    CHECK_NEAR(d[2].x_max, 1.0, 1e-6);
  }
  p.class_agnostic_nms = true;
  CHECK_OK(lens_decode_detections(LENS_DECODER_YOLOV5, &t, 1, 0, &p, d, 8, &n));
  CHECK(n == 2);
  p.class_agnostic_nms = false;
  p.max_detections = 1;
  CHECK_OK(lens_decode_detections(LENS_DECODER_YOLOV5, &t, 1, 0, &p, d, 8, &n));
  CHECK(n == 1 && d[0].label_id == 0);
  /* Pixel boxes without an input size. */
  p.input_width = 0;
  CHECK_ERR(lens_decode_detections(LENS_DECODER_YOLOV5, &t, 1, 0, &p, d, 8, &n),
            LENS_ERR_INVALID_ARGUMENT, "input_width");
}

static void test_yolov8_reads_the_transposed_layout(void) {
  /* [1,4+2,3]: columns are boxes. Normalised coordinates are recognised by their range. */
  float t_[6 * 3] = {
      0.5f, 0.25f, 0.8f,  /* cx */
      0.5f, 0.25f, 0.8f,  /* cy */
      0.2f, 0.1f, 0.2f,   /* w */
      0.4f, 0.1f, 0.2f,   /* h */
      0.1f, 0.95f, 0.3f,  /* class 0 */
      0.85f, 0.05f, 0.4f, /* class 1 */
  };
  lens_tensor t = f32_tensor(t_, 3, (int64_t[]){1, 6, 3});
  lens_detect_params p;
  lens_detect_params_init(&p);
  lens_detection d[4];
  size_t n = 0;
  CHECK_OK(lens_decode_detections(LENS_DECODER_YOLOV8, &t, 1, 0, &p, d, 4, &n));
  CHECK(n == 2);
  if (n == 2) {
    CHECK(d[0].label_id == 0);
    CHECK_NEAR(d[0].confidence, 0.95, 1e-6);
    CHECK_NEAR(d[0].x_min, 0.2, 1e-6);
    CHECK_NEAR(d[0].y_max, 0.3, 1e-6);
    CHECK(d[1].label_id == 1);
    CHECK_NEAR(d[1].x_min, 0.4, 1e-6);
    CHECK_NEAR(d[1].y_min, 0.3, 1e-6);
    CHECK_NEAR(d[1].y_max, 0.7, 1e-6);
  }
  /* The same numbers read as YOLOv5 rows give other boxes, which is why the kind matters. */
  lens_tensor bad = f32_tensor(t_, 3, (int64_t[]){1, 3, 4});
  CHECK_ERR(lens_decode_detections(LENS_DECODER_YOLOV8, &bad, 1, 0, &p, d, 4, &n),
            LENS_ERR_INVALID_ARGUMENT, "[B,4+C,N]");
  CHECK_ERR(lens_decode_detections(LENS_DECODER_YOLOV5, &bad, 1, 0, &p, d, 4, &n),
            LENS_ERR_INVALID_ARGUMENT, "[B,N,5+C]");
}

static void test_yolo_survives_hostile_values(void) {
  enum { N = 64, F = 6 };
  float v[N * F];
  const float bad[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.0f, -5.0f, 700.0f, 0.9f, 2.0f};
  for (size_t i = 0; i < N * F; i++) v[i] = bad[(i * 7 + i / 5) % 10];
  lens_tensor t = f32_tensor(v, 3, (int64_t[]){1, N, F});
  lens_detect_params p;
  lens_detect_params_init(&p);
  p.input_width = 640;
  p.input_height = 480;
  p.threshold = 0.0f;
  lens_detection d[N];
  size_t n = 0;
  CHECK_OK(lens_decode_detections(LENS_DECODER_YOLOV5, &t, 1, 0, &p, d, N, &n));
  for (size_t i = 0; i < n; i++) CHECK(box_valid(&d[i]));
  lens_tensor u = f32_tensor(v, 3, (int64_t[]){1, F, N});
  CHECK_OK(lens_decode_detections(LENS_DECODER_YOLOV8, &u, 1, 0, &p, d, N, &n));
  for (size_t i = 0; i < n; i++) CHECK(box_valid(&d[i]));
  /* Half-precision input decodes the same way. */
  uint16_t h[1 * 7 * 1];
  const float row[7] = {320, 240, 64, 48, 1.0f, 0.25f, 0.75f};
  for (int i = 0; i < 7; i++) h[i] = lens_float_to_half(row[i]);
  lens_tensor ht = {LENS_DTYPE_FLOAT16, 3, {1, 1, 7}, h, sizeof h};
  p.threshold = 0.5f;
  CHECK_OK(lens_decode_detections(LENS_DECODER_YOLOV5, &ht, 1, 0, &p, d, N, &n));
  CHECK(n == 1 && d[0].label_id == 1);
  if (n == 1) CHECK_NEAR(d[0].x_min, 288.0 / 640, 1e-4);
  lens_tensor bt = ht;
  bt.dtype = LENS_DTYPE_BOOL;
  CHECK_ERR(lens_decode_detections(LENS_DECODER_YOLOV5, &bt, 1, 0, &p, d, N, &n),
            LENS_ERR_UNSUPPORTED, "bool");
}

/* ---- DB ------------------------------------------------------------------------------------ */

/* Paints prob inside a rectangle of w x h pixels centred at (cx, cy), rotated by angle
 * degrees (clockwise on screen: +x towards +y), testing pixel centres. */
static void paint_rotated_rect(float *map, int width, int height, double cx, double cy, double w,
                               double h, double angle_deg, float prob) {
  double a = angle_deg * M_PI / 180.0, c = cos(a), s = sin(a);
  for (int y = 0; y < height; y++) {
    for (int x = 0; x < width; x++) {
      double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      double u = dx * c + dy * s, v = -dx * s + dy * c;
      if (fabs(u) <= w / 2 && fabs(v) <= h / 2) map[y * width + x] = prob;
    }
  }
}

static void test_db_rotated_rectangle_gives_its_angle_and_unclipped_size(void) {
  enum { W = 320, H = 240 };
  float *map = calloc(W * H, sizeof *map);
  if (!map) return;
  paint_rotated_rect(map, W, H, 160, 120, 200, 40, 20.0, 0.9f);
  lens_tensor t = f32_tensor(map, 4, (int64_t[]){1, 1, H, W});
  lens_detect_params p;
  lens_detect_params_init(&p);
  lens_detection d[4];
  size_t n = 0;
  CHECK_OK(lens_decode_detections(LENS_DECODER_AUTO, &t, 1, 0, &p, d, 4, &n));
  CHECK(n == 1);
  if (n == 1) {
    CHECK(d[0].has_quad);
    CHECK_NEAR(d[0].confidence, 0.9, 1e-5);
    double q[8];
    for (int k = 0; k < 4; k++) {
      q[2 * k] = d[0].quad[2 * k] * W;
      q[2 * k + 1] = d[0].quad[2 * k + 1] * H;
    }
    /* TL -> TR runs along the long side at +20 degrees (y down), TR -> BR along the short. */
    double top = hypot(q[2] - q[0], q[3] - q[1]), right = hypot(q[4] - q[2], q[5] - q[3]);
    double angle = atan2(q[3] - q[1], q[2] - q[0]) * 180.0 / M_PI;
    CHECK_NEAR(angle, 20.0, 1.5);
    /* Pixel-centre rectangle ~199 x 39, unclip distance = area * 1.5 / perimeter ~ 24.4. */
    double w0 = 199.0, h0 = 39.0, dist = w0 * h0 * 1.5 / (2 * (w0 + h0));
    CHECK_NEAR(top, w0 + 2 * dist, 4.0);
    CHECK_NEAR(right, h0 + 2 * dist, 4.0);
    double mx = (q[0] + q[2] + q[4] + q[6]) / 4, my = (q[1] + q[3] + q[5] + q[7]) / 4;
    CHECK_NEAR(mx, 160.0, 1.0);
    CHECK_NEAR(my, 120.0, 1.0);
    /* The top-left corner is the leftmost of the upper pair; bounds enclose the quad. */
    CHECK(q[0] < q[2] && q[1] < q[7]);
    for (int k = 0; k < 4; k++) {
      CHECK(d[0].quad[2 * k] >= d[0].x_min && d[0].quad[2 * k] <= d[0].x_max);
      CHECK(d[0].quad[2 * k + 1] >= d[0].y_min && d[0].quad[2 * k + 1] <= d[0].y_max);
    }
  }
  /* Unclip ratio 0: the box is the pixel-centre rectangle itself. */
  p.db_unclip_ratio = 0.0f;
  CHECK_OK(lens_decode_detections(LENS_DECODER_DB, &t, 1, 0, &p, d, 4, &n));
  if (n == 1) {
    double top = hypot((d[0].quad[2] - d[0].quad[0]) * W, (d[0].quad[3] - d[0].quad[1]) * H);
    CHECK_NEAR(top, 199.0, 2.0);
  }
  free(map);
}

static void test_db_thresholds_sizes_and_limits(void) {
  enum { W = 200, H = 100 };
  float map[W * H] = {0};
  paint_rotated_rect(map, W, H, 40, 20, 60, 20, 0.0, 0.95f);  /* text */
  paint_rotated_rect(map, W, H, 140, 20, 60, 20, 0.0, 0.8f);  /* text, weaker */
  paint_rotated_rect(map, W, H, 40, 60, 60, 20, 0.0, 0.5f);   /* mean 0.5 < box 0.6 */
  paint_rotated_rect(map, W, H, 140, 60, 60, 2, 0.0, 0.99f);  /* 2 px tall: too thin */
  paint_rotated_rect(map, W, H, 100, 90, 4, 4, 0.0, 0.2f);    /* under the binary threshold */
  lens_tensor t = f32_tensor(map, 4, (int64_t[]){1, 1, H, W});
  lens_detect_params p;
  lens_detect_params_init(&p);
  lens_detection d[8];
  size_t n = 0;
  CHECK_OK(lens_decode_detections(LENS_DECODER_DB, &t, 1, 0, &p, d, 8, &n));
  CHECK(n == 2);
  if (n == 2) {
    CHECK_NEAR(d[0].confidence, 0.95, 1e-5);
    CHECK_NEAR(d[1].confidence, 0.8, 1e-5);
    CHECK(d[0].x_min + d[0].x_max < 1.0f && d[1].x_min + d[1].x_max > 1.0f);
    CHECK(d[0].label_id == 0 && d[0].has_quad);
  }
  p.db_box_threshold = 0.4f;
  CHECK_OK(lens_decode_detections(LENS_DECODER_DB, &t, 1, 0, &p, d, 8, &n));
  CHECK(n == 3);
  p.max_detections = 1;
  CHECK_OK(lens_decode_detections(LENS_DECODER_DB, &t, 1, 0, &p, d, 8, &n));
  CHECK(n == 1 && fabsf(d[0].confidence - 0.95f) < 1e-5f);
  p.max_detections = 100;
  CHECK_OK(lens_decode_detections(LENS_DECODER_DB, &t, 1, 0, &p, d, 2, &n));
  CHECK(n == 2);
}

static void test_db_uses_8_connectivity(void) {
  enum { W = 64, H = 64 };
  float map[W * H] = {0};
  /* Two 10x10 squares touching only at a corner are one region. */
  for (int y = 10; y < 20; y++)
    for (int x = 10; x < 20; x++) map[y * W + x] = 0.9f;
  for (int y = 20; y < 30; y++)
    for (int x = 20; x < 30; x++) map[y * W + x] = 0.9f;
  lens_tensor t = f32_tensor(map, 4, (int64_t[]){1, 1, H, W});
  lens_detect_params p;
  lens_detect_params_init(&p);
  lens_detection d[4];
  size_t n = 0;
  CHECK_OK(lens_decode_detections(LENS_DECODER_DB, &t, 1, 0, &p, d, 4, &n));
  CHECK(n == 1);
  /* [B,H,W] maps are accepted too. */
  lens_tensor u = f32_tensor(map, 3, (int64_t[]){1, H, W});
  CHECK_OK(lens_decode_detections(LENS_DECODER_DB, &u, 1, 0, &p, d, 4, &n));
  CHECK(n == 1);
}

static void test_db_survives_hostile_maps(void) {
  enum { W = 256, H = 256 };
  float *map = malloc(W * H * sizeof *map);
  if (!map) return;
  lens_tensor t = f32_tensor(map, 4, (int64_t[]){1, 1, H, W});
  lens_detect_params p;
  lens_detect_params_init(&p);
  lens_detection d[16];
  size_t n = 0;
  /* Everything text: one region covering the map, clamped to [0,1]. */
  for (int i = 0; i < W * H; i++) map[i] = 1.0f;
  CHECK_OK(lens_decode_detections(LENS_DECODER_DB, &t, 1, 0, &p, d, 16, &n));
  CHECK(n == 1);
  if (n == 1) CHECK(d[0].x_min == 0.0f && d[0].y_max == 1.0f);
  /* A serpentine: one region 1 pixel wide and ~33000 long (deep for a recursive fill). */
  for (int i = 0; i < W * H; i++) map[i] = 0.0f;
  for (int y = 0; y < H; y += 2) {
    for (int x = 0; x < W; x++) map[y * W + x] = 0.9f;
    if (y + 1 < H) map[(y + 1) * W + ((y / 2) % 2 ? 0 : W - 1)] = 0.9f;
  }
  CHECK_OK(lens_decode_detections(LENS_DECODER_DB, &t, 1, 0, &p, d, 16, &n));
  CHECK(n == 1);
  /* Checkerboard of single pixels: all diagonal neighbours, one region; NaN and inf. */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) map[y * W + x] = ((x + y) % 2) ? 0.9f : NAN;
  map[5] = INFINITY;
  map[7] = -INFINITY;
  CHECK_OK(lens_decode_detections(LENS_DECODER_DB, &t, 1, 0, &p, d, 16, &n));
  CHECK(n <= 1);
  for (size_t i = 0; i < n; i++) CHECK(box_valid(&d[i]) && d[i].confidence <= 1.0f);
  /* Isolated dots: many regions, all too small. */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) map[y * W + x] = (x % 3 == 0 && y % 3 == 0) ? 0.9f : 0.0f;
  CHECK_OK(lens_decode_detections(LENS_DECODER_DB, &t, 1, 0, &p, d, 16, &n));
  CHECK(n == 0);
  /* Wrong shapes. */
  lens_tensor two_ch = f32_tensor(map, 4, (int64_t[]){1, 2, H / 2, W});
  CHECK_ERR(lens_decode_detections(LENS_DECODER_DB, &two_ch, 1, 0, &p, d, 16, &n),
            LENS_ERR_INVALID_ARGUMENT, "[1,2,128,256]");
  free(map);
}

static void test_db_finds_the_five_lines_of_the_real_page(void) {
  char *path = path_join(models_dir, "ppocr_det/test_data_set_0/output_0.pb");
  SKIP_IF_MISSING(path);
  lens_tensor t = {0};
  CHECK_OK(lens_tensor_load_pb(path, &t, NULL));
  free(path);
  if (!t.data) return;
  /* The rendered text's bounding boxes (PIL textbbox) on the 640x640 page, top to bottom. */
  static const float lines[5][4] = {{40, 52, 408, 101},
                                    {40, 179, 394, 216},
                                    {40, 297, 427, 325},
                                    {40, 406, 349, 430},
                                    {300, 528, 617, 566}};
  lens_detect_params p;
  lens_detect_params_init(&p);
  lens_detection d[16];
  size_t n = 0;
  CHECK_OK(lens_decode_detections(LENS_DECODER_AUTO, &t, 1, 0, &p, d, 16, &n));
  CHECK_MSG(n == 5, "%zu boxes", n);
  for (int l = 0; l < 5; l++) {
    int hits = 0;
    for (size_t i = 0; i < n; i++) {
      float cy = (d[i].y_min + d[i].y_max) * 0.5f * 640.0f;
      if (cy < lines[l][1] || cy > lines[l][3]) continue;
      hits++;
      CHECK_NEAR(d[i].x_min * 640.0f, lines[l][0], 12.0);
      CHECK_NEAR(d[i].x_max * 640.0f, lines[l][2], 12.0);
      CHECK_NEAR(d[i].y_min * 640.0f, lines[l][1], 12.0);
      CHECK_NEAR(d[i].y_max * 640.0f, lines[l][3], 12.0);
      CHECK(d[i].confidence > 0.9f && d[i].has_quad);
    }
    CHECK_MSG(hits == 1, "line %d matched %d boxes", l, hits);
  }
  lens_tensor_free(&t);
}

/* ---- CTC --------------------------------------------------------------------------------- */

/* One step of a [T,C] probability matrix: `best` gets p, the rest share 1 - p. */
static void ctc_step(float *row, int classes, int best, float p) {
  for (int k = 0; k < classes; k++) row[k] = (1.0f - p) / (float)(classes - 1);
  row[best] = p;
}

static void test_ctc_collapses_repeats_drops_blanks_and_maps_utf8(void) {
  /* "疗" is line 2 of ppocr_keys_v1.txt. Dictionary: a, b, 疗; index 4 is the space. */
  const char *labels[] = {"a", "b", "\xe7\x96\x97"};
  enum { T = 10, C = 5 };
  const int seq[T] = {1, 1, 0, 1, 2, 2, 4, 3, 0, 0};
  const float prob[T] = {0.9f, 0.5f, 0.99f, 0.8f, 0.7f, 0.95f, 0.6f, 0.85f, 0.9f, 0.9f};
  float m[T * C];
  for (int s = 0; s < T; s++) ctc_step(&m[s * C], C, seq[s], prob[s]);
  lens_tensor t = f32_tensor(m, 3, (int64_t[]){1, T, C});
  lens_classification c;
  CHECK_OK(lens_decode_classification(LENS_DECODER_AUTO, &t, 1, 0, labels, 3, &c));
  CHECK_MSG(strcmp(c.text, "aab \xe7\x96\x97") == 0, "text '%s'", c.text);
  /* Kept steps: 0 (a), 3 (a), 4 (b), 6 (space), 7 (疗). */
  CHECK_NEAR(c.confidence, (0.9 + 0.8 + 0.7 + 0.6 + 0.85) / 5, 1e-6);
  CHECK(c.label_id == -1 && c.label == NULL);
  /* All blank: empty text, confidence 0. */
  for (int s = 0; s < T; s++) ctc_step(&m[s * C], C, 0, 0.9f);
  CHECK_OK(lens_decode_classification(LENS_DECODER_CTC, &t, 1, 0, labels, 3, &c));
  CHECK(c.text[0] == '\0' && c.confidence == 0.0f);
  /* A dictionary shorter than the classes: unknown indices add nothing. */
  ctc_step(&m[0], C, 3, 0.9f);
  ctc_step(&m[C], C, 1, 0.9f);
  CHECK_OK(lens_decode_classification(LENS_DECODER_CTC, &t, 1, 0, labels, 1, &c));
  CHECK(strcmp(c.text, "a") == 0);
}

static void test_ctc_truncates_text_at_a_character_boundary(void) {
  const char *labels[] = {"\xe7\x96\x97", "xy"};
  enum { T = 600, C = 4 };
  float *m = malloc(T * C * sizeof *m);
  if (!m) return;
  for (int s = 0; s < T; s++) ctc_step(&m[s * C], C, s % 2 ? 0 : 1, 0.9f);
  lens_tensor t = f32_tensor(m, 3, (int64_t[]){1, T, C});
  lens_classification c;
  CHECK_OK(lens_decode_classification(LENS_DECODER_CTC, &t, 1, 0, labels, 2, &c));
  size_t len = strlen(c.text);
  CHECK(len == 510); /* 170 three-byte characters fit in 511 bytes, not 171 */
  CHECK(len % 3 == 0);
  CHECK_NEAR(c.confidence, 0.9, 1e-6);
  /* Multi-character labels are cut between their characters. */
  for (int s = 0; s < T; s++) ctc_step(&m[s * C], C, s % 2 ? 0 : 2, 0.9f);
  CHECK_OK(lens_decode_classification(LENS_DECODER_CTC, &t, 1, 0, labels, 2, &c));
  len = strlen(c.text);
  CHECK(len == 511 && c.text[len - 1] == 'x');
  free(m);
}

static void test_ctc_rejects_bad_input_and_survives_nan(void) {
  const char *labels[] = {"a"};
  float m[3 * 3] = {NAN, NAN, NAN, 0.1f, 0.8f, 0.1f, INFINITY, 0.0f, NAN};
  lens_tensor t = f32_tensor(m, 3, (int64_t[]){1, 3, 3});
  lens_classification c;
  CHECK_OK(lens_decode_classification(LENS_DECODER_CTC, &t, 1, 0, labels, 1, &c));
  CHECK(strcmp(c.text, "a") == 0);
  CHECK(isfinite(c.confidence));
  CHECK_ERR(lens_decode_classification(LENS_DECODER_CTC, &t, 1, 0, NULL, 0, &c),
            LENS_ERR_INVALID_ARGUMENT, "dictionary");
  CHECK_ERR(lens_decode_classification(LENS_DECODER_CTC, &t, 1, 1, labels, 1, &c),
            LENS_ERR_INVALID_ARGUMENT, "batch item 1");
  lens_tensor flat = f32_tensor(m, 2, (int64_t[]){1, 9});
  CHECK_ERR(lens_decode_classification(LENS_DECODER_CTC, &flat, 1, 0, labels, 1, &c),
            LENS_ERR_INVALID_ARGUMENT, "[1,9]");
  CHECK_ERR(lens_decode_classification(LENS_DECODER_YOLOV5, &t, 1, 0, labels, 1, &c),
            LENS_ERR_INVALID_ARGUMENT, "does not classify");
  CHECK_ERR(lens_decode_classification(LENS_DECODER_CTC, &t, 1, 0, labels, 1, NULL),
            LENS_ERR_INVALID_ARGUMENT, "");
}

static void test_ctc_reads_the_real_lines(void) {
  char *p0 = path_join(models_dir, "ppocr_rec/test_data_set_0/output_0.pb");
  char *p1 = path_join(models_dir, "ppocr_rec/test_data_set_1/output_0.pb");
  if (!p0 || !dict_path || access(p0, R_OK) != 0 || access(p1, R_OK) != 0 ||
      access(dict_path, R_OK) != 0) {
    printf("  skip: %s or %s not found\n", p0 ? p0 : "(no --models)",
           dict_path ? dict_path : "(no --dict)");
    skipped_ = 1;
    free(p0);
    free(p1);
    return;
  }
  char **labels = NULL;
  size_t n_labels = 0;
  CHECK_OK(lens_labels_load(dict_path, &labels, &n_labels));
  CHECK(n_labels == 6623);
  const char *paths[2] = {p0, p1}, *expect[2] = {"Lens 2026", "HELLO WORLD"};
  for (int k = 0; k < 2 && labels; k++) {
    lens_tensor t = {0};
    CHECK_OK(lens_tensor_load_pb(paths[k], &t, NULL));
    lens_classification c;
    memset(&c, 0, sizeof c);
    CHECK_OK(lens_decode_classification(LENS_DECODER_AUTO, &t, 1, 0, (const char *const *)labels,
                                        n_labels, &c));
    CHECK_MSG(strcmp(c.text, expect[k]) == 0, "read '%s', expected '%s'", c.text, expect[k]);
    CHECK(c.confidence > 0.9f && c.confidence <= 1.0f);
    lens_tensor_free(&t);
  }
  lens_labels_free(labels, n_labels);
  free(p0);
  free(p1);
}

/* ---- softmax ------------------------------------------------------------------------------- */

static void test_softmax_on_logits_and_probabilities(void) {
  const char *labels[] = {"cat", "dog", "fox", "owl"};
  float logits[4] = {1.0f, 3.0f, 0.0f, 2.0f};
  lens_tensor t = f32_tensor(logits, 2, (int64_t[]){1, 4});
  lens_classification c;
  CHECK_OK(lens_decode_classification(LENS_DECODER_AUTO, &t, 1, 0, labels, 4, &c));
  double den = exp(1.0) + exp(3.0) + exp(0.0) + exp(2.0);
  CHECK(c.label_id == 1);
  CHECK_NEAR(c.confidence, exp(3.0) / den, 1e-6);
  CHECK(c.label && strcmp(c.label, "dog") == 0);
  CHECK(c.text[0] == '\0');
  float probs[3] = {0.2f, 0.7f, 0.1f};
  lens_tensor u = f32_tensor(probs, 4, (int64_t[]){1, 3, 1, 1});
  CHECK_OK(lens_decode_classification(LENS_DECODER_AUTO, &u, 1, 0, NULL, 0, &c));
  CHECK(c.label_id == 1 && c.label == NULL);
  CHECK_NEAR(c.confidence, 0.7, 1e-6);
  /* Values in [0,1] that do not sum to 1 are logits. */
  float sig[2] = {0.9f, 0.8f};
  lens_tensor v = f32_tensor(sig, 2, (int64_t[]){1, 2});
  CHECK_OK(lens_decode_classification(LENS_DECODER_SOFTMAX, &v, 1, 0, labels, 1, &c));
  CHECK(c.label_id == 0 && c.label && strcmp(c.label, "cat") == 0);
  CHECK_NEAR(c.confidence, 1.0 / (1.0 + exp(-0.1)), 1e-6);
  /* Batch item 1 of [2,3]. */
  float b2[6] = {0.0f, 0.0f, 5.0f, 9.0f, 0.0f, 0.0f};
  lens_tensor w = f32_tensor(b2, 2, (int64_t[]){2, 3});
  CHECK_OK(lens_decode_classification(LENS_DECODER_SOFTMAX, &w, 1, 1, labels, 2, &c));
  CHECK(c.label_id == 0);
  CHECK_OK(lens_decode_classification(LENS_DECODER_SOFTMAX, &w, 1, 0, labels, 2, &c));
  CHECK(c.label_id == 2 && c.label == NULL); /* beyond the 2 labels given */
}

static void test_softmax_survives_hostile_values(void) {
  float a[4] = {NAN, 2.0f, NAN, 1.0f};
  lens_tensor t = f32_tensor(a, 2, (int64_t[]){1, 4});
  lens_classification c;
  CHECK_OK(lens_decode_classification(LENS_DECODER_SOFTMAX, &t, 1, 0, NULL, 0, &c));
  CHECK(c.label_id == 1);
  CHECK_NEAR(c.confidence, exp(2.0) / (exp(2.0) + exp(1.0)), 1e-6);
  float b[3] = {INFINITY, 1.0f, INFINITY};
  lens_tensor u = f32_tensor(b, 2, (int64_t[]){1, 3});
  CHECK_OK(lens_decode_classification(LENS_DECODER_SOFTMAX, &u, 1, 0, NULL, 0, &c));
  CHECK(c.label_id == 0);
  CHECK_NEAR(c.confidence, 0.5, 1e-6);
  float n[2] = {NAN, NAN};
  lens_tensor v = f32_tensor(n, 2, (int64_t[]){1, 2});
  CHECK_ERR(lens_decode_classification(LENS_DECODER_SOFTMAX, &v, 1, 0, NULL, 0, &c),
            LENS_ERR_RUNTIME, "no finite score");
  lens_tensor w = f32_tensor(b, 3, (int64_t[]){1, 3, 1});
  CHECK_ERR(lens_decode_classification(LENS_DECODER_SOFTMAX, &w, 1, 0, NULL, 0, &c),
            LENS_ERR_INVALID_ARGUMENT, "[1,3,1]");
  lens_tensor empty = f32_tensor(b, 2, (int64_t[]){1, 0});
  CHECK_ERR(lens_decode_classification(LENS_DECODER_SOFTMAX, &empty, 1, 0, NULL, 0, &c),
            LENS_ERR_INVALID_ARGUMENT, "empty");
  lens_tensor nodata = f32_tensor(NULL, 2, (int64_t[]){1, 3});
  CHECK_ERR(lens_decode_classification(LENS_DECODER_SOFTMAX, &nodata, 1, 0, NULL, 0, &c),
            LENS_ERR_INVALID_ARGUMENT, "do not cover");
  CHECK_ERR(lens_decode_detections(LENS_DECODER_SOFTMAX, &u, 1, 0, NULL, NULL, 0, NULL),
            LENS_ERR_INVALID_ARGUMENT, "");
  lens_detection d[1];
  size_t nd;
  CHECK_ERR(lens_decode_detections(LENS_DECODER_CTC, &u, 1, 0, NULL, d, 1, &nd),
            LENS_ERR_INVALID_ARGUMENT, "does not detect");
}

/* ---- labels files ---------------------------------------------------------------------------- */

static void test_labels_file_lines(void) {
  char path[] = "/tmp/lens_labels_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  const char text[] = "\xEF\xBB\xBF" "person\r\nbicycle\n\n \n\xe7\x96\x97\nlast";
  CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
  close(fd);
  char **labels = NULL;
  size_t n = 0;
  CHECK_OK(lens_labels_load(path, &labels, &n));
  CHECK(n == 6);
  if (n == 6) {
    CHECK(strcmp(labels[0], "person") == 0);
    CHECK(strcmp(labels[1], "bicycle") == 0);
    CHECK(strcmp(labels[2], "") == 0);
    CHECK(strcmp(labels[3], " ") == 0);
    CHECK(strcmp(labels[4], "\xe7\x96\x97") == 0);
    CHECK(strcmp(labels[5], "last") == 0);
  }
  lens_labels_free(labels, n);
  /* An empty file has no labels; a missing one is an I/O error naming it. */
  fd = open(path, O_WRONLY | O_TRUNC);
  if (fd >= 0) close(fd);
  CHECK_OK(lens_labels_load(path, &labels, &n));
  CHECK(n == 0);
  lens_labels_free(labels, n);
  unlink(path);
  const char *missing = path;
  CHECK_ERR(lens_labels_load(path, &labels, &n), LENS_ERR_IO, missing);
  CHECK(labels == NULL && n == 0);
  CHECK_ERR(lens_labels_load(NULL, &labels, &n), LENS_ERR_INVALID_ARGUMENT, "");
  lens_labels_free(NULL, 3);
}

static void test_labels_file_ppocr_dictionary(void) {
  SKIP_IF_MISSING(dict_path);
  char **labels = NULL;
  size_t n = 0;
  CHECK_OK(lens_labels_load(dict_path, &labels, &n));
  CHECK(n == 6623);
  if (n > 1) {
    CHECK(strcmp(labels[0], "'") == 0);
    CHECK(strcmp(labels[1], "\xe7\x96\x97") == 0);
  }
  lens_labels_free(labels, n);
}

static const lens_test_case cases[] = {
    LENS_TEST(test_nms_suppresses_overlap_of_the_same_class),
    LENS_TEST(test_nms_keeps_other_classes_unless_class_agnostic),
    LENS_TEST(test_nms_threshold_is_strict),
    LENS_TEST(test_nms_limit_stops_at_max_keep),
    LENS_TEST(test_nms_survives_nan_and_degenerate_boxes),
    LENS_TEST(test_decoder_names_round_trip),
    LENS_TEST(test_params_defaults),
    LENS_TEST(test_detect_chooses_decoder_from_shapes),
    LENS_TEST(test_detect_reports_ambiguous_shapes),
    LENS_TEST(test_ssdlite_default_boxes_match_torchvision),
    LENS_TEST(test_ssd_torchvision_head_decodes_a_known_box),
    LENS_TEST(test_ssd_torchvision_head_matches_torchvision_on_the_real_model),
    LENS_TEST(test_ssd_decoded_boxes_with_scores_and_labels),
    LENS_TEST(test_ssd_decoded_boxes_with_per_class_scores),
    LENS_TEST(test_ssd_detection_output_rows),
    LENS_TEST(test_ssd_survives_hostile_values),
    LENS_TEST(test_yolov5_scores_objectness_times_class_and_applies_nms),
    LENS_TEST(test_yolov8_reads_the_transposed_layout),
    LENS_TEST(test_yolo_survives_hostile_values),
    LENS_TEST(test_db_rotated_rectangle_gives_its_angle_and_unclipped_size),
    LENS_TEST(test_db_thresholds_sizes_and_limits),
    LENS_TEST(test_db_uses_8_connectivity),
    LENS_TEST(test_db_survives_hostile_maps),
    LENS_TEST(test_db_finds_the_five_lines_of_the_real_page),
    LENS_TEST(test_ctc_collapses_repeats_drops_blanks_and_maps_utf8),
    LENS_TEST(test_ctc_truncates_text_at_a_character_boundary),
    LENS_TEST(test_ctc_rejects_bad_input_and_survives_nan),
    LENS_TEST(test_ctc_reads_the_real_lines),
    LENS_TEST(test_softmax_on_logits_and_probabilities),
    LENS_TEST(test_softmax_survives_hostile_values),
    LENS_TEST(test_labels_file_lines),
    LENS_TEST(test_labels_file_ppocr_dictionary),
};

int main(int argc, char **argv) {
  const char *filter = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--models") == 0 && i + 1 < argc)
      models_dir = argv[++i];
    else if (strcmp(argv[i], "--dict") == 0 && i + 1 < argc)
      dict_path = argv[++i];
    else
      filter = argv[i];
  }
  int passed = 0, failed = 0, skipped = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (filter && !strstr(cases[i].name, filter)) continue;
    int before = lens_test_failures_;
    skipped_ = 0;
    cases[i].fn();
    bool ok = lens_test_failures_ == before;
    printf("%s %s\n", !ok ? "FAIL" : skipped_ ? "SKIP" : "PASS", cases[i].name);
    fflush(stdout);
    if (!ok)
      failed++;
    else if (skipped_)
      skipped++;
    else
      passed++;
  }
  if (skipped) printf("%d skipped (real-model files missing)\n", skipped);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
