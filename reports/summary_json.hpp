// summary.json: a flat-ish JSON object built from ordered key/value pairs.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dipaco::reports {

// A minimal ordered JSON object writer; values are numbers, strings, booleans, null or nested objects.
class JsonObject {
 public:
  JsonObject& number(const std::string& key, double value);
  JsonObject& integer(const std::string& key, int64_t value);
  JsonObject& string(const std::string& key, const std::string& value);
  JsonObject& boolean(const std::string& key, bool value);
  JsonObject& null(const std::string& key);
  JsonObject& integers(const std::string& key, const std::vector<int64_t>& values);
  JsonObject& object(const std::string& key, const JsonObject& value);
  std::string render(int indent = 0) const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;  // key, rendered value
};

std::string json_escape(const std::string& s);

}  // namespace dipaco::reports
