#!/bin/sh
# Runs the real models (made by scripts/make_real_models.sh) through lens-run and compares
# them with ONNX Runtime's outputs at rtol 1e-3 / atol 1e-4. With LENS_CPU_ISA set, it also
# checks that lens-run ran the kernels of that instruction set.
#   run_real_models.sh LENS_RUN MODELS_DIR [lens-run options...]
lens_run=$1
dir=$2
shift 2
if [ ! -d "$dir" ] || [ -z "$(ls "$dir" 2>/dev/null)" ]; then
  echo "no real models in $dir: run scripts/make_real_models.sh"
  exit 77
fi
if [ -z "${LENS_CPU_ISA:-}" ]; then
  exec "$lens_run" --rtol 1e-3 --atol 1e-4 "$@" "$dir"/*/
fi
# a capped run must have run the capped kernels (lens-run names them first)
out=$("$lens_run" --rtol 1e-3 --atol 1e-4 "$@" "$dir"/*/)
status=$?
printf '%s\n' "$out"
if ! printf '%s\n' "$out" | grep -qx "CPU kernels: $LENS_CPU_ISA"; then
  echo "LENS_CPU_ISA=$LENS_CPU_ISA, but lens-run did not run those kernels"
  echo "0 passed, 1 failed"
  exit 1
fi
exit $status
