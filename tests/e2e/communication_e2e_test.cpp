// communication.outer_gradient end to end: the real outer gradients (sync: gradients) are rounded
// to the format, and what crosses the network shrinks by the format's bytes per value.
#include <gtest/gtest.h>

#include <string>

#include "e2e_support.hpp"

namespace {

using e2e::json_number;
using e2e::run;
using e2e::slurp;
const std::string kScenarios = e2e::kSource + "/tests/scenarios/";

struct Outcome {
  double wan_bytes = 0, perplexity = 0;
  std::string metrics;
};

Outcome run_tiny(const std::string& algorithm, const std::string& format, const std::string& extra = "") {
  const auto dir = e2e::out_dir("communication-" + algorithm + "-" + format);
  const auto r = run("run " + kScenarios + "tiny-diloco.yaml --set algorithm.name=" + algorithm + " --set communication.outer_gradient=" +
                     format + " --set trace=off --no-report " + extra + " --out " + dir.string());
  EXPECT_EQ(r.rc, 0) << r.output;
  const auto summary = slurp(dir / "summary.json");
  return {json_number(summary, "wan_bytes"), json_number(summary, "final_val_perplexity"), slurp(dir / "metrics.csv")};
}

}  // namespace

TEST(Communication, DilocoUploadsShrinkByTheFormatAndTrainingFeelsTheRounding) {
  // tiny-diloco: 2 replicas in two datacentres, 5 rounds; each round sends θ down to b1 and its
  // outer gradient back up across the WAN. Only the uploads are rounded.
  const auto fp32 = run_tiny("diloco", "fp32");
  const double one_way = fp32.wan_bytes / 2;
  for (const auto& [format, bytes] : {std::pair<std::string, double>{"bf16", 2.0}, {"fp8", 1.015625}, {"int8", 1.015625}, {"fp4", 0.53125}}) {
    const auto q = run_tiny("diloco", format);
    EXPECT_DOUBLE_EQ(q.wan_bytes, one_way + one_way * bytes / 4) << format;
    EXPECT_NE(q.metrics, fp32.metrics) << format << ": the rounding must reach the model";
    // One seed of a 30k-parameter model: a sanity bound, not a claim (the fidelity suite has those).
    EXPECT_NEAR(q.perplexity, fp32.perplexity, 0.1 * fp32.perplexity) << format;
  }
  EXPECT_EQ(run_tiny("diloco", "fp4", "--threads 1").metrics, run_tiny("diloco", "fp4", "--threads 2").metrics);
}

TEST(Communication, SyncAllReducesRoundedGradients) {
  const auto fp32 = run_tiny("sync", "fp32");
  const auto int8 = run_tiny("sync", "int8");
  EXPECT_DOUBLE_EQ(int8.wan_bytes, fp32.wan_bytes * 1.015625 / 4);
  EXPECT_NE(int8.metrics, fp32.metrics);
  EXPECT_NEAR(int8.perplexity, fp32.perplexity, 0.1 * fp32.perplexity);
  EXPECT_EQ(run_tiny("sync", "fp4", "--threads 1").metrics, run_tiny("sync", "fp4", "--threads 2").metrics);
}

TEST(Communication, RoundedUploadsSurvivePreemptionsAndLinkCuts) {
  for (const std::string algorithm : {"diloco", "sync", "dipaco"}) {
    const auto dir = e2e::out_dir("communication-failures-" + algorithm);
    const auto r = run("run " + kScenarios + "tiny-failures.yaml --set algorithm.name=" + algorithm +
                       " --set placement.workers=[us-gpu1,eu-gpu1,asia-gpu1,asia-gpu2] --set algorithm.tau=100"
                       " --set communication.outer_gradient=fp4 --set trace=off --no-report --out " + dir.string());
    ASSERT_EQ(r.rc, 0) << algorithm << "\n" << r.output;
    EXPECT_GT(json_number(slurp(dir / "summary.json"), "reexecutions"), 0.0) << algorithm;
    const auto cut = e2e::out_dir("communication-cut-" + algorithm);
    // DiLoCo's rounds reach the cut only with more of them (as in Algorithms.DilocoUploadsAreRetriedAcrossACutWanLink).
    const std::string rounds = algorithm == "diloco" ? " --set algorithm.outer_steps=12" : "";
    const auto rc = run("run " + kScenarios + "tiny-link-cut.yaml --set algorithm.name=" + algorithm + rounds +
                        " --set communication.outer_gradient=int8 --set trace=off --no-report --out " + cut.string());
    ASSERT_EQ(rc.rc, 0) << algorithm << "\n" << rc.output;
    EXPECT_GT(json_number(slurp(cut / "summary.json"), "retries"), 0.0) << algorithm;
  }
}

TEST(Communication, AnUnknownFormatIsAOneLineErrorNamingTheKey) {
  const auto r = run("run " + kScenarios + "tiny-diloco.yaml --set communication.outer_gradient=fp5 --out " + e2e::out_dir("communication-bad").string());
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.output.find("key 'communication.outer_gradient': unknown value 'fp5' (choose one of: bf16, fp32, fp4, fp8, int8)"), std::string::npos)
      << r.output;
}
