#!/usr/bin/env bash
# Reads text from live video: PaddleOCR text detection -> direction classification ->
# recognition, boxes and text drawn on the frames, FPS counted, one JSON line per frame.
#
#   pipelines/read-text.sh [-n FRAMES] [--json] [--display] [SOURCE]
#
# SOURCE: nothing (a live test source that renders the changing wall clock), a camera
# (/dev/video0) or a video file. -n stops after FRAMES frames (default 50 for the test
# source, 0 = run until EOS or Ctrl-C). --json prints the raw JSON lines instead of a
# summary per frame; --display shows the annotated video.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

frames="" json=0 display=0 src=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) frames=$2; shift 2 ;;
    --json) json=1; shift ;;
    --display) display=1; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) src=$1; shift ;;
  esac
done
[ -n "$frames" ] || { [ -z "$src" ] && frames=50 || frames=0; }
lens_require_plugin
lens_require_ocr_models

sink="fakesink sync=false"
[ $display = 1 ] && sink="videoconvert ! autovideosink"

pipeline="$(lens_source "$src" "$frames")
  ! lensdetect name=det model=$det_model decoder=db threshold=0.5
  ! lensclassify name=direction model=$cls_model decoder=softmax inference-region=roi-list
      labels=$cls_labels resize=aspect-pad-right mean=127.5 scale=0.0078431
  ! lensclassify name=text model=$rec_model decoder=ctc inference-region=roi-list
      labels=$rec_keys flip-if=direction:180
  ! lensoverlay ! lensfps interval=2 ! lensmetaconvert ! lenspublish ! $sink"

# -q keeps gst-launch's own chatter out of the lines lenspublish and lensfps print
if [ $json = 1 ]; then
  eval gst-launch-1.0 -q -e $pipeline
else
  eval gst-launch-1.0 -q -e $pipeline | /usr/bin/python3 -u "$here/summarize.py"
fi
