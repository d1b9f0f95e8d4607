#include "parallel.h"

namespace rnn {

void use_threads(int threads) {
  if (threads < 1) threads = 1;
#ifdef _OPENMP
  // omp_set_num_threads only sets the calling thread's value, so every entry point that may
  // run on a fresh (libuv pool) thread calls this first.
  omp_set_num_threads(threads);
#endif
  Eigen::setNbThreads(threads);
}

}  // namespace rnn
