// network.coarse end to end (sim/platform/flow_groups.hpp): the scale scenario's DiPaCo grid at 256
// workers, timing only, with and without shared flows. Grouping must not move the simulated time by
// more than the 1 % (it is exact up to the join window: a few parts per million), nor any
// byte, and it must start far fewer flows.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "e2e_support.hpp"

namespace {

struct Run {
  double wall_clock = 0, wan_bytes = 0, total_bytes = 0;
  std::string output, metrics;
};

Run scale_run(const std::string& coarse, const std::string& name) {
  const auto dir = e2e::out_dir(name);
  const auto r = e2e::run("run " + e2e::kSource + "/scenarios/scale-1k.yaml --set placement.workers.count=256 " +
                          "--set algorithm.replicas_per_path=1 --set algorithm.outer_steps=3 --set network.coarse=" + coarse +
                          " --no-report --out " + dir.string());
  EXPECT_EQ(r.rc, 0) << r.output;
  const auto summary = e2e::slurp(dir / "summary.json");
  Run out{e2e::json_number(summary, "simulated_wall_clock_s"), e2e::json_number(summary, "wan_bytes"),
          e2e::json_number(summary, "total_bytes"), r.output, e2e::slurp(dir / "metrics.csv")};
  std::filesystem::remove_all(dir);
  return out;
}

TEST(Coarse, SharedFlowsKeepTheExactModesTimeAndBytes) {
  const auto exact = scale_run("off", "coarse-off");
  const auto coarse = scale_run("on", "coarse-on");
  ASSERT_GT(exact.wall_clock, 0);
  EXPECT_NEAR(coarse.wall_clock, exact.wall_clock, 1e-4 * exact.wall_clock);
  EXPECT_DOUBLE_EQ(coarse.wan_bytes, exact.wan_bytes);
  EXPECT_NEAR(coarse.total_bytes, exact.total_bytes, 1e-9 * exact.total_bytes);
  // "network.coarse: G flows stood for T transfers (F flows started in all)": most transfers shared.
  const auto at = coarse.output.find("network.coarse: ");
  ASSERT_NE(at, std::string::npos) << coarse.output;
  long long groups = 0, transfers = 0, flows = 0;
  ASSERT_EQ(std::sscanf(coarse.output.c_str() + at, "network.coarse: %lld flows stood for %lld transfers (%lld flows", &groups, &transfers, &flows), 3);
  EXPECT_GT(transfers, 4 * flows) << coarse.output.substr(at, 120);
  // The same scenario gives the same rows.
  EXPECT_EQ(scale_run("on", "coarse-again").metrics, coarse.metrics);
}

}  // namespace
