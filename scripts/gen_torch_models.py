#!/usr/bin/python3
"""Exports real torchvision networks to ONNX, in ONNX's test-folder layout, so Lens can be
checked against ONNX Runtime on whole models (the golden outputs are written afterwards by
scripts/ort_golden.js).

Usage: /usr/bin/python3 scripts/gen_torch_models.py OUTDIR [NAME ...]
  (Debian's python3-torch/-torchvision/-onnx are visible to /usr/bin/python3 only.)

Writes, for each model NAME:
  OUTDIR/NAME/model.onnx                   opset 13, eval mode
  OUTDIR/NAME/test_data_set_0/input_0.pb   TensorProto named after the graph input

Weights are random but deterministic (torch.manual_seed per model); no pretrained weights are
downloaded. Freshly initialised BatchNorm layers have running mean 0 / var 1, which makes them
near-identities and lets bugs in BN handling (folding, eps, mean/var order) go unnoticed, so the
running statistics are first calibrated on a few deterministic random batches (train-mode
forward passes with cumulative averaging, no gradient). That also keeps activations in a
realistic range instead of growing layer after layer. Inputs are deterministic numpy random
data (fixed seed per model).

Models:
  resnet50, mobilenet_v2, squeezenet1_1     1x3x224x224
  ssdlite320_mobilenet_v3_large             1x3x320x320, backbone + SSD head only (no in-graph
                                            transform / anchor decoding / NMS): outputs the raw
                                            bbox_regression [1,N,4] and cls_logits [1,N,91]
  mobilenet_v2_dynbatch_b3                  mobilenet_v2 exported with a symbolic batch dim
                                            "batch" (traced at batch 1), test input at batch 3
"""
import os
import sys
import time

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torchvision

OPSET = 13


class SSDRawHead(torch.nn.Module):
    """SSDlite without torchvision's GeneralizedRCNNTransform and post-processing: the input is
    an already-normalised 320x320 image, the outputs are the head's raw tensors."""

    def __init__(self, ssd):
        super().__init__()
        self.backbone = ssd.backbone
        self.head = ssd.head

    def forward(self, x):
        feats = self.backbone(x)
        feats = list(feats.values()) if isinstance(feats, dict) else [feats]
        out = self.head(feats)
        return out["bbox_regression"], out["cls_logits"]


def build_ssdlite():
    ssd = torchvision.models.detection.ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None)
    return SSDRawHead(ssd)


# name -> (constructor, input shape of the test data, output names, dynamic batch)
MODELS = {
    "resnet50": (lambda: torchvision.models.resnet50(weights=None),
                 (1, 3, 224, 224), ["output"], False),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(weights=None),
                     (1, 3, 224, 224), ["output"], False),
    "squeezenet1_1": (lambda: torchvision.models.squeezenet1_1(weights=None),
                      (1, 3, 224, 224), ["output"], False),
    "ssdlite320_mobilenet_v3_large": (build_ssdlite, (1, 3, 320, 320),
                                      ["bbox_regression", "cls_logits"], False),
    "mobilenet_v2_dynbatch_b3": (lambda: torchvision.models.mobilenet_v2(weights=None),
                                 (3, 3, 224, 224), ["output"], True),
}


def seed_for(name):
    # Stable across runs and Python versions (unlike hash()).
    return sum((i + 1) * ord(c) for i, c in enumerate(name)) % (2**31)


def calibrate_bn(model, shape, seed, batches=2, batch=4):
    """Sets BatchNorm running stats from random data: cumulative average (momentum=None)."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    g = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn((batch,) + tuple(shape[1:]), generator=g))


def build(name):
    """Returns (model in eval mode, test input as numpy). Deterministic: also used by
    scripts/check_real_models.py to compare torch's own output with the ORT golden output."""
    ctor, shape, _, _ = MODELS[name]
    # Same weights for mobilenet_v2 and its dynamic-batch twin.
    wseed = seed_for(name.replace("_dynbatch_b3", ""))
    torch.manual_seed(wseed)
    model = ctor()
    calibrate_bn(model, shape, wseed + 1)
    model.eval()
    rng = np.random.RandomState(seed_for(name) + 7)
    x = rng.standard_normal(shape).astype(np.float32)
    return model, x


def export(name, outdir):
    _, shape, out_names, dynamic = MODELS[name]
    t0 = time.time()
    model, x = build(name)

    folder = os.path.join(outdir, name)
    data_dir = os.path.join(folder, "test_data_set_0")
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(folder, "model.onnx")

    trace_shape = (1,) + tuple(shape[1:]) if dynamic else shape
    dummy = torch.zeros(trace_shape)
    kwargs = {}
    if dynamic:
        kwargs["dynamic_axes"] = {"input": {0: "batch"}, **{o: {0: "batch"} for o in out_names}}
    with torch.no_grad():
        torch.onnx.export(model, dummy, path, opset_version=OPSET, input_names=["input"],
                          output_names=out_names, do_constant_folding=True, **kwargs)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    in_name = m.graph.input[0].name

    tp = onnx.numpy_helper.from_array(x, name=in_name)
    with open(os.path.join(data_dir, "input_0.pb"), "wb") as f:
        f.write(tp.SerializeToString())

    def dims(vi):
        return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]

    print(f"gen_torch_models: {path} ({os.path.getsize(path) / 1e6:.1f} MB, "
          f"{len(m.graph.node)} nodes, {time.time() - t0:.1f} s) "
          f"in {in_name}{dims(m.graph.input[0])} "
          f"out {', '.join(o.name + str(dims(o)) for o in m.graph.output)}; "
          f"input_0.pb {list(x.shape)}", flush=True)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s): {unknown}; known: {list(MODELS)}")
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    for n in names:
        export(n, outdir)


if __name__ == "__main__":
    main()
