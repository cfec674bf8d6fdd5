// dipaco-bench: GEMM throughput and training steps of the path model through the engine's real
// path (engine::train_inner), one JSON object per line on stdout. scripts/bench.py drives it, side
// by side with the Python peer (scripts/peer_train_step.py), and writes reports/benchmarks.md.
//
//   dipaco-bench gemm  --threads N[,M...] [--sizes 512,1024,2048] [--reps 5] [--dtype fp32|bf16]
//   dipaco-bench kernel   the CPU, the BLAS kernel and who chose it, what precision: auto means here
//   dipaco-bench serve --threads N [--profile F] MODEL   then lines "steps K" (train K more steps) and "quit"
//   dipaco-bench dump  --dir D --steps S MODEL   initial parameters, batches and per-step losses
// MODEL: --vocab --d-model --heads --blocks --seq-len --batch [--seed] [--precision fp32|bf16]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include "bench/torch_ops.hpp"
#include "engine/train/allocator.hpp"
#include "engine/train/blas_kernel.hpp"
#include "engine/train/precision.hpp"
#include "engine/train/trainer.hpp"
#include "sim/scenario/cost_model.hpp"

namespace {

using dipaco::engine::ModelConfig;
using dipaco::engine::TrainRequest;
using json = nlohmann::json;

struct Setup {
  ModelConfig model{4096, 64, 4, 2, 128};
  int batch = 16;
  uint64_t seed = 1;
  std::string precision = "fp32";
};

void add_model_options(CLI::App* app, Setup& s) {
  app->add_option("--vocab", s.model.vocab, "Vocabulary size")->capture_default_str();
  app->add_option("--d-model", s.model.d_model, "Model width")->capture_default_str();
  app->add_option("--heads", s.model.heads, "Attention heads")->capture_default_str();
  app->add_option("--blocks", s.model.blocks, "Transformer blocks")->capture_default_str();
  app->add_option("--seq-len", s.model.seq_len, "Sequence length")->capture_default_str();
  app->add_option("--batch", s.batch, "Sequences per step")->capture_default_str();
  app->add_option("--seed", s.seed, "Seed of the parameters and the batches")->capture_default_str();
  app->add_option("--precision", s.precision, "fp32, or bf16 mixed precision (as the scenario key)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
}

// Uniformly random tokens: the step's cost does not depend on what the tokens are.
std::shared_ptr<const dipaco::engine::SequenceSet> random_data(const ModelConfig& m, uint64_t seed) {
  constexpr int64_t kSequences = 256;
  std::mt19937_64 rng(dipaco::engine::mix_seed(seed, 0xda7a));
  std::vector<uint32_t> tokens(static_cast<size_t>(kSequences * m.seq_len + 1));
  for (auto& t : tokens) t = static_cast<uint32_t>(rng() % static_cast<uint64_t>(m.vocab));
  auto data = std::make_shared<dipaco::engine::SequenceSet>();
  data->seq_len = m.seq_len;
  data->stream = dipaco::engine::TokenStream::from_vector(tokens, m.vocab <= 65536 ? 2 : 4);
  data->domain.assign(static_cast<size_t>(kSequences), 0);
  return data;
}

// The engine's defaults (engine/train/config.hpp), as the scenarios use them, with this batch size.
TrainRequest make_request(const Setup& s) {
  TrainRequest r;
  r.model = s.model;
  r.opt.batch_size = s.batch;
  r.opt.bf16 = s.precision == "bf16";
  r.params = std::make_shared<const dipaco::engine::ParamVector>(dipaco::engine::init_params(s.model, s.seed));
  r.data = random_data(s.model, s.seed);
  auto shard = std::make_shared<dipaco::engine::Shard>();
  for (int64_t i = 0; i < r.data->size(); ++i) shard->push_back(i);
  r.shards = {shard};
  r.seed = s.seed;
  return r;
}

json describe(const TrainRequest& r) {
  const auto& m = r.model;
  const auto& o = r.opt;
  const int64_t params = static_cast<int64_t>(r.params->size());
  const int64_t tokens = static_cast<int64_t>(o.batch_size) * m.seq_len;
  // The cost model's formula (sim/scenario/cost_model.hpp), for the model that really trains.
  const double flops = dipaco::sim::training_flops_per_token(params, m.blocks, m.seq_len, m.d_model) * static_cast<double>(tokens);
  return {{"model", {{"vocab", m.vocab}, {"d_model", m.d_model}, {"heads", m.heads}, {"blocks", m.blocks}, {"seq_len", m.seq_len}}},
          {"opt", {{"lr", o.lr}, {"warmup_steps", o.warmup_steps}, {"total_steps", o.total_steps}, {"min_lr_ratio", o.min_lr_ratio},
                   {"weight_decay", o.weight_decay}, {"beta1", o.beta1}, {"beta2", o.beta2}, {"eps", o.eps},
                   {"grad_clip", o.grad_clip}, {"batch_size", o.batch_size}}},
          {"params", params},
          {"tokens_per_step", tokens},
          {"flops_per_step", flops},
          {"precision", o.bf16 ? "bf16" : "fp32"},
          {"threads", dipaco::bench::threads()}};
}

int serve(const Setup& s, const std::string& profile) {
  auto r = make_request(s);
  json ready = describe(r);
  ready["ready"] = true;
  std::cout << ready.dump() << std::endl;
  std::string word;
  while (std::cin >> word) {
    if (word == "quit") break;
    if (word != "steps") {
      std::cerr << "dipaco-bench serve: expected 'steps K' or 'quit', got '" << word << "'\n";
      return 2;
    }
    int64_t k = 0;
    std::cin >> k;
    r.steps = k;
    // Only the last request is profiled (each one replaces the file): warm up first.
    const auto guard = profile.empty() ? nullptr : dipaco::bench::profile_to(profile);
    const auto t0 = std::chrono::steady_clock::now();
    auto out = dipaco::engine::train_inner(r);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.params = std::make_shared<const dipaco::engine::ParamVector>(std::move(out.params));
    r.opt_state = std::move(out.opt_state);
    r.step_begin += k;
    std::cout << json{{"steps", k}, {"seconds", seconds}, {"loss", out.mean_loss}}.dump() << std::endl;
  }
  return 0;
}

template <class T>
void write_raw(const std::filesystem::path& file, const std::vector<T>& v) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(T)));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

// What the Python peer needs to show it computes the same function: the initial flat parameters
// (little-endian float32, in param_layout order), each step's batch (int64) and the engine's loss
// at each step, one train_inner call of one step at a time (equal to one call of S steps).
int dump(const Setup& s, int steps, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  auto r = make_request(s);
  json meta = describe(r);
  write_raw(dir / "params.f32", *r.params);
  json layout = json::array();
  for (const auto& p : dipaco::engine::param_layout(s.model)) layout.push_back({{"name", p.name}, {"offset", p.offset}, {"numel", p.numel}});
  meta["layout"] = layout;
  const size_t rows = static_cast<size_t>(s.batch), width = static_cast<size_t>(s.model.seq_len + 1);
  std::vector<int64_t> batches(static_cast<size_t>(steps) * rows * width);
  json losses = json::array();
  r.steps = 1;
  for (int i = 0; i < steps; ++i) {
    r.step_begin = i;
    dipaco::engine::fill_batch(r, i, batches.data() + static_cast<size_t>(i) * rows * width);
    auto out = dipaco::engine::train_inner(r);
    losses.push_back(out.mean_loss);
    r.params = std::make_shared<const dipaco::engine::ParamVector>(std::move(out.params));
    r.opt_state = std::move(out.opt_state);
  }
  write_raw(dir / "batches.i64", batches);
  meta["steps"] = steps;
  meta["losses"] = losses;
  std::ofstream(dir / "meta.json") << meta.dump(1) << "\n";
  std::cout << json{{"dir", dir.string()}, {"losses", losses}}.dump() << std::endl;
  return 0;
}

json kernel_json() {
  namespace e = dipaco::engine;
  const auto& cpu = e::cpu_features();
  const auto k = e::blas_kernel();
  const auto automatic = e::resolve_precision(e::Precision::Auto, cpu);
  return json{{"cpu", cpu.model},
              {"cpu_features", e::describe(cpu)},
              {"blas", k.library},
              {"kernel", k.kernel},
              {"kernel_set_by", k.set_by},
              {"kernel_replaced", k.replaced},
              {"best_kernel", e::best_kernel_for(cpu)},
              {"bf16_units", cpu.amx_bf16 || cpu.avx512_bf16},
              {"auto_precision", e::to_string(automatic.precision)},
              {"auto_precision_reason", automatic.reason}};
}

}  // namespace

int main(int argc, char** argv) {
  dipaco::engine::select_blas_kernel(argv);  // may run this process again with the right kernel
  dipaco::engine::keep_freed_memory_for_reuse();  // as dipaco-sim does: the engine as the simulator runs it
  CLI::App app{"dipaco-bench: GEMM throughput and path-model training steps (see scripts/bench.py)"};
  app.require_subcommand(1);
  int threads = 1;
  Setup setup;

  auto* gemm = app.add_subcommand("gemm", "fp32 square GEMM through torch::mm: best of --reps");
  std::vector<int> sizes{512, 1024, 2048};
  int reps = 5;
  gemm->add_option("--sizes", sizes, "Matrix sizes")->delimiter(',');
  gemm->add_option("--reps", reps, "Timed products per size")->check(CLI::Range(1, 1000));
  std::string gemm_dtype = "fp32";
  gemm->add_option("--dtype", gemm_dtype, "fp32 (OpenBLAS) or bf16 (oneDNN)")->check(CLI::IsMember({"fp32", "bf16"}))->capture_default_str();
  auto* serve_cmd = app.add_subcommand("serve", "Train on request: reads 'steps K' lines, answers with the time of those K steps");
  add_model_options(serve_cmd, setup);
  std::string profile;
  serve_cmd->add_option("--profile", profile, "Write a Chrome trace of the ATen operators of each request to this file (the last one stays)");
  auto* dump_cmd = app.add_subcommand("dump", "Write initial parameters, batches and the engine's per-step losses");
  add_model_options(dump_cmd, setup);
  std::string dir;
  int steps = 3;
  dump_cmd->add_option("--dir", dir, "Output folder")->required();
  dump_cmd->add_option("--steps", steps, "Steps")->check(CLI::Range(1, 1000));
  auto* kernel_cmd = app.add_subcommand("kernel", "The CPU, the BLAS kernel in use and who chose it, and what precision: auto means here");
  std::vector<int> gemm_threads;
  gemm->add_option("--threads", gemm_threads, "Intra-op threads (torch::set_num_threads); a list measures each in turn")
      ->delimiter(',')
      ->check(CLI::Range(1, 1024));
  for (auto* c : {serve_cmd, dump_cmd})
    c->add_option("--threads", threads, "Intra-op threads (torch::set_num_threads)")->check(CLI::Range(1, 1024));
  CLI11_PARSE(app, argc, argv);

  dipaco::bench::set_threads(threads);
  try {
    if (gemm->parsed()) {
      for (int t : gemm_threads.empty() ? std::vector<int>{threads} : gemm_threads) {
        dipaco::bench::set_threads(t);
        for (int n : sizes) {
          const auto g = dipaco::bench::gemm(n, reps, gemm_dtype == "bf16");
          std::cout << json{{"n", g.n}, {"threads", t}, {"reps", reps}, {"dtype", gemm_dtype}, {"best_s", g.best_s}, {"median_s", g.median_s}, {"gflops", g.gflops}}.dump()
                    << std::endl;
        }
      }
      return 0;
    }
    if (kernel_cmd->parsed()) {
      std::cout << kernel_json().dump() << std::endl;
      return 0;
    }
    if (serve_cmd->parsed()) return serve(setup, profile);
    return dump(setup, steps, dir);
  } catch (const std::exception& e) {
    std::cerr << "dipaco-bench: " << e.what() << "\n";
    return 1;
  }
}
