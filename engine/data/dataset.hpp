// From a data source to packed token streams: read, split by document hash, train or load the
// tokenizer, tokenize (in parallel), and cache the result in a memory-mapped file keyed by a hash of
// the source bytes and every option that changes the tokens. Torch-free.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/corpus.hpp"
#include "engine/data/tokenizer.hpp"

namespace dipaco::engine {

struct TokenizerSpec {
  std::string kind = "sentencepiece";  // sentencepiece | byte
  int vocab = 4096;
  std::string algorithm = "unigram";   // unigram | bpe
};

struct DatasetSpec {
  std::string source = "debian-mix";  // debian-mix | synthetic | text-folder | jsonl
  std::filesystem::path path = "/";   // debian-mix: filesystem root; text-folder: folder; jsonl: file or folder
  bool per_paragraph = false;         // text-folder: a document per paragraph instead of per file
  int synthetic_documents = 2000;
  int synthetic_doc_bytes = 1024;
  uint64_t synthetic_seed = 1;
  double validation_fraction = 0.05;
  TokenizerSpec tokenizer;
  std::filesystem::path cache_dir;  // unused for the synthetic source, which is generated in memory
  int threads = 1;
};

// One split: documents packed back to back, each followed by the end-of-document token.
struct SplitTokens {
  TokenStream tokens;
  std::vector<uint64_t> doc_start;   // first token of each document
  std::vector<uint16_t> doc_domain;  // domain of each document
};

struct Dataset {
  std::vector<std::string> domains;
  std::shared_ptr<const Tokenizer> tokenizer;
  SplitTokens train, validation;
  bool from_cache = false;            // true when the token cache was reused
  std::filesystem::path cache_file;   // empty for the synthetic source
  std::string rebuilt_because;        // why an existing cache was not used, if one was found
};

struct PrepareProgress {
  std::string stage;  // "reading", "training tokenizer", "tokenizing", "writing cache", "done"
  int64_t documents = 0;
  int64_t tokens = 0;
  double seconds = 0.0;
};
using ProgressFn = std::function<void(const PrepareProgress&)>;

// Throws DataError (bad or missing input, a vocabulary the corpus cannot support).
Dataset prepare_dataset(const DatasetSpec& spec, const ProgressFn& progress = {});

// Fixed-length sequences over a split; the first prefix_tokens of each are its routing prefix.
SequenceSet make_sequences(const SplitTokens& split, int seq_len, int prefix_tokens);

struct DomainStats {
  std::string name;
  int64_t train_documents = 0, train_tokens = 0, validation_documents = 0, validation_tokens = 0;
};
std::vector<DomainStats> domain_stats(const Dataset& data);

// True if a document goes to validation: a hash of its text, so the split never depends on order.
bool is_validation_document(const std::string& text, double validation_fraction);

// 64-bit content hash (FNV-1a over 8-byte words); fast enough to key caches on raw source bytes.
uint64_t content_hash(std::string_view bytes, uint64_t seed = 0);

}  // namespace dipaco::engine
