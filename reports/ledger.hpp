// events.csv: the run's ledger of task attempts and outer-gradient contributions, and the checker
// that verifies the exactly-once guarantee on it. Plain data: no SimGrid, no torch.
#pragma once

#include <string>
#include <vector>

namespace dipaco::reports {

enum class LedgerEvent {
  Dispatch,   // the scheduler gave (task, phase, attempt) to a worker
  Lost,       // that attempt's worker was preempted before it finished; the task is re-queued
  Skipped,    // a queued task whose phase closed without it (quorum / deadline)
  Accepted,   // a module's executor included the contribution in its phase's average
  Dropped,    // the contribution arrived but was lost (communication drop); not averaged
  Late,       // it arrived after its module's phase had closed; not averaged
  Duplicate,  // the same (task, phase) already contributed to this module; not averaged
  Update,     // a module took its outer step: `included` contributions of `expected`
  Recovered,  // the module's executor restarted in `phase` from its checkpoint of phase `included`:
              // what it had accepted for that phase is gone, and the phase's tasks are redone
  Stale,      // the contribution trained from the module's version before a recovery; not averaged
};

struct LedgerRow {
  double time_s = 0.0;
  LedgerEvent event = LedgerEvent::Dispatch;
  int phase = 0;
  int module = -1;  // -1 for scheduler events
  int task = -1;    // -1 for updates
  int attempt = 0;
  int worker = -1;
  int included = 0;  // updates
  int expected = 0;  // updates: tasks through the module
};

const char* to_string(LedgerEvent e);
std::string render_ledger_csv(const std::vector<LedgerRow>& rows);
// Throws std::runtime_error naming the line for anything that is not a ledger row.
std::vector<LedgerRow> parse_ledger_csv(const std::string& text);

// The exactly-once invariants (an empty result means they all hold):
//  - every (module, phase) has exactly one update, and it counts exactly the accepted rows before it
//    (since the module's last recovery in that phase, if any);
//  - no (module, phase, task) is accepted twice; a duplicate follows an accepted row of the same key;
//  - accepted rows belong to the phase their update closes and come before it; late rows after it;
//  - every contribution comes from a dispatched attempt; attempts of a (task, phase) count 1, 2, ...;
//  - with `wait_all`, each update heard from every task through the module (accepted or dropped).
std::vector<std::string> check_ledger(const std::vector<LedgerRow>& rows, bool wait_all);

}  // namespace dipaco::reports
