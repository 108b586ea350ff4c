#!/usr/bin/env bash
# Live detection from a camera, shown on screen with boxes and FPS.
#
#   pipelines/detect-camera.sh [/dev/videoN [MODEL.onnx [DECODER [LABELS]]]]
#
# Defaults: /dev/video0 and the PaddleOCR text detector (decoder db).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dev=${1:-/dev/video0} model=${2:-$det_model} decoder=${3:-db} labels=${4:-}
lens_require_plugin
[ -n "${2:-}" ] || lens_require_ocr_models
[ -e "$dev" ] || { echo "no camera at $dev" >&2; exit 1; }
eval gst-launch-1.0 -e "$(lens_source "$dev")" \
  ! lensdetect model="$model" decoder="$decoder" ${labels:+labels="$labels"} \
  ! lensoverlay show-fps=true ! lensfps ! videoconvert ! autovideosink sync=false
