// The neon kernels: kernels.inc compiled with this file's instruction-set flags only
// (cpp/CMakeLists.txt), all of it in an anonymous namespace.
#include "steepest/kernels.h"

#include <math.h>

#include <cstdint>
#include <cstring>

#include <arm_neon.h>
namespace steepest {
namespace {
#include "simd_scalar.inc"
#include "simd_neon.inc"
template <class T>
using Vec = Neon<T>;
#include "kernels.inc"

const KernelTable table = {"neon", make_kernel_set<float>(), make_kernel_set<double>()};
}  // namespace

const KernelTable& kernel_table_neon() { return table; }

}  // namespace steepest
