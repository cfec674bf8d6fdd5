#include "sim/scenario/strict_yaml.hpp"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace dipaco::sim {
namespace {

// Walks the parser's events: each mapping on a stack, alternating key and value, remembers the line
// of every scalar key it has seen.
class DuplicateKeys : public YAML::EventHandler {
 public:
  explicit DuplicateKeys(std::string name) : name_(std::move(name)) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark, "~"); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (++aliases_ > kMaxYamlAliases)
      throw ScenarioError(fmt::format("{}:{}: more than {} YAML aliases; write the values out", name_, mark.line + 1, kMaxYamlAliases));
    node(mark, "");
    const auto size = sizes_.find(anchor);
    expanded_ += size == sizes_.end() ? 1 : size->second;
    if (expanded_ > kMaxYamlValues)
      throw ScenarioError(fmt::format("{}:{}: its aliases expand to more than {} values; write the values out", name_, mark.line + 1,
                                      kMaxYamlValues));
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
    node(mark, value);
    ++expanded_;
    if (anchor != 0) sizes_[anchor] = 1;
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    node(mark, "");
    stack_.push_back({false, {}, false, anchor, ++expanded_});
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    node(mark, "");
    stack_.push_back({true, {}, false, anchor, ++expanded_});
  }
  void OnMapEnd() override { close(); }

 private:
  struct Level {
    bool map = false;
    std::map<std::string, int> keys;  // scalar key -> its line
    bool value_next = false;          // the next node is a value
    YAML::anchor_t anchor = 0;        // its anchor (&name), if any
    size_t start = 0;                 // values counted when it began
  };
  // A collection ends: an anchored one remembers how many values an alias to it stands for.
  void close() {
    if (stack_.back().anchor != 0) sizes_[stack_.back().anchor] = expanded_ - stack_.back().start + 1;
    stack_.pop_back();
  }
  // A node starts: in a mapping, it is a key or a value in turn.
  void node(const YAML::Mark& mark, const std::string& scalar) {
    if (stack_.empty() || !stack_.back().map) return;
    auto& m = stack_.back();
    if (!m.value_next && !scalar.empty()) {
      const auto [at, fresh] = m.keys.emplace(scalar, mark.line + 1);
      if (!fresh)
        throw ScenarioError(fmt::format("{}:{}: key '{}' is written twice (lines {} and {}); keep one", name_, mark.line + 1, scalar,
                                        at->second, mark.line + 1));
    }
    m.value_next = !m.value_next;
  }
  std::string name_;
  std::vector<Level> stack_;
  size_t aliases_ = 0;
  size_t expanded_ = 0;                       // values, with every alias expanded
  std::map<YAML::anchor_t, size_t> sizes_;   // per anchor: the values an alias to it stands for
};

}  // namespace

void check_strict_yaml(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DuplicateKeys check(name);
  // One document: YAML::Load would read only the first of several. (yaml-cpp 0.7 can also return
  // empty documents for ever on some malformed input; found by tests/fuzz/fuzz_scenario.)
  for (int documents = 0; parser.HandleNextDocument(check);)
    if (++documents > 1) throw ScenarioError(fmt::format("{}: more than one YAML document (a '---' or '...' line, or text past the end of the first); keep one", name));
}

YAML::Node load_strict_yaml_text(const std::string& text, const std::string& name) {
  try {
    check_strict_yaml(text, name);
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ScenarioError(fmt::format("{}:{}: not valid YAML: {}", name, e.mark.line + 1, e.msg));
  }
}

YAML::Node load_strict_yaml_file(const std::filesystem::path& file) {
  const std::string name = file.string();
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (ec || !std::filesystem::exists(status)) throw ScenarioError(fmt::format("{}: cannot read the scenario file (check the path)", name));
  if (std::filesystem::is_directory(status))
    throw ScenarioError(fmt::format("{}: is a directory, not a scenario file; give one of its .yaml files", name));
  if (!std::filesystem::is_regular_file(status))
    throw ScenarioError(fmt::format("{}: is not a regular file; give a scenario .yaml file", name));
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) throw ScenarioError(fmt::format("{}: cannot read the scenario file (check its permissions)", name));
  return load_strict_yaml_text(text.str(), name);
}

}  // namespace dipaco::sim
