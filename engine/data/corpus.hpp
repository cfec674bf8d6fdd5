// Built-in data: a deterministic synthetic multi-domain corpus and a byte-level tokenizer.
// Each domain comes from a clearly different generator, so routing has clusters to find.
#pragma once

#include "engine/train/seed.hpp"  // mix_seed, for the streams derived here

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dipaco::engine {

struct Document {
  int domain = 0;
  std::string text;
};

// Names of the synthetic domains, indexed by Document::domain.
const std::vector<std::string>& synthetic_domain_names();

// `count` documents, domains interleaved round-robin, each about `doc_bytes` long. Same seed, same bytes.
std::vector<Document> synthetic_corpus(uint64_t seed, int count, int doc_bytes);

// The byte-level tokenizer's end-of-document token: byte 0, which sanitized text never contains.
constexpr uint16_t kEndOfDocument = 0;
constexpr int kByteVocab = 256;

// A split's tokens, in memory or memory-mapped from the token cache; 2 or 4 bytes per token.
struct TokenStream {
  std::shared_ptr<const void> owner;  // keeps the memory or the mapping alive
  const void* data = nullptr;
  int64_t size = 0;
  int bytes_per_token = 2;
  uint32_t operator[](int64_t i) const {
    return bytes_per_token == 2 ? static_cast<const uint16_t*>(data)[i] : static_cast<const uint32_t*>(data)[i];
  }
  static TokenStream from_vector(const std::vector<uint32_t>& tokens, int bytes_per_token);
};

// Fixed-length sequences over a token stream. Sequence i is the seq_len + 1 tokens from
// i * seq_len (inputs and shifted targets; neighbours share one token). Its first prefix_tokens
// tokens are the routing prefix: they are context, never scored in validation perplexity.
struct SequenceSet {
  int seq_len = 0;
  int prefix_tokens = 0;
  TokenStream stream;
  std::vector<uint16_t> domain;  // domain of the document each sequence starts in
  int64_t size() const { return static_cast<int64_t>(domain.size()); }
  void copy_sequence(int64_t i, int64_t* out) const;     // seq_len + 1 tokens
  std::vector<uint32_t> routing_prefix(int64_t i) const;  // the first prefix_tokens tokens
  // Whether target position t (predicting token t + 1) counts in perplexity.
  bool scored(int t) const { return t + 1 >= prefix_tokens; }
};

struct CorpusSplit {
  SequenceSet train;
  SequenceSet validation;
};

// Byte-level, in memory: splits `docs` by document hash and packs each split (tests, synthetic data).
CorpusSplit pack_corpus(const std::vector<Document>& docs, int seq_len, double validation_fraction, int prefix_tokens = 0);

}  // namespace dipaco::engine
