#include "engine/train/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <exception>

#include "engine/train/trainer_backend.hpp"

namespace dipaco::engine {

ThreadPool::ThreadPool(int threads) {
  // Its threads compute with LibTorch (init_compute_thread): load it here, where a failure is an
  // exception for the caller rather than std::terminate in a pool thread.
  trainer_backend();
  for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::parallel_for(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  // Shared with the helper jobs, which may start after this call has returned (every index then
  // already taken): they must find the state alive and touch nothing else.
  struct State {
    std::function<void(int)> fn;
    int n = 0;
    std::atomic<int> next{0};
    std::mutex mutex;
    std::condition_variable all_done;
    int done = 0;
    std::exception_ptr error;
  };
  auto state = std::make_shared<State>();
  state->fn = fn;
  state->n = n;
  auto work = [](State& s) {
    for (int i = s.next.fetch_add(1); i < s.n; i = s.next.fetch_add(1)) {
      std::exception_ptr error;
      try {
        s.fn(i);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(s.mutex);
      if (error && !s.error) s.error = error;
      if (++s.done == s.n) s.all_done.notify_all();
    }
  };
  const int helpers = std::min(n - 1, size());
  for (int h = 0; h < helpers; ++h) submit([state, work] { work(*state); });
  work(*state);
  std::unique_lock<std::mutex> lock(state->mutex);
  state->all_done.wait(lock, [&] { return state->done == state->n; });
  if (state->error) std::rethrow_exception(state->error);
}

void ThreadPool::loop() {
  init_compute_thread();
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping and drained
      job = std::move(jobs_.front());
      jobs_.pop();
    }
    job();  // stores the result or the exception in the job's promise
    job = nullptr;  // release its captures now, not when the next job arrives
  }
}

}  // namespace dipaco::engine
