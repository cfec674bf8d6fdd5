// The CPU-to-kernel table, the start-up decision and what `precision` resolves to, as pure
// functions over made-up CPUs (engine/train/blas_kernel.hpp, engine/train/precision.hpp).
#include <gtest/gtest.h>

#include "engine/train/blas_kernel.hpp"
#include "engine/train/precision.hpp"

using namespace dipaco::engine;

namespace {

CpuFeatures sse_only() { return CpuFeatures{"GenuineIntel", "old", false, false, false, false, false}; }
CpuFeatures avx_only() { return CpuFeatures{"GenuineIntel", "Sandy Bridge", true, false, false, false, false}; }
CpuFeatures avx2() { return CpuFeatures{"AuthenticAMD", "EPYC 7763", true, true, false, false, false}; }
CpuFeatures skylake() { return CpuFeatures{"GenuineIntel", "Xeon Gold 6148", true, true, true, false, false}; }
CpuFeatures zen5() { return CpuFeatures{"AuthenticAMD", "EPYC 9B45", true, true, true, true, false}; }
CpuFeatures sapphire_rapids() { return CpuFeatures{"GenuineIntel", "Xeon Platinum 8481C", true, true, true, true, true}; }

}  // namespace

TEST(BlasKernel, EachCpuGetsTheWidestKernelItCanRun) {
  EXPECT_EQ(best_kernel_for(sse_only()), "");
  EXPECT_EQ(best_kernel_for(avx_only()), "Sandybridge");
  EXPECT_EQ(best_kernel_for(avx2()), "Haswell");
  EXPECT_EQ(best_kernel_for(skylake()), "SkylakeX");
  EXPECT_EQ(best_kernel_for(zen5()), "SkylakeX");
  EXPECT_EQ(best_kernel_for(sapphire_rapids()), "SkylakeX");
}

TEST(BlasKernel, KernelNamesRankByTheirVectorIsa) {
  EXPECT_EQ(kernel_isa_rank("Prescott"), 0);
  EXPECT_EQ(kernel_isa_rank("NEHALEM"), 0);  // any case
  EXPECT_EQ(kernel_isa_rank("Sandybridge"), 1);
  EXPECT_EQ(kernel_isa_rank("Haswell"), 2);
  EXPECT_EQ(kernel_isa_rank("Zen"), 2);
  EXPECT_EQ(kernel_isa_rank("SkylakeX"), 3);
  EXPECT_EQ(kernel_isa_rank("Cooperlake"), 3);
  EXPECT_EQ(kernel_isa_rank("SapphireRapids"), 3);
  EXPECT_EQ(kernel_isa_rank("NoSuchCore"), -1);
  // Every kernel the table proposes is one it knows.
  for (const auto& cpu : {avx_only(), avx2(), skylake()}) EXPECT_GE(kernel_isa_rank(best_kernel_for(cpu)), 1);
}

TEST(BlasKernel, AGenericKernelIsReplacedOnceUnlessTheUserChoseIt) {
  // The Sapphire Rapids case: OpenBLAS 0.3.21 does not know the CPU and falls back to Prescott.
  auto d = decide_kernel("Prescott", sapphire_rapids(), false, false);
  EXPECT_TRUE(d.reexecute);
  EXPECT_EQ(d.coretype, "SkylakeX");
  d = decide_kernel("Prescott", avx2(), false, false);
  EXPECT_TRUE(d.reexecute);
  EXPECT_EQ(d.coretype, "Haswell");
  EXPECT_TRUE(decide_kernel("Haswell", zen5(), false, false).reexecute);  // AVX2 kernel on an AVX-512 CPU
  // Nothing to do: the user's own OPENBLAS_CORETYPE, a second run, the right kernel, an unknown
  // name (not ours to judge), no OpenBLAS, or a CPU with nothing better.
  EXPECT_FALSE(decide_kernel("Prescott", sapphire_rapids(), true, false).reexecute);
  EXPECT_FALSE(decide_kernel("Prescott", sapphire_rapids(), false, true).reexecute);
  EXPECT_FALSE(decide_kernel("SkylakeX", sapphire_rapids(), false, false).reexecute);
  EXPECT_FALSE(decide_kernel("Cooperlake", zen5(), false, false).reexecute);
  EXPECT_FALSE(decide_kernel("Haswell", avx2(), false, false).reexecute);
  EXPECT_FALSE(decide_kernel("", sapphire_rapids(), false, false).reexecute);
  EXPECT_FALSE(decide_kernel("Prescott", sse_only(), false, false).reexecute);
}

TEST(Precision, Bf16NeedsBf16MatrixInstructions) {
  const auto ok = resolve_precision(Precision::Bf16, zen5());
  EXPECT_TRUE(ok.error.empty());
  EXPECT_EQ(ok.precision, Precision::Bf16);
  EXPECT_EQ(resolve_precision(Precision::Bf16, sapphire_rapids()).precision, Precision::Bf16);
  const auto refused = resolve_precision(Precision::Bf16, skylake());
  EXPECT_NE(refused.error.find("Xeon Gold 6148"), std::string::npos) << refused.error;
  EXPECT_NE(refused.error.find("no bf16 matrix instructions"), std::string::npos) << refused.error;
  EXPECT_NE(refused.error.find("precision: fp32"), std::string::npos) << refused.error;
  EXPECT_EQ(refused.error.find('\n'), std::string::npos);  // one line
}

TEST(Precision, Fp32IsAlwaysPossible) {
  for (const auto& cpu : {sse_only(), skylake(), sapphire_rapids()}) {
    const auto c = resolve_precision(Precision::Fp32, cpu);
    EXPECT_TRUE(c.error.empty());
    EXPECT_EQ(c.precision, Precision::Fp32);
  }
}

TEST(Precision, AutoNeverFailsAndNeverStaysAuto) {
  for (const auto& cpu : {sse_only(), avx2(), skylake(), zen5(), sapphire_rapids()}) {
    const auto c = resolve_precision(Precision::Auto, cpu);
    EXPECT_TRUE(c.error.empty());
    EXPECT_NE(c.precision, Precision::Auto);
    EXPECT_FALSE(c.reason.empty());
  }
  // bf16 only with AMX: AVX512_BF16 alone measured slower than fp32 on the quickstart.
  EXPECT_EQ(resolve_precision(Precision::Auto, sapphire_rapids()).precision, Precision::Bf16);
  EXPECT_EQ(resolve_precision(Precision::Auto, zen5()).precision, Precision::Fp32);
  EXPECT_EQ(resolve_precision(Precision::Auto, skylake()).precision, Precision::Fp32);
  EXPECT_EQ(resolve_precision(Precision::Auto, avx2()).precision, Precision::Fp32);
}
