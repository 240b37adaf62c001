#include "steepest/dispatch.h"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#if defined(STEEPEST_ARCH_X86_64)
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

#include "kernel_tables.h"  // generated: one table per level compiled in

namespace steepest {
namespace {

struct Level {
  const char* name;
  const KernelTable& (*table)();
  bool (*supported)();
};

#if defined(STEEPEST_ARCH_X86_64)
struct CpuidRegisters {
  unsigned eax, ebx, ecx, edx;
};

CpuidRegisters cpuid(unsigned leaf, unsigned subleaf) {
  CpuidRegisters r{};
#if defined(_MSC_VER)
  int regs[4];
  __cpuidex(regs, static_cast<int>(leaf), static_cast<int>(subleaf));
  r = {unsigned(regs[0]), unsigned(regs[1]), unsigned(regs[2]), unsigned(regs[3])};
#else
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

// The state components the OS saves on a context switch (XCR0): without them, using the
// wide registers corrupts other processes' state, whatever cpuid says.
unsigned long long enabled_state_components() {
  if (!(cpuid(1, 0).ecx & (1u << 27))) return 0;  // no OSXSAVE: no xgetbv
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
#endif
}

#endif

// The CPU features a level can require, by the names steepest_add_isa's CPU_FEATURE gives
// (cmake/steepest_isa.cmake): each true only when the CPU has the instructions and the OS
// saves their registers.
namespace feature {

bool none() { return true; }

#if defined(STEEPEST_ARCH_X86_64)
bool sse2() { return true; }  // part of x86-64 itself

bool avx2_fma() {
  const CpuidRegisters leaf1 = cpuid(1, 0);
  const bool avx = leaf1.ecx & (1u << 28), fma = leaf1.ecx & (1u << 12);
  const bool avx2 = cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ebx & (1u << 5));
  const bool os_saves_ymm = (enabled_state_components() & 0x6) == 0x6;
  return avx && fma && avx2 && os_saves_ymm;
}

bool avx512() {
  if (!avx2_fma()) return false;
  const unsigned ebx = cpuid(7, 0).ebx;
  const unsigned needed = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);  // F, DQ, BW, VL
  const bool os_saves_zmm = (enabled_state_components() & 0xE6) == 0xE6;
  return (ebx & needed) == needed && os_saves_zmm;
}
#elif defined(STEEPEST_ARCH_AARCH64)
bool neon() { return true; }  // part of AArch64 itself
#endif

}  // namespace feature

// Lowest first: the last supported one is the default.
const Level kLevels[] = {
#include "kernel_levels.inc"  // generated: {name, table, feature} per steepest_add_isa line
};

std::atomic<const KernelTable*> active{nullptr};

const KernelTable* table_named(const std::string& isa) {
  for (const Level& level : kLevels)
    if (isa == level.name) return level.supported() ? &level.table() : nullptr;
  return nullptr;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

const KernelTable* initial_table() {
  const char* forced = std::getenv("STEEPEST_ISA");
  if (forced && *forced) {
    const KernelTable* table = table_named(forced);
    if (!table)
      throw std::runtime_error(std::string("STEEPEST_ISA=") + forced +
                               " cannot run here; levels this CPU supports: " + join(available_isas()));
    return table;
  }
  const KernelTable* best = nullptr;
  for (const Level& level : kLevels)
    if (level.supported()) best = &level.table();
  return best;
}

}  // namespace

std::vector<std::string> compiled_isas() {
  std::vector<std::string> names;
  for (const Level& level : kLevels) names.emplace_back(level.name);
  return names;
}

std::vector<std::string> available_isas() {
  std::vector<std::string> names;
  for (const Level& level : kLevels)
    if (level.supported()) names.emplace_back(level.name);
  return names;
}

const KernelTable& active_kernels() {
  const KernelTable* table = active.load(std::memory_order_acquire);
  if (!table) {
    table = initial_table();
    active.store(table, std::memory_order_release);
  }
  return *table;
}

void select_isa(const std::string& isa) {
  const KernelTable* table = table_named(isa);
  if (!table)
    throw std::invalid_argument("instruction set '" + isa + "' cannot run here; levels this CPU supports: " +
                                join(available_isas()));
  active.store(table, std::memory_order_release);
}

}  // namespace steepest
