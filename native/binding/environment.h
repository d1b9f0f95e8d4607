// What the addon keeps per Node.js environment (the main thread and each worker_threads
// Worker load their own instance of the addon): settings that JavaScript scopes to its own
// isolate must not be process-global here, or one Worker's setNumThreads would change
// another's. Stored as N-API instance data, which Node deletes when the environment is torn
// down (our cleanup hook).
#pragma once

#include <napi.h>

namespace rnn_binding {

struct EnvironmentData {
  int default_threads = 1;  // threads a call uses when it names none (setNumThreads)
};

// This environment's data; created by the module's init.
inline EnvironmentData& environment(Napi::Env env) { return *env.GetInstanceData<EnvironmentData>(); }

}  // namespace rnn_binding
