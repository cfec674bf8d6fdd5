// `dipaco-sim check RUN_DIR`: the ledger's exactly-once invariants (reports/ledger.hpp).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "reports/ledger.hpp"
#include "sim/app/commands.hpp"

namespace dipaco::app {

void CheckCommand::add(CLI::App& app) {
  check = app.add_subcommand("check", "Verify a DiLoCo or DiPaCo run's events.csv: every module update counts each accepted contribution once");
  check->add_option("run_dir", run_dir, "Run directory holding events.csv and scenario.yaml")->required();
}

int CheckCommand::operator()() const {
  const std::filesystem::path dir(run_dir);
  return exit_code("check", [&] {
    std::ifstream events(dir / "events.csv"), scenario(dir / "scenario.yaml");
    if (!events || !scenario)
      throw sim::ScenarioError(dir.string() + ": no events.csv and scenario.yaml (give the directory of a diloco or dipaco run)");
    std::stringstream text, yaml;
    text << events.rdbuf();
    yaml << scenario.rdbuf();
    std::vector<reports::LedgerRow> rows;
    bool wait_all = true;
    try {
      rows = reports::parse_ledger_csv(text.str());
      // The resolved scenario names its phase policy: wait_all runs must have heard from every task.
      const YAML::Node policy = YAML::Load(yaml.str())["dipaco"]["phase_policy"];
      wait_all = !policy || policy.as<std::string>() == "wait_all";
    } catch (const std::exception& e) {
      throw sim::ScenarioError((dir / "events.csv").string() + ": " + e.what());
    }
    const auto bad = reports::check_ledger(rows, wait_all);
    for (const auto& b : bad) std::cout << "violation: " << b << "\n";
    fmt::print("{}: {} ledger rows, {} violations\n", (dir / "events.csv").string(), rows.size(), bad.size());
    return bad.empty() ? 0 : 1;
  });
}

}  // namespace dipaco::app
