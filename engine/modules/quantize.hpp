// Outer gradients in fewer bits, as low-communication training sends them: Streaming DiLoCo's 4-bit
// floats (E2M1), FP8 (torchft), int8 (INTELLECT-1), bf16. quantize() rounds real values in place to
// what the receiver decodes, so that training feels the loss of precision, and bytes_per_value()
// is what travels, block scales included. Torch-free and sequential: the same bits on any machine.
#pragma once

#include <cstddef>
#include <string>

#include "engine/modules/param_vector.hpp"

namespace dipaco::engine {

enum class GradientFormat { Fp32, Bf16, Fp8, Int8, Fp4 };

// Each format's block (values sharing one scale) and scale:
//   fp32: none; bf16: none (round to nearest even);
//   fp8: OCP E4M3 (max 448), blocks of 256 with an fp32 scale (absmax / 448);
//   int8: symmetric, blocks of 256 with an fp32 scale (absmax / 127);
//   fp4: OCP E2M1 (0, 0.5, 1, 1.5, 2, 3, 4, 6), blocks of 32 with a power-of-two scale in one byte
//        (E8M0, as the MX formats): the smallest 2^k with absmax / 2^k <= 6.
size_t block_size(GradientFormat f);
double bytes_per_value(GradientFormat f);  // on the wire, scales included: 4, 2, 1.015625, 1.015625, 0.53125
const char* to_string(GradientFormat f);

// Rounds `v` in place to the values the format can send (encode, then decode).
void quantize(ParamVector& v, GradientFormat f);
void quantize(float* v, size_t n, GradientFormat f);
// The outer gradient from − to as a receiver decodes it after it was sent in format f.
ParamVector outer_gradient_as_sent(const ParamVector& from, const ParamVector& to, GradientFormat f);

// One value to the nearest value of a small float with `mantissa_bits`, smallest normal exponent
// `min_exponent` (below it: subnormals) and largest magnitude `max` (saturating); ties to even.
float round_to_minifloat(float x, int mantissa_bits, int min_exponent, float max);
float round_to_bf16(float x);

}  // namespace dipaco::engine
