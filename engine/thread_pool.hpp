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
#include <vector>

namespace dipaco::engine {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Jobs start in submission order (FIFO).
  template <class F>
  auto submit(F&& f) -> std::shared_future<decltype(f())> {
    using R = decltype(f());
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    std::shared_future<R> result = task->get_future().share();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.emplace([task] { (*task)(); });
    }
    ready_.notify_one();
    return result;
  }

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
