#!/bin/sh
# Runs the real models (made by scripts/make_real_models.sh) through lens-run and compares
# them with ONNX Runtime's outputs at rtol 1e-3 / atol 1e-4.
#   run_real_models.sh LENS_RUN MODELS_DIR [lens-run options...]
lens_run=$1
dir=$2
shift 2
if [ ! -d "$dir" ] || [ -z "$(ls "$dir" 2>/dev/null)" ]; then
  echo "no real models in $dir: run scripts/make_real_models.sh"
  exit 77
fi
exec "$lens_run" --rtol 1e-3 --atol 1e-4 "$@" "$dir"/*/
