// A tiny C interface to SentencePiece, built as a loadable module (libdipaco_spm.so).
//
// Why a module: Debian's libsentencepiece carries its own copy of protobuf-lite with exported
// symbols, and libtorch loads the full libprotobuf. Linked into one binary, each library's calls bind
// to the other's protobuf and the process crashes at start-up. tokenizer.cpp loads this module with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND), so SentencePiece binds to its own protobuf and libtorch to its.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

char* copy_out(const std::string& s, size_t* len) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  if (len) *len = s.size();
  return p;
}

// Feeds the trainer chunks of at most kMaxChunk bytes, cut at line breaks (SentencePiece skips
// "sentences" longer than max_sentence_length).
class ChunkIterator final : public sentencepiece::SentenceIterator {
 public:
  static constexpr size_t kMaxChunk = 4000;
  ChunkIterator(const char* const* texts, const size_t* lens, size_t count) : texts_(texts), lens_(lens), count_(count) {
    advance();
  }
  bool done() const override { return done_; }
  void Next() override { advance(); }
  const std::string& value() const override { return value_; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  void advance() {
    while (doc_ < count_) {
      const std::string_view t(texts_[doc_], lens_[doc_]);
      if (pos_ >= t.size()) {
        ++doc_;
        pos_ = 0;
        continue;
      }
      size_t len = std::min(kMaxChunk, t.size() - pos_);
      if (pos_ + len < t.size()) {
        const auto nl = t.rfind('\n', pos_ + len);
        if (nl != std::string_view::npos && nl > pos_) len = nl - pos_ + 1;
      }
      value_.assign(t.substr(pos_, len));
      pos_ += len;
      return;
    }
    done_ = true;
  }
  const char* const* texts_;
  const size_t* lens_;
  size_t count_, doc_ = 0, pos_ = 0;
  std::string value_;
  bool done_ = false;
};

}  // namespace

extern "C" {

void dpspm_free_buffer(void* p) { std::free(p); }

void* dpspm_load(const char* model, size_t size, char** error) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  const auto status = sp->LoadFromSerializedProto(std::string(model, size));
  if (!status.ok()) {
    *error = copy_out(status.ToString(), nullptr);
    delete sp;
    return nullptr;
  }
  return sp;
}

void dpspm_free(void* h) { delete static_cast<sentencepiece::SentencePieceProcessor*>(h); }
int dpspm_vocab(void* h) { return static_cast<sentencepiece::SentencePieceProcessor*>(h)->GetPieceSize(); }
int dpspm_eos(void* h) { return static_cast<sentencepiece::SentencePieceProcessor*>(h)->eos_id(); }

// Returns malloc'd ids (free with dpspm_free_buffer).
int* dpspm_encode(void* h, const char* text, size_t size, size_t* count) {
  std::vector<int> ids;
  static_cast<sentencepiece::SentencePieceProcessor*>(h)->Encode(std::string_view(text, size), &ids);
  int* out = static_cast<int*>(std::malloc(std::max<size_t>(1, ids.size()) * sizeof(int)));
  std::copy(ids.begin(), ids.end(), out);
  *count = ids.size();
  return out;
}

char* dpspm_decode(void* h, const int* ids, size_t count, size_t* size) {
  std::string out;
  static_cast<sentencepiece::SentencePieceProcessor*>(h)->Decode(std::vector<int>(ids, ids + count), &out);
  return copy_out(out, size);
}

// Returns the malloc'd serialized model, or null with *error set.
char* dpspm_train(const char* const* texts, const size_t* lens, size_t count, const char* model_type, int vocab,
                  int threads, size_t* model_size, char** error) {
  sentencepiece::SetRandomGeneratorSeed(1);
  const std::unordered_map<std::string, std::string> args{
      {"model_type", model_type},
      {"vocab_size", std::to_string(vocab)},
      {"character_coverage", "0.9995"},
      {"normalization_rule_name", "identity"},  // keep the text exactly: decode(encode(s)) == s
      {"remove_extra_whitespaces", "false"},
      {"add_dummy_prefix", "false"},
      {"byte_fallback", "true"},  // characters outside the vocabulary become byte pieces
      {"split_digits", "true"},
      {"max_sentence_length", "4192"},
      {"input_sentence_size", "0"},  // every chunk passed in: the sampling is the caller's, deterministic
      {"num_threads", std::to_string(std::max(1, threads))},
      {"minloglevel", "2"},
  };
  ChunkIterator it(texts, lens, count);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &model);
  if (!status.ok()) {
    *error = copy_out(status.ToString(), nullptr);
    return nullptr;
  }
  return copy_out(model, model_size);
}

}  // extern "C"
