// The bad-input corpus (tests/bad_inputs/cases.tsv): broken platforms, scenarios and flags, each of
// which must end in its exit code (2) with one line that names the file, key or host and the fix:
// never an abort, a SimGrid backtrace or a half-written output.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace {

struct Case {
  std::string name, args, pattern;
  int rc = 0;
};

std::string expand(std::string args) {
  const std::vector<std::pair<std::string, std::string>> vars{
      {"{tiny}", e2e::kSource + "/tests/scenarios/tiny-diloco.yaml --set training=off --set trace=off"}, {"{src}", e2e::kSource}};
  for (const auto& [from, to] : vars)
    for (size_t at; (at = args.find(from)) != std::string::npos;) args.replace(at, from.size(), to);
  return args;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  std::ifstream in(e2e::kSource + "/tests/bad_inputs/cases.tsv");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string c; std::getline(row, c, '\t');) cells.push_back(c);
    if (cells.size() != 4) throw std::runtime_error("tests/bad_inputs/cases.tsv: not 4 tab-separated cells: " + line);
    out.push_back({cells[0], expand(cells[1]), cells[3], std::stoi(cells[2])});
  }
  return out;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }  // not gtest's byte dump

class BadInput : public testing::TestWithParam<Case> {};

TEST_P(BadInput, EndsWithItsExitCodeAndOneLineNamingTheProblem) {
  const auto& c = GetParam();
  const auto dir = e2e::out_dir("bad-" + c.name);
  const auto r = e2e::run(c.args + " --no-report --out " + dir.string());
  EXPECT_EQ(r.rc, c.rc) << c.args << "\n" << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(c.pattern))) << "expected /" << c.pattern << "/ in:\n" << r.output;
  for (const std::string crash : {"CRITICAL", "Backtrace", "backtrace", "Impossible", "terminate called"})
    EXPECT_EQ(r.output.find(crash), std::string::npos) << r.output;
  // Nothing half-written: the run directory is not even left behind.
  EXPECT_FALSE(std::filesystem::exists(dir / "metrics.csv")) << dir;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInput, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.name;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// The memory guard's other side: the tiny run fits, unless the available memory is said to be 1 MB.
TEST(MemoryGuard, StopsARunThatWouldNotFitBeforeTrainingAndLetsOneThatFits) {
  const std::string tiny = "run " + e2e::kSource + "/tests/scenarios/tiny-diloco.yaml --set trace=off --set algorithm.outer_steps=1 --no-report ";
  const auto dir = e2e::out_dir("memory-guard");
  const auto small = e2e::run(tiny + "--out " + dir.string(), "DIPACO_MEMORY_LIMIT_BYTES=1000000");
  EXPECT_EQ(small.rc, 2) << small.output;
  EXPECT_NE(small.output.find("but 0.0 GB is available"), std::string::npos) << small.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "metrics.csv"));
  const auto fits = e2e::run(tiny + "--out " + dir.string());
  EXPECT_EQ(fits.rc, 0) << fits.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
