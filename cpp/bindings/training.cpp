// The network and its training loop for python/steepest: parameters exposed as views onto
// the network's own block, training runs with the GIL released.
#include "training.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <chrono>
#include <mutex>
#include <shared_mutex>
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

LossKind parse_loss(const std::string& name) {
  if (name == "mse") return LossKind::mse;
  if (name == "binary_cross_entropy") return LossKind::binary_cross_entropy;
  if (name == "softmax_cross_entropy") return LossKind::softmax_cross_entropy;
  throw py::value_error("unknown loss '" + name + "'; expected one of: mse, binary_cross_entropy, softmax_cross_entropy");
}

constexpr std::chrono::milliseconds kSignalCheck{50};

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
  const index_t rows = x.shape(0);
  const index_t in = network.input_features(), out = network.output_features();
  {
    py::gil_scoped_release release;
    std::shared_lock<std::shared_mutex> shared(network.usage(), std::try_to_lock);
    if (!shared.owns_lock())
      throw std::runtime_error("predict: this model is being trained by another thread; "
                               "predict after fit returns, or on a copy of the model");
    // Batch by batch, looking in on the interpreter every kSignalCheck so that Ctrl-C stops
    // a long predict within about one batch (issue 8); rarely enough that taking the GIL
    // back costs nothing measurable when other Python threads hold it.
    auto checked = std::chrono::steady_clock::now();
    for (index_t begin = 0; begin < rows; begin += batch_rows) {
      const index_t n = rows - begin < batch_rows ? rows - begin : batch_rows;
      network.predict(px + begin * in, n, py_ + begin * out, batch_rows);
      if (begin + n < rows && std::chrono::steady_clock::now() - checked > kSignalCheck) {
        py::gil_scoped_acquire acquire;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        checked = std::chrono::steady_clock::now();
      }
    }
  }
  return y;
}

template <class T>
py::dict run(Trainer<T>& trainer, py::handle x_value, py::object target_value,
              py::object labels_value, py::handle order_value, index_t first_batch, index_t last_batch, double lr) {
  const char* fn = "fit";
  const Network<T>& network = trainer.network();
  py::array x = py::reinterpret_borrow<py::array>(x_value);
  require_same_dtype(fn, "X", x, dtype_of<T>(), "the model");
  require_ndim(fn, "X", x, 2, "(samples, features)");
  if (!(x.flags() & py::array::c_style)) throw py::value_error("fit: X must be C-contiguous here");
  require_dim(fn, "X", x, 1, network.input_features(), "the model's input features");
  const index_t rows = x.shape(0);

  py::array_t<std::int64_t, py::array::c_style> order = py::cast<py::array_t<std::int64_t, py::array::c_style>>(order_value);
  const index_t n = order.size();
  const std::int64_t* o = order.data();
  const index_t batch_size = trainer.batch_size();
  const index_t used_end = last_batch * batch_size < n ? last_batch * batch_size : n;
  for (index_t i = first_batch * batch_size; i < used_end; ++i)
    if (o[i] < 0 || o[i] >= rows) throw py::value_error("fit: sample index " + std::to_string(o[i]) + " out of range");

  const T* target = nullptr;
  const std::int64_t* labels = nullptr;
  py::array held;
  if (!labels_value.is_none()) {
    held = py::reinterpret_borrow<py::array>(labels_value);
    py::array_t<std::int64_t, py::array::c_style> l = py::cast<py::array_t<std::int64_t, py::array::c_style>>(held);
    held = l;
    if (l.size() != rows) throw py::value_error("fit: labels must have one entry per row of X");
    labels = l.data();
    const index_t classes = network.output_features();
    for (index_t i = first_batch * batch_size; i < used_end; ++i)
      if (labels[o[i]] < 0 || labels[o[i]] >= classes)
        throw py::value_error("fit: label " + std::to_string(labels[o[i]]) + " is outside [0, " +
                              std::to_string(classes) + ")");
  } else {
    held = py::reinterpret_borrow<py::array>(target_value);
    require_same_dtype(fn, "y", held, dtype_of<T>(), "the model");
    require_ndim(fn, "y", held, 2, "(samples, outputs)");
    if (!(held.flags() & py::array::c_style)) throw py::value_error("fit: y must be C-contiguous here");
    require_dim(fn, "y", held, 0, rows, "the rows of X");
    require_dim(fn, "y", held, 1, network.output_features(), "the model's outputs");
    target = static_cast<const T*>(held.data());
  }
  const T* px = static_cast<const T*>(x.data());
  RunResult result;
  {
    py::gil_scoped_release release;
    result = trainer.run(px, target, labels, o, n, first_batch, last_batch, T(lr));
  }
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
py::list diagnostics(const Trainer<T>& trainer) {
  py::list out;
  const Network<T>& network = trainer.network();
  const auto& layers = network.layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerSpec& layer = layers[l];
    if (layer.kind != LayerSpec::Kind::dense) {
      out.append(py::none());
      continue;
    }
    const LayerDiagnostics& d = trainer.diagnostics()[l];
    py::dict entry;
    entry["gradient_norm"] = d.batches ? d.gradient_norm_sum / double(d.batches) : 0.0;
    entry["update_ratio"] = d.update_ratio;
    if (layer.activation == Activation::relu && d.batches) {
      index_t active = 0;
      for (std::uint8_t a : d.ever_active) active += a;
      entry["dead_fraction"] = 1.0 - double(active) / double(layer.out_features);
    } else {
      entry["dead_fraction"] = py::none();
    }
    const bool saturating = layer.activation == Activation::sigmoid || layer.activation == Activation::tanh;
    entry["saturated_fraction"] = saturating && d.outputs > 0 ? py::cast(d.saturated / d.outputs) : py::none();
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
      .def("layers_between",
           [](Network<T>& whole, index_t first, index_t last) { return new Network<T>(whole, first, last); },
           py::arg("first"), py::arg("last"), py::keep_alive<0, 1>(),
           "A network of layers [first, last) sharing this network's parameters.");

  py::class_<Trainer<T>>(m, trainer_name)
      .def(py::init([](Network<T>& network, index_t batch_size, const std::string& loss, const std::string& optimizer,
                       double momentum, bool nesterov, double beta1, double beta2, double eps, double l1, double l2,
                       std::uint64_t seed, bool diagnostics) {
             OptimizerConfig config;
             if (optimizer == "adam")
               config.kind = OptimizerConfig::Kind::adam;
             else if (optimizer != "sgd")
               throw py::value_error("unknown optimizer '" + optimizer + "'; expected 'sgd' or 'adam'");
             config.momentum = momentum;
             config.nesterov = nesterov;
             config.beta1 = beta1;
             config.beta2 = beta2;
             config.eps = eps;
             config.l1 = l1;
             config.l2 = l2;
             return new Trainer<T>(network, batch_size, parse_loss(loss), config, seed, diagnostics);
           }),
           py::arg("network"), py::arg("batch_size"), py::arg("loss"), py::arg("optimizer"), py::arg("momentum"),
           py::arg("nesterov"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("l1"), py::arg("l2"),
           py::arg("seed"), py::arg("diagnostics"), py::keep_alive<1, 2>())
      .def("run", &run<T>, py::arg("x"), py::arg("target"), py::arg("labels"), py::arg("order"),
           py::arg("first_batch"), py::arg("last_batch"), py::arg("lr"))
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
