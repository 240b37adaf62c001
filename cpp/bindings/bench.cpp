// steepest._core's benchmark helper: the machine's multiply-add peak, measured with the
// kernels in use (issue 3: the report states how close to the limit each product runs).
#include "bench.h"

#include <string>

#include "steepest/bfloat16.h"
#include "steepest/dispatch.h"

namespace steepest::bindings {

namespace py = pybind11;

void bind_bench(py::module_& m) {
  m.def(
      "fma_throughput",
      [](const std::string& dtype, index_t iterations) {
        if (iterations < 0) throw py::value_error("fma_throughput: iterations must be >= 0");
        const KernelTable& table = active_kernels();
        py::gil_scoped_release release;  // so that one Python thread per core can run it
        if (dtype == "float32") {
          float sink = 1.0f;
          return table.f32.fma_throughput(iterations, &sink);
        }
        if (dtype == "float64") {
          double sink = 1.0;
          return table.f64.fma_throughput(iterations, &sink);
        }
        throw py::value_error("fma_throughput: dtype must be 'float32' or 'float64', got '" + dtype + "'");
      },
      py::arg("dtype"), py::arg("iterations"),
      "Runs `iterations` rounds of independent multiply-add chains with the kernels in use "
      "and returns the floating-point operations done (time it to get the peak).");
  m.def(
      "bfloat16_throughput",
      [](index_t iterations) {
        if (iterations < 0) throw py::value_error("bfloat16_throughput: iterations must be >= 0");
        const Bf16KernelSet& bf16 = active_bfloat16();
        if (!bf16.dot_throughput)
          throw py::value_error(std::string("bfloat16_throughput: the bfloat16 level in use (") + bf16.name +
                                ") has no bfloat16 instruction to measure");
        py::gil_scoped_release release;
        float sink = 1.0f;
        return bf16.dot_throughput(iterations, &sink);
      },
      py::arg("iterations"),
      "Runs `iterations` rounds of the bfloat16 level's product instruction on independent "
      "accumulators and returns the floating-point operations done.");
}

}  // namespace steepest::bindings
