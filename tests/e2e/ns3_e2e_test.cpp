// network.model: ns-3 end to end: a DiLoCo round over packet-level TCP on a shipped platform, and
// what SimGrid's ns-3 binding cannot run refused up front (tests/bad_inputs/cases.tsv has the rest).
#include <gtest/gtest.h>

#include <string>

#include "e2e_support.hpp"

namespace {

// The quickstart's two datacentres, timing only, one round of 10 MB messages (2.5 M parameters).
struct Round {
  double wall_clock = 0;
  std::string metrics, summary;
};

Round quickstart_round(const std::string& network, const std::string& name) {
  const auto dir = e2e::out_dir(name);
  const auto r = e2e::run("run " + e2e::kSource + "/scenarios/quickstart.yaml --set training=off --set trace=off --set algorithm.outer_steps=1 " +
                          "--set cost.params=2.5e6 " + network + " --no-report --out " + dir.string());
  EXPECT_EQ(r.rc, 0) << r.output;
  Round out{0, e2e::slurp(dir / "metrics.csv"), e2e::slurp(dir / "summary.json")};
  out.wall_clock = e2e::json_number(out.summary, "simulated_wall_clock_s");
  std::filesystem::remove_all(dir);
  return out;
}

TEST(Ns3, ADilocoRoundOverTcpTakesLongerThanTheAnalyticModelAndIsDeterministic) {
  const auto analytic = quickstart_round("", "ns3-analytic");
  const auto tcp = quickstart_round("--set network.model=ns-3", "ns3-tcp");
  EXPECT_NE(tcp.summary.find("\"network_model\": \"ns-3\""), std::string::npos) << tcp.summary;
  // The same compute; the transfers pay TCP's window per round trip, its headers and slow start.
  EXPECT_GT(tcp.wall_clock, analytic.wall_clock);
  // ns-3 is seeded and single-threaded: the same run gives the same rows.
  EXPECT_EQ(quickstart_round("--set network.model=ns-3", "ns3-again").metrics, tcp.metrics);
}

}  // namespace
