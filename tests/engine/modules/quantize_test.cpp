// Outer-gradient formats (engine/modules/quantize.hpp): every value a format can send survives a
// round trip, others go to the nearest one, and the bytes on the wire count the block scales.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/modules/quantize.hpp"

using namespace dipaco::engine;

TEST(Quantize, Fp4SendsTheSixteenE2M1ValuesOfEachBlockScaleExactly) {
  // A block whose absmax is 6 has scale 1: the E2M1 grid itself.
  ParamVector v{0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
  const auto before = v;
  quantize(v, GradientFormat::Fp4);
  EXPECT_EQ(v, before);
  // Ties go to the even mantissa; 5 lies between 4 and 6 (a tie: 4); 2.5 between 2 and 3 (2).
  ParamVector w{6.0f, 5.0f, 2.5f, 0.25f, 0.7f, 1.25f};
  quantize(w, GradientFormat::Fp4);
  EXPECT_EQ(w, (ParamVector{6.0f, 4.0f, 2.0f, 0.0f, 0.5f, 1.0f}));
  // A block scaled by a power of two: absmax 0.75 -> scale 2^-3 (0.75 / 0.125 = 6).
  ParamVector x{0.75f, 0.1f, -0.3f};
  quantize(x, GradientFormat::Fp4);
  EXPECT_EQ(x, (ParamVector{0.75f, 0.125f, -0.25f}));
}

TEST(Quantize, Fp8IsE4M3WithSubnormalsAndSaturation) {
  EXPECT_EQ(round_to_minifloat(448.0f, 3, -6, 448.0f), 448.0f);
  EXPECT_EQ(round_to_minifloat(1000.0f, 3, -6, 448.0f), 448.0f);
  EXPECT_EQ(round_to_minifloat(1.0625f, 3, -6, 448.0f), 1.0f);     // a tie below 1.125: to even
  EXPECT_EQ(round_to_minifloat(1.1875f, 3, -6, 448.0f), 1.25f);    // a tie: to even (1.25)
  EXPECT_EQ(round_to_minifloat(std::ldexp(1.0f, -9), 3, -6, 448.0f), std::ldexp(1.0f, -9));  // smallest subnormal
  EXPECT_EQ(round_to_minifloat(std::ldexp(1.0f, -11), 3, -6, 448.0f), 0.0f);
  EXPECT_EQ(round_to_minifloat(-20.0f, 3, -6, 448.0f), -20.0f);
}

TEST(Quantize, Bf16RoundsToNearestEven) {
  EXPECT_EQ(round_to_bf16(1.0f), 1.0f);
  EXPECT_EQ(round_to_bf16(1.0f + std::ldexp(1.0f, -8)), 1.0f);                                   // a tie: to even
  EXPECT_EQ(round_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 1.0f + std::ldexp(1.0f, -6));        // a tie: to even
  EXPECT_EQ(round_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -12)), 1.0f + std::ldexp(1.0f, -7));
}

TEST(Quantize, ErrorsShrinkWithBitsAndInt8KeepsEachBlocksAbsmax) {
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 1e-3f);
  ParamVector g(4096);
  for (auto& x : g) x = normal(gen);
  double previous = 0.0;
  // On Gaussian values int8's 255 even steps beat E4M3's 3 mantissa bits.
  for (auto f : {GradientFormat::Fp4, GradientFormat::Fp8, GradientFormat::Int8, GradientFormat::Bf16, GradientFormat::Fp32}) {
    auto q = g;
    quantize(q, f);
    double err = 0.0, norm = 0.0;
    for (size_t i = 0; i < g.size(); ++i) {
      err += (q[i] - g[i]) * static_cast<double>(q[i] - g[i]);
      norm += g[i] * static_cast<double>(g[i]);
    }
    const double relative = std::sqrt(err / norm);
    if (f != GradientFormat::Fp4) {
      EXPECT_LT(relative, previous) << to_string(f);
    }
    previous = relative;
    if (f == GradientFormat::Fp4) {
      EXPECT_LT(relative, 0.2);
    } else if (f == GradientFormat::Int8) {
      EXPECT_LT(relative, 0.01);
    } else if (f == GradientFormat::Fp32) {
      EXPECT_EQ(relative, 0.0);
    }
  }
  auto q = g;
  quantize(q, GradientFormat::Int8);
  for (size_t start = 0; start < g.size(); start += 256) {
    size_t arg = start;
    for (size_t i = start; i < start + 256; ++i)
      if (std::fabs(g[i]) > std::fabs(g[arg])) arg = i;
    EXPECT_FLOAT_EQ(q[arg], g[arg]);
  }
}

TEST(Quantize, BytesOnTheWireCountTheBlockScales) {
  EXPECT_EQ(bytes_per_value(GradientFormat::Fp32), 4.0);
  EXPECT_EQ(bytes_per_value(GradientFormat::Bf16), 2.0);
  EXPECT_EQ(bytes_per_value(GradientFormat::Int8), 1.0 + 4.0 / 256);
  EXPECT_EQ(bytes_per_value(GradientFormat::Fp8), 1.0 + 4.0 / 256);
  EXPECT_EQ(bytes_per_value(GradientFormat::Fp4), 0.5 + 1.0 / 32);
}
