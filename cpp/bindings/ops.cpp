// steepest._core's kernel functions, wrapped by python/steepest/ops.py: arrays in, pointers
// to the dispatched kernels, the GIL released around any work worth the round trip.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "arrays.h"
#include "ops.h"
#include "steepest/bfloat16.h"
#include "steepest/dense.h"
#include "steepest/dispatch.h"
#include "steepest/gemm.h"

namespace steepest::bindings {
namespace {

// Below this many multiply-adds (or elements) the GIL is kept: releasing and taking it back
// costs more than the work.
constexpr double kReleaseGilAbove = 1 << 15;

class ReleaseGilFor {
 public:
  explicit ReleaseGilFor(double work) {
    if (work > kReleaseGilAbove) release_.emplace();
  }

 private:
  std::optional<py::gil_scoped_release> release_;
};

template <class F>
auto with_dtype(DType dtype, F&& f) {
  if (dtype == DType::float32) return f(float{});
  return f(double{});
}

template <class T>
T* data(py::array& array) {
  return static_cast<T*>(array.mutable_data());
}
template <class T>
const T* cdata(const py::array& array) {
  return static_cast<const T*>(array.data());
}

// A 2-D input, C-contiguous; a Fortran-ordered one is used as its C-contiguous transpose with
// the transpose flag flipped, so it is not copied.
py::array matrix_input(const char* function, const char* name, py::handle value, DType dtype, bool& transposed) {
  require_same_dtype(function, name, value, dtype, "a");
  py::array array = py::reinterpret_borrow<py::array>(value);
  require_ndim(function, name, array, 2, "(rows, cols)");
  if (array.flags() & py::array::c_style) return array;
  if (array.flags() & py::array::f_style) {
    transposed = !transposed;
    return array.attr("T").cast<py::array>();
  }
  return contiguous_copy(array);
}

void require_no_overlap(const char* function, const py::array& out, const py::array& input, const char* input_name) {
  const char* out_begin = static_cast<const char*>(out.data());
  const char* in_begin = static_cast<const char*>(input.data());
  if (out_begin < in_begin + input.nbytes() && in_begin < out_begin + out.nbytes())
    throw py::value_error(std::string(function) + ": argument 'out' overlaps '" + input_name +
                          "'; pass a separate output array");
}

py::array output_or_new(const char* function, py::object out, DType dtype, const std::vector<index_t>& shape) {
  if (out.is_none()) return new_array(dtype, shape);
  return in_place_output(function, "out", out, dtype, shape);
}

py::array matmul(py::handle a_value, py::handle b_value, bool trans_a, bool trans_b, py::object out_value,
                 const std::string& precision) {
  const char* fn = "matmul";
  if (precision != "float32" && precision != "bfloat16")
    throw py::value_error("matmul: precision must be 'float32' or 'bfloat16', got '" + precision + "'");
  const bool bf16 = precision == "bfloat16";
  const DType dtype = float_dtype(fn, "a", a_value);
  if (bf16 && dtype != DType::float32)
    throw py::value_error("matmul: precision='bfloat16' multiplies float32 arrays (its products accumulate in "
                          "float32); got float64");
  py::array a = matrix_input(fn, "a", a_value, dtype, trans_a);
  py::array b = matrix_input(fn, "b", b_value, dtype, trans_b);
  const index_t M = trans_a ? a.shape(1) : a.shape(0), K = trans_a ? a.shape(0) : a.shape(1);
  const index_t Kb = trans_b ? b.shape(1) : b.shape(0), N = trans_b ? b.shape(0) : b.shape(1);
  if (K != Kb)
    throw py::value_error("matmul: inner dimensions differ: op(a) is " + std::to_string(M) + "x" + std::to_string(K) +
                          " but op(b) is " + std::to_string(Kb) + "x" + std::to_string(N));
  py::array out = output_or_new(fn, out_value, dtype, {M, N});
  require_no_overlap(fn, out, a, "a");
  require_no_overlap(fn, out, b, "b");
  with_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto& kernels = kernels_for<T>(active_kernels());
    const T *pa = cdata<T>(a), *pb = cdata<T>(b);
    T* pc = data<T>(out);
    ReleaseGilFor release(double(M) * N * K);
    if constexpr (std::is_same_v<T, float>) {
      if (bf16) {
        gemm_bfloat16(active_bfloat16(), kernels, M, N, K, pa, a.shape(1), trans_a, pb, b.shape(1), trans_b, pc, N);
        return 0;
      }
    }
    gemm(kernels, M, N, K, pa, a.shape(1), trans_a, pb, b.shape(1), trans_b, pc, N);
    return 0;
  });
  return out;
}

py::array dense_forward(py::handle x_value, py::handle weight_value, py::object bias_value, const std::string& name,
                        py::object out_value) {
  const char* fn = "dense_forward";
  const Activation activation = parse_activation(fn, name);
  const DType dtype = float_dtype(fn, "x", x_value);
  py::array x = contiguous_input(fn, "x", x_value, dtype);
  py::array weight = contiguous_input(fn, "weight", weight_value, dtype);
  require_ndim(fn, "x", x, 2, "(batch, in_features)");
  require_ndim(fn, "weight", weight, 2, "(in_features, out_features)");
  const index_t M = x.shape(0), K = x.shape(1), N = weight.shape(1);
  require_dim(fn, "weight", weight, 0, K, "x's in_features");
  std::optional<py::array> bias;
  if (!bias_value.is_none()) {
    bias = contiguous_input(fn, "bias", bias_value, dtype);
    require_ndim(fn, "bias", *bias, 1, "(out_features,)");
    require_dim(fn, "bias", *bias, 0, N, "weight's out_features");
  }
  py::array out = output_or_new(fn, out_value, dtype, {M, N});
  require_no_overlap(fn, out, x, "x");
  require_no_overlap(fn, out, weight, "weight");
  if (bias) require_no_overlap(fn, out, *bias, "bias");
  with_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto& kernels = kernels_for<T>(active_kernels());
    const T* pb = bias ? cdata<T>(*bias) : nullptr;
    const T *px = cdata<T>(x), *pw = cdata<T>(weight);
    T* py_ = data<T>(out);
    ReleaseGilFor release(double(M) * N * K);
    steepest::dense_forward(kernels, M, K, N, px, pw, pb, activation, py_);
    return 0;
  });
  return out;
}

py::tuple dense_backward(py::handle x_value, py::handle weight_value, py::handle y_value, py::handle dy_value,
                         const std::string& name) {
  const char* fn = "dense_backward";
  const Activation activation = parse_activation(fn, name);
  const DType dtype = float_dtype(fn, "x", x_value);
  py::array x = contiguous_input(fn, "x", x_value, dtype);
  py::array weight = contiguous_input(fn, "weight", weight_value, dtype);
  py::array y = contiguous_input(fn, "y", y_value, dtype);
  py::array dy = contiguous_input(fn, "dy", dy_value, dtype);
  require_ndim(fn, "x", x, 2, "(batch, in_features)");
  require_ndim(fn, "weight", weight, 2, "(in_features, out_features)");
  const index_t M = x.shape(0), K = x.shape(1), N = weight.shape(1);
  require_dim(fn, "weight", weight, 0, K, "x's in_features");
  for (auto [array, label] : {std::pair<py::array*, const char*>{&y, "y"}, {&dy, "dy"}}) {
    require_ndim(fn, label, *array, 2, "(batch, out_features)");
    require_dim(fn, label, *array, 0, M, "x's batch size");
    require_dim(fn, label, *array, 1, N, "weight's out_features");
  }
  py::array dx = new_array(dtype, {M, K}), dweight = new_array(dtype, {K, N}), dbias = new_array(dtype, {N});
  py::array dz = new_array(dtype, {M, N});
  with_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto& kernels = kernels_for<T>(active_kernels());
    const T *px = cdata<T>(x), *pw = cdata<T>(weight), *py_ = cdata<T>(y), *pdy = cdata<T>(dy);
    T *pdz = data<T>(dz), *pdx = data<T>(dx), *pdw = data<T>(dweight), *pdb = data<T>(dbias);
    ReleaseGilFor release(2.0 * M * N * K);
    steepest::dense_backward(kernels, M, K, N, px, pw, py_, pdy, activation, pdz, pdx, pdw, pdb);
    return 0;
  });
  return py::make_tuple(dx, dweight, dbias);
}

// rows x cols view of an array for the activations: softmax runs over the last axis.
void rows_and_cols(const char* fn, const py::array& array, Activation activation, index_t& rows, index_t& cols) {
  if (activation == Activation::softmax) {
    if (array.ndim() < 1) throw py::value_error(std::string(fn) + ": softmax needs at least 1-D input");
    cols = array.shape(array.ndim() - 1);
    rows = cols > 0 ? array.size() / cols : 0;
  } else {
    rows = 1;
    cols = array.size();
  }
}

std::vector<index_t> shape_of(const py::array& array) {
  return std::vector<index_t>(array.shape(), array.shape() + array.ndim());
}

py::array activation_forward(const std::string& name, py::handle x_value) {
  const char* fn = "activation";
  const Activation activation = parse_activation(fn, name);
  const DType dtype = float_dtype(fn, "x", x_value);
  py::array x = contiguous_input(fn, "x", x_value, dtype);
  index_t rows, cols;
  rows_and_cols(fn, x, activation, rows, cols);
  py::array y = new_array(dtype, shape_of(x));
  with_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto& kernels = kernels_for<T>(active_kernels());
    const T* px = cdata<T>(x);
    T* py_ = data<T>(y);
    ReleaseGilFor release(double(x.size()));
    steepest::activation_forward(kernels, activation, rows, cols, px, py_);
    return 0;
  });
  return y;
}

py::array activation_backward(const std::string& name, py::handle y_value, py::handle dy_value) {
  const char* fn = "activation_backward";
  const Activation activation = parse_activation(fn, name);
  const DType dtype = float_dtype(fn, "y", y_value);
  py::array y = contiguous_input(fn, "y", y_value, dtype);
  py::array dy = contiguous_input(fn, "dy", dy_value, dtype);
  if (shape_of(dy) != shape_of(y))
    throw py::value_error("activation_backward: argument 'dy' must have the shape of 'y' " + shape_string(y) +
                          ", got " + shape_string(dy));
  index_t rows, cols;
  rows_and_cols(fn, y, activation, rows, cols);
  py::array dx = new_array(dtype, shape_of(y));
  with_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto& kernels = kernels_for<T>(active_kernels());
    const T *py_ = cdata<T>(y), *pdy = cdata<T>(dy);
    T* pdx = data<T>(dx);
    ReleaseGilFor release(double(y.size()));
    steepest::activation_backward(kernels, activation, rows, cols, py_, pdy, pdx);
    return 0;
  });
  return dx;
}

template <class T>
void require_probabilities(const py::array& pred) {
  const T* p = cdata<T>(pred);
  for (index_t i = 0; i < pred.size(); ++i)
    if (!(p[i] >= T(0) && p[i] <= T(1)))
      throw py::value_error("loss: binary_cross_entropy takes probabilities in [0, 1] in 'pred'; element " +
                            std::to_string(i) + " is " + std::to_string(double(p[i])) +
                            " (use binary_cross_entropy_with_logits for logits)");
}

py::array int64_labels(const py::array& target, index_t rows, index_t classes) {
  if (target.ndim() != 1 || target.shape(0) != rows)
    throw py::value_error("loss: softmax_cross_entropy labels 'target' must have shape (" + std::to_string(rows) +
                          ",), got " + shape_string(target));
  py::array_t<std::int64_t, py::array::c_style | py::array::forcecast> labels(target);
  const std::int64_t* l = labels.data();
  for (index_t i = 0; i < rows; ++i)
    if (l[i] < 0 || l[i] >= classes)
      throw py::value_error("loss: label " + std::to_string(l[i]) + " at position " + std::to_string(i) +
                            " of 'target' is outside [0, " + std::to_string(classes) + ")");
  return labels;
}

py::tuple loss(const std::string& name, py::handle pred_value, py::handle target_value) {
  const char* fn = "loss";
  const DType dtype = float_dtype(fn, "pred", pred_value);
  py::array pred = contiguous_input(fn, "pred", pred_value, dtype);
  if (pred.size() == 0) throw py::value_error("loss: argument 'pred' is empty");
  py::array dpred = new_array(dtype, shape_of(pred));
  if (!py::isinstance<py::array>(target_value))
    throw py::type_error("loss: argument 'target' must be a NumPy array");
  py::array target_any = py::reinterpret_borrow<py::array>(target_value);
  const bool integer_target = target_any.dtype().kind() == 'i' || target_any.dtype().kind() == 'u';

  const Loss kind = parse_loss(fn, name);
  double value = 0;
  if (kind == Loss::softmax_cross_entropy) {
    require_ndim(fn, "pred", pred, 2, "(batch, classes) of logits");
    const index_t rows = pred.shape(0), cols = pred.shape(1);
    if (integer_target) {
      py::array labels = int64_labels(target_any, rows, cols);
      with_dtype(dtype, [&](auto zero) {
        using T = decltype(zero);
        const auto& kernels = kernels_for<T>(active_kernels());
        value = kernels.softmax_cross_entropy(rows, cols, cdata<T>(pred), cdata<std::int64_t>(labels), data<T>(dpred));
        return 0;
      });
    } else {
      py::array target = contiguous_input(fn, "target", target_value, dtype);
      if (shape_of(target) != shape_of(pred))
        throw py::value_error("loss: argument 'target' must be integer labels of shape (" + std::to_string(rows) +
                              ",) or class probabilities of shape " + shape_string(pred) + ", got " +
                              shape_string(target));
      with_dtype(dtype, [&](auto zero) {
        using T = decltype(zero);
        const auto& kernels = kernels_for<T>(active_kernels());
        value = kernels.softmax_cross_entropy_dense(rows, cols, cdata<T>(pred), cdata<T>(target), data<T>(dpred));
        return 0;
      });
    }
    return py::make_tuple(value, dpred);
  }

  py::array target = contiguous_input(fn, "target", target_value, dtype);
  if (shape_of(target) != shape_of(pred))
    throw py::value_error("loss: argument 'target' must have the shape of 'pred' " + shape_string(pred) + ", got " +
                          shape_string(target));
  with_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto& kernels = kernels_for<T>(active_kernels());
    const index_t n = pred.size();
    if (kind == Loss::mse) {
      value = kernels.mse(n, cdata<T>(pred), cdata<T>(target), data<T>(dpred));
    } else if (kind == Loss::binary_cross_entropy) {
      require_probabilities<T>(pred);
      value = kernels.binary_cross_entropy(n, cdata<T>(pred), cdata<T>(target), data<T>(dpred));
    } else if (kind == Loss::poisson) {
      value = kernels.poisson_from_log(n, cdata<T>(pred), cdata<T>(target), data<T>(dpred));
    } else {
      value = kernels.sigmoid_binary_cross_entropy(n, cdata<T>(pred), cdata<T>(target), data<T>(dpred));
    }
    return 0;
  });
  return py::make_tuple(value, dpred);
}

void sgd_update(py::handle param_value, py::handle grad_value, py::object velocity_value, double lr, double momentum,
                bool nesterov, double l1, double l2, bool l1_proximal) {
  const char* fn = "sgd_update";
  const DType dtype = float_dtype(fn, "param", param_value);
  py::array param = py::reinterpret_borrow<py::array>(param_value);
  param = in_place_output(fn, "param", param, dtype, shape_of(param));
  py::array grad = contiguous_input(fn, "grad", grad_value, dtype);
  if (shape_of(grad) != shape_of(param))
    throw py::value_error("sgd_update: argument 'grad' must have the shape of 'param' " + shape_string(param) +
                          ", got " + shape_string(grad));
  non_negative(fn, "lr", lr);
  non_negative(fn, "momentum", momentum);
  non_negative(fn, "l1", l1);
  non_negative(fn, "l2", l2);
  if (nesterov && momentum == 0) throw py::value_error("sgd_update: nesterov=True needs momentum > 0");
  std::optional<py::array> velocity;
  if (momentum != 0) {
    if (velocity_value.is_none())
      throw py::value_error("sgd_update: argument 'velocity' is required when momentum != 0 (np.zeros_like(param))");
    velocity = in_place_output(fn, "velocity", velocity_value, dtype, shape_of(param));
  }
  with_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto& kernels = kernels_for<T>(active_kernels());
    T* pv = velocity ? data<T>(*velocity) : nullptr;
    T* pp = data<T>(param);
    const T* pg = cdata<T>(grad);
    ReleaseGilFor release(double(param.size()));
    kernels.sgd_update(param.size(), pp, pg, pv, T(lr), T(momentum), nesterov, T(l1), T(l2), l1_proximal, nullptr);
    return 0;
  });
}

void adam_update(py::handle param_value, py::handle grad_value, py::handle m_value, py::handle v_value, long step,
                 double lr, double beta1, double beta2, double eps, double l1, double l2, bool l1_proximal) {
  const char* fn = "adam_update";
  const DType dtype = float_dtype(fn, "param", param_value);
  py::array param = py::reinterpret_borrow<py::array>(param_value);
  param = in_place_output(fn, "param", param, dtype, shape_of(param));
  py::array grad = contiguous_input(fn, "grad", grad_value, dtype);
  if (shape_of(grad) != shape_of(param))
    throw py::value_error("adam_update: argument 'grad' must have the shape of 'param' " + shape_string(param) +
                          ", got " + shape_string(grad));
  py::array m = in_place_output(fn, "m", m_value, dtype, shape_of(param));
  py::array v = in_place_output(fn, "v", v_value, dtype, shape_of(param));
  if (step < 1) throw py::value_error("adam_update: argument 'step' must be >= 1, got " + std::to_string(step));
  non_negative(fn, "lr", lr);
  non_negative(fn, "eps", eps);
  non_negative(fn, "l1", l1);
  non_negative(fn, "l2", l2);
  if (!(beta1 >= 0 && beta1 < 1)) throw py::value_error("adam_update: argument 'beta1' must be in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) throw py::value_error("adam_update: argument 'beta2' must be in [0, 1)");
  const double correction1 = 1 - std::pow(beta1, double(step)), correction2 = 1 - std::pow(beta2, double(step));
  with_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto& kernels = kernels_for<T>(active_kernels());
    T *pp = data<T>(param), *pm = data<T>(m), *pv = data<T>(v);
    const T* pg = cdata<T>(grad);
    ReleaseGilFor release(double(param.size()));
    kernels.adam_update(param.size(), pp, pg, pm, pv, T(lr), T(beta1), T(beta2), T(eps), T(correction1),
                        T(correction2), T(l1), T(l2), l1_proximal, nullptr);
    return 0;
  });
}

}  // namespace

void bind_ops(py::module_& m) {
  using py::arg;
  m.def("matmul", &matmul, arg("a"), arg("b"), arg("trans_a"), arg("trans_b"), arg("out"),
        arg("precision") = "float32");
  m.def("dense_forward", &dense_forward, arg("x"), arg("weight"), arg("bias"), arg("activation"), arg("out"));
  m.def("dense_backward", &dense_backward, arg("x"), arg("weight"), arg("y"), arg("dy"), arg("activation"));
  m.def("activation", &activation_forward, arg("name"), arg("x"));
  m.def("activation_backward", &activation_backward, arg("name"), arg("y"), arg("dy"));
  m.def("loss", &loss, arg("name"), arg("pred"), arg("target"));
  m.def("sgd_update", &sgd_update, arg("param"), arg("grad"), arg("velocity"), arg("lr"), arg("momentum"),
        arg("nesterov"), arg("l1"), arg("l2"), arg("l1_proximal"));
  m.def("adam_update", &adam_update, arg("param"), arg("grad"), arg("m"), arg("v"), arg("step"), arg("lr"),
        arg("beta1"), arg("beta2"), arg("eps"), arg("l1"), arg("l2"), arg("l1_proximal"));
}

}  // namespace steepest::bindings
