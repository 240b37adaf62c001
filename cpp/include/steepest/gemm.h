// The matrix product behind every dense layer, cache-blocked around the table's packing
// routines and micro-kernel, and split into tasks over tiles of C.
#pragma once

#include "steepest/kernels.h"

namespace steepest {

// Splits [0, n) into ceil(n / most) blocks of equal size rounded up to `multiple`, so that no
// block is a sliver (K = 784 with kc = 256 gives 4 blocks of 196, not 3 of 256 and one of 16).
index_t balanced_block(index_t n, index_t most, index_t multiple);

// The tasks an M x N x K product is split into for the thread pool: tiles of C of
// rows_per_task x cols_per_task (multiples of the register tile mr x nr), task t at row block
// t % row_tasks and column block t / row_tasks. One task when the product is too small to
// share.
struct TaskSplit {
  index_t rows_per_task, cols_per_task, row_tasks, tasks;
};
TaskSplit split_into_tasks(index_t M, index_t N, index_t K, index_t mr, index_t nr);

// C = act(op(A) · op(B) + bias), row-major.
//   op(A): M x K, A[i * lda + k], or A[k * lda + i] when trans_a (A stored K x M);
//   op(B): K x N, B[k * ldb + j], or B[j * ldb + k] when trans_b (B stored N x K);
//   C: M x N with leading dimension ldc; bias: N values or null.
// The activation must be element-wise (not softmax). The blocks over K depend on the shape
// only and every element of C is summed over them in order, whichever task computes it and
// whether its operands were packed or read in place: the result is bitwise identical for
// any number of threads.
template <class T>
void gemm(const KernelSet<T>& kernels, index_t M, index_t N, index_t K, const T* a, index_t lda, bool trans_a,
          const T* b, index_t ldb, bool trans_b, T* c, index_t ldc, const T* bias = nullptr,
          Activation activation = Activation::identity);

}  // namespace steepest
