// Real training through the torch-free interface: learning, purity and determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "engine/train/thread_pool.hpp"
#include "engine/train/trainer.hpp"

using namespace dipaco::engine;

namespace {

struct Fixture {
  ModelConfig model{256, 48, 4, 2, 32};
  std::shared_ptr<const SequenceSet> train, validation;
  std::shared_ptr<const Shard> shard;
  Fixture() {
    auto split = pack_corpus(synthetic_corpus(11, 400, 400), model.seq_len, 0.1);
    shard = std::make_shared<const Shard>(iid_shards(split.train, 1, 1)[0]);
    train = std::make_shared<const SequenceSet>(std::move(split.train));
    validation = std::make_shared<const SequenceSet>(std::move(split.validation));
  }
  TrainRequest request(int steps) const {
    TrainRequest r;
    r.model = model;
    r.opt.lr = 3e-3;
    r.opt.warmup_steps = 10;
    r.opt.total_steps = steps;
    r.opt.batch_size = 8;
    r.params = std::make_shared<const ParamVector>(init_params(model, 1));
    r.data = train;
    r.shards = {shard};
    r.steps = steps;
    r.seed = 42;
    return r;
  }
};

}  // namespace

TEST(Trainer, ValidationLossFallsWithinAFewHundredSteps) {
  init_compute_thread();
  Fixture f;
  const auto req = f.request(200);
  const auto before = evaluate(f.model, *req.params, *f.validation, 64);
  const auto result = train_inner(req);
  const auto after = evaluate(f.model, result.params, *f.validation, 64);
  EXPECT_NEAR(before.loss, std::log(256.0), 0.5);  // near uniform at initialisation
  EXPECT_LT(after.loss, before.loss - 2.0);
  EXPECT_EQ(result.tokens, 200 * 8 * 32);
  EXPECT_EQ(result.opt_state.steps, 200);
}

TEST(Trainer, ContinuingFromStateEqualsOneLongCall) {
  init_compute_thread();
  Fixture f;
  const auto whole = train_inner(f.request(20));
  auto first = f.request(20);
  first.steps = 10;
  const auto half = train_inner(first);
  auto second = f.request(20);
  second.params = std::make_shared<const ParamVector>(half.params);
  second.opt_state = half.opt_state;
  second.step_begin = 10;
  second.steps = 10;
  EXPECT_EQ(train_inner(second).params, whole.params);
}

TEST(Trainer, SameInputsGiveBitIdenticalResultsOnConcurrentThreads) {
  Fixture f;
  const auto req = f.request(15);
  ThreadPool pool(2);
  auto a = pool.submit([&] { return train_inner(req); });
  auto b = pool.submit([&] { return train_inner(req); });
  init_compute_thread();
  const auto c = train_inner(req);  // and on this thread, alone
  EXPECT_EQ(a.get().params, b.get().params);
  EXPECT_EQ(a.get().params, c.params);
  EXPECT_EQ(a.get().opt_state.exp_avg_sq, c.opt_state.exp_avg_sq);
  EXPECT_EQ(a.get().mean_loss, c.mean_loss);
}

TEST(Trainer, KShardRequestTrainsOnAKFoldBatch) {
  // A k-shard request draws batch_size sequences from each shard: one step's batch is k times larger.
  init_compute_thread();
  Fixture f;
  auto req = f.request(1);
  req.shards = {f.shard, f.shard, f.shard};
  EXPECT_EQ(train_inner(req).tokens, 3 * 8 * 32);
}

TEST(Trainer, KShardGradientsGiveTheSameBytesWithOrWithoutAPool) {
  // The sync baseline's k shards: one gradient job per shard, summed in shard order. The bytes must
  // not depend on whether, or on how many threads, the pool computes them.
  Fixture f;
  auto req = f.request(6);
  const auto other = std::make_shared<const Shard>(iid_shards(*f.train, 2, 7)[1]);
  req.shards = {f.shard, other, f.shard};
  init_compute_thread();
  const auto alone = train_inner(req);
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    req.pool = &pool;
    // As the simulator runs it: the request is itself a pool job, which helps with its shards.
    const auto pooled = pool.submit([&] { return train_inner(req); }).get();
    EXPECT_EQ(pooled.params, alone.params) << threads << " threads";
    EXPECT_EQ(pooled.opt_state.exp_avg, alone.opt_state.exp_avg) << threads << " threads";
    EXPECT_EQ(pooled.mean_loss, alone.mean_loss) << threads << " threads";
  }
}

TEST(Trainer, KShardStepEqualsOneKFoldBatch) {
  // k shards of batch_size rows, each its own gradient, averaged, are one step on the k·batch_size
  // rows together. Two copies of one shard draw exactly the rows that one shard with a 2× batch
  // draws, so both requests must give the same first moment m = (1 - beta1) g, up to rounding.
  init_compute_thread();
  Fixture f;
  auto parts = f.request(1);
  parts.opt.grad_clip = 0;  // clipping is applied to the mean; keep it out of the comparison
  parts.shards = {f.shard, f.shard};
  auto whole = parts;
  whole.shards = {f.shard};
  whole.opt.batch_size = 2 * parts.opt.batch_size;
  const auto a = train_inner(parts), b = train_inner(whole);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_NEAR(a.mean_loss, b.mean_loss, 1e-5);
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.opt_state.exp_avg.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::abs(a.opt_state.exp_avg[i] - b.opt_state.exp_avg[i])));
    scale = std::max(scale, static_cast<double>(std::abs(b.opt_state.exp_avg[i])));
  }
  EXPECT_GT(scale, 0.0);
  EXPECT_LT(worst, 1e-4 * scale);
}

TEST(Trainer, Bf16StepsStayCloseToFp32AndAreReproducible) {
  // Mixed precision: matmuls in bf16, master parameters fp32. Losses within bf16's tolerance of
  // fp32's; different bytes (bf16 really ran); the same bytes again on another thread.
  init_compute_thread();
  Fixture f;
  auto req = f.request(5);
  const auto fp32 = train_inner(req);
  req.opt.bf16 = true;
  const auto bf16 = train_inner(req);
  ThreadPool pool(1);
  const auto again = pool.submit([&] { return train_inner(req); }).get();
  EXPECT_NE(bf16.params, fp32.params);
  EXPECT_NEAR(bf16.mean_loss, fp32.mean_loss, 0.02 * fp32.mean_loss);
  EXPECT_EQ(bf16.params, again.params);
  EXPECT_EQ(bf16.mean_loss, again.mean_loss);
}

TEST(Trainer, RejectsEmptyShards) {
  Fixture f;
  auto req = f.request(1);
  req.shards = {std::make_shared<const Shard>()};
  EXPECT_THROW(train_inner(req), std::invalid_argument);
}

// The device: cuda code path. Runs only where LibTorch has CUDA and sees a GPU (CI builds the CPU
// LibTorch and skips it); there, a few steps on the GPU must match the CPU's to float tolerance.
TEST(Trainer, CudaStepsMatchTheCpuWhenAGpuExists) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (CPU LibTorch or no GPU): the CUDA path is not exercised here";
  Fixture f;
  auto cpu_request = f.request(5);
  auto gpu_request = cpu_request;
  gpu_request.opt.cuda = true;
  const auto cpu = train_inner(cpu_request);
  const auto gpu = train_inner(gpu_request);
  ASSERT_EQ(gpu.params.size(), cpu.params.size());
  double max_diff = 0.0;
  for (size_t i = 0; i < cpu.params.size(); ++i) max_diff = std::max(max_diff, std::abs(double(gpu.params[i]) - cpu.params[i]));
  EXPECT_LT(max_diff, 1e-3);
  EXPECT_NEAR(gpu.mean_loss, cpu.mean_loss, 1e-3);
  EXPECT_EQ(gpu.opt_state.steps, 5);
}

TEST(Trainer, CudaRequestWithoutAGpuIsRefused) {
  if (cuda_available()) GTEST_SKIP() << "a CUDA device exists: CudaStepsMatchTheCpuWhenAGpuExists covers it";
  Fixture f;
  auto r = f.request(1);
  r.opt.cuda = true;
  EXPECT_THROW(train_inner(r), std::invalid_argument);
}
