// The network models, checked on a one-link platform. One SimGrid engine per test process.
#include <gtest/gtest.h>
#include <simgrid/s4u.hpp>

#include <fstream>
#include <string>

#include <unistd.h>

#include "sim/platform/network_model.hpp"
#include "sim/platform/ns3_settings.hpp"

namespace {

// Two hosts joined by one 1 Gbit/s link of `latency` s; returns the simulated time of one 100 MB transfer.
double transfer_time(dipaco::sim::NetworkModel model, const std::string& latency = "50ms", const dipaco::sim::Ns3Spec& ns3 = {}) {
  const auto platform = std::filesystem::temp_directory_path() / ("dipaco-one-link-" + std::to_string(getpid()) + ".xml");  // one per test process (ctest -j)
  std::ofstream(platform) << R"(<?xml version='1.0'?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<platform version="4.1">
  <zone id="world" routing="Full">
    <host id="a" speed="1Gf"/>
    <host id="b" speed="1Gf"/>
    <link id="wan" bandwidth="1Gbps" latency=")" + latency + R"("/>
    <route src="a" dst="b"><link_ctn id="wan"/></route>
  </zone>
</platform>
)";
  if (model == dipaco::sim::NetworkModel::Ns3) dipaco::sim::ns3_set_congestion_control();
  std::vector<std::string> args{"network_test", "--log=xbt_cfg.thres:warning"};
  for (const auto& c : dipaco::sim::network_config(model)) args.push_back("--cfg=" + c);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  simgrid::s4u::Engine e(&argc, argv.data());
  e.load_platform(platform.string());
  if (model == dipaco::sim::NetworkModel::Ns3) dipaco::sim::ns3_set_socket_sizes(ns3);
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

// ns-3 (CUBIC) on the same link, 5 ms one way: an idle path of 0.805 s analytically. A window of
// 1 MiB, below the bandwidth-delay product (1.25 MB), caps the flow at window / round trip:
// 1 048 576 bytes per 10 ms, so 100 MB take 0.954 s, after a handshake of one round trip, and slow
// start loses up to half of the 7 round trips it takes to grow from 10 segments to the window.
TEST(NetworkModel, Ns3MovesOneWindowPerRoundTripBelowTheBandwidthDelayProduct) {
  dipaco::sim::Ns3Spec spec;
  spec.window_bytes = 1048576;
  const double t = transfer_time(dipaco::sim::NetworkModel::Ns3, "5ms", spec);
  const double window_limited = 0.010 + 100e6 / (1048576 / 0.010);
  EXPECT_GT(t, window_limited);
  EXPECT_LT(t, window_limited + 7 * 0.010);  // measured 1.0215 s
}

// ns-3's default window, 131 072 bytes: 13.1 MB/s, so 100 MB take 7.63 s, whatever the link's 125 MB/s.
TEST(NetworkModel, Ns3DefaultWindowMovesOneWindowPerRoundTrip) {
  const double t = transfer_time(dipaco::sim::NetworkModel::Ns3, "5ms");
  EXPECT_NEAR(t, 100e6 / (131072 / 0.010), 0.02 * 7.63);  // measured 7.68 s
}
