// Every algorithm on the one task infrastructure: DiLoCo (and, where noted, sync) under
// preemptions, checkpoints, backup workers and link cuts; data.sharding; hosts checked before data.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "e2e_support.hpp"
#include "reports/ledger.hpp"

namespace {

using e2e::kSource;
using e2e::run;
using e2e::slurp;
const std::string kScenarios = kSource + "/tests/scenarios/";

double number(const std::string& json, const std::string& key) { return e2e::json_number(json, key); }
std::filesystem::path out_dir(const std::string& name) { return e2e::out_dir("algorithms-" + name); }

// DiLoCo, timing only, on four preemptible hosts of three continents; the outer optimiser (and
// the scheduler) on us-gpu0, which does not fail.
const std::string kDilocoFailing =
    "run " + kScenarios + "tiny-failures.yaml --set algorithm.name=diloco --set dipaco.inner_state=path"
    " --set placement.workers=[us-gpu1,eu-gpu1,asia-gpu1,asia-gpu2] --set algorithm.tau=100";

size_t count(const std::vector<dipaco::reports::LedgerRow>& rows, dipaco::reports::LedgerEvent e) {
  return static_cast<size_t>(std::count_if(rows.begin(), rows.end(), [e](const auto& r) { return r.event == e; }));
}

void expect_clean_ledger(const std::filesystem::path& dir) {
  const auto check = run("check " + dir.string());
  EXPECT_EQ(check.rc, 0) << check.output;
  EXPECT_NE(check.output.find(", 0 violations"), std::string::npos) << check.output;
}

}  // namespace

TEST(Algorithms, DilocoReplicasArePreemptedRedoneAndTheRunIsReproducible) {
  const auto a = out_dir("diloco-preempt-a"), b = out_dir("diloco-preempt-b"), calm = out_dir("diloco-preempt-calm");
  const auto ra = run(kDilocoFailing + " --out " + a.string());
  ASSERT_EQ(ra.rc, 0) << ra.output;
  ASSERT_EQ(run(kDilocoFailing + " --out " + b.string()).rc, 0);
  ASSERT_EQ(run(kDilocoFailing + " --set failures.preemption.mtbf_hours=inf --out " + calm.string()).rc, 0);
  EXPECT_EQ(slurp(a / "events.csv"), slurp(b / "events.csv"));
  EXPECT_EQ(slurp(a / "metrics.csv"), slurp(b / "metrics.csv"));
  expect_clean_ledger(a);
  const auto rows = dipaco::reports::parse_ledger_csv(slurp(a / "events.csv"));
  const auto summary = slurp(a / "summary.json");
  EXPECT_GT(count(rows, dipaco::reports::LedgerEvent::Lost), 0u);
  EXPECT_EQ(number(summary, "reexecutions"), static_cast<double>(count(rows, dipaco::reports::LedgerEvent::Lost)));
  EXPECT_GT(number(summary, "lost_compute_s"), 0.0);
  EXPECT_GT(number(summary, "host_down"), 0.0);  // failure_causes: the preempted workers
  EXPECT_EQ(number(summary, "link_down"), 0.0);
  // A replica's round is redone on its own host once it is back: the round waits, the run is slower.
  EXPECT_GT(number(summary, "simulated_wall_clock_s"), number(slurp(calm / "summary.json"), "simulated_wall_clock_s"));
  // Rounds are pushed to their own replica (static assignment); only a re-executed round may go to
  // another free worker.
  size_t dispatches = 0, at_home = 0;
  for (const auto& r : rows)
    if (r.event == dipaco::reports::LedgerEvent::Dispatch) {
      ++dispatches;
      at_home += r.task == r.worker ? 1 : 0;
      if (r.attempt == 1) EXPECT_EQ(r.task, r.worker) << "phase " << r.phase;
    }
  EXPECT_GT(at_home, dispatches / 2);
}

TEST(Algorithms, DilocoRunsWithCheckpointsAndABackupWorker) {
  const auto dir = out_dir("diloco-elastic");
  const auto r = run(kDilocoFailing +
                     " --set checkpoints.storage=us-gpu0 --set checkpoints.inner_every_steps=5"
                     " --set dipaco.backup_workers=[eu-gpu2] --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  expect_clean_ledger(dir);
  const auto summary = slurp(dir / "summary.json");
  EXPECT_GT(number(summary, "inner_checkpoints"), 0.0);
  EXPECT_GT(number(summary, "resumed_steps"), 0.0);
  EXPECT_GT(number(summary, "attempts_dispatched"), 0.0);  // the backup worker took a preempted replica's round
}

TEST(Algorithms, DilocoUploadsAreRetriedAcrossACutWanLink) {
  const auto dir = out_dir("diloco-cut"), calm = out_dir("diloco-uncut");
  // 12 rounds of DiLoCo last past the cut (25 s to 45 s).
  const std::string diloco = "run " + kScenarios + "tiny-link-cut.yaml --set algorithm.name=diloco --set algorithm.outer_steps=12";
  const auto r = run(diloco + " --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  ASSERT_EQ(run(diloco + " --set platform=../platforms/wan-1gbps.xml --out " + calm.string()).rc, 0);
  const auto summary = slurp(dir / "summary.json");
  EXPECT_GT(number(summary, "failed_attempts"), 0.0);
  EXPECT_GT(number(summary, "retries"), 0.0);
  EXPECT_GT(number(summary, "simulated_wall_clock_s"), number(slurp(calm / "summary.json"), "simulated_wall_clock_s"));
}

TEST(Algorithms, DomainShardingIsHonouredByEveryAlgorithm) {
  // The synthetic corpus interleaves its domains; 2 workers. i.i.d. shards hold every domain,
  // domain shards each hold half of them.
  for (const std::string algorithm : {"diloco", "sync"}) {
    int64_t iid = 0, domain = 0;
    for (const std::string sharding : {"iid", "domain"}) {
      const auto dir = out_dir(algorithm + "-" + sharding);
      const auto r = run("run " + kScenarios + "tiny-diloco.yaml --set algorithm.name=" + algorithm +
                         " --set algorithm.outer_steps=1 --set data.sharding=" + sharding + " --no-report --out " + dir.string());
      ASSERT_EQ(r.rc, 0) << r.output;
      const auto shards = nlohmann::json::parse(slurp(dir / "summary.json"))["shards"];
      EXPECT_EQ(shards["sharding"], sharding);
      ASSERT_EQ(shards["domains"].size(), 2u) << shards;
      (sharding == "iid" ? iid : domain) = shards["domains"][0].get<int64_t>() + shards["domains"][1].get<int64_t>();
    }
    EXPECT_GT(domain, 0) << algorithm;
    EXPECT_LT(domain, iid) << algorithm;
  }
}

TEST(Algorithms, MisspelledHostsFailBeforeAnyDataPreparation) {
  // The quickstart trains a SentencePiece tokenizer on a real corpus before anything else; with an
  // empty cache that takes minutes. A misspelled host must be reported first, in under 2 s.
  const auto cache = out_dir("host-cache");
  for (const std::string set : {"dipaco.executors=nowhere", "dipaco.backup_workers=[nowhere]",
                                "checkpoints.storage=nowhere --set checkpoints.module_every_phases=1"}) {
    const auto started = std::chrono::steady_clock::now();
    const auto r = run("run " + kSource + "/scenarios/quickstart.yaml --set data.cache_dir=" + cache.string() + " --set " + set +
                       " --out " + out_dir("host").string());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(r.rc, 2) << set << "\n" << r.output;
    EXPECT_NE(r.output.find("'nowhere'"), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << set << "\n" << r.output;
    EXPECT_LT(seconds, 2.0) << set;
    EXPECT_FALSE(std::filesystem::exists(cache)) << "data was prepared before the host was checked: " << set;
  }
}

TEST(Algorithms, SyncRanksArePreemptedTheRingStallsAndResumes) {
  // Synchronous DP on the same four preemptible hosts; a preempted rank's worker comes back (or a
  // backup takes the rank), redoes its step and the ring goes on where it stopped.
  const std::string sync = "run " + kScenarios + "tiny-failures.yaml --set algorithm.name=sync"
                           " --set placement.workers=[us-gpu1,eu-gpu1,asia-gpu1,asia-gpu2] --set algorithm.tau=100";
  const auto a = out_dir("sync-preempt-a"), b = out_dir("sync-preempt-b"), calm = out_dir("sync-preempt-calm"),
             backup = out_dir("sync-preempt-backup");
  const auto ra = run(sync + " --out " + a.string());
  ASSERT_EQ(ra.rc, 0) << ra.output;
  ASSERT_EQ(run(sync + " --out " + b.string()).rc, 0);
  ASSERT_EQ(run(sync + " --set failures.preemption.mtbf_hours=inf --out " + calm.string()).rc, 0);
  EXPECT_EQ(slurp(a / "metrics.csv"), slurp(b / "metrics.csv"));
  const auto summary = slurp(a / "summary.json");
  EXPECT_GT(number(summary, "reexecutions"), 0.0);
  EXPECT_GT(number(summary, "lost_compute_s"), 0.0);
  EXPECT_GT(number(summary, "simulated_wall_clock_s"), number(slurp(calm / "summary.json"), "simulated_wall_clock_s"));
  // The ring moves the same bytes per step whatever happened: only the failed messages more.
  EXPECT_GE(number(summary, "total_bytes"), number(slurp(calm / "summary.json"), "total_bytes"));
  const auto rb = run(sync + " --set dipaco.backup_workers=[eu-gpu2] --out " + backup.string());
  ASSERT_EQ(rb.rc, 0) << rb.output;
  EXPECT_GT(number(slurp(backup / "summary.json"), "attempts_dispatched"), 0.0);
  EXPECT_LT(number(slurp(backup / "summary.json"), "simulated_wall_clock_s"), number(summary, "simulated_wall_clock_s"));
}

TEST(Algorithms, SyncWithCheckpointsRollsEveryRankBackToTheLastOne) {
  // With checkpoints the ring restarts from the last one, as a torchrun job does: every preemption
  // undoes every rank's steps since, where without them only the preempted rank's step is redone.
  const std::string sync = "run " + kScenarios + "tiny-failures.yaml --set algorithm.name=sync --set trace=off"
                           " --set placement.workers=[us-gpu1,eu-gpu1,asia-gpu1,asia-gpu2] --set algorithm.tau=100 --no-report";
  const std::string saved = sync + " --set checkpoints.storage=us-gpu0 --set checkpoints.inner_every_steps=";
  const auto resume = out_dir("sync-resume"), a = out_dir("sync-rollback-a"), b = out_dir("sync-rollback-b"),
             often = out_dir("sync-rollback-often"), calm = out_dir("sync-rollback-calm");
  ASSERT_EQ(run(sync + " --out " + resume.string()).rc, 0);
  const auto ra = run(saved + "50 --out " + a.string());
  ASSERT_EQ(ra.rc, 0) << ra.output;
  ASSERT_EQ(run(saved + "50 --out " + b.string()).rc, 0);
  ASSERT_EQ(run(saved + "10 --out " + often.string()).rc, 0);
  ASSERT_EQ(run(saved + "50 --set failures.preemption.mtbf_hours=inf --out " + calm.string()).rc, 0);
  EXPECT_EQ(slurp(a / "metrics.csv"), slurp(b / "metrics.csv"));
  const auto summary = slurp(a / "summary.json");
  // One rollback per rank lost (two deaths seen at the same heartbeat make one).
  EXPECT_GT(number(summary, "ring_rollbacks"), 0.0);
  EXPECT_LE(number(summary, "ring_rollbacks"), number(summary, "reexecutions"));
  EXPECT_GT(number(summary, "ring_steps_undone"), number(summary, "ring_rollbacks"));
  EXPECT_GT(number(summary, "lost_compute_s"), 10 * number(slurp(resume / "summary.json"), "lost_compute_s"));
  EXPECT_GT(number(summary, "simulated_wall_clock_s"), number(slurp(resume / "summary.json"), "simulated_wall_clock_s"));
  // Checkpoints every 10 steps lose less than every 50; each is 3 × 600 MB from rank 0 (us-gpu1) to
  // us-gpu0 (within a datacentre), after steps 50, 100, ..., 550 of 600 when nothing fails.
  EXPECT_LT(number(slurp(often / "summary.json"), "lost_compute_s"), number(summary, "lost_compute_s"));
  const auto quiet = slurp(calm / "summary.json");
  EXPECT_EQ(number(quiet, "inner_checkpoints"), 11.0);
  EXPECT_EQ(number(quiet, "ring_rollbacks"), 0.0);
  EXPECT_EQ(number(quiet, "wan_bytes"), 1.62e12);
  EXPECT_EQ(number(quiet, "total_bytes"), 2.16e12 + 11 * 3 * 6e8);
}

TEST(Algorithms, ASyncRollbackCostsTimeButTrainsTheSameModel) {
  // Trained: dc-b (rank 1) is down from 1.8 s for 3.6 s, so the ring rolls back to step 15. The
  // redone steps compute the same gradients on the same batches: every loss is the calm run's.
  const std::string sync = "run " + kScenarios + "tiny-diloco.yaml --set algorithm.name=sync --set trace=off --no-report";
  const auto calm = out_dir("sync-trained-calm"), rolled = out_dir("sync-trained-rollback");
  ASSERT_EQ(run(sync + " --out " + calm.string()).rc, 0);
  const auto r = run(sync + " --set checkpoints.storage=a0 --set checkpoints.inner_every_steps=15"
                     " --set 'failures.outages=[{datacentre: dc-b, at_hours: 0.0005, for_hours: 0.001}]' --out " + rolled.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_EQ(number(slurp(rolled / "summary.json"), "ring_rollbacks"), 1.0);
  const auto losses = [](const std::string& csv) {  // the loss and perplexity columns of every row
    std::string out;
    std::istringstream in(csv);
    for (std::string line; std::getline(in, line);) {
      size_t at = 0;
      for (int comma = 0; comma < 6; ++comma) at = line.find(',', at) + 1;
      out += line.substr(at, line.rfind(',') - at) + "\n";
    }
    return out;
  };
  EXPECT_EQ(losses(slurp(rolled / "metrics.csv")), losses(slurp(calm / "metrics.csv")));
  EXPECT_GT(number(slurp(rolled / "summary.json"), "simulated_wall_clock_s"), number(slurp(calm / "summary.json"), "simulated_wall_clock_s"));
}

TEST(Algorithms, SyncRingMessagesAreRetriedAcrossACutWanLink) {
  const auto dir = out_dir("sync-cut"), calm = out_dir("sync-uncut");
  const std::string sync = "run " + kScenarios + "tiny-link-cut.yaml --set algorithm.name=sync";
  const auto r = run(sync + " --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  ASSERT_EQ(run(sync + " --set platform=../platforms/wan-1gbps.xml --out " + calm.string()).rc, 0);
  const auto summary = slurp(dir / "summary.json");
  EXPECT_GT(number(summary, "retries"), 0.0);
  EXPECT_GT(number(summary, "simulated_wall_clock_s"), number(slurp(calm / "summary.json"), "simulated_wall_clock_s"));
  // With checkpoints (rollback recovery) a cut link is still only retried: no rank is lost.
  const auto saved = out_dir("sync-cut-saved");
  const auto rs = run(sync + " --set checkpoints.storage=a0 --set checkpoints.inner_every_steps=5 --out " + saved.string());
  ASSERT_EQ(rs.rc, 0) << rs.output;
  EXPECT_GT(number(slurp(saved / "summary.json"), "retries"), 0.0);
  EXPECT_EQ(number(slurp(saved / "summary.json"), "ring_rollbacks"), 0.0);
}

TEST(Algorithms, InspectShowsEveryAlgorithmsPlacementAndWanBytes) {
  // tiny-diloco: a1 and b1 in two datacentres, the outer optimiser on a0. DiLoCo: the one module
  // on a0 and back from b1 across the WAN each round; sync: the ring a1 -> b1 -> a1, τ = 20 steps.
  for (const std::string algorithm : {"diloco", "sync", "dipaco"}) {
    const auto dir = out_dir("inspect-" + algorithm);
    const auto r = run("inspect " + kScenarios + "tiny-diloco.yaml --set algorithm.name=" + algorithm +
                       (algorithm == "dipaco" ? " --set algorithm.replicas_per_path=2" : "") + " --out " + dir.string());
    ASSERT_EQ(r.rc, 0) << algorithm << "\n" << r.output;
    EXPECT_NE(r.output.find(algorithm == "dipaco" ? "1 paths, 2 modules, 2 tasks" : "1 paths, 1 modules, 2 tasks"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find(algorithm == "sync" ? "(ring)" : "a0"), std::string::npos) << r.output;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.output, m, std::regex("bytes per phase on each WAN link:\n  \\S+ +([0-9.e+]+)"))) << r.output;
    EXPECT_GT(std::stod(m[1]), 0.0) << algorithm << "\n" << r.output;
    EXPECT_TRUE(std::filesystem::exists(dir / "datacentres.dot"));
  }
}

TEST(Algorithms, SyncFinishesUnderTenRandomFailureSchedules) {
  // Ranks die mid-ring at random points, with and without a backup worker; every run must reach
  // its last step (a lost or double-counted ring message would stall it for ever).
  // The same with checkpoints every 20 steps: ranks abandon their steps at rollbacks, and
  // messages of an older generation are dropped.
  for (const std::string recovery : {"", " --set checkpoints.storage=us-gpu0 --set checkpoints.inner_every_steps=20"}) {
    double reexecutions = 0.0;
    for (int seed = 1; seed <= 10; ++seed) {
      const auto dir = out_dir("sync-random");
      const auto r = run("run " + kScenarios + "tiny-failures.yaml --set algorithm.name=sync --set algorithm.tau=50 --set trace=off"
                         " --set placement.workers=[us-gpu1,eu-gpu1,asia-gpu1,asia-gpu2] --set failures.seed=" + std::to_string(seed) +
                         (seed % 2 ? " --set dipaco.backup_workers=[eu-gpu2]" : "") + recovery + " --no-report --out " + dir.string());
      ASSERT_EQ(r.rc, 0) << "seed " << seed << recovery << "\n" << r.output;
      reexecutions += number(slurp(dir / "summary.json"), "reexecutions");
    }
    EXPECT_GT(reexecutions, 10.0) << recovery;  // the failures did hit the ring
  }
}

TEST(Algorithms, ADilocoReplicaPreemptedAfterItsUploadTakesTheNextRoundWhenBack) {
  // us-gpu1 is down from 407 s to 408 s: after its round-1 upload arrived (405.94 s), before the
  // round closed (409.86 s). Its new life must get round 2 with the others: the run keeps the
  // failure-free timing. (It used to wait for its lease's phase to close and never be pushed.)
  const auto dir = out_dir("diloco-after-upload"), calm = out_dir("diloco-after-upload-calm");
  const std::string diloco = kDilocoFailing + " --set failures.preemption.mtbf_hours=inf";
  const auto r = run(diloco + " --set 'failures.traces=[{host: us-gpu1, file: traces/us-gpu1-down-after-upload.txt}]' --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  ASSERT_EQ(run(diloco + " --out " + calm.string()).rc, 0);
  const auto summary = slurp(dir / "summary.json");
  EXPECT_EQ(number(summary, "host_down"), 1.0);
  EXPECT_EQ(number(summary, "reexecutions"), 0.0);  // its round was in: nothing to redo
  const double calm_wall = number(slurp(calm / "summary.json"), "simulated_wall_clock_s");
  EXPECT_NEAR(number(summary, "simulated_wall_clock_s"), calm_wall, 1e-6 * calm_wall);  // its request shares a link
  expect_clean_ledger(dir);
}

TEST(Algorithms, ASyncRankDownForGoodEndsTheRunWithAClearErrorNotAHang) {
  // asia-east goes down for good at 0.1 h with two ranks and no backup: the ring can never move
  // again. After failures.stall_hours of simulated time the run ends (rc 1, partial metrics).
  const auto dir = out_dir("sync-dead-rank");
  const auto r = run("run " + kScenarios + "tiny-failures.yaml --set algorithm.name=sync --set failures.preemption.mtbf_hours=inf"
                     " --set placement.workers=[us-gpu1,eu-gpu1,asia-gpu1,asia-gpu2] --set trace=off"
                     " --set 'failures.outages=[{datacentre: asia-east, at_hours: 0.1, for_hours: inf}]' --no-report --out " + dir.string());
  EXPECT_EQ(r.rc, 1) << r.output;
  EXPECT_NE(r.output.find("no progress at step"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("failures.stall_hours is 24"), std::string::npos) << r.output;
  EXPECT_NE(slurp(dir / "summary.json").find("\"error\""), std::string::npos);
  EXPECT_EQ(number(slurp(dir / "summary.json"), "timeout"), 1.0);  // failure_causes
}
