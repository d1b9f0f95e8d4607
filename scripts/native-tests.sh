#!/usr/bin/env bash
# Builds the native core with CMake and runs its C++ tests (gradient checks, layout,
# optimizers, GEMM kernels): once optimised, once under AddressSanitizer +
# UndefinedBehaviorSanitizer, then the kernels of the prebuilt variants, and without OpenMP
# (what a compiler without it, e.g. Apple clang, builds: single-threaded, same results).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
run() {
  local dir=$1; shift
  cmake -S native -B "$dir" "$@" > /dev/null
  cmake --build "$dir" -j "$jobs" --target ${targets:-gradient_check layout_test optimizer_test packed_gemm_test cell_test} > /dev/null
  (cd "$dir" && ctest --output-on-failure ${only:+-R "$only"})
}
echo "== native tests (Release)"
run build-native/release -DCMAKE_BUILD_TYPE=Release
echo "== native tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run build-native/sanitize -DCMAKE_BUILD_TYPE=Debug -DRNN_SANITIZE=ON
# The prebuilt variants compile other kernels than this machine's native build: the AVX2+FMA
# micro-kernels (x86-64-v3) and the SSE2 ones (x86-64-v2). Their GEMM tests run here too,
# the AVX2 build also without OpenMP.
echo "== without OpenMP, AVX2 kernels (x86-64-v3): gradient checks and GEMM tests"
targets="gradient_check packed_gemm_test" only="gradient_check|packed_gemm_test" \
  run build-native/v3-no-openmp -DCMAKE_BUILD_TYPE=Release -DRNN_OPENMP=OFF -DRNN_NATIVE_ARCH=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v3
echo "== baseline kernels (x86-64-v2): GEMM tests"
targets=packed_gemm_test only=packed_gemm_test \
  run build-native/v2 -DCMAKE_BUILD_TYPE=Release -DRNN_NATIVE_ARCH=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v2
