// Tokenizers behind one torch-free interface: byte-level (vocabulary 256, token = byte) and
// SentencePiece (BPE or unigram, trained on the training split). SentencePiece stays in tokenizer.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dipaco::engine {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<uint32_t> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<uint32_t>& ids) const = 0;
  virtual int vocab_size() const = 0;
  virtual uint32_t end_of_document() const = 0;  // packed between documents
  virtual std::string name() const = 0;
};

std::unique_ptr<Tokenizer> make_byte_tokenizer();

struct SentencePieceOptions {
  int vocab = 4096;
  std::string algorithm = "unigram";  // unigram | bpe
  int threads = 1;
};

// Trains on `texts` (each at most ~4 KB; longer ones are split at line breaks) and returns the
// serialized model. Identity normalization and byte fallback make decode(encode(s)) == s for any
// valid UTF-8 s. Throws DataError when the text cannot support the vocabulary.
std::string train_sentencepiece(const std::vector<std::string>& texts, const SentencePieceOptions& options);
std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& serialized_model);

}  // namespace dipaco::engine
