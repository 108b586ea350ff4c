#!/usr/bin/python3
"""Writes the tiny ONNX models that tests/gst/test_infer_elements runs through the Lens
inference elements (lensinfer, lensdetect, lensclassify).

Usage: /usr/bin/python3 scripts/gen_gst_test_models.py OUTDIR

Every model takes x: float32 [batch, 3, 8, 8] (batch symbolic, so batch-size binds it):

  mean.onnx        GlobalAveragePool -> [batch,3,1,1]: each channel's mean, so a test can
                   tell frames apart by their fill value (order, strides, formats).
  det_fixed.onnx   [batch,1,4,7] DetectionOutput rows that do not depend on the pixels
                   (0 * Conv(x) + constant): two boxes above threshold 0.5, one below, one
                   padding row (image_id -1).
  det_absurd.onnx  the same layout full of NaN, +-inf, 1e30, inverted boxes, absurd labels.
  cls_tiny.onnx    Conv 1x1 (class k = channel k, class 3 = 0.5) -> GlobalAveragePool ->
                   Flatten -> *10 -> Softmax: a red frame is class 0, green 1, blue 2.
  cls_side.onnx    Conv 8x8 (+1 on the left half, -1 on the right) -> Softmax over
                   [left, right]: which half is brighter (the 180-degree flip test).
  bad_input.onnx   x: float32 [1,10] (not an image): elements must refuse caps.
  corrupt.onnx     random bytes.
  labels.txt       four labels for cls_tiny/det_fixed: red, green, blue, grey.
  sides.txt        labels for cls_side: left, right.
  angles.txt       labels for PaddleOCR's direction classifier (models/real/ppocr_cls): 0, 180.
"""
import os
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 8

# DetectionOutput rows: image_id, label, confidence, x_min, y_min, x_max, y_max.
DET_FIXED = [
    [0, 1, 0.9, 0.25, 0.25, 0.50, 0.75],
    [0, 2, 0.8, 0.60, 0.10, 0.90, 0.40],
    [0, 1, 0.3, 0.00, 0.00, 0.10, 0.10],
    [-1, 0, 0.0, 0.00, 0.00, 0.00, 0.00],
]
NAN = float("nan")
INF = float("inf")
DET_ABSURD = [
    [0, 1, NAN, 0.1, 0.1, 0.2, 0.2],
    [0, 1, 0.9, -1e30, -1e30, 1e30, 1e30],
    [0, 1, INF, 0.1, 0.1, 0.2, 0.2],
    [0, 1e30, 0.9, NAN, 0.2, 0.3, 0.4],
    [0, 1, 0.95, 0.9, 0.9, 0.1, 0.1],
    [0, -5, 0.9, 0.3, 0.3, 0.6, 0.6],
    [0, 2, 1e30, INF, -INF, 0.5, 0.5],
    [0, 3, 0.7, 0.4, 0.4, 0.4, 0.4],
]


def image_input():
    return helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])


def save(outdir, name, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="gen_gst_test_models")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    with open(os.path.join(outdir, name + ".onnx"), "wb") as f:
        f.write(model.SerializeToString())


def mean_model(outdir):
    save(outdir, "mean", [helper.make_node("GlobalAveragePool", ["x"], ["mean"])],
         [image_input()],
         [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", 3, 1, 1])])


def detection_model(outdir, name, rows):
    rows = np.array(rows, dtype=np.float32).reshape(1, 1, len(rows), 7)
    zero_w = numpy_helper.from_array(np.zeros((1, 3, 8, 8), np.float32), "zero_w")
    table = numpy_helper.from_array(rows, "table")
    nodes = [
        # [batch,1,1,1] of zeros that carries the batch dimension into the output
        helper.make_node("Conv", ["x", "zero_w"], ["zero"]),
        helper.make_node("Add", ["zero", "table"], ["detection_out"]),
    ]
    save(outdir, name, nodes, [image_input()],
         [helper.make_tensor_value_info("detection_out", TensorProto.FLOAT,
                                        ["batch", 1, rows.shape[2], 7])],
         [zero_w, table])


def classifier_model(outdir):
    w = np.zeros((4, 3, 1, 1), np.float32)
    for k in range(3):
        w[k, k, 0, 0] = 1.0
    b = np.array([0, 0, 0, 0.5], np.float32)
    ten = numpy_helper.from_array(np.array(10.0, np.float32), "ten")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"]),
        helper.make_node("GlobalAveragePool", ["c"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Mul", ["f", "ten"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["prob"], axis=1),
    ]
    save(outdir, "cls_tiny", nodes, [image_input()],
         [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["batch", 4])],
         [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"), ten])


def side_model(outdir):
    w = np.zeros((2, 3, 8, 8), np.float32)
    w[0, :, :, :4] = 1.0
    w[0, :, :, 4:] = -1.0
    w[1] = -w[0]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"]),
        helper.make_node("Flatten", ["c"], ["f"], axis=1),
        helper.make_node("Softmax", ["f"], ["prob"], axis=1),
    ]
    save(outdir, "cls_side", nodes, [image_input()],
         [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["batch", 2])],
         [numpy_helper.from_array(w, "w")])


def bad_input_model(outdir):
    save(outdir, "bad_input", [helper.make_node("Relu", ["x"], ["y"])],
         [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])],
         [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_gst_test_models.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    mean_model(outdir)
    detection_model(outdir, "det_fixed", DET_FIXED)
    detection_model(outdir, "det_absurd", DET_ABSURD)
    classifier_model(outdir)
    side_model(outdir)
    bad_input_model(outdir)
    rng = random.Random(1234)
    with open(os.path.join(outdir, "corrupt.onnx"), "wb") as f:
        f.write(bytes(rng.randrange(256) for _ in range(4096)))
    with open(os.path.join(outdir, "labels.txt"), "w") as f:
        f.write("red\ngreen\nblue\ngrey\n")
    with open(os.path.join(outdir, "sides.txt"), "w") as f:
        f.write("left\nright\n")
    with open(os.path.join(outdir, "angles.txt"), "w") as f:
        f.write("0\n180\n")


if __name__ == "__main__":
    main()
