#include "sim/run/data_setup.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <ostream>

#include "engine/data/text_sources.hpp"

namespace dipaco::sim {

engine::DatasetSpec dataset_spec(const Scenario& s, int threads) {
  engine::DatasetSpec d;
  d.source = s.data.source;
  d.path = s.data.path;
  d.per_paragraph = s.data.per_paragraph;
  d.synthetic_documents = s.data.documents;
  d.synthetic_doc_bytes = s.data.doc_bytes;
  d.synthetic_seed = s.seed;
  d.validation_fraction = s.data.validation_fraction;
  d.tokenizer = s.data.tokenizer;
  d.cache_dir = s.data.cache_dir;
  d.threads = threads;
  return d;
}

engine::Dataset load_dataset(const Scenario& s, int threads, bool progress) {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::string last_stage;
  double last_line = -1e9;
  engine::ProgressFn report;
  if (progress) {
    report = [&](const engine::PrepareProgress& p) {
      // Quiet when nothing is built: loading a cache is instant and synthetic data is generated in memory.
      if (p.stage == "hashing sources" || (p.stage == "done" && last_stage.empty()) || s.data.source == "synthetic") return;
      const std::string line = fmt::format("data: {:<18} {:>9} documents {:>12} tokens {:>7.1f} s", p.stage,
                                           p.documents, p.tokens, p.seconds);
      if (tty) {
        std::fprintf(stderr, "\r%s", line.c_str());
        if (p.stage == "done") std::fprintf(stderr, "\n");
      } else if (p.stage != last_stage || p.seconds - last_line >= 10.0) {
        std::fprintf(stderr, "%s\n", line.c_str());
        last_line = p.seconds;
      }
      last_stage = p.stage;
    };
  }
  try {
    auto data = engine::prepare_dataset(dataset_spec(s, threads), report);
    if (progress && !data.rebuilt_because.empty())
      std::fprintf(stderr, "data: rebuilt the token cache: %s\n", data.rebuilt_because.c_str());
    return data;
  } catch (const engine::DataError& e) {
    throw ScenarioError(fmt::format("{}: data: {}", s.file.string(), e.what()));
  }
}

void print_data_stats(const Scenario& s, const engine::Dataset& data, int samples, std::ostream& out) {
  const auto stats = engine::domain_stats(data);
  out << fmt::format("source {} ({}), tokenizer {} with {} tokens, cache {}\n", s.data.source, s.data.path.string(),
                     data.tokenizer->name(), data.tokenizer->vocab_size(),
                     data.cache_file.empty() ? "none (generated in memory)" : data.cache_file.string());
  out << fmt::format("{:<14} {:>12} {:>14} {:>10} {:>12}\n", "domain", "train docs", "train tokens", "val docs",
                     "val tokens");
  engine::DomainStats total{"total"};
  for (const auto& d : stats) {
    out << fmt::format("{:<14} {:>12} {:>14} {:>10} {:>12}\n", d.name, d.train_documents, d.train_tokens,
                       d.validation_documents, d.validation_tokens);
    total.train_documents += d.train_documents;
    total.train_tokens += d.train_tokens;
    total.validation_documents += d.validation_documents;
    total.validation_tokens += d.validation_tokens;
  }
  out << fmt::format("{:<14} {:>12} {:>14} {:>10} {:>12}\n", "total", total.train_documents, total.train_tokens,
                     total.validation_documents, total.validation_tokens);
  out << fmt::format("{} domains, {:.2f} M training tokens, {:.2f} M validation tokens\n", stats.size(),
                     total.train_tokens / 1e6, total.validation_tokens / 1e6);

  // A few decoded training sequences, spread over the split.
  const auto seqs = engine::make_sequences(data.train, s.model.seq_len, s.data.prefix_tokens);
  for (int i = 0; i < samples && seqs.size() > 0; ++i) {
    const int64_t id = (static_cast<int64_t>(i) * 7919 + 1) * seqs.size() / (samples * 7919 + 1);
    std::vector<int64_t> raw(static_cast<size_t>(s.model.seq_len + 1));
    seqs.copy_sequence(id, raw.data());
    // Decode document by document, marking the end-of-document token.
    std::string text;
    std::vector<uint32_t> piece;
    for (size_t t = 0; t <= raw.size(); ++t) {
      if (t == raw.size() || static_cast<uint32_t>(raw[t]) == data.tokenizer->end_of_document()) {
        text += data.tokenizer->decode(piece);
        if (t < raw.size()) text += " <eod> ";
        piece.clear();
      } else {
        piece.push_back(static_cast<uint32_t>(raw[t]));
      }
    }
    for (auto& c : text)
      if (c == '\n' || c == '\t') c = ' ';
    out << fmt::format("sample {} [{}]: {}\n", id, data.domains[seqs.domain[static_cast<size_t>(id)]], text);
  }
}

}  // namespace dipaco::sim
