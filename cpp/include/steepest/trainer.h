// The training loop: mini-batch gradient descent over a network, every step (gather,
// forward, loss, backward, update) in C++ into buffers allocated once per trainer.
#pragma once

#include <cstdint>
#include <vector>

#include "steepest/kernels.h"
#include "steepest/names.h"
#include "steepest/network.h"

namespace steepest {

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::sgd;
  double momentum = 0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double l1 = 0, l2 = 0;  // on weights only, never biases
};

// What one call of Trainer::run did.
struct RunResult {
  double loss_sum = 0;           // Σ over batches of (mean batch loss · batch rows)
  index_t samples = 0;
  index_t batches = 0;
  index_t nonfinite_batch = -1;  // the batch whose loss was NaN/inf (its update was not applied)
  // Classification losses: predictions judged and judged right (the arg-max against the label
  // for softmax cross entropy; each output against 0.5 for binary cross entropy).
  index_t judged = 0;
  index_t correct = 0;
};

// What the diagnostics of one layer came to since the last reset; NaN where a measure does
// not apply (a dropout layer has none; dead units are counted for ReLU, saturated ones for
// sigmoid and tanh).
struct LayerReport {
  bool dense = false;
  double gradient_norm = 0;       // mean over the batches of ||(dW, db)||
  double update_ratio = 0;        // ||ΔW|| / ||W|| of the last step of the last run
  double dead_fraction = 0;       // ReLU units never active on the data seen
  double saturated_fraction = 0;  // sigmoid/tanh outputs within 1% of their bounds
};

// Per dense layer, accumulated over the batches since the last reset.
struct LayerDiagnostics {
  double gradient_norm_sum = 0;  // Σ over batches of ||(dW, db)||
  index_t batches = 0;
  double update_ratio = 0;       // ||ΔW|| / ||W|| of the last step of the last run
  std::vector<std::uint8_t> ever_active;  // ReLU: unit had an output > 0 at least once
  double saturated = 0;          // sigmoid/tanh: outputs within 1% of the bounds
  double outputs = 0;            // outputs seen
};

template <class T>
class Trainer {
 public:
  Trainer(Network<T>& network, index_t batch_size, Loss loss, OptimizerConfig optimizer, std::uint64_t seed,
          bool diagnostics);

  // Runs batches [first_batch, last_batch) of an epoch that visits the rows of x in `order`
  // (n indices), batch b taking order[b·batch_size, (b+1)·batch_size) (the last one may be
  // smaller). Targets are `target` (rows x output_features) or, for softmax cross entropy,
  // integer `labels`. Stops before updating on a batch whose loss is not finite, and puts
  // back the newest weights known to give a finite loss (see start_of_run_). Holds the
  // network's parameter lock exclusively, so readers in other threads see batch boundaries.
  // Batch b steps with lr·lr_growth^(b − first_batch): 1 keeps the rate, and a learning-rate
  // range test (issue 17) grows it exponentially in one run. When batch_losses is given, its
  // entry b − first_batch receives batch b's mean loss (that range test's curve).
  RunResult run(const T* x, const T* target, const std::int64_t* labels, const std::int64_t* order, index_t n,
                index_t first_batch, index_t last_batch, T lr, double lr_growth = 1, double* batch_losses = nullptr);

  // The loss (and judgements) of the network on n rows of x, in batches, without training
  // and with dropout off: the same loss kernels as run, for validation data.
  RunResult evaluate(const T* x, const T* target, const std::int64_t* labels, index_t n);

  std::vector<LayerReport> diagnostics() const;
  void reset_diagnostics();
  index_t steps() const { return steps_; }
  index_t batch_size() const { return batch_size_; }
  const Network<T>& network() const { return network_; }

 private:
  void gather(const T* x, const T* target, const std::int64_t* labels, const std::int64_t* rows_in_order,
              index_t first_row, index_t rows);
  // The batch's mean loss, and its gradient with respect to the output when training.
  double forward_and_loss(index_t rows, bool training);
  void judge(index_t rows, RunResult& result) const;
  void backward(index_t rows);
  void update(T lr, bool measure_update);
  void record_diagnostics(index_t rows);
  void restore_weights_with_finite_loss(bool updated_in_this_run);

  Network<T>& network_;
  const KernelSet<T>* kernels_;
  index_t batch_size_;
  Loss loss_;
  OptimizerConfig optimizer_;
  std::uint64_t seed_;
  bool collect_diagnostics_;
  bool output_is_logits_;  // sigmoid + BCE and softmax + CE are computed from the logits
  bool loss_from_logits_;  // the loss kernel takes logits: those cases and BCE with logits
  bool labels_in_use_ = false;  // this run's targets are integer labels
  index_t steps_ = 0;

  // activations_[l] is the input of layer l (batch x in_features); the last is the output.
  std::vector<std::vector<T>> activations_;
  std::vector<std::vector<T>> gradients_;  // gradients_[l]: d loss / d activations_[l]
  std::vector<std::vector<std::uint8_t>> dropout_masks_;
  std::vector<T> target_batch_;
  std::vector<std::int64_t> label_batch_;
  std::vector<T> parameter_gradients_;
  std::vector<T> state_a_, state_b_;  // velocity, or Adam's first and second moments
  std::vector<T> weights_before_;
  // The parameters at the start of this run and of the one before, so a divergence can be
  // rolled back (issue 8): the weights before the failing batch are the ones that gave a
  // non-finite loss, often overflowed to inf or huge. The newest of these whose first batch
  // had a finite loss is restored. One copy per run (a run is ~0.1 s of batches) costs far
  // less than one per batch.
  std::vector<T> start_of_run_, start_of_previous_run_;
  std::vector<LayerDiagnostics> diagnostics_;  // one per layer (empty for dropout)
};

}  // namespace steepest
