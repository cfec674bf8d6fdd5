// `dipaco-sim report` as a user runs it: the fixture runs and sweep drawn with gnuplot into an
// HTML report, the same bytes twice, the default output folder, and the exit codes of bad input.
#include "e2e_support.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kFixtures = e2e::kSource + "/tests/fixtures/report/";
const std::string kAllFixtures =
    kFixtures + "run-tau10 " + kFixtures + "run-tau50 " + kFixtures + "run-failed " + kFixtures + "sweep";

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(ReportE2E, FixturesGiveAnIndexWithEveryPlotAsSvgAndPng) {
  const auto out = e2e::out_dir("report-all");
  const auto r = e2e::run("report " + kAllFixtures + " -o " + out.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_EQ(r.output, "report: " + (out / "index.html").string() + "\n");
  const auto html = e2e::slurp(out / "index.html");
  EXPECT_EQ(count(html, "<tr class=\"run"), 7u);  // 3 runs + the sweep's 4, the failed one included
  const std::vector<std::string> stems = {"perplexity-vs-time", "perplexity-vs-tokens", "wan-vs-time", "utilisation",
                                          "sweep1-final-perplexity", "sweep1-heatmap-final-perplexity",
                                          "sweep1-time-to-target", "sweep1-heatmap-time-to-target",
                                          "sweep1-wall-clock", "sweep1-heatmap-wall-clock"};
  EXPECT_EQ(count(html, "<img "), stems.size());
  for (const auto& stem : stems) {
    EXPECT_NE(html.find("<img src=\"" + stem + ".svg\""), std::string::npos) << stem;
    for (const char* ext : {".svg", ".png"}) {
      std::error_code ec;
      EXPECT_GT(fs::file_size(out / (stem + ext), ec), 0u) << stem << ext;
    }
  }
  EXPECT_NE(e2e::slurp(out / "utilisation.svg").find("<svg"), std::string::npos);
  EXPECT_EQ(e2e::slurp(out / "utilisation.png").substr(1, 3), "PNG");
  for (const auto& entry : fs::directory_iterator(out))  // nothing half-written left behind
    EXPECT_EQ(entry.path().string().find(".partial"), std::string::npos) << entry.path();
}

TEST(ReportE2E, SameInputsGiveTheSameBytes) {
  const auto a = e2e::out_dir("report-a"), b = e2e::out_dir("report-b");
  ASSERT_EQ(e2e::run("report " + kAllFixtures + " -o " + a.string()).rc, 0);
  ASSERT_EQ(e2e::run("report " + kAllFixtures + " -o " + b.string()).rc, 0);
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(a)) {
    EXPECT_EQ(e2e::slurp(entry.path()), e2e::slurp(b / entry.path().filename())) << entry.path().filename();
    ++files;
  }
  EXPECT_EQ(files, 22u);  // index.html, plots.gp, 10 SVG, 10 PNG
}

TEST(ReportE2E, OneDirectoryDefaultsToItsReportFolder) {
  const auto dir = e2e::out_dir("report-default");
  fs::create_directories(dir);
  fs::copy(kFixtures + "run-tau10", dir / "run");
  const auto r = e2e::run("report " + (dir / "run").string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto html = e2e::slurp(dir / "run" / "report" / "index.html");
  EXPECT_EQ(count(html, "<tr class=\"run"), 1u);
  EXPECT_NE(html.find("One run: nothing to compare."), std::string::npos);
}

TEST(ReportE2E, BadDirectoryExitsTwoWithOneLine) {
  const auto out = e2e::out_dir("report-bad");
  const auto missing = e2e::run("report /nonexistent/dipaco-run -o " + out.string());
  EXPECT_EQ(missing.rc, 2);
  EXPECT_EQ(missing.output, "dipaco-sim: error: /nonexistent/dipaco-run: no such directory (give a run or sweep directory)\n");
  EXPECT_FALSE(fs::exists(out));  // nothing created for bad input
  const auto neither = e2e::run("report " + e2e::kSource + "/scenarios -o " + out.string());
  EXPECT_EQ(neither.rc, 2);
  EXPECT_EQ(count(neither.output, "\n"), 1u);
  EXPECT_NE(neither.output.find("neither a run directory (summary.json) nor a sweep directory (sweep.json)"), std::string::npos);
  EXPECT_EQ(e2e::run("report").rc, 2);  // no directory
}
