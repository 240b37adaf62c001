// Mixed-precision products: C = op(A)·op(B) of float32 matrices with the operands rounded to
// bfloat16 while they are packed and the products accumulated in float32 (as TPUs and
// PyTorch's CPU autocast do). The instructions that do it are a level of their own, chosen
// at run time like the float kernels' (cpp/dispatch.cpp), from the files steepest_add_bfloat16
// adds (cmake/steepest_isa.cmake):
//   amx          Intel AMX-BF16 tiles (TDPBF16PS), where the CPU has them and the OS grants
//                the process their state;
//   avx512_bf16  AVX512_BF16 dot products (VDPBF16PS): twice the float32 rate on AMD Zen 4
//                and Zen 5, half of it on Intel, so only chosen on AMD;
//   emulated     everywhere: the operands rounded, then multiplied by the float32 kernels
//                (bfloat16 products are exact in float32). The same values, never faster
//                than float32: not "fast".
//
// Rounding, at every level the same (the hardware's VCVTNE2PS2BF16): to nearest, ties to
// even; float32 denormals flush to a zero of their sign; NaN stays NaN (quieted), ±inf stays;
// a finite value above bfloat16's largest rounds to inf.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "steepest/kernels.h"

namespace steepest {

// One level's kernels over bfloat16-packed operands (null for the emulated level).
struct Bf16KernelSet {
  const char* name;
  // Register tile mr x nr; cache blocks mc x kc x nc, kc a multiple of k_step: packed
  // operands are zero-padded to whole steps of k.
  int mr;
  int nr;
  index_t k_step;
  index_t mc;
  index_t kc;
  index_t nc;
  // Pack and round the mc x kc block op(A)(i, k) = a[i * row_stride + k * col_stride], and
  // the kc x nc block op(B)(k, j) = b[k * row_stride + j * col_stride]; one of the strides is
  // 1. Sizes: round_up(mc, mr) x round_up(kc, k_step), round_up(kc, k_step) x round_up(nc, nr).
  void (*pack_a)(index_t mc, index_t kc, const float* a, index_t row_stride, index_t col_stride, std::uint16_t* dst);
  void (*pack_b)(index_t kc, index_t nc, const float* b, index_t row_stride, index_t col_stride, std::uint16_t* dst);
  // C[mc x nc] (ldc) = (accumulate ? C : 0) + A·B from the packed blocks, each element summed
  // in k order; then + bias (nc values) when bias is not null, then ReLU when relu.
  void (*macro_kernel)(index_t mc, index_t nc, index_t kc, const std::uint16_t* a, const std::uint16_t* b, float* c,
                       index_t ldc, bool accumulate, const float* bias, bool relu);
  // Runs `iterations` rounds of the level's product instruction on independent accumulators
  // and returns the floating-point operations done (the benchmark's bfloat16 peak).
  double (*dot_throughput)(index_t iterations, float* sink);
};

// x rounded to bfloat16 (returned widened to float32), by the rule above.
float round_to_bfloat16(float x);

// C = act(op(A)·op(B) + bias) with bfloat16 operands, as gemm (gemm.h) takes its arguments;
// float32 kernels do the epilogue's activations and the emulated level's products. Bitwise
// identical for any number of threads (the blocks over K depend on the shape only).
void gemm_bfloat16(const Bf16KernelSet& bf16, const KernelSet<float>& kernels, index_t M, index_t N, index_t K,
                   const float* a, index_t lda, bool trans_a, const float* b, index_t ldb, bool trans_b, float* c,
                   index_t ldc, const float* bias = nullptr, Activation activation = Activation::identity);

// The emulated level's set (its kernels null).
const Bf16KernelSet& emulated_bfloat16();

// Levels compiled in ("emulated" first), and those this CPU and OS run.
std::vector<std::string> compiled_bfloat16_levels();
std::vector<std::string> available_bfloat16_levels();
// The level in use: STEEPEST_BFLOAT16 if set (std::runtime_error if it cannot run here),
// else the last one that runs and is faster than float32 here, else the emulated one.
const Bf16KernelSet& active_bfloat16();
// Whether training with bfloat16 products uses this level: a level with bfloat16
// instructions, or any level chosen explicitly (STEEPEST_BFLOAT16, select_bfloat16), the
// emulated one included (slower than float32: for tests and comparisons).
bool bfloat16_trains();
// Switches to a level from available_bfloat16_levels(), or back to the default choice for
// ""; std::invalid_argument otherwise.
void select_bfloat16(const std::string& level);

}  // namespace steepest
