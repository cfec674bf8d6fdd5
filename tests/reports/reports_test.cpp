#include <cmath>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "reports/atomic_file.hpp"
#include "reports/metrics_csv.hpp"
#include "reports/summary_json.hpp"

using namespace dipaco::reports;

TEST(AtomicFile, WritesContentAndLeavesNoTemporary) {
  const auto dir = std::filesystem::temp_directory_path() / "dipaco-atomic-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write_atomically(dir / "a.txt", "old");
  write_atomically(dir / "a.txt", "new content");
  std::ifstream in(dir / "a.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "new content");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  EXPECT_THROW(write_atomically(dir / "missing-dir" / "b.txt", "x"), std::runtime_error);
}

TEST(MetricsCsv, RendersFixedFormatWithEmptyMissingValues) {
  MetricsRow r0;
  MetricsRow r1{12.5, 1, 3, 700, 50, 1000, 2.0, std::log(8.0), 1e9, std::nullopt};
  const auto csv = render_metrics_csv({r0, r1});
  EXPECT_EQ(csv, metrics_csv_header() + "0.000000,0,all,0,0,0,,,,0\n" +
                     "12.500000,1,3,700,50,1000,2.000000,2.079442,8.000000,1000000000\n");
}

TEST(SummaryJson, EscapesAndNullsNonFinite) {
  JsonObject inner;
  inner.integer("n", 3);
  JsonObject j;
  j.string("s", "a\"b").number("x", 1.5).number("bad", 1.0 / 0.0).boolean("t", true).object("o", inner);
  EXPECT_EQ(j.render(), "{\n  \"s\": \"a\\\"b\",\n  \"x\": 1.5,\n  \"bad\": null,\n  \"t\": true,\n  \"o\": {\n    \"n\": 3\n  }\n}\n");
}
