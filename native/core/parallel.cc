#include "parallel.h"

namespace rnn {

void use_threads(int threads) {
  if (threads < 1) threads = 1;
#ifdef _OPENMP
  // omp_set_num_threads only sets the calling thread's value, so every entry point that may
  // run on a fresh (libuv pool) thread calls this first. Eigen's GEMMs follow it too: left
  // unset, Eigen::nbThreads() is omp_get_max_threads() of the calling thread.
  // (Eigen::setNbThreads would be one process-wide value that concurrent jobs race on.)
  omp_set_num_threads(threads);
#endif
}

}  // namespace rnn
