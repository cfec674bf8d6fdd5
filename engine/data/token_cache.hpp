// The on-disk token cache: one binary file per (sources, options) key, memory-mapped on load.
// Layout: a 64-byte header (magic, version, token width, key, counts), domain names, the train and
// validation tokens, the document tables, and an end marker. A file that is truncated, or has the
// wrong magic, version, key or size, is reported invalid, never used.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/data/dataset.hpp"

namespace dipaco::engine {

constexpr uint32_t kTokenCacheVersion = 1;

// Writes atomically (a temporary file, then a rename).
void write_token_cache(const std::filesystem::path& path, uint64_t key, const std::vector<std::string>& domains,
                       int bytes_per_token, const std::vector<uint32_t>& train_tokens, const SplitTokens& train_docs,
                       const std::vector<uint32_t>& validation_tokens, const SplitTokens& validation_docs);

struct MappedCache {
  std::vector<std::string> domains;
  SplitTokens train, validation;
};

// nullopt with *why set when the file is missing or invalid.
std::optional<MappedCache> open_token_cache(const std::filesystem::path& path, uint64_t key, std::string* why);

}  // namespace dipaco::engine
