// `dipaco-sim report` without gnuplot: scenario flattening and differences, legend labels, reading
// run and sweep directories (tests/fixtures/report/) and their errors, the plan of plots, the HTML.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <unistd.h>

#include "reports/report_html.hpp"
#include "reports/report_inputs.hpp"
#include "reports/report_plots.hpp"
#include "reports/scenario_diff.hpp"

using namespace dipaco::reports;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(DIPACO_SOURCE_DIR) / "tests" / "fixtures" / "report";

fs::path temp_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("dipaco-report-test-" + std::to_string(getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// The message of the ReportError `f` throws, "" if it throws none.
template <typename F>
std::string report_error(F f) {
  try {
    f();
  } catch (const ReportError& e) {
    return e.what();
  }
  return "";
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(FlattenYaml, NestedMapsBecomeDottedKeysAndSequencesStayOneValue) {
  const auto flat = flatten_yaml(
      "seed: 1\nalgorithm: {name: dipaco, tau: 50}\nfailures:\n  preemption:\n    mtbf_hours: inf\n"
      "placement:\n  workers: [a, b]\ndipaco:\n  levels:\n    - {blocks: 1, modules: 2}\n    - {blocks: 1, modules: 2}\n"
      "checkpoints:\n  storage: \"\"\n");
  EXPECT_EQ(flat.at("seed"), "1");
  EXPECT_EQ(flat.at("algorithm.tau"), "50");
  EXPECT_EQ(flat.at("failures.preemption.mtbf_hours"), "inf");
  EXPECT_EQ(flat.at("placement.workers"), "[a, b]");
  EXPECT_EQ(flat.at("dipaco.levels"), "[{blocks: 1, modules: 2}, {blocks: 1, modules: 2}]");
  EXPECT_EQ(flat.at("checkpoints.storage"), "");
  EXPECT_EQ(flat.size(), 7u);
}

TEST(FlattenYaml, BadYamlNamesTheLine) {
  try {
    flatten_yaml("seed: 1\nalgorithm: {name: dipaco\n");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("line "), std::string::npos) << e.what();
  }
  EXPECT_THROW(flatten_yaml("- a\n- b\n"), std::runtime_error);
}

TEST(DifferingKeys, SweepKeysFirstThenAlphabeticalSeedLast) {
  const std::vector<Settings> runs = {
      {{"seed", "1"}, {"b.x", "1"}, {"a.y", "2"}, {"same", "s"}},
      {{"seed", "2"}, {"b.x", "3"}, {"a.y", "4"}, {"same", "s"}},
  };
  EXPECT_EQ(differing_keys(runs, {true, true}), (std::vector<std::string>{"a.y", "b.x", "seed"}));
  EXPECT_EQ(differing_keys(runs, {true, true}, {"b.x"}), (std::vector<std::string>{"b.x", "a.y", "seed"}));
}

TEST(DifferingKeys, AKeyOnlyOneCompleteRunHasDiffersButRunsWithoutScenarioDoNotCount) {
  const std::vector<Settings> runs = {{{"k", "1"}, {"extra", "x"}}, {{"k", "1"}}, {{"k", "1"}}};
  EXPECT_EQ(differing_keys(runs, {true, true, false}), (std::vector<std::string>{"extra"}));
  EXPECT_TRUE(differing_keys(runs, {true, false, false}).empty());
}

TEST(ShortKeyNames, LastComponentUnlessAmbiguous) {
  const auto names = short_key_names({"algorithm.tau", "failures.preemption.mtbf_hours", "seed", "failures.seed", "a.x.lr", "b.x.lr"});
  EXPECT_EQ(names.at("algorithm.tau"), "tau");
  EXPECT_EQ(names.at("failures.preemption.mtbf_hours"), "mtbf_hours");
  EXPECT_EQ(names.at("seed"), "seed");
  EXPECT_EQ(names.at("failures.seed"), "failures.seed");
  EXPECT_EQ(names.at("a.x.lr"), "a.x.lr");
  EXPECT_EQ(names.at("b.x.lr"), "b.x.lr");
}

TEST(RunLabels, DifferingKeysOrNames) {
  const std::vector<std::string> keys = {"algorithm.tau", "failures.preemption.mtbf_hours", "seed"};
  const std::vector<Settings> runs = {
      {{"algorithm.tau", "10"}, {"failures.preemption.mtbf_hours", "2"}, {"seed", "1"}},
      {{"algorithm.tau", "50"}, {"failures.preemption.mtbf_hours", "inf"}, {"seed", "1"}},
      {{"algorithm.tau", "50"}, {"failures.preemption.mtbf_hours", "inf"}, {"seed", "1"}},
  };
  EXPECT_EQ(run_labels(runs, {"a", "b", "c"}, keys),
            (std::vector<std::string>{"tau=10 mtbf_hours=2 seed=1", "tau=50 mtbf_hours=inf seed=1 (b)", "tau=50 mtbf_hours=inf seed=1 (c)"}));
  EXPECT_EQ(run_labels({runs[0]}, {"only"}, keys), (std::vector<std::string>{"only"}));
  EXPECT_EQ(run_labels(runs, {"a", "b", "c"}, {}), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(run_labels(runs, {"a", "b", "c"}, {"k1", "k2", "k3", "k4", "k5"}), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(MetricsCsv, KeepsOnlyWholeModelRowsAndEmptyPerplexity) {
  const auto points = parse_metrics_csv(
      "sim_time_s,outer_step,path,shard_size,inner_steps,tokens,train_loss,val_loss,val_perplexity,wan_bytes\n"
      "0.000000,0,all,0,0,0,,,,0\n"
      "10.5,1,0,7,5,100,1.0,2.0,7.389056,5\n"
      "10.5,1,all,0,5,200,1.0,2.0,7.389056,1000000000\n",
      "m.csv");
  ASSERT_EQ(points.size(), 2u);
  EXPECT_FALSE(points[0].val_perplexity);
  EXPECT_DOUBLE_EQ(points[1].sim_time_s, 10.5);
  EXPECT_DOUBLE_EQ(points[1].tokens, 200);
  EXPECT_DOUBLE_EQ(*points[1].val_perplexity, 7.389056);
  EXPECT_DOUBLE_EQ(points[1].wan_bytes, 1e9);
}

TEST(MetricsCsv, MalformedRowNamesFileAndLine) {
  const std::string header = "sim_time_s,outer_step,path,shard_size,inner_steps,tokens,train_loss,val_loss,val_perplexity,wan_bytes\n";
  const auto short_row = report_error([&] { parse_metrics_csv(header + "0,0,all,0,0,0,,,,0\n1,1,all,0\n", "run/metrics.csv"); });
  EXPECT_NE(short_row.find("run/metrics.csv:3: expected 10 fields, found 4"), std::string::npos) << short_row;
  const auto not_number = report_error([&] { parse_metrics_csv(header + "abc,0,all,0,0,0,,,,0\n", "run/metrics.csv"); });
  EXPECT_NE(not_number.find("run/metrics.csv:2: sim_time_s 'abc' is not a number"), std::string::npos) << not_number;
  const auto no_column = report_error([&] { parse_metrics_csv("time,path\n", "run/metrics.csv"); });
  EXPECT_NE(no_column.find("run/metrics.csv:1: no column sim_time_s"), std::string::npos) << no_column;
  EXPECT_EQ(short_row.find('\n'), std::string::npos);
}

TEST(ReadInputs, RunsAndSweepFromTheFixtures) {
  const auto in = read_inputs({kFixtures / "run-tau10", kFixtures / "run-tau50", kFixtures / "run-failed", kFixtures / "sweep"});
  ASSERT_EQ(in.runs.size(), 7u);
  ASSERT_EQ(in.sweeps.size(), 1u);
  const auto& tau10 = in.runs[0];
  EXPECT_TRUE(tau10.ok);
  EXPECT_EQ(tau10.name, "run-tau10");
  EXPECT_EQ(tau10.curve.size(), 4u);
  EXPECT_EQ(tau10.settings.at("algorithm.tau"), "10");
  EXPECT_EQ(*tau10.lost_compute_s, 0.0);  // no failures object: nothing lost
  ASSERT_TRUE(tau10.utilisation);
  EXPECT_TRUE(tau10.utilisation->measured);
  EXPECT_DOUBLE_EQ(tau10.utilisation->communication, 0.25);
  const auto& tau50 = in.runs[1];
  EXPECT_EQ(tau50.curve.size(), 4u);  // its per-path rows are left out
  EXPECT_FALSE(tau50.time_to_target_s);
  EXPECT_DOUBLE_EQ(*tau50.lost_compute_s, 12.5);
  ASSERT_TRUE(tau50.utilisation);
  EXPECT_FALSE(tau50.utilisation->measured);  // no utilisation_breakdown: compute_utilisation, the rest idle
  EXPECT_DOUBLE_EQ(tau50.utilisation->idle, 1.0 - 0.8);
  const auto& failed = in.runs[2];
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.error, "run failed: simulated crash for the report fixture");
  EXPECT_EQ(tau10.status, "ok");
  EXPECT_TRUE(failed.curve.empty());
  const auto& sweep = in.sweeps[0];
  EXPECT_EQ(sweep.keys, (std::vector<std::string>{"algorithm.tau", "failures.preemption.mtbf_hours"}));
  EXPECT_EQ(sweep.values[0], (std::vector<std::string>{"10", "50"}));
  EXPECT_EQ(sweep.values[1], (std::vector<std::string>{"inf", "2"}));
  EXPECT_EQ(sweep.runs, (std::vector<size_t>{3, 4, 5, 6}));
  EXPECT_EQ(in.runs[4].name, "001-tau=10-mtbf_hours=2-seed=1");
  EXPECT_EQ(in.runs[4].sweep, 0);
  EXPECT_EQ(in.runs[4].seed(), "1");
}

TEST(ReadInputs, MissingOrUnknownDirectoriesAreOneLineErrors) {
  const auto missing = report_error([] { read_inputs({"/nonexistent/dipaco-run"}); });
  EXPECT_EQ(missing, "/nonexistent/dipaco-run: no such directory (give a run or sweep directory)");
  const auto dir = temp_dir("neither");
  const auto neither = report_error([&] { read_inputs({dir}); });
  EXPECT_EQ(neither, dir.string() + ": neither a run directory (summary.json) nor a sweep directory (sweep.json)");
  EXPECT_NE(report_error([] { read_inputs({}); }), "");
}

TEST(ReadInputs, MalformedFilesNameTheFile) {
  const auto dir = temp_dir("malformed");
  write(dir / "run" / "summary.json", "{\"final_val_perplexity\": ");
  const auto bad_json = report_error([&] { read_inputs({dir / "run"}); });
  EXPECT_NE(bad_json.find((dir / "run" / "summary.json").string() + ": not valid JSON"), std::string::npos) << bad_json;
  // Found by tests/fuzz/fuzz_run_dir: a number too large for a double was an uncaught json exception.
  write(dir / "run" / "summary.json", "{\"final_val_perplexity\": 4" + std::string(400, '0') + "}");
  const auto huge = report_error([&] { read_inputs({dir / "run"}); });
  EXPECT_NE(huge.find((dir / "run" / "summary.json").string() + ": not valid JSON"), std::string::npos) << huge;
  write(dir / "run" / "summary.json", "{}");
  write(dir / "run" / "metrics.csv", "sim_time_s,path,tokens,val_perplexity,wan_bytes\n1,all,2\n");
  const auto bad_csv = report_error([&] { read_inputs({dir / "run"}); });
  EXPECT_NE(bad_csv.find((dir / "run" / "metrics.csv").string() + ":2:"), std::string::npos) << bad_csv;
  write(dir / "sweep" / "sweep.json", "{\"runs\": 3}");
  const auto bad_sweep = report_error([&] { read_inputs({dir / "sweep"}); });
  EXPECT_NE(bad_sweep.find("sweep.json: expected an object"), std::string::npos) << bad_sweep;
}

TEST(ReadInputs, SweepRunsNotRunInterruptedOrUnfinishedAreListedWithWhy) {
  const auto dir = temp_dir("sweep-missing");
  write(dir / "sweep.json",
        R"({"scenario": "s.yaml", "keys": ["algorithm.tau"], "grid": {"algorithm.tau": ["100", "10"]}, "repeat": 1, "runs": [
             {"name": "000-tau=10", "dir": "runs/000-tau=10", "values": {"algorithm.tau": "10"}, "seed": 1},
             {"name": "001-tau=50", "dir": "runs/001-tau=50", "values": {"algorithm.tau": "50"}, "seed": 1},
             {"name": "002-tau=100", "dir": "runs/002-tau=100", "values": {"algorithm.tau": "100"}, "seed": 1}]})");
  write(dir / "runs" / "001-tau=50" / "scenario.yaml", "seed: 1\nalgorithm: {tau: 50}\n");
  write(dir / "runs" / "001-tau=50" / "status.json", R"({"status": "interrupted", "exit_code": 130, "error": "", "real_seconds": 3})");
  write(dir / "runs" / "002-tau=100" / "scenario.yaml", "seed: 1\nalgorithm: {tau: 100}\n");
  const auto in = read_inputs({dir});
  ASSERT_EQ(in.runs.size(), 3u);
  EXPECT_FALSE(in.runs[0].ok);
  EXPECT_EQ(in.runs[0].status, "pending");
  EXPECT_NE(in.runs[0].error.find("not started"), std::string::npos);
  EXPECT_EQ(in.runs[0].settings.at("algorithm.tau"), "10");
  EXPECT_FALSE(in.runs[1].ok);
  EXPECT_EQ(in.sweeps[0].values[0], (std::vector<std::string>{"100", "10", "50"}));  // "grid" first, then the runs' own
  EXPECT_EQ(in.runs[1].status, "interrupted");
  EXPECT_EQ(in.runs[1].error, "interrupted with exit code 130");
  EXPECT_EQ(in.runs[2].status, "incomplete");  // a directory, but neither summary.json nor status.json
  EXPECT_DOUBLE_EQ(*in.runs[1].real_seconds, 3.0);
  EXPECT_NE(in.runs[2].error.find("no summary.json"), std::string::npos);
}

TEST(PlanPlots, TimingOnlyRunsLeaveOutPerplexityAndSayWhy) {
  ReportInputs in;
  RunRecord run;
  run.name = "timing";
  run.ok = true;
  run.curve = {{0.0, 0.0, std::nullopt, 0.0}, {3600.0, 1000.0, std::nullopt, 2e9}};
  run.utilisation = UtilisationBreakdown{0.5, 0.2, 0.3, 0.0, true};
  in.runs = {run};
  const auto set = plan_plots(in, {"timing"});
  ASSERT_EQ(set.plots.size(), 2u);
  EXPECT_EQ(set.plots[0].stem, "wan-vs-time");
  EXPECT_EQ(set.plots[1].stem, "utilisation");
  ASSERT_EQ(set.notes.size(), 1u);
  EXPECT_NE(set.notes[0].find("perplexity plots are left out"), std::string::npos);
  EXPECT_NE(set.script.find("1 2\n"), std::string::npos);  // 1 h, 2 GB
}

TEST(PlanPlots, SweepGetsLinesAndHeatmapsAndTheSameScriptEveryTime) {
  const auto in = read_inputs({kFixtures / "sweep"});
  std::vector<std::string> labels;
  for (const auto& r : in.runs) labels.push_back(r.name);
  const auto set = plan_plots(in, labels);
  std::vector<std::string> stems;
  for (const auto& p : set.plots) stems.push_back(p.stem);
  EXPECT_EQ(stems, (std::vector<std::string>{"perplexity-vs-time", "perplexity-vs-tokens", "wan-vs-time", "utilisation",
                                             "sweep1-final-perplexity", "sweep1-heatmap-final-perplexity",
                                             "sweep1-time-to-target", "sweep1-heatmap-time-to-target", "sweep1-wall-clock",
                                             "sweep1-heatmap-wall-clock"}));
  EXPECT_TRUE(set.notes.empty());
  // tau=50, mtbf_hours=2 never reached the target: no cell (1, 1) in the time-to-target heatmap.
  const auto block = set.script.substr(set.script.find("$sweep1_metric1 << EOD"));
  EXPECT_EQ(block.substr(0, block.find("\nEOD\n")).find("\n1 1 "), std::string::npos);
  EXPECT_NE(block.substr(0, block.find("\nEOD\n")).find("\n1 0 "), std::string::npos);
  EXPECT_EQ(plan_plots(in, labels).script, set.script);
}

TEST(RenderHtml, OneRowPerRunImagesAndDifferences) {
  const auto in = read_inputs({kFixtures / "run-tau10", kFixtures / "run-tau50", kFixtures / "run-failed"});
  const auto set = plan_plots(in, {"a", "b", "c"});
  const auto html = render_html(in, {"algorithm.tau", "failures.preemption.mtbf_hours"}, set);
  EXPECT_EQ(count(html, "<tr class=\"run"), 3u);
  EXPECT_EQ(count(html, "<img "), set.plots.size());
  EXPECT_EQ(count(html, "<tr class=\"run failed\">"), 1u);
  EXPECT_NE(html.find("<th title=\"algorithm.tau\">tau</th>"), std::string::npos);
  EXPECT_NE(html.find("<code>failures.preemption.mtbf_hours</code>"), std::string::npos);
  EXPECT_NE(html.find("document.body.dataset.imagesLoaded"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);  // nothing fetched from the network
  EXPECT_NE(render_html(in, {}, set).find("No differences"), std::string::npos);
}
