#include "steepest/gemm.h"

#include "steepest/thread_pool.h"
#include "steepest/workspace.h"

namespace steepest {
namespace {

// Below this many multiply-adds a product runs on the calling thread: waking the pool
// costs more than it saves.
constexpr double kMinParallelMacs = 1 << 20;
// An operand this small stays in L1/L2 and is read in place rather than packed.
constexpr index_t kSmallOperandBytes = 32 << 10;

index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }
index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }
index_t smaller(index_t a, index_t b) { return a < b ? a : b; }

template <class T>
struct GemmJob {
  const KernelSet<T>* kernels;
  index_t M, N, K;
  const T* a;
  index_t a_row_stride, a_col_stride;
  const T* b;
  index_t b_row_stride, b_col_stride;
  T* c;
  index_t ldc;
  const T* bias;
  Activation activation;
  index_t kc;           // the blocks over K: fixed by the shape, so is every element's sum
  bool direct_a;        // read A in place instead of packing it
  bool direct_b;        // read B in place (row-major) instead of packing it
  index_t rows_per_task, cols_per_task, row_tasks;

  void operator()(index_t task) const {
    const KernelSet<T>& ks = *kernels;
    const index_t m_begin = (task % row_tasks) * rows_per_task;
    const index_t n_begin = (task / row_tasks) * cols_per_task;
    const index_t m_end = smaller(M, m_begin + rows_per_task);
    const index_t n_end = smaller(N, n_begin + cols_per_task);
    const index_t mc_block = balanced_block(m_end - m_begin, ks.mc, ks.mr);
    const index_t nc_block = balanced_block(n_end - n_begin, ks.nc, ks.nr);
    T* packed_a = direct_a ? nullptr : thread_scratch<T>(ScratchSlot::packed_a, mc_block * kc);
    T* packed_b = direct_b ? nullptr : thread_scratch<T>(ScratchSlot::packed_b, kc * nc_block);
    const index_t k_blocks = K == 0 ? 1 : ceil_div(K, kc);  // K = 0 still runs the epilogue

    for (index_t jc = n_begin; jc < n_end; jc += nc_block) {
      const index_t nc = smaller(nc_block, n_end - jc);
      const Epilogue<T> epilogue{bias ? bias + jc : nullptr, activation};
      for (index_t block = 0; block < k_blocks; ++block) {
        const index_t pc = block * kc;
        const index_t kb = smaller(kc, K - pc);
        const bool last = block == k_blocks - 1;
        const T* b_block = b + pc * b_row_stride + jc * b_col_stride;
        if (!direct_b) {
          ks.pack_b(kb, nc, b_block, b_row_stride, b_col_stride, packed_b);
          b_block = packed_b;
        }
        for (index_t ic = m_begin; ic < m_end; ic += mc_block) {
          const index_t mc = smaller(mc_block, m_end - ic);
          const T* a_block = a + ic * a_row_stride + pc * a_col_stride;
          if (!direct_a) {
            ks.pack_a(mc, kb, a_block, a_row_stride, a_col_stride, packed_a);
            a_block = packed_a;
          }
          ks.macro_kernel(mc, nc, kb, a_block, direct_a ? a_row_stride : 0, a_col_stride, b_block,
                          direct_b ? b_row_stride : 0, c + ic * ldc + jc, ldc, block > 0, last ? &epilogue : nullptr);
        }
      }
    }
  }
};

}  // namespace

index_t balanced_block(index_t n, index_t most, index_t multiple) {
  if (n <= most) return most;  // one block; no divisions on the path of the smallest products
  return round_up(ceil_div(n, ceil_div(n, most)), multiple);
}

TaskSplit split_into_tasks(index_t M, index_t N, index_t K, index_t mr, index_t nr) {
  TaskSplit split{M, N, 1, 1};
  const double macs = double(M) * double(N) * double(K);
  const int threads = macs >= kMinParallelMacs ? num_threads() : 1;
  if (threads > 1) {
    // About two tasks per thread (the pool balances them), split along the longer side of C
    // so that each task packs as little of the other operand as possible. Which task
    // computes a tile does not change how it is summed, so the result does not depend on
    // the split.
    const index_t wanted = 2 * index_t(threads);
    index_t row_tasks, col_tasks;
    if (M >= N) {
      row_tasks = smaller(wanted, ceil_div(M, mr));
      col_tasks = smaller(ceil_div(wanted, row_tasks), ceil_div(N, nr));
    } else {
      col_tasks = smaller(wanted, ceil_div(N, nr));
      row_tasks = smaller(ceil_div(wanted, col_tasks), ceil_div(M, mr));
    }
    split.rows_per_task = round_up(ceil_div(M, row_tasks), mr);
    split.cols_per_task = round_up(ceil_div(N, col_tasks), nr);
    split.row_tasks = ceil_div(M, split.rows_per_task);
  }
  split.tasks = split.row_tasks * ceil_div(N, split.cols_per_task);
  return split;
}

template <class T>
void gemm(const KernelSet<T>& kernels, index_t M, index_t N, index_t K, const T* a, index_t lda, bool trans_a,
          const T* b, index_t ldb, bool trans_b, T* c, index_t ldc, const T* bias, Activation activation) {
  if (M == 0 || N == 0) return;
  const index_t mr = kernels.mr, nr = kernels.nr;
  // A C narrower than the register tile, ending in a partial vector, wastes lanes in every
  // multiply-add (N = 10 fills 10 of 16 AVX-512 lanes): its transpose C' = op(B)' · op(A)'
  // puts M along the lanes and N down the rows of the tile, which are trimmed to what is
  // there. Each element is the same products summed in the same order (a·b = b·a exactly),
  // so the result is bitwise the same. Only when A is stored transposed (the weight gradient
  // X'·dZ), so that op(A)' is read in place, and without an epilogue, which runs along C's
  // columns.
  if (trans_a && N < nr && N % kernels.lanes != 0 && M >= nr && !bias && activation == Activation::identity) {
    T* transposed = thread_scratch<T>(ScratchSlot::transposed_c, std::size_t(M) * std::size_t(N));
    gemm(kernels, N, M, K, b, ldb, !trans_b, a, lda, !trans_a, transposed, M);
    kernels.transpose(N, M, transposed, M, c, ldc);
    return;
  }
  GemmJob<T> job{&kernels, M, N, K,
                 a, trans_a ? 1 : lda, trans_a ? lda : 1,
                 b, trans_b ? 1 : ldb, trans_b ? ldb : 1,
                 c, ldc, bias, activation,
                 balanced_block(K, kernels.kc, 1), false, false,
                 M, N, 1};
  // Packing an operand pays off when the micro-kernel reads it many times: A once per
  // micro-panel of B (N / nr times), B once per micro-panel of A (M / mr times). Otherwise,
  // or when an operand is small enough to stay in cache, it is read in place (B only when
  // row-major: the micro-kernel loads rows of B as vectors).
  const double small_operand = double(kSmallOperandBytes) / sizeof(T);
  job.direct_a = N <= 4 * nr || double(M) * double(K) <= small_operand;
  job.direct_b = !trans_b && (M <= 4 * mr || double(K) * double(N) <= small_operand);

  const TaskSplit split = split_into_tasks(M, N, K, mr, nr);
  job.rows_per_task = split.rows_per_task;
  job.cols_per_task = split.cols_per_task;
  job.row_tasks = split.row_tasks;
  parallel_for(split.tasks, job);
}

template void gemm<float>(const KernelSet<float>&, index_t, index_t, index_t, const float*, index_t, bool,
                          const float*, index_t, bool, float*, index_t, const float*, Activation);
template void gemm<double>(const KernelSet<double>&, index_t, index_t, index_t, const double*, index_t, bool,
                           const double*, index_t, bool, double*, index_t, const double*, Activation);

}  // namespace steepest
