// The dataset pipeline on a small text-folder corpus: split, cache reuse and corruption handling.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/data/dataset.hpp"
#include "engine/data/text_sources.hpp"

using namespace dipaco::engine;
namespace fs = std::filesystem;

namespace {

DatasetSpec spec(const std::string& name) {
  const auto root = fs::temp_directory_path() / ("dipaco-dataset-" + name);
  fs::remove_all(root);
  fs::create_directories(root / "text");
  for (int i = 0; i < 40; ++i) {
    std::ofstream f(root / "text" / ("doc" + std::to_string(i) + ".txt"));
    for (int k = 0; k < 30; ++k) f << "Document " << i << " line " << k << ": the cat and the dog " << (i * k) % 7 << ".\n";
  }
  DatasetSpec s;
  s.source = "text-folder";
  s.path = root / "text";
  s.cache_dir = root / "cache";
  s.validation_fraction = 0.2;
  s.tokenizer = {"sentencepiece", 300, "bpe"};
  s.threads = 2;
  return s;
}

std::vector<uint32_t> all_tokens(const SplitTokens& s) {
  std::vector<uint32_t> out;
  for (int64_t i = 0; i < s.tokens.size; ++i) out.push_back(s.tokens[i]);
  return out;
}

}  // namespace

TEST(Dataset, SecondLoadReusesTheCacheWithoutTokenizing) {
  const auto s = spec("reuse");
  int tokenizing_reports = 0;
  const auto first = prepare_dataset(s);
  EXPECT_FALSE(first.from_cache);
  const auto second = prepare_dataset(s, [&](const PrepareProgress& p) { tokenizing_reports += p.stage == "tokenizing"; });
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ(tokenizing_reports, 0);
  EXPECT_EQ(all_tokens(first.train), all_tokens(second.train));
  EXPECT_EQ(first.validation.doc_start, second.validation.doc_start);
  EXPECT_GT(first.validation.doc_start.size(), 0u);
  EXPECT_EQ(first.train.doc_start.size() + first.validation.doc_start.size(), 40u);
}

TEST(Dataset, SplitIsDeterministic) {
  const auto a = prepare_dataset(spec("split-a"));
  const auto b = prepare_dataset(spec("split-b"));  // fresh cache, same text
  EXPECT_FALSE(b.from_cache);
  EXPECT_EQ(all_tokens(a.validation), all_tokens(b.validation));
  EXPECT_EQ(all_tokens(a.train), all_tokens(b.train));
}

TEST(Dataset, CorruptCachesAreDetectedAndRebuilt) {
  const auto s = spec("corrupt");
  const auto good = prepare_dataset(s);
  const auto size = fs::file_size(good.cache_file);

  fs::resize_file(good.cache_file, size - 100);  // truncated
  auto again = prepare_dataset(s);
  EXPECT_FALSE(again.from_cache);
  EXPECT_NE(again.rebuilt_because.find("truncated"), std::string::npos) << again.rebuilt_because;
  EXPECT_EQ(all_tokens(again.train), all_tokens(good.train));

  {
    std::fstream f(good.cache_file, std::ios::in | std::ios::out | std::ios::binary);
    f.write("XXXX", 4);  // wrong magic
  }
  again = prepare_dataset(s);
  EXPECT_NE(again.rebuilt_because.find("magic"), std::string::npos) << again.rebuilt_because;

  {
    std::fstream f(good.cache_file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    const uint32_t version = 99;
    f.write(reinterpret_cast<const char*>(&version), 4);
  }
  again = prepare_dataset(s);
  EXPECT_NE(again.rebuilt_because.find("version 99"), std::string::npos) << again.rebuilt_because;
  EXPECT_TRUE(prepare_dataset(s).from_cache);
}

TEST(Dataset, ChangingTheTextChangesTheKey) {
  auto s = spec("key");
  const auto first = prepare_dataset(s);
  std::ofstream(s.path / "doc0.txt", std::ios::app) << "one more line\n";
  const auto second = prepare_dataset(s);
  EXPECT_NE(first.cache_file, second.cache_file);
  EXPECT_FALSE(second.from_cache);
}

TEST(Dataset, SequencesCarryDomainsAndStatsAddUp) {
  const auto d = prepare_dataset(spec("stats"));
  const auto seqs = make_sequences(d.train, 16, 4);
  EXPECT_EQ(seqs.size(), (d.train.tokens.size - 1) / 16);
  const auto stats = domain_stats(d);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].train_tokens, d.train.tokens.size);
  EXPECT_EQ(stats[0].train_documents + stats[0].validation_documents, 40);
}

TEST(Dataset, EmptyCorpusIsADataError) {
  auto s = spec("empty");
  for (const auto& e : fs::directory_iterator(s.path)) std::ofstream(e.path(), std::ios::trunc);
  EXPECT_THROW(prepare_dataset(s), DataError);
}
