#!/usr/bin/env bash
# Several live streams sharing one loaded model (model-instance-id): each branch has its own
# lensdetect, all backed by one model and its sessions; lensfps prints per-stream and total
# FPS.
#
#   pipelines/multi-stream.sh [STREAMS (default 4)] [-n FRAMES (default 50 per stream)]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
streams=4 frames=50
while [ $# -gt 0 ]; do
  case "$1" in
    -n) frames=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) streams=$1; shift ;;
  esac
done
lens_require_plugin
lens_require_ocr_models
branches=""
for i in $(seq 1 "$streams"); do
  branches+=" $(lens_source "" "$frames") ! lensdetect model=$det_model decoder=db"
  branches+=" model-instance-id=shared-text-detector nireq=2 ! lensfps name=stream$i ! mix."
done
eval gst-launch-1.0 -e funnel name=mix ! lensfps name=total ! fakesink sync=false $branches
