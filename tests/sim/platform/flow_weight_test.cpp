// What the coarse network mode (network.coarse, sim/platform/flow_groups.hpp; README "Performance")
// rests on, and the mode itself on a hand case: can one SimGrid flow stand exactly for k identical flows (same source, same route up to links private
// to each destination, same start, same size)? Under the analytic model a flow's max-min weight is
// 1 / (its route's latency), so one flow of k x the bytes whose weight is k times larger (penalty
// latency / k) gets k shares and ends when each of the k would have. SimGrid 3.32's s4u API has no
// per-flow weight; these tests reach the flow's kernel action through installed headers and check
// the result against the hand computation, so an upgrade that breaks the assumption fails here.
// The last test runs the same case through FlowGroups.
#include <gtest/gtest.h>
#include <simgrid/kernel/resource/Action.hpp>
#include <simgrid/kernel/resource/Model.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <simgrid/s4u.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#include "sim/platform/flow_groups.hpp"
#include "sim/platform/network_model.hpp"

namespace {

namespace s4u = simgrid::s4u;

// Host a's NIC (150 MB/s, no latency) is the one link the flows share. a -> b1..b4 crosses a
// 200 MB/s link of 20 ms, a -> c a 300 MB/s link of 40 ms; the last hops are private and fast.
const char* kPlatform = R"(<?xml version='1.0'?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<platform version="4.1">
  <zone id="world" routing="Full">
    <host id="a" speed="1Gf"/>
    <host id="b1" speed="1Gf"/><host id="b2" speed="1Gf"/><host id="b3" speed="1Gf"/><host id="b4" speed="1Gf"/>
    <host id="c" speed="1Gf"/>
    <link id="nic" bandwidth="150MBps" latency="0"/>
    <link id="wan-b" bandwidth="200MBps" latency="20ms"/>
    <link id="wan-c" bandwidth="300MBps" latency="40ms"/>
    <link id="l1" bandwidth="10GBps" latency="0"/><link id="l2" bandwidth="10GBps" latency="0"/>
    <link id="l3" bandwidth="10GBps" latency="0"/><link id="l4" bandwidth="10GBps" latency="0"/>
    <link id="lc" bandwidth="10GBps" latency="0"/>
    <route src="a" dst="b1"><link_ctn id="nic"/><link_ctn id="wan-b"/><link_ctn id="l1"/></route>
    <route src="a" dst="b2"><link_ctn id="nic"/><link_ctn id="wan-b"/><link_ctn id="l2"/></route>
    <route src="a" dst="b3"><link_ctn id="nic"/><link_ctn id="wan-b"/><link_ctn id="l3"/></route>
    <route src="a" dst="b4"><link_ctn id="nic"/><link_ctn id="wan-b"/><link_ctn id="l4"/></route>
    <route src="a" dst="c"><link_ctn id="nic"/><link_ctn id="wan-c"/><link_ctn id="lc"/></route>
  </zone>
</platform>
)";

constexpr double kBytes = 300e6;

// The kernel action that carries `comm`, the last one started. NetworkModel's header is not
// installed, but it derives from Model first, so a NetworkModel* is a valid Model* address.
simgrid::kernel::resource::Action* action_of(const s4u::CommPtr& comm) {
  auto* model = reinterpret_cast<simgrid::kernel::resource::Model*>(
      s4u::Engine::get_instance()->get_netzone_root()->get_impl()->get_network_model().get());
  auto* started = model->get_started_action_set();
  for (auto it = started->rbegin(); it != started->rend(); ++it)
    if (it->get_activity() == comm->get_impl()) return &*it;
  return nullptr;
}

// The end of each transfer, by destination: the flow to c starts at 0, those to b at 20 ms, so that
// every flow has paid its latency at 40 ms. Group: one flow of 4 x the bytes to b1 stands for the
// four to b1..b4, weighed 4 times (GroupUnweighed: not).
// Coarse: the four pulls go through sim/platform/flow_groups.hpp (network.coarse), b4's half a
// millisecond after the others, within the join window.
enum class Mode { Flows, Group, GroupUnweighed, Coarse };

std::map<std::string, double> run(Mode mode) {
  const auto platform = std::filesystem::temp_directory_path() / ("dipaco-flow-weight-" + std::to_string(getpid()) + ".xml");  // one per test process (ctest -j)
  std::ofstream(platform) << kPlatform;
  std::vector<std::string> args{"flow_weight_test", "--log=xbt_cfg.thres:warning"};
  for (const auto& c : dipaco::sim::network_config(dipaco::sim::NetworkModel::Analytic)) args.push_back("--cfg=" + c);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  s4u::Engine e(&argc, argv.data());
  e.load_platform(platform.string());
  std::map<std::string, double> ends;
  bool weighed = false;
  dipaco::sim::FlowGroups groups;
  if (mode == Mode::Coarse) {
    s4u::Actor::create("c", e.host_by_name("c"), [&] {
      ASSERT_TRUE(groups.wait(groups.pull(s4u::Host::by_name("a"), s4u::Host::by_name("c"), kBytes), -1));
      ends["c"] = s4u::Engine::get_clock();
    });
    for (const std::string b : {"b1", "b2", "b3", "b4"})
      s4u::Actor::create(b, e.host_by_name(b), [&, b] {
        s4u::this_actor::sleep_for(b == "b4" ? 0.0205 : 0.020);
        const auto comm = groups.pull(s4u::Host::by_name("a"), s4u::Host::by_name(b), kBytes);
        ASSERT_FALSE(groups.wait(comm, 1.0));  // not over after 1 s
        ASSERT_TRUE(groups.wait(comm, -1));
        ends[b] = s4u::Engine::get_clock();
      });
    e.run();
    EXPECT_EQ(groups.groups(), 1);   // the four pulls to b
    EXPECT_EQ(groups.members(), 3);  // that joined b1's
    EXPECT_EQ(groups.flows(), 2);    // b1's and c's
    return ends;
  }
  s4u::Actor::create("sender", e.host_by_name("a"), [&] {
    auto* a = s4u::Host::by_name("a");
    std::vector<s4u::CommPtr> comms{s4u::Comm::sendto_async(a, s4u::Host::by_name("c"), kBytes)};
    s4u::this_actor::sleep_for(0.020);
    if (mode != Mode::Flows) {
      auto group = s4u::Comm::sendto_async(a, s4u::Host::by_name("b1"), 4 * kBytes);
      comms.push_back(group);
      // The analytic model gives a flow its weight when its latency is paid; then it gets 4 times it.
      s4u::this_actor::sleep_for(0.020);
      auto* action = action_of(group);
      ASSERT_NE(action, nullptr);
      if (mode == Mode::Group) action->set_sharing_penalty(0.020 / 4);
      weighed = true;
    } else {
      for (const char* b : {"b1", "b2", "b3", "b4"}) comms.push_back(s4u::Comm::sendto_async(a, s4u::Host::by_name(b), kBytes));
    }
    while (!comms.empty()) {
      const auto i = s4u::Comm::wait_any(comms);
      ends[comms[i]->get_destination()->get_name()] = s4u::Engine::get_clock();
      comms.erase(comms.begin() + i);
    }
  });
  e.run();
  EXPECT_EQ(weighed, mode != Mode::Flows);
  return ends;
}

// From 40 ms on, the NIC's 150 MB/s is shared by weight 1/latency: 1/0.02 for each flow to b, 1/0.04
// for the flow to c, so 4 x 50 r + 25 r = 150 MB/s gives r = 2/3: 33.3 MB/s to each b (133 MB/s in
// all, under wan-b's 200) and 16.7 MB/s to c. The b flows end at 0.04 + 300 / 33.3 = 9.04 s. c has
// then moved 16.7 x 9 = 150 MB and takes the whole NIC for the other 150 MB: 1 s, ending at 10.04 s.
constexpr double kBEnd = 0.04 + 300.0 / (150.0 * 50.0 / 225.0);
constexpr double kCEnd = 0.04 + 9.0 + (300.0 - 150.0 * 25.0 / 225.0 * 9.0) / 150.0;

}  // namespace

TEST(FlowWeight, FourIdenticalFlowsMatchTheHandComputation) {
  const auto ends = run(Mode::Flows);
  ASSERT_EQ(ends.size(), 5U);
  for (const char* b : {"b1", "b2", "b3", "b4"}) EXPECT_NEAR(ends.at(b), kBEnd, 1e-6 * kBEnd) << b;
  EXPECT_NEAR(ends.at("c"), kCEnd, 1e-6 * kCEnd);
}

TEST(FlowWeight, OneFlowWeighedFourTimesStandsForTheFour) {
  const auto ends = run(Mode::Group);
  ASSERT_EQ(ends.size(), 2U);
  EXPECT_NEAR(ends.at("b1"), kBEnd, 1e-6 * kBEnd);
  EXPECT_NEAR(ends.at("c"), kCEnd, 1e-6 * kCEnd);
}

TEST(FlowWeight, UnweighedTheGroupFlowIsTooSlow) {
  // Without the weight the group flow gets one share (1/0.02 against c's 1/0.04) for four flows'
  // bytes: 100 MB/s, and c 50 MB/s, which ends at 0.04 + 300 / 50 = 6.04 s. The group has then moved
  // 600 MB and takes the NIC's 150 MB/s for the other 600: it ends at 10.04 s, not 9.04 s.
  const auto ends = run(Mode::GroupUnweighed);
  ASSERT_EQ(ends.size(), 2U);
  EXPECT_NEAR(ends.at("c"), 6.04, 1e-6 * 6.04);
  EXPECT_NEAR(ends.at("b1"), 10.04, 1e-6 * 10.04);
}

TEST(FlowWeight, CoarseModeSharesOneFlowThatEndsWhenTheFourWould) {
  // network.coarse (sim/platform/flow_groups.hpp): one flow for the four pulls to b, weighed 4
  // times, each puller told when it ends. b4 joined 0.5 ms late and ends with the others (a late
  // member starts up to FlowGroups::kJoinWindow early).
  const auto ends = run(Mode::Coarse);
  ASSERT_EQ(ends.size(), 5U);
  for (const char* b : {"b1", "b2", "b3", "b4"}) EXPECT_NEAR(ends.at(b), kBEnd, 1e-6 * kBEnd) << b;
  EXPECT_NEAR(ends.at("c"), kCEnd, 1e-6 * kCEnd);
}
