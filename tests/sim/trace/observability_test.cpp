// Observability without a simulation: per-datacentre utilisation, time to target, and the
// scenario keys that control them.
#include <gtest/gtest.h>

#include "sim/run/observability.hpp"
#include "sim/scenario/scenario.hpp"

using dipaco::reports::MetricsRow;
using dipaco::sim::load_scenario;
using dipaco::sim::time_to_target;
using dipaco::sim::utilisation_per_datacentre;

namespace {
const std::string kTiming = std::string(DIPACO_SOURCE_DIR) + "/tests/scenarios/timing-1gbps.yaml";

MetricsRow row(double t, int path, std::optional<double> val_loss) {
  MetricsRow r;
  r.sim_time_s = t;
  r.path = path;
  r.val_loss = val_loss;
  return r;
}

std::string error_of(const std::vector<std::string>& overrides) {
  try {
    load_scenario(kTiming, overrides);
  } catch (const dipaco::sim::ScenarioError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Utilisation, PerDatacentreIsComputeOverWallTimesWorkersThere) {
  // Two workers in "a" (busy 8 s and 4 s of 10 s), one in "b" (busy 10 s).
  const auto u = utilisation_per_datacentre({8.0, 10.0, 4.0}, {"a", "b", "a"}, 10.0);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_DOUBLE_EQ(u.at("a"), 12.0 / 20.0);
  EXPECT_DOUBLE_EQ(u.at("b"), 1.0);
  EXPECT_DOUBLE_EQ(utilisation_per_datacentre({1.0}, {"a"}, 0.0).at("a"), 0.0);  // no time, no division by zero
}

TEST(TimeToTarget, IsTheFirstWholeModelRowAtOrBelowTheTarget) {
  // Path rows (path >= 0) never count, even when they reach the target first.
  const std::vector<MetricsRow> rows{row(0, -1, 5.0), row(10, 0, 2.0), row(10, -1, 4.0), row(20, -1, 3.0), row(30, -1, 2.5)};
  EXPECT_EQ(time_to_target(rows, 3.0), 20.0);
  EXPECT_EQ(time_to_target(rows, 5.0), 0.0);
  EXPECT_EQ(time_to_target(rows, 2.0), std::nullopt);      // never reached
  EXPECT_EQ(time_to_target(rows, std::nullopt), std::nullopt);  // no target
  EXPECT_EQ(time_to_target({row(0, -1, std::nullopt)}, 9.0), std::nullopt);  // timing only: no loss
}

TEST(ObservabilityKeys, ParseValidateAndReadBack) {
  const auto plain = load_scenario(kTiming);
  EXPECT_FALSE(plain.target_val_loss);
  EXPECT_TRUE(plain.trace);
  const auto s = load_scenario(kTiming, {"target_val_loss=4.5", "trace=off"});
  EXPECT_EQ(s.target_val_loss, 4.5);
  EXPECT_FALSE(s.trace);
  const auto yaml = dipaco::sim::scenario_to_yaml(s);
  EXPECT_NE(yaml.find("target_val_loss: 4.5"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("trace: off"), std::string::npos) << yaml;
  EXPECT_NE(error_of({"target_val_loss=0"}).find("key 'target_val_loss': 0 is out of range"), std::string::npos);
  EXPECT_NE(error_of({"target_val_loss=low"}).find("key 'target_val_loss': expected a number"), std::string::npos);
  EXPECT_NE(error_of({"trace=maybe"}).find("key 'trace': unknown value 'maybe'"), std::string::npos);
  EXPECT_NE(error_of({"trace=maybe"}).find("timing-1gbps.yaml"), std::string::npos);
}
