// One level of parallelism at a time: elementwise passes split their rows over the OpenMP
// team; GEMMs are left to Eigen (which uses the same team size). Never nested.
#pragma once

#include "eigen_types.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rnn {

// Below this many scalar operations a parallel region costs more than it saves.
constexpr Index kParallelGrain = 1 << 14;

inline int max_threads() {
#ifdef _OPENMP
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return 1;
#endif
}

// Calls body(begin, end) over disjoint row ranges covering [0, rows).
template <typename Body>
void parallel_rows(Index rows, Index work_per_row, Body&& body) {
  const int threads = max_threads();
  if (threads <= 1 || rows < 2 || rows * work_per_row < kParallelGrain) {
    if (rows > 0) body(Index(0), rows);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const Index k = omp_get_num_threads(), id = omp_get_thread_num();
    const Index begin = rows * id / k, end = rows * (id + 1) / k;
    if (end > begin) body(begin, end);
  }
#endif
}

// Runs body(group, groups) on `groups` threads at once (serially when 1 or without OpenMP).
template <typename Body>
void parallel_groups(int groups, Body&& body) {
#ifdef _OPENMP
  if (groups > 1) {
#pragma omp parallel num_threads(groups)
    body(omp_get_thread_num(), omp_get_num_threads());
    return;
  }
#endif
  body(0, 1);
}

// Thread count for the calling thread's kernels (OpenMP's per-thread setting, which Eigen's
// GEMMs read too). Nothing process-wide: concurrent jobs each keep their own.
void use_threads(int threads);

}  // namespace rnn
