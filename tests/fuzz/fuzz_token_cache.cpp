// libFuzzer target: the token-cache reader. The input is the file; the key asked for is the one in
// its header (bytes 16..23), so that inputs get past the key check to the counts and sections.
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/data/token_cache.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto file = std::filesystem::temp_directory_path() / ("dipaco-fuzz-cache-" + std::to_string(getpid()) + ".tok");
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  uint64_t key = 0;
  if (size >= 24) std::memcpy(&key, data + 16, sizeof key);
  std::string why;
  const auto cache = dipaco::engine::open_token_cache(file, key, &why);
  if (cache) {  // a valid one: read every token, as training would
    uint64_t sum = 0;
    for (const auto* split : {&cache->train, &cache->validation}) {
      for (int64_t i = 0; i < split->tokens.size; ++i) sum += split->tokens[i];
      for (const auto start : split->doc_start) sum += start;
    }
    (void)sum;
  }
  return 0;
}
