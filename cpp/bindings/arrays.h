// Checking NumPy arguments at the boundary: every error names the function, the argument,
// what was expected and what was given. Inputs may be converted (a contiguous copy of a
// strided view); arrays written in place never are.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "steepest/kernels.h"
#include "steepest/names.h"

namespace steepest::bindings {

namespace py = pybind11;

enum class DType { float32, float64 };

const char* dtype_name(DType dtype);

// The dtype of a float32/float64 ndarray; TypeError for anything else.
DType float_dtype(const char* function, const char* name, py::handle value);

// TypeError unless `value` has `expected` (the dtype of `reference_name`): mixed precision
// is an error, never an upcast.
void require_same_dtype(const char* function, const char* name, py::handle value, DType expected,
                        const char* reference_name);

// A C-contiguous array of `dtype` (the same data when it already is one, else a copy).
py::array contiguous_input(const char* function, const char* name, py::handle value, DType dtype);

// A C-contiguous copy of `array`; MemoryError when it does not fit (a zero-strided view can
// declare terabytes). py::array::ensure would return a null array instead (issue 8).
py::array contiguous_copy(const py::array& array);

// ValueError unless `array` has `ndim` dimensions; `layout` names them, e.g. "(rows, cols)".
void require_ndim(const char* function, const char* name, const py::array& array, int ndim, const char* layout);

// ValueError unless `array.shape[axis] == expected`; `why` says what it must match.
void require_dim(const char* function, const char* name, const py::array& array, int axis, index_t expected,
                 const std::string& why);

// An array written in place: exactly `dtype`, C-contiguous, writeable, of `shape`; it is
// never converted, so a mismatch is an error (TypeError for the dtype, ValueError otherwise).
py::array in_place_output(const char* function, const char* name, py::handle value, DType dtype,
                          const std::vector<index_t>& shape);

std::string shape_string(const py::array& array);
std::string shape_string(const std::vector<index_t>& shape);

// A new uninitialised C-contiguous array.
py::array new_array(DType dtype, const std::vector<index_t>& shape);

// The core's parsers (steepest/names.h) with the function's name before the message.
Activation parse_activation(const char* function, const std::string& name);
Loss parse_loss(const char* function, const std::string& name);

// ValueError unless `value` is finite and >= 0.
double non_negative(const char* function, const char* name, double value);

}  // namespace steepest::bindings
