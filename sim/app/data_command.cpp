// `dipaco-sim data prepare|stats SCENARIO`: the tokenizer and token caches, without a run.
#include <fmt/format.h>

#include <iostream>

#include "sim/app/commands.hpp"
#include "sim/run/data_setup.hpp"

namespace dipaco::app {

void DataCommand::add(CLI::App& app) {
  data = app.add_subcommand("data", "Build or inspect a scenario's tokenizer and token caches");
  data->require_subcommand(1);
  auto* prepare = data->add_subcommand("prepare", "Build the tokenizer and token caches, with a progress line");
  stats = data->add_subcommand("stats", "Documents and tokens per domain and split, plus decoded samples");
  for (auto* cmd : {prepare, stats}) {
    cmd->add_option("scenario", scenario, "Scenario YAML file")->required();
    cmd->add_option("--set", overrides, "Override a scenario key (repeatable)");
    cmd->add_option("--threads", threads, "Tokenizer threads (default: all cores)")->check(CLI::Range(1, 1024));
  }
  stats->add_option("--samples", samples, "Decoded training sequences to print (default 3)")->check(CLI::Range(0, 1000));
}

int DataCommand::operator()() const {
  return exit_code("data", [this] {
    const auto loaded = sim::load_scenario(scenario, overrides);
    const auto dataset = sim::load_dataset(loaded, threads, true);
    if (stats->parsed()) sim::print_data_stats(loaded, dataset, samples, std::cout);
    else fmt::print("cache: {}\n", dataset.cache_file.empty() ? "none (synthetic data is generated in memory)" : dataset.cache_file.string());
    return 0;
  });
}

}  // namespace dipaco::app
