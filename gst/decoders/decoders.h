/* Output decoders: model output tensors -> detections, classes or text. Plain C on liblens
 * tensors (no GStreamer), so each is tested on synthetic tensors with known answers.
 * Coordinates are normalised to the MODEL INPUT ([0,1] x [0,1] of the tensor the network
 * saw); the element maps them back through its preprocessing (letterbox, crop) to frame
 * pixels. */
#ifndef LENS_GST_DECODERS_H
#define LENS_GST_DECODERS_H

#include <stdbool.h>
#include <stddef.h>

#include "lens/lens.h"

typedef enum lens_decoder_kind {
  LENS_DECODER_AUTO = 0,
  LENS_DECODER_SSD,     /* torchvision SSD/SSDlite head, decoded boxes+scores, or [1,1,N,7] */
  LENS_DECODER_YOLOV5,  /* [1,N,5+C]: cx,cy,w,h,objectness,class scores */
  LENS_DECODER_YOLOV8,  /* [1,4+C,N]: cx,cy,w,h,class scores (also YOLOv11) */
  LENS_DECODER_DB,      /* PaddleOCR DB text detection: probability map [1,1,H,W] */
  LENS_DECODER_CTC,     /* PaddleOCR CTC recognition: [1,T,C] probabilities */
  LENS_DECODER_SOFTMAX, /* classification: [1,C] logits or probabilities */
  LENS_DECODER_RAW,     /* no decoding (lensinfer attaches tensors) */
} lens_decoder_kind;

/* "auto", "ssd", ...; returns false for an unknown name. */
bool lens_decoder_from_string(const char *name, lens_decoder_kind *out);
const char *lens_decoder_name(lens_decoder_kind kind);

/* Chooses a decoder from the output shapes when that is unambiguous; otherwise fails with a
 * message that names the shapes. for_classification: the element classifies (softmax, ctc)
 * rather than detects. */
lens_status *lens_decoder_detect(const lens_tensor_desc *outputs, size_t n_outputs,
                                 bool for_classification, lens_decoder_kind *out);

typedef struct lens_detection {
  float x_min, y_min, x_max, y_max; /* axis-aligned box, normalised to the model input */
  float confidence;
  int label_id;
  bool has_quad;                    /* DB: the rotated text box as 4 corner points */
  float quad[8];                    /* x0,y0 .. x3,y3 normalised, clockwise from top-left */
} lens_detection;

/* Units of box coordinates in a model's output. AUTO: normalised when every finite coordinate
 * of the tensor lies within [-0.5, 1.5], else input pixels (then input_width/input_height
 * must be set). */
typedef enum lens_box_units {
  LENS_BOX_UNITS_AUTO = 0,
  LENS_BOX_UNITS_NORMALISED,
  LENS_BOX_UNITS_PIXELS,
} lens_box_units;

/* The SSD output layouts. AUTO: [1,1,N,7] is DETECTION_OUTPUT; boxes [1,N,4] + scores
 * [1,N,C] are DECODED when every box has x2 >= x1, y2 >= y1 and every score is in [0,1]
 * (else the raw torchvision head); boxes + scores [1,N] (+ labels) are DECODED. */
typedef enum lens_ssd_format {
  LENS_SSD_FORMAT_AUTO = 0,
  LENS_SSD_FORMAT_TORCHVISION_HEAD, /* bbox_regression [1,N,4] + cls_logits [1,N,C] */
  LENS_SSD_FORMAT_DECODED,          /* x1,y1,x2,y2 [1,N,4] + scores [1,N(,C)] (+ labels) */
  LENS_SSD_FORMAT_DETECTION_OUTPUT, /* [1,1,N,7]: image_id,label,conf,x1,y1,x2,y2 */
} lens_ssd_format;

typedef struct lens_detect_params {
  float threshold;          /* minimum confidence */
  float nms_threshold;      /* IoU above which the lower-scoring box is suppressed */
  int max_detections;
  int input_width;          /* the model input's size in pixels (for pixel-unit outputs) */
  int input_height;
  bool class_agnostic_nms;
  float db_binary_threshold;/* DB: probability threshold for the text mask (default 0.3) */
  float db_unclip_ratio;    /* DB: box expansion (default 1.5) */
  int background_label;     /* SSD: the background class index (-1: none; torchvision: 0) */
  /* Fields added after the first version of this struct (always set them through
   * lens_detect_params_init first). */
  float db_box_threshold;   /* DB: minimum mean probability inside a text region (0.6) */
  lens_box_units box_units; /* SSD decoded boxes, YOLO: coordinate units (auto) */
  lens_ssd_format ssd_format; /* SSD: which of the three layouts (auto) */
} lens_detect_params;

/* Sets the defaults (threshold 0.5, nms 0.45, max 100, db 0.3/1.5/0.6, background 0, auto
 * units and SSD format). max_detections <= 0 means no limit other than max_out. */
void lens_detect_params_init(lens_detect_params *p);

/* Decodes batch item `batch` of the outputs into at most max_out detections (sorted by
 * decreasing confidence, NMS applied). kind AUTO chooses as lens_decoder_detect does from the
 * tensors' shapes. Per decoder: SSD skips background_label only where scores are per class
 * ([B,N,C]), and trusts DetectionOutput's own NMS; YOLO and DB read outputs[0]; DB sets
 * has_quad and applies no NMS (its regions are disjoint). Confidence >= threshold is kept;
 * NaN, infinite or empty boxes are dropped, boxes are clipped to [0,1]. */
lens_status *lens_decode_detections(lens_decoder_kind kind, const lens_tensor *outputs,
                                    size_t n_outputs, size_t batch,
                                    const lens_detect_params *params, lens_detection *out,
                                    size_t max_out, size_t *n_out);

typedef struct lens_classification {
  int label_id;             /* argmax class (softmax); -1 for text */
  float confidence;         /* softmax probability; CTC: mean of the kept steps' maxima */
  char text[512];           /* CTC: decoded UTF-8 text; softmax: empty */
  /* Added: softmax: labels[label_id] when labels were given and cover it, else NULL (points
   * into the caller's labels, valid as long as they are); CTC: NULL. */
  const char *label;
} lens_classification;

/* Decodes batch item `batch` as a classification. labels: the label file's lines (softmax,
 * optional) or the CTC dictionary (index i+1 -> labels[i]; index 0 is the blank; index
 * n_labels+1 is a space, as PaddleOCR's). */
lens_status *lens_decode_classification(lens_decoder_kind kind, const lens_tensor *outputs,
                                        size_t n_outputs, size_t batch,
                                        const char *const *labels, size_t n_labels,
                                        lens_classification *out);

/* Greedy non-maximum suppression in place: keeps boxes sorted by confidence, drops those
 * overlapping a kept one of the same label (any label if class_agnostic) above iou.
 * Returns the new count. */
size_t lens_nms(lens_detection *dets, size_t n, float iou, bool class_agnostic);

/* Like lens_nms, but stops once max_keep boxes are kept (cost O(n * max_keep)). */
size_t lens_nms_limit(lens_detection *dets, size_t n, float iou, bool class_agnostic,
                      size_t max_keep);

/* torchvision's DefaultBoxGenerator for ssdlite320_mobilenet_v3_large (aspect ratios [2,3]
 * on 6 feature maps, scales 0.2..0.95, clipped): *out_boxes gets 4 * n_boxes floats, cx,cy,w,h
 * normalised, in the head's order (feature map, row, column, box); free() it. The feature map
 * sizes follow the backbone's strides from the input size when that is given (> 0) and fits
 * n_boxes, else they are derived from n_boxes for a square input (3234 -> 320x320:
 * 20,10,5,3,2,1); fails when neither fits. */
lens_status *lens_ssdlite_default_boxes(size_t n_boxes, int input_width, int input_height,
                                        float **out_boxes);

/* Labels file: one label per line (UTF-8; trailing CR/LF stripped). */
lens_status *lens_labels_load(const char *path, char ***out_labels, size_t *out_n);
void lens_labels_free(char **labels, size_t n);

#endif
