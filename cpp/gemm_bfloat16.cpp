#include <cstring>
#include <vector>

#include "steepest/bfloat16.h"
#include "steepest/gemm.h"
#include "steepest/thread_pool.h"
#include "steepest/workspace.h"

namespace steepest {
namespace {

index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }
index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }
index_t smaller(index_t a, index_t b) { return a < b ? a : b; }

// As GemmJob in gemm.cpp, over bfloat16-packed operands: both are always packed (packing is
// where they are rounded).
struct Bf16GemmJob {
  const Bf16KernelSet* bf16;
  const KernelSet<float>* kernels;
  index_t M, N, K;
  const float* a;
  index_t a_row_stride, a_col_stride;
  const float* b;
  index_t b_row_stride, b_col_stride;
  float* c;
  index_t ldc;
  const float* bias;
  Activation activation;
  index_t kc;
  TaskSplit split;

  void operator()(index_t task) const {
    const Bf16KernelSet& ks = *bf16;
    const index_t m_begin = (task % split.row_tasks) * split.rows_per_task;
    const index_t n_begin = (task / split.row_tasks) * split.cols_per_task;
    const index_t m_end = smaller(M, m_begin + split.rows_per_task);
    const index_t n_end = smaller(N, n_begin + split.cols_per_task);
    const index_t mc_block = balanced_block(m_end - m_begin, ks.mc, ks.mr);
    const index_t nc_block = balanced_block(n_end - n_begin, ks.nc, ks.nr);
    const index_t kc_padded = round_up(kc, ks.k_step);
    auto* packed_a = static_cast<std::uint16_t*>(
        thread_scratch(ScratchSlot::packed_a, sizeof(std::uint16_t) * round_up(mc_block, ks.mr) * kc_padded));
    auto* packed_b = static_cast<std::uint16_t*>(
        thread_scratch(ScratchSlot::packed_b, sizeof(std::uint16_t) * kc_padded * round_up(nc_block, ks.nr)));
    const index_t k_blocks = K == 0 ? 1 : ceil_div(K, kc);  // K = 0 still runs the epilogue
    const bool relu = activation == Activation::relu;
    const bool costly = activation == Activation::sigmoid || activation == Activation::tanh || activation == Activation::exp;

    for (index_t jc = n_begin; jc < n_end; jc += nc_block) {
      const index_t nc = smaller(nc_block, n_end - jc);
      for (index_t block = 0; block < k_blocks; ++block) {
        const index_t pc = block * kc;
        const index_t kb = smaller(kc, K - pc);
        const bool last = block == k_blocks - 1;
        ks.pack_b(kb, nc, b + pc * b_row_stride + jc * b_col_stride, b_row_stride, b_col_stride, packed_b);
        for (index_t ic = m_begin; ic < m_end; ic += mc_block) {
          const index_t mc = smaller(mc_block, m_end - ic);
          ks.pack_a(mc, kb, a + ic * a_row_stride + pc * a_col_stride, a_row_stride, a_col_stride, packed_a);
          float* c_block = c + ic * ldc + jc;
          ks.macro_kernel(mc, nc, kb, packed_a, packed_b, c_block, ldc, block > 0, last && bias ? bias + jc : nullptr,
                          last && relu);
          // The activations whose cost is an exp, over the block while it is in cache.
          if (last && costly)
            for (index_t i = 0; i < mc; ++i) kernels->activation_forward(activation, 1, nc, c_block + i * ldc, c_block + i * ldc);
        }
      }
    }
  }
};

// op(X) (rows x cols) rounded into a row-major copy.
std::vector<float> rounded_copy(index_t rows, index_t cols, const float* x, index_t ld, bool trans) {
  std::vector<float> out(static_cast<std::size_t>(rows * cols));
  for (index_t i = 0; i < rows; ++i)
    for (index_t j = 0; j < cols; ++j) out[i * cols + j] = round_to_bfloat16(trans ? x[j * ld + i] : x[i * ld + j]);
  return out;
}

const Bf16KernelSet kEmulated = {"emulated", 1, 1, 1, 0, 0, 0, nullptr, nullptr, nullptr, nullptr};

}  // namespace

float round_to_bfloat16(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const std::uint32_t exponent = bits & 0x7F800000u;
  if (exponent == 0x7F800000u) {
    if (bits & 0x007FFFFFu) bits |= 0x00400000u;  // NaN: quieted, as the hardware does
  } else if (exponent == 0) {
    bits &= 0x80000000u;  // zero or denormal: a zero of its sign
  } else {
    bits += 0x7FFFu + ((bits >> 16) & 1u);  // to nearest, ties to even (may carry into inf)
  }
  bits &= 0xFFFF0000u;
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

const Bf16KernelSet& emulated_bfloat16() { return kEmulated; }

void gemm_bfloat16(const Bf16KernelSet& bf16, const KernelSet<float>& kernels, index_t M, index_t N, index_t K,
                   const float* a, index_t lda, bool trans_a, const float* b, index_t ldb, bool trans_b, float* c,
                   index_t ldc, const float* bias, Activation activation) {
  if (M == 0 || N == 0) return;
  if (!bf16.macro_kernel) {
    const std::vector<float> a_rounded = rounded_copy(M, K, a, lda, trans_a);
    const std::vector<float> b_rounded = rounded_copy(K, N, b, ldb, trans_b);
    gemm(kernels, M, N, K, a_rounded.data(), K, false, b_rounded.data(), N, false, c, ldc, bias, activation);
    return;
  }
  Bf16GemmJob job{&bf16, &kernels, M, N, K,
                        a, trans_a ? 1 : lda, trans_a ? lda : 1,
                        b, trans_b ? 1 : ldb, trans_b ? ldb : 1,
                        c, ldc, bias, activation,
                        balanced_block(K, bf16.kc, bf16.k_step), split_into_tasks(M, N, K, bf16.mr, bf16.nr)};
  parallel_for(job.split.tasks, job);
}

}  // namespace steepest
