#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for rnn-node development: the system packages the build,
# the tests and the demo need (as root, or through sudo), then the npm dependencies, which
# also build the native addon (node-gyp) and the TypeScript (prepare).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# The fortunes and word lists are the text tasks of the tests (language identification,
# the initialiser check against PyTorch's committed figure); the arm64 cross compiler, its
# runtime libraries and qemu run the core's tests for linux-arm64 (scripts/arm64-tests.sh);
# Chromium (with a font) opens the HTML reports in the browser test, driven by playwright-core;
# redis-server is the real Redis the work-queue test starts on a loopback port; graphviz draws
# the dependency graph of docs/ARCHITECTURE.md (npm run graph:deps).
packages=(g++ make cmake python3 libeigen3-dev dataset-fashion-mnist fortunes fortunes-de fortunes-es fortunes-it fortunes-pl fortunes-br
  wamerican wfrench wngerman wspanish witalian wportuguese wdutch wpolish wswedish
  g++-aarch64-linux-gnu qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross libgomp1-arm64-cross
  chromium fonts-liberation redis-server graphviz)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# node-gyp builds with one make job unless told otherwise.
JOBS=${JOBS:-max} ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
