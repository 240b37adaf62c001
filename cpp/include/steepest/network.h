// A network: a stack of dense and dropout layers whose parameters live in one contiguous
// block [W0 (in x out), b0 (out), W1, b1, ...], so an optimizer step is one pass and the
// Python side can expose every weight as a view without copying.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <vector>

#include "steepest/kernels.h"

namespace steepest {

// A sparse matrix in CSR form: row r's entries are values[indptr[r] .. indptr[r + 1]) at
// columns indices[...], each column at most once per row.
template <class T>
struct CsrRows {
  const std::int64_t* indptr = nullptr;
  const std::int64_t* indices = nullptr;
  const T* values = nullptr;
};

struct LayerSpec {
  // dense: act(x·W + b). dropout: zeroes inputs while training. condition: appends a one-hot
  // row of each sample's class (a conditional model's label), in -> in + classes.
  // gaussian_sample: a variational autoencoder's sampling layer, [mean | log_var] (2L) -> z (L).
  enum class Kind { dense, dropout, condition, gaussian_sample };
  Kind kind;
  index_t in_features;
  index_t out_features;     // in_features for dropout, + classes for condition, half for gaussian_sample
  Activation activation;    // dense only
  double dropout_rate;      // dropout only: the probability of zeroing an input
  index_t classes;          // condition only
  index_t weight_offset;    // dense only: offsets into the parameter block
  index_t bias_offset;
};

template <class T>
class Network {
 public:
  // Checks that the layers chain (each in_features equals the previous out_features) and
  // lays out the parameter block; throws std::invalid_argument naming the first problem.
  explicit Network(std::vector<LayerSpec> layers);
  // Layers [first, last) of `whole`, sharing its parameters and its guard (an
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
  // batches of batch_rows (dropout is the identity here; a network with a condition or a
  // sampling layer predicts through its parts, which have none). Holds the shared side of the
  // parameter lock, so it waits for a training run to reach a batch boundary and never reads
  // half-updated weights. `check_interrupt`, when given, is called between batches at most
  // every kInterruptCheck (the caller's Ctrl-C); it stops the prediction by throwing.
  void predict(const T* x, index_t rows, T* y, index_t batch_rows,
               const std::function<void()>& check_interrupt = {}) const;
  // The same for a sparse x (rows x input_features, CSR): the first layer, which must be
  // dense, reads the sparse rows directly; nothing dense of x's size is made.
  void predict(const CsrRows<T>& x, index_t rows, T* y, index_t batch_rows,
               const std::function<void()>& check_interrupt = {}) const;

  // The parameters copied out, or overwritten, between training batches (under the lock).
  // assign_parameters writes nothing and returns false when a training session of another
  // thread than `writer` is under way: checked under the lock, so a write never lands
  // between two runs of a session that began before it.
  void copy_parameters(T* destination) const;
  bool assign_parameters(const T* source, std::uint64_t writer);

  // The parameter lock: shared by readers (predict, copies), exclusive for a training run
  // or a write. Every network over the same block (a model and the parts sharing its
  // weights) shares it.
  std::shared_mutex& parameter_lock() const { return guard_->lock; }

  // The training session: one fit at a time may train the networks over this block, across
  // the many runs it makes. begin_training is false when a session is under way (the
  // owner, a thread, is recorded so that only it may write the weights meanwhile).
  bool begin_training(std::uint64_t owner);
  void end_training(std::uint64_t owner);
  std::uint64_t training_owner() const { return guard_->owner.load(); }

  // A training session held by an object, for Python's `with`: entering marks the block
  // (false if another session holds it), leaving or destroying the object unmarks it. The
  // mark is made and undone in one native call each, so an exception (a Ctrl-C) that Python
  // raises between any two of its own steps can never leave the block marked.
  class Session {
   public:
    Session(Network& network, std::uint64_t owner) : network_(network), owner_(owner) {}
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() { leave(); }
    bool enter() {
      if (!held_) held_ = network_.begin_training(owner_);
      return held_;
    }
    void leave() {
      if (held_) network_.end_training(owner_);
      held_ = false;
    }

   private:
    Network& network_;
    const std::uint64_t owner_;
    bool held_ = false;
  };

  static constexpr std::chrono::milliseconds kInterruptCheck{50};

  private:
  // predict's loop over batches, the first layer's output of rows [begin, begin + n) given
  // by first_layer into its buffer.
  void predict_batches(index_t rows, T* y, index_t batch_rows, const std::function<void()>& check_interrupt,
                       const std::function<void(index_t begin, index_t n, T* output)>& first_layer) const;

  std::vector<LayerSpec> layers_;
  std::vector<T> own_parameters_;  // empty when the parameters are another network's
  T* parameters_ = nullptr;
  index_t parameter_count_ = 0;
  index_t widest_ = 0;
  struct Guard {
    std::shared_mutex lock;
    std::atomic<std::uint64_t> owner{0};  // the training session's owner, 0 when none
  };
  mutable Guard own_guard_;
  Guard* guard_ = &own_guard_;
};

}  // namespace steepest
