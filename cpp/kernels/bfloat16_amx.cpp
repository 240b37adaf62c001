// The amx bfloat16 level: Intel AMX-BF16 tile products (TDPBF16PS), with AVX512_BF16 for the
// rounding. Compiled with this file's flags only (steepest_add_bfloat16 in cpp/CMakeLists.txt)
// and run only where dispatch.cpp's feature::amx_bf16 holds (the OS has granted the process
// the tile state).
//
// A register block of C is 32 x 32: four 16 x 16 float32 tiles (tmm0-3), fed by two tiles of
// A (tmm4-5: 16 rows x 32 steps of k) and two of B (tmm6-7: 16 pairs x 16 columns) per chunk
// of k. The block is stored to L1 after its chunks and finished there with AVX-512.
#include <immintrin.h>

#include <cstdint>

#include "steepest/bfloat16.h"

namespace steepest {
namespace {
#include "bfloat16_x86.inc"

constexpr index_t kPanelRows = 32;

// A packed in panels of 32 rows, per chunk its rows by x, each 16 pairs (64 bytes):
// (i, k) of a panel at element (chunk · 32 + i) · 32 + k % 32.
void pack_a(index_t mc, index_t kc, const float* a, index_t row_stride, index_t col_stride, std::uint16_t* dst) {
  const index_t chunks = chunks_of(kc);
  __m512i v[16];
  for (index_t i0 = 0; i0 < mc; i0 += kPanelRows) {
    for (index_t chunk = 0; chunk < chunks; ++chunk) {
      const index_t k0 = chunk * kChunk;
      for (index_t half = 0; half < 2; ++half) {
        const index_t first = i0 + 16 * half;
        load_chunk(mc - first, kc - k0, a + first * row_stride + k0 * col_stride, row_stride, col_stride, true, v);
        for (int r = 0; r < 16; ++r) _mm512_storeu_si512(dst + 32 * r, v[r]);
        dst += 16 * 32;
      }
    }
  }
}

// Palette 1, every tile 16 rows of 64 bytes.
struct alignas(64) TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t bytes_per_row[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  std::uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

// The 32 x 32 block (MT x NT tiles of 16 x 16; the rest of `out` is left alone) of A's and
// B's panels over `chunks`, into out (32 x 32, row-major).
template <int MT, int NT>
void block_product(index_t chunks, const std::uint16_t* a, const std::uint16_t* b, float* out) {
  _tile_zero(0);
  if constexpr (NT == 2) _tile_zero(1);
  if constexpr (MT == 2) _tile_zero(2);
  if constexpr (MT == 2 && NT == 2) _tile_zero(3);
  for (index_t chunk = 0; chunk < chunks; ++chunk, a += 1024, b += 1024) {
    _tile_loadd(4, a, 64);
    if constexpr (MT == 2) _tile_loadd(5, a + 512, 64);
    _tile_loadd(6, b, 64);
    if constexpr (NT == 2) _tile_loadd(7, b + 512, 64);
    _tile_dpbf16ps(0, 4, 6);
    if constexpr (NT == 2) _tile_dpbf16ps(1, 4, 7);
    if constexpr (MT == 2) _tile_dpbf16ps(2, 5, 6);
    if constexpr (MT == 2 && NT == 2) _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, out, 128);
  if constexpr (NT == 2) _tile_stored(1, out + 16, 128);
  if constexpr (MT == 2) _tile_stored(2, out + 16 * 32, 128);
  if constexpr (MT == 2 && NT == 2) _tile_stored(3, out + 16 * 32 + 16, 128);
}

void macro_kernel(index_t mc, index_t nc, index_t kc, const std::uint16_t* a, const std::uint16_t* b, float* c,
                  index_t ldc, bool accumulate, const float* bias, bool relu) {
  const index_t chunks = chunks_of(kc);
  const TileConfig config;
  _tile_loadconfig(&config);
  alignas(64) float block[32 * 32];
  for (index_t jr = 0; jr < nc; jr += kPanelColumns) {
    const index_t cols = nc - jr < kPanelColumns ? nc - jr : kPanelColumns;
    const std::uint16_t* b_panel = b + jr * chunks * kChunk;
    for (index_t ir = 0; ir < mc; ir += kPanelRows) {
      const index_t rows = mc - ir < kPanelRows ? mc - ir : kPanelRows;
      const std::uint16_t* a_panel = a + ir * chunks * kChunk;
      if (rows > 16) {
        if (cols > 16) block_product<2, 2>(chunks, a_panel, b_panel, block);
        else block_product<2, 1>(chunks, a_panel, b_panel, block);
      } else {
        if (cols > 16) block_product<1, 2>(chunks, a_panel, b_panel, block);
        else block_product<1, 1>(chunks, a_panel, b_panel, block);
      }
      for (index_t i = 0; i < rows; ++i)
        for (index_t j = 0; j < cols; j += 16)
          finish_row(c + (ir + i) * ldc + jr + j, _mm512_load_ps(block + i * 32 + j), cols - j, accumulate,
                     bias ? bias + jr + j : nullptr, relu);
    }
  }
  // Gives the tile state back: a process holding it saves and restores 8 KB more per switch.
  _tile_release();
}

// Four independent accumulating tiles from tiles already loaded, as block_product's loop.
double dot_throughput(index_t iterations, float* sink) {
  const TileConfig config;
  _tile_loadconfig(&config);
  alignas(64) std::uint16_t operand[512] = {};
  alignas(64) float out[256];
  _tile_loadd(4, operand, 64);
  _tile_loadd(5, operand, 64);
  _tile_loadd(6, operand, 64);
  _tile_loadd(7, operand, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (index_t n = 0; n < iterations; ++n) {
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, out, 64);
  _tile_release();
  *sink = out[0];
  return 4.0 * 2 * 16 * 16 * 32 * double(iterations);
}

const Bf16KernelSet kernels = {
    "amx", int(kPanelRows), int(kPanelColumns), kChunk, 128, 512, 512, pack_a, pack_b, macro_kernel, dot_throughput,
};

}  // namespace

const Bf16KernelSet& bfloat16_kernels_amx() { return kernels; }

}  // namespace steepest
