#!/usr/bin/python3
"""Sanity checks for the real-model folders made by scripts/make_real_models.sh, so a broken
generator or golden writer is caught before Lens is blamed for a mismatch:

  * every test_data_set_*/output_<i>.pb parses as a TensorProto (onnx), is named after graph
    output i and has the expected shape;
  * torchvision models: the ORT golden output agrees with torch's own output for the same
    deterministic weights and input (rebuilt via gen_torch_models.build), which also proves the
    JS TensorProto codec in ort_golden.js reads inputs and writes outputs correctly;
  * PP-OCR det: the probability map is high on the rendered text and low elsewhere
    (fraction of pixels > 0.3, inside vs outside the text boxes);
  * PP-OCR cls: the lines are classified as upright (class 0);
  * PP-OCR rec: greedy CTC decoding of the ORT output reads the rendered text back
    (argmax per step, collapse repeats, drop blank 0, index i -> keys[i-1], len(keys)+1 = ' ').

Usage: /usr/bin/python3 scripts/check_real_models.py OUTDIR [--no-torch]
Exits 1 on any failed check.
"""
import glob
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

EXPECTED = {  # folder -> output shapes (test_data_set_0)
    "resnet50": [(1, 1000)],
    "mobilenet_v2": [(1, 1000)],
    "squeezenet1_1": [(1, 1000)],
    "ssdlite320_mobilenet_v3_large": [(1, 3234, 4), (1, 3234, 91)],
    "mobilenet_v2_dynbatch_b3": [(3, 1000)],
    "ppocr_det": [(1, 1, 640, 640)],
    "ppocr_cls": [(1, 2)],
    "ppocr_rec": [(1, 40, 6625)],
}
failures = []


def fail(msg):
    failures.append(msg)
    print(f"check: FAIL {msg}")


def load_outputs(folder, k=0):
    d = os.path.join(folder, f"test_data_set_{k}")
    files = sorted(glob.glob(os.path.join(d, "output_*.pb")),
                   key=lambda p: int(p.rsplit("_", 1)[1].split(".")[0]))
    return [onnx.load_tensor(p) for p in files]


def check_shapes(outdir):
    for name in sorted(os.listdir(outdir)):
        folder = os.path.join(outdir, name)
        if not os.path.isfile(os.path.join(folder, "model.onnx")):
            continue
        graph_outs = [o.name for o in onnx.load(os.path.join(folder, "model.onnx"),
                                                load_external_data=False).graph.output]
        for d in sorted(glob.glob(os.path.join(folder, "test_data_set_*"))):
            k = int(d.rsplit("_", 1)[1])
            outs = load_outputs(folder, k)
            shapes = [tuple(onnx.numpy_helper.to_array(t).shape) for t in outs]
            names = [t.name for t in outs]
            desc = ", ".join(f"{n}{list(s)}" for n, s in zip(names, shapes))
            print(f"check: {name}/test_data_set_{k}: {desc}")
            if names != graph_outs:
                fail(f"{name}/{k}: output names {names} != graph outputs {graph_outs}")
            if name in EXPECTED and shapes != EXPECTED[name]:
                fail(f"{name}/{k}: shapes {shapes} != expected {EXPECTED[name]}")
    missing = [n for n in EXPECTED if not os.path.isdir(os.path.join(outdir, n))]
    if missing:
        fail(f"missing folders {missing}")


def check_torch(outdir):
    import torch
    import gen_torch_models as g
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    for name in g.MODELS:
        folder = os.path.join(outdir, name)
        if not os.path.isdir(folder):
            continue
        model, x = g.build(name)
        fed = onnx.numpy_helper.to_array(
            onnx.load_tensor(os.path.join(folder, "test_data_set_0", "input_0.pb")))
        if not np.array_equal(fed, x):
            fail(f"{name}: input_0.pb differs from the deterministic input (stale folder?)")
            continue
        with torch.no_grad():
            ref = model(torch.from_numpy(x))
        ref = [ref] if isinstance(ref, torch.Tensor) else list(ref)
        got = [onnx.numpy_helper.to_array(t) for t in load_outputs(folder)]
        for i, (r, o) in enumerate(zip(ref, got)):
            r = r.numpy()
            err = float(np.abs(r - o).max())
            scale = float(np.abs(r).max())
            ok = r.shape == o.shape and err <= 1e-4 * max(scale, 1.0)
            print(f"check: {name} output {i}: ORT vs torch max|diff| {err:.2e} "
                  f"(max|ref| {scale:.3g}) {'ok' if ok else 'MISMATCH'}")
            if not ok:
                fail(f"{name} output {i}: ORT vs torch max|diff| {err:.3g}, scale {scale:.3g}")


def check_det(outdir):
    import gen_ocr_inputs as ocr
    prob = onnx.numpy_helper.to_array(load_outputs(os.path.join(outdir, "ppocr_det"))[0])[0, 0]
    _, boxes = ocr.render_page()
    mask = np.zeros(prob.shape, bool)
    for l, t, r, b in boxes:
        mask[t:b, l:r] = True
    hot = prob > 0.3
    inside, outside = hot[mask].mean(), hot[~mask].mean()
    print(f"check: ppocr_det: fraction of pixels > 0.3: {hot.mean():.4f} overall, "
          f"{inside:.3f} inside the {len(boxes)} text boxes, {outside:.4f} outside")
    for (text, *_), (l, t, r, b) in zip(ocr.LINES, boxes):
        print(f"check:   {text!r:24} box {l},{t}-{r},{b}: {hot[t:b, l:r].mean():.3f} > 0.3, "
              f"max prob {prob[t:b, l:r].max():.3f}")
    if not (inside > 0.3 and outside < 0.02):
        fail(f"ppocr_det: text not found (inside {inside:.3f}, outside {outside:.4f})")


def ctc_greedy(probs, keys):
    idx, p = probs.argmax(-1), probs.max(-1)
    out, conf, prev = [], [], -1
    for i, q in zip(idx, p):
        if i != prev and i != 0:
            out.append(" " if i == len(keys) + 1 else keys[i - 1])
            conf.append(q)
        prev = i
    return "".join(out), float(np.mean(conf)) if conf else 0.0


def check_ocr_lines(outdir):
    rec = os.path.join(outdir, "ppocr_rec")
    cls = os.path.join(outdir, "ppocr_cls")
    with open(os.path.join(rec, "ppocr_keys_v1.txt"), encoding="utf-8") as f:
        keys = f.read().splitlines()
    with open(os.path.join(rec, "labels.txt"), encoding="utf-8") as f:
        labels = f.read().splitlines()
    for k, label in enumerate(labels):
        probs = onnx.numpy_helper.to_array(load_outputs(rec, k)[0])[0]
        text, conf = ctc_greedy(probs, keys)
        ok = text == label
        print(f"check: ppocr_rec set {k}: reads {text!r} (mean prob {conf:.3f}), "
              f"rendered {label!r}: {'ok' if ok else 'MISMATCH'}")
        if not ok:
            fail(f"ppocr_rec set {k}: read {text!r}, expected {label!r}")
        c = onnx.numpy_helper.to_array(load_outputs(cls, k)[0])[0]
        print(f"check: ppocr_cls set {k}: p(0 deg)={c[0]:.4f} p(180 deg)={c[1]:.2e}")
        if c.argmax() != 0:
            fail(f"ppocr_cls set {k}: upright line classified as rotated {c}")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    outdir = args[0]
    check_shapes(outdir)
    if "--no-torch" not in sys.argv:
        check_torch(outdir)
    check_det(outdir)
    check_ocr_lines(outdir)
    if failures:
        print(f"check: {len(failures)} check(s) failed")
        sys.exit(1)
    print("check: all checks passed")


if __name__ == "__main__":
    main()
