// The report as a reader sees it: headless Chromium loads index.html from disk and the page's own
// script records how many images loaded (data-images-loaded="ok/total" on <body>) and shows a
// banner for any that did not. Skipped where chromium is not installed (scripts/setup.sh installs it).
#include "e2e_support.hpp"

#include <cstdlib>

namespace fs = std::filesystem;

namespace {

const std::string kFixtures = e2e::kSource + "/tests/fixtures/report/";

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

bool have_chromium() { return std::system("command -v chromium >/dev/null 2>&1") == 0; }

// The DOM after the page's scripts ran. --no-sandbox: tests may run as root. Chromium prints
// harmless D-Bus errors on stderr in containers; they are dropped.
std::string dump_dom(const fs::path& index) {
  const std::string cmd = "timeout 60 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=10000 --dump-dom 'file://" +
                          fs::absolute(index).string() + "' 2>/dev/null";
  std::string dom;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf{};
    for (size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) dom.append(buf.data(), n);
    pclose(p);
  }
  return dom;
}

}  // namespace

TEST(ReportBrowser, EveryImageLoadsAndTheTableHasOneRowPerRun) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  const auto out = e2e::out_dir("report-browser");
  ASSERT_EQ(e2e::run("report " + kFixtures + "run-tau10 " + kFixtures + "run-failed " + kFixtures + "sweep -o " + out.string()).rc, 0);
  const size_t images = count(e2e::slurp(out / "index.html"), "<img ");
  ASSERT_GT(images, 0u);
  const auto dom = dump_dom(out / "index.html");
  const std::string loaded = "data-images-loaded=\"" + std::to_string(images) + "/" + std::to_string(images) + "\"";
  EXPECT_NE(dom.find(loaded), std::string::npos) << "expected " << loaded << " in the DOM:\n" << dom.substr(0, 2000);
  EXPECT_EQ(count(dom, "<tr class=\"run"), 6u);
  EXPECT_NE(dom.find("<div id=\"broken\" hidden=\"\"></div>"), std::string::npos);
}

TEST(ReportBrowser, SeveralSeedsPerPointDrawConfidenceBandsAndMeanPlusMinusCi) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  // A real timing-only sweep: each seed draws other preemptions, so the wall-clock varies by seed.
  const auto sweep = e2e::out_dir("report-browser-seeds"), out = e2e::out_dir("report-browser-seeds-report");
  ASSERT_EQ(e2e::run("sweep " + e2e::kSource + "/tests/scenarios/tiny-failures.yaml --set algorithm.outer_steps=2 "
                     "--grid failures.preemption.mtbf_hours=0.3,1000 --repeat 3 -j 2 --no-report --out " +
                     sweep.string()).rc, 0);
  ASSERT_EQ(e2e::run("report " + sweep.string() + " -o " + out.string()).rc, 0);
  // The wall-clock line carries a translucent band (gnuplot's filledcurves).
  EXPECT_GE(count(e2e::slurp(out / "sweep1-wall-clock.svg"), "fill-opacity = '0.200000'"), 1u);
  const size_t images = count(e2e::slurp(out / "index.html"), "<img ");
  const auto dom = dump_dom(out / "index.html");
  const std::string loaded = "data-images-loaded=\"" + std::to_string(images) + "/" + std::to_string(images) + "\"";
  EXPECT_NE(dom.find(loaded), std::string::npos) << dom.substr(0, 2000);
  // One row per grid point, the wall-clock as mean ± CI (mtbf 0.3 h: the seeds differ).
  EXPECT_EQ(count(dom, "<tr class=\"point\""), 2u);
  EXPECT_NE(dom.find("mean ± 95 % CI over seeds"), std::string::npos);
  EXPECT_GE(count(dom, " ± "), 1u);
  fs::remove_all(sweep);
  fs::remove_all(out);
}

TEST(ReportBrowser, AMissingImageIsCountedAndShownInABanner) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  const auto out = e2e::out_dir("report-browser-broken");
  ASSERT_EQ(e2e::run("report " + kFixtures + "run-tau10 -o " + out.string()).rc, 0);
  const size_t images = count(e2e::slurp(out / "index.html"), "<img ");
  fs::remove(out / "wan-vs-time.svg");
  const auto dom = dump_dom(out / "index.html");
  const std::string loaded = "data-images-loaded=\"" + std::to_string(images - 1) + "/" + std::to_string(images) + "\"";
  EXPECT_NE(dom.find(loaded), std::string::npos) << dom.substr(0, 2000);
  EXPECT_NE(dom.find("did not load: wan-vs-time.svg"), std::string::npos);
}
