// steepest._core: the module definition, the configuration functions and the start-up
// choice of the kernel table.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "bench.h"
#include "ops.h"
#include "training.h"
#include "steepest/bfloat16.h"
#include "steepest/dispatch.h"
#include "steepest/names.h"
#include "steepest/thread_pool.h"

#ifndef STEEPEST_VERSION
#define STEEPEST_VERSION "0+unknown"
#endif

namespace py = pybind11;

namespace {

std::string compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#elif defined(_MSC_VER)
  return "msvc " + std::to_string(_MSC_VER);
#else
  return "unknown";
#endif
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "steepest's compiled core; use steepest.ops and the steepest package instead.";
  try {
    steepest::active_kernels();
    steepest::active_bfloat16();
    steepest::check_thread_environment();
  } catch (const std::exception& error) {
    throw py::import_error(std::string("steepest: ") + error.what());
  }

  m.attr("__version__") = STEEPEST_VERSION;
  // The names of the core's choices, listed once in cpp/names.cpp.
  m.attr("activations") = py::tuple(py::cast(steepest::activation_names()));
  m.attr("losses") = py::tuple(py::cast(steepest::loss_names()));
  m.attr("optimizers") = py::tuple(py::cast(steepest::optimizer_names()));
  m.attr("input_noises") = py::tuple(py::cast(steepest::input_noise_names()));
  m.attr("compiler") = compiler();
  m.def("simd_level", [] { return std::string(steepest::active_kernels().isa); });
  m.def("compiled_isas", &steepest::compiled_isas);
  m.def("available_isas", &steepest::available_isas);
  m.def("set_isa", &steepest::select_isa, py::arg("name"));
  m.def("bfloat16_level", [] { return std::string(steepest::active_bfloat16().name); });
  m.def("bfloat16_trains", &steepest::bfloat16_trains);
  m.def("compiled_bfloat16_levels", &steepest::compiled_bfloat16_levels);
  m.def("available_bfloat16_levels", &steepest::available_bfloat16_levels);
  m.def("set_bfloat16_level", &steepest::select_bfloat16, py::arg("name"));
  m.def("get_num_threads", &steepest::num_threads);
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw py::value_error("set_num_threads: n must be >= 1, got " + std::to_string(n));
    steepest::set_num_threads(n);
  }, py::arg("n"));
  m.def("set_threads_of_this_thread", [](int n) {
    if (n < 0) throw py::value_error("n_threads must be >= 1 (or 0 for the process's count), got " + std::to_string(n));
    return steepest::set_threads_of_this_thread(n);
  }, py::arg("n"), "The calling thread's own thread count (0: the process's again); returns the previous one.");

  steepest::bindings::bind_ops(m);
  steepest::bindings::bind_training(m);
  steepest::bindings::bind_bench(m);
}
