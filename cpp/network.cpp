#include "steepest/network.h"

#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>

#include "steepest/dense.h"
#include "steepest/dispatch.h"
#include "steepest/workspace.h"

namespace steepest {

template <class T>
Network<T>::Network(std::vector<LayerSpec> layers) : layers_(std::move(layers)) {
  if (layers_.empty()) throw std::invalid_argument("a network needs at least one layer");
  index_t offset = 0;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    LayerSpec& layer = layers_[i];
    if (layer.in_features < 1 || layer.out_features < 1)
      throw std::invalid_argument("layer " + std::to_string(i) + " has a size < 1");
    if (i > 0 && layer.in_features != layers_[i - 1].out_features)
      throw std::invalid_argument("layer " + std::to_string(i) + " takes " + std::to_string(layer.in_features) +
                                  " features but layer " + std::to_string(i - 1) + " gives " +
                                  std::to_string(layers_[i - 1].out_features));
    if (layer.kind == LayerSpec::Kind::dropout) {
      if (layer.out_features != layer.in_features)
        throw std::invalid_argument("dropout layer " + std::to_string(i) + " must keep its width");
      if (!(layer.dropout_rate >= 0 && layer.dropout_rate < 1))
        throw std::invalid_argument("dropout layer " + std::to_string(i) + " needs a rate in [0, 1)");
    } else if (layer.kind == LayerSpec::Kind::condition) {
      if (layer.classes < 1 || layer.out_features != layer.in_features + layer.classes)
        throw std::invalid_argument("condition layer " + std::to_string(i) + " must append its classes to its inputs");
    } else if (layer.kind == LayerSpec::Kind::gaussian_sample) {
      if (layer.in_features != 2 * layer.out_features)
        throw std::invalid_argument("sampling layer " + std::to_string(i) + " must take a mean and a log-variance per output");
    } else {
      if (layer.activation == Activation::softmax && i + 1 != layers_.size())
        throw std::invalid_argument("softmax is for the output layer only (layer " + std::to_string(i) + ")");
      // in x out + out would overflow index_t for absurd sizes and lay out a block far
      // smaller than the views onto it: refuse as the allocation it stands for (issue 8).
      const index_t room = std::numeric_limits<index_t>::max() / index_t(sizeof(T)) - offset;
      if (room / layer.out_features <= layer.in_features) throw std::bad_alloc();
      layer.weight_offset = offset;
      offset += layer.in_features * layer.out_features;
      layer.bias_offset = offset;
      offset += layer.out_features;
    }
    if (layer.out_features > widest_) widest_ = layer.out_features;
  }
  own_parameters_.assign(static_cast<std::size_t>(offset), T(0));
  parameters_ = own_parameters_.data();
  parameter_count_ = offset;
}

template <class T>
Network<T>::Network(Network& whole, index_t first, index_t last) : guard_(whole.guard_) {
  const auto count = static_cast<index_t>(whole.layers_.size());
  if (first < 0 || last > count || first >= last)
    throw std::invalid_argument("layers [" + std::to_string(first) + ", " + std::to_string(last) +
                                ") are not a non-empty range of the network's " + std::to_string(count) + " layers");
  layers_.assign(whole.layers_.begin() + first, whole.layers_.begin() + last);
  // Offsets become relative to the first parameter of the range.
  index_t begin = -1, end = 0;
  for (const LayerSpec& layer : layers_) {
    if (layer.kind != LayerSpec::Kind::dense) continue;
    if (begin < 0) begin = layer.weight_offset;
    end = layer.bias_offset + layer.out_features;
  }
  if (begin < 0) begin = end = 0;
  for (LayerSpec& layer : layers_) {
    layer.weight_offset -= begin;
    layer.bias_offset -= begin;
    if (layer.out_features > widest_) widest_ = layer.out_features;
  }
  parameters_ = whole.parameters_ + begin;
  parameter_count_ = end - begin;
}

template <class T>
void Network<T>::predict(const T* x, index_t rows, T* y, index_t batch_rows,
                         const std::function<void()>& check_interrupt) const {
  const KernelSet<T>& kernels = kernels_for<T>(active_kernels());
  const LayerSpec& first = layers_.front();
  predict_batches(rows, y, batch_rows, check_interrupt, [&](index_t begin, index_t n, T* output) {
    const T* input = x + begin * input_features();
    if (first.kind == LayerSpec::Kind::dropout)
      std::memcpy(output, input, sizeof(T) * static_cast<std::size_t>(n * first.out_features));
    else
      dense_forward(kernels, n, first.in_features, first.out_features, input, parameters_ + first.weight_offset,
                    parameters_ + first.bias_offset, first.activation, output);
  });
}

template <class T>
void Network<T>::predict(const CsrRows<T>& x, index_t rows, T* y, index_t batch_rows,
                         const std::function<void()>& check_interrupt) const {
  const KernelSet<T>& kernels = kernels_for<T>(active_kernels());
  const LayerSpec& first = layers_.front();
  if (first.kind != LayerSpec::Kind::dense) throw std::invalid_argument("a sparse input needs a dense first layer");
  predict_batches(rows, y, batch_rows, check_interrupt, [&](index_t begin, index_t n, T* output) {
    // The batch's rows are the CSR's rows from `begin`: indptr's entries stay absolute.
    sparse_dense_forward(kernels, n, first.out_features, x.indptr + begin, x.indices, x.values,
                         parameters_ + first.weight_offset, parameters_ + first.bias_offset, first.activation, output);
  });
}

template <class T>
void Network<T>::predict_batches(index_t rows, T* y, index_t batch_rows, const std::function<void()>& check_interrupt,
                                 const std::function<void(index_t, index_t, T*)>& first_layer) const {
  for (const LayerSpec& layer : layers_)
    if (layer.kind == LayerSpec::Kind::condition || layer.kind == LayerSpec::Kind::gaussian_sample)
      throw std::invalid_argument("this network has a condition or a sampling layer: predict through its parts");
  const KernelSet<T>& kernels = kernels_for<T>(active_kernels());
  // A batch larger than the data would only size the buffers for rows that do not exist
  // (and batch_rows x widest could overflow).
  if (batch_rows > rows) batch_rows = rows;
  if (batch_rows > std::numeric_limits<index_t>::max() / index_t(sizeof(T)) / widest_) throw std::bad_alloc();
  const auto buffer_size = static_cast<std::size_t>(batch_rows * widest_);
  T* buffers[2] = {thread_scratch<T>(ScratchSlot::predict_ping, buffer_size),
                   thread_scratch<T>(ScratchSlot::predict_pong, buffer_size)};
  std::shared_lock<std::shared_mutex> reading(parameter_lock());
  const index_t last = static_cast<index_t>(layers_.size()) - 1;
  auto checked = std::chrono::steady_clock::now();
  for (index_t begin = 0; begin < rows; begin += batch_rows) {
    const index_t n = rows - begin < batch_rows ? rows - begin : batch_rows;
    T* output = last == 0 ? y + begin * output_features() : buffers[0];
    first_layer(begin, n, output);
    const T* input = output;
    int next = 1;
    for (index_t l = 1; l <= last; ++l) {
      const LayerSpec& layer = layers_[static_cast<std::size_t>(l)];
      if (layer.kind == LayerSpec::Kind::dropout) {
        if (l == last)
          for (index_t i = 0; i < n * layer.out_features; ++i) y[begin * output_features() + i] = input[i];
        continue;
      }
      output = l == last ? y + begin * output_features() : buffers[next];
      dense_forward(kernels, n, layer.in_features, layer.out_features, input, parameters_ + layer.weight_offset,
                    parameters_ + layer.bias_offset, layer.activation, output);
      input = output;
      next ^= 1;
    }
    // Rarely enough that the check (which may take the interpreter's lock) costs nothing
    // measurable, often enough that Ctrl-C stops a long predict within about one batch.
    if (check_interrupt && begin + n < rows && std::chrono::steady_clock::now() - checked > kInterruptCheck) {
      check_interrupt();
      checked = std::chrono::steady_clock::now();
    }
  }
}

template <class T>
void Network<T>::copy_parameters(T* destination) const {
  std::shared_lock<std::shared_mutex> reading(parameter_lock());
  std::memcpy(destination, parameters_, sizeof(T) * static_cast<std::size_t>(parameter_count_));
}

template <class T>
bool Network<T>::assign_parameters(const T* source, std::uint64_t writer) {
  std::unique_lock<std::shared_mutex> writing(parameter_lock());
  const std::uint64_t owner = guard_->owner.load();
  if (owner != 0 && owner != writer) return false;
  std::memcpy(parameters_, source, sizeof(T) * static_cast<std::size_t>(parameter_count_));
  return true;
}

template <class T>
bool Network<T>::begin_training(std::uint64_t owner) {
  std::uint64_t none = 0;
  return owner != 0 && guard_->owner.compare_exchange_strong(none, owner);
}

template <class T>
void Network<T>::end_training(std::uint64_t owner) {
  std::uint64_t expected = owner;
  guard_->owner.compare_exchange_strong(expected, 0);
}

template class Network<float>;
template class Network<double>;

}  // namespace steepest
