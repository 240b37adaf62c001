#include "steepest/thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
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

int default_num_threads() {
  if (const char* env = std::getenv("STEEPEST_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return n;
  }
  return cpus_available();
}

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads < 1 ? 1 : threads) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { work(); });
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

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

// Callers hold a reference for the length of a job, so set_num_threads can replace the pool
// while another thread is using the old one.
std::shared_ptr<Pool> pool;
std::mutex pool_mutex;
int wanted_threads = 0;

#if defined(__unix__) || defined(__APPLE__)
void forget_pool_in_child() {
  // The parent's workers and locks do not exist in a forked child: abandon them without
  // running any destructor (that would join threads that are not there) and build a new
  // pool on first use.
  new (&pool) std::shared_ptr<Pool>();
  new (&pool_mutex) std::mutex();
}
[[maybe_unused]] const int fork_handler_installed = pthread_atfork(nullptr, nullptr, forget_pool_in_child);
#endif

std::shared_ptr<Pool> the_pool() {
  std::lock_guard<std::mutex> lock(pool_mutex);
  if (!pool) pool = std::make_shared<Pool>(wanted_threads >= 1 ? wanted_threads : default_num_threads());
  return pool;
}

}  // namespace

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
  std::shared_ptr<Pool> old;
  {
    std::lock_guard<std::mutex> lock(pool_mutex);
    wanted_threads = n < 1 ? 1 : n;
    old.swap(pool);
  }
  // The old workers are joined when the last caller using them lets go.
}

}  // namespace steepest
