#!/usr/bin/env bash
# Builds Lens, prepares the real models and their ONNX Runtime golden outputs, runs every
# test suite and prints one summary line "N passed, N failed, N skipped" counted from the
# results each test program reports.
set -uo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
bash scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }
if ! bash scripts/make_real_models.sh; then
  echo "test.sh: preparing the real models failed; their tests will fail" >&2
fi
meson test -C "$build_dir" --print-errorlogs --num-processes 2 "$@"
status=$?
/usr/bin/python3 scripts/count_results.py "$build_dir/meson-logs/testlog.json"
count_status=$?
[ $status -eq 0 ] && [ $count_status -eq 0 ]
