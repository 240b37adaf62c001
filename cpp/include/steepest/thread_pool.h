// A small persistent pool of std::threads (no OpenMP): the caller and the workers take tasks
// from a shared counter. Work is always split into tasks whose bounds do not depend on the
// number of threads, so results are bitwise identical for any thread count.
#pragma once

#include <stdexcept>

#include "steepest/kernels.h"

namespace steepest {

// Runs task(context, i) for every i in [0, n_tasks) and returns when all are done, on the
// pool of the calling thread's count (see num_threads). Runs
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

// What the pool functions throw when the system will not start a thread (an address-space
// or process limit): nothing has changed, and fewer threads may still work.
struct ThreadsRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Threads used by parallel_for on the calling thread, the caller included: the thread's own
// count if it chose one, else the process's. The process's default is STEEPEST_NUM_THREADS
// if set, else the CPUs this process may run on.
int num_threads();
// The process's count, n >= 1 (threads that chose their own keep it). Starts the threads
// first: ThreadsRefused leaves the setting as it was.
void set_num_threads(int n);
// The calling thread's own count from now on (n >= 1), or the process's again (n = 0),
// without touching the process's or any other thread's: an estimator's n_threads for the
// length of its fit. Starts the threads first (ThreadsRefused as above); returns the
// thread's previous setting.
int set_threads_of_this_thread(int n);
// std::invalid_argument naming STEEPEST_NUM_THREADS if it is set to anything but a whole
// number >= 1 (checked at import, so that a typo is not read as some other count).
void check_thread_environment();

}  // namespace steepest
