// A network: a stack of dense and dropout layers whose parameters live in one contiguous
// block [W0 (in x out), b0 (out), W1, b1, ...], so an optimizer step is one pass and the
// Python side can expose every weight as a view without copying.
#pragma once

#include <atomic>
#include <cstdint>
#include <shared_mutex>
#include <vector>

#include "steepest/kernels.h"

namespace steepest {

struct LayerSpec {
  enum class Kind { dense, dropout };
  Kind kind;
  index_t in_features;
  index_t out_features;     // equal to in_features for dropout
  Activation activation;    // dense only
  double dropout_rate;      // dropout only: the probability of zeroing an input
  index_t weight_offset;    // dense only: offsets into the parameter block
  index_t bias_offset;
};

template <class T>
class Network {
 public:
  // Checks that the layers chain (each in_features equals the previous out_features) and
  // lays out the parameter block; throws std::invalid_argument naming the first problem.
  explicit Network(std::vector<LayerSpec> layers);
  // Layers [first, last) of `whole`, sharing its parameters and its usage lock (an
  // autoencoder's encoder and decoder). `whole` must outlive it.
  Network(Network& whole, index_t first, index_t last);

  const std::vector<LayerSpec>& layers() const { return layers_; }
  index_t input_features() const { return layers_.front().in_features; }
  index_t output_features() const { return layers_.back().out_features; }
  index_t widest_layer() const { return widest_; }
  T* parameters() { return parameters_; }
  const T* parameters() const { return parameters_; }
  index_t parameter_count() const { return parameter_count_; }

  // y (rows x output_features) = the network applied to x (rows x input_features), in
  // batches of batch_rows (dropout is the identity here).
  void predict(const T* x, index_t rows, T* y, index_t batch_rows) const;

  // Held shared by predict and exclusively by a training run: predicting while another
  // thread trains is refused instead of reading half-updated weights.
  std::shared_mutex& usage() const { return usage_->mutex; }
  // True while a training run holds usage() exclusively: a run that finds the lock taken
  // waits for predictions to end but refuses to interleave with another run.
  std::atomic<bool>& training() const { return usage_->training; }

 private:
  std::vector<LayerSpec> layers_;
  std::vector<T> own_parameters_;  // empty when the parameters are another network's
  T* parameters_ = nullptr;
  index_t parameter_count_ = 0;
  index_t widest_ = 0;
  struct Usage {
    std::shared_mutex mutex;
    std::atomic<bool> training{false};
  };
  mutable Usage own_usage_;
  Usage* usage_ = &own_usage_;
};

}  // namespace steepest
