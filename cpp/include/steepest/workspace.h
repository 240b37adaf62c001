// Scratch memory owned by each thread and reused from call to call, so that the hot path
// allocates only when a buffer must grow.
#pragma once

#include <cstddef>

namespace steepest {

// packed_a/packed_b/transposed_c: the products' packing (gemm.cpp); predict_ping/pong: the
// activations a prediction passes between layers (network.cpp), kept from call to call so
// that a predict neither allocates nor faults pages in.
enum class ScratchSlot : int { packed_a = 0, packed_b = 1, transposed_c = 2, predict_ping = 3, predict_pong = 4, count = 5 };

// A 64-byte aligned buffer of at least `bytes`, private to the calling thread; its contents
// are undefined. Throws std::bad_alloc if it cannot grow.
void* thread_scratch(ScratchSlot slot, std::size_t bytes);

template <class T>
T* thread_scratch(ScratchSlot slot, std::size_t count) {
  return static_cast<T*>(thread_scratch(slot, count * sizeof(T)));
}

}  // namespace steepest
