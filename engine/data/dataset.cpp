#include "engine/data/dataset.hpp"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "engine/data/text_sources.hpp"
#include "engine/data/token_cache.hpp"
#include "reports/atomic_file.hpp"

namespace dipaco::engine {

namespace fs = std::filesystem;

uint64_t content_hash(std::string_view bytes, uint64_t seed) {
  constexpr uint64_t kPrime = 0x100000001B3ULL;
  uint64_t h = 0xCBF29CE484222325ULL ^ seed;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = (h ^ w) * kPrime;
    h ^= h >> 29;
  }
  for (; i < bytes.size(); ++i) h = (h ^ static_cast<unsigned char>(bytes[i])) * kPrime;
  return mix_seed(h, bytes.size());
}

bool is_validation_document(const std::string& text, double validation_fraction) {
  return static_cast<double>(content_hash(text, 0x5B11) % 1000000ULL) < validation_fraction * 1e6;
}

SequenceSet make_sequences(const SplitTokens& split, int seq_len, int prefix_tokens) {
  SequenceSet s;
  s.seq_len = seq_len;
  s.prefix_tokens = prefix_tokens;
  s.stream = split.tokens;
  const int64_t count = split.tokens.size > seq_len ? (split.tokens.size - 1) / seq_len : 0;
  s.domain.resize(static_cast<size_t>(count));
  size_t doc = 0;
  for (int64_t i = 0; i < count; ++i) {
    const auto first = static_cast<uint64_t>(i * seq_len);
    while (doc + 1 < split.doc_start.size() && split.doc_start[doc + 1] <= first) ++doc;
    s.domain[static_cast<size_t>(i)] = split.doc_domain.empty() ? 0 : split.doc_domain[doc];
  }
  return s;
}

std::vector<DomainStats> domain_stats(const Dataset& data) {
  std::vector<DomainStats> out(data.domains.size());
  for (size_t d = 0; d < out.size(); ++d) out[d].name = data.domains[d];
  auto count = [&](const SplitTokens& s, bool train) {
    for (size_t i = 0; i < s.doc_start.size(); ++i) {
      const uint64_t end = i + 1 < s.doc_start.size() ? s.doc_start[i + 1] : static_cast<uint64_t>(s.tokens.size);
      auto& st = out[s.doc_domain[i]];
      (train ? st.train_documents : st.validation_documents) += 1;
      (train ? st.train_tokens : st.validation_tokens) += static_cast<int64_t>(end - s.doc_start[i]);
    }
  };
  count(data.train, true);
  count(data.validation, false);
  return out;
}

namespace {

using Clock = std::chrono::steady_clock;

struct Packed {
  std::vector<uint32_t> tokens;
  SplitTokens docs;  // doc tables only
};

// Tokenizes `docs` on `threads` threads (contiguous blocks, so the order never changes) and packs
// them with the end-of-document token, reporting progress from this thread.
void tokenize(const Tokenizer& tok, const std::vector<const Document*>& docs, int threads, Packed& out,
              const std::function<void(int64_t, int64_t)>& report) {
  std::vector<std::vector<uint32_t>> encoded(docs.size());
  std::atomic<int64_t> done_docs{0}, done_tokens{0};
  const size_t n = docs.size();
  const size_t workers = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(threads), n));
  std::vector<std::thread> pool;
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mutex;
  for (size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&, w] {
      try {
        for (size_t i = w * n / workers; i < (w + 1) * n / workers; ++i) {
          encoded[i] = tok.encode(docs[i]->text);
          done_docs.fetch_add(1, std::memory_order_relaxed);
          done_tokens.fetch_add(static_cast<int64_t>(encoded[i].size()) + 1, std::memory_order_relaxed);
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        failure = e.what();
        failed = true;
      }
    });
  }
  if (report) {
    while (done_docs.load() < static_cast<int64_t>(n) && !failed.load()) {
      report(done_docs.load(), done_tokens.load());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  for (auto& t : pool) t.join();
  if (failed) throw DataError("tokenizing failed: " + failure);
  size_t total = 0;
  for (const auto& e : encoded) total += e.size() + 1;
  out.tokens.reserve(total);
  for (size_t i = 0; i < n; ++i) {
    out.docs.doc_start.push_back(out.tokens.size());
    out.docs.doc_domain.push_back(static_cast<uint16_t>(docs[i]->domain));
    out.tokens.insert(out.tokens.end(), encoded[i].begin(), encoded[i].end());
    out.tokens.push_back(tok.end_of_document());
    std::vector<uint32_t>().swap(encoded[i]);
  }
}

// A deterministic sample of about `budget` bytes of training text for the tokenizer trainer.
std::vector<std::string> tokenizer_sample(const std::vector<const Document*>& train, size_t budget) {
  size_t total = 0;
  for (const auto* d : train) total += d->text.size();
  const uint64_t keep = total <= budget ? 1000 : std::max<uint64_t>(1, budget * 1000 / total);
  std::vector<std::string> out;
  for (const auto* d : train)
    if (content_hash(d->text, 0x70C) % 1000 < keep) out.push_back(d->text);
  return out;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

CorpusSplit pack_corpus(const std::vector<Document>& docs, int seq_len, double validation_fraction, int prefix_tokens) {
  auto byte = make_byte_tokenizer();
  std::vector<const Document*> train, validation;
  for (const auto& d : docs) (is_validation_document(d.text, validation_fraction) ? validation : train).push_back(&d);
  Packed t, v;
  tokenize(*byte, train, 1, t, {});
  tokenize(*byte, validation, 1, v, {});
  t.docs.tokens = TokenStream::from_vector(t.tokens, 2);
  v.docs.tokens = TokenStream::from_vector(v.tokens, 2);
  return {make_sequences(t.docs, seq_len, prefix_tokens), make_sequences(v.docs, seq_len, prefix_tokens)};
}

Dataset prepare_dataset(const DatasetSpec& spec, const ProgressFn& progress) {
  const auto started = Clock::now();
  auto report = [&](const std::string& stage, int64_t docs, int64_t tokens) {
    if (progress) progress({stage, docs, tokens, std::chrono::duration<double>(Clock::now() - started).count()});
  };
  const bool synthetic = spec.source == "synthetic";
  const bool byte_level = spec.tokenizer.kind == "byte";
  Dataset data;

  // The cache key covers the source bytes and every option that changes the tokens.
  uint64_t key = content_hash(fmt::format("dipaco-data v{} {} {} {} {} {} {} {}", kTokenCacheVersion, spec.source,
                                          spec.path.string(), spec.per_paragraph, spec.validation_fraction,
                                          spec.tokenizer.kind, spec.tokenizer.vocab, spec.tokenizer.algorithm));
  SourceSpec source{spec.source, spec.path, spec.per_paragraph};
  if (!synthetic) {
    report("hashing sources", 0, 0);
    for (const auto& f : source_files(source)) key = content_hash(read_text(f), mix_seed(key, content_hash(f.string())));
    data.cache_file = spec.cache_dir / fmt::format("{:016x}.tokens", key);
  } else {
    key = mix_seed(key, mix_seed(spec.synthetic_seed, mix_seed(spec.synthetic_documents, spec.synthetic_doc_bytes)));
  }
  const fs::path model_file = spec.cache_dir / fmt::format("{:016x}.spm", key);

  std::shared_ptr<const Tokenizer> tokenizer;
  if (byte_level) tokenizer = make_byte_tokenizer();
  else if (!synthetic && fs::exists(model_file)) {
    try {
      tokenizer = load_sentencepiece(read_text(model_file));
    } catch (const DataError&) {
      tokenizer.reset();  // a damaged model is retrained below
    }
  }

  if (!synthetic && tokenizer) {
    std::string why;
    if (auto cached = open_token_cache(data.cache_file, key, &why)) {
      data.domains = std::move(cached->domains);
      data.train = std::move(cached->train);
      data.validation = std::move(cached->validation);
      data.tokenizer = tokenizer;
      data.from_cache = true;
      report("done", static_cast<int64_t>(data.train.doc_start.size() + data.validation.doc_start.size()),
             data.train.tokens.size + data.validation.tokens.size);
      return data;
    }
    if (why != "no cache file") data.rebuilt_because = data.cache_file.string() + ": " + why;
  }

  report("reading", 0, 0);
  Corpus corpus;
  if (synthetic) {
    for (const auto& name : synthetic_domain_names()) corpus.add_domain(name);
    corpus.docs = synthetic_corpus(spec.synthetic_seed, spec.synthetic_documents, spec.synthetic_doc_bytes);
  } else {
    corpus = read_source(source);
  }
  if (corpus.docs.empty()) throw DataError(spec.source + " " + spec.path.string() + ": the corpus has no documents (data.source, data.path)");
  std::vector<const Document*> train, validation;
  for (const auto& d : corpus.docs) (is_validation_document(d.text, spec.validation_fraction) ? validation : train).push_back(&d);
  if (train.empty() || validation.empty())
    throw DataError(fmt::format("{}: {} documents leave an empty {} split; add text or change data.validation_fraction",
                                spec.source, corpus.docs.size(), train.empty() ? "training" : "validation"));

  if (!tokenizer) {
    report("training tokenizer", static_cast<int64_t>(train.size()), 0);
    // A fixed trainer thread count: SentencePiece's EM sums per thread, so the model (and every token
    // after it) would otherwise depend on --threads.
    constexpr int kTrainerThreads = 2;
    const std::string model = train_sentencepiece(tokenizer_sample(train, 8u << 20),
                                                  {spec.tokenizer.vocab, spec.tokenizer.algorithm, kTrainerThreads});
    if (!synthetic) {
      fs::create_directories(spec.cache_dir);
      reports::write_atomically(model_file, model);
    }
    tokenizer = load_sentencepiece(model);
  }
  const int width = tokenizer->vocab_size() <= 65536 ? 2 : 4;

  Packed t, v;
  const int64_t train_docs = static_cast<int64_t>(train.size());
  tokenize(*tokenizer, train, spec.threads, t, [&](int64_t d, int64_t n) { report("tokenizing", d, n); });
  tokenize(*tokenizer, validation, spec.threads, v,
           [&](int64_t d, int64_t n) { report("tokenizing", train_docs + d, static_cast<int64_t>(t.tokens.size()) + n); });
  data.domains = corpus.domains;
  data.tokenizer = tokenizer;
  if (synthetic) {
    t.docs.tokens = TokenStream::from_vector(t.tokens, width);
    v.docs.tokens = TokenStream::from_vector(v.tokens, width);
    data.train = std::move(t.docs);
    data.validation = std::move(v.docs);
    return data;
  }

  report("writing cache", static_cast<int64_t>(corpus.docs.size()), static_cast<int64_t>(t.tokens.size() + v.tokens.size()));
  fs::create_directories(spec.cache_dir);
  write_token_cache(data.cache_file, key, corpus.domains, width, t.tokens, t.docs, v.tokens, v.docs);
  std::string why;
  auto cached = open_token_cache(data.cache_file, key, &why);
  if (!cached) throw DataError(data.cache_file.string() + ": the cache just written does not read back: " + why);
  data.train = std::move(cached->train);
  data.validation = std::move(cached->validation);
  report("done", static_cast<int64_t>(corpus.docs.size()), data.train.tokens.size + data.validation.tokens.size);
  return data;
}

}  // namespace dipaco::engine
