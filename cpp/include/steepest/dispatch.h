// Runtime choice of the kernel table: the best instruction set that both the CPU and the OS
// support, chosen once at start-up, or the level forced by STEEPEST_ISA.
#pragma once

#include <string>
#include <vector>

#include "steepest/kernels.h"

namespace steepest {

// Levels compiled into this build, lowest first ("scalar", "sse2", "avx2", "avx512", "neon").
std::vector<std::string> compiled_isas();
// Levels compiled in that this CPU and OS can run, lowest first.
std::vector<std::string> available_isas();

// The table in use. The first call selects it (STEEPEST_ISA or the best available) and
// throws std::runtime_error if STEEPEST_ISA names a level that cannot run here.
const KernelTable& active_kernels();
// Switches to a level from available_isas(); throws std::invalid_argument otherwise.
void select_isa(const std::string& isa);

}  // namespace steepest
