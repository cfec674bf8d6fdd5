// Parameters, AdamW moments and outer gradients travel between the engine and the simulator as
// flat float vectors in the order of the model's named parameters (engine/train/model.hpp).
#pragma once

#include <vector>

namespace dipaco::engine {

using ParamVector = std::vector<float>;

}  // namespace dipaco::engine
