#include "steepest/thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace steepest {
namespace {

int cpus_available() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

// The count STEEPEST_NUM_THREADS asks for, 0 when it is unset or empty. Anything but a
// whole number >= 1 is refused: "3abc" or "0" read leniently would be a setting the user
// never made.
int threads_from_environment() {
  const char* env = std::getenv("STEEPEST_NUM_THREADS");
  if (env == nullptr || *env == '\0') return 0;
  long long n = 0;
  for (const char* c = env; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9' || n > std::numeric_limits<int>::max()) {
      n = -1;
      break;
    }
    n = 10 * n + (*c - '0');
  }
  if (n < 1 || n > std::numeric_limits<int>::max())
    throw std::invalid_argument(std::string("STEEPEST_NUM_THREADS must be a whole number of threads >= 1, got '") +
                                env + "'");
  return static_cast<int>(n);
}

class Pool {
 public:
  // Throws ThreadsRefused, with every worker it did start joined again, when the system
  // will not start one (an address-space or process limit): a std::thread left joinable
  // would end the process in std::terminate.
  explicit Pool(int threads) : threads_(threads < 1 ? 1 : threads) {
    try {
      for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { work(); });
    } catch (const std::system_error& error) {
      const auto started = static_cast<int>(workers_.size());
      stop();
      throw ThreadsRefused("the system refused to start thread " + std::to_string(started + 2) + " of the " +
                           std::to_string(threads_) + " asked for (" + error.what() +
                           "); ask for fewer with steepest.set_num_threads, STEEPEST_NUM_THREADS or n_threads");
    }
  }

  ~Pool() { stop(); }

  int threads() const { return threads_; }

  // False if another job holds the pool: the caller then runs its tasks alone.
  bool try_run(index_t n_tasks, void (*task)(void*, index_t), void* context) {
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = task;
      context_ = context;
      n_tasks_ = n_tasks;
      next_.store(0, std::memory_order_relaxed);
      finished_workers_ = 0;
      error_ = nullptr;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    take_tasks();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return finished_workers_ == static_cast<int>(workers_.size()); });
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  void take_tasks() {
    for (index_t i = next_.fetch_add(1, std::memory_order_relaxed); i < n_tasks_;
         i = next_.fetch_add(1, std::memory_order_relaxed)) {
      try {
        task_(context_, i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
  }

  void work() {
    unsigned long long seen = 0;  // the generation at construction: no job is missed
    for (;;) {
      // Spin briefly before sleeping: a training step issues many short products in a row,
      // and a wake-up through the condition variable costs tens of microseconds.
      for (int spin = 0; spin < 20000 && generation_.load(std::memory_order_acquire) == seen; ++spin)
        std::this_thread::yield();
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_acquire);
        if (stopping_) return;
      }
      take_tasks();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++finished_workers_;
      }
      done_.notify_one();
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one job at a time
  std::mutex mutex_;      // guards the job description and the counters below
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<unsigned long long> generation_{0};
  bool stopping_ = false;
  void (*task_)(void*, index_t) = nullptr;
  void* context_ = nullptr;
  index_t n_tasks_ = 0;
  std::atomic<index_t> next_{0};
  int finished_workers_ = 0;
  std::exception_ptr error_;
};

// Pools by size: the process's count and the counts threads chose for themselves (an
// estimator's n_threads). Callers hold a reference for the length of a job, so a pool can
// leave this list while another thread is still using it.
std::vector<std::shared_ptr<Pool>> pools;
std::mutex pool_mutex;
int process_threads = 0;           // 0 until chosen: STEEPEST_NUM_THREADS, else the CPUs
thread_local int own_threads = 0;  // this thread's count, 0 for the process's
// Pools of sizes no longer asked for are dropped (their workers joined) past this many.
constexpr std::size_t kKeptPools = 4;

#if defined(__unix__) || defined(__APPLE__)
void forget_pools_in_child() {
  // The parent's workers and locks do not exist in a forked child: abandon them without
  // running any destructor (that would join threads that are not there) and build new
  // pools on first use.
  new (&pools) std::vector<std::shared_ptr<Pool>>();
  new (&pool_mutex) std::mutex();
}
[[maybe_unused]] const int fork_handler_installed = pthread_atfork(nullptr, nullptr, forget_pools_in_child);
#endif

// The pool of `threads`, built if need be (under pool_mutex). Pools nobody uses beyond
// kKeptPools move to `unused`, for the caller to destroy once the mutex is released.
std::shared_ptr<Pool> pool_locked(int threads, std::vector<std::shared_ptr<Pool>>& unused) {
  for (const std::shared_ptr<Pool>& p : pools)
    if (p->threads() == threads) return p;
  std::shared_ptr<Pool> built = std::make_shared<Pool>(threads);
  pools.push_back(built);
  for (auto p = pools.begin(); pools.size() > kKeptPools && p != pools.end();) {
    if (p->use_count() == 1 && (*p)->threads() != process_threads) {
      unused.push_back(std::move(*p));
      p = pools.erase(p);
    } else {
      ++p;
    }
  }
  return built;
}

int process_threads_locked() {
  if (process_threads == 0) {
    const int asked = threads_from_environment();
    process_threads = asked >= 1 ? asked : cpus_available();
  }
  return process_threads;
}

std::shared_ptr<Pool> the_pool() {
  std::vector<std::shared_ptr<Pool>> unused;  // destroyed after the lock is released
  std::lock_guard<std::mutex> lock(pool_mutex);
  return pool_locked(own_threads >= 1 ? own_threads : process_threads_locked(), unused);
}

}  // namespace

void check_thread_environment() { threads_from_environment(); }

void parallel_for(index_t n_tasks, void (*task)(void*, index_t), void* context) {
  if (n_tasks <= 0) return;
  if (n_tasks > 1) {
    std::shared_ptr<Pool> p = the_pool();
    if (p->threads() > 1 && p->try_run(n_tasks, task, context)) return;
  }
  for (index_t i = 0; i < n_tasks; ++i) task(context, i);
}

int num_threads() { return the_pool()->threads(); }

void set_num_threads(int n) {
  n = n < 1 ? 1 : n;
  std::vector<std::shared_ptr<Pool>> unused;
  std::lock_guard<std::mutex> lock(pool_mutex);
  pool_locked(n, unused);  // first, so that a refused thread leaves the setting as it was
  process_threads = n;
}

int set_threads_of_this_thread(int n) {
  const int before = own_threads;
  if (n >= 1) {
    std::vector<std::shared_ptr<Pool>> unused;
    std::lock_guard<std::mutex> lock(pool_mutex);
    pool_locked(n, unused);
  }
  own_threads = n < 1 ? 0 : n;
  return before;
}

}  // namespace steepest
