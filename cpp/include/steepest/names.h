// The choices a user makes by name (activation, loss, optimizer, input noise): each enum's
// names are listed once, in names.cpp, exported to Python as steepest._core.activations,
// .losses, .optimizers and .input_noises, and parsed by the functions below. Adding an activation, a loss or an
// optimizer starts here.
#pragma once

#include <string>
#include <vector>

#include "steepest/kernels.h"

namespace steepest {

enum class Loss : int {
  mse = 0,
  binary_cross_entropy = 1,
  binary_cross_entropy_with_logits = 2,
  softmax_cross_entropy = 3,
  poisson = 4,
};
enum class OptimizerKind : int { sgd = 0, adam = 1 };
// How a denoising model corrupts its inputs while training (the targets stay clean).
enum class InputNoise : int { none = 0, gaussian = 1, mask = 2 };

// The names in the enums' order.
const std::vector<std::string>& activation_names();
const std::vector<std::string>& loss_names();
const std::vector<std::string>& optimizer_names();
const std::vector<std::string>& input_noise_names();

// The enum value of a name; std::invalid_argument naming the choices otherwise.
Activation parse_activation(const std::string& name);
Loss parse_loss(const std::string& name);
OptimizerKind parse_optimizer(const std::string& name);
InputNoise parse_input_noise(const std::string& name);

}  // namespace steepest
