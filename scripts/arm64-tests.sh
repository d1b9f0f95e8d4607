#!/usr/bin/env bash
# The native core cross-compiled for linux-arm64 (armv8-a, NEON) and its C++ tests run under
# qemu-user-static: the gradient checks, the cell tests and the GEMM tests, which cover the
# kernels an Arm build uses (Eigen's NEON paths; the x86 micro-kernels are compiled out) and
# the int8 kernels 'neon' and 'neon-dot' against the portable path, bit for bit: packed_gemm_test
# runs with QEMU_CPU=max (has asimddp: both kernels) and, as packed_gemm_test_armv8_0, with
# QEMU_CPU=cortex-a57 (no asimddp: the run-time choice falls back to neon); native/CMakeLists.txt.
# Emulation proves correctness only, not speed. Needs g++-aarch64-linux-gnu, qemu-user-static
# and the *-arm64-cross runtime libraries (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-native/arm64
cmake -S native -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$PWD/native/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DRNN_NATIVE_ARCH=OFF -DCMAKE_CXX_FLAGS=-march=armv8-a > /dev/null
cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" --target gradient_check cell_test packed_gemm_test layout_test > /dev/null
readelf -h "$dir/gradient_check" | grep -q 'AArch64' || { echo "arm64-tests: $dir/gradient_check is not an arm64 binary" >&2; exit 1; }
(cd "$dir" && ctest --output-on-failure -R 'gradient_check|cell_test|packed_gemm_test|layout_test')
