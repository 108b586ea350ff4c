#!/usr/bin/env bash
# FPS benchmark: frames as fast as the pipeline takes them (no live pacing) through
# detection, with requests in flight; lensfps prints the rate and the per-stage latency.
#
#   pipelines/fps-bench.sh [-n FRAMES (200)] [--nireq N (2)] [--nthreads N (0: auto)]
#                          [--size WxH (1280x720)] [--format NV12]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
frames=200 nireq=2 nthreads=0 size=1280x720 format=NV12
while [ $# -gt 0 ]; do
  case "$1" in
    -n) frames=$2; shift 2 ;;
    --nireq) nireq=$2; shift 2 ;;
    --nthreads) nthreads=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --format) format=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
lens_require_plugin
lens_require_ocr_models
w=${size%x*} h=${size#*x}
gst-launch-1.0 -e videotestsrc num-buffers="$frames" pattern=ball \
  ! video/x-raw,format="$format",width="$w",height="$h" \
  ! lensdetect model="$det_model" decoder=db nireq="$nireq" nthreads="$nthreads" \
  ! lensfps interval=5 ! fakesink sync=false
