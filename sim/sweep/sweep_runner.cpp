#include "sim/sweep/sweep_runner.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

namespace dipaco::sim {

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) { g_stop = 1; }

using Clock = std::chrono::steady_clock;

struct Running {
  int index;
  Clock::time_point started;
};

// Starts `dipaco-sim run` for one point, its output going to the run directory's log.txt.
pid_t launch(const LaunchOptions& o, const SweepManifest& m, const SweepPoint& p, const std::filesystem::path& dir) {
  std::filesystem::remove_all(dir);  // a partial run from before starts over
  std::filesystem::create_directories(dir);
  std::vector<std::string> args{o.binary.string(), "run", m.spec.scenario.string()};
  for (const auto& s : p.overrides) args.insert(args.end(), {"--set", s});
  args.insert(args.end(), {"--out", dir.string(), "--threads", std::to_string(m.threads_per_run), "--no-report"});
  const std::string log = (dir / "log.txt").string();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // The child: default signal dispositions (a terminal's Ctrl-C reaches it too), output to the log.
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::close(fd);
  }
  ::execv(argv[0], argv.data());
  const std::string msg = fmt::format("dipaco-sim: error: cannot start {}: {}\n", argv[0], std::strerror(errno));
  [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, msg.data(), msg.size());
  ::_exit(127);
}

// The line of the log that says why a run failed: its error line, else its last line.
std::string error_line(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::string line, last, error;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.rfind("dipaco-sim: error:", 0) == 0 || line.rfind("dipaco-sim: run failed:", 0) == 0) error = line;
  }
  std::string out = error.empty() ? last : error;
  if (out.size() > 300) out = out.substr(0, 297) + "...";
  return out;
}

std::string duration(double s) {
  if (s < 0) return "?";
  const long t = std::lround(s);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

}  // namespace

SweepTally run_points(const std::filesystem::path& sweep_dir, const SweepManifest& m, const std::vector<int>& todo, bool skip_complete,
                      const LaunchOptions& o, std::ostream& out) {
  SweepTally tally;
  std::vector<int> queue;
  for (const int i : todo) {
    if (skip_complete && is_complete(run_dir(sweep_dir, m.points[i]))) ++tally.skipped;
    else queue.push_back(i);
  }
  if (tally.skipped > 0) out << fmt::format("sweep: {} runs already complete, skipped\n", tally.skipped) << std::flush;

  // No SA_RESTART: a signal should cut the polling sleep short.
  struct sigaction stop {}, old_int {}, old_term {};
  stop.sa_handler = on_stop_signal;
  sigemptyset(&stop.sa_mask);
  g_stop = 0;
  sigaction(SIGINT, &stop, &old_int);
  sigaction(SIGTERM, &stop, &old_term);

  const size_t total = queue.size();
  size_t next = 0;  // queue[next...] wait to start
  std::map<pid_t, Running> running;
  double finished_seconds = 0.0;
  int finished = 0;
  bool terminated = false;
  const auto bar = [&] {
    if (!o.progress_line) return;
    const size_t done = static_cast<size_t>(tally.ok + tally.failed + tally.interrupted);
    double eta = -1;
    if (finished > 0) {
      const double mean = finished_seconds / finished;
      double ahead = mean * static_cast<double>(queue.size() - next);
      for (const auto& [pid, r] : running) ahead += std::max(0.0, mean - std::chrono::duration<double>(Clock::now() - r.started).count());
      eta = ahead / o.jobs;
    }
    const int width = 24;
    const int filled = total ? static_cast<int>(width * done / total) : width;
    out << fmt::format("\r\x1b[Ksweep [{}{}] {}/{} done, {} failed, {} running, {} waiting, ETA {}", std::string(filled, '#'),
                       std::string(width - filled, '.'), done, total, tally.failed, running.size(), queue.size() - next, duration(eta))
        << std::flush;
  };

  while (next < queue.size() || !running.empty()) {
    if (g_stop && !terminated) {
      terminated = true;  // stop cleanly: no new runs; the running ones are told to end
      for (const auto& [pid, r] : running) ::kill(pid, SIGTERM);
      next = queue.size();
      if (o.progress_line) out << "\n";
      out << fmt::format("sweep: stopping: {} running runs terminated; rerun with --resume to finish\n", running.size());
    }
    while (!g_stop && next < queue.size() && running.size() < static_cast<size_t>(o.jobs)) {
      const int i = queue[next++];
      const pid_t pid = launch(o, m, m.points[i], run_dir(sweep_dir, m.points[i]));
      if (pid < 0) {
        write_status(run_dir(sweep_dir, m.points[i]), {"failed", 127, fmt::format("fork failed: {}", std::strerror(errno)), 0.0});
        ++tally.failed;
        continue;
      }
      running.emplace(pid, Running{i, Clock::now()});
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      bar();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const Running r = it->second;
    running.erase(it);
    const SweepPoint& p = m.points[r.index];
    const auto dir = run_dir(sweep_dir, p);
    RunStatus s;
    s.real_seconds = std::chrono::duration<double>(Clock::now() - r.started).count();
    s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (terminated) {
      s.status = "interrupted";
      s.error = "stopped by a signal to the sweep";
      ++tally.interrupted;
    } else if (s.exit_code == 0 && std::filesystem::exists(dir / "summary.json")) {
      s.status = "ok";
      ++tally.ok;
      finished_seconds += s.real_seconds;
      ++finished;
    } else {
      s.status = "failed";
      s.error = WIFSIGNALED(status) ? fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)))
                                    : error_line(dir / "log.txt");
      if (s.error.empty()) s.error = fmt::format("exit code {}", s.exit_code);
      ++tally.failed;
      finished_seconds += s.real_seconds;
      ++finished;
    }
    write_status(dir, s);
    if (o.progress_line) out << "\r\x1b[K";
    out << fmt::format("sweep: {} {} in {}{}\n", p.name, s.status, duration(s.real_seconds), s.error.empty() ? "" : ": " + s.error) << std::flush;
    bar();
  }
  if (o.progress_line) out << "\r\x1b[K" << std::flush;
  tally.stopped = g_stop != 0;
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return tally;
}

}  // namespace dipaco::sim
