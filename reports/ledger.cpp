#include "reports/ledger.hpp"

#include <fmt/format.h>

#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>

namespace dipaco::reports {
namespace {

constexpr const char* kHeader = "time_s,event,phase,module,task,attempt,worker,included,expected";
constexpr LedgerEvent kAll[] = {LedgerEvent::Dispatch, LedgerEvent::Lost,      LedgerEvent::Skipped, LedgerEvent::Accepted,
                                LedgerEvent::Dropped,  LedgerEvent::Late,      LedgerEvent::Duplicate, LedgerEvent::Update,
                                LedgerEvent::Recovered, LedgerEvent::Stale};

}  // namespace

const char* to_string(LedgerEvent e) {
  switch (e) {
    case LedgerEvent::Dispatch: return "dispatch";
    case LedgerEvent::Lost: return "lost";
    case LedgerEvent::Skipped: return "skipped";
    case LedgerEvent::Accepted: return "accepted";
    case LedgerEvent::Dropped: return "dropped";
    case LedgerEvent::Late: return "late";
    case LedgerEvent::Duplicate: return "duplicate";
    case LedgerEvent::Update: return "update";
    case LedgerEvent::Recovered: return "recovered";
    case LedgerEvent::Stale: return "stale";
  }
  return "?";
}

std::string render_ledger_csv(const std::vector<LedgerRow>& rows) {
  std::string out = std::string(kHeader) + "\n";
  for (const auto& r : rows)
    out += fmt::format("{:.6f},{},{},{},{},{},{},{},{}\n", r.time_s, to_string(r.event), r.phase, r.module, r.task, r.attempt,
                       r.worker, r.included, r.expected);
  return out;
}

std::vector<LedgerRow> parse_ledger_csv(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kHeader) throw std::runtime_error(fmt::format("line 1: expected the header '{}'", kHeader));
  std::vector<LedgerRow> rows;
  for (int number = 2; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    std::string cell[9];
    for (auto& c : cell) std::getline(fields, c, ',');
    LedgerRow r;
    bool known = false;
    for (auto e : kAll)
      if (cell[1] == to_string(e)) r.event = e, known = true;
    try {
      if (!known) throw std::invalid_argument(cell[1]);
      r.time_s = std::stod(cell[0]);
      r.phase = std::stoi(cell[2]);
      r.module = std::stoi(cell[3]);
      r.task = std::stoi(cell[4]);
      r.attempt = std::stoi(cell[5]);
      r.worker = std::stoi(cell[6]);
      r.included = std::stoi(cell[7]);
      r.expected = std::stoi(cell[8]);
    } catch (const std::exception&) {
      throw std::runtime_error(fmt::format("line {}: not a ledger row: '{}'", number, line));
    }
    rows.push_back(r);
  }
  return rows;
}

std::vector<std::string> check_ledger(const std::vector<LedgerRow>& rows, bool wait_all) {
  std::vector<std::string> bad;
  using Key = std::pair<int, int>;  // (module, phase)
  std::map<Key, const LedgerRow*> update;
  std::map<std::tuple<int, int, int>, int> dispatched;  // (task, phase, attempt) -> row index
  std::map<Key, int> attempts;                          // (task, phase) -> highest attempt so far
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    if (r.event == LedgerEvent::Update) {
      if (!update.emplace(Key{r.module, r.phase}, &r).second)
        bad.push_back(fmt::format("module {} phase {}: more than one update", r.module, r.phase));
    } else if (r.event == LedgerEvent::Dispatch) {
      auto& last = attempts[{r.task, r.phase}];
      if (r.attempt != last + 1)
        bad.push_back(fmt::format("task {} phase {}: attempt {} dispatched after attempt {}", r.task, r.phase, r.attempt, last));
      last = r.attempt;
      dispatched[{r.task, r.phase, r.attempt}] = static_cast<int>(i);
    }
  }
  std::map<Key, std::set<int>> accepted, heard;  // per (module, phase): tasks accepted; accepted or dropped
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    if (r.event == LedgerEvent::Recovered) {  // the executor lost what it had gathered for this phase
      const Key key{r.module, r.phase};
      const auto u = update.find(key);
      if (u != update.end() && u->second < &r) bad.push_back(fmt::format("module {} phase {}: recovered after its update", r.module, r.phase));
      accepted[key].clear();
      heard[key].clear();
      continue;
    }
    const bool contribution = r.event == LedgerEvent::Accepted || r.event == LedgerEvent::Dropped || r.event == LedgerEvent::Late ||
                              r.event == LedgerEvent::Duplicate || r.event == LedgerEvent::Stale;
    if (!contribution) continue;
    const std::string what = fmt::format("row {} ({} task {} phase {} attempt {} module {})", i + 2, to_string(r.event), r.task,
                                         r.phase, r.attempt, r.module);
    const auto d = dispatched.find({r.task, r.phase, r.attempt});
    if (d == dispatched.end() || d->second > static_cast<int>(i)) bad.push_back(what + ": no earlier dispatch of that attempt");
    const Key key{r.module, r.phase};
    const auto u = update.find(key);
    const bool before_update = u != update.end() && &r < u->second;
    switch (r.event) {
      case LedgerEvent::Accepted:
        if (!accepted[key].insert(r.task).second) bad.push_back(what + ": accepted twice");
        if (!before_update) bad.push_back(what + ": accepted but not before its module's update");
        heard[key].insert(r.task);
        break;
      case LedgerEvent::Dropped:
        if (!before_update) bad.push_back(what + ": dropped but not before its module's update");
        if (!heard[key].insert(r.task).second) bad.push_back(what + ": heard twice");
        break;
      case LedgerEvent::Duplicate:
        if (!heard[key].count(r.task)) bad.push_back(what + ": duplicate of nothing");
        break;
      case LedgerEvent::Late:
        if (u != update.end() && &r < u->second) bad.push_back(what + ": late before its module's update");
        break;
      default:
        break;
    }
  }
  for (const auto& [key, u] : update) {
    const int got = static_cast<int>(accepted[key].size());
    if (got != u->included)
      bad.push_back(fmt::format("module {} phase {}: update includes {} contributions but {} were accepted", key.first, key.second,
                                u->included, got));
    if (wait_all && static_cast<int>(heard[key].size()) != u->expected)
      bad.push_back(fmt::format("module {} phase {}: wait_all update heard from {} of {} tasks", key.first, key.second,
                                heard[key].size(), u->expected));
  }
  return bad;
}

}  // namespace dipaco::reports
