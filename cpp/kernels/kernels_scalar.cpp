// The scalar kernels: kernels.inc compiled with this file's instruction-set flags only
// (cpp/CMakeLists.txt), all of it in an anonymous namespace.
#include "steepest/kernels.h"

#include <math.h>

#include <cstdint>
#include <cstring>

namespace steepest {
namespace {
#include "simd_scalar.inc"
template <class T>
using Vec = Scalar<T>;
#include "kernels.inc"

const KernelTable table = {"scalar", make_kernel_set<float>(), make_kernel_set<double>()};
}  // namespace

const KernelTable& kernel_table_scalar() { return table; }

}  // namespace steepest
