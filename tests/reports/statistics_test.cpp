// reports/statistics.hpp against values worked out by hand and Student's t tables.
#include "reports/statistics.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace {

using dipaco::reports::difference;
using dipaco::reports::summarise;
using dipaco::reports::t975;

TEST(Statistics, MeanSdAndConfidenceIntervalOfThreeValues) {
  const auto s = summarise({1.0, 2.0, 6.0});
  EXPECT_EQ(s.n, 3u);
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_DOUBLE_EQ(s.sd, std::sqrt((4.0 + 1.0 + 9.0) / 2.0));  // sqrt(7)
  EXPECT_NEAR(s.ci95, 4.30265 * std::sqrt(7.0) / std::sqrt(3.0), 1e-9);
}

TEST(Statistics, OneValueHasNoSpreadAndNoneHasNoMean) {
  const auto one = summarise({5.0});
  EXPECT_EQ(one.n, 1u);
  EXPECT_EQ(one.mean, 5.0);
  EXPECT_EQ(one.sd, 0.0);
  EXPECT_EQ(one.ci95, 0.0);
  EXPECT_EQ(summarise({}).n, 0u);
}

TEST(Statistics, StudentQuantilesMatchTheTables) {
  EXPECT_NEAR(t975(1), 12.7062, 1e-4);
  EXPECT_NEAR(t975(4), 2.7764, 1e-4);
  EXPECT_NEAR(t975(30), 2.0423, 1e-4);
  EXPECT_NEAR(t975(40), 2.0211, 1e-3);   // above the table: Cornish-Fisher
  EXPECT_NEAR(t975(120), 1.9799, 1e-3);
  EXPECT_NEAR(t975(4.5), (2.77645 + 2.57058) / 2, 1e-9);  // fractional (Welch): between the two
  EXPECT_TRUE(std::isinf(t975(0.5)));
}

TEST(Statistics, WelchDifferenceOfTwoSettings) {
  // a: mean 10, variance 1 over 4 values; b: mean 7, variance 4 over 4 values.
  const std::vector<double> a = {9.0, 10.0, 10.0, 11.0}, b = {5.0, 6.0, 8.0, 9.0};
  const auto d = difference(a, b);
  EXPECT_DOUBLE_EQ(d.mean, 3.0);
  const double va = (1.0 + 0 + 0 + 1.0) / 3.0 / 4.0, vb = (4.0 + 1.0 + 1.0 + 4.0) / 3.0 / 4.0;
  const double df = (va + vb) * (va + vb) / (va * va / 3.0 + vb * vb / 3.0);
  EXPECT_NEAR(d.df, df, 1e-12);
  EXPECT_NEAR(d.ci95, t975(df) * std::sqrt(va + vb), 1e-12);
  EXPECT_TRUE(std::isinf(difference({1.0}, b).ci95));  // one value: no interval
}

}  // namespace
