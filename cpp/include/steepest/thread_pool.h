// A small persistent pool of std::threads (no OpenMP): the caller and the workers take tasks
// from a shared counter. Work is always split into tasks whose bounds do not depend on the
// number of threads, so results are bitwise identical for any thread count.
#pragma once

#include "steepest/kernels.h"

namespace steepest {

// Runs task(context, i) for every i in [0, n_tasks) and returns when all are done. Runs
// inline when n_tasks is 1, the pool has one thread, or another parallel_for is running
// (a second Python thread calling in: it works alone instead of waiting). An exception
// thrown by a task is rethrown here after all tasks have finished.
void parallel_for(index_t n_tasks, void (*task)(void* context, index_t i), void* context);

// parallel_for over a callable f(i). Baseline code only: instruction-set files never
// include this header (see kernels.h).
template <class F>
void parallel_for(index_t n_tasks, F& f) {
  parallel_for(n_tasks, [](void* context, index_t i) { (*static_cast<F*>(context))(i); }, &f);
}

// Threads used by parallel_for, the caller included. The default is STEEPEST_NUM_THREADS
// if set, else the CPUs this process may run on.
int num_threads();
// n >= 1; replaces the pool's workers.
void set_num_threads(int n);

}  // namespace steepest
