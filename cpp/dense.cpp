#include "steepest/dense.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "steepest/bfloat16.h"
#include "steepest/gemm.h"
#include "steepest/thread_pool.h"

namespace steepest {
namespace {

// Element-wise passes are split into tasks of this many elements (rounded to whole rows or
// to columns a multiple of every vector width): smaller ones stay on the calling thread.
constexpr index_t kElementsPerTask = 1 << 15;

index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// Calls f(row_begin, row_end) over tasks of whole rows.
template <class F>
void for_row_blocks(index_t rows, index_t cols, F f) {
  const index_t rows_per_task = cols > 0 && cols < kElementsPerTask ? kElementsPerTask / cols : 1;
  auto task = [&](index_t t) {
    const index_t begin = t * rows_per_task;
    const index_t end = begin + rows_per_task < rows ? begin + rows_per_task : rows;
    f(begin, end);
  };
  parallel_for(ceil_div(rows, rows_per_task), task);
}

}  // namespace

template <class T>
void activation_forward(const KernelSet<T>& kernels, Activation activation, index_t rows, index_t cols,
                        const T* x, T* y) {
  for_row_blocks(rows, cols, [&](index_t begin, index_t end) {
    kernels.activation_forward(activation, end - begin, cols, x + begin * cols, y + begin * cols);
  });
}

template <class T>
void activation_backward(const KernelSet<T>& kernels, Activation activation, index_t rows, index_t cols,
                         const T* y, const T* dy, T* dx) {
  for_row_blocks(rows, cols, [&](index_t begin, index_t end) {
    kernels.activation_backward(activation, end - begin, cols, y + begin * cols, dy + begin * cols,
                                dx + begin * cols);
  });
}

namespace {

// gemm, or with bf16 its bfloat16 products (float32 only: float64 never asks for them).
template <class T>
void product(const KernelSet<T>& kernels, const Bf16KernelSet* bf16, index_t M, index_t N, index_t K, const T* a,
             index_t lda, bool trans_a, const T* b, index_t ldb, bool trans_b, T* c, index_t ldc,
             const T* bias = nullptr, Activation activation = Activation::identity) {
  if constexpr (std::is_same_v<T, float>) {
    if (bf16) {
      gemm_bfloat16(*bf16, kernels, M, N, K, a, lda, trans_a, b, ldb, trans_b, c, ldc, bias, activation);
      return;
    }
  }
  gemm(kernels, M, N, K, a, lda, trans_a, b, ldb, trans_b, c, ldc, bias, activation);
}

}  // namespace

template <class T>
void dense_forward(const KernelSet<T>& kernels, index_t M, index_t K, index_t N, const T* x, const T* weight,
                   const T* bias, Activation activation, T* y, const Bf16KernelSet* bf16) {
  const bool softmax = activation == Activation::softmax;
  product(kernels, bf16, M, N, K, x, K, false, weight, N, false, y, N, bias,
          softmax ? Activation::identity : activation);
  if (softmax) activation_forward(kernels, Activation::softmax, M, N, y, y);
}

namespace {

// Column tasks of a multiple of 64 columns, every vector width's multiple, so that each
// column takes the same path through a kernel whatever the task count.
index_t columns_per_task(index_t rows) {
  return rows > 0 && rows * 64 < kElementsPerTask ? ceil_div(kElementsPerTask / rows, 64) * 64 : 64;
}

// Calls f(col_begin, col_end) over tasks of columns_per_task(rows) columns.
template <class F>
void for_column_blocks(index_t rows, index_t cols, F f) {
  const index_t per_task = columns_per_task(rows);
  auto task = [&](index_t t) {
    const index_t begin = t * per_task;
    f(begin, begin + per_task < cols ? begin + per_task : cols);
  };
  parallel_for(ceil_div(cols, per_task), task);
}

// dz = dy ∘ act'(y) and the bias gradient in one pass, split by columns so that no column
// sum is split.
template <class T>
void output_gradient(const KernelSet<T>& kernels, index_t M, index_t N, const T* y, const T* dy, Activation activation,
                     T* dz, T* dbias, const OutputCount<T>* count) {
  Activation elementwise = activation;
  const T* upstream = dy;
  if (activation == Activation::softmax) {
    activation_backward(kernels, Activation::softmax, M, N, y, dy, dz);
    elementwise = Activation::identity;
    upstream = dz;
  }
  for_column_blocks(M, N, [&](index_t begin, index_t end) {
    kernels.backward_epilogue(elementwise, M, N, begin, end, y, upstream, dz, dbias, count);
  });
}

}  // namespace

template <class T>
void dense_backward(const KernelSet<T>& kernels, index_t M, index_t K, index_t N, const T* x, const T* weight,
                    const T* y, const T* dy, Activation activation, T* dz, T* dx, T* dweight, T* dbias,
                    const OutputCount<T>* count, const Bf16KernelSet* bf16) {
  output_gradient(kernels, M, N, y, dy, activation, dz, dbias, count);
  product(kernels, bf16, K, N, M, x, K, true, dz, N, false, dweight, N);
  if (dx) product(kernels, bf16, M, K, N, dz, N, false, weight, N, true, dx, K);
}

template <class T>
void sparse_dense_forward(const KernelSet<T>& kernels, index_t M, index_t N, const std::int64_t* indptr,
                          const std::int64_t* indices, const T* values, const T* weight, const T* bias,
                          Activation activation, T* y) {
  for_column_blocks(M, N, [&](index_t begin, index_t end) {
    kernels.csr_matmul(M, N, begin, end, indptr, indices, values, weight, bias, y);
  });
  if (activation != Activation::identity) activation_forward(kernels, activation, M, N, y, y);
}

template <class T>
void sparse_dense_backward(const KernelSet<T>& kernels, index_t M, index_t K, index_t N, const std::int64_t* indptr,
                           const std::int64_t* indices, const T* values, const T* y, const T* dy,
                           Activation activation, T* dz, T* dweight, T* dbias, const OutputCount<T>* count) {
  output_gradient(kernels, M, N, y, dy, activation, dz, dbias, count);
  // Each task zeroes and accumulates its own columns of every weight row.
  for_column_blocks(M, N, [&](index_t begin, index_t end) {
    for (index_t k = 0; k < K; ++k) std::fill(dweight + k * N + begin, dweight + k * N + end, T(0));
    kernels.csr_transpose_matmul(M, N, begin, end, indptr, indices, values, dz, dweight);
  });
}

#define STEEPEST_INSTANTIATE(T)                                                                                 \
  template void dense_forward<T>(const KernelSet<T>&, index_t, index_t, index_t, const T*, const T*, const T*, \
                                 Activation, T*, const Bf16KernelSet*);                                        \
  template void dense_backward<T>(const KernelSet<T>&, index_t, index_t, index_t, const T*, const T*, const T*, \
                                  const T*, Activation, T*, T*, T*, T*, const OutputCount<T>*,               \
                                  const Bf16KernelSet*);                                                       \
  template void sparse_dense_forward<T>(const KernelSet<T>&, index_t, index_t, const std::int64_t*,            \
                                        const std::int64_t*, const T*, const T*, const T*, Activation, T*);    \
  template void sparse_dense_backward<T>(const KernelSet<T>&, index_t, index_t, index_t, const std::int64_t*,  \
                                         const std::int64_t*, const T*, const T*, const T*, Activation, T*, T*, \
                                         T*, const OutputCount<T>*);                                            \
  template void activation_forward<T>(const KernelSet<T>&, Activation, index_t, index_t, const T*, T*);        \
  template void activation_backward<T>(const KernelSet<T>&, Activation, index_t, index_t, const T*, const T*, T*);
STEEPEST_INSTANTIATE(float)
STEEPEST_INSTANTIATE(double)
#undef STEEPEST_INSTANTIATE

}  // namespace steepest
