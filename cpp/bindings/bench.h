#pragma once

#include <pybind11/pybind11.h>

namespace steepest::bindings {

// Adds fma_throughput, the peak loop behind python/steepest/bench's "% of peak".
void bind_bench(pybind11::module_& m);

}  // namespace steepest::bindings
