# rnn_isa: "native" is the source build, tuned for the CPU it is built on; "baseline", "avx2"
# and "avx512" are the portable x64 prebuilt variants (x86-64-v2, -v3, -v4) and "armv8" the
# arm64 one (armv8-a: FP and NEON), that scripts/prebuild.mjs builds (arm64 cross-compiled):
# libstdc++/libgcc linked statically, libgomp found beside the binary through $ORIGIN.
{
  "variables": {
    "eigen_include%": "<!(node scripts/find-eigen.js)",
    "rnn_isa%": "native"
  },
  "targets": [
    {
      # The CPU-feature probe (native/probe/cpuid_probe.c): C, plain x86-64, no libraries, so
      # that the loader may run it on any x86-64 CPU before choosing a variant.
      "target_name": "rnn_cpuid",
      "conditions": [
        ["OS=='linux' and target_arch=='x64'", {
          "sources": ["native/probe/cpuid_probe.c"],
          "cflags_c": ["-march=x86-64", "-mtune=generic", "-O2"]
        }, {
          "type": "none"
        }]
      ]
    },
    {
      "target_name": "rnn_node",
      # Every native/core/*.cc, listed at configure time (as CMake's glob does), so that a new
      # cell kind's .cc needs no edit here.
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native/core').filter(f=>f.endsWith('.cc')).sort().map(f=>'native/core/'+f).join(' ')\")",
        "native/binding/addon.cc",
        "native/binding/arguments.cc",
        "native/binding/jobs.cc",
        "native/binding/native_model.cc",
        "native/binding/state_pages.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/core"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        # A call that lands while its Worker or the process is being torn down cannot throw
        # into JavaScript; without this, node-addon-api turns that into std::terminate.
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "EIGEN_MPL2_ONLY",
        "EIGEN_NO_DEBUG",
        "NDEBUG",
        "RNN_NODE_ISA=\"<(rnn_isa)\""
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-Wno-unused-parameter", "-Wno-maybe-uninitialized", "-isystem", "<(eigen_include)"],
      "conditions": [
        ["OS=='linux'", {
          "cflags_cc": ["-fopenmp"],
          "ldflags": ["-fopenmp"]
        }],
        ["OS=='linux' and rnn_isa=='native'", {
          "cflags_cc": ["-march=native"]
        }],
        ["rnn_isa=='baseline'", { "cflags_cc": ["-march=x86-64-v2", "-mtune=generic"] }],
        ["rnn_isa=='avx2'", { "cflags_cc": ["-march=x86-64-v3", "-mtune=generic"] }],
        ["rnn_isa=='avx512'", { "cflags_cc": ["-march=x86-64-v4", "-mtune=generic"] }],
        ["rnn_isa=='armv8'", { "cflags_cc": ["-march=armv8-a", "-mtune=generic"] }],
        # Portable variants: libstdc++ static and kept private (--exclude-libs); libgcc's helper
        # routines static too, but its unwinder from the system's libgcc_s.so.1, which every
        # Node.js process has loaded already, because GCC 12's static unwinder needs glibc
        # 2.35 (_dl_find_object). Hidden visibility: only the N-API entry point is exported.
        ["OS=='linux' and rnn_isa!='native'", {
          "sources": ["native/binding/glibc_compat.cc"],
          "cflags_cc": ["-fvisibility=hidden", "-fvisibility-inlines-hidden"],
          "ldflags": [
            "-static-libstdc++",
            "-Wl,--exclude-libs,ALL",
            "-Wl,-rpath,'$$ORIGIN'",
            "-Wl,--as-needed",
            "-Wl,--version-script=<(module_root_dir)/native/binding/exports.map"
          ]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-isystem", "<(eigen_include)"]
          }
        }]
      ]
    }
  ]
}
