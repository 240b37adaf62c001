#include "steepest/gemm.h"

#include "steepest/thread_pool.h"
#include "steepest/workspace.h"

namespace steepest {
namespace {

// Cache blocks (BLIS's names): a kc x nr panel of B stays in L1 while the micro-kernel
// sweeps the mc x kc block of A in L2; the kc x nc block of B is shared through L2/L3.
constexpr index_t kKc = 256;
constexpr index_t kMc = 120;   // a multiple of every micro-kernel's mr (4, 6, 8, 12)
constexpr index_t kNc = 1024;  // a multiple of every micro-kernel's nr
// Below this many multiply-adds a product runs on the calling thread: waking the pool
// costs more than it saves.
constexpr double kMinParallelMacs = 1 << 20;

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
  index_t rows_per_task, cols_per_task, row_tasks;

  void operator()(index_t task) const {
    const index_t m_begin = (task % row_tasks) * rows_per_task;
    const index_t n_begin = (task / row_tasks) * cols_per_task;
    const index_t m_end = smaller(M, m_begin + rows_per_task);
    const index_t n_end = smaller(N, n_begin + cols_per_task);
    T* packed_a = thread_scratch<T>(ScratchSlot::packed_a, round_up(kMc, kernels->mr) * kKc);
    T* packed_b = thread_scratch<T>(ScratchSlot::packed_b, kKc * round_up(kNc, kernels->nr));
    const index_t k_blocks = K == 0 ? 1 : ceil_div(K, kKc);  // K = 0 still runs the epilogue

    for (index_t jc = n_begin; jc < n_end; jc += kNc) {
      const index_t nc = smaller(kNc, n_end - jc);
      const Epilogue<T> epilogue{bias ? bias + jc : nullptr, activation};
      for (index_t block = 0; block < k_blocks; ++block) {
        const index_t pc = block * kKc;
        const index_t kc = smaller(kKc, K - pc);
        const bool last = block == k_blocks - 1;
        kernels->pack_b(kc, nc, b + pc * b_row_stride + jc * b_col_stride, b_row_stride, b_col_stride, packed_b);
        for (index_t ic = m_begin; ic < m_end; ic += kMc) {
          const index_t mc = smaller(kMc, m_end - ic);
          kernels->pack_a(mc, kc, a + ic * a_row_stride + pc * a_col_stride, a_row_stride, a_col_stride, packed_a);
          kernels->macro_kernel(mc, nc, kc, packed_a, packed_b, c + ic * ldc + jc, ldc, block > 0,
                                last ? &epilogue : nullptr);
        }
      }
    }
  }
};

}  // namespace

template <class T>
void gemm(const KernelSet<T>& kernels, index_t M, index_t N, index_t K, const T* a, index_t lda, bool trans_a,
          const T* b, index_t ldb, bool trans_b, T* c, index_t ldc, const T* bias, Activation activation) {
  if (M == 0 || N == 0) return;
  GemmJob<T> job{&kernels, M, N, K,
                 a, trans_a ? 1 : lda, trans_a ? lda : 1,
                 b, trans_b ? 1 : ldb, trans_b ? ldb : 1,
                 c, ldc, bias, activation, M, N, 1};
  if (double(M) * double(N) * double(K) >= kMinParallelMacs) {
    // Up to 4 column strips (whole micro-panels) times row strips of about kMc rows: enough
    // tasks to balance a few threads, few enough that B is not packed many times over.
    const index_t nr = kernels.nr, mr = kernels.mr;
    job.cols_per_task = round_up(ceil_div(N, 4), nr);
    if (job.cols_per_task > kNc) job.cols_per_task = kNc;
    const index_t row_strips = ceil_div(M, kMc);
    job.rows_per_task = round_up(ceil_div(M, row_strips), mr);
    job.row_tasks = ceil_div(M, job.rows_per_task);
  }
  const index_t tasks = job.row_tasks * ceil_div(N, job.cols_per_task);
  parallel_for(tasks, job);
}

template void gemm<float>(const KernelSet<float>&, index_t, index_t, index_t, const float*, index_t, bool,
                          const float*, index_t, bool, float*, index_t, const float*, Activation);
template void gemm<double>(const KernelSet<double>&, index_t, index_t, index_t, const double*, index_t, bool,
                           const double*, index_t, bool, double*, index_t, const double*, Activation);

}  // namespace steepest
