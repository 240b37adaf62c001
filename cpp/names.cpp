#include "steepest/names.h"

#include <stdexcept>

namespace steepest {
namespace {

template <class Enum>
Enum parse(const std::vector<std::string>& names, const std::string& name, const char* what) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<Enum>(i);
  std::string choices;
  for (const std::string& choice : names) choices += (choices.empty() ? "" : ", ") + choice;
  throw std::invalid_argument(std::string("unknown ") + what + " '" + name + "'; expected one of: " + choices);
}

}  // namespace

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = {"identity", "relu", "sigmoid", "tanh", "softmax", "exp"};
  return names;
}

const std::vector<std::string>& loss_names() {
  static const std::vector<std::string> names = {"mse", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                                                 "softmax_cross_entropy", "poisson"};
  return names;
}

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = {"sgd", "adam"};
  return names;
}

const std::vector<std::string>& input_noise_names() {
  static const std::vector<std::string> names = {"none", "gaussian", "mask"};
  return names;
}

Activation parse_activation(const std::string& name) { return parse<Activation>(activation_names(), name, "activation"); }
Loss parse_loss(const std::string& name) { return parse<Loss>(loss_names(), name, "loss"); }
OptimizerKind parse_optimizer(const std::string& name) { return parse<OptimizerKind>(optimizer_names(), name, "optimizer"); }

InputNoise parse_input_noise(const std::string& name) { return parse<InputNoise>(input_noise_names(), name, "input noise"); }

}  // namespace steepest
