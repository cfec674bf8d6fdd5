// Built-in data: a deterministic synthetic multi-domain corpus and a byte-level tokenizer.
// Each domain comes from a clearly different generator, so routing has clusters to find.
#pragma once

#include <cstdint>
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

// Byte-level tokenizer: token = byte value; kEndOfDocument separates packed documents.
// Byte 0 never occurs in the generated text, so it is free to be the separator.
constexpr uint16_t kEndOfDocument = 0;
constexpr int kByteVocab = 256;
std::vector<uint16_t> byte_encode(std::string_view text);
std::string byte_decode(const std::vector<uint16_t>& tokens);

// Packed fixed-length training sequences. Sequence i holds seq_len + 1 tokens (inputs and shifted
// targets) at tokens[i * (seq_len + 1)]; domain[i] is the domain of the document it starts in.
struct SequenceSet {
  int seq_len = 0;
  std::vector<uint16_t> tokens;
  std::vector<uint8_t> domain;
  int64_t size() const { return static_cast<int64_t>(domain.size()); }
  const uint16_t* sequence(int64_t i) const { return tokens.data() + i * (seq_len + 1); }
};

struct CorpusSplit {
  SequenceSet train;
  SequenceSet validation;
};

// Splits documents into train/validation by a hash of their index and seed (deterministic), then
// packs each split into sequences with an end-of-document token between documents.
CorpusSplit pack_corpus(const std::vector<Document>& docs, int seq_len, double validation_fraction,
                        uint64_t seed);

// SplitMix64: the project's one seed mixer, so that every derived stream is reproducible.
uint64_t mix_seed(uint64_t a, uint64_t b);

}  // namespace dipaco::engine
