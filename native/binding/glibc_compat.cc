// Keeps the prebuilt binaries loadable on glibc 2.34 (RHEL 9, Ubuntu 22.04, Debian 12,
// Amazon Linux 2023). Only the portable variant builds compile this file (binding.gyp).
//
// The statically linked libstdc++ carries std::random_device, which this library never uses
// but which comes along with std::string's exception support; on a glibc 2.36 build machine
// it references arc4random (new in glibc 2.36). Defining it here, hidden, satisfies that
// reference inside the binary, so the dynamic symbol table asks nothing newer than 2.34 of
// the system. getentropy (glibc 2.25) gives the same kernel randomness.
#if defined(__linux__)
#include <unistd.h>

#include <cstdint>

extern "C" __attribute__((visibility("hidden"))) std::uint32_t arc4random(void) {
  std::uint32_t value = 0;
  while (getentropy(&value, sizeof value) != 0) {
  }
  return value;
}
#endif
