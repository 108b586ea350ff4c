#!/bin/sh
# Generates the hostile models into OUTDIR, then runs the loader test over them.
#   run_hostile.sh OUTDIR GENERATOR TEST_BINARY [FUZZ_DRIVER]
# With FUZZ_DRIVER (the standalone fuzz_loader), also runs it over the generated models and
# their mutations. Exits 77 (skipped) when /usr/bin/python3 cannot import onnx.
set -eu
if [ $# -lt 3 ]; then
  echo "usage: $0 OUTDIR GENERATOR TEST_BINARY [FUZZ_DRIVER]" >&2
  exit 2
fi
outdir=$1
generator=$2
test_binary=$3
fuzz_driver=${4:-}
python=${LENS_PYTHON:-/usr/bin/python3}
if ! "$python" -c 'import onnx, numpy' >/dev/null 2>&1; then
  echo "SKIP: $python cannot import onnx and numpy (Debian: python3-onnx python3-numpy)"
  exit 77
fi
"$python" "$generator" "$outdir"
# Under ASan, a huge malloc returns NULL instead of succeeding lazily (see the harness's
# address-space cap): a loader that allocates before validating then fails its case.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1:max_allocation_size_mb=4096"
export ASAN_OPTIONS
status=0
"$test_binary" "$outdir" || status=$?
if [ -n "$fuzz_driver" ]; then
  "$fuzz_driver" "$outdir" || status=$?
fi
exit $status
