// The task queue of every algorithm. The scheduler opens a phase once every module has closed the
// previous one, queues that phase's tasks and hands them to workers (sim/algorithms/worker.hpp): to those that
// ask, preferring each task's home worker (DiPaCo), or pushed to each task's replica (DiLoCo). A
// worker whose host is preempted dies with its task; the scheduler hears of it (the worker's exit
// callback) and re-queues the task as a new attempt. For sync it only re-assigns preempted ranks.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "sim/run/run_state.hpp"
#include "sim/algorithms/messages.hpp"

namespace dipaco::sim {

class TaskScheduler {
 public:
  TaskScheduler(RunContext& ctx, RunState& state) : ctx_(ctx), state_(state) {}
  void operator()();

 private:
  struct Lease {
    int task = -1, phase = 0, attempt = 0, incarnation = 0;
  };
  void run();
  void run_ring();  // synchronous DP (sim/algorithms/algorithm_policy.hpp)
  void run_async();  // asynchronous DiLoCo: hands out the replicas, again after a death; no phases
  void take_request(const SchedulerMessage& msg);  // run_ring's and run_async's: a free worker asks
  void open_phase(int phase);
  void close_phase(int phase);
  void drain_deaths();
  bool rank_lost() const;  // a death among state_.deaths held a ring rank
  void roll_back_ring();   // RingRecovery::Rollback: every rank back to the last checkpoint
  void lose(const Lease& lease, int worker);  // logs the attempt lost; re-queues it if its phase is open
  bool queued(int task, int phase) const { return queued_.count({task, phase}) > 0; }
  void requeue(int task, int phase);  // a new attempt at the front, unless one is queued already
  void enqueue(const Lease& lease, bool front);
  Lease dequeue(int64_t position);
  void redo_through(int module, int phase);  // after the module's executor recovered in `phase`
  void dispatch();
  bool stalled();      // true once the run has failed for lack of workers
  bool no_progress();  // true once the run has failed for nothing moving (failures.stall_hours)

  RunContext& ctx_;
  RunState& state_;
  // The task queue, by position (push_front takes positions below every other, push_back above),
  // and two indexes into it, so that a dispatch costs O(log n) per worker rather than a scan of
  // the queue: the queued (task, phase) pairs, and each home worker's queued positions.
  std::map<int64_t, Lease> queue_;
  int64_t front_ = 0, back_ = 0;
  std::set<std::pair<int, int>> queued_;
  std::vector<std::set<int64_t>> by_home_;
  std::vector<Lease> holder_;  // per worker: its lease (task -1: none)
  std::vector<int> idle_;      // per worker: the incarnation waiting for work, or 0
  std::set<int> waiting_;      // the workers whose idle_ is set, in order (dispatch visits only these)
  std::map<std::pair<int, int>, int> attempts_;  // (task, phase) -> attempts dispatched
  std::map<int, std::set<int>> closed_;          // phase -> modules that closed it (a recovery may repeat a notice)
  int phase_ = 0;
  double last_alive_ = 0.0;
  double last_progress_ = 0.0;  // the last message for the scheduler (ring: the last ring message)
  double all_down_for_good_at_ = 0.0;  // when the last worker host goes down for good (infinity: never)
};


}  // namespace dipaco::sim
