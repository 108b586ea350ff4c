#!/usr/bin/env bash
# Detection on a video file; boxes drawn, FPS printed, one JSON line per frame to OUT.
#
#   pipelines/detect-file.sh FILE [MODEL.onnx [DECODER [LABELS]]] [-o OUT.jsonl]
#
# Defaults: the PaddleOCR text detector (decoder db). For a COCO YOLOv8 export, for example:
#   pipelines/detect-file.sh street.mp4 yolov8n.onnx yolov8 coco.txt
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out=detections.jsonl
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -ge 1 ] || { sed -n '2,8p' "$0"; exit 2; }
file=${args[0]} model=${args[1]:-$det_model} decoder=${args[2]:-db} labels=${args[3]:-}
lens_require_plugin
[ -n "${args[1]:-}" ] || lens_require_ocr_models
eval gst-launch-1.0 -e "$(lens_source "$file")" \
  ! lensdetect model="$model" decoder="$decoder" ${labels:+labels="$labels"} \
  ! lensoverlay ! lensfps ! lensmetaconvert ! lenspublish file-path="$out" ! fakesink
echo "detections written to $out"
