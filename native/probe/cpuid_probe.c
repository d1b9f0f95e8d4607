/*
 * The CPU-feature probe: a tiny N-API addon that runs CPUID and XGETBV and nothing else, so
 * the loader can choose a prebuilt variant from what the CPU itself reports. It is compiled
 * for plain x86-64 (no SSE3 and up, see binding.gyp), in C, with no libraries beyond libc, so
 * loading it is safe on every x86-64 CPU, including ones the baseline variant cannot run on.
 * Decoding the registers into features is done in TypeScript (src/native/cpu-features.ts), where it
 * is tested against recorded values of real CPUs.
 *
 *   cpuid(leaf, subleaf) -> [eax, ebx, ecx, edx]   (unsigned 32-bit numbers)
 *   xgetbv()             -> [low, high] of XCR0, or null when the OS has not set
 *                           CR4.OSXSAVE (CPUID.1:ECX bit 27): XGETBV would fault then.
 */
#define NAPI_VERSION 8
#include <cpuid.h>
#include <node_api.h>
#include <stdint.h>

static napi_value make_uint32_array(napi_env env, const uint32_t* values, uint32_t count) {
  napi_value array;
  if (napi_create_array_with_length(env, count, &array) != napi_ok) return NULL;
  for (uint32_t i = 0; i < count; ++i) {
    napi_value number;
    if (napi_create_uint32(env, values[i], &number) != napi_ok) return NULL;
    if (napi_set_element(env, array, i, number) != napi_ok) return NULL;
  }
  return array;
}

/* Reads argument `index` as an unsigned 32-bit integer; throws a TypeError naming it otherwise. */
static int read_uint32(napi_env env, napi_value* args, size_t argc, size_t index, const char* name,
                       uint32_t* out) {
  double value;
  if (index >= argc || napi_get_value_double(env, args[index], &value) != napi_ok || !(value >= 0) ||
      value > 4294967295.0 || value != (double)(uint32_t)value) {
    napi_throw_type_error(env, NULL, name);
    return 0;
  }
  *out = (uint32_t)value;
  return 1;
}

static napi_value cpuid(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok) return NULL;
  uint32_t leaf, subleaf, regs[4];
  if (!read_uint32(env, args, argc, 0, "Expected an unsigned 32-bit integer for leaf", &leaf)) return NULL;
  if (!read_uint32(env, args, argc, 1, "Expected an unsigned 32-bit integer for subleaf", &subleaf)) return NULL;
  /* CPUID returns the highest basic leaf's data for leaves above it on Intel, zeros on AMD:
   * the caller compares against leaf 0 / 0x80000000 first, so either is harmless here. */
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
  return make_uint32_array(env, regs, 4);
}

static napi_value xgetbv(napi_env env, napi_callback_info info) {
  (void)info;
  uint32_t a, b, c, d;
  __cpuid(1, a, b, c, d);
  if (!(c & (1u << 27))) {
    napi_value null_value;
    napi_get_null(env, &null_value);
    return null_value;
  }
  uint32_t xcr0[2];
  /* XGETBV with ECX = 0 reads XCR0: which register states the OS saves on a context switch. */
  __asm__ volatile("xgetbv" : "=a"(xcr0[0]), "=d"(xcr0[1]) : "c"(0));
  return make_uint32_array(env, xcr0, 2);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"cpuid", NULL, cpuid, NULL, NULL, NULL, napi_enumerable, NULL},
      {"xgetbv", NULL, xgetbv, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, 2, properties) != napi_ok) return NULL;
  return exports;
}
