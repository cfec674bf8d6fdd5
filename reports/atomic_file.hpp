// Every output is written to a temporary file in the same folder, then renamed over the target,
// so a reader never sees a half-written file, even if the run dies.
#pragma once

#include <filesystem>
#include <string_view>

namespace dipaco::reports {

// Throws std::runtime_error naming the path if it cannot write.
void write_atomically(const std::filesystem::path& path, std::string_view content);

}  // namespace dipaco::reports
