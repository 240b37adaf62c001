#include "arrays.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace steepest::bindings {
namespace {

std::string type_description(py::handle value) {
  if (py::isinstance<py::array>(value)) {
    py::array array = py::reinterpret_borrow<py::array>(value);
    return std::string(py::str(array.dtype())) + " array of shape " + shape_string(array);
  }
  return std::string(py::str(py::type::handle_of(value).attr("__name__")));
}

[[noreturn]] void fail_type(const char* function, const char* name, const std::string& expected, py::handle value) {
  throw py::type_error(std::string(function) + ": argument '" + name + "' must be " + expected + ", got " +
                       type_description(value));
}

[[noreturn]] void fail_value(const char* function, const char* name, const std::string& what) {
  throw py::value_error(std::string(function) + ": argument '" + name + "' " + what);
}

template <class Parse>
auto parse_named(const char* function, const std::string& name, Parse parse) {
  try {
    return parse(name);
  } catch (const std::invalid_argument& error) {
    throw py::value_error(std::string(function) + ": " + error.what());
  }
}

}  // namespace

const char* dtype_name(DType dtype) { return dtype == DType::float32 ? "float32" : "float64"; }

std::string shape_string(const std::vector<index_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

std::string shape_string(const py::array& array) {
  return shape_string(std::vector<index_t>(array.shape(), array.shape() + array.ndim()));
}

DType float_dtype(const char* function, const char* name, py::handle value) {
  if (!py::isinstance<py::array>(value)) fail_type(function, name, "a NumPy array of float32 or float64", value);
  // NumPy's native float32/float64 descriptors are singletons: compared by identity, looked up
  // once (this check runs several times per call, and small products are issue 3's concern).
  // A byte-swapped array has another descriptor, so it is rejected rather than misread.
  // Deliberately never released: the interpreter may be gone when statics are destroyed.
  static const PyObject* const float32_descr = py::dtype::of<float>().release().ptr();
  static const PyObject* const float64_descr = py::dtype::of<double>().release().ptr();
  const PyObject* descr = py::detail::array_proxy(value.ptr())->descr;
  if (descr == float32_descr) return DType::float32;
  if (descr == float64_descr) return DType::float64;
  fail_type(function, name, "a float32 or float64 array", value);
}

void require_same_dtype(const char* function, const char* name, py::handle value, DType expected,
                        const char* reference_name) {
  if (float_dtype(function, name, value) != expected)
    throw py::type_error(std::string(function) + ": argument '" + name + "' is " +
                         dtype_name(float_dtype(function, name, value)) + " but '" + reference_name + "' is " +
                         dtype_name(expected) + "; mixed precision is not converted, cast one with .astype()");
}

py::array contiguous_input(const char* function, const char* name, py::handle value, DType dtype) {
  require_same_dtype(function, name, value, dtype, "the first array");
  py::array array = py::reinterpret_borrow<py::array>(value);
  if (array.flags() & py::array::c_style) return array;
  return contiguous_copy(array);
}

py::array contiguous_copy(const py::array& array) {
  return py::module_::import("numpy").attr("ascontiguousarray")(array).cast<py::array>();
}

void require_ndim(const char* function, const char* name, const py::array& array, int ndim, const char* layout) {
  if (array.ndim() != ndim)
    fail_value(function, name,
               "must be " + std::to_string(ndim) + "-D " + layout + ", got shape " + shape_string(array));
}

void require_dim(const char* function, const char* name, const py::array& array, int axis, index_t expected,
                 const std::string& why) {
  if (array.shape(axis) != expected)
    fail_value(function, name,
               "has shape " + shape_string(array) + " but its axis " + std::to_string(axis) + " must be " +
                   std::to_string(expected) + " (" + why + ")");
}

py::array in_place_output(const char* function, const char* name, py::handle value, DType dtype,
                          const std::vector<index_t>& shape) {
  if (!py::isinstance<py::array>(value))
    fail_type(function, name, std::string("a NumPy ") + dtype_name(dtype) + " array", value);
  py::array array = py::reinterpret_borrow<py::array>(value);
  if (float_dtype(function, name, value) != dtype)
    fail_type(function, name, std::string("a ") + dtype_name(dtype) + " array (it is written in place, never converted)",
              value);
  if (!std::equal(shape.begin(), shape.end(), array.shape(), array.shape() + array.ndim()))
    fail_value(function, name, "must have shape " + shape_string(shape) + ", got " + shape_string(array));
  if (!(array.flags() & py::array::c_style))
    fail_value(function, name, "must be C-contiguous (it is written in place); pass np.ascontiguousarray(...) and use the result");
  if (!array.writeable()) fail_value(function, name, "is read-only but is written in place");
  return array;
}

py::array new_array(DType dtype, const std::vector<index_t>& shape) {
  if (dtype == DType::float32) return py::array_t<float>(shape);
  return py::array_t<double>(shape);
}

Activation parse_activation(const char* function, const std::string& name) {
  return parse_named(function, name, [](const std::string& n) { return steepest::parse_activation(n); });
}

Loss parse_loss(const char* function, const std::string& name) {
  return parse_named(function, name, [](const std::string& n) { return steepest::parse_loss(n); });
}

double non_negative(const char* function, const char* name, double value) {
  if (!std::isfinite(value) || value < 0)
    throw py::value_error(std::string(function) + ": argument '" + name + "' must be a finite number >= 0, got " +
                          std::to_string(value));
  return value;
}

}  // namespace steepest::bindings
