#include <gtest/gtest.h>

#include "engine/data/corpus.hpp"
#include "engine/data/text_sources.hpp"
#include "engine/data/tokenizer.hpp"

using namespace dipaco::engine;

namespace {

std::vector<std::string> training_text() {
  std::vector<std::string> texts;
  for (const auto& d : synthetic_corpus(5, 100, 800)) texts.push_back(d.text);  // varied English-like text
  for (int i = 0; i < 300; ++i) {
    texts.push_back("The quick brown fox " + std::to_string(i) + " jumps over the lazy dog.\nLe renard brun saute.\n");
    texts.push_back("Der schnelle braune Fuchs springt. Быстрая лиса прыгает. 速い茶色の狐。\n");
  }
  return texts;
}

}  // namespace

TEST(SentencePiece, RoundTripsMultilingualTextAndOddBytes) {
  for (const char* algorithm : {"unigram", "bpe"}) {
    const auto tok = load_sentencepiece(train_sentencepiece(training_text(), {400, algorithm, 2}));
    EXPECT_EQ(tok->vocab_size(), 400);
    const std::vector<std::string> samples = {
        "The quick brown fox 17 jumps.\n  Indented line\twith tab.",
        "Быстрая лиса, 速い狐, ελληνικά, emoji 🙂, Ω≈ç√",
        sanitize_utf8(std::string("odd bytes \xff\xfe and \xC3 end")),
    };
    for (const auto& s : samples) EXPECT_EQ(tok->decode(tok->encode(s)), s) << algorithm << ": " << s;
    EXPECT_LT(tok->encode("The quick brown fox").size(), std::string("The quick brown fox").size());
  }
}

TEST(SentencePiece, TooLargeAVocabularyIsADataError) {
  try {
    train_sentencepiece({"tiny corpus", "just a few words"}, {5000, "unigram", 1});
    FAIL() << "expected an error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("data.tokenizer.vocab"), std::string::npos) << e.what();
  }
}

TEST(SentencePiece, TrainingIsDeterministic) {
  // Same text, options and trainer threads: the same model, byte for byte (compared as a bool: it is binary).
  const bool same = train_sentencepiece(training_text(), {400, "unigram", 2}) == train_sentencepiece(training_text(), {400, "unigram", 2});
  EXPECT_TRUE(same);
}

TEST(ByteTokenizer, RoundTripsBytes) {
  const auto tok = make_byte_tokenizer();
  const std::string s = "héllo\n";
  EXPECT_EQ(tok->decode(tok->encode(s)), s);
  EXPECT_EQ(tok->vocab_size(), 256);
}
