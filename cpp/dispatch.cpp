#include "steepest/dispatch.h"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#if defined(STEEPEST_ARCH_X86_64)
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif

#include "steepest/bfloat16.h"

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

bool avx512_bf16() { return avx512() && cpuid(0, 0).eax >= 7 && (cpuid(7, 1).eax & (1u << 5)); }

// VDPBF16PS runs at twice the float32 FMA rate on AMD's Zen 4 and Zen 5 (the AMD CPUs with
// AVX-512), at half of it on Intel's: only there is it worth choosing.
bool avx512_bf16_fast() {
  const CpuidRegisters vendor = cpuid(0, 0);
  char name[12];
  std::memcpy(name, &vendor.ebx, 4);
  std::memcpy(name + 4, &vendor.edx, 4);
  std::memcpy(name + 8, &vendor.ecx, 4);
  return avx512_bf16() && std::memcmp(name, "AuthenticAMD", 12) == 0;
}

// Linux gives a process the 8 KB of tile data only when asked (arch_prctl
// ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA), once for all its threads; a kernel that
// refuses, or predates the request (5.16), leaves the level unavailable.
bool os_grants_tiles() {
#if defined(__linux__) && !defined(_MSC_VER)
  static const bool granted = [] {
    constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return granted;
#else
  return false;
#endif
}

bool amx_bf16() {
  if (!avx512_bf16()) return false;  // the level rounds with AVX512_BF16
  const unsigned edx = cpuid(7, 0).edx;
  const bool tiles = (edx & (1u << 24)) && (edx & (1u << 22));  // AMX-TILE, AMX-BF16
  const bool os_saves_tiles = (enabled_state_components() & 0x60000) == 0x60000;  // XTILECFG, XTILEDATA
  return tiles && os_saves_tiles && os_grants_tiles();
}

bool amx_bf16_fast() { return amx_bf16(); }
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

struct Bf16Level {
  const char* name;
  const Bf16KernelSet& (*kernels)();
  bool (*supported)();
  bool (*fast)();  // faster than the float32 kernels here
};

bool never() { return false; }

// Lowest first: the last supported and fast one is the default.
const Bf16Level kBf16Levels[] = {
    {"emulated", emulated_bfloat16, feature::none, never},
#include "bfloat16_levels.inc"  // generated: {name, kernels, feature, fast feature} per steepest_add_bfloat16 line
};

std::atomic<const Bf16KernelSet*> active_bf16{nullptr};
std::atomic<bool> bf16_chosen{false};  // by STEEPEST_BFLOAT16 or select_bfloat16

const Bf16KernelSet* bf16_named(const std::string& name) {
  for (const Bf16Level& level : kBf16Levels)
    if (name == level.name) return level.supported() ? &level.kernels() : nullptr;
  return nullptr;
}

// A hardware level is chosen by default only after it has multiplied a small product, with
// every remainder of its tiles, as the emulated level does (the same bfloat16 operands; only
// the order of the float32 sums may differ): a level that a CPU runs wrongly (a kernel bug
// on hardware the tests have not run on yet, a hypervisor that mishandles tile state)
// falls back to the emulated products instead of training on wrong ones.
bool agrees_with_emulated(const Bf16KernelSet& level) {
  constexpr index_t M = 37, N = 45, K = 70;
  std::vector<float> a(M * K), b(K * N), fast(M * N), emulated(M * N);
  std::uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return float(int(state >> 8) - (1 << 23)) / float(1 << 23);  // in [-1, 1)
  };
  for (float& v : a) v = next();
  for (float& v : b) v = next();
  const KernelSet<float>& kernels = active_kernels().f32;
  try {
    gemm_bfloat16(level, kernels, M, N, K, a.data(), K, false, b.data(), N, false, fast.data(), N);
  } catch (const std::exception&) {
    return false;
  }
  gemm_bfloat16(emulated_bfloat16(), kernels, M, N, K, a.data(), K, false, b.data(), N, false, emulated.data(), N);
  for (index_t i = 0; i < M * N; ++i)
    // Terms of magnitude <= 1: two orders of a K-term float32 sum differ by at most about
    // 2 K^2 2^-24 (6e-4 here); a wrong product is off by the size of its terms.
    if (!(std::fabs(fast[i] - emulated[i]) <= 2.0f * float(K * K) * 0x1p-24f)) return false;
  return true;
}

const Bf16KernelSet* initial_bf16() {
  const char* forced = std::getenv("STEEPEST_BFLOAT16");
  if (forced && *forced) {
    const Bf16KernelSet* set = bf16_named(forced);
    if (!set)
      throw std::runtime_error(std::string("STEEPEST_BFLOAT16=") + forced +
                               " cannot run here; bfloat16 levels this CPU supports: " +
                               join(available_bfloat16_levels()));
    bf16_chosen.store(true);
    return set;
  }
  const Bf16KernelSet* best = &emulated_bfloat16();
  for (const Bf16Level& level : kBf16Levels)
    if (level.supported() && level.fast() && agrees_with_emulated(level.kernels())) best = &level.kernels();
  return best;
}

// The names of a table of levels (kLevels, kBf16Levels), lowest first: every one compiled
// in, or only those this CPU and OS run.
template <class Level, std::size_t count>
std::vector<std::string> level_names(const Level (&levels)[count], bool only_supported) {
  std::vector<std::string> names;
  for (const Level& level : levels)
    if (!only_supported || level.supported()) names.emplace_back(level.name);
  return names;
}

}  // namespace

std::vector<std::string> compiled_bfloat16_levels() { return level_names(kBf16Levels, false); }

std::vector<std::string> available_bfloat16_levels() { return level_names(kBf16Levels, true); }

const Bf16KernelSet& active_bfloat16() {
  const Bf16KernelSet* set = active_bf16.load(std::memory_order_acquire);
  if (!set) {
    set = initial_bf16();
    active_bf16.store(set, std::memory_order_release);
  }
  return *set;
}

bool bfloat16_trains() { return active_bfloat16().macro_kernel != nullptr || bf16_chosen.load(); }

void select_bfloat16(const std::string& level) {
  if (level.empty()) {  // back to the default choice
    bf16_chosen.store(false);
    active_bf16.store(initial_bf16(), std::memory_order_release);
    return;
  }
  const Bf16KernelSet* set = bf16_named(level);
  if (!set)
    throw std::invalid_argument("bfloat16 level '" + level + "' cannot run here; bfloat16 levels this CPU supports: " +
                                join(available_bfloat16_levels()));
  active_bf16.store(set, std::memory_order_release);
  bf16_chosen.store(true);
}

std::vector<std::string> compiled_isas() { return level_names(kLevels, false); }

std::vector<std::string> available_isas() { return level_names(kLevels, true); }

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
