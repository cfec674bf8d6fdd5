// `dipaco-sim sweep` as a user runs it: the local executor, a failing run, bad grids, a sweep
// killed mid-run and resumed, and the Slurm script run by hand giving the same sweep.csv.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "e2e_support.hpp"

namespace {

const std::string kScenario = e2e::kSource + "/tests/scenarios/timing-1gbps.yaml";

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// Starts dipaco-sim with `args` in its own process group (so that a kill reaches its runs too),
// its output discarded.
pid_t spawn(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    std::vector<char*> argv{const_cast<char*>(DIPACO_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(DIPACO_BINARY, argv.data());
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

// Kills the group with SIGKILL after `delay_ms`, unless it finished first; true if it was killed.
bool kill_after(const std::vector<std::string>& args, int delay_ms) {
  const pid_t pid = spawn(args);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
  int status = 0;
  while (std::chrono::steady_clock::now() < until) {
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(-pid, SIGKILL);
  waitpid(pid, &status, 0);
  return true;
}

TEST(SweepEndToEnd, RunsTheGridAndWritesOneRowPerRun) {
  const auto dir = e2e::out_dir("sweep-local");
  const auto r = e2e::run("sweep " + kScenario + " --grid algorithm.tau=10,20 --grid network.wan_bandwidth_scale=0.5,1 -j 2 --no-report --out " +
                          dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("4 runs (algorithm.tau x2, network.wan_bandwidth_scale x2), 2 at a time"), std::string::npos) << r.output;
  const auto csv = e2e::slurp(dir / "sweep.csv");
  EXPECT_EQ(count_lines(csv), 5) << csv;
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "run,algorithm.tau,network.wan_bandwidth_scale,seed,status,final_val_perplexity,simulated_wall_clock_s,wan_bytes,lost_compute_s,"
            "time_to_target_s,real_seconds,error");
  EXPECT_NE(csv.find("\n000-tau=10-wan_bandwidth_scale=0.5-seed=1,10,0.5,1,ok,,"), std::string::npos) << csv;
  // Half the WAN bandwidth makes the same run slower in simulated time.
  const double slow = e2e::json_number(e2e::slurp(dir / "runs/000-tau=10-wan_bandwidth_scale=0.5-seed=1/summary.json"), "simulated_wall_clock_s");
  const double fast = e2e::json_number(e2e::slurp(dir / "runs/001-tau=10-wan_bandwidth_scale=1-seed=1/summary.json"), "simulated_wall_clock_s");
  EXPECT_GT(slow, fast);
  EXPECT_TRUE(std::filesystem::exists(dir / "runs/003-tau=20-wan_bandwidth_scale=1-seed=1/status.json"));
  // A finished sweep is not run over by accident.
  const auto again = e2e::run("sweep " + kScenario + " --grid algorithm.tau=10,20 --no-report --out " + dir.string());
  EXPECT_EQ(again.rc, 2) << again.output;
  EXPECT_NE(again.output.find("already holds a sweep; add --resume"), std::string::npos) << again.output;
  std::filesystem::remove_all(dir);
}

TEST(SweepEndToEnd, RepeatedSeedsAreSummarisedPerGridPoint) {
  // Timing-only DiPaCo with preemptions: each seed draws other failures, so the wall-clock varies.
  const auto dir = e2e::out_dir("sweep-points");
  const auto r = e2e::run("sweep " + e2e::kSource + "/tests/scenarios/tiny-failures.yaml --set algorithm.outer_steps=2 "
                          "--grid failures.preemption.mtbf_hours=0.3,1000 --repeat 3 -j 2 --no-report --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  // The wall-clocks of the three seeds of the first point, from sweep.csv (column 6 of run,
  // mtbf_hours, seed, status, final_val_perplexity, simulated_wall_clock_s).
  std::stringstream runs(e2e::slurp(dir / "sweep.csv"));
  std::string line;
  std::getline(runs, line);
  std::vector<double> wall;
  while (std::getline(runs, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
    if (f[1] == "0.3") wall.push_back(std::stod(f[5]));
  }
  ASSERT_EQ(wall.size(), 3u);
  const double mean = (wall[0] + wall[1] + wall[2]) / 3;
  double ss = 0;
  for (double w : wall) ss += (w - mean) * (w - mean);
  const double sd = std::sqrt(ss / 2), ci = 4.30265 * sd / std::sqrt(3.0);
  EXPECT_GT(sd, 0.0);
  const auto points = e2e::slurp(dir / "sweep_points.csv");
  EXPECT_EQ(count_lines(points), 3) << points;
  EXPECT_EQ(points.rfind("failures.preemption.mtbf_hours,runs,ok,final_val_perplexity_n,final_val_perplexity_mean,"
                         "final_val_perplexity_sd,final_val_perplexity_ci95,simulated_wall_clock_s_n,", 0), 0u) << points;
  // Row: 0.3,3,3, then final_val_perplexity (no value: timing only) n=0, then the wall-clock's n, mean, sd, ci95.
  std::stringstream rows(points);
  std::getline(rows, line);
  std::getline(rows, line);
  std::vector<std::string> f;
  std::stringstream ls(line);
  for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
  ASSERT_GE(f.size(), 11u) << line;
  EXPECT_EQ(f[0], "0.3");
  EXPECT_EQ(f[1], "3");
  EXPECT_EQ(f[2], "3");
  EXPECT_EQ(f[3], "0");  // final_val_perplexity_n
  EXPECT_EQ(f[7], "3");  // simulated_wall_clock_s_n
  EXPECT_NEAR(std::stod(f[8]), mean, 1e-9 * mean);
  EXPECT_NEAR(std::stod(f[9]), sd, 1e-6 * sd);
  EXPECT_NEAR(std::stod(f[10]), ci, 1e-5 * ci);
  std::filesystem::remove_all(dir);
}

TEST(SweepEndToEnd, RunAndSweepWriteTheirReportUnlessToldNot) {
  const auto dir = e2e::out_dir("sweep-report");
  const auto r = e2e::run("sweep " + kScenario + " --grid algorithm.tau=10,20 --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("report: " + (dir / "report/index.html").string()), std::string::npos) << r.output;
  const auto html = e2e::slurp(dir / "report/index.html");
  size_t rows = 0;
  for (size_t at = html.find("<tr class=\"run"); at != std::string::npos; at = html.find("<tr class=\"run", at + 1)) ++rows;
  EXPECT_EQ(rows, 2u);
  EXPECT_FALSE(std::filesystem::exists(dir / "runs/000-tau=10-seed=1/report"));  // the runs of a sweep: one report for all
  const auto one = e2e::run("run " + kScenario + " --out " + (dir / "single").string());
  ASSERT_EQ(one.rc, 0) << one.output;
  EXPECT_NE(one.output.find("report: " + (dir / "single/report/index.html").string()), std::string::npos) << one.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "single/report/wan-vs-time.svg"));
  ASSERT_EQ(e2e::run("run " + kScenario + " --no-report --out " + (dir / "bare").string()).rc, 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "bare/report"));
  std::filesystem::remove_all(dir);
}

TEST(SweepEndToEnd, AFailingRunDoesNotStopTheSweepAndItsErrorIsInTheTable) {
  const auto dir = e2e::out_dir("sweep-failing");
  const auto r = e2e::run("sweep " + kScenario + " --grid placement.outer=a3,nohost,a2 --no-report --out " + dir.string());
  EXPECT_EQ(r.rc, 1) << r.output;
  const auto csv = e2e::slurp(dir / "sweep.csv");
  EXPECT_NE(csv.find("000-outer=a3-seed=1,a3,1,ok,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("001-outer=nohost-seed=1,nohost,1,failed,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("host 'nohost' is not in the platform"), std::string::npos) << csv;
  EXPECT_NE(csv.find("002-outer=a2-seed=1,a2,1,ok,"), std::string::npos) << csv;
  EXPECT_NE(r.output.find("failed: 001-outer=nohost-seed=1: dipaco-sim: error:"), std::string::npos) << r.output;
  std::filesystem::remove_all(dir);
}

TEST(SweepEndToEnd, BadGridsGetOneLineErrorsAndExitCodeTwo) {
  const struct {
    std::string args, message;
  } cases[] = {
      {"--grid algorithm.tua=1,2", "sweep grid point 0 (algorithm.tua=1): " + kScenario + " (--set): unknown key 'algorithm.tua'"},
      {"--grid algorithm.tau=10,-1", "sweep grid point 1 (algorithm.tau=-1)"},
      {"--grid algorithm.tau", "--grid 'algorithm.tau': expected key=value1,value2"},
      {"--grid algorithm.tau=1 --grid algorithm.tau=2", "--grid algorithm.tau: the key is given twice"},
      {"--grid algorithm.tau=10 --executor pbs", "--executor pbs: unknown (choose local or slurm)"},
  };
  for (const auto& c : cases) {
    const auto dir = e2e::out_dir("sweep-bad");
    const auto r = e2e::run("sweep " + kScenario + " " + c.args + " --out " + dir.string());
    EXPECT_EQ(r.rc, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_EQ(count_lines(r.output), 1) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir / "sweep.json"));
    std::filesystem::remove_all(dir);
  }
}

// Kills the whole sweep (driver and runs, as a crash or an OOM kill would) once a run has
// completed, then resumes: completed runs are kept as they are, the rest run again.
TEST(SweepEndToEnd, ResumeAfterAKilledSweepRerunsOnlyTheUnfinishedRuns) {
  const auto dir = e2e::out_dir("sweep-killed");
  const pid_t pid = spawn({"sweep", kScenario, "--grid", "algorithm.tau=5,10,15,20,25,30", "--no-report", "--out", dir.string()});
  const auto first = dir / "runs/000-tau=5-seed=1/status.json";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(first) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(-pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(std::filesystem::exists(first));
  const std::string first_status = e2e::slurp(first);
  struct stat before {};
  ASSERT_EQ(::stat(first.c_str(), &before), 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "runs/005-tau=30-seed=1/status.json"));
  EXPECT_FALSE(std::filesystem::exists(dir / "sweep.csv"));

  const auto r = e2e::run("sweep " + kScenario + " --grid algorithm.tau=5,10,15,20,25,30 --no-report --resume --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("runs already complete, skipped"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("000-tau=5-seed=1 ok"), std::string::npos) << r.output;  // not run again
  struct stat after {};
  ASSERT_EQ(::stat(first.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(e2e::slurp(first), first_status);
  const auto csv = e2e::slurp(dir / "sweep.csv");
  EXPECT_EQ(count_lines(csv), 7) << csv;
  EXPECT_EQ(csv.find(",incomplete,"), std::string::npos) << csv;
  EXPECT_EQ(csv.find(",pending,"), std::string::npos) << csv;
  // A different grid in the same folder is refused.
  const auto other = e2e::run("sweep " + kScenario + " --grid algorithm.tau=5,10 --no-report --resume --out " + dir.string());
  EXPECT_EQ(other.rc, 2) << other.output;
  EXPECT_NE(other.output.find("holds a different sweep"), std::string::npos) << other.output;
  std::filesystem::remove_all(dir);
}

// Every output file under `dir` is whole: JSON parses, a CSV ends with a newline and (metrics,
// updates, events) has the header's number of fields on every line. Temporaries of writes cut
// short (name.tmp.PID) are not outputs: the next write of the same file replaces them.
void expect_whole(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir)) return;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const auto name = e.path().filename().string();
    if (name.find(".tmp.") != std::string::npos) continue;
    const auto text = e2e::slurp(e.path());
    if (e.path().extension() == ".json") {
      EXPECT_TRUE(nlohmann::json::accept(text)) << e.path();
    } else if (e.path().extension() == ".csv") {
      ASSERT_FALSE(text.empty()) << e.path();
      EXPECT_EQ(text.back(), '\n') << e.path();
      if (name == "metrics.csv" || name == "updates.csv" || name == "events.csv") {
        std::stringstream in(text);
        std::string line;
        std::getline(in, line);
        const auto fields = std::count(line.begin(), line.end(), ',');
        while (std::getline(in, line)) EXPECT_EQ(std::count(line.begin(), line.end(), ','), fields) << e.path() << ": " << line;
      }
    }
  }
}

// Kill -9 at seeded random points: a run, then a sweep again and again; nothing is ever left
// half-written, and --resume then completes the sweep with the table an unbroken sweep writes.
TEST(SweepEndToEnd, KilledAtRandomPointsNothingIsHalfWrittenAndResumeCompletesTheSweep) {
  std::mt19937 rng(20);
  std::uniform_int_distribution<int> delay(10, 900);
  const auto run_dir = e2e::out_dir("killed-run");
  for (int i = 0; i < 4; ++i) {
    kill_after({"run", e2e::kSource + "/tests/scenarios/tiny-diloco.yaml", "--no-report", "--out", run_dir.string()}, delay(rng));
    expect_whole(run_dir);
  }
  std::filesystem::remove_all(run_dir);

  const std::vector<std::string> grid{"--grid", "algorithm.tau=5,10,15,20,25,30", "--no-report"};
  const auto clean = e2e::out_dir("sweep-unbroken");
  ASSERT_EQ(e2e::run("sweep " + kScenario + " " + grid[0] + " " + grid[1] + " --no-report --out " + clean.string()).rc, 0);
  const auto dir = e2e::out_dir("sweep-killed-randomly");
  int killed = 0;
  for (int i = 0; i < 5; ++i) {
    std::vector<std::string> args{"sweep", kScenario};
    args.insert(args.end(), grid.begin(), grid.end());
    if (i > 0) args.push_back("--resume");
    args.insert(args.end(), {"--out", dir.string()});
    // The first kill comes early, so that at least one lands mid-sweep however fast the machine is
    // (later ones may find a sweep that has already finished).
    const int after = delay(rng);
    killed += kill_after(args, i == 0 ? std::min(after, 50) : after) ? 1 : 0;
    expect_whole(dir);
  }
  EXPECT_GT(killed, 0);
  const auto r = e2e::run("sweep " + kScenario + " " + grid[0] + " " + grid[1] + " --no-report --resume --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_EQ(e2e::without_real_seconds(e2e::slurp(dir / "sweep.csv")), e2e::without_real_seconds(e2e::slurp(clean / "sweep.csv")));
  expect_whole(dir);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(clean);
}

TEST(SweepEndToEnd, SigintStopsCleanlyAndResumeFinishes) {
  const auto dir = e2e::out_dir("sweep-sigint");
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    execl(DIPACO_BINARY, DIPACO_BINARY, "sweep", kScenario.c_str(), "--grid", "algorithm.tau=5,10,15,20,25,30", "--no-report", "--out",
          dir.string().c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto first = dir / "runs/000-tau=5-seed=1/status.json";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(first) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  // The table is written, with every run that did not finish marked as such.
  const auto csv = e2e::slurp(dir / "sweep.csv");
  EXPECT_EQ(count_lines(csv), 7) << csv;
  EXPECT_NE(csv.find("000-tau=5-seed=1,5,1,ok,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",pending,"), std::string::npos) << csv;
  const auto r = e2e::run("sweep " + kScenario + " --grid algorithm.tau=5,10,15,20,25,30 --no-report --resume --out " + dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  std::filesystem::remove_all(dir);
}

TEST(SweepEndToEnd, SlurmScriptTasksRunByHandGiveTheLocalSweepCsv) {
  const auto local = e2e::out_dir("sweep-ref");
  const auto slurm = e2e::out_dir("sweep-slurm");
  const std::string grid = " --grid algorithm.tau=10,20 --repeat 2 --no-report";
  const auto a = e2e::run("sweep " + kScenario + grid + " --out " + local.string());
  ASSERT_EQ(a.rc, 0) << a.output;
  const auto b = e2e::run("sweep " + kScenario + grid + " -j 2 --executor slurm --out " + slurm.string());
  ASSERT_EQ(b.rc, 0) << b.output;
  EXPECT_NE(b.output.find("submit with: sbatch " + (slurm / "sweep.slurm").string()), std::string::npos) << b.output;
  const auto script = e2e::slurp(slurm / "sweep.slurm");
  EXPECT_EQ(script.rfind("#!/bin/bash\n", 0), 0u) << script;
  EXPECT_NE(script.find("#SBATCH --array=0-3%2\n"), std::string::npos) << script;
  EXPECT_NE(script.find("#SBATCH --cpus-per-task="), std::string::npos) << script;
  EXPECT_NE(script.find("#SBATCH --output=" + std::filesystem::absolute(slurm).string() + "/runs/slurm-%a.out\n"), std::string::npos) << script;
  EXPECT_NE(script.find("exec '" + std::filesystem::canonical(DIPACO_BINARY).string() + "' sweep --out '" +
                        std::filesystem::absolute(slurm).string() + "' --task \"${SLURM_ARRAY_TASK_ID:?"),
            std::string::npos)
      << script;
  EXPECT_FALSE(std::filesystem::exists(slurm / "runs/000-tau=10-seed=1"));  // nothing ran
  // Without a task id the script refuses to run.
  EXPECT_NE(e2e::run("--version >/dev/null; bash " + (slurm / "sweep.slurm").string()).rc, 0);
  // The array tasks, by hand, in reverse order; one of them twice (a resubmitted array).
  for (const int task : {3, 2, 1, 0, 2}) {
    const std::string cmd = "SLURM_ARRAY_TASK_ID=" + std::to_string(task) + " bash " + (slurm / "sweep.slurm").string() + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string output;
    char buf[512];
    while (fgets(buf, sizeof buf, p) != nullptr) output += buf;
    EXPECT_EQ(pclose(p), 0) << output;
  }
  const auto c = e2e::run("sweep --out " + slurm.string() + " --collect --no-report");
  ASSERT_EQ(c.rc, 0) << c.output;
  const auto ref = e2e::slurp(local / "sweep.csv");
  EXPECT_EQ(count_lines(ref), 5) << ref;
  EXPECT_EQ(e2e::without_real_seconds(e2e::slurp(slurm / "sweep.csv")), e2e::without_real_seconds(ref));
  // Every run directory holds the same metrics as its local twin.
  EXPECT_EQ(e2e::slurp(slurm / "runs/003-tau=20-seed=2/metrics.csv"), e2e::slurp(local / "runs/003-tau=20-seed=2/metrics.csv"));
  std::filesystem::remove_all(local);
  std::filesystem::remove_all(slurm);
}

}  // namespace
