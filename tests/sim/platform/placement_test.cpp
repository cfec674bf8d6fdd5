// Executor placement on the three-continents platform, checked against a hand computation.
#include <gtest/gtest.h>
#include <simgrid/s4u.hpp>

#include "sim/platform/executor_placement.hpp"

TEST(ExecutorPlacement, PicksTheAnalyticallyBestDatacentre) {
  int argc = 2;
  char arg0[] = "placement_test", arg1[] = "--log=xbt_cfg.thres:warning";
  char* argv[] = {arg0, arg1, nullptr};
  simgrid::s4u::Engine e(&argc, argv);
  e.load_platform(DIPACO_SOURCE_DIR "/platforms/three-continents.xml");
  const auto g = dipaco::sim::datacentre_graph();
  ASSERT_EQ(g.names, (std::vector<std::string>{"asia-east", "eu-west", "us-east"}));
  const double bytes = 600e6;
  // Direct routes: us-eu 10 Gbit/s 40 ms, eu-asia 5 Gbit/s 100 ms, us-asia 5 Gbit/s 90 ms (+ cluster links).
  const auto t = dipaco::sim::transfer_times(g, bytes);
  const int asia = 0, eu = 1, us = 2;
  EXPECT_NEAR(t[us][eu], 0.040 + bytes / 1.25e9, 0.01);
  EXPECT_NEAR(t[us][asia], 0.090 + bytes / 0.625e9, 0.01);
  // Two users in us-east, one in asia-east: us costs 0 + 0 + 1.05 s; eu 2 x 0.52 + 1.06; asia 2 x 1.05.
  auto* us0 = e.host_by_name("us-gpu0");
  auto* us1 = e.host_by_name("us-gpu1");
  auto* asia0 = e.host_by_name("asia-gpu0");
  EXPECT_EQ(dipaco::sim::best_datacentre(g, {us0, us1, asia0}, bytes), us);
  // One user in each region: us 0.52 + 1.05 = 1.57 s just beats eu 0.52 + 1.06 = 1.58 s (asia 2.11 s).
  EXPECT_EQ(dipaco::sim::best_datacentre(g, {us0, e.host_by_name("eu-gpu0"), asia0}, bytes), us);
  // Two users in asia, one in eu: asia.
  EXPECT_EQ(dipaco::sim::best_datacentre(g, {asia0, e.host_by_name("asia-gpu1"), e.host_by_name("eu-gpu0")}, bytes), asia);
}
