// Runs a program as a child process, without a shell: the arguments reach it as given.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dipaco::reports {

struct ChildResult {
  bool started = false;  // false: the program was not found (or could not be executed)
  int exit_code = -1;    // -1 when it did not exit normally (killed by a signal)
  std::string output;    // its stdout and stderr together
  std::string start_error;
};

// Runs argv[0] (looked up in PATH) in working directory `cwd`, stdin from /dev/null, and waits.
ChildResult run_child(const std::vector<std::string>& argv, const std::filesystem::path& cwd);

}  // namespace dipaco::reports
