// The subcommands of dipaco-sim, one file each (run_command.cpp also serves inspect). Each adds
// its options to the command line and runs once parsed, returning the process's exit code through
// exit_code() below, the one place that maps failures to exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "sim/scenario/scenario.hpp"
#include "sim/sweep/sweep_command.hpp"

namespace dipaco::app {

// Exit codes: 0 success, 1 the command failed, 2 bad input (a flag, scenario, platform or data
// file), with one line on stderr naming what was wrong.
inline int exit_code(const std::string& command, const std::function<int()>& body, const std::function<void()>& on_failure = {}) {
  try {
    return body();
  } catch (const sim::ScenarioError& e) {
    if (on_failure) on_failure();
    std::cerr << "dipaco-sim: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    if (on_failure) on_failure();
    std::cerr << "dipaco-sim: " << command << " failed: " << e.what() << "\n";
    return 1;
  }
}

struct RunCommand {  // run and inspect
  std::string scenario, out;
  std::vector<std::string> overrides, cfgs, logs;
  int threads = 1;
  bool no_report = false;
  CLI::App* run = nullptr;
  CLI::App* inspect = nullptr;
  void add(CLI::App& app);
  int operator()() const;
};

struct SweepCommand {
  sim::SweepArgs args;
  std::string scenario, out;
  int task = -1, repeat = 0, threads = 0;
  bool no_report = false;
  CLI::App* sweep = nullptr;
  void add(CLI::App& app);
  int operator()();
};

struct DataCommand {
  std::string scenario;
  std::vector<std::string> overrides;
  int threads = 1, samples = 3;
  CLI::App* data = nullptr;
  CLI::App* stats = nullptr;
  void add(CLI::App& app);
  int operator()() const;
};

struct CheckCommand {
  std::string run_dir;
  CLI::App* check = nullptr;
  void add(CLI::App& app);
  int operator()() const;
};

struct ReportCommand {
  std::vector<std::string> dirs;
  std::string out;
  CLI::App* report = nullptr;
  void add(CLI::App& app);
  int operator()() const;
};

}  // namespace dipaco::app
