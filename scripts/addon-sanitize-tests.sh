#!/usr/bin/env bash
# The Node addon built Debug with AddressSanitizer and UndefinedBehaviorSanitizer (CMake,
# RNN_ADDON=ON), loaded by Node through RNN_NODE_BINARY, running the suites that push bad
# input through the binding and load it in worker_threads: the layer that reads JavaScript
# memory, under the sanitizers. (Eigen at -O0 is too slow for the training-heavy suites.)
#
# Node itself is not built with ASan, so the runtime is preloaded, and leak detection is off
# (V8 keeps allocations alive to the end by design). UBSan stops at the first report.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build-native/addon-sanitize
cmake -S native -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DRNN_SANITIZE=ON -DRNN_ADDON=ON > /dev/null
cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" --target rnn_node > /dev/null
asan=$(${CXX:-g++} -print-file-name=libasan.so)
if [ ! -e "$asan" ]; then echo "addon-sanitize-tests: libasan.so not found (g++ -print-file-name=libasan.so)" >&2; exit 1; fi
export LD_PRELOAD="$asan"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export RNN_NODE_BINARY="$PWD/$dir/rnn_node.node"
# The suites must really run on this build: say which binary loads, and stop if it is another.
node -e "const b = require('./dist/index.js').backendInfo(); console.log('addon-sanitize-tests: ' + b.binary + ' (' + b.isa + ', ' + b.decidedBy + ')'); if (b.isa !== 'cmake') process.exit(1);"
npx vitest run test/bad-input.integration.test.ts test/worker-threads.integration.test.ts test/native-errors.integration.test.ts test/cpu-probe.integration.test.ts
