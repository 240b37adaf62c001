#include "steepest/workspace.h"

#include <cstdlib>
#include <new>
#if defined(_MSC_VER)
#include <malloc.h>
#endif

namespace steepest {
namespace {

void* allocate_aligned(std::size_t bytes) {
#if defined(_MSC_VER)
  return _aligned_malloc(bytes, 64);
#else
  return std::aligned_alloc(64, bytes);
#endif
}

void free_aligned(void* p) {
#if defined(_MSC_VER)
  _aligned_free(p);
#else
  std::free(p);
#endif
}

struct ScratchBuffers {
  void* data[static_cast<int>(ScratchSlot::count)] = {};
  std::size_t bytes[static_cast<int>(ScratchSlot::count)] = {};

  ~ScratchBuffers() {
    for (void* p : data) free_aligned(p);
  }
};

thread_local ScratchBuffers buffers;

}  // namespace

void* thread_scratch(ScratchSlot slot, std::size_t bytes) {
  const int i = static_cast<int>(slot);
  if (buffers.bytes[i] < bytes) {
    const std::size_t rounded = (bytes + 63) / 64 * 64;
    void* grown = allocate_aligned(rounded);
    if (!grown) throw std::bad_alloc();
    free_aligned(buffers.data[i]);
    buffers.data[i] = grown;
    buffers.bytes[i] = rounded;
  }
  return buffers.data[i];
}

}  // namespace steepest
