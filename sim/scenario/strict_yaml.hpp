// Reading a YAML file strictly: yaml-cpp accepts a mapping with a key written twice (keeping one of
// the values without a word) and expands aliases without limit. A scenario is a contract, so both
// are errors here, as is a path that is not a regular file.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <filesystem>
#include <string>

namespace dipaco::sim {

// Aliases (*name) a file may use: far more than any scenario needs, far fewer than a "billion
// laughs" document needs to blow up whatever walks the tree.
constexpr size_t kMaxYamlAliases = 256;
// Values a file may stand for once every alias is expanded (a "billion laughs" file nests its
// aliases: 9 levels of 9 make 9^9 values with only 81 aliases).
constexpr size_t kMaxYamlValues = 100000;

// Throws ScenarioError if `text` writes a key twice in one mapping or uses too many aliases (YAML
// syntax errors propagate as YAML::Exception).
void check_strict_yaml(const std::string& text, const std::string& name);
// The document in `text`, read from `name` (for messages). Throws ScenarioError: "name:line: key
// 'k' is written twice (lines a and b); keep one", too many aliases, or not valid YAML.
YAML::Node load_strict_yaml_text(const std::string& text, const std::string& name);
// The same for a file; a missing file, a directory or another non-regular file is an error too.
YAML::Node load_strict_yaml_file(const std::filesystem::path& file);

}  // namespace dipaco::sim
