// `sweep --executor slurm` under a real Slurm (issue 21): a one-node cluster on this machine
// (scripts/slurm_local.sh), the job array submitted with sbatch, and the collected sweep.csv equal
// to the local executor's. Skipped, with the reason, only where Slurm cannot start at all.
#include "e2e_support.hpp"

namespace {

const std::string kScenario = e2e::kSource + "/tests/scenarios/timing-1gbps.yaml";
const std::string kSlurmLocal = e2e::kSource + "/scripts/slurm_local.sh";

// The cluster's daemons live exactly as long as the test, whatever assertion ends it.
struct LocalSlurm {
  std::filesystem::path dir;
  e2e::Result started;
  explicit LocalSlurm(std::filesystem::path d) : dir(std::move(d)) { started = e2e::shell(kSlurmLocal + " start " + dir.string()); }
  ~LocalSlurm() {
    e2e::shell(kSlurmLocal + " stop " + dir.string());
    std::filesystem::remove_all(dir);
  }
  std::string env() const { return "SLURM_CONF=" + (dir / "slurm.conf").string() + " "; }
};

TEST(SlurmEndToEnd, AJobArraySubmittedWithSbatchGivesTheLocalSweepCsv) {
  const auto cluster_dir = e2e::out_dir("slurm-cluster");
  LocalSlurm slurm(cluster_dir);
  // 3: no Slurm on this machine, or not root. Anything else is a failure to diagnose.
  const auto& why = slurm.started.output;
  if (slurm.started.rc == 3 && (why.find("not found") != std::string::npos || why.find("needs root") != std::string::npos)) GTEST_SKIP() << why;
  ASSERT_EQ(slurm.started.rc, 0) << slurm.started.output << e2e::shell("tail -n 20 " + cluster_dir.string() + "/*.log").output;

  const auto local = e2e::out_dir("slurm-ref");
  const auto swept = e2e::out_dir("slurm-sweep");
  const std::string grid = " --grid algorithm.tau=10,20 --repeat 2 --no-report";
  const auto a = e2e::run("sweep " + kScenario + grid + " --out " + local.string());
  ASSERT_EQ(a.rc, 0) << a.output;
  const auto b = e2e::run("sweep " + kScenario + grid + " -j 2 --executor slurm --out " + swept.string());
  ASSERT_EQ(b.rc, 0) << b.output;

  // --wait returns when every array task has ended; its exit code is the worst task's.
  const auto sub = e2e::shell(slurm.env() + "timeout 300 sbatch --wait " + (swept / "sweep.slurm").string());
  ASSERT_EQ(sub.rc, 0) << sub.output << e2e::shell("cat " + swept.string() + "/runs/slurm-*.out").output;
  EXPECT_NE(sub.output.find("Submitted batch job"), std::string::npos) << sub.output;
  // Each array task wrote its own Slurm log: four tasks ran under the scheduler, not by hand.
  for (int task = 0; task < 4; ++task)
    EXPECT_TRUE(std::filesystem::exists(swept / "runs" / ("slurm-" + std::to_string(task) + ".out"))) << task;

  const auto c = e2e::run("sweep --out " + swept.string() + " --collect --no-report");
  ASSERT_EQ(c.rc, 0) << c.output;
  const auto ref = e2e::slurp(local / "sweep.csv");
  EXPECT_EQ(std::count(ref.begin(), ref.end(), '\n'), 5) << ref;
  EXPECT_EQ(e2e::without_real_seconds(e2e::slurp(swept / "sweep.csv")), e2e::without_real_seconds(ref));
  std::filesystem::remove_all(local);
  std::filesystem::remove_all(swept);
}

}  // namespace
