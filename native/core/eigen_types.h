// Row-major Eigen views over flat buffers. All data in the core is row-major so that JS
// typed arrays, checkpoints and Keras/tfjs weight layouts map onto it without copies.
#pragma once

#include <Eigen/Core>
#include <vector>

namespace rnn {

using Index = Eigen::Index;

template <typename T>
using MatrixR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MapR = Eigen::Map<MatrixR<T>>;
template <typename T>
using ConstMapR = Eigen::Map<const MatrixR<T>>;
template <typename T>
using RowVectorMap = Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>;
template <typename T>
using ConstRowVectorMap = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;

// Every buffer the kernels touch is allocated with Eigen's maximum alignment: vectorized
// reductions then take the same path on every run, so results are bit-reproducible (a
// plain std::vector's address, and with it the summation order, varies between runs).
template <typename T>
using Buffer = std::vector<T, Eigen::aligned_allocator<T>>;

}  // namespace rnn
