// The network models, checked on a one-link platform. One SimGrid engine per test process.
#include <gtest/gtest.h>
#include <simgrid/s4u.hpp>

#include <fstream>

#include "sim/platform/network_model.hpp"

namespace {

// Two hosts joined by one 1 Gbit/s, 50 ms link; returns the simulated time of one 100 MB transfer.
double transfer_time(dipaco::sim::NetworkModel model) {
  const auto platform = std::filesystem::temp_directory_path() / "dipaco-one-link.xml";
  std::ofstream(platform) << R"(<?xml version='1.0'?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<platform version="4.1">
  <zone id="world" routing="Full">
    <host id="a" speed="1Gf"/>
    <host id="b" speed="1Gf"/>
    <link id="wan" bandwidth="1Gbps" latency="50ms"/>
    <route src="a" dst="b"><link_ctn id="wan"/></route>
  </zone>
</platform>
)";
  std::vector<std::string> args{"network_test", "--log=xbt_cfg.thres:warning"};
  for (const auto& c : dipaco::sim::network_config(model)) args.push_back("--cfg=" + c);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  simgrid::s4u::Engine e(&argc, argv.data());
  e.load_platform(platform.string());
  static char payload;
  double arrived = -1;
  simgrid::s4u::Actor::create("sender", e.host_by_name("a"),
                              [] { simgrid::s4u::Mailbox::by_name("m")->put(&payload, 100'000'000); });
  simgrid::s4u::Actor::create("receiver", e.host_by_name("b"), [&arrived] {
    simgrid::s4u::Mailbox::by_name("m")->get<char>();
    arrived = simgrid::s4u::Engine::get_clock();
  });
  e.run();
  return arrived;
}

}  // namespace

TEST(NetworkModel, AnalyticTransferIsLatencyPlusSizeOverBandwidth) {
  const double expected = 0.050 + 100e6 / (1e9 / 8);  // 0.85 s
  EXPECT_NEAR(transfer_time(dipaco::sim::NetworkModel::Analytic), expected, 0.01 * expected);
}

TEST(NetworkModel, SimGridDefaultAddsTcpEffects) {
  // LV08: latency x13.01, bandwidth x0.97, and a TCP window cap of 4 MiB / (2 x latency) per flow.
  const double t = transfer_time(dipaco::sim::NetworkModel::SimGrid);
  EXPECT_GT(t, 3.0);
  EXPECT_LT(t, 3.2);
}
