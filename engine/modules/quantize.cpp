#include "engine/modules/quantize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace dipaco::engine {

size_t block_size(GradientFormat f) {
  switch (f) {
    case GradientFormat::Fp8:
    case GradientFormat::Int8: return 256;
    case GradientFormat::Fp4: return 32;
    default: return 1;
  }
}

double bytes_per_value(GradientFormat f) {
  switch (f) {
    case GradientFormat::Fp32: return 4.0;
    case GradientFormat::Bf16: return 2.0;
    case GradientFormat::Fp8:
    case GradientFormat::Int8: return 1.0 + 4.0 / 256.0;
    case GradientFormat::Fp4: return 0.5 + 1.0 / 32.0;
  }
  return 4.0;
}

const char* to_string(GradientFormat f) {
  switch (f) {
    case GradientFormat::Fp32: return "fp32";
    case GradientFormat::Bf16: return "bf16";
    case GradientFormat::Fp8: return "fp8";
    case GradientFormat::Int8: return "int8";
    case GradientFormat::Fp4: return "fp4";
  }
  return "?";
}

float round_to_minifloat(float x, int mantissa_bits, int min_exponent, float max) {
  if (x == 0.0f || std::isnan(x)) return x == 0.0f ? 0.0f : max;
  const double a = std::fabs(static_cast<double>(x));
  if (a >= max) return std::copysign(max, x);
  int e = 0;
  std::frexp(a, &e);  // a = m · 2^e, m in [0.5, 1): its exponent as a float is e - 1
  const int exponent = std::max(e - 1, min_exponent);
  const double quantum = std::ldexp(1.0, exponent - mantissa_bits);
  const double r = std::min(static_cast<double>(max), std::nearbyint(a / quantum) * quantum);  // ties to even
  return static_cast<float>(std::copysign(r, static_cast<double>(x)));
}

float round_to_bf16(float x) {
  uint32_t bits = 0;
  std::memcpy(&bits, &x, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  bits &= 0xFFFF0000u;
  float out = 0.0f;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

namespace {

// Each block divided by its scale, rounded by `round`, multiplied back.
template <class Scale, class Round>
void blockwise(float* v, size_t n, size_t block, Scale scale_of, Round round) {
  for (size_t start = 0; start < n; start += block) {
    const size_t end = std::min(n, start + block);
    float absmax = 0.0f;
    for (size_t i = start; i < end; ++i) absmax = std::max(absmax, std::fabs(v[i]));
    if (absmax == 0.0f) continue;
    const float scale = scale_of(absmax);
    for (size_t i = start; i < end; ++i) v[i] = round(v[i] / scale) * scale;
  }
}

}  // namespace

void quantize(ParamVector& v, GradientFormat f) { quantize(v.data(), v.size(), f); }

ParamVector outer_gradient_as_sent(const ParamVector& from, const ParamVector& to, GradientFormat f) {
  ParamVector delta = from;
  for (size_t i = 0; i < delta.size(); ++i) delta[i] -= to[i];
  quantize(delta, f);
  return delta;
}

void quantize(float* v, size_t n, GradientFormat f) {
  switch (f) {
    case GradientFormat::Fp32: return;
    case GradientFormat::Bf16:
      for (size_t i = 0; i < n; ++i) v[i] = round_to_bf16(v[i]);
      return;
    case GradientFormat::Fp8:
      blockwise(v, n, block_size(f), [](float m) { return m / 448.0f; }, [](float x) { return round_to_minifloat(x, 3, -6, 448.0f); });
      return;
    case GradientFormat::Int8:
      blockwise(v, n, block_size(f), [](float m) { return m / 127.0f; },
                [](float x) { return std::clamp(std::nearbyint(x), -127.0f, 127.0f); });
      return;
    case GradientFormat::Fp4:
      blockwise(v, n, block_size(f), [](float m) { return std::ldexp(1.0f, static_cast<int>(std::ceil(std::log2(m / 6.0f)))); },
                [](float x) { return round_to_minifloat(x, 1, 0, 6.0f); });
      return;
  }
}

}  // namespace dipaco::engine
