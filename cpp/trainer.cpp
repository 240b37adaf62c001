#include "steepest/trainer.h"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

#include "steepest/dense.h"
#include "steepest/dispatch.h"
#include "steepest/thread_pool.h"

namespace steepest {
namespace {

// The kernels' counter-based generator (its mix derives the dropout streams), so dropout
// masks depend on (seed, step, layer, element) only, never on threads or call order.
#include "kernels/random.inc"

// ln(99): sigmoid(z) is within 1% of 0 or 1 exactly when |z| exceeds it.
constexpr double kSigmoidSaturatedLogit = 4.59511985013459;

// The optimizer's step is split into tasks of this many parameters (a multiple of every
// vector width), fixed whatever the thread count, so that the diagnostics' sums, added task
// by task, are bitwise the same for any thread count (the step itself is elementwise).
constexpr index_t kParametersPerTask = index_t(1) << 15;

index_t update_tasks(index_t parameters) { return (parameters + kParametersPerTask - 1) / kParametersPerTask; }

}  // namespace

template <class T>
Trainer<T>::Trainer(Network<T>& network, index_t batch_size, Loss loss, OptimizerConfig optimizer,
                    Objective objective, std::uint64_t seed, bool diagnostics)
    : network_(network),
      kernels_(&kernels_for<T>(active_kernels())),
      batch_size_(batch_size),
      loss_(loss),
      optimizer_(optimizer),
      objective_(objective),
      seed_(seed),
      collect_diagnostics_(diagnostics) {
  if (batch_size < 1) throw std::invalid_argument("batch_size must be >= 1");
  if (!(objective.loss_scale > 0) || !std::isfinite(objective.loss_scale))
    throw std::invalid_argument("the loss scale must be a finite number > 0");
  if (!(objective.noise_amount >= 0) || !std::isfinite(objective.noise_amount) ||
      (objective.noise == InputNoise::mask && objective.noise_amount >= 1))
    throw std::invalid_argument("input noise needs an amount >= 0 (and < 1 for a mask)");
  const std::vector<LayerSpec>& layers = network.layers();
  const LayerSpec& last = layers.back();
  output_is_logits_ = last.kind == LayerSpec::Kind::dense &&
                      ((last.activation == Activation::sigmoid && loss == Loss::binary_cross_entropy) ||
                       (last.activation == Activation::softmax && loss == Loss::softmax_cross_entropy) ||
                       (last.activation == Activation::exp && loss == Loss::poisson));
  if (loss == Loss::poisson && !output_is_logits_)
    throw std::invalid_argument("poisson needs an exp output layer (the mean is the exponential of its input)");
  loss_from_logits_ = output_is_logits_ || loss == Loss::binary_cross_entropy_with_logits;
  if (loss == Loss::binary_cross_entropy_with_logits &&
      !(last.kind == LayerSpec::Kind::dense && last.activation == Activation::identity))
    throw std::invalid_argument("binary_cross_entropy_with_logits needs an identity output layer (its logits)");

  auto buffer = [&](index_t features) { return std::vector<T>(static_cast<std::size_t>(batch_size * features)); };
  // The input batch is made by the first dense gather: a sparse input never needs it.
  activations_.emplace_back();
  gradients_.emplace_back();  // nothing flows into the data
  for (std::size_t l = 0; l < layers.size(); ++l) {
    activations_.push_back(buffer(layers[l].out_features));
    gradients_.push_back(buffer(layers[l].out_features));
    dropout_masks_.emplace_back(layers[l].kind == LayerSpec::Kind::dropout
                                    ? static_cast<std::size_t>(batch_size * layers[l].in_features)
                                    : 0);
    sampling_noise_.push_back(layers[l].kind == LayerSpec::Kind::gaussian_sample ? buffer(layers[l].out_features)
                                                                                 : std::vector<T>());
  }
  target_batch_ = buffer(network.output_features());
  label_batch_.resize(static_cast<std::size_t>(batch_size));
  condition_batch_.resize(static_cast<std::size_t>(batch_size));
  weight_batch_.resize(static_cast<std::size_t>(batch_size));
  kl_rows_.resize(static_cast<std::size_t>(batch_size));
  if (objective.noise == InputNoise::gaussian) input_noise_ = buffer(layers.front().in_features);
  for (const LayerSpec& layer : layers) sampling_layer_ = sampling_layer_ || layer.kind == LayerSpec::Kind::gaussian_sample;
  const auto count = static_cast<std::size_t>(network.parameter_count());
  parameter_gradients_.resize(count);
  if (optimizer.kind == OptimizerKind::adam) {
    state_a_.assign(count, T(0));
    state_b_.assign(count, T(0));
  } else if (optimizer.momentum != 0) {
    state_a_.assign(count, T(0));
  }
  index_t most_tasks = 1;
  for (const LayerSpec& layer : layers)
    most_tasks = std::max(most_tasks, update_tasks(layer.in_features * layer.out_features));
  task_sums_.resize(static_cast<std::size_t>(most_tasks));
  diagnostics_.resize(layers.size());
  reset_diagnostics();
}

template <class T>
index_t Trainer<T>::copy_state(T* parameters, std::vector<std::vector<T>>& arrays) const {
  std::shared_lock<std::shared_mutex> reading(network_.parameter_lock());
  std::memcpy(parameters, network_.parameters(), sizeof(T) * static_cast<std::size_t>(network_.parameter_count()));
  arrays.clear();
  for (const std::vector<T>* state : {&state_a_, &state_b_})
    if (!state->empty()) arrays.push_back(*state);
  return steps_;
}

template <class T>
void Trainer<T>::restore_state(index_t steps, const std::vector<std::vector<T>>& arrays) {
  std::vector<std::vector<T>*> kept;
  for (std::vector<T>* state : {&state_a_, &state_b_})
    if (!state->empty()) kept.push_back(state);
  if (steps < 0) throw std::invalid_argument("an optimizer's step count must be >= 0");
  if (arrays.size() != kept.size())
    throw std::invalid_argument("this optimizer keeps " + std::to_string(kept.size()) + " arrays of state, not " +
                                std::to_string(arrays.size()));
  for (std::size_t i = 0; i < arrays.size(); ++i)
    if (arrays[i].size() != kept[i]->size())
      throw std::invalid_argument("an optimizer state array of " + std::to_string(arrays[i].size()) +
                                  " values for " + std::to_string(kept[i]->size()) + " parameters");
  std::unique_lock<std::shared_mutex> writing(network_.parameter_lock());
  for (std::size_t i = 0; i < arrays.size(); ++i) *kept[i] = arrays[i];
  steps_ = steps;
}

template <class T>
void Trainer<T>::reset_diagnostics() {
  const std::vector<LayerSpec>& layers = network_.layers();
  output_count_.assign(layers.size(), OutputCount<T>{T(0), T(0), nullptr});
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerSpec& layer = layers[l];
    LayerDiagnostics& d = diagnostics_[l];
    d = LayerDiagnostics{};
    if (layer.kind == LayerSpec::Kind::gaussian_sample)
      d.kl_sums.assign(static_cast<std::size_t>(layer.out_features), 0.0);
    if (layer.kind != LayerSpec::Kind::dense) continue;
    // Active ReLU outputs (> 0); sigmoid and tanh outputs within 1% of their bounds, an
    // output sigmoid's from its logits (the backward pass sees those) beyond ±ln 99.
    OutputCount<T>& count = output_count_[l];
    if (layer.activation == Activation::relu)
      count.center = count.radius = T(0);
    else if (layer.activation == Activation::sigmoid && l + 1 == layers.size() && output_is_logits_)
      count.center = T(0), count.radius = T(kSigmoidSaturatedLogit);
    else if (layer.activation == Activation::sigmoid)
      count.center = T(0.5), count.radius = T(0.49);
    else if (layer.activation == Activation::tanh)
      count.center = T(0), count.radius = T(0.99);
    else
      continue;
    d.output_counts.assign(static_cast<std::size_t>(layer.out_features), 0);
    count.counts = d.output_counts.data();
  }
}

template <class T>
const OutputCount<T>* Trainer<T>::output_count(std::size_t l) const {
  return output_count_[l].counts ? &output_count_[l] : nullptr;
}

template <class T>
void Trainer<T>::gather(const Samples<T>& data, const std::int64_t* rows_in_order, index_t first_row, index_t rows) {
  const index_t in = network_.input_features(), out = network_.output_features();
  sparse_input_ = data.x == nullptr;
  if (sparse_input_) {
    if (objective_.noise != InputNoise::none || network_.layers().front().kind != LayerSpec::Kind::dense)
      throw std::invalid_argument("a sparse input needs a dense first layer and no input noise");
    batch_indptr_.resize(static_cast<std::size_t>(batch_size_ + 1));
    batch_indptr_[0] = 0;
  } else if (activations_[0].empty()) {
    activations_[0].resize(static_cast<std::size_t>(batch_size_ * in));
  }
  for (index_t r = 0; r < rows; ++r) {
    const std::int64_t source = rows_in_order ? rows_in_order[first_row + r] : first_row + r;
    if (sparse_input_) {
      const std::int64_t begin = data.csr.indptr[source], end = data.csr.indptr[source + 1];
      const std::int64_t at = batch_indptr_[static_cast<std::size_t>(r)];
      batch_indptr_[static_cast<std::size_t>(r + 1)] = at + (end - begin);
      if (batch_indices_.size() < static_cast<std::size_t>(at + (end - begin))) {
        batch_indices_.resize(static_cast<std::size_t>(2 * (at + (end - begin))));
        batch_values_.resize(batch_indices_.size());
      }
      std::copy(data.csr.indices + begin, data.csr.indices + end, batch_indices_.begin() + at);
      std::copy(data.csr.values + begin, data.csr.values + end, batch_values_.begin() + at);
    } else {
      std::memcpy(activations_[0].data() + r * in, data.x + source * in, sizeof(T) * static_cast<std::size_t>(in));
    }
    if (data.labels)
      label_batch_[static_cast<std::size_t>(r)] = data.labels[source];
    else
      std::memcpy(target_batch_.data() + r * out, data.target + source * out, sizeof(T) * static_cast<std::size_t>(out));
    if (data.conditions) condition_batch_[static_cast<std::size_t>(r)] = data.conditions[source];
    if (data.weights) weight_batch_[static_cast<std::size_t>(r)] = data.weights[source];
  }
  labels_in_use_ = data.labels != nullptr;
  weights_in_use_ = data.weights != nullptr;
}

template <class T>
void Trainer<T>::corrupt_inputs(index_t rows) {
  if (objective_.noise == InputNoise::none || objective_.noise_amount == 0) return;
  const index_t n = rows * network_.input_features();
  T* x = activations_[0].data();
  // A seed of its own ("noise"), so that these draws are not any layer's.
  const std::uint64_t stream = mix(mix(seed_ ^ 0x6E6F697365ull) ^ mix(std::uint64_t(steps_)));
  if (objective_.noise == InputNoise::gaussian) {
    kernels_->standard_normal(n, stream, 0, input_noise_.data());
    const T amount = T(objective_.noise_amount);
    for (index_t i = 0; i < n; ++i) x[i] += amount * input_noise_[static_cast<std::size_t>(i)];
  } else {
    for (index_t i = 0; i < n; ++i)
      if (uniform(stream, std::uint64_t(i)) < objective_.noise_amount) x[i] = T(0);
  }
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
    const LayerDiagnostics& d = diagnostics_[l];
    if (!report.dense) {
      report.gradient_norm = report.update_ratio = report.dead_fraction = report.saturated_fraction = none;
      if (layer.kind == LayerSpec::Kind::gaussian_sample && d.samples > 0)
        for (double sum : d.kl_sums) {
          report.kl_per_dimension.push_back(sum / d.samples);
          report.active_dimensions += sum / d.samples > LayerReport::kActiveKl;
        }
      continue;
    }
    report.gradient_norm = d.batches ? d.gradient_norm_sum / double(d.batches) : 0.0;
    report.update_ratio = d.update_ratio;
    report.dead_fraction = none;
    if (layer.activation == Activation::relu && d.batches) {
      const auto active = std::count_if(d.output_counts.begin(), d.output_counts.end(), [](std::int64_t c) { return c > 0; });
      report.dead_fraction = 1.0 - double(active) / double(layer.out_features);
    }
    const bool saturating = layer.activation == Activation::sigmoid || layer.activation == Activation::tanh;
    double saturated = 0;
    for (std::int64_t c : d.output_counts) saturated += double(c);
    report.saturated_fraction = saturating && d.outputs > 0 ? saturated / d.outputs : none;
    const index_t weights = layer.in_features * layer.out_features;
    const T* w = network_.parameters() + layer.weight_offset;
    report.zero_fraction = weights ? double(std::count(w, w + weights, T(0))) / double(weights) : 0.0;
  }
  return reports;
}

template <class T>
RunResult Trainer<T>::run(const Samples<T>& data, const std::int64_t* order, index_t n, index_t first_batch,
                          index_t last_batch, T lr, double lr_growth, double* batch_losses) {
  std::unique_lock<std::shared_mutex> writing(network_.parameter_lock());
  start_of_run_.swap(start_of_previous_run_);
  start_of_run_.assign(network_.parameters(), network_.parameters() + network_.parameter_count());
  RunResult result;
  for (index_t batch = first_batch; batch < last_batch; ++batch) {
    const index_t begin = batch * batch_size_;
    if (begin >= n) break;
    const index_t rows = n - begin < batch_size_ ? n - begin : batch_size_;
    gather(data, order, begin, rows);
    corrupt_inputs(rows);
    forward(rows, true, seed_, std::uint64_t(steps_));
    double reconstruction = 0, kl = 0;
    const double loss = this->loss(rows, true, &reconstruction, &kl);
    if (batch_losses) batch_losses[batch - first_batch] = loss;
    if (!std::isfinite(loss)) {
      result.nonfinite_batch = batch;
      restore_weights_with_finite_loss(batch > first_batch);
      break;
    }
    judge(rows, result);
    backward(rows, collect_diagnostics_);
    result.penalty_sum += penalty() * penalty_factor() * double(rows);
    const bool last_of_run = batch + 1 == last_batch || begin + rows >= n;
    // pow(1, k) is exactly 1: a constant rate steps with lr itself, bit for bit.
    const T batch_lr = T(double(lr) * std::pow(lr_growth, double(batch - first_batch)));
    update(batch_lr, collect_diagnostics_, collect_diagnostics_ && last_of_run);
    if (collect_diagnostics_) record_diagnostics(rows);
    ++steps_;
    result.loss_sum += loss * double(rows);
    result.reconstruction_sum += reconstruction * double(rows);
    result.kl_sum += kl * double(rows);
    result.samples += rows;
    ++result.batches;
  }
  return result;
}

template <class T>
RunResult Trainer<T>::evaluate(const Samples<T>& data, index_t n, double* per_row) {
  std::shared_lock<std::shared_mutex> reading(network_.parameter_lock());
  // A seed of its own per call ("eval" and the call's number): its draws are no step's.
  const std::uint64_t pass_seed = mix(mix(seed_ ^ 0x6576616Cull) ^ mix(evaluations_++));
  RunResult result;
  for (index_t begin = 0; begin < n; begin += batch_size_) {
    const index_t rows = n - begin < batch_size_ ? n - begin : batch_size_;
    gather(data, nullptr, begin, rows);
    forward(rows, false, pass_seed, std::uint64_t(begin / batch_size_));
    double reconstruction = 0, kl = 0;
    const double loss = this->loss(rows, false, &reconstruction, &kl);
    if (!std::isfinite(loss) && result.nonfinite_batch < 0) result.nonfinite_batch = begin / batch_size_;
    judge(rows, result);
    // Each row's loss through the same kernels, one row at a time.
    if (per_row)
      for (index_t r = 0; r < rows; ++r)
        per_row[begin + r] = objective_.loss_scale * output_loss(r, 1, nullptr) +
                             (sampling_layer_ ? kl_weight_ * kl_rows_[static_cast<std::size_t>(r)] : 0.0);
    result.loss_sum += loss * double(rows);
    result.reconstruction_sum += reconstruction * double(rows);
    result.kl_sum += kl * double(rows);
    result.samples += rows;
    ++result.batches;
  }
  return result;
}

template <class T>
double Trainer<T>::loss_and_gradient(const Samples<T>& data, index_t n, T* gradient) {
  std::shared_lock<std::shared_mutex> reading(network_.parameter_lock());
  std::fill(gradient, gradient + parameter_gradients_.size(), T(0));
  double total_weight = double(n);
  if (data.weights) {
    total_weight = 0;
    for (index_t i = 0; i < n; ++i) total_weight += double(data.weights[i]);
  }
  const index_t outputs = network_.output_features();
  double loss = 0;
  for (index_t begin = 0; begin < n; begin += batch_size_) {
    const index_t rows = n - begin < batch_size_ ? n - begin : batch_size_;
    gather(data, nullptr, begin, rows);
    forward(rows, false, seed_, std::uint64_t(begin / batch_size_));
    double reconstruction = 0, kl = 0;
    const double batch_loss = this->loss(rows, true, &reconstruction, &kl);
    // This batch's mean counts by its share of the weight; the gradient is linear in it.
    const double share = total_weight > 0 ? batch_weight_ / total_weight : 0.0;
    loss += share * batch_loss;
    if (share != 1) {
      T* dprediction = gradients_.back().data();
      for (index_t i = 0; i < rows * outputs; ++i) dprediction[i] *= T(share);
    }
    backward(rows, false);
    for (std::size_t i = 0; i < parameter_gradients_.size(); ++i) gradient[i] += parameter_gradients_[i];
  }
  return loss;
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
void Trainer<T>::forward(index_t rows, bool training, std::uint64_t pass_seed, std::uint64_t pass) {
  const std::vector<LayerSpec>& layers = network_.layers();
  const T* parameters = network_.parameters();
  const std::size_t last = layers.size() - 1;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerSpec& layer = layers[l];
    const T* input = activations_[l].data();
    T* output = activations_[l + 1].data();
    // Draws depend on (seed, pass, layer, element) only, never on threads or call order.
    const std::uint64_t stream = mix(pass_seed ^ mix(pass * 1024 + l));
    switch (layer.kind) {
      case LayerSpec::Kind::dense: {
        const Activation activation = l == last && loss_from_logits_ ? Activation::identity : layer.activation;
        if (l == 0 && sparse_input_)
          sparse_dense_forward(*kernels_, rows, layer.out_features, batch_indptr_.data(), batch_indices_.data(),
                               batch_values_.data(), parameters + layer.weight_offset, parameters + layer.bias_offset,
                               activation, output);
        else
          dense_forward(*kernels_, rows, layer.in_features, layer.out_features, input,
                        parameters + layer.weight_offset, parameters + layer.bias_offset, activation, output, bf16_);
        break;
      }
      case LayerSpec::Kind::dropout:
        // Inverted dropout: kept inputs are scaled by 1/(1 - p) so predict needs no scaling.
        if (training)
          kernels_->dropout_forward(rows * layer.in_features, stream, layer.dropout_rate, input,
                                    dropout_masks_[l].data(), output);
        else
          std::memcpy(output, input, sizeof(T) * static_cast<std::size_t>(rows * layer.in_features));
        break;
      case LayerSpec::Kind::condition:
        condition_forward(layer, rows, input, output);
        break;
      case LayerSpec::Kind::gaussian_sample: {
        const index_t latent = layer.out_features;
        T* eps = sampling_noise_[l].data();
        if (!fixed_noise_.empty())
          std::memcpy(eps, fixed_noise_.data(), sizeof(T) * static_cast<std::size_t>(rows * latent));
        else
          kernels_->standard_normal(rows * latent, stream, 0, eps);
        LayerDiagnostics& d = diagnostics_[l];
        const bool record = training && collect_diagnostics_;
        batch_kl_ = kernels_->gaussian_sample_forward(rows, latent, input, eps, output, kl_rows_.data(),
                                                      record ? d.kl_sums.data() : nullptr) / double(rows);
        if (record) d.samples += double(rows);
        break;
      }
    }
  }
}

// out[r] = [in[r] | one-hot of the row's class]; its backward keeps the first in_features.
template <class T>
void Trainer<T>::condition_forward(const LayerSpec& layer, index_t rows, const T* in, T* out) const {
  for (index_t r = 0; r < rows; ++r) {
    T* row = out + r * layer.out_features;
    std::memcpy(row, in + r * layer.in_features, sizeof(T) * static_cast<std::size_t>(layer.in_features));
    std::fill(row + layer.in_features, row + layer.out_features, T(0));
    row[layer.in_features + condition_batch_[static_cast<std::size_t>(r)]] = T(1);
  }
}

template <class T>
void Trainer<T>::condition_backward(const LayerSpec& layer, index_t rows, const T* dout, T* din) const {
  for (index_t r = 0; r < rows; ++r)
    std::memcpy(din + r * layer.in_features, dout + r * layer.out_features,
                sizeof(T) * static_cast<std::size_t>(layer.in_features));
}

template <class T>
double Trainer<T>::output_loss(index_t first_row, index_t rows, T* dprediction) const {
  const index_t out = network_.output_features();
  const T* prediction = activations_.back().data() + first_row * out;
  const T* target = target_batch_.data() + first_row * out;
  const index_t n = rows * out;
  switch (loss_) {
    case Loss::mse:
      return kernels_->mse(n, prediction, target, dprediction);
    case Loss::binary_cross_entropy:
    case Loss::binary_cross_entropy_with_logits:
      return loss_from_logits_ ? kernels_->sigmoid_binary_cross_entropy(n, prediction, target, dprediction)
                               : kernels_->binary_cross_entropy(n, prediction, target, dprediction);
    case Loss::softmax_cross_entropy:
      return labels_in_use_
                 ? kernels_->softmax_cross_entropy(rows, out, prediction, label_batch_.data() + first_row, dprediction)
                 : kernels_->softmax_cross_entropy_dense(rows, out, prediction, target, dprediction);
    case Loss::poisson:
      return kernels_->poisson_from_log(n, prediction, target, dprediction);
  }
  return 0;
}

template <class T>
double Trainer<T>::loss(index_t rows, bool training, double* reconstruction, double* kl) {
  T* dprediction = training ? gradients_.back().data() : nullptr;
  const double scale = objective_.loss_scale;
  const index_t out = network_.output_features();
  double mean = 0;
  if (!weights_in_use_) {
    batch_weight_ = double(rows);
    mean = output_loss(0, rows, dprediction);
  } else {
    // Σ w·loss / Σ w: each row through the loss kernel on its own, its gradient times w / Σ w.
    // A batch whose weights are all 0 contributes nothing.
    batch_weight_ = 0;
    for (index_t r = 0; r < rows; ++r) batch_weight_ += double(weight_batch_[static_cast<std::size_t>(r)]);
    for (index_t r = 0; r < rows; ++r) {
      T* row_gradient = dprediction ? dprediction + r * out : nullptr;
      const double row_loss = output_loss(r, 1, row_gradient);
      const double share = batch_weight_ > 0 ? double(weight_batch_[static_cast<std::size_t>(r)]) / batch_weight_ : 0.0;
      if (share != 0) mean += share * row_loss;
      if (row_gradient)
        for (index_t j = 0; j < out; ++j) row_gradient[j] *= T(share);
    }
  }
  *reconstruction = scale * mean;
  if (dprediction && scale != 1) {
    const T factor = T(scale);
    for (index_t i = 0; i < rows * network_.output_features(); ++i) dprediction[i] *= factor;
  }
  *kl = sampling_layer_ ? batch_kl_ : 0.0;
  return *reconstruction + kl_weight_ * *kl;
}

template <class T>
void Trainer<T>::judge(index_t rows, RunResult& result) const {
  if (loss_ == Loss::mse || loss_ == Loss::poisson) return;
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
void Trainer<T>::backward(index_t rows, bool count) {
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
    if (layer.kind == LayerSpec::Kind::dense && l == 0 && sparse_input_) {
      const Activation activation = l == last && loss_from_logits_ ? Activation::identity : layer.activation;
      sparse_dense_backward(*kernels_, rows, layer.in_features, layer.out_features, batch_indptr_.data(),
                            batch_indices_.data(), batch_values_.data(), activations_[1].data(), doutput, activation,
                            doutput, gradients + layer.weight_offset, gradients + layer.bias_offset,
                            count ? output_count(l) : nullptr);
    } else if (layer.kind == LayerSpec::Kind::dense) {
      const Activation activation = l == last && loss_from_logits_ ? Activation::identity : layer.activation;
      dense_backward(*kernels_, rows, layer.in_features, layer.out_features, activations_[l].data(),
                     parameters + layer.weight_offset, activations_[l + 1].data(), doutput, activation, doutput,
                     dinput, gradients + layer.weight_offset, gradients + layer.bias_offset,
                     count ? output_count(l) : nullptr, bf16_);
    } else if (!dinput) {
      continue;
    } else if (layer.kind == LayerSpec::Kind::dropout) {
      kernels_->dropout_backward(rows * layer.in_features, layer.dropout_rate, dropout_masks_[l].data(), doutput,
                                 dinput);
    } else if (layer.kind == LayerSpec::Kind::condition) {
      condition_backward(layer, rows, doutput, dinput);
    } else {
      // The KL term is a mean over the batch, like the loss: its weight per row is β / rows.
      kernels_->gaussian_sample_backward(rows, layer.out_features, activations_[l].data(), sampling_noise_[l].data(),
                                         doutput, T(kl_weight_ / double(rows)), dinput);
    }
  }
}

template <class T>
void Trainer<T>::update(T lr, bool measure, bool measure_change) {
  T* parameters = network_.parameters();
  const T* gradients = parameter_gradients_.data();
  const OptimizerConfig& o = optimizer_;
  const index_t step = steps_ + 1;
  const T correction1 = T(1 - std::pow(o.beta1, double(step))), correction2 = T(1 - std::pow(o.beta2, double(step)));
  // ε on √v is ε / √(1 - β2^t) on √v̂ = √v / √(1 - β2^t).
  const T eps = o.eps_before_correction ? T(o.eps / std::sqrt(1 - std::pow(o.beta2, double(step)))) : T(o.eps);
  const double factor = penalty_factor();
  const T l1 = T(o.l1 * factor), l2 = T(o.l2 * factor);
  // Parameters [offset, offset + count) in tasks of kParametersPerTask; the sums of the
  // tasks are added in task order.
  auto apply = [&](index_t offset, index_t count, T l1_here, T l2_here, UpdateSums* total) {
    const index_t tasks = update_tasks(count);
    auto task = [&](index_t t) {
      const index_t begin = offset + t * kParametersPerTask;
      const index_t n = std::min(kParametersPerTask, offset + count - begin);
      UpdateSums* sums = nullptr;
      if (total) {
        sums = &task_sums_[static_cast<std::size_t>(t)];
        *sums = UpdateSums{};
        sums->with_change = total->with_change;
      }
      T* p = parameters + begin;
      const T* g = gradients + begin;
      if (o.kind == OptimizerKind::adam)
        kernels_->adam_update(n, p, g, state_a_.data() + begin, state_b_.data() + begin, lr, T(o.beta1), T(o.beta2),
                              eps, correction1, correction2, l1_here, l2_here, o.l1_proximal, sums);
      else
        kernels_->sgd_update(n, p, g, state_a_.empty() ? nullptr : state_a_.data() + begin, lr, T(o.momentum),
                             o.nesterov, l1_here, l2_here, o.l1_proximal, sums);
    };
    parallel_for(tasks, task);
    if (total)
      for (index_t t = 0; t < tasks; ++t) {
        const UpdateSums& sums = task_sums_[static_cast<std::size_t>(t)];
        total->gradient_squares += sums.gradient_squares;
        total->parameter_squares += sums.parameter_squares;
        total->change_squares += sums.change_squares;
      }
  };
  const std::vector<LayerSpec>& layers = network_.layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerSpec& layer = layers[l];
    if (layer.kind != LayerSpec::Kind::dense) continue;
    UpdateSums weight_sums, bias_sums;
    weight_sums.with_change = measure_change;
    apply(layer.weight_offset, layer.in_features * layer.out_features, l1, l2, measure ? &weight_sums : nullptr);
    apply(layer.bias_offset, layer.out_features, T(0), T(0), measure ? &bias_sums : nullptr);
    if (measure) diagnostics_[l].gradient_norm_sum += std::sqrt(weight_sums.gradient_squares + bias_sums.gradient_squares);
    if (measure_change)
      diagnostics_[l].update_ratio = weight_sums.parameter_squares > 0
                                         ? std::sqrt(weight_sums.change_squares / weight_sums.parameter_squares)
                                         : 0.0;
  }
}

template <class T>
double Trainer<T>::penalty() const {
  const OptimizerConfig& o = optimizer_;
  if (o.l1 == 0 && o.l2 == 0) return 0;
  const T* parameters = network_.parameters();
  double squares = 0, magnitudes = 0;
  for (const LayerSpec& layer : network_.layers()) {
    if (layer.kind != LayerSpec::Kind::dense) continue;
    const index_t weights = layer.in_features * layer.out_features;
    if (o.l2 != 0) squares += kernels_->sum_squares(weights, parameters + layer.weight_offset);
    if (o.l1 != 0)
      for (index_t i = 0; i < weights; ++i) magnitudes += std::fabs(double(parameters[layer.weight_offset + i]));
  }
  return 0.5 * o.l2 * squares + o.l1 * magnitudes;
}

template <class T>
double Trainer<T>::penalty_factor() const {
  if (!objective_.penalty_per_weight) return 1;
  return batch_weight_ > 0 ? 1 / batch_weight_ : 0;
}

// The counts and sums themselves come from the backward pass and the update (issue 15).
template <class T>
void Trainer<T>::record_diagnostics(index_t rows) {
  const std::vector<LayerSpec>& layers = network_.layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    if (layers[l].kind != LayerSpec::Kind::dense) continue;
    ++diagnostics_[l].batches;
    diagnostics_[l].outputs += double(rows * layers[l].out_features);
  }
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace steepest
