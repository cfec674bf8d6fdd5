// The failure model's pieces: seeded draws, interval merging, and SimGrid's profile format.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sim/failures/failures.hpp"

namespace dipaco::sim {
namespace {

FailureSpec rate(double mtbf_h, double mttr_h) {
  FailureSpec f;
  f.mtbf_s = mtbf_h * 3600;
  f.mttr_s = mttr_h * 3600;
  f.horizon_s = 20000 * 3600.0;
  return f;
}

TEST(Failures, DrawsAreSeededAndMatchTheirMeans) {
  for (bool weibull : {false, true}) {
    auto f = rate(5, 0.25);
    f.weibull = weibull;
    f.weibull_shape = 0.7;
    const auto a = draw_failures(f, 42), b = draw_failures(f, 42), c = draw_failures(f, 43);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].begin, b[i].begin);
    EXPECT_NE(a.front().begin, c.front().begin);
    // About 20000 h / 5.25 h = 3800 failures: means within 5 %.
    double up = 0, down = 0, last_end = 0;
    for (const auto& i : a) {
      up += i.begin - last_end;
      down += i.end - i.begin;
      last_end = i.end;
    }
    const double n = static_cast<double>(a.size());
    EXPECT_NEAR(up / n / 3600, 5.0, 0.25) << "weibull " << weibull;
    EXPECT_NEAR(down / n / 3600, 0.25, 0.0125) << "weibull " << weibull;
  }
  EXPECT_TRUE(draw_failures(FailureSpec{}, 1).empty());  // MTBF infinity: never
}

TEST(Failures, MergeUnitesOverlapsAndDropsEmptyIntervals) {
  const double inf = std::numeric_limits<double>::infinity();
  const auto m = merge_intervals({{5, 7}, {1, 3}, {2, 4}, {6, 6.5}, {8, 8}, {10, inf}, {12, 13}});
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].begin, 1);
  EXPECT_EQ(m[0].end, 4);
  EXPECT_EQ(m[1].begin, 5);
  EXPECT_EQ(m[1].end, 7);
  EXPECT_EQ(m[2].begin, 10);
  EXPECT_TRUE(std::isinf(m[2].end));
}

TEST(Failures, ProfileTextRoundTripsAndBadTracesNameTheLine) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<Interval> down{{0, 30}, {100.5, 200}, {500, inf}};
  const auto text = state_profile(down);
  EXPECT_EQ(text, "0 0\n30 1\n100.5 0\n200 1\n500 0\n");
  const auto back = parse_state_profile("# a comment\n" + text, "t.state");
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[1].begin, 100.5);
  EXPECT_EQ(back[1].end, 200);
  EXPECT_TRUE(std::isinf(back[2].end));
  for (const std::string bad : {"5 0\n3 1\n", "1 2\n", "x 0\n", "1 0 7\n"}) {
    try {
      parse_state_profile(bad, "t.state");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ScenarioError& e) {
      EXPECT_NE(std::string(e.what()).find("t.state:"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace dipaco::sim
