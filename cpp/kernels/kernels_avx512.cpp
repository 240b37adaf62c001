// The avx512 kernels: kernels.inc compiled with this file's instruction-set flags only
// (cpp/CMakeLists.txt), all of it in an anonymous namespace.
#include "steepest/kernels.h"

#include <math.h>

#include <cstdint>
#include <cstring>

#include <immintrin.h>
namespace steepest {
namespace {
#include "simd_scalar.inc"
#include "simd_x86.inc"
#include "simd_avx512.inc"
template <class T>
using Vec = Avx512<T>;
#include "kernels.inc"

const KernelTable table = {"avx512", make_kernel_set<float>(), make_kernel_set<double>()};
}  // namespace

const KernelTable& kernel_table_avx512() { return table; }

}  // namespace steepest
