// Link faults end to end: WAN links that fail and change bandwidth by the platform's trace files,
// and transfers retried with back-off, on the dipaco-sim binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "e2e_support.hpp"
#include "reports/ledger.hpp"

namespace {

using e2e::kSource;
using e2e::run;
using e2e::slurp;
const std::string kCut = kSource + "/tests/scenarios/tiny-link-cut.yaml";
const std::string kDiloco = kSource + "/tests/scenarios/timing-1gbps.yaml";

double number(const std::string& json, const std::string& key) { return e2e::json_number(json, key); }
std::filesystem::path out_dir(const std::string& name) { return e2e::out_dir("links-" + name); }

}  // namespace

TEST(Links, ACutWanLinkDelaysUploadsWhichAreRetriedOnceItIsBack) {
  const auto a = out_dir("cut-a"), b = out_dir("cut-b"), calm = out_dir("cut-calm");
  const auto ra = run("run " + kCut + " --out " + a.string());
  ASSERT_EQ(ra.rc, 0) << ra.output;
  ASSERT_EQ(run("run " + kCut + " --out " + b.string()).rc, 0);
  ASSERT_EQ(run("run " + kCut + " --set platform=../platforms/wan-1gbps.xml --out " + calm.string()).rc, 0);
  // Same inputs, same retries: the ledger and metrics are byte-identical.
  EXPECT_EQ(slurp(a / "events.csv"), slurp(b / "events.csv"));
  EXPECT_EQ(slurp(a / "metrics.csv"), slurp(b / "metrics.csv"));
  // Exactly once despite re-sent uploads.
  const auto check = run("check " + a.string());
  EXPECT_EQ(check.rc, 0) << check.output;
  EXPECT_NE(check.output.find(", 0 violations"), std::string::npos) << check.output;

  const auto summary = slurp(a / "summary.json"), calm_summary = slurp(calm / "summary.json");
  EXPECT_GT(number(summary, "retries"), 0.0);
  EXPECT_EQ(number(summary, "link_seconds_down"), 20.0);
  EXPECT_EQ(number(summary, "abandoned_transfers"), 0.0);
  // Uploads broken in flight are sent again in full: their first bytes were real WAN bytes too.
  EXPECT_GT(number(summary, "wasted_wan_bytes"), 0.0);
  EXPECT_DOUBLE_EQ(number(summary, "wan_bytes"), number(calm_summary, "wan_bytes") + number(summary, "wasted_wan_bytes"));
  EXPECT_GE(number(summary, "failed_attempts"), number(summary, "retries"));
  EXPECT_EQ(calm_summary.find("network_faults"), std::string::npos);

  // The b workers' first-phase uploads are in flight at t = 25 s: in the calm run the last
  // arrives soon after, here only once the link is back at 45 s (the back-off: 1, 2, 4, 8, 16 s).
  const auto rows = dipaco::reports::parse_ledger_csv(slurp(a / "events.csv"));
  const auto calm_rows = dipaco::reports::parse_ledger_csv(slurp(calm / "events.csv"));
  const auto last_phase1 = [](const std::vector<dipaco::reports::LedgerRow>& r) {
    double t = 0;
    for (const auto& row : r)
      if (row.phase == 1 && row.event == dipaco::reports::LedgerEvent::Accepted) t = std::max(t, row.time_s);
    return t;
  };
  EXPECT_GT(last_phase1(calm_rows), 25.0);  // the last one ends after the cut begins
  EXPECT_LT(last_phase1(calm_rows), 45.0);
  EXPECT_GT(last_phase1(rows), 45.0);
  EXPECT_LT(last_phase1(rows), 45.0 + 16.0 + 2.0);
  EXPECT_GT(number(summary, "simulated_wall_clock_s"), number(calm_summary, "simulated_wall_clock_s") + 20.0);
}

TEST(Links, HalvedBandwidthLengthensATransferBoundRunByItsWanBytesOverTheBandwidth) {
  // DiLoCo over one 1 Gbit/s WAN link: each round's broadcast and collection cross it with nothing
  // else running, so halving the bandwidth for the whole run adds WAN bytes / (1.25e8 B/s).
  const auto full = out_dir("bw-full"), half = out_dir("bw-half");
  ASSERT_EQ(run("run " + kDiloco + " --out " + full.string()).rc, 0);
  const auto r = run("run " + kDiloco + " --set platform=../platforms/wan-1gbps-half.xml --out " + half.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto f = slurp(full / "summary.json"), h = slurp(half / "summary.json");
  const double extra = number(h, "simulated_wall_clock_s") - number(f, "simulated_wall_clock_s");
  const double expected = number(f, "wan_bytes") / 1.25e8;
  EXPECT_GT(expected, 1.0);
  EXPECT_NEAR(extra, expected, 0.01 * expected);
  EXPECT_EQ(number(h, "links_with_bandwidth_profile"), 1.0);
  EXPECT_EQ(number(h, "retries"), 0.0);
}

TEST(Links, ALinkDownForGoodOrNoRetriesLeftEndsTheRunWithAClearError) {
  for (const std::string set : {"platform=../platforms/wan-1gbps-dead.xml", "network.retry_limit=0"}) {
    const auto dir = out_dir("give-up");
    const auto r = run("run " + kCut + " --set " + set + " --out " + dir.string());
    EXPECT_EQ(r.rc, 1) << set << "\n" << r.output;
    EXPECT_NE(r.output.find("given up at t = 25 s"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(set[0] == 'p' ? "link wan is down for good since t = 25 s" : "network.retry_limit is 0"), std::string::npos)
        << r.output;
    EXPECT_NE(slurp(dir / "summary.json").find("\"error\""), std::string::npos);
  }
}

TEST(Links, BadTraceFilesGetOneLineErrorsAndExitCodeTwo) {
  const auto expect_one_line = [](const std::string& args, const std::string& needle) {
    const auto r = run(args);
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << "\n" << r.output;
  };
  const auto dir = out_dir("bad").string();
  expect_one_line("run " + kCut + " --set platform=../platforms/missing-trace.xml --out " + dir,
                  "key 'platform': " + kSource + "/tests/scenarios/../platforms/missing-trace.xml:8: link 'wan' state_file "
                  "'traces/no-such-file.state': cannot read");
  expect_one_line("run " + kCut + " --set network.retry_max_s=0.5 --out " + dir, "key 'network.retry_max_s'");
}

TEST(Links, LedgerAndRunsHoldUnderTwentyRandomCutSchedules) {
  // Property test: cuts at random times and of random lengths (some during the scheduler's
  // assignments, which couriers retry; some during pulls and uploads), random back-off settings
  // and phase policies. Every run completes, checks clean, and repeats byte for byte.
  std::mt19937 rng(2027);
  const auto dir = std::filesystem::temp_directory_path() / "dipaco-links-random";
  std::filesystem::create_directories(dir);
  const auto platform = slurp(kSource + "/tests/platforms/wan-1gbps.xml");
  int retried = 0;
  for (int i = 0; i < 20; ++i) {
    std::uniform_real_distribution<double> start(0.0, 60.0), length(0.05, 25.0);
    std::vector<double> times;
    for (int c = 0; c < 3; ++c) times.push_back(start(rng));
    std::sort(times.begin(), times.end());
    std::string trace;
    double last = -1;
    for (double t : times) {
      if (t <= last) continue;
      const double end = t + length(rng);
      trace += std::to_string(t) + " 0\n" + std::to_string(end) + " 1\n";
      last = end;
    }
    std::ofstream(dir / "cut.state") << trace;
    std::string xml = platform;  // SimGrid 3.32 opens trace files only by relative paths
    xml.replace(xml.find("latency=\"50ms\""), 14, "latency=\"50ms\" state_file=\"cut.state\"");
    std::ofstream(dir / "p.xml") << xml;
    const int policy = static_cast<int>(rng() % 3);
    std::string args = "run " + kCut + " --set platform=" + (dir / "p.xml").string() + " --set network.retry_initial_s=" +
                       std::to_string(0.1 + (rng() % 20) / 10.0) + " --set network.retry_max_s=" + std::to_string(5 + rng() % 60);
    if (policy == 1) args += " --set dipaco.phase_policy=quorum --set dipaco.quorum=0.5";
    if (policy == 2) args += " --set dipaco.phase_policy=deadline --set dipaco.deadline_s=" + std::to_string(5 + rng() % 30);
    const auto a = run(args + " --out " + (dir / "a").string());
    ASSERT_EQ(a.rc, 0) << args << "\n" << trace << a.output;
    ASSERT_EQ(run(args + " --out " + (dir / "b").string()).rc, 0);
    ASSERT_EQ(slurp(dir / "a" / "events.csv"), slurp(dir / "b" / "events.csv")) << args << "\n" << trace;
    const auto rows = dipaco::reports::parse_ledger_csv(slurp(dir / "a" / "events.csv"));
    const auto bad = dipaco::reports::check_ledger(rows, policy == 0);
    ASSERT_TRUE(bad.empty()) << args << "\n" << trace << bad.front();
    retried += number(slurp(dir / "a" / "summary.json"), "retries") > 0;
  }
  EXPECT_GT(retried, 10);  // most schedules did break transfers
}
