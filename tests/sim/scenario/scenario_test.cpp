#include <gtest/gtest.h>

#include <fstream>

#include "sim/scenario/scenario.hpp"

using dipaco::sim::load_scenario;
using dipaco::sim::ScenarioError;

namespace {

const std::string kQuickstart = std::string(DIPACO_SOURCE_DIR) + "/scenarios/quickstart.yaml";

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}

std::string error_of(const std::string& file, const std::vector<std::string>& overrides = {}) {
  try {
    load_scenario(file, overrides);
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Scenario, QuickstartLoadsWithItsValues) {
  const auto s = load_scenario(kQuickstart);
  EXPECT_EQ(s.workers(), 4);
  EXPECT_EQ(s.algorithm.name, dipaco::sim::Algorithm::Diloco);
  EXPECT_EQ(s.inner.total_steps, static_cast<int64_t>(s.algorithm.tau) * s.algorithm.outer_steps);
  EXPECT_TRUE(std::filesystem::exists(s.platform));
  EXPECT_EQ(s.cost.params, 150000000);
  EXPECT_EQ(s.data.source, "debian-mix");
  EXPECT_EQ(s.data.prefix_tokens, 32);
  EXPECT_EQ(s.model.vocab, 0);  // the tokenizer's
}

TEST(Scenario, UnknownKeyNamesFileLineAndKey) {
  const auto file = write_temp("unknown-key.yaml",
                               "platform: " DIPACO_SOURCE_DIR "/platforms/two-datacentres.xml\n"
                               "placement: {outer: west-gpu0, workers: [west-gpu1]}\n"
                               "algorithm:\n  tau: 5\n  tua: 6\n");
  const auto err = error_of(file);
  EXPECT_NE(err.find(file + ":5"), std::string::npos) << err;
  EXPECT_NE(err.find("algorithm.tua"), std::string::npos) << err;
}

TEST(Scenario, BadValueNamesTheKey) {
  const auto err = error_of(kQuickstart, {"model.heads=5"});
  EXPECT_NE(err.find("model.heads"), std::string::npos) << err;
  EXPECT_NE(err.find("not divisible"), std::string::npos) << err;
  EXPECT_NE(error_of(kQuickstart, {"algorithm.name=fedsgd"}).find("choose one of: async-diloco, decoupled-diloco, dense, diloco, dipaco, halos, streaming-diloco, sync"), std::string::npos);
  EXPECT_NE(error_of(kQuickstart, {"algorithm.tau=0"}).find("out of range"), std::string::npos);
  EXPECT_NE(error_of(kQuickstart, {"algorithm.tau=abc"}).find("(--set): key 'algorithm.tau': expected an integer"), std::string::npos);
}

TEST(Scenario, OverridesApplyAndUnknownOverridesFail) {
  const auto s = load_scenario(kQuickstart, {"algorithm.tau=7", "training=off", "placement.workers=[a, b]"});
  EXPECT_EQ(s.algorithm.tau, 7);
  EXPECT_FALSE(s.training);
  EXPECT_EQ(s.worker_hosts, (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(error_of(kQuickstart, {"algoritm.tau=7"}).find("unknown key 'algoritm'"), std::string::npos);
  EXPECT_NE(error_of(kQuickstart, {"tau"}).find("not key=value"), std::string::npos);
  EXPECT_NE(error_of(kQuickstart, {"data.source=jsonl"}).find("'data.path': is required"), std::string::npos);
  EXPECT_NE(error_of(kQuickstart, {"model.seq_len=32"}).find("must exceed data.prefix_tokens"), std::string::npos);
  EXPECT_NE(error_of(kQuickstart, {"data.tokenizer.algorithm=wordpiece"}).find("choose one of: bpe, unigram"), std::string::npos);
}

TEST(Scenario, MissingFilesAreReported) {
  EXPECT_NE(error_of("/nonexistent/scenario.yaml").find("cannot read"), std::string::npos);
  EXPECT_NE(error_of(kQuickstart, {"platform=nope.xml"}).find("does not exist"), std::string::npos);
}

TEST(Scenario, SyncTakesInnerCheckpointsButHasNoExecutorsToSave) {
  const std::vector<std::string> sync{"algorithm.name=sync", "checkpoints.storage=outer"};
  auto with = [&](const std::string& set) {
    auto sets = sync;
    sets.push_back(set);
    return sets;
  };
  EXPECT_EQ(load_scenario(kQuickstart, with("checkpoints.inner_every_steps=50")).checkpoints.inner_every_steps, 50);
  EXPECT_NE(error_of(kQuickstart, with("checkpoints.module_every_phases=1")).find("checkpoints.module_every_phases': sync has no executors"),
            std::string::npos);
  EXPECT_NE(error_of(kQuickstart, with("failures.executors_fail=true")).find("failures.executors_fail': sync has no executors"),
            std::string::npos);
}

TEST(Scenario, ResolvedYamlReadsBackIdentically) {
  const auto s = load_scenario(kQuickstart, {"algorithm.tau=9"});
  const auto yaml = dipaco::sim::scenario_to_yaml(s);
  const auto again = load_scenario(write_temp("resolved.yaml", yaml));
  EXPECT_EQ(dipaco::sim::scenario_to_yaml(again), yaml);
  EXPECT_EQ(again.algorithm.tau, 9);
}
