// A tiny test harness: TEST(name) registers a case, CHECK records failures, main() runs
// everything and ends with the line "N passed, N failed".
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace check {

struct Case {
  const char* name;
  std::function<void()> body;
};

inline std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}
inline int& failures() {
  static int count = 0;
  return count;
}

struct Register {
  Register(const char* name, std::function<void()> body) { registry().push_back({name, body}); }
};

inline int run_all() {
  int passed = 0, failed = 0;
  for (const Case& c : registry()) {
    const int before = failures();
    c.body();
    if (failures() == before) {
      ++passed;
      std::printf("ok   %s\n", c.name);
    } else {
      ++failed;
      std::printf("FAIL %s\n", c.name);
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace check

#define CHECK_CONCAT2(a, b) a##b
#define CHECK_CONCAT(a, b) CHECK_CONCAT2(a, b)
#define TEST(name)                                                         \
  static void name();                                                      \
  static check::Register CHECK_CONCAT(register_, name)(#name, name);       \
  static void name()
#define CHECK(cond, ...)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      ++check::failures();                                                 \
      std::printf("  %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                            \
      std::printf("\n");                                                   \
    }                                                                      \
  } while (0)
#define TEST_MAIN() \
  int main() { return check::run_all(); }
