#pragma once

#include <pybind11/pybind11.h>

namespace steepest::bindings {

// Adds the kernel functions (matmul, dense_forward, ...) to the module.
void bind_ops(pybind11::module_& m);

}  // namespace steepest::bindings
