#include "sim/trace/trace_recorder.hpp"

#include <fmt/format.h>
#include <simgrid/s4u/Activity.hpp>
#include <simgrid/s4u/Comm.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Exec.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/Mailbox.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "reports/summary_json.hpp"
#include "sim/platform/platform.hpp"

namespace dipaco::sim {
namespace s4u = simgrid::s4u;

namespace {

enum class Kind { Compute, Down, Idle, Send, Receive };
const char* name_of(Kind k) {
  switch (k) {
    case Kind::Compute: return "compute";
    case Kind::Down: return "down";
    case Kind::Idle: return "idle";
    case Kind::Send: return "send";
    case Kind::Receive: return "receive";
  }
  return "?";
}
const char* category_of(Kind k) {
  return k == Kind::Compute ? "compute" : k == Kind::Down ? "failure" : k == Kind::Idle ? "idle" : "network";
}
// Transfers go on their own lanes, so that a host's compute row stays readable.
int group_of(Kind k) { return k == Kind::Send || k == Kind::Receive ? 1 : 0; }

struct Span {
  Kind kind;
  const s4u::Host* host;
  double begin, end;
  uint64_t seq;  // order of opening: the deterministic tie-breaker (pointers differ from run to run)
  const s4u::Host* peer = nullptr;
  uint64_t bytes = 0;
  bool cut = false;  // ended by a failure or by the end of the run, not by completing
};

struct OpenExec {
  const s4u::Host* host;
  double begin;
  uint64_t seq;
};

struct PendingComm {
  s4u::CommPtr comm;  // held to the end, so that its activity (and address) outlives its users
  const s4u::Host* from;
  const s4u::Host* to;
  uint64_t bytes;
  uint64_t seq;
  bool done = false;
};

// A detached send, waiting for its receiver: SimGrid 3.32 gives the sender no handle on the
// transfer, so it is matched to the receiver's completion by mailbox and source host, in order.
struct DetachedSend {
  const s4u::Host* to;
  uint64_t bytes;
  uint64_t seq;
};

double now() { return s4u::Engine::get_clock(); }

// Times are whole nanoseconds, printed as microseconds: the same time always prints as the same
// bytes, and a span's duration is end - begin after rounding, so spans that touch still touch.
int64_t nanos(double seconds) { return std::llround(seconds * 1e9); }
std::string micros(int64_t ns) { return fmt::format("{}.{:03d}", ns / 1000, ns % 1000); }

}  // namespace

struct TraceRecorder::State {
  bool recording = true;
  std::vector<const s4u::Host*> worker_hosts;
  uint64_t next_seq = 0;
  std::vector<Span> spans;
  // Keyed by address for lookup only; never iterated to produce output.
  std::unordered_map<const s4u::Activity*, OpenExec> open_execs;
  std::unordered_map<const void*, PendingComm> pending_comms;  // by kernel activity
  std::map<std::pair<std::string, std::string>, std::deque<DetachedSend>> detached;  // (mailbox, source host)
  std::map<std::string, std::pair<double, uint64_t>> down_since;  // host name -> (time, seq)
  // WAN bytes in flight: link name -> (time, +/- bytes, seq).
  std::map<std::string, std::vector<std::tuple<double, int64_t, uint64_t>>> wan_deltas;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> wan_route_cache;

  void exec_started(const s4u::Exec& e) {
    if (!recording) return;
    const auto it = open_execs.find(&e);
    if (it != open_execs.end()) close_exec(it, now(), true);  // a reused address: the old one died unseen
    open_execs.emplace(&e, OpenExec{e.get_host(), now(), next_seq++});
  }

  void close_exec(std::unordered_map<const s4u::Activity*, OpenExec>::iterator it, double end, bool cut) {
    spans.push_back({Kind::Compute, it->second.host, it->second.begin, std::max(end, it->second.begin), it->second.seq});
    spans.back().cut = cut;
    open_execs.erase(it);
  }

  void completed(const s4u::Activity& a) {
    if (!recording) return;
    if (const auto it = open_execs.find(&a); it != open_execs.end()) {
      const bool done = a.get_state() == s4u::Activity::State::FINISHED && a.get_finish_time() >= 0;
      close_exec(it, done ? a.get_finish_time() : now(), !done);
      return;
    }
    const auto* c = dynamic_cast<const s4u::Comm*>(&a);
    if (c == nullptr || a.get_impl() == nullptr) return;
    const bool failed = a.get_state() != s4u::Activity::State::FINISHED;
    if (const auto it = pending_comms.find(a.get_impl()); it != pending_comms.end()) {
      if (!it->second.done) it->second.done = finish_comm(it->second, failed);
      return;
    }
    // The receiving end of a detached send.
    if (c->get_mailbox() == nullptr || c->get_source() == nullptr) return;
    const auto q = detached.find({c->get_mailbox()->get_name(), c->get_source()->get_name()});
    if (q == detached.end() || q->second.empty()) return;
    const DetachedSend d = q->second.front();
    q->second.pop_front();
    PendingComm p{s4u::CommPtr(const_cast<s4u::Comm*>(c)), c->get_source(), d.to, d.bytes, d.seq};
    p.done = finish_comm(p, failed);
    pending_comms.emplace(a.get_impl(), std::move(p));
  }

  // Records a started transfer's two spans and its WAN bytes; returns false if it never started.
  bool finish_comm(const PendingComm& p, bool failed) {
    const double begin = p.comm->get_start_time();
    if (begin < 0) return false;
    const double finish = p.comm->get_finish_time();
    const bool cut = failed || finish < 0;
    const double end = std::max(begin, finish >= 0 ? finish : now());
    spans.push_back({Kind::Send, p.from, begin, end, p.seq, p.to, p.bytes, cut});
    spans.push_back({Kind::Receive, p.to, begin, end, p.seq, p.from, p.bytes, cut});
    for (const auto& link : wan_links(p.from, p.to)) {
      auto& d = wan_deltas[link];
      d.emplace_back(begin, static_cast<int64_t>(p.bytes), p.seq);
      d.emplace_back(end, -static_cast<int64_t>(p.bytes), p.seq);
    }
    return true;
  }

  void host_changed(const s4u::Host& h) {
    if (!recording) return;
    if (h.is_on()) {
      const auto it = down_since.find(h.get_name());
      if (it == down_since.end()) return;
      spans.push_back({Kind::Down, &h, it->second.first, now(), it->second.second});
      down_since.erase(it);
      return;
    }
    // Its actors are killed without their executions or transfers completing: close them here.
    std::vector<std::unordered_map<const s4u::Activity*, OpenExec>::iterator> dead;
    for (auto it = open_execs.begin(); it != open_execs.end(); ++it)
      if (it->second.host == &h) dead.push_back(it);
    for (auto it : dead) close_exec(it, now(), true);
    // A transfer that has not started may still be received later (a message left in a mailbox).
    for (auto& [impl, p] : pending_comms)
      if (!p.done && (p.from == &h || p.to == &h)) p.done = finish_comm(p, true);
    down_since.emplace(h.get_name(), std::make_pair(now(), next_seq++));
  }

  const std::vector<std::string>& wan_links(const s4u::Host* from, const s4u::Host* to) {
    auto [it, fresh] = wan_route_cache.try_emplace({from->get_name(), to->get_name()});
    if (fresh)
      for (const auto* l : wan_links_on_route(from, to)) it->second.push_back(l->get_name());
    return it->second;
  }
};

TraceRecorder::TraceRecorder(const std::vector<s4u::Host*>& worker_hosts) : state_(std::make_shared<State>()) {
  for (const auto* h : worker_hosts)
    if (std::find(state_->worker_hosts.begin(), state_->worker_hosts.end(), h) == state_->worker_hosts.end())
      state_->worker_hosts.push_back(h);
  // SimGrid's signals cannot be disconnected here: the callbacks share the state and go quiet
  // once render() has run.
  std::shared_ptr<State> st = state_;
  s4u::Exec::on_start_cb([st](const s4u::Exec& e) { st->exec_started(e); });
  s4u::Activity::on_completion_cb([st](const s4u::Activity& a) { st->completed(a); });
  s4u::Host::on_state_change_cb([st](const s4u::Host& h) { st->host_changed(h); });
}

TraceRecorder::~TraceRecorder() { state_->recording = false; }

void TraceRecorder::comm(const s4u::CommPtr& comm, const s4u::Host* from, const s4u::Host* to, uint64_t bytes) {
  if (!state_->recording) return;
  if (comm->get_impl() == nullptr)  // detached: matched when its receiver completes
    state_->detached[{comm->get_mailbox()->get_name(), from->get_name()}].push_back({to, bytes, state_->next_seq++});
  else
    state_->pending_comms.emplace(comm->get_impl(), PendingComm{comm, from, to, bytes, state_->next_seq++});
}

std::string TraceRecorder::render() {
  auto& st = *state_;
  const double end = now();
  // Close everything still open at the end of the run.
  while (!st.open_execs.empty()) st.close_exec(st.open_execs.begin(), end, true);
  for (auto& [impl, p] : st.pending_comms)
    if (!p.done) p.done = st.finish_comm(p, false);
  st.pending_comms.clear();
  st.detached.clear();
  for (const auto& [name, since] : st.down_since)
    st.spans.push_back({Kind::Down, s4u::Host::by_name(name), since.first, end, since.second});
  st.down_since.clear();
  st.recording = false;

  breakdown_ = Breakdown{};
  if (end > 0 && !st.worker_hosts.empty()) {
    // A sweep over each host's span edges; the segment between two edges goes to the highest
    // category active in it (down > compute > communication), or to idle.
    for (const auto* h : st.worker_hosts) {
      std::vector<std::pair<double, int>> edges;  // (time, +/-(1 + category)): 0 compute, 1 communication, 2 down
      for (const auto& sp : st.spans) {
        if (sp.host != h || !(sp.end > sp.begin)) continue;
        const int c = sp.kind == Kind::Compute ? 0 : sp.kind == Kind::Down ? 2 : 1;
        edges.emplace_back(sp.begin, 1 + c);
        edges.emplace_back(sp.end, -(1 + c));
      }
      std::sort(edges.begin(), edges.end());
      int active[3] = {0, 0, 0};
      double t = 0.0;
      auto account = [&](double until) {
        const double d = until - t;
        if (d <= 0) return;
        if (active[2] > 0) breakdown_.down += d;
        else if (active[0] > 0) breakdown_.compute += d;
        else if (active[1] > 0) breakdown_.communication += d;
        else breakdown_.idle += d;
      };
      for (const auto& [time, delta] : edges) {
        account(time);
        t = std::max(t, time);
        active[std::abs(delta) - 1] += delta > 0 ? 1 : -1;
      }
      account(end);
    }
    const double total = end * static_cast<double>(st.worker_hosts.size());
    for (double* f : {&breakdown_.compute, &breakdown_.communication, &breakdown_.idle, &breakdown_.down}) *f /= total;
  }

  // Idle: the gaps in a worker host's spans, from 0 to the end of the run.
  for (const auto* h : st.worker_hosts) {
    std::vector<std::pair<double, double>> busy;
    for (const auto& s : st.spans)
      if (s.host == h) busy.emplace_back(s.begin, s.end);
    std::sort(busy.begin(), busy.end());
    double t = 0.0;
    std::vector<Span> idle;
    for (const auto& [b, e] : busy) {
      if (b > t) idle.push_back({Kind::Idle, h, t, b, 0});
      t = std::max(t, e);
    }
    if (end > t) idle.push_back({Kind::Idle, h, t, end, 0});
    st.spans.insert(st.spans.end(), idle.begin(), idle.end());
  }

  // Processes (datacentres, by name) and threads (hosts by name; lanes where spans overlap).
  std::map<std::string, std::map<std::string, std::vector<Span*>>> by_dc;  // dc -> host -> spans
  for (auto& s : st.spans) by_dc[datacentre_of(s.host)][s.host->get_name()].push_back(&s);
  struct Placed {
    const Span* span;
    int pid, tid;
  };
  std::vector<Placed> placed;
  std::string out = "{\"traceEvents\":[\n";
  bool first = true;
  auto emit = [&](const std::string& event) {
    out += first ? "" : ",\n";
    out += event;
    first = false;
  };
  auto meta = [&](const char* what, int pid, int tid, const std::string& key, const std::string& value) {
    emit(fmt::format("{{\"ph\":\"M\",\"name\":\"{}\",\"pid\":{},\"tid\":{},\"args\":{{\"{}\":{}}}}}", what, pid, tid, key, value));
  };
  int pid = 0;
  for (auto& [dc, hosts] : by_dc) {
    ++pid;
    meta("process_name", pid, 0, "name", reports::json_escape(dc));
    meta("process_sort_index", pid, 0, "sort_index", std::to_string(pid));
    int tid = 0;
    for (auto& [host, spans] : hosts) {
      std::sort(spans.begin(), spans.end(), [](const Span* a, const Span* b) {
        return std::tie(a->begin, a->end, a->seq, a->kind) < std::tie(b->begin, b->end, b->seq, b->kind);
      });
      for (int group = 0; group < 2; ++group) {
        std::vector<double> lane_end;  // first fit: each lane holds spans that do not overlap
        std::vector<int> lane_tid;
        for (const Span* s : spans) {
          if (group_of(s->kind) != group) continue;
          size_t lane = 0;
          while (lane < lane_end.size() && lane_end[lane] > s->begin) ++lane;
          if (lane == lane_end.size()) {
            lane_end.push_back(0.0);
            lane_tid.push_back(++tid);
            const std::string label = host + (group == 1 ? " net" : "") + (lane > 0 ? fmt::format(" {}", lane + 1) : "");
            meta("thread_name", pid, tid, "name", reports::json_escape(label));
            meta("thread_sort_index", pid, tid, "sort_index", std::to_string(tid));
          }
          lane_end[lane] = s->end;
          placed.push_back({s, pid, lane_tid[lane]});
        }
      }
    }
  }
  std::sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) {
    return std::tie(a.span->begin, a.pid, a.tid, a.span->seq) < std::tie(b.span->begin, b.pid, b.tid, b.span->seq);
  });
  for (const auto& p : placed) {
    const Span& s = *p.span;
    std::string args;
    if (s.peer != nullptr)
      args = fmt::format("\"{}\":{},\"bytes\":{}", s.kind == Kind::Send ? "to" : "from", reports::json_escape(s.peer->get_name()), s.bytes);
    if (s.cut && s.kind != Kind::Idle && s.kind != Kind::Down) args += std::string(args.empty() ? "" : ",") + "\"cut\":true";
    emit(fmt::format("{{\"ph\":\"X\",\"name\":\"{}\",\"cat\":\"{}\",\"ts\":{},\"dur\":{},\"pid\":{},\"tid\":{},\"args\":{{{}}}}}",
                     name_of(s.kind), category_of(s.kind), micros(nanos(s.begin)), micros(nanos(s.end) - nanos(s.begin)), p.pid, p.tid, args));
  }

  // One counter per WAN link: the bytes of the transfers crossing it, summed at each instant.
  if (!st.wan_deltas.empty()) {
    ++pid;
    meta("process_name", pid, 0, "name", "\"WAN links\"");
    meta("process_sort_index", pid, 0, "sort_index", std::to_string(pid));
    for (const auto& [link, deltas] : st.wan_deltas) {
      std::map<double, int64_t> at;
      for (const auto& [t, d, seq] : deltas) at[t] += d;
      int64_t in_flight = 0;
      for (const auto& [t, d] : at) {
        in_flight += d;
        emit(fmt::format("{{\"ph\":\"C\",\"name\":{},\"cat\":\"network\",\"ts\":{},\"pid\":{},\"args\":{{\"bytes in flight\":{}}}}}",
                         reports::json_escape(link), micros(nanos(t)), pid, in_flight));
      }
    }
  }
  out += "\n],\"displayTimeUnit\":\"ms\"}\n";
  st.spans.clear();
  st.wan_deltas.clear();
  return out;
}

}  // namespace dipaco::sim
