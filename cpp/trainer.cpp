#include "steepest/trainer.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>

#include "steepest/dense.h"
#include "steepest/dispatch.h"

namespace steepest {
namespace {

// splitmix64's finaliser: a counter-based generator, so dropout masks depend on
// (seed, step, layer, element) only, never on threads or call order.
std::uint64_t mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double uniform(std::uint64_t stream, std::uint64_t i) { return double(mix(stream + i) >> 11) * 0x1.0p-53; }

// ln(99): sigmoid(z) is within 1% of 0 or 1 exactly when |z| exceeds it.
constexpr double kSigmoidSaturatedLogit = 4.59511985013459;

}  // namespace

template <class T>
Trainer<T>::Trainer(Network<T>& network, index_t batch_size, Loss loss, OptimizerConfig optimizer,
                    std::uint64_t seed, bool diagnostics)
    : network_(network),
      kernels_(&kernels_for<T>(active_kernels())),
      batch_size_(batch_size),
      loss_(loss),
      optimizer_(optimizer),
      seed_(seed),
      collect_diagnostics_(diagnostics) {
  if (batch_size < 1) throw std::invalid_argument("batch_size must be >= 1");
  const std::vector<LayerSpec>& layers = network.layers();
  const LayerSpec& last = layers.back();
  output_is_logits_ = last.kind == LayerSpec::Kind::dense &&
                      ((last.activation == Activation::sigmoid && loss == Loss::binary_cross_entropy) ||
                       (last.activation == Activation::softmax && loss == Loss::softmax_cross_entropy));
  loss_from_logits_ = output_is_logits_ || loss == Loss::binary_cross_entropy_with_logits;
  if (loss == Loss::binary_cross_entropy_with_logits &&
      !(last.kind == LayerSpec::Kind::dense && last.activation == Activation::identity))
    throw std::invalid_argument("binary_cross_entropy_with_logits needs an identity output layer (its logits)");

  auto buffer = [&](index_t features) { return std::vector<T>(static_cast<std::size_t>(batch_size * features)); };
  activations_.push_back(buffer(layers.front().in_features));
  gradients_.emplace_back();  // nothing flows into the data
  for (std::size_t l = 0; l < layers.size(); ++l) {
    activations_.push_back(buffer(layers[l].out_features));
    gradients_.push_back(buffer(layers[l].out_features));
    dropout_masks_.emplace_back(layers[l].kind == LayerSpec::Kind::dropout
                                    ? static_cast<std::size_t>(batch_size * layers[l].in_features)
                                    : 0);
  }
  target_batch_ = buffer(network.output_features());
  label_batch_.resize(static_cast<std::size_t>(batch_size));
  const auto count = static_cast<std::size_t>(network.parameter_count());
  parameter_gradients_.resize(count);
  if (optimizer.kind == OptimizerKind::adam) {
    state_a_.assign(count, T(0));
    state_b_.assign(count, T(0));
  } else if (optimizer.momentum != 0) {
    state_a_.assign(count, T(0));
  }
  if (diagnostics) weights_before_.resize(count);
  diagnostics_.resize(layers.size());
  reset_diagnostics();
}

template <class T>
void Trainer<T>::reset_diagnostics() {
  const std::vector<LayerSpec>& layers = network_.layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    LayerDiagnostics& d = diagnostics_[l];
    d = LayerDiagnostics{};
    if (layers[l].kind == LayerSpec::Kind::dense && layers[l].activation == Activation::relu)
      d.ever_active.assign(static_cast<std::size_t>(layers[l].out_features), 0);
  }
}

template <class T>
void Trainer<T>::gather(const T* x, const T* target, const std::int64_t* labels, const std::int64_t* rows_in_order,
                        index_t first_row, index_t rows) {
  const index_t in = network_.input_features(), out = network_.output_features();
  for (index_t r = 0; r < rows; ++r) {
    const std::int64_t source = rows_in_order ? rows_in_order[first_row + r] : first_row + r;
    std::memcpy(activations_[0].data() + r * in, x + source * in, sizeof(T) * static_cast<std::size_t>(in));
    if (labels)
      label_batch_[static_cast<std::size_t>(r)] = labels[source];
    else
      std::memcpy(target_batch_.data() + r * out, target + source * out, sizeof(T) * static_cast<std::size_t>(out));
  }
  labels_in_use_ = labels != nullptr;
}

template <class T>
std::vector<LayerReport> Trainer<T>::diagnostics() const {
  const std::vector<LayerSpec>& layers = network_.layers();
  const double none = std::numeric_limits<double>::quiet_NaN();
  std::vector<LayerReport> reports(layers.size());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerSpec& layer = layers[l];
    LayerReport& report = reports[l];
    report.dense = layer.kind == LayerSpec::Kind::dense;
    if (!report.dense) {
      report.gradient_norm = report.update_ratio = report.dead_fraction = report.saturated_fraction = none;
      continue;
    }
    const LayerDiagnostics& d = diagnostics_[l];
    report.gradient_norm = d.batches ? d.gradient_norm_sum / double(d.batches) : 0.0;
    report.update_ratio = d.update_ratio;
    report.dead_fraction = none;
    if (layer.activation == Activation::relu && d.batches) {
      index_t active = 0;
      for (std::uint8_t a : d.ever_active) active += a;
      report.dead_fraction = 1.0 - double(active) / double(layer.out_features);
    }
    const bool saturating = layer.activation == Activation::sigmoid || layer.activation == Activation::tanh;
    report.saturated_fraction = saturating && d.outputs > 0 ? d.saturated / d.outputs : none;
  }
  return reports;
}

template <class T>
RunResult Trainer<T>::run(const T* x, const T* target, const std::int64_t* labels, const std::int64_t* order, index_t n,
                          index_t first_batch, index_t last_batch, T lr, double lr_growth, double* batch_losses) {
  std::unique_lock<std::shared_mutex> writing(network_.parameter_lock());
  start_of_run_.swap(start_of_previous_run_);
  start_of_run_.assign(network_.parameters(), network_.parameters() + network_.parameter_count());
  RunResult result;
  for (index_t batch = first_batch; batch < last_batch; ++batch) {
    const index_t begin = batch * batch_size_;
    if (begin >= n) break;
    const index_t rows = n - begin < batch_size_ ? n - begin : batch_size_;
    gather(x, target, labels, order, begin, rows);
    const double loss = forward_and_loss(rows, true);
    if (batch_losses) batch_losses[batch - first_batch] = loss;
    if (!std::isfinite(loss)) {
      result.nonfinite_batch = batch;
      restore_weights_with_finite_loss(batch > first_batch);
      break;
    }
    judge(rows, result);
    backward(rows);
    const bool last_of_run = batch + 1 == last_batch || begin + rows >= n;
    // pow(1, k) is exactly 1: a constant rate steps with lr itself, bit for bit.
    const T batch_lr = T(double(lr) * std::pow(lr_growth, double(batch - first_batch)));
    update(batch_lr, collect_diagnostics_ && last_of_run);
    if (collect_diagnostics_) record_diagnostics(rows);
    ++steps_;
    result.loss_sum += loss * double(rows);
    result.samples += rows;
    ++result.batches;
  }
  return result;
}

template <class T>
RunResult Trainer<T>::evaluate(const T* x, const T* target, const std::int64_t* labels, index_t n) {
  std::shared_lock<std::shared_mutex> reading(network_.parameter_lock());
  RunResult result;
  for (index_t begin = 0; begin < n; begin += batch_size_) {
    const index_t rows = n - begin < batch_size_ ? n - begin : batch_size_;
    gather(x, target, labels, nullptr, begin, rows);
    const double loss = forward_and_loss(rows, false);
    if (!std::isfinite(loss) && result.nonfinite_batch < 0) result.nonfinite_batch = begin / batch_size_;
    judge(rows, result);
    result.loss_sum += loss * double(rows);
    result.samples += rows;
    ++result.batches;
  }
  return result;
}

template <class T>
void Trainer<T>::restore_weights_with_finite_loss(bool updated_in_this_run) {
  // The run's first batch had a finite loss unless it is the failing one; then the previous
  // run's start did (that run finished). Before any run finished, nothing was updated.
  const std::vector<T>& saved = updated_in_this_run ? start_of_run_ : start_of_previous_run_;
  if (saved.empty()) return;
  std::memcpy(network_.parameters(), saved.data(), sizeof(T) * saved.size());
}

template <class T>
double Trainer<T>::forward_and_loss(index_t rows, bool training) {
  const std::vector<LayerSpec>& layers = network_.layers();
  const T* parameters = network_.parameters();
  const std::size_t last = layers.size() - 1;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerSpec& layer = layers[l];
    const T* input = activations_[l].data();
    T* output = activations_[l + 1].data();
    if (layer.kind == LayerSpec::Kind::dense) {
      const Activation activation = l == last && loss_from_logits_ ? Activation::identity : layer.activation;
      dense_forward(*kernels_, rows, layer.in_features, layer.out_features, input, parameters + layer.weight_offset,
                    parameters + layer.bias_offset, activation, output);
    } else if (!training) {
      std::memcpy(output, input, sizeof(T) * static_cast<std::size_t>(rows * layer.in_features));
    } else {
      // Inverted dropout: kept inputs are scaled by 1/(1 - p) so predict needs no scaling.
      const double rate = layer.dropout_rate;
      const T scale = T(1 / (1 - rate));
      const std::uint64_t stream = mix(seed_ ^ mix(std::uint64_t(steps_) * 1024 + l));
      std::uint8_t* mask = dropout_masks_[l].data();
      for (index_t i = 0; i < rows * layer.in_features; ++i) {
        mask[i] = uniform(stream, std::uint64_t(i)) >= rate;
        output[i] = mask[i] ? input[i] * scale : T(0);
      }
    }
  }

  const T* prediction = activations_.back().data();
  T* dprediction = training ? gradients_.back().data() : nullptr;
  const index_t out = network_.output_features();
  const index_t n = rows * out;
  switch (loss_) {
    case Loss::mse:
      return kernels_->mse(n, prediction, target_batch_.data(), dprediction);
    case Loss::binary_cross_entropy:
    case Loss::binary_cross_entropy_with_logits:
      return loss_from_logits_ ? kernels_->sigmoid_binary_cross_entropy(n, prediction, target_batch_.data(), dprediction)
                               : kernels_->binary_cross_entropy(n, prediction, target_batch_.data(), dprediction);
    case Loss::softmax_cross_entropy:
      return labels_in_use_
                 ? kernels_->softmax_cross_entropy(rows, out, prediction, label_batch_.data(), dprediction)
                 : kernels_->softmax_cross_entropy_dense(rows, out, prediction, target_batch_.data(), dprediction);
  }
  return 0;
}

template <class T>
void Trainer<T>::judge(index_t rows, RunResult& result) const {
  if (loss_ == Loss::mse) return;
  const T* prediction = activations_.back().data();
  const index_t out = network_.output_features();
  if (loss_ != Loss::softmax_cross_entropy) {
    const T threshold = loss_from_logits_ ? T(0) : T(0.5);
    for (index_t i = 0; i < rows * out; ++i)
      result.correct += (prediction[i] > threshold) == (target_batch_[static_cast<std::size_t>(i)] > T(0.5));
    result.judged += rows * out;
    return;
  }
  auto arg_max = [out](const T* row) {
    index_t best = 0;
    for (index_t j = 1; j < out; ++j)
      if (row[j] > row[best]) best = j;
    return best;
  };
  for (index_t r = 0; r < rows; ++r) {
    const index_t expected = labels_in_use_ ? index_t(label_batch_[static_cast<std::size_t>(r)])
                                            : arg_max(target_batch_.data() + r * out);
    result.correct += arg_max(prediction + r * out) == expected;
  }
  result.judged += rows;
}

template <class T>
void Trainer<T>::backward(index_t rows) {
  const std::vector<LayerSpec>& layers = network_.layers();
  const T* parameters = network_.parameters();
  T* gradients = parameter_gradients_.data();
  const std::size_t last = layers.size() - 1;
  // The gradient of a layer's input is needed only if a dense layer lies before it.
  std::size_t first_dense = 0;
  while (layers[first_dense].kind != LayerSpec::Kind::dense) ++first_dense;

  for (std::size_t l = layers.size(); l-- > 0;) {
    const LayerSpec& layer = layers[l];
    const bool needs_input_gradient = l > first_dense;
    T* doutput = gradients_[l + 1].data();
    T* dinput = needs_input_gradient ? gradients_[l].data() : nullptr;
    if (layer.kind == LayerSpec::Kind::dense) {
      const Activation activation = l == last && loss_from_logits_ ? Activation::identity : layer.activation;
      dense_backward(*kernels_, rows, layer.in_features, layer.out_features, activations_[l].data(),
                     parameters + layer.weight_offset, activations_[l + 1].data(), doutput, activation, doutput,
                     dinput, gradients + layer.weight_offset, gradients + layer.bias_offset);
    } else if (dinput) {
      const T scale = T(1 / (1 - layer.dropout_rate));
      const std::uint8_t* mask = dropout_masks_[l].data();
      for (index_t i = 0; i < rows * layer.in_features; ++i) dinput[i] = mask[i] ? doutput[i] * scale : T(0);
    }
  }
}

template <class T>
void Trainer<T>::update(T lr, bool measure_update) {
  T* parameters = network_.parameters();
  const T* gradients = parameter_gradients_.data();
  if (measure_update) std::memcpy(weights_before_.data(), parameters, sizeof(T) * weights_before_.size());
  const OptimizerConfig& o = optimizer_;
  const index_t step = steps_ + 1;
  const T correction1 = T(1 - std::pow(o.beta1, double(step))), correction2 = T(1 - std::pow(o.beta2, double(step)));
  auto apply = [&](index_t offset, index_t count, T l1, T l2) {
    T* p = parameters + offset;
    const T* g = gradients + offset;
    if (o.kind == OptimizerKind::adam)
      kernels_->adam_update(count, p, g, state_a_.data() + offset, state_b_.data() + offset, lr, T(o.beta1),
                            T(o.beta2), T(o.eps), correction1, correction2, l1, l2);
    else
      kernels_->sgd_update(count, p, g, state_a_.empty() ? nullptr : state_a_.data() + offset, lr, T(o.momentum),
                           o.nesterov, l1, l2);
  };
  const std::vector<LayerSpec>& layers = network_.layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerSpec& layer = layers[l];
    if (layer.kind != LayerSpec::Kind::dense) continue;
    const index_t weights = layer.in_features * layer.out_features;
    apply(layer.weight_offset, weights, T(o.l1), T(o.l2));
    apply(layer.bias_offset, layer.out_features, T(0), T(0));
    if (measure_update) {
      double change = 0, size = 0;
      for (index_t i = 0; i < weights; ++i) {
        const double before = weights_before_[static_cast<std::size_t>(layer.weight_offset + i)];
        const double delta = double(parameters[layer.weight_offset + i]) - before;
        change += delta * delta;
        size += before * before;
      }
      diagnostics_[l].update_ratio = size > 0 ? std::sqrt(change / size) : 0.0;
    }
  }
}

template <class T>
void Trainer<T>::record_diagnostics(index_t rows) {
  const std::vector<LayerSpec>& layers = network_.layers();
  const T* gradients = parameter_gradients_.data();
  const std::size_t last = layers.size() - 1;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerSpec& layer = layers[l];
    if (layer.kind != LayerSpec::Kind::dense) continue;
    LayerDiagnostics& d = diagnostics_[l];
    const index_t weights = layer.in_features * layer.out_features;
    d.gradient_norm_sum += std::sqrt(kernels_->sum_squares(weights, gradients + layer.weight_offset) +
                                     kernels_->sum_squares(layer.out_features, gradients + layer.bias_offset));
    ++d.batches;
    const T* y = activations_[l + 1].data();
    const index_t count = rows * layer.out_features;
    d.outputs += double(count);
    if (layer.activation == Activation::relu) {
      for (index_t r = 0; r < rows; ++r)
        for (index_t u = 0; u < layer.out_features; ++u)
          d.ever_active[static_cast<std::size_t>(u)] |= y[r * layer.out_features + u] > T(0);
    } else if (layer.activation == Activation::sigmoid) {
      const bool logits = l == last && output_is_logits_;
      index_t saturated = 0;
      for (index_t i = 0; i < count; ++i)
        saturated += logits ? std::fabs(double(y[i])) > kSigmoidSaturatedLogit : (y[i] < T(0.01) || y[i] > T(0.99));
      d.saturated += double(saturated);
    } else if (layer.activation == Activation::tanh) {
      index_t saturated = 0;
      for (index_t i = 0; i < count; ++i) saturated += std::fabs(double(y[i])) > 0.99;
      d.saturated += double(saturated);
    }
  }
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace steepest
