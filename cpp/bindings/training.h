#pragma once

#include <pybind11/pybind11.h>

namespace steepest::bindings {

// Adds NetworkF32/NetworkF64 and TrainerF32/TrainerF64, used by python/steepest/models.
void bind_training(pybind11::module_& m);

}  // namespace steepest::bindings
