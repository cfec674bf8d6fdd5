// Helpers for the end-to-end tests: run the dipaco-sim binary as a user would, read its outputs.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>

namespace e2e {

const std::string kSource = DIPACO_SOURCE_DIR;

struct Result {
  int rc = -1;
  std::string output;  // stdout and stderr
};

// A shell command line; its exit code and its output (stdout and stderr).
inline Result shell(const std::string& command) {
  const std::string cmd = command + " 2>&1";
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// dipaco-sim with `args`. `env`: arguments for env(1) before the binary, e.g.
// "-u OPENBLAS_CORETYPE X=1" (none by default).
inline Result run(const std::string& args, const std::string& env = "") {
  return shell((env.empty() ? "" : "env " + env + " ") + std::string(DIPACO_BINARY) + " " + args);
}

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline double json_number(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\": ([-0-9.e+]+)"))) {
    ADD_FAILURE() << "no number for " << key << " in " << json;
    return 0.0;
  }
  return std::stod(m[1]);
}

// A time as metrics.csv's sim_time_s prints it: six decimals.
inline std::string csv_time(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", seconds);
  return buf;
}

// A fresh temporary directory for one test's run; the process id keeps concurrent suites (two
// checkouts tested at once) out of each other's way.
// Cell i of every row of a CSV text but the header (empty where a row is shorter).
inline std::vector<std::string> csv_column(const std::string& csv, size_t i) {
  std::vector<std::string> out;
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string c; std::getline(row, c, ',');) cells.push_back(c);
    out.push_back(i < cells.size() ? cells[i] : "");
  }
  return out;
}

// A bad setting's outcome: exit code 2 and one line that contains `expected`.
inline void expect_one_line_error(int rc, const std::string& output, const std::string& set, const std::string& expected) {
  EXPECT_EQ(rc, 2) << set << "\n" << output;
  EXPECT_NE(output.find(expected), std::string::npos) << set << "\n" << output;
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
}

// sweep.csv without its real_seconds column, which is the only one that may differ between runs.
inline std::string without_real_seconds(const std::string& csv) {
  std::stringstream in(csv);
  std::string line, out;
  int column = -1;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::string f;
    std::stringstream ls(line);
    while (std::getline(ls, f, ',')) fields.push_back(f);
    if (line.back() == ',') fields.emplace_back();
    if (column < 0)
      for (size_t i = 0; i < fields.size(); ++i)
        if (fields[i] == "real_seconds") column = static_cast<int>(i);
    if (column >= 0 && column < static_cast<int>(fields.size())) fields.erase(fields.begin() + column);
    for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + fields[i];
    out += "\n";
  }
  return out;
}

inline std::filesystem::path out_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("dipaco-e2e-" + std::to_string(getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace e2e
