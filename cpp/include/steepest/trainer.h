// The training loop: mini-batch gradient descent over a network, every step (gather,
// forward, loss, backward, update) in C++ into buffers allocated once per trainer.
#pragma once

#include <cstdint>
#include <vector>

#include "steepest/bfloat16.h"
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
  // L1 as a soft-threshold after the step, which gives exact zeros, rather than as
  // l1·sign(w) added to the gradient (see cpp/kernels/optimizers.inc).
  bool l1_proximal = true;
  // Adam's ε added to √v before the bias correction (the efficient form of Kingma & Ba's §2,
  // which scikit-learn uses) rather than to the corrected √v̂ (PyTorch's).
  bool eps_before_correction = false;
};

// What training minimises beyond the mean loss of the outputs, and how it corrupts inputs.
struct Objective {
  // The loss and its gradient times this: the output count for a loss summed over the
  // outputs of a sample (a variational autoencoder's reconstruction), not averaged.
  double loss_scale = 1;
  // A denoising model's corruption of each batch's inputs (the targets stay clean): gaussian
  // adds amount · N(0, 1), mask zeroes each input with probability amount.
  InputNoise noise = InputNoise::none;
  double noise_amount = 0;
  // l1 and l2 per unit of sample weight: each step divides them by its batch's total weight
  // (its row count when the rows have no weights), as scikit-learn's α / n per batch.
  bool penalty_per_weight = false;
};

// The rows a run or an evaluation reads: x (rows x input features); targets as float rows
// (rows x outputs) or, for softmax cross entropy, integer labels (rows); and a conditional
// model's classes (rows), which its condition layers append as one-hot rows; and each row's
// weight (rows, >= 0; null for all 1): a batch's loss is then Σ w·loss / Σ w. A sparse x
// comes as csr instead (x null): the first layer, which must be dense, reads its rows.
template <class T>
struct Samples {
  const T* x = nullptr;
  CsrRows<T> csr;
  const T* target = nullptr;
  const std::int64_t* labels = nullptr;
  const std::int64_t* conditions = nullptr;
  const T* weights = nullptr;
};

// What one call of Trainer::run (or evaluate) did.
struct RunResult {
  double loss_sum = 0;           // Σ over batches of (batch loss · batch rows)
  // A network with a sampling layer: its batch loss is the reconstruction plus kl_weight
  // times the KL divergence, each summed here the same way.
  double reconstruction_sum = 0;
  double kl_sum = 0;
  // Σ over batches of (the step's l1/l2 penalty, as the update applies it, · batch rows).
  double penalty_sum = 0;
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
  double zero_fraction = 0;       // weights exactly 0 now (what L1's proximal step gives)
  // A sampling layer: the mean KL divergence of each latent dimension over the samples seen,
  // and how many dimensions are active, their KL above kActiveKl (the others have collapsed
  // to the prior: the decoder ignores them).
  std::vector<double> kl_per_dimension;
  index_t active_dimensions = 0;
  static constexpr double kActiveKl = 0.01;  // nats
};

// Per dense layer, accumulated over the batches since the last reset.
struct LayerDiagnostics {
  double gradient_norm_sum = 0;  // Σ over batches of ||(dW, db)||
  index_t batches = 0;
  double update_ratio = 0;       // ||ΔW|| / ||W|| of the last step of the last run
  // Per unit, the outputs counted by the backward pass (see OutputCount): a ReLU's active
  // ones, a sigmoid's or tanh's saturated ones. Empty for the other activations.
  std::vector<std::int64_t> output_counts;
  double outputs = 0;            // outputs seen
  std::vector<double> kl_sums;   // sampling layer: Σ over samples of each dimension's KL
  double samples = 0;            // sampling layer: samples seen
};

template <class T>
class Trainer {
 public:
  Trainer(Network<T>& network, index_t batch_size, Loss loss, OptimizerConfig optimizer, Objective objective,
          std::uint64_t seed, bool diagnostics);

  // Runs batches [first_batch, last_batch) of an epoch that visits the rows of `data` in
  // `order` (n indices), batch b taking order[b·batch_size, (b+1)·batch_size) (the last one
  // may be smaller). Stops before updating on a batch whose loss is not finite, and puts back
  // the newest weights known to give a finite loss (see start_of_run_). Holds the network's
  // parameter lock exclusively, so readers in other threads see batch boundaries.
  // Batch b steps with lr·lr_growth^(b − first_batch): 1 keeps the rate, and a learning-rate
  // range test (issue 17) grows it exponentially in one run. When batch_losses is given, its
  // entry b − first_batch receives batch b's loss (that range test's curve).
  RunResult run(const Samples<T>& data, const std::int64_t* order, index_t n, index_t first_batch, index_t last_batch,
                T lr, double lr_growth = 1, double* batch_losses = nullptr);

  // The loss (and judgements) of the network on n rows of `data`, in batches, without
  // training, with dropout and input noise off: the same loss kernels as run, for
  // validation data. A sampling layer still samples, from a stream of its own per call. If
  // per_row is not null, each row's loss goes there (n values).
  RunResult evaluate(const Samples<T>& data, index_t n, double* per_row);

  // The loss over all n rows of `data` (Σ w·loss / Σ w with weights) and its gradient with
  // respect to every parameter into `gradient` (parameter_count values), for full-batch
  // optimizers (L-BFGS): in batches of batch_size through the training kernels, dropout and
  // input noise off, each batch's gradient weighted by its share of the rows' weight. The
  // optimizer's penalties are not included. Allocates nothing; holds the shared lock.
  double loss_and_gradient(const Samples<T>& data, index_t n, T* gradient);

  // β of a sampling layer's KL term in the loss, from the next batch on (default 1).
  void set_kl_weight(double weight) { kl_weight_ = weight; }
  // A test hook: the sampling layer takes row r of `noise` (at least batch_size x latent) as
  // the ε of each batch's row r, instead of drawing it. Empty goes back to drawing.
  void set_fixed_noise(std::vector<T> noise) { fixed_noise_ = std::move(noise); }
  // The dense layers' forward and backward products with bfloat16 operands from the next
  // batch on (bfloat16.h; float32 only), or null for the network's own precision.
  void set_bfloat16_products(const Bf16KernelSet* bf16) { bf16_ = bf16; }

  // The optimizer's state for a model saved between partial_fit calls (issue 18): the
  // steps taken (Adam's bias correction and the draws of dropout and noise count them) and
  // its arrays, the velocity or Adam's first and second moments (none for plain SGD). The
  // parameters are copied into `parameters` under the same lock, so that a snapshot taken
  // while another thread trains is of one batch boundary.
  index_t copy_state(T* parameters, std::vector<std::vector<T>>& arrays) const;
  // Puts back what copy_state gave for a trainer of the same settings; throws
  // std::invalid_argument if the arrays are not this optimizer's (their number and sizes).
  void restore_state(index_t steps, const std::vector<std::vector<T>>& arrays);

  std::vector<LayerReport> diagnostics() const;
  void reset_diagnostics();
  index_t steps() const { return steps_; }
  index_t batch_size() const { return batch_size_; }
  const Network<T>& network() const { return network_; }

 private:
  void gather(const Samples<T>& data, const std::int64_t* rows_in_order, index_t first_row, index_t rows);
  void corrupt_inputs(index_t rows);
  // The batch through the network; the draws of its dropout and sampling layers come from
  // the streams of (pass_seed, pass): a training step's are (seed, step).
  void forward(index_t rows, bool training, std::uint64_t pass_seed, std::uint64_t pass);
  // The batch's loss (the objective's: scaled, plus the weighted KL), its parts into
  // *reconstruction and *kl, and its gradient with respect to the output when training.
  double loss(index_t rows, bool training, double* reconstruction, double* kl);
  // The mean loss kernel over rows [first_row, first_row + rows) of the batch's outputs, its
  // gradient into dprediction unless null.
  double output_loss(index_t first_row, index_t rows, T* dprediction) const;
  void condition_forward(const LayerSpec& layer, index_t rows, const T* in, T* out) const;
  void condition_backward(const LayerSpec& layer, index_t rows, const T* dout, T* din) const;
  void judge(index_t rows, RunResult& result) const;
  // With count, the diagnostics' counts of the layers' outputs too (a training step's).
  void backward(index_t rows, bool count);
  // One optimizer step over every dense layer, split across the thread pool in tasks of
  // fixed bounds (bitwise the same for any thread count); with measure, the diagnostics'
  // gradient norm comes from the same pass, and with measure_change the update ratio.
  void update(T lr, bool measure, bool measure_change);
  // The optimizer's l1/l2 penalty on the current weights, l2/2·||W||² + l1·|W|, and the
  // factor the objective applies to both for this batch.
  double penalty() const;
  double penalty_factor() const;
  void record_diagnostics(index_t rows);
  // What the backward pass counts of layer l's outputs, or null when it counts none.
  const OutputCount<T>* output_count(std::size_t l) const;
  void restore_weights_with_finite_loss(bool updated_in_this_run);

  Network<T>& network_;
  const KernelSet<T>* kernels_;
  const Bf16KernelSet* bf16_ = nullptr;
  index_t batch_size_;
  Loss loss_;
  OptimizerConfig optimizer_;
  Objective objective_;
  double kl_weight_ = 1;
  std::vector<T> fixed_noise_;
  std::uint64_t seed_;
  bool collect_diagnostics_;
  bool output_is_logits_;  // sigmoid + BCE and softmax + CE are computed from the logits
  bool loss_from_logits_;  // the loss kernel takes logits: those cases and BCE with logits
  bool labels_in_use_ = false;  // this run's targets are integer labels
  bool weights_in_use_ = false;  // this run's rows have weights
  bool sparse_input_ = false;    // this run's x is CSR: the batch's rows are in batch_csr_
  double batch_weight_ = 0;      // the batch's Σ w (its rows without weights)
  bool sampling_layer_ = false;  // the network has a gaussian_sample layer (a VAE)
  double batch_kl_ = 0;          // the batch's mean KL divergence, from the sampling layer
  index_t steps_ = 0;
  std::uint64_t evaluations_ = 0;

  // activations_[l] is the input of layer l (batch x in_features); the last is the output.
  std::vector<std::vector<T>> activations_;
  std::vector<std::vector<T>> gradients_;  // gradients_[l]: d loss / d activations_[l]
  std::vector<std::vector<std::uint8_t>> dropout_masks_;
  std::vector<std::vector<T>> sampling_noise_;  // per sampling layer: the batch's ε (rows x latent)
  std::vector<double> kl_rows_;                  // the batch's KL per row (a sampling layer's)
  std::vector<T> input_noise_;                   // the batch's Gaussian input noise
  std::vector<T> target_batch_;
  std::vector<std::int64_t> label_batch_;
  std::vector<std::int64_t> condition_batch_;
  std::vector<T> weight_batch_;
  // The batch's rows of a sparse x, as CSR (indptr from 0); grown to the largest batch seen.
  std::vector<std::int64_t> batch_indptr_, batch_indices_;
  std::vector<T> batch_values_;
  std::vector<T> parameter_gradients_;
  std::vector<T> state_a_, state_b_;  // velocity, or Adam's first and second moments
  std::vector<OutputCount<T>> output_count_;  // per layer; counts null where none are kept
  std::vector<UpdateSums> task_sums_;          // one per task of the largest update_block
  // The parameters at the start of this run and of the one before, so a divergence can be
  // rolled back (issue 8): the weights before the failing batch are the ones that gave a
  // non-finite loss, often overflowed to inf or huge. The newest of these whose first batch
  // had a finite loss is restored. One copy per run (a run is ~0.1 s of batches) costs far
  // less than one per batch.
  std::vector<T> start_of_run_, start_of_previous_run_;
  std::vector<LayerDiagnostics> diagnostics_;  // one per layer (empty for dropout)
};

}  // namespace steepest
