#include "sim/network_model.hpp"

namespace dipaco::sim {

std::vector<std::string> network_config(NetworkModel model) {
  if (model == NetworkModel::Analytic)
    return {"network/model:CM02", "network/TCP-gamma:0", "network/crosstraffic:0"};
  return {};  // SimGrid's defaults
}

}  // namespace dipaco::sim
