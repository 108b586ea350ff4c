#!/usr/bin/env bash
# Full-frame classification: by default the PaddleOCR direction classifier on a line of
# rendered text, upright or (with --flip) upside down; it prints "0" or "180" per frame.
#
#   pipelines/classify.sh [--flip] [-n FRAMES] [SOURCE [MODEL.onnx LABELS]]
#
# The direction classifier was trained on crops the text detector makes, one line of text
# filling the frame; the test source is sized to match.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
flip="" frames=20 args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --flip) flip="! video/x-raw ! videoflip video-direction=180"; shift ;;
    -n) frames=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
src=${args[0]:-} model=${args[1]:-$cls_model} labels=${args[2]:-$cls_labels}
lens_require_plugin
[ -n "${args[1]:-}" ] || lens_require_ocr_models
if [ -z "$src" ]; then
  source_fragment="videotestsrc is-live=true pattern=white num-buffers=$frames \
    ! video/x-raw,width=224,height=56,framerate=5/1 \
    ! textoverlay text=\"Lens 2026\" font-desc=\"Sans 36\" color=0xff000000 \
      draw-outline=false draw-shadow=false halignment=center valignment=center"
else
  source_fragment=$(lens_source "$src" "$frames")
fi
eval gst-launch-1.0 -q -e "$source_fragment" $flip \
  ! lensclassify name=direction model="$model" labels="$labels" inference-region=full-frame \
    resize=aspect-pad-right mean=127.5 scale=0.0078431 \
  ! lensmetaconvert ! lenspublish ! fakesink \
  | /usr/bin/python3 -u -c '
import json, sys
for line in sys.stdin:
    if not line.startswith("{"):
        print(line, end="")
        continue
    for obj in json.loads(line).get("objects", []):
        c = obj.get("classifications", {}).get("direction")
        if c:
            print("%s (%.3f)" % (c["label"], c["confidence"]))'
