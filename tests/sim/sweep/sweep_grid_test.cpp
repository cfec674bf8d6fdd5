// The sweep's grid: parsing --grid, the scenario's sweep: section, expansion and its errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "sim/scenario/scenario.hpp"
#include "sim/sweep/sweep_grid.hpp"

namespace {

using dipaco::sim::GridAxis;
using dipaco::sim::ScenarioError;

const std::filesystem::path kTiming = std::filesystem::path(DIPACO_SOURCE_DIR) / "tests/scenarios/timing-1gbps.yaml";

// The timing scenario plus `extra`, in a temporary folder (its platform path made absolute).
std::filesystem::path write_scenario(const std::string& name, const std::string& extra) {
  const auto file = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".yaml");
  std::ifstream in(kTiming);
  std::stringstream text;
  text << in.rdbuf();
  std::string yaml = text.str();
  const std::string rel = "../platforms/";
  yaml.replace(yaml.find(rel), rel.size(), (kTiming.parent_path().parent_path() / "platforms").string() + "/");
  std::ofstream(file) << yaml << extra;
  return file;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "no error";
}

TEST(SweepGrid, ParsesKeyAndValuesKeepingBracketsWhole) {
  const auto a = dipaco::sim::parse_grid_argument("algorithm.tau=10,50, 200");
  EXPECT_EQ(a.key, "algorithm.tau");
  EXPECT_EQ(a.values, (std::vector<std::string>{"10", "50", "200"}));
  const auto b = dipaco::sim::parse_grid_argument("placement.workers=[a0, b0],[a0,a1,b0],'x,y'");
  EXPECT_EQ(b.values, (std::vector<std::string>{"[a0, b0]", "[a0,a1,b0]", "'x,y'"}));
}

TEST(SweepGrid, RejectsMalformedArguments) {
  EXPECT_NE(error_of([] { dipaco::sim::parse_grid_argument("algorithm.tau"); }).find("expected key=value1,value2"), std::string::npos);
  EXPECT_NE(error_of([] { dipaco::sim::parse_grid_argument("=1,2"); }).find("expected key=value1"), std::string::npos);
  EXPECT_NE(error_of([] { dipaco::sim::parse_grid_argument("algorithm.tau=10,,50"); }).find("an empty value"), std::string::npos);
  EXPECT_NE(error_of([] { dipaco::sim::parse_grid_argument("placement.workers=[a0,b0"); }).find("unbalanced"), std::string::npos);
}

TEST(SweepGrid, ExpandsTheCartesianProductFirstAxisSlowestSeedFastest) {
  dipaco::sim::SweepSpec spec{kTiming, {}, {{"algorithm.tau", {"10", "20"}}, {"network.wan_latency_scale", {"1", "2", "4"}}}, 2};
  const auto points = dipaco::sim::expand_sweep(spec);
  ASSERT_EQ(points.size(), 12u);
  EXPECT_EQ(points[0].name, "000-tau=10-wan_latency_scale=1-seed=1");
  EXPECT_EQ(points[1].name, "001-tau=10-wan_latency_scale=1-seed=2");
  EXPECT_EQ(points[2].values, (std::vector<std::string>{"10", "2"}));
  EXPECT_EQ(points[11].name, "011-tau=20-wan_latency_scale=4-seed=2");
  EXPECT_EQ(points[11].overrides, (std::vector<std::string>{"algorithm.tau=20", "network.wan_latency_scale=4", "seed=2"}));
  // Every point is a scenario that loads with its overrides.
  EXPECT_EQ(dipaco::sim::load_scenario(kTiming, points[11].overrides).algorithm.tau, 20);
}

TEST(SweepGrid, UnknownKeysAndBadValuesNameThePointAndTheKey) {
  dipaco::sim::SweepSpec bad_key{kTiming, {}, {{"algorithm.tua", {"10"}}}, 1};
  const auto e1 = error_of([&] { dipaco::sim::expand_sweep(bad_key); });
  EXPECT_NE(e1.find("sweep grid point 0 (algorithm.tua=10)"), std::string::npos) << e1;
  EXPECT_NE(e1.find("unknown key 'algorithm.tua'"), std::string::npos) << e1;
  dipaco::sim::SweepSpec bad_value{kTiming, {}, {{"algorithm.tau", {"10", "0"}}}, 1};
  const auto e2 = error_of([&] { dipaco::sim::expand_sweep(bad_value); });
  EXPECT_NE(e2.find("point 1 (algorithm.tau=0)"), std::string::npos) << e2;
  EXPECT_NE(e2.find("out of range"), std::string::npos) << e2;
  dipaco::sim::SweepSpec bad_choice{kTiming, {}, {{"algorithm.name", {"diloco", "fedsgd"}}}, 1};
  EXPECT_NE(error_of([&] { dipaco::sim::expand_sweep(bad_choice); }).find("unknown value 'fedsgd'"), std::string::npos);
  dipaco::sim::SweepSpec seed_twice{kTiming, {}, {{"seed", {"1", "2"}}}, 3};
  EXPECT_NE(error_of([&] { dipaco::sim::expand_sweep(seed_twice); }).find("use one or the other"), std::string::npos);
  EXPECT_NE(error_of([] { dipaco::sim::merge_axes({}, {{"algorithm.tau", {"1"}}, {"algorithm.tau", {"2"}}}); }).find("given twice"),
            std::string::npos);
}

TEST(SweepGrid, ScenarioSectionGivesAxesAndTheCommandLineReplacesThem) {
  const auto file = write_scenario("sweep-section", "sweep:\n  grid:\n    algorithm.tau: [5, 10]\n    placement.workers: [[a0, b0], [a0, a1, b0, b1]]\n  repeat: 2\n");
  std::vector<GridAxis> axes;
  int repeat = 1;
  dipaco::sim::read_sweep_section(file, axes, repeat);
  ASSERT_EQ(axes.size(), 2u);
  EXPECT_EQ(axes[1].values, (std::vector<std::string>{"[a0, b0]", "[a0, a1, b0, b1]"}));
  EXPECT_EQ(repeat, 2);
  const auto merged = dipaco::sim::merge_axes(axes, {{"algorithm.tau", {"7"}}});
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].key, "placement.workers");
  EXPECT_EQ(merged[1].values, (std::vector<std::string>{"7"}));
  // A run of the same file ignores its sweep section.
  EXPECT_EQ(dipaco::sim::load_scenario(file).algorithm.tau, 20);
  const auto points = dipaco::sim::expand_sweep({file, {}, axes, repeat});
  EXPECT_EQ(points.size(), 8u);
  EXPECT_EQ(points[2].name, "002-tau=5-workers=_a0_a1_b0_b1_-seed=1");

  const auto bad = write_scenario("sweep-bad", "sweep:\n  grid:\n    algorithm.tau: []\n");
  EXPECT_NE(error_of([&] { dipaco::sim::read_sweep_section(bad, axes, repeat); }).find("key 'sweep.grid.algorithm.tau': expected a non-empty list"),
            std::string::npos);
  const auto typo = write_scenario("sweep-typo", "sweep:\n  grids: {algorithm.tau: [1]}\n");
  EXPECT_NE(error_of([&] { dipaco::sim::read_sweep_section(typo, axes, repeat); }).find(":13: key 'sweep.grids': unknown key"),
            std::string::npos);
  for (const auto& f : {file, bad, typo}) std::filesystem::remove(f);
}

TEST(SweepGrid, ShortKeysStayUniqueAndTotalStepsFixTheBudget) {
  const std::vector<GridAxis> axes{{"failures.preemption.mtbf_hours", {"1"}}, {"failures.backup_preemption.mtbf_hours", {"1"}}, {"algorithm.tau", {"1"}}};
  EXPECT_EQ(dipaco::sim::short_key(axes, 0), "failures.preemption.mtbf_hours");
  EXPECT_EQ(dipaco::sim::short_key(axes, 2), "tau");
  const auto s = dipaco::sim::load_scenario(kTiming, {"algorithm.total_inner_steps=100", "algorithm.tau=25"});
  EXPECT_EQ(s.algorithm.outer_steps, 4);
  EXPECT_NE(error_of([] { dipaco::sim::load_scenario(kTiming, {"algorithm.total_inner_steps=100", "algorithm.tau=30"}); })
                .find("not a multiple of algorithm.tau"),
            std::string::npos);
  EXPECT_EQ(dipaco::sim::load_scenario(kTiming, {"algorithm.name=dense"}).algorithm.name, dipaco::sim::Algorithm::Sync);
}

}  // namespace
