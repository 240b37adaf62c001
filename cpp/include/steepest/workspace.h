// Scratch memory owned by each thread and reused from call to call, so that the hot path
// allocates only when a buffer must grow.
#pragma once

#include <cstddef>

namespace steepest {

enum class ScratchSlot : int { packed_a = 0, packed_b = 1, transposed_c = 2, count = 3 };

// A 64-byte aligned buffer of at least `bytes`, private to the calling thread; its contents
// are undefined. Throws std::bad_alloc if it cannot grow.
void* thread_scratch(ScratchSlot slot, std::size_t bytes);

template <class T>
T* thread_scratch(ScratchSlot slot, std::size_t count) {
  return static_cast<T*>(thread_scratch(slot, count * sizeof(T)));
}

}  // namespace steepest
