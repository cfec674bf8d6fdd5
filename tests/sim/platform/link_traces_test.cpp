// Link trace files: the profile format as SimGrid reads it (checked against SimGrid itself), the
// platform scan that stops bad files before SimGrid aborts on them, and the network.retry_* keys.
#include <gtest/gtest.h>
#include <simgrid/s4u.hpp>

#include <cmath>
#include <fstream>

#include "sim/platform/link_traces.hpp"
#include "sim/scenario/scenario.hpp"

namespace {

using dipaco::sim::parse_profile;
using dipaco::sim::ScenarioError;

const std::string kSource = DIPACO_SOURCE_DIR;

std::string parse_error(const std::string& text, const std::string& attribute = "state_file") {
  try {
    parse_profile(text, attribute, "p.xml:3: link 'wan' " + attribute + " 'x'");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

std::string scan_error(const std::filesystem::path& xml) {
  try {
    dipaco::sim::scan_platform_traces(xml);
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(LinkTraces, PeriodicAndLoopAfterProfilesRepeat) {
  // PERIODICITY: the dates repeat every P seconds.
  const auto p = parse_profile("# a comment\n10 0\n20 1\nPERIODICITY 100\n", "state_file", "x");
  EXPECT_EQ(p.period, 100.0);
  EXPECT_EQ(p.value_at(5, 1), 1.0);
  EXPECT_EQ(p.value_at(10, 1), 0.0);
  EXPECT_EQ(p.value_at(115, 1), 0.0);
  EXPECT_EQ(p.value_at(125, 1), 1.0);
  EXPECT_DOUBLE_EQ(p.zero_seconds(250), 30.0);  // [10,20) [110,120) [210,220)
  EXPECT_TRUE(std::isinf(p.zero_for_good_at()));
  // LOOPAFTER L: the next repetition starts L after the last date, so the period is last + L.
  EXPECT_EQ(parse_profile("10 0\n20 1\nLOOPAFTER 80\n", "state_file", "x").period, 100.0);
  // Played once and ending off: down for good from the start of the final zeros.
  const auto dead = parse_profile("5 0\n6 1\n30 0\n", "state_file", "x");
  EXPECT_EQ(dead.zero_for_good_at(), 30.0);
  EXPECT_DOUBLE_EQ(dead.zero_seconds(40), 11.0);
  EXPECT_EQ(parse_profile("7 0\nPERIODICITY 10\n", "state_file", "x").zero_for_good_at(), 7.0);
}

TEST(LinkTraces, BadProfilesNameTheLineAndTheFix) {
  EXPECT_NE(parse_error("10 0\n5 1\n").find("line 2: dates must be >= 0 and in non-decreasing order"), std::string::npos);
  EXPECT_NE(parse_error("10 0.5\n").find("a state is 0 (off) or 1 (on)"), std::string::npos);
  EXPECT_NE(parse_error("10 0\n", "bandwidth_file").find("model a cut with a state_file"), std::string::npos);
  EXPECT_NE(parse_error("10 zero\n").find("expected 'DATE VALUE'"), std::string::npos);
  EXPECT_NE(parse_error("STOCHASTIC\nEXP 10 DET 0\n").find("stochastic profiles are not supported"), std::string::npos);
  EXPECT_NE(parse_error("10 0\n20 1\nPERIODICITY 15\n").find("shorter than the last date"), std::string::npos);
  EXPECT_NE(parse_error("0 0\nLOOPAFTER 0\n").find("period > 0"), std::string::npos);
  EXPECT_NE(parse_error("10 0\nPERIODICITY 20\nLOOPAFTER 5\n").find("not both"), std::string::npos);
  EXPECT_NE(parse_error("# only a comment\n").find("no 'DATE VALUE' line"), std::string::npos);
  for (const auto& e : {parse_error("10 0\n5 1\n"), parse_error("\n")}) {
    EXPECT_NE(e.find("p.xml:3: link 'wan' state_file 'x'"), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

// Found by tests/fuzz/fuzz_trace_profile: a line of only vertical tabs or form feeds (whitespace to
// the stream, not to the blank-line check) read past the end of an empty word list.
TEST(LinkTraces, LinesOfOtherWhitespaceAreBlank) {
  EXPECT_NE(parse_error("%%%%\n\v").find("no 'DATE VALUE' line"), std::string::npos);
  EXPECT_EQ(parse_profile("\f\n0 1\n\v \n10 0\n", "state_file", "x").points.size(), 2u);
}

TEST(LinkTraces, PlatformScanFindsTracesAndRejectsMissingOrRepeatedFiles) {
  const auto flaky = dipaco::sim::scan_platform_traces(kSource + "/platforms/three-continents-flaky.xml");
  EXPECT_EQ(flaky.links_with("state_file"), 2u);
  EXPECT_EQ(flaky.links_with("bandwidth_file"), 3u);
  ASSERT_NE(flaky.link("wan-us-eu", "state_file"), nullptr);
  EXPECT_EQ(flaky.link("wan-us-eu", "state_file")->profile.value_at(1500, 1), 0.0);  // the fibre cut
  EXPECT_EQ(flaky.link("wan-eu-asia", "state_file"), nullptr);
  EXPECT_TRUE(dipaco::sim::scan_platform_traces(kSource + "/platforms/three-continents.xml").traces.empty());

  const auto missing = scan_error(kSource + "/tests/platforms/missing-trace.xml");
  EXPECT_NE(missing.find("missing-trace.xml:8: link 'wan' state_file 'traces/no-such-file.state': cannot read"), std::string::npos) << missing;
  // SimGrid refuses to define a profile twice under one name: two links naming the same file.
  const auto dir = std::filesystem::temp_directory_path() / "dipaco-links-twice";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "cut.state") << "1 0\n2 1\n";
  std::ofstream(dir / "p.xml") << "<platform version=\"4.1\"><zone id=\"w\" routing=\"Full\">\n"
                                  "<link id=\"l1\" bandwidth=\"1Gbps\" latency=\"1ms\" state_file=\"cut.state\"/>\n"
                                  "<!-- <link id=\"commented\" state_file=\"nothing.state\"/> -->\n"
                                  "<link id=\"l2\" bandwidth=\"1Gbps\" latency=\"1ms\" state_file='cut.state'/>\n"
                                  "</zone></platform>\n";
  const auto twice = scan_error(dir / "p.xml");
  EXPECT_NE(twice.find("p.xml:4: link 'l2' state_file 'cut.state': this file is already named at"), std::string::npos) << twice;
}

TEST(LinkTraces, SimGridFollowsTheProfilesAsParsed) {
  // The same profile text drives a link in SimGrid and our parser: sampled states and bandwidths
  // must agree (PERIODICITY, LOOPAFTER, a first date above 0, a final off).
  const auto dir = std::filesystem::temp_directory_path() / "dipaco-links-simgrid";
  std::filesystem::create_directories(dir);
  const std::string state_a = "3 0\n5 1\nPERIODICITY 10\n", state_b = "2 0\n4 1\n6 0\nLOOPAFTER 3\n", bw = "1 500\n4 2000\nLOOPAFTER 2\n",
                    state_c = "4 0\n7 1\n9 0\n";
  std::ofstream(dir / "a.state") << state_a;
  std::ofstream(dir / "b.state") << state_b;
  std::ofstream(dir / "c.state") << state_c;
  std::ofstream(dir / "c.bw") << bw;
  std::ofstream(dir / "p.xml") << R"(<?xml version='1.0'?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<platform version="4.1">
  <zone id="world" routing="Full">
    <host id="h" speed="1Gf"/>
    <link id="a" bandwidth="1000Bps" latency="0" state_file="a.state"/>
    <link id="b" bandwidth="1000Bps" latency="0" state_file="b.state"/>
    <link id="c" bandwidth="1000Bps" latency="0" state_file="c.state" bandwidth_file="c.bw"/>
  </zone>
</platform>
)";
  const auto traces = dipaco::sim::scan_platform_traces(dir / "p.xml");
  std::vector<std::string> args{"link_traces_test", "--log=xbt_cfg.thres:warning"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  simgrid::s4u::Engine e(&argc, argv.data());
  e.load_platform((dir / "p.xml").string());
  int checked = 0;
  simgrid::s4u::Actor::create("sampler", e.host_by_name("h"), [&] {
    for (double t = 0.5; t < 40; t += 0.5) {
      simgrid::s4u::this_actor::sleep_until(t);
      for (const char* id : {"a", "b", "c"}) {
        const auto* link = simgrid::s4u::Link::by_name(id);
        const double expected = traces.link(id, "state_file")->profile.value_at(t, 1.0);
        EXPECT_EQ(link->is_on() ? 1.0 : 0.0, expected) << "link " << id << " at t = " << t;
        ++checked;
      }
      EXPECT_DOUBLE_EQ(simgrid::s4u::Link::by_name("c")->get_bandwidth(), traces.link("c", "bandwidth_file")->profile.value_at(t, 1000.0))
          << "t = " << t;
    }
  });
  e.run();
  EXPECT_EQ(checked, 79 * 3);
}

TEST(LinkTraces, RetryKeysAreReadAndChecked) {
  const std::string file = kSource + "/scenarios/flaky-wan.yaml";
  const auto s = dipaco::sim::load_scenario(file, {"network.retry_initial_s=0.5", "network.retry_max_s=30", "network.retry_limit=4"});
  EXPECT_EQ(s.retry.initial_s, 0.5);
  EXPECT_EQ(s.retry.max_s, 30.0);
  EXPECT_EQ(s.retry.limit, 4);
  EXPECT_TRUE(dipaco::sim::load_scenario(file).retry.unlimited());
  EXPECT_TRUE(dipaco::sim::load_scenario(kSource + "/scenarios/quickstart.yaml").retry.unlimited());
  const auto error_of = [&](const std::string& set) {
    try {
      dipaco::sim::load_scenario(file, {set});
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of("network.retry_initial_s=0").find("key 'network.retry_initial_s'"), std::string::npos);
  EXPECT_NE(error_of("network.retry_max_s=0.1").find("key 'network.retry_max_s': 0.1 is below network.retry_initial_s"), std::string::npos);
  EXPECT_NE(error_of("network.retry_limit=-1").find("key 'network.retry_limit'"), std::string::npos);
  EXPECT_NE(error_of("network.retry_limit=often").find("key 'network.retry_limit'"), std::string::npos);
  // The resolved scenario reads back with the same retry settings.
  const auto path = std::filesystem::temp_directory_path() / "dipaco-links-resolved.yaml";
  std::ofstream(path) << dipaco::sim::scenario_to_yaml(dipaco::sim::load_scenario(file, {"network.retry_limit=3"}));
  const auto back = dipaco::sim::load_scenario(path);
  EXPECT_EQ(back.retry.limit, 3);
  EXPECT_EQ(back.retry.max_s, 60.0);
  std::ofstream(path) << dipaco::sim::scenario_to_yaml(dipaco::sim::load_scenario(file));
  EXPECT_TRUE(dipaco::sim::load_scenario(path).retry.unlimited());
}
