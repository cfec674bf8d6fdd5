// Fixed-size pool that runs real training while the simulation goes on. Each pool thread computes
// with one intra-op thread, so a job's result does not depend on how many jobs run beside it.
#pragma once

#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <type_traits>
#include <vector>

namespace dipaco::engine {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Jobs start in submission order (FIFO). The job's captures are released as soon as it has run:
  // only its result stays with the future. (A packaged_task's future would keep the callable, and
  // so everything it captured, alive as long as any copy of the future.)
  template <class F>
  auto submit(F&& f) -> std::shared_future<decltype(f())> {
    using R = decltype(f());
    auto promise = std::make_shared<std::promise<R>>();
    std::shared_future<R> result = promise->get_future().share();
    auto fn = std::make_shared<std::decay_t<F>>(std::forward<F>(f));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.emplace([promise, fn]() mutable {
        try {
          if constexpr (std::is_void_v<R>) {
            (*fn)();
            promise->set_value();
          } else {
            promise->set_value((*fn)());
          }
        } catch (...) {
          promise->set_exception(std::current_exception());
        }
        fn.reset();
      });
    }
    ready_.notify_one();
    return result;
  }

  // Runs fn(0), ..., fn(n - 1) spread over the pool's threads and the calling thread, and returns
  // when all have run (rethrowing the first exception). The caller takes indices itself, so it may
  // be a pool job (no deadlock on a one-thread pool) and never waits behind unrelated queued jobs.
  // Which thread runs which index varies; callers that need reproducible results make each fn(i)
  // independent of its thread and combine the results in index order.
  void parallel_for(int n, const std::function<void(int)>& fn);

  int size() const { return static_cast<int>(threads_.size()); }

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable ready_;
  std::queue<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace dipaco::engine
