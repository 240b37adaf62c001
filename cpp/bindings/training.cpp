// The network and its training loop for python/steepest (reached only through
// steepest/engine.py): arrays checked and turned into pointers, the GIL released around the
// work, the core's results turned into Python objects. No training logic lives here.
#include "training.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "arrays.h"
#include "steepest/network.h"
#include "steepest/bfloat16.h"
#include "steepest/trainer.h"

namespace steepest::bindings {
namespace {

template <class T>
constexpr DType dtype_of() {
  return sizeof(T) == 4 ? DType::float32 : DType::float64;
}

// A layer as the Python side describes it: ("dense", in, out, activation),
// ("dropout", features, rate), ("condition", in, classes) or ("gaussian_sample", latent).
LayerSpec parse_layer(const py::handle& item, std::size_t index) {
  py::tuple t = py::cast<py::tuple>(item);
  const std::string kind = py::cast<std::string>(t[0]);
  LayerSpec layer{};
  if (kind == "dense" && t.size() == 4) {
    layer.kind = LayerSpec::Kind::dense;
    layer.in_features = py::cast<index_t>(t[1]);
    layer.out_features = py::cast<index_t>(t[2]);
    layer.activation = parse_activation("Network", py::cast<std::string>(t[3]));
  } else if (kind == "dropout" && t.size() == 3) {
    layer.kind = LayerSpec::Kind::dropout;
    layer.in_features = layer.out_features = py::cast<index_t>(t[1]);
    layer.dropout_rate = py::cast<double>(t[2]);
  } else if (kind == "condition" && t.size() == 3) {
    layer.kind = LayerSpec::Kind::condition;
    layer.in_features = py::cast<index_t>(t[1]);
    layer.classes = py::cast<index_t>(t[2]);
    layer.out_features = layer.in_features + layer.classes;
  } else if (kind == "gaussian_sample" && t.size() == 2) {
    layer.kind = LayerSpec::Kind::gaussian_sample;
    layer.out_features = py::cast<index_t>(t[1]);
    layer.in_features = 2 * layer.out_features;
  } else {
    throw py::value_error("Network: layer " + std::to_string(index) +
                          " must be ('dense', in, out, activation), ('dropout', features, rate), "
                          "('condition', in, classes) or ('gaussian_sample', latent)");
  }
  return layer;
}

template <class T>
py::array view(py::object owner, T* data, std::vector<index_t> shape) {
  std::vector<index_t> strides(shape.size());
  index_t stride = sizeof(T);
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return py::array_t<T>(shape, strides, data, owner);
}

template <class T>
const LayerSpec& dense_layer(const Network<T>& network, index_t index) {
  const auto& layers = network.layers();
  if (index < 0 || index >= static_cast<index_t>(layers.size()) || layers[index].kind != LayerSpec::Kind::dense)
    throw py::index_error("layer " + std::to_string(index) + " is not a dense layer of this network");
  return layers[index];
}

// A sparse X as the engine hands it over, (indptr, indices, values) of a CSR matrix with
// `columns` columns: int64, int64 and the model's dtype, C-contiguous, checked to be one
// (the core reads them without bounds checks).
template <class T>
struct SparseRows {
  py::array_t<std::int64_t, py::array::c_style> indptr, indices;
  py::array values;
  CsrRows<T> csr;
  index_t rows = 0;

  SparseRows(const char* fn, py::tuple parts, index_t columns) {
    if (parts.size() != 3) throw py::value_error(std::string(fn) + ": a sparse X is (indptr, indices, values)");
    indptr = py::cast<py::array_t<std::int64_t, py::array::c_style>>(parts[0]);
    indices = py::cast<py::array_t<std::int64_t, py::array::c_style>>(parts[1]);
    values = py::reinterpret_borrow<py::array>(parts[2]);
    require_same_dtype(fn, "X", values, dtype_of<T>(), "the model");
    if (!(values.flags() & py::array::c_style)) throw py::value_error(std::string(fn) + ": X's values must be C-contiguous");
    rows = indptr.size() - 1;
    const std::int64_t* p = indptr.data();
    const std::int64_t* c = indices.data();
    const index_t nnz = indices.size();
    if (rows < 0 || p[0] != 0 || p[rows] != nnz || values.size() != nnz)
      throw py::value_error(std::string(fn) + ": X's CSR arrays do not agree (indptr, indices, values)");
    for (index_t r = 0; r < rows; ++r)
      if (p[r + 1] < p[r]) throw py::value_error(std::string(fn) + ": X's indptr must not decrease");
    for (index_t k = 0; k < nnz; ++k)
      if (c[k] < 0 || c[k] >= columns)
        throw py::value_error(std::string(fn) + ": X has a column index " + std::to_string(c[k]) +
                              " outside the model's " + std::to_string(columns) + " input features");
    csr = {p, c, static_cast<const T*>(values.data())};
  }
};

template <class T>
py::array predict(Network<T>& network, py::handle x_value, index_t batch_rows) {
  const char* fn = "predict";
  if (batch_rows < 1) throw py::value_error("predict: batch_size must be >= 1");
  auto interrupted = [] {
    py::gil_scoped_acquire acquire;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  };
  if (py::isinstance<py::tuple>(x_value)) {
    const SparseRows<T> sparse(fn, py::reinterpret_borrow<py::tuple>(x_value), network.input_features());
    py::array y = new_array(dtype_of<T>(), {sparse.rows, network.output_features()});
    T* out = static_cast<T*>(y.mutable_data());
    py::gil_scoped_release release;
    network.predict(sparse.csr, sparse.rows, out, batch_rows, interrupted);
    return y;
  }
  py::array x = contiguous_input(fn, "X", x_value, dtype_of<T>());
  require_ndim(fn, "X", x, 2, "(samples, features)");
  require_dim(fn, "X", x, 1, network.input_features(), "the model's input features");
  py::array y = new_array(dtype_of<T>(), {x.shape(0), network.output_features()});
  const T* px = static_cast<const T*>(x.data());
  T* py_ = static_cast<T*>(y.mutable_data());
  {
    py::gil_scoped_release release;
    network.predict(px, x.shape(0), py_, batch_rows, interrupted);
  }
  return y;
}

// The data of a run or an evaluation, checked against the network: X (rows x inputs) and
// either float targets y (rows x outputs) or integer labels (rows,), C-contiguous, and
// optionally a weight per row.
template <class T>
struct Batches {
  py::array x, held_targets, held_conditions, held_weights;
  std::optional<SparseRows<T>> sparse;
  Samples<T> samples;
  index_t rows = 0;
  index_t classes_of_conditions = 0;

  Batches(const Network<T>& network, py::handle x_value, py::object target_value, py::object labels_value,
          py::object conditions_value, py::object weights_value) {
    const char* fn = "fit";
    if (py::isinstance<py::tuple>(x_value)) {
      sparse.emplace(fn, py::reinterpret_borrow<py::tuple>(x_value), network.input_features());
      rows = sparse->rows;
      samples.csr = sparse->csr;
    } else {
      x = py::reinterpret_borrow<py::array>(x_value);
      require_same_dtype(fn, "X", x, dtype_of<T>(), "the model");
      require_ndim(fn, "X", x, 2, "(samples, features)");
      if (!(x.flags() & py::array::c_style)) throw py::value_error("fit: X must be C-contiguous here");
      require_dim(fn, "X", x, 1, network.input_features(), "the model's input features");
      rows = x.shape(0);
      samples.x = static_cast<const T*>(x.data());
    }
    if (!labels_value.is_none()) {
      py::array_t<std::int64_t, py::array::c_style> l = py::cast<py::array_t<std::int64_t, py::array::c_style>>(labels_value);
      if (l.size() != rows) throw py::value_error("fit: labels must have one entry per row of X");
      held_targets = l;
      samples.labels = l.data();
    } else {
      held_targets = py::reinterpret_borrow<py::array>(target_value);
      require_same_dtype(fn, "y", held_targets, dtype_of<T>(), "the model");
      require_ndim(fn, "y", held_targets, 2, "(samples, outputs)");
      if (!(held_targets.flags() & py::array::c_style)) throw py::value_error("fit: y must be C-contiguous here");
      require_dim(fn, "y", held_targets, 0, rows, "the rows of X");
      require_dim(fn, "y", held_targets, 1, network.output_features(), "the model's outputs");
      samples.target = static_cast<const T*>(held_targets.data());
    }
    for (const LayerSpec& layer : network.layers())
      if (layer.kind == LayerSpec::Kind::condition) classes_of_conditions = layer.classes;
    if (classes_of_conditions > 0) {
      if (conditions_value.is_none()) throw py::value_error("fit: a conditional model needs the class of every row");
      py::array_t<std::int64_t, py::array::c_style> c =
          py::cast<py::array_t<std::int64_t, py::array::c_style>>(conditions_value);
      if (c.size() != rows) throw py::value_error("fit: conditions must have one entry per row of X");
      held_conditions = c;
      samples.conditions = c.data();
    }
    if (!weights_value.is_none()) {
      held_weights = py::reinterpret_borrow<py::array>(weights_value);
      require_same_dtype(fn, "sample_weight", held_weights, dtype_of<T>(), "the model");
      require_ndim(fn, "sample_weight", held_weights, 1, "(samples,)");
      if (!(held_weights.flags() & py::array::c_style)) throw py::value_error("fit: sample_weight must be C-contiguous here");
      require_dim(fn, "sample_weight", held_weights, 0, rows, "the rows of X");
      samples.weights = static_cast<const T*>(held_weights.data());
      for (index_t i = 0; i < rows; ++i)
        if (!(samples.weights[i] >= T(0)) || !std::isfinite(samples.weights[i]))
          throw py::value_error("fit: sample_weight must be finite and >= 0");
    }
  }

  // Rows must index X, and their labels must be classes of the network: checked here, since
  // the core reads them without bounds checks.
  void check_rows(const Network<T>& network, const std::int64_t* order, index_t begin, index_t end) const {
    const index_t classes = network.output_features();
    for (index_t i = begin; i < end; ++i) {
      const std::int64_t row = order ? order[i] : i;
      if (row < 0 || row >= rows) throw py::value_error("fit: sample index " + std::to_string(row) + " out of range");
      if (samples.labels && (samples.labels[row] < 0 || samples.labels[row] >= classes))
        throw py::value_error("fit: label " + std::to_string(samples.labels[row]) + " is outside [0, " +
                              std::to_string(classes) + ")");
      if (samples.conditions && (samples.conditions[row] < 0 || samples.conditions[row] >= classes_of_conditions))
        throw py::value_error("fit: class " + std::to_string(samples.conditions[row]) + " is outside [0, " +
                              std::to_string(classes_of_conditions) + ")");
    }
  }
};

py::dict as_dict(const RunResult& result) {
  py::dict out;
  out["loss_sum"] = result.loss_sum;
  out["reconstruction_sum"] = result.reconstruction_sum;
  out["kl_sum"] = result.kl_sum;
  out["penalty_sum"] = result.penalty_sum;
  out["samples"] = result.samples;
  out["batches"] = result.batches;
  out["nonfinite_batch"] = result.nonfinite_batch;
  out["judged"] = result.judged;
  out["correct"] = result.correct;
  return out;
}

template <class T>
py::dict run(Trainer<T>& trainer, py::handle x_value, py::object target_value, py::object labels_value,
             py::object conditions_value, py::object weights_value, py::handle order_value, index_t first_batch,
             index_t last_batch, double lr, double lr_growth, py::object batch_losses_value) {
  const Network<T>& network = trainer.network();
  const Batches<T> data(network, x_value, target_value, labels_value, conditions_value, weights_value);
  py::array_t<std::int64_t, py::array::c_style> order = py::cast<py::array_t<std::int64_t, py::array::c_style>>(order_value);
  const index_t n = order.size();
  const index_t batch_size = trainer.batch_size();
  const index_t used_end = last_batch * batch_size < n ? last_batch * batch_size : n;
  data.check_rows(network, order.data(), first_batch * batch_size, used_end);
  if (!(lr_growth > 0 && std::isfinite(lr_growth))) throw py::value_error("fit: lr_growth must be finite and > 0");
  double* batch_losses = nullptr;
  if (!batch_losses_value.is_none()) {
    // The caller's array, written in place: float64, C-contiguous, one entry per batch of the run.
    using Losses = py::array_t<double, py::array::c_style>;
    if (!py::isinstance<Losses>(batch_losses_value))
      throw py::value_error("fit: batch_losses must be a C-contiguous float64 array");
    Losses out = py::reinterpret_borrow<Losses>(batch_losses_value);
    if (!out.writeable() || out.ndim() != 1 || out.shape(0) < last_batch - first_batch)
      throw py::value_error("fit: batch_losses must be writable, with one entry per batch of the run");
    batch_losses = out.mutable_data();
  }
  RunResult result;
  {
    py::gil_scoped_release release;
    result = trainer.run(data.samples, order.data(), n, first_batch, last_batch, T(lr), lr_growth, batch_losses);
  }
  return as_dict(result);
}

template <class T>
py::dict evaluate(Trainer<T>& trainer, py::handle x_value, py::object target_value, py::object labels_value,
                  py::object conditions_value, py::object weights_value, bool per_row) {
  const Batches<T> data(trainer.network(), x_value, target_value, labels_value, conditions_value, weights_value);
  data.check_rows(trainer.network(), nullptr, 0, data.rows);
  py::array_t<double> rows_loss(per_row ? data.rows : 0);
  double* per_row_out = per_row ? rows_loss.mutable_data() : nullptr;
  RunResult result;
  {
    py::gil_scoped_release release;
    result = trainer.evaluate(data.samples, data.rows, per_row_out);
  }
  py::dict out = as_dict(result);
  if (per_row) out["per_row"] = rows_loss;
  return out;
}

// (loss, gradient): the loss over all rows and its gradient (parameter_count values), for a
// full-batch optimizer; the gradient array is the caller's, reused from call to call.
template <class T>
double loss_and_gradient(Trainer<T>& trainer, py::handle x_value, py::object target_value, py::object labels_value,
                         py::object conditions_value, py::object weights_value,
                         py::array_t<T, py::array::c_style> gradient) {
  const Batches<T> data(trainer.network(), x_value, target_value, labels_value, conditions_value, weights_value);
  data.check_rows(trainer.network(), nullptr, 0, data.rows);
  if (gradient.ndim() != 1 || gradient.size() != trainer.network().parameter_count())
    throw py::value_error("loss_and_gradient: gradient must be a vector of the " +
                          std::to_string(trainer.network().parameter_count()) + " parameters");
  T* out = gradient.mutable_data();
  py::gil_scoped_release release;
  return trainer.loss_and_gradient(data.samples, data.rows, out);
}

// Per layer: None for a layer without diagnostics, else a dict whose measures that do not
// apply to the layer are None.
template <class T>
py::list diagnostics(const Trainer<T>& trainer) {
  auto measure = [](double value) { return std::isnan(value) ? py::none() : py::object(py::float_(value)); };
  py::list out;
  for (const LayerReport& report : trainer.diagnostics()) {
    if (!report.kl_per_dimension.empty()) {
      py::dict entry;
      entry["kl_per_dimension"] = report.kl_per_dimension;
      entry["active_dimensions"] = report.active_dimensions;
      out.append(entry);
      continue;
    }
    if (!report.dense) {
      out.append(py::none());
      continue;
    }
    py::dict entry;
    entry["gradient_norm"] = report.gradient_norm;
    entry["update_ratio"] = report.update_ratio;
    entry["dead_fraction"] = measure(report.dead_fraction);
    entry["saturated_fraction"] = measure(report.saturated_fraction);
    entry["zero_fraction"] = report.zero_fraction;
    out.append(entry);
  }
  return out;
}

// A training session as a Python context manager: __enter__ raises RuntimeError(refusal)
// when another session holds the block.
template <class T>
struct SessionObject {
  typename Network<T>::Session session;
  std::string refusal;
};

template <class T>
void bind_precision(py::module_& m, const char* network_name, const char* session_name, const char* trainer_name) {
  py::class_<SessionObject<T>>(m, session_name)
      .def("__enter__",
           [](SessionObject<T>& s) {
             if (!s.session.enter()) throw std::runtime_error(s.refusal);
           })
      .def(
          "__exit__",
          [](SessionObject<T>& s, const py::object&, const py::object&, const py::object&) {
            s.session.leave();
            return false;
          },
          py::arg("exc_type"), py::arg("exc_value"), py::arg("traceback"));

  py::class_<Network<T>>(m, network_name)
      .def(py::init([](const py::sequence& layers) {
             std::vector<LayerSpec> specs;
             for (std::size_t i = 0; i < layers.size(); ++i) specs.push_back(parse_layer(layers[i], i));
             return new Network<T>(std::move(specs));
           }),
           py::arg("layers"))
      .def_property_readonly("input_features", &Network<T>::input_features)
      .def_property_readonly("output_features", &Network<T>::output_features)
      .def_property_readonly("parameter_count", &Network<T>::parameter_count)
      .def_property_readonly("parameters",
                             [](py::object self) {
                               Network<T>& net = self.cast<Network<T>&>();
                               return view<T>(self, net.parameters(), {net.parameter_count()});
                             })
      .def("weight",
           [](py::object self, index_t layer) {
             Network<T>& net = self.cast<Network<T>&>();
             const LayerSpec& spec = dense_layer(net, layer);
             return view<T>(self, net.parameters() + spec.weight_offset, {spec.in_features, spec.out_features});
           },
           py::arg("layer"))
      .def("bias",
           [](py::object self, index_t layer) {
             Network<T>& net = self.cast<Network<T>&>();
             const LayerSpec& spec = dense_layer(net, layer);
             return view<T>(self, net.parameters() + spec.bias_offset, {spec.out_features});
           },
           py::arg("layer"))
      .def("predict", &predict<T>, py::arg("x"), py::arg("batch_size"))
      .def("copy_parameters",
           [](const Network<T>& net) {
             py::array_t<T> out(net.parameter_count());
             T* destination = out.mutable_data();
             py::gil_scoped_release release;
             net.copy_parameters(destination);
             return out;
           })
      .def("assign_parameters",
           [](Network<T>& net, py::array_t<T, py::array::c_style | py::array::forcecast> values, std::uint64_t writer) {
             if (values.size() != net.parameter_count())
               throw py::value_error("parameters must have " + std::to_string(net.parameter_count()) + " values");
             const T* source = values.data();
             py::gil_scoped_release release;
             return net.assign_parameters(source, writer);
           },
           py::arg("values"), py::arg("writer"),
           "Overwrite the parameters; False (nothing written) while another thread's session trains them.")
      .def("session",
           [](Network<T>& net, std::uint64_t owner, std::string refusal) {
             return new SessionObject<T>{{net, owner}, std::move(refusal)};
           },
           py::arg("owner"), py::arg("refusal"), py::keep_alive<0, 1>(),
           "A training session of the block for `owner`, to enter with `with` (RuntimeError(refusal) if another holds it).")
      .def_property_readonly("training_owner", &Network<T>::training_owner)
      .def("layers_between",
           [](Network<T>& whole, index_t first, index_t last) { return new Network<T>(whole, first, last); },
           py::arg("first"), py::arg("last"), py::keep_alive<0, 1>(),
           "A network of layers [first, last) sharing this network's parameters.");

  py::class_<Trainer<T>>(m, trainer_name)
      .def(py::init([](Network<T>& network, index_t batch_size, const std::string& loss, const std::string& optimizer,
                       double momentum, bool nesterov, double beta1, double beta2, double eps, double l1, double l2,
                       bool l1_proximal, bool eps_before_correction, double loss_scale, const std::string& noise,
                       double noise_amount, bool penalty_per_weight, std::uint64_t seed, bool diagnostics) {
             OptimizerConfig config;
             config.kind = steepest::parse_optimizer(optimizer);
             config.momentum = momentum;
             config.nesterov = nesterov;
             config.beta1 = beta1;
             config.beta2 = beta2;
             config.eps = eps;
             config.l1 = l1;
             config.l2 = l2;
             config.l1_proximal = l1_proximal;
             config.eps_before_correction = eps_before_correction;
             Objective objective;
             objective.loss_scale = loss_scale;
             objective.noise = steepest::parse_input_noise(noise);
             objective.noise_amount = noise_amount;
             objective.penalty_per_weight = penalty_per_weight;
             return new Trainer<T>(network, batch_size, steepest::parse_loss(loss), config, objective, seed,
                                   diagnostics);
           }),
           py::arg("network"), py::arg("batch_size"), py::arg("loss"), py::arg("optimizer"), py::arg("momentum"),
           py::arg("nesterov"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("l1"), py::arg("l2"),
           py::arg("l1_proximal"), py::arg("eps_before_correction"), py::arg("loss_scale"), py::arg("noise"), py::arg("noise_amount"),
           py::arg("penalty_per_weight"), py::arg("seed"), py::arg("diagnostics"),
           py::keep_alive<1, 2>())
      .def("run", &run<T>, py::arg("x"), py::arg("target"), py::arg("labels"), py::arg("conditions"),
           py::arg("weights"), py::arg("order"), py::arg("first_batch"), py::arg("last_batch"), py::arg("lr"),
           py::arg("lr_growth") = 1.0, py::arg("batch_losses") = py::none())
      .def("evaluate", &evaluate<T>, py::arg("x"), py::arg("target"), py::arg("labels"), py::arg("conditions"),
           py::arg("weights"), py::arg("per_row"))
      .def("loss_and_gradient", &loss_and_gradient<T>, py::arg("x"), py::arg("target"), py::arg("labels"),
           py::arg("conditions"), py::arg("weights"), py::arg("gradient"))
      .def("set_kl_weight", &Trainer<T>::set_kl_weight, py::arg("weight"))
      .def(
          "use_bfloat16_products",
          [](Trainer<T>& trainer) {
            if constexpr (!std::is_same_v<T, float>)
              throw py::value_error("bfloat16 products are for float32 networks");
            trainer.set_bfloat16_products(&steepest::active_bfloat16());
          })
      .def("set_fixed_noise",
           [](Trainer<T>& trainer, std::optional<py::array_t<T, py::array::c_style | py::array::forcecast>> noise) {
             const Network<T>& network = trainer.network();
             index_t latent = 0;
             for (const LayerSpec& layer : network.layers())
               if (layer.kind == LayerSpec::Kind::gaussian_sample) latent = layer.out_features;
             if (!noise) {
               trainer.set_fixed_noise({});
               return;
             }
             if (latent == 0) throw py::value_error("set_fixed_noise: this network has no sampling layer");
             if (noise->ndim() != 2 || noise->shape(1) != latent || noise->shape(0) < trainer.batch_size())
               throw py::value_error("set_fixed_noise: noise must be (at least batch_size, latent) = (" +
                                     std::to_string(trainer.batch_size()) + ", " + std::to_string(latent) + ")");
             trainer.set_fixed_noise(std::vector<T>(noise->data(), noise->data() + noise->size()));
           },
           py::arg("noise"))
      .def("diagnostics", &diagnostics<T>)
      .def("reset_diagnostics", &Trainer<T>::reset_diagnostics)
      .def("copy_state",
           [](const Trainer<T>& trainer) {
             py::array_t<T> parameters(trainer.network().parameter_count());
             T* destination = parameters.mutable_data();
             std::vector<std::vector<T>> arrays;
             index_t steps = 0;
             {
               py::gil_scoped_release release;
               steps = trainer.copy_state(destination, arrays);
             }
             py::list states;
             for (const std::vector<T>& array : arrays) {
               py::array_t<T> out(static_cast<py::ssize_t>(array.size()));
               std::copy(array.begin(), array.end(), out.mutable_data());
               states.append(out);
             }
             return py::make_tuple(steps, parameters, states);
           },
           "(steps, parameters, optimizer arrays) at one batch boundary.")
      .def("restore_state",
           [](Trainer<T>& trainer, index_t steps,
              const std::vector<py::array_t<T, py::array::c_style | py::array::forcecast>>& arrays) {
             std::vector<std::vector<T>> states;
             for (const auto& array : arrays) states.emplace_back(array.data(), array.data() + array.size());
             py::gil_scoped_release release;
             trainer.restore_state(steps, states);
           },
           py::arg("steps"), py::arg("arrays"))
      .def_property_readonly("steps", &Trainer<T>::steps)
      .def_property_readonly("batch_size", &Trainer<T>::batch_size);
}

}  // namespace

void bind_training(py::module_& m) {
  bind_precision<float>(m, "NetworkF32", "TrainingSessionF32", "TrainerF32");
  bind_precision<double>(m, "NetworkF64", "TrainingSessionF64", "TrainerF64");
}

}  // namespace steepest::bindings
