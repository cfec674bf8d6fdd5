#include "engine/data/tokenizer.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "engine/data/corpus.hpp"
#include "engine/data/text_sources.hpp"

namespace dipaco::engine {
namespace {

class ByteTokenizer final : public Tokenizer {
 public:
  std::vector<uint32_t> encode(std::string_view text) const override {
    std::vector<uint32_t> out;
    out.reserve(text.size());
    for (unsigned char c : text) out.push_back(c);
    return out;
  }
  std::string decode(const std::vector<uint32_t>& ids) const override {
    std::string out;
    for (uint32_t t : ids) out += t == kEndOfDocument ? '\n' : static_cast<char>(t & 0xFF);
    return out;
  }
  int vocab_size() const override { return kByteVocab; }
  uint32_t end_of_document() const override { return kEndOfDocument; }
  std::string name() const override { return "byte"; }
};

// The SentencePiece module's C functions (see spm_module.cpp for why it is loaded apart).
struct SpmModule {
  void (*free_buffer)(void*);
  void* (*load)(const char*, size_t, char**);
  void (*free)(void*);
  int (*vocab)(void*);
  int (*eos)(void*);
  int* (*encode)(void*, const char*, size_t, size_t*);
  char* (*decode)(void*, const int*, size_t, size_t*);
  char* (*train)(const char* const*, const size_t*, size_t, const char*, int, int, size_t*, char**);
};

const SpmModule& spm() {
  static SpmModule m;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("DIPACO_SPM_MODULE");
    const std::string path = env && *env ? env : DIPACO_SPM_MODULE;
#ifdef DIPACO_SANITIZE
    // ASan refuses RTLD_DEEPBIND (scripts/sanitize.sh): the module then binds to the process's
    // symbols first, which is only safe where LibTorch's protobuf is not loaded too.
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
#else
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
#endif
    if (h == nullptr) {
      error = std::string("cannot load the SentencePiece module: ") + ::dlerror() + " (rebuild with scripts/setup.sh)";
      return;
    }
    auto sym = [h](const char* name) { return ::dlsym(h, name); };
    m.free_buffer = reinterpret_cast<decltype(m.free_buffer)>(sym("dpspm_free_buffer"));
    m.load = reinterpret_cast<decltype(m.load)>(sym("dpspm_load"));
    m.free = reinterpret_cast<decltype(m.free)>(sym("dpspm_free"));
    m.vocab = reinterpret_cast<decltype(m.vocab)>(sym("dpspm_vocab"));
    m.eos = reinterpret_cast<decltype(m.eos)>(sym("dpspm_eos"));
    m.encode = reinterpret_cast<decltype(m.encode)>(sym("dpspm_encode"));
    m.decode = reinterpret_cast<decltype(m.decode)>(sym("dpspm_decode"));
    m.train = reinterpret_cast<decltype(m.train)>(sym("dpspm_train"));
    if (!m.free_buffer || !m.load || !m.free || !m.vocab || !m.eos || !m.encode || !m.decode || !m.train)
      error = "the SentencePiece module " + path + " lacks a function (rebuild with scripts/setup.sh)";
  });
  if (!error.empty()) throw DataError(error);
  return m;
}

std::string take_string(char* p, size_t n) {
  std::string s(p, n);
  spm().free_buffer(p);
  return s;
}

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& serialized) {
    char* error = nullptr;
    handle_ = spm().load(serialized.data(), serialized.size(), &error);
    if (handle_ == nullptr) {
      const std::string why = error ? error : "unknown error";
      if (error) spm().free_buffer(error);
      throw DataError("cannot load the SentencePiece model: " + why + " (delete the cache file to rebuild it)");
    }
    vocab_ = spm().vocab(handle_);
    eos_ = static_cast<uint32_t>(spm().eos(handle_));
  }
  ~SentencePieceTokenizer() override { spm().free(handle_); }
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

  std::vector<uint32_t> encode(std::string_view text) const override {
    size_t n = 0;
    int* ids = spm().encode(handle_, text.data(), text.size(), &n);
    std::vector<uint32_t> out(ids, ids + n);
    spm().free_buffer(ids);
    return out;
  }
  std::string decode(const std::vector<uint32_t>& ids) const override {
    const std::vector<int> in(ids.begin(), ids.end());
    size_t n = 0;
    char* p = spm().decode(handle_, in.data(), in.size(), &n);
    return take_string(p, n);
  }
  int vocab_size() const override { return vocab_; }
  uint32_t end_of_document() const override { return eos_; }
  std::string name() const override { return "sentencepiece"; }

 private:
  void* handle_ = nullptr;
  int vocab_ = 0;
  uint32_t eos_ = 0;
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer() { return std::make_unique<ByteTokenizer>(); }

std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& serialized_model) {
  return std::make_unique<SentencePieceTokenizer>(serialized_model);
}

std::string train_sentencepiece(const std::vector<std::string>& texts, const SentencePieceOptions& o) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& t : texts) {
    ptrs.push_back(t.data());
    lens.push_back(t.size());
  }
  size_t size = 0;
  char* error = nullptr;
  char* model = spm().train(ptrs.data(), lens.data(), ptrs.size(), o.algorithm.c_str(), o.vocab, o.threads, &size, &error);
  if (model == nullptr) {
    const std::string why = error ? error : "unknown error";
    if (error) spm().free_buffer(error);
    if (why.find("smaller than required") != std::string::npos)
      throw DataError("a SentencePiece vocabulary of " + std::to_string(o.vocab) +
                      " is too small for this text's characters plus 256 byte pieces (" + why + "); raise data.tokenizer.vocab");
    if (why.find("ocabulary size") != std::string::npos || why.find("vocab_size") != std::string::npos)
      throw DataError("the corpus cannot support a SentencePiece vocabulary of " + std::to_string(o.vocab) + " (" + why +
                      "); lower data.tokenizer.vocab or add text");
    throw DataError("SentencePiece training failed: " + why);
  }
  return take_string(model, size);
}

}  // namespace dipaco::engine
