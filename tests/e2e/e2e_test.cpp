#include <algorithm>
// End to end: the dipaco-sim binary on small scenarios, as a user runs it.
#include <gtest/gtest.h>

#include "e2e_support.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/wait.h>

namespace {

using e2e::json_number;
using e2e::kSource;
using e2e::out_dir;
using e2e::run;
using e2e::slurp;

const std::string kTiny = kSource + "/tests/scenarios/tiny-diloco.yaml";
const std::string kTiming = kSource + "/tests/scenarios/timing-1gbps.yaml";


}  // namespace

TEST(EndToEnd, TinyDilocoRunsFastAndLearns) {
  const auto dir = out_dir("tiny");
  const auto r = run("run " + kTiny + " --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("outputs: " + dir.string()), std::string::npos) << r.output;
  const auto summary = slurp(dir / "summary.json");
  EXPECT_LT(json_number(summary, "real_seconds"), 30.0);
  EXPECT_LT(json_number(summary, "final_val_perplexity"), 0.5 * json_number(summary, "initial_val_perplexity"));
  EXPECT_GT(json_number(summary, "wan_bytes"), 0.0);
  // 1 header + step 0 + 5 outer steps
  const auto csv = slurp(dir / "metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 7) << csv;
  EXPECT_TRUE(std::filesystem::exists(dir / "scenario.yaml"));
}

TEST(EndToEnd, SameSeedGivesIdenticalMetricsForAnyThreadCount) {
  const auto a = out_dir("det-a"), b = out_dir("det-b"), c = out_dir("det-c");
  ASSERT_EQ(run("run " + kTiny + " --threads 1 --out " + a.string()).rc, 0);
  ASSERT_EQ(run("run " + kTiny + " --threads 2 --out " + b.string()).rc, 0);
  ASSERT_EQ(run("run " + kTiny + " --threads 2 --out " + c.string()).rc, 0);
  const auto ma = slurp(a / "metrics.csv");
  ASSERT_FALSE(ma.empty());
  EXPECT_EQ(ma, slurp(b / "metrics.csv"));
  EXPECT_EQ(ma, slurp(c / "metrics.csv"));
}

TEST(EndToEnd, SyncBaselineIsSlowerByTauFoldMoreSynchronisations) {
  // Timing only. Per-synchronisation costs come from one-step runs of each algorithm; the long runs
  // must then spend tau times more time communicating per the sync baseline's extra all-reduces.
  struct Timing {
    double wall, comm, syncs;
  };
  auto timing = [](const std::string& name, const std::string& sets) {
    const auto dir = out_dir(name);
    const auto r = run("run " + kTiming + " " + sets + " --out " + dir.string());
    EXPECT_EQ(r.rc, 0) << r.output;
    const auto s = slurp(dir / "summary.json");
    const double wall = json_number(s, "simulated_wall_clock_s");
    const double compute_per_worker = json_number(s, "compute_seconds") / 4;
    return Timing{wall, wall - compute_per_worker, json_number(s, "synchronisations")};
  };
  const int tau = 20;
  const auto diloco = timing("diloco", "");
  const auto sync = timing("sync", "--set algorithm.name=sync");
  const auto diloco_one = timing("diloco-one", "--set algorithm.tau=1 --set algorithm.outer_steps=1");
  const auto sync_one = timing("sync-one", "--set algorithm.name=sync --set algorithm.tau=1 --set algorithm.outer_steps=1");

  EXPECT_GT(sync.wall, diloco.wall);
  EXPECT_EQ(sync.syncs, tau * diloco.syncs);
  const double per_sync_ratio = sync_one.comm / diloco_one.comm;
  EXPECT_NEAR((sync.comm / diloco.comm) / per_sync_ratio, tau, 0.01 * tau)
      << "sync comm " << sync.comm << " s, diloco comm " << diloco.comm << " s, per-sync ratio " << per_sync_ratio;
}

TEST(EndToEnd, BadInputGetsOneLineErrorAndExitCodeTwo) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"run " + kTiny + " --set algorithm.tua=3", "algorithm.tua"},
      {"run " + kTiny + " --set placement.workers=[nohost]", "placement.workers[0]"},
      {"run " + kTiny + " --threads 0", "--threads"},
      {"run " + kTiny + " --cfg=network/modle:CM02", "network/modle"},
      {"run " + kTiny + " --cfg=nonsense", "key:value"},
      {"run /nonexistent.yaml", "/nonexistent.yaml"},
      {"run " + kTiny + " --set platform=" + kTiny, "platform"},
      {"frobnicate", "frobnicate"},
      {"run " + kTiny + " --out /proc/forbidden", "/proc/forbidden"},
  };
  for (const auto& [args, needle] : cases) {
    const auto dir = out_dir("bad");
    const auto r = run(args.find("--out") == std::string::npos ? args + " --out " + dir.string() : args);
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << "\n" << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir)) << args << ": no run directory is left behind";
  }
}

// device: cuda on a LibTorch without CUDA (CI's) is bad input with a way out; with CUDA, it runs.
TEST(EndToEnd, CudaDeviceRunsWhereLibTorchHasCudaElseExitCodeTwo) {
  const auto dir = out_dir("cuda");
  const auto r = run("run " + kTiny + " --set device=cuda --no-report --out " + dir.string());
  if (r.rc == 2) {
    EXPECT_NE(r.output.find("key 'device': cuda, but this LibTorch has no CUDA or sees no GPU"), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  } else {
    EXPECT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(slurp(dir / "scenario.yaml").find("device: cuda"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST(EndToEnd, HelpExplainsEveryRunOption) {
  const auto r = run("run --help");
  EXPECT_EQ(r.rc, 0);
  for (const char* opt : {"--out", "--set", "--threads", "--cfg", "--log"}) EXPECT_NE(r.output.find(opt), std::string::npos) << opt;
}

namespace {

// A JSON-lines corpus of varied sentences, and the flags that point tiny-text.yaml at it.
std::string text_corpus_flags(const std::string& name) {
  const auto dir = out_dir("corpus-" + name);
  std::filesystem::create_directories(dir);
  std::ofstream f(dir / "corpus.jsonl");
  const char* animals[] = {"cat", "dog", "heron", "otter", "lynx", "crow"};
  const char* verbs[] = {"sleeps", "runs", "watches the river", "eats", "hides", "sings"};
  for (int i = 0; i < 400; ++i)
    f << "{\"text\": \"The " << animals[i % 6] << " " << verbs[(i / 6) % 6] << " at " << i % 24 << " o'clock. "
      << "Le " << animals[(i + 1) % 6] << " dort. Number " << i * 37 % 1000 << ".\"}\n";
  return "--set data.path=" + (dir / "corpus.jsonl").string() + " --set data.cache_dir=" + (dir / "cache").string();
}

const std::string kTinyText = kSource + "/tests/scenarios/tiny-text.yaml";

}  // namespace

TEST(EndToEnd, DataPrepareThenStatsReusesTheCache) {
  const auto flags = text_corpus_flags("stats");
  const auto prepare = run("data prepare " + kTinyText + " " + flags);
  ASSERT_EQ(prepare.rc, 0) << prepare.output;
  EXPECT_NE(prepare.output.find("tokenizing"), std::string::npos) << prepare.output;
  const auto stats = run("data stats " + kTinyText + " " + flags + " --samples 2");
  ASSERT_EQ(stats.rc, 0) << stats.output;
  EXPECT_EQ(stats.output.find("tokenizing"), std::string::npos) << "the second command must not tokenize:\n" << stats.output;
  EXPECT_NE(stats.output.find("jsonl"), std::string::npos) << stats.output;
  EXPECT_NE(stats.output.find("sample "), std::string::npos) << stats.output;
}

// The first line of metrics.csv after the header: the outer step 0 row (time, ..., val_loss, ...).
std::string first_row(const std::filesystem::path& dir) {
  std::stringstream in(slurp(dir / "metrics.csv"));
  std::string line;
  std::getline(in, line);
  std::getline(in, line);
  return line;
}

TEST(EndToEnd, WarmStartIsPretrainedOnceCachedAndReusedByOtherSeeds) {
  // Real text (the synthetic corpus changes with the seed, and so would its warm start).
  const auto flags = text_corpus_flags("warm");
  const auto cache = std::filesystem::temp_directory_path() / ("dipaco-e2e-" + std::to_string(getpid()) + "-corpus-warm") / "cache";
  const auto a = out_dir("warm-a"), b = out_dir("warm-b"), c = out_dir("warm-c"), cold = out_dir("warm-cold");
  const std::string warm = " " + flags + " --set init.pretrain_steps=40 --set init.seed=11 --no-report --out ";
  const auto r1 = run("run " + kTinyText + warm + a.string());
  ASSERT_EQ(r1.rc, 0) << r1.output;
  EXPECT_NE(r1.output.find("init: pre-trained a warm start of 40 steps (seed 11), cached in " + cache.string()), std::string::npos) << r1.output;
  std::vector<std::filesystem::path> files;
  for (const auto& f : std::filesystem::directory_iterator(cache))
    if (f.path().extension() == ".warm") files.push_back(f.path());
  ASSERT_EQ(files.size(), 1u);
  const auto cached = slurp(files[0]);
  // Another run seed, the same warm start: read, not trained again, and left as it was.
  const auto r2 = run("run " + kTinyText + " --set seed=4" + warm + b.string());
  ASSERT_EQ(r2.rc, 0) << r2.output;
  EXPECT_NE(r2.output.find("init: reused a warm start of 40 steps (seed 11) from " + files[0].string()), std::string::npos) << r2.output;
  EXPECT_EQ(slurp(files[0]), cached);
  EXPECT_NE(slurp(b / "summary.json").find("\"reused\": true"), std::string::npos);
  EXPECT_NE(slurp(a / "summary.json").find("\"reused\": false"), std::string::npos);
  // Both start from the same model: the same outer step 0 row (time and validation loss).
  EXPECT_EQ(first_row(a), first_row(b));
  // The first run again, now from the cache: the same bytes.
  ASSERT_EQ(run("run " + kTinyText + warm + c.string()).rc, 0);
  EXPECT_EQ(slurp(a / "metrics.csv"), slurp(c / "metrics.csv"));
  // The pre-training took simulated time on the first worker before step 0; the model it gave
  // is better than a fresh one.
  const double start = json_number(slurp(a / "summary.json"), "start_time_s");
  EXPECT_GT(start, 0.0);
  EXPECT_EQ(first_row(a).rfind(e2e::csv_time(start) + ",0,all,", 0), 0u) << first_row(a);
  ASSERT_EQ(run("run " + kTinyText + " " + flags + " --no-report --out " + cold.string()).rc, 0);
  const auto val_loss = [](const std::string& row) {  // column 8 of sim_time_s,outer_step,path,...,val_loss
    std::stringstream ls(row);
    std::string f;
    for (int i = 0; i < 8; ++i) std::getline(ls, f, ',');
    return std::stod(f);
  };
  EXPECT_LT(val_loss(first_row(a)), val_loss(first_row(cold)) - 0.5);
  for (const auto& d : {cache.parent_path(), a, b, c, cold}) std::filesystem::remove_all(d);
}

TEST(EndToEnd, RunTrainsOnRealTextThroughTheTokenCache) {
  const auto dir = out_dir("text-run");
  const auto r = run("run " + kTinyText + " " + text_corpus_flags("run") + " --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto summary = slurp(dir / "summary.json");
  EXPECT_EQ(json_number(summary, "vocab"), 400);
  EXPECT_LT(json_number(summary, "final_val_perplexity"), json_number(summary, "initial_val_perplexity"));
}

TEST(EndToEnd, BadDataGetsOneLineErrorAndExitCodeTwo) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"data stats " + kTinyText, "/nonexistent.jsonl"},
      {"run " + kTinyText + " --set data.source=debian-mix --set data.path=/nonexistent-root", "apt-get install"},
      {"data prepare " + kTinyText + " " + text_corpus_flags("vocab") + " --set data.tokenizer.vocab=60000", "data.tokenizer.vocab"},
      {"run " + kTinyText + " " + text_corpus_flags("batch") + " --set inner_optimizer.batch_size=100000", "batch"},
  };
  for (const auto& [args, needle] : cases) {
    const auto r = run(args);
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << args << "\n" << r.output;
    EXPECT_NE(r.output.find("tiny-text.yaml"), std::string::npos) << args << "\n" << r.output;
  }
}

namespace {
const std::string kTinyDipaco = kSource + "/tests/scenarios/tiny-dipaco.yaml";
}  // namespace

TEST(EndToEnd, DipacoRoutesTrainsPathsAndLearns) {
  const auto dir = out_dir("dipaco");
  const auto r = run("run " + kTinyDipaco + " --set dipaco.reroute_every=16 --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto summary = slurp(dir / "summary.json");
  EXPECT_LT(json_number(summary, "final_val_perplexity"), json_number(summary, "initial_val_perplexity"));
  EXPECT_EQ(json_number(summary, "workers"), 4);
  EXPECT_EQ(json_number(summary, "paths"), 4);
  EXPECT_EQ(json_number(summary, "modules"), 5);
  // Token-level re-scoring with one route per sequence reproduces the routed perplexity.
  EXPECT_NEAR(json_number(summary, "val_perplexity_routed_once"), json_number(summary, "final_val_perplexity"),
              1e-4 * json_number(summary, "final_val_perplexity"));
  EXPECT_GT(json_number(summary, "val_perplexity_rerouted"), 0.0);
  const auto csv = slurp(dir / "metrics.csv");
  // A routed row and 4 path rows per evaluation: phases 0..3.
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 4 * 5) << csv;
  EXPECT_NE(csv.find(",3,3,"), std::string::npos) << "a row for path 3 at phase 3:\n" << csv;
}

TEST(EndToEnd, DipacoTopTwoShardsOverlap) {
  const auto one = out_dir("dipaco-top1"), two = out_dir("dipaco-top2");
  ASSERT_EQ(run("run " + kTinyDipaco + " --set algorithm.outer_steps=1 --out " + one.string()).rc, 0);
  const auto r = run("run " + kTinyDipaco + " --set algorithm.outer_steps=1 --set dipaco.top2_training_shards=true --out " + two.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  // Phase-0 path rows carry each path's shard size: top-2 doubles their sum.
  auto shard_total = [](const std::string& csv) {
    int64_t total = 0;
    std::istringstream in(csv);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::stringstream ls(line);
      for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
      if (f.size() > 3 && f[1] == "0" && f[2] != "all") total += std::stoll(f[3]);
    }
    return total;
  };
  const auto a = shard_total(slurp(one / "metrics.csv")), b = shard_total(slurp(two / "metrics.csv"));
  EXPECT_GT(a, 0);
  EXPECT_EQ(b, 2 * a);
}

TEST(EndToEnd, DipacoIsDeterministicForAnyThreadCount) {
  const auto a = out_dir("dipaco-det-a"), b = out_dir("dipaco-det-b");
  ASSERT_EQ(run("run " + kTinyDipaco + " --threads 1 --out " + a.string()).rc, 0);
  ASSERT_EQ(run("run " + kTinyDipaco + " --threads 2 --out " + b.string()).rc, 0);
  const auto ma = slurp(a / "metrics.csv");
  ASSERT_FALSE(ma.empty());
  EXPECT_EQ(ma, slurp(b / "metrics.csv"));
}

TEST(EndToEnd, DipacoTimingOnlyScalesTo256Paths) {
  // 16x16 = 256 paths of tiny modules, timing only: the structure, placement and messages run end to end.
  const auto dir = out_dir("dipaco-16x16");
  const auto r = run("run " + kTinyDipaco + " --set training=off --set 'dipaco.levels=[{blocks: 1, modules: 16}, {blocks: 1, modules: 16}]'" +
                     " --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("256 paths, 33 modules"), std::string::npos) << r.output;
}

TEST(EndToEnd, ActorsKilledAtTheEndLeaveNoSimGridBacktrace) {
  // Workers still sending when the last phase closes are killed with their transfers in flight;
  // SimGrid's ~Comm warns with a backtrace if such a transfer is released then (sim/platform/transfer.hpp).
  for (const std::string trace : {"on", "off"}) {
    const auto dir = out_dir("killed-" + trace);
    const auto r = run("run " + kSource + "/scenarios/dipaco-16x16.yaml --set training=off --set trace=" + trace +
                       " --no-report --out " + dir.string());
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_EQ(r.output.find("Backtrace"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("freed before its completion"), std::string::npos) << r.output;
  }
}

TEST(EndToEnd, InspectPrintsStructurePlacementAndWritesGraphs) {
  const auto dir = out_dir("inspect");
  const auto r = run("inspect " + kTinyDipaco + " --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  for (const char* needle : {"4 paths, 5 modules", "L1.M1", "task 3", "bytes per phase on each WAN link", "wan "})
    EXPECT_NE(r.output.find(needle), std::string::npos) << needle << "\n" << r.output;
  EXPECT_NE(slurp(dir / "modules_paths.dot").find("path 3"), std::string::npos);
  EXPECT_NE(slurp(dir / "datacentres.dot").find("dc-a"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "metrics.csv"));
}

TEST(EndToEnd, DipacoWorkerPoolRunsTasksInTurnWithPerModuleInnerState) {
  const auto dir = out_dir("dipaco-pool");
  const auto r = run("run " + kTinyDipaco + " --set dipaco.workers=2 --set dipaco.inner_state=module --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("4 tasks on 2 workers"), std::string::npos) << r.output;
  const auto summary = slurp(dir / "summary.json");
  EXPECT_EQ(json_number(summary, "workers"), 2);
  EXPECT_LT(json_number(summary, "final_val_perplexity"), json_number(summary, "initial_val_perplexity"));
  // Per-task AdamW state needs one worker per task: a clear input error, not a silent memory blow-up.
  const auto bad = run("run " + kTinyDipaco + " --set dipaco.workers=2 --out " + out_dir("dipaco-pool-bad").string());
  EXPECT_EQ(bad.rc, 2) << bad.output;
  EXPECT_NE(bad.output.find("dipaco.inner_state"), std::string::npos) << bad.output;
}

TEST(EndToEnd, DipacoDiscriminativeRoutingReshardsAndEarlyStoppingKeepsBestCheckpoints) {
  const auto dir = out_dir("dipaco-em");
  const auto r = run("run " + kTinyDipaco + " --set dipaco.discriminative_after=1 --set dipaco.router_split_sequences=200" +
                     " --set dipaco.early_stopping_fraction=0.1 --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("discriminative routing after phase 1"), std::string::npos) << r.output;
  const auto summary = slurp(dir / "summary.json");
  EXPECT_GT(json_number(summary, "router_accuracy"), 0.25);  // better than chance over 4 paths
  EXPECT_GT(json_number(summary, "moved_fraction"), 0.0);
  EXPECT_GT(json_number(summary, "val_perplexity_early_stopped"), 0.0);
  // Checkpoints before the re-sharding are not comparable: the best phases are 2 or 3.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(summary, m, std::regex("\"early_stopping_best_phase\": \\[([0-9, ]+)\\]"))) << summary;
  for (char c : std::string(m[1])) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      EXPECT_TRUE(c == '2' || c == '3') << m[1];
    }
  }
  // Re-sharding changes the per-path shard sizes between phase 1 and phase 2 rows.
  const auto csv = slurp(dir / "metrics.csv");
  auto shard_of = [&](const std::string& phase, const std::string& path) {
    std::smatch row;
    std::regex_search(csv, row, std::regex("\n[0-9.]+," + phase + "," + path + ",([0-9]+),"));
    return row.size() > 1 ? std::stoll(row[1]) : -1;
  };
  EXPECT_NE(shard_of("1", "0"), shard_of("2", "0")) << csv;
  // Bad settings are input errors.
  const auto bad = run("run " + kTinyDipaco + " --set dipaco.discriminative_after=3 --out " + out_dir("dipaco-em-bad").string());
  EXPECT_EQ(bad.rc, 2) << bad.output;
  EXPECT_NE(bad.output.find("dipaco.discriminative_after"), std::string::npos) << bad.output;
}

TEST(EndToEnd, DipacoPeakMemoryGrowsWithModulesAndWorkersNotWithPaths) {
  // 16x16 = 256 paths on a pool of 4 workers against one dense path of the same size. The extra
  // memory must fit a budget of a few copies of the extra module parameters (store, momentum,
  // AdamW moments, snapshots, double running sums) plus a few paths per worker, which is far
  // below what 256 materialised paths with their AdamW state would take.
  const std::string flags = " --set algorithm.outer_steps=1 --set data.eval_sequences=16 --threads 2";
  const auto dense = out_dir("memory-dense"), mixture = out_dir("memory-16x16");
  const std::string scenario = kSource + "/tests/scenarios/memory-16x16.yaml";
  ASSERT_EQ(run("run " + scenario + flags + " --set 'dipaco.levels=[{blocks: 2, modules: 1}]' --out " + dense.string()).rc, 0);
  const auto r = run("run " + scenario + flags + " --out " + mixture.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto d = slurp(dense / "summary.json"), x = slurp(mixture / "summary.json");
  ASSERT_EQ(json_number(x, "paths"), 256);
  const double mb = 1024.0 * 1024.0;
  const double path_mb = json_number(x, "params_per_path") * 4 / mb;
  const double extra_modules_mb = (json_number(x, "total_params") - json_number(d, "total_params")) * 4 / mb;
  const double budget = 12 * extra_modules_mb + 8 * 4 * path_mb + 64;
  const double grew = json_number(x, "peak_rss_mb") - json_number(d, "peak_rss_mb");
  EXPECT_LT(grew, budget) << "extra modules " << extra_modules_mb << " MB, path " << path_mb << " MB";
  EXPECT_LT(budget, 256 * 3 * path_mb) << "the budget must be able to catch per-path copies";
}

// placement.workers: {count: N} spreads N workers over the datacentres, round the quota, in
// contiguous blocks; too many, or a map without count, is an input error.
TEST(EndToEnd, WorkerCountSpreadsOverTheDatacentres) {
  const std::string scale = kSource + "/scenarios/scale-1k.yaml";
  const std::string small = " --set placement.workers.count=8 --set algorithm.replicas_per_path=2 --set algorithm.outer_steps=1"
                            " --set 'dipaco.levels=[{blocks: 1, modules: 2},{blocks: 1, modules: 2}]' --no-report";
  const auto dir = out_dir("worker-count");
  const auto r = run("run " + scale + small + " --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto summary = slurp(dir / "summary.json");
  EXPECT_EQ(json_number(summary, "workers"), 8);
  // One worker in each of the eight datacentres.
  for (const char* dc : {"dc-asia-east", "dc-asia-south", "dc-eu-central", "dc-eu-west", "dc-oceania", "dc-us-central", "dc-us-east", "dc-us-west"})
    EXPECT_NE(summary.find(std::string("\"") + dc + "\": "), std::string::npos) << dc << "\n" << summary;
  EXPECT_GT(json_number(summary, "simulated_events"), 0);
  EXPECT_NE(slurp(dir / "scenario.yaml").find("workers: {count: 8}"), std::string::npos);

  const auto too_many = run("run " + scale + small + " --set placement.workers.count=20000 --out " + out_dir("worker-count-big").string());
  EXPECT_EQ(too_many.rc, 2) << too_many.output;
  EXPECT_NE(too_many.output.find("placement.workers.count"), std::string::npos) << too_many.output;
  const auto no_count = run("run " + scale + small + " --set 'placement.workers={n: 3}' --out " + out_dir("worker-count-bad").string());
  EXPECT_EQ(no_count.rc, 2) << no_count.output;
  EXPECT_NE(no_count.output.find("placement.workers"), std::string::npos) << no_count.output;
}
