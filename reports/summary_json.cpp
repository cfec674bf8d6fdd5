#include "reports/summary_json.hpp"

#include <fmt/format.h>

#include <cmath>

namespace dipaco::reports {

std::string json_escape(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else out += c;
    }
  }
  return out + "\"";
}

JsonObject& JsonObject::number(const std::string& key, double value) {
  // JSON has no inf/nan: they become null.
  fields_.emplace_back(key, std::isfinite(value) ? fmt::format("{}", value) : "null");
  return *this;
}
JsonObject& JsonObject::integer(const std::string& key, int64_t value) {
  fields_.emplace_back(key, fmt::format("{}", value));
  return *this;
}
JsonObject& JsonObject::string(const std::string& key, const std::string& value) {
  fields_.emplace_back(key, json_escape(value));
  return *this;
}
JsonObject& JsonObject::boolean(const std::string& key, bool value) {
  fields_.emplace_back(key, value ? "true" : "false");
  return *this;
}
JsonObject& JsonObject::null(const std::string& key) {
  fields_.emplace_back(key, "null");
  return *this;
}
JsonObject& JsonObject::integers(const std::string& key, const std::vector<int64_t>& values) {
  fields_.emplace_back(key, fmt::format("[{}]", fmt::join(values, ", ")));
  return *this;
}
JsonObject& JsonObject::object(const std::string& key, const JsonObject& value) {
  fields_.emplace_back(key, value.render(1));
  return *this;
}

std::string JsonObject::render(int indent) const {
  const std::string pad(static_cast<size_t>(2 * (indent + 1)), ' ');
  std::string out = "{\n";
  for (size_t i = 0; i < fields_.size(); ++i) {
    out += pad + json_escape(fields_[i].first) + ": " + fields_[i].second;
    out += (i + 1 < fields_.size()) ? ",\n" : "\n";
  }
  out += std::string(static_cast<size_t>(2 * indent), ' ') + "}";
  return indent == 0 ? out + "\n" : out;
}

}  // namespace dipaco::reports
