#!/bin/sh
# The real models on -d gpu in fp16 against ONNX Runtime's fp32 outputs. fp16 error grows
# with the values, so the budget is relative to each output's range (max - min of ONNX
# Runtime's values): 5% for every model but ppocr_det, whose sigmoid probability map sits on
# steep logits at text edges (15%; fp32 matches it to 1e-4).
#   run_real_models_fp16.sh LENS_RUN MODELS_DIR [lens-run options...]
lens_run=$1
dir=$2
shift 2
if [ ! -d "$dir" ] || [ -z "$(ls "$dir" 2>/dev/null)" ]; then
  echo "no real models in $dir: run scripts/make_real_models.sh"
  exit 77
fi
rc=0
for m in "$dir"/*/; do
  tol=0.05
  case "$m" in */ppocr_det/) tol=0.15 ;; esac
  "$lens_run" -d gpu -p fp16 --range-tol "$tol" "$@" "$m" || rc=1
done
exit $rc
