#!/usr/bin/env bash
# Installs every Debian package Lens needs to build, test and benchmark.
# Runs as root on a fresh Debian 12; safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential clang libclang-rt-14-dev pkg-config meson ninja-build git ca-certificates
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev libonnx-testdata
  python3 python3-onnx python3-numpy python3-torch python3-torchvision python3-pil
  fonts-dejavu-core valgrind
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-tools libjson-glib-dev libcairo2-dev
  gstreamer1.0-x
  pocl-opencl-icd ocl-icd-opencl-dev opencl-c-headers clinfo
)

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

# Node.js is only needed for the npm packages (models, the ONNX Runtime peer).
# Keep an existing install (e.g. from another repository) rather than fight it.
if ! command -v npm >/dev/null 2>&1; then
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
echo "setup: Debian packages installed"
