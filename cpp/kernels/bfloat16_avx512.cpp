// The avx512_bf16 bfloat16 level: VDPBF16PS dot products of pairs, on a 12 x 32 register tile
// (24 accumulators, two vectors of B, A's pairs broadcast from memory), as the float32
// AVX-512 tile. Compiled with this file's flags only (steepest_add_bfloat16 in
// cpp/CMakeLists.txt).
#include <immintrin.h>

#include <cstdint>

#include "steepest/bfloat16.h"

namespace steepest {
namespace {
#include "bfloat16_x86.inc"

constexpr index_t kPanelRows = 12;

// A packed in panels of 12 rows, per chunk by pair, 12 pairs each:
// (i, k) of a panel at dword (chunk · 16 + (k % 32) / 2) · 12 + i.
void pack_a(index_t mc, index_t kc, const float* a, index_t row_stride, index_t col_stride, std::uint16_t* dst) {
  const index_t chunks = chunks_of(kc);
  const __mmask16 twelve = first_lanes(kPanelRows);
  __m512i v[16];
  for (index_t i0 = 0; i0 < mc; i0 += kPanelRows) {
    const index_t rows = mc - i0 < kPanelRows ? mc - i0 : kPanelRows;
    for (index_t chunk = 0; chunk < chunks; ++chunk) {
      const index_t k0 = chunk * kChunk;
      load_chunk(rows, kc - k0, a + i0 * row_stride + k0 * col_stride, row_stride, col_stride, false, v);
      for (int q = 0; q < 16; ++q) _mm512_mask_storeu_epi32(dst + 2 * kPanelRows * q, twelve, v[q]);
      dst += 16 * 2 * kPanelRows;
    }
  }
}

// One tile of C of MRU x NVU·16 (rows x cols of it inside C) over A's and B's panels.
template <int MRU, int NVU>
void tile_product(index_t chunks, const std::uint16_t* a, const std::uint16_t* b, float* c, index_t ldc, index_t rows,
                  index_t cols, bool accumulate, const float* bias, bool relu) {
  __m512 acc[MRU][NVU];
#pragma GCC unroll 12
  for (int i = 0; i < MRU; ++i)
#pragma GCC unroll 2
    for (int v = 0; v < NVU; ++v) acc[i][v] = _mm512_setzero_ps();
  const auto* pairs = reinterpret_cast<const std::int32_t*>(a);
  for (index_t chunk = 0; chunk < chunks; ++chunk, b += 1024) {
    for (int q = 0; q < 16; ++q, pairs += kPanelRows) {
      __m512bh bv[NVU];
#pragma GCC unroll 2
      for (int v = 0; v < NVU; ++v) bv[v] = __m512bh(_mm512_loadu_si512(b + 512 * v + 32 * q));
#pragma GCC unroll 12
      for (int i = 0; i < MRU; ++i) {
        const __m512bh av = __m512bh(_mm512_set1_epi32(pairs[i]));
#pragma GCC unroll 2
        for (int v = 0; v < NVU; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], av, bv[v]);
      }
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < MRU; ++i) {
    if (i >= rows) break;
#pragma GCC unroll 2
    for (int v = 0; v < NVU; ++v)
      finish_row(c + i * ldc + 16 * v, acc[i][v], cols - 16 * v, accumulate, bias ? bias + 16 * v : nullptr, relu);
  }
}

using TileProduct = void (*)(index_t, const std::uint16_t*, const std::uint16_t*, float*, index_t, index_t, index_t,
                             bool, const float*, bool);

// Tiles of fewer rows at the bottom edge, in steps of two.
template <int MRU = int(kPanelRows), int NVU = 2>
TileProduct tile_product_for(index_t rows, index_t cols) {
  if constexpr (MRU > 2) {
    if (rows <= MRU - 2) return tile_product_for<MRU - 2, NVU>(rows, cols);
  }
  if constexpr (NVU > 1) {
    if (cols <= 16) return tile_product_for<MRU, 1>(rows, cols);
  }
  return tile_product<MRU, NVU>;
}

void macro_kernel(index_t mc, index_t nc, index_t kc, const std::uint16_t* a, const std::uint16_t* b, float* c,
                  index_t ldc, bool accumulate, const float* bias, bool relu) {
  const index_t chunks = chunks_of(kc);
  for (index_t jr = 0; jr < nc; jr += kPanelColumns) {
    const index_t cols = nc - jr < kPanelColumns ? nc - jr : kPanelColumns;
    const std::uint16_t* b_panel = b + jr * chunks * kChunk;
    for (index_t ir = 0; ir < mc; ir += kPanelRows) {
      const index_t rows = mc - ir < kPanelRows ? mc - ir : kPanelRows;
      tile_product_for(rows, cols)(chunks, a + ir * chunks * kChunk, b_panel, c + ir * ldc + jr, ldc, rows, cols,
                                   accumulate, bias ? bias + jr : nullptr, relu);
    }
  }
}

// 12 independent chains of VDPBF16PS, as the tile's.
double dot_throughput(index_t iterations, float* sink) {
  constexpr int chains = 12;
  __m512 acc[chains];
  const __m512bh x = __m512bh(_mm512_set1_epi32(0x3F803F80));  // the pair (1, 1)
  const __m512bh y = __m512bh(_mm512_cvtne2ps_pbh(_mm512_set1_ps(*sink), _mm512_set1_ps(*sink)));
#pragma GCC unroll 12
  for (int i = 0; i < chains; ++i) acc[i] = _mm512_set1_ps(float(i));
  for (index_t n = 0; n < iterations; ++n) {
#pragma GCC unroll 12
    for (int i = 0; i < chains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
  }
  __m512 total = _mm512_setzero_ps();
#pragma GCC unroll 12
  for (int i = 0; i < chains; ++i) total = _mm512_add_ps(total, acc[i]);
  *sink = _mm512_reduce_add_ps(total);
  return 4.0 * chains * 16 * double(iterations);
}

const Bf16KernelSet kernels = {
    "avx512_bf16", int(kPanelRows), int(kPanelColumns), kChunk, 120, 512, 1024, pack_a, pack_b, macro_kernel,
    dot_throughput,
};

}  // namespace

const Bf16KernelSet& bfloat16_kernels_avx512_bf16() { return kernels; }

}  // namespace steepest
