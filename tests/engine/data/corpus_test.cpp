#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "engine/train/config.hpp"
#include "engine/data/corpus.hpp"
#include "engine/data/sharding.hpp"

using namespace dipaco::engine;

TEST(SyntheticCorpus, IsDeterministicAndCoversEveryDomain) {
  const auto a = synthetic_corpus(7, 50, 256);
  const auto b = synthetic_corpus(7, 50, 256);
  const auto c = synthetic_corpus(8, 50, 256);
  ASSERT_EQ(a.size(), 50u);
  std::set<int> domains;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].text, b[i].text);
    EXPECT_EQ(a[i].text.find('\0'), std::string::npos) << "byte 0 is the end-of-document token";
    domains.insert(a[i].domain);
  }
  EXPECT_EQ(domains.size(), synthetic_domain_names().size());
  EXPECT_NE(a[0].text, c[0].text);
}

TEST(SyntheticCorpus, DomainsHaveDistinctByteStatistics) {
  // Digits dominate arithmetic, ACGT dominates dna: a cheap check that generators differ.
  const auto docs = synthetic_corpus(1, 10, 512);
  auto share = [](const std::string& s, const std::string& alphabet) {
    size_t n = 0;
    for (char ch : s) n += alphabet.find(ch) != std::string::npos;
    return static_cast<double>(n) / static_cast<double>(s.size());
  };
  EXPECT_GT(share(docs[0].text, "0123456789"), 0.4);  // domain 0: arithmetic
  EXPECT_GT(share(docs[3].text, "ACGT"), 0.9);        // domain 3: dna
  EXPECT_LT(share(docs[1].text, "ACGT"), 0.1);        // domain 1: prose
}

TEST(PackCorpus, SplitsByDocumentHashIntoFixedLengthSequences) {
  const auto docs = synthetic_corpus(3, 200, 300);
  const auto a = pack_corpus(docs, 32, 0.2);
  auto reversed = docs;
  std::reverse(reversed.begin(), reversed.end());
  const auto b = pack_corpus(reversed, 32, 0.2);
  // The split depends on each document's text, not on its position.
  EXPECT_EQ(a.validation.size() + a.train.size(), b.validation.size() + b.train.size());
  EXPECT_NEAR(static_cast<double>(a.validation.size()), static_cast<double>(b.validation.size()), 2.0);
  const double val_share = static_cast<double>(a.validation.size()) / static_cast<double>(a.train.size() + a.validation.size());
  EXPECT_NEAR(val_share, 0.2, 0.08);
  // Neighbouring sequences share their boundary token.
  std::vector<int64_t> s0(33), s1(33);
  a.train.copy_sequence(0, s0.data());
  a.train.copy_sequence(1, s1.data());
  EXPECT_EQ(s0[32], s1[0]);
}

TEST(PackCorpus, RoutingPrefixIsContextOnly) {
  const auto split = pack_corpus(synthetic_corpus(3, 50, 300), 64, 0.1, 32);
  EXPECT_EQ(split.train.prefix_tokens, 32);
  const auto prefix = split.train.routing_prefix(2);
  std::vector<int64_t> seq(65);
  split.train.copy_sequence(2, seq.data());
  ASSERT_EQ(prefix.size(), 32u);
  for (size_t t = 0; t < 32; ++t) EXPECT_EQ(prefix[t], static_cast<uint32_t>(seq[t]));
  // Targets 0..30 predict tokens 1..31, inside the prefix; target 31 predicts token 32, the first scored.
  EXPECT_FALSE(split.train.scored(30));
  EXPECT_TRUE(split.train.scored(31));
  EXPECT_TRUE(split.train.scored(63));
}

TEST(Sharding, IidShardsPartitionAllSequences) {
  const auto split = pack_corpus(synthetic_corpus(3, 100, 300), 32, 0.1);
  const auto shards = iid_shards(split.train, 4, 9);
  std::set<int64_t> seen;
  for (const auto& s : shards) {
    EXPECT_NEAR(static_cast<double>(s.size()), split.train.size() / 4.0, 1.0);
    seen.insert(s.begin(), s.end());
  }
  EXPECT_EQ(static_cast<int64_t>(seen.size()), split.train.size());
  EXPECT_EQ(iid_shards(split.train, 4, 9), shards);
  EXPECT_NE(iid_shards(split.train, 4, 10), shards);
}

TEST(Sharding, DomainShardsKeepDomainsApart) {
  const auto split = pack_corpus(synthetic_corpus(3, 100, 300), 32, 0.1);
  const auto shards = domain_shards(split.train, 5);
  for (size_t s = 0; s < shards.size(); ++s) {
    ASSERT_FALSE(shards[s].empty());
    for (int64_t id : shards[s]) EXPECT_EQ(split.train.domain[static_cast<size_t>(id)], s);
  }
}

TEST(LrSchedule, WarmsUpLinearlyThenDecaysByCosine) {
  InnerOptConfig cfg;
  cfg.lr = 1.0;
  cfg.warmup_steps = 10;
  cfg.total_steps = 110;
  cfg.min_lr_ratio = 0.1;
  EXPECT_DOUBLE_EQ(inner_lr_at(cfg, 0), 0.1);
  EXPECT_DOUBLE_EQ(inner_lr_at(cfg, 9), 1.0);
  EXPECT_DOUBLE_EQ(inner_lr_at(cfg, 10), 1.0);
  EXPECT_NEAR(inner_lr_at(cfg, 60), 0.55, 1e-12);  // halfway: min + (1 - min) / 2
  EXPECT_NEAR(inner_lr_at(cfg, 110), 0.1, 1e-12);
  EXPECT_NEAR(inner_lr_at(cfg, 500), 0.1, 1e-12);
}
