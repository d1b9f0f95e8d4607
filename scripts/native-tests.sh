#!/usr/bin/env bash
# Builds the native core with CMake and runs its C++ tests (gradient checks, layout,
# optimizers): once optimised, once under AddressSanitizer + UndefinedBehaviorSanitizer, and
# the gradient checks once more without OpenMP (what a compiler without it, e.g. Apple
# clang, builds: single-threaded, same results).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
run() {
  local dir=$1; shift
  cmake -S native -B "$dir" "$@" > /dev/null
  cmake --build "$dir" -j "$jobs" --target ${targets:-gradient_check layout_test optimizer_test packed_gemm_test} > /dev/null
  (cd "$dir" && ctest --output-on-failure ${only:+-R "$only"})
}
echo "== native tests (Release)"
run build-native/release -DCMAKE_BUILD_TYPE=Release
echo "== native tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run build-native/sanitize -DCMAKE_BUILD_TYPE=Debug -DRNN_SANITIZE=ON
echo "== gradient checks without OpenMP"
targets=gradient_check only=gradient_check run build-native/no-openmp -DCMAKE_BUILD_TYPE=Release -DRNN_OPENMP=OFF
