// The network and its training loop for python/steepest (reached only through
// steepest/engine.py): arrays checked and turned into pointers, the GIL released around the
// work, the core's results turned into Python objects. No training logic lives here.
#include "training.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <vector>

#include "arrays.h"
#include "steepest/network.h"
#include "steepest/trainer.h"

namespace steepest::bindings {
namespace {

template <class T>
constexpr DType dtype_of() {
  return sizeof(T) == 4 ? DType::float32 : DType::float64;
}

// A layer as the Python side describes it: ("dense", in, out, activation) or
// ("dropout", features, rate).
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
  } else {
    throw py::value_error("Network: layer " + std::to_string(index) +
                          " must be ('dense', in, out, activation) or ('dropout', features, rate)");
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

template <class T>
py::array predict(Network<T>& network, py::handle x_value, index_t batch_rows) {
  const char* fn = "predict";
  py::array x = contiguous_input(fn, "X", x_value, dtype_of<T>());
  require_ndim(fn, "X", x, 2, "(samples, features)");
  require_dim(fn, "X", x, 1, network.input_features(), "the model's input features");
  if (batch_rows < 1) throw py::value_error("predict: batch_size must be >= 1");
  py::array y = new_array(dtype_of<T>(), {x.shape(0), network.output_features()});
  const T* px = static_cast<const T*>(x.data());
  T* py_ = static_cast<T*>(y.mutable_data());
  {
    py::gil_scoped_release release;
    network.predict(px, x.shape(0), py_, batch_rows, [] {
      py::gil_scoped_acquire acquire;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    });
  }
  return y;
}

// The data of a run or an evaluation, checked against the network: X (rows x inputs) and
// either float targets y (rows x outputs) or integer labels (rows,), C-contiguous.
template <class T>
struct Batches {
  py::array x, held_targets;
  const T* target = nullptr;
  const std::int64_t* labels = nullptr;
  index_t rows = 0;

  Batches(const Network<T>& network, py::handle x_value, py::object target_value, py::object labels_value) {
    const char* fn = "fit";
    x = py::reinterpret_borrow<py::array>(x_value);
    require_same_dtype(fn, "X", x, dtype_of<T>(), "the model");
    require_ndim(fn, "X", x, 2, "(samples, features)");
    if (!(x.flags() & py::array::c_style)) throw py::value_error("fit: X must be C-contiguous here");
    require_dim(fn, "X", x, 1, network.input_features(), "the model's input features");
    rows = x.shape(0);
    if (!labels_value.is_none()) {
      py::array_t<std::int64_t, py::array::c_style> l = py::cast<py::array_t<std::int64_t, py::array::c_style>>(labels_value);
      if (l.size() != rows) throw py::value_error("fit: labels must have one entry per row of X");
      held_targets = l;
      labels = l.data();
    } else {
      held_targets = py::reinterpret_borrow<py::array>(target_value);
      require_same_dtype(fn, "y", held_targets, dtype_of<T>(), "the model");
      require_ndim(fn, "y", held_targets, 2, "(samples, outputs)");
      if (!(held_targets.flags() & py::array::c_style)) throw py::value_error("fit: y must be C-contiguous here");
      require_dim(fn, "y", held_targets, 0, rows, "the rows of X");
      require_dim(fn, "y", held_targets, 1, network.output_features(), "the model's outputs");
      target = static_cast<const T*>(held_targets.data());
    }
  }

  const T* inputs() const { return static_cast<const T*>(x.data()); }

  // Rows must index X, and their labels must be classes of the network: checked here, since
  // the core reads them without bounds checks.
  void check_rows(const Network<T>& network, const std::int64_t* order, index_t begin, index_t end) const {
    const index_t classes = network.output_features();
    for (index_t i = begin; i < end; ++i) {
      const std::int64_t row = order ? order[i] : i;
      if (row < 0 || row >= rows) throw py::value_error("fit: sample index " + std::to_string(row) + " out of range");
      if (labels && (labels[row] < 0 || labels[row] >= classes))
        throw py::value_error("fit: label " + std::to_string(labels[row]) + " is outside [0, " +
                              std::to_string(classes) + ")");
    }
  }
};

py::dict as_dict(const RunResult& result) {
  py::dict out;
  out["loss_sum"] = result.loss_sum;
  out["samples"] = result.samples;
  out["batches"] = result.batches;
  out["nonfinite_batch"] = result.nonfinite_batch;
  out["judged"] = result.judged;
  out["correct"] = result.correct;
  return out;
}

template <class T>
py::dict run(Trainer<T>& trainer, py::handle x_value, py::object target_value, py::object labels_value,
             py::handle order_value, index_t first_batch, index_t last_batch, double lr, double lr_growth,
             py::object batch_losses_value) {
  const Network<T>& network = trainer.network();
  const Batches<T> data(network, x_value, target_value, labels_value);
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
    result = trainer.run(data.inputs(), data.target, data.labels, order.data(), n, first_batch, last_batch, T(lr),
                         lr_growth, batch_losses);
  }
  return as_dict(result);
}

template <class T>
py::dict evaluate(Trainer<T>& trainer, py::handle x_value, py::object target_value, py::object labels_value) {
  const Batches<T> data(trainer.network(), x_value, target_value, labels_value);
  data.check_rows(trainer.network(), nullptr, 0, data.rows);
  RunResult result;
  {
    py::gil_scoped_release release;
    result = trainer.evaluate(data.inputs(), data.target, data.labels, data.rows);
  }
  return as_dict(result);
}

// Per layer: None for a layer without diagnostics, else a dict whose measures that do not
// apply to the layer are None.
template <class T>
py::list diagnostics(const Trainer<T>& trainer) {
  auto measure = [](double value) { return std::isnan(value) ? py::none() : py::object(py::float_(value)); };
  py::list out;
  for (const LayerReport& report : trainer.diagnostics()) {
    if (!report.dense) {
      out.append(py::none());
      continue;
    }
    py::dict entry;
    entry["gradient_norm"] = report.gradient_norm;
    entry["update_ratio"] = report.update_ratio;
    entry["dead_fraction"] = measure(report.dead_fraction);
    entry["saturated_fraction"] = measure(report.saturated_fraction);
    out.append(entry);
  }
  return out;
}

template <class T>
void bind_precision(py::module_& m, const char* network_name, const char* trainer_name) {
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
           [](Network<T>& net, py::array_t<T, py::array::c_style | py::array::forcecast> values) {
             if (values.size() != net.parameter_count())
               throw py::value_error("parameters must have " + std::to_string(net.parameter_count()) + " values");
             const T* source = values.data();
             py::gil_scoped_release release;
             net.assign_parameters(source);
           },
           py::arg("values"))
      .def("begin_training", &Network<T>::begin_training, py::arg("owner"))
      .def("end_training", &Network<T>::end_training, py::arg("owner"))
      .def_property_readonly("training_owner", &Network<T>::training_owner)
      .def("layers_between",
           [](Network<T>& whole, index_t first, index_t last) { return new Network<T>(whole, first, last); },
           py::arg("first"), py::arg("last"), py::keep_alive<0, 1>(),
           "A network of layers [first, last) sharing this network's parameters.");

  py::class_<Trainer<T>>(m, trainer_name)
      .def(py::init([](Network<T>& network, index_t batch_size, const std::string& loss, const std::string& optimizer,
                       double momentum, bool nesterov, double beta1, double beta2, double eps, double l1, double l2,
                       std::uint64_t seed, bool diagnostics) {
             OptimizerConfig config;
             config.kind = steepest::parse_optimizer(optimizer);
             config.momentum = momentum;
             config.nesterov = nesterov;
             config.beta1 = beta1;
             config.beta2 = beta2;
             config.eps = eps;
             config.l1 = l1;
             config.l2 = l2;
             return new Trainer<T>(network, batch_size, steepest::parse_loss(loss), config, seed, diagnostics);
           }),
           py::arg("network"), py::arg("batch_size"), py::arg("loss"), py::arg("optimizer"), py::arg("momentum"),
           py::arg("nesterov"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("l1"), py::arg("l2"),
           py::arg("seed"), py::arg("diagnostics"), py::keep_alive<1, 2>())
      .def("run", &run<T>, py::arg("x"), py::arg("target"), py::arg("labels"), py::arg("order"),
           py::arg("first_batch"), py::arg("last_batch"), py::arg("lr"), py::arg("lr_growth") = 1.0,
           py::arg("batch_losses") = py::none())
      .def("evaluate", &evaluate<T>, py::arg("x"), py::arg("target"), py::arg("labels"))
      .def("diagnostics", &diagnostics<T>)
      .def("reset_diagnostics", &Trainer<T>::reset_diagnostics)
      .def_property_readonly("steps", &Trainer<T>::steps)
      .def_property_readonly("batch_size", &Trainer<T>::batch_size);
}

}  // namespace

void bind_training(py::module_& m) {
  bind_precision<float>(m, "NetworkF32", "TrainerF32");
  bind_precision<double>(m, "NetworkF64", "TrainerF64");
}

}  // namespace steepest::bindings
