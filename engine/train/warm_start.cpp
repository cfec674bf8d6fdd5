#include "engine/train/warm_start.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <numeric>

#include "engine/data/dataset.hpp"
#include "engine/data/sharding.hpp"

namespace dipaco::engine {

namespace {

constexpr int kVersion = 1;  // bump when the training step changes what a warm start holds
constexpr char kMagic[8] = {'D', 'I', 'P', 'A', 'C', 'O', 'W', 'S'};

InnerOptConfig pretraining_opt(const WarmStartSpec& spec) {
  InnerOptConfig o = spec.opt;
  o.total_steps = spec.steps;
  o.gradient_format = GradientFormat::Fp32;  // one shard: nothing is all-reduced
  o.warmup_steps = std::min<int64_t>(spec.opt.warmup_steps, spec.steps / 2);
  return o;
}

bool read_cache(const std::filesystem::path& file, uint64_t key, ParamVector& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  char magic[8];
  uint64_t stored_key = 0, n = 0;
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(&stored_key), sizeof stored_key);
  in.read(reinterpret_cast<char*>(&n), sizeof n);
  if (!in || std::memcmp(magic, kMagic, 8) != 0 || stored_key != key || n > (1ULL << 34)) return false;
  out.resize(n);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(n * sizeof(float)));
  return static_cast<bool>(in) && in.peek() == std::char_traits<char>::eof();
}

// Written beside its final name, then renamed: a reader never sees half a file.
void write_cache(const std::filesystem::path& file, uint64_t key, const ParamVector& params) {
  std::filesystem::create_directories(file.parent_path());
  const auto partial = file.string() + fmt::format(".partial.{}", ::getpid());
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    const uint64_t n = params.size();
    out.write(kMagic, 8);
    out.write(reinterpret_cast<const char*>(&key), sizeof key);
    out.write(reinterpret_cast<const char*>(&n), sizeof n);
    out.write(reinterpret_cast<const char*>(params.data()), static_cast<std::streamsize>(n * sizeof(float)));
    if (!out) throw std::runtime_error("cannot write the warm-start cache " + partial);
  }
  std::filesystem::rename(partial, file);
}

}  // namespace

uint64_t warm_start_key(const WarmStartSpec& spec, const SequenceSet& train) {
  const auto o = pretraining_opt(spec);
  const auto& m = spec.model;
  // The training tokens themselves, whatever source and tokenizer produced them.
  const auto bytes = static_cast<size_t>(train.stream.size) * static_cast<size_t>(train.stream.bytes_per_token);
  const uint64_t tokens = content_hash(std::string_view(static_cast<const char*>(train.stream.data), bytes), 0x7E11);
  const std::string text = fmt::format(
      "dipaco-warm-start v{} model {} {} {} {} {} opt {:.17g} {} {} {:.17g} {:.17g} {:.17g} {:.17g} {:.17g} {:.17g} {} {} "
      "steps {} seed {} data {} {} {} {:016x}",
      kVersion, m.vocab, m.d_model, m.heads, m.blocks, m.seq_len, o.lr, o.warmup_steps, o.total_steps, o.min_lr_ratio, o.weight_decay,
      o.beta1, o.beta2, o.eps, o.grad_clip, o.batch_size, o.bf16 ? "bf16" : "fp32", spec.steps, spec.seed, train.seq_len,
      train.prefix_tokens, train.size(), tokens);
  return content_hash(text);
}

WarmStart warm_start(const WarmStartSpec& spec, const SequenceSet& train, const std::filesystem::path& cache_dir) {
  WarmStart w;
  w.key = warm_start_key(spec, train);
  if (!cache_dir.empty()) {
    w.file = cache_dir / fmt::format("{:016x}.warm", w.key);
    if (read_cache(w.file, w.key, w.params)) {
      w.reused = true;
      return w;
    }
  }
  TrainRequest r;
  r.model = spec.model;
  r.opt = pretraining_opt(spec);
  r.params = std::make_shared<const ParamVector>(init_params(spec.model, spec.seed));
  // A view of the caller's set: it outlives this call.
  r.data = std::shared_ptr<const SequenceSet>(&train, [](const SequenceSet*) {});
  std::vector<int64_t> ids(static_cast<size_t>(train.size()));
  std::iota(ids.begin(), ids.end(), 0);
  r.shards = {std::make_shared<const Shard>(std::move(ids))};
  r.steps = spec.steps;
  r.seed = mix_seed(spec.seed, 0xBA5E);
  w.params = train_inner(r).params;
  if (!w.file.empty()) write_cache(w.file, w.key, w.params);
  return w;
}

}  // namespace dipaco::engine
