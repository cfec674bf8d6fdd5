// A scenario: everything one run needs, read from YAML with strict checking. Unknown keys and bad
// values are ScenarioErrors that name the file, the line and the key (exit code 2 in the CLI).
// The members' initial values are the keys' defaults; scenario_keys.cpp declares every key once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/train/config.hpp"
#include "engine/data/dataset.hpp"
#include "engine/modules/outer_optimizer.hpp"
#include "engine/modules/paths.hpp"
#include "engine/modules/quantize.hpp"
#include "engine/train/precision.hpp"
#include "sim/scenario/compute_schedule.hpp"

namespace dipaco::sim {

class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Algorithm { Diloco, Sync, Dipaco, StreamingDiloco, AsyncDiloco, Halos, DecoupledDiloco };
enum class RoutingKind { KMeans, ProductKMeans, Iid };
enum class InnerState { Path, Module, Reset };
enum class NetworkModel { Analytic, SimGrid, Ns3 };
enum class Sharding { Iid, Domain };
enum class PhasePolicy { WaitAll, Quorum, Deadline };

using TokenizerSpec = engine::TokenizerSpec;

// ns-3's TCP (network.model: ns-3): the congestion control is CUBIC. One flow's rate is at most
// window_bytes / round-trip time, so the window must cover the bandwidth-delay product.
struct Ns3Spec {
  double window_bytes = 131072;  // send and receive buffers: ns-3's default; at most 1 MiB (SimGrid's binding)
  int segment_bytes = 1448;      // TCP payload per packet (a 1500-byte MTU)
};

struct DataSpec {
  std::string source = "debian-mix";  // debian-mix | synthetic | text-folder | jsonl
  std::filesystem::path path;         // text-folder / jsonl: required; debian-mix: filesystem root ("/")
  bool per_paragraph = false;         // text-folder: text_unit paragraph (else file)
  int documents = 2000;               // synthetic only
  int doc_bytes = 1024;               // synthetic only
  double validation_fraction = 0.05;
  Sharding sharding = Sharding::Iid;
  int eval_sequences = 128;  // validation sequences per evaluation
  int prefix_tokens = 32;    // routing prefix: context only, excluded from perplexity
  std::filesystem::path cache_dir;  // default: $XDG_CACHE_HOME/dipaco-sim or ~/.cache/dipaco-sim
  TokenizerSpec tokenizer;
};

struct AlgorithmSpec {
  Algorithm name = Algorithm::Diloco;
  int replicas_per_path = 1;  // dipaco: workers per path (DiLoCo = one dense path, k replicas)
  int tau = 50;          // inner steps per outer step (DiLoCo's H); for sync: steps between evaluations
  int outer_steps = 10;  // DiLoCo rounds; sync runs tau * outer_steps steps
  int eval_every = 1;    // outer steps between evaluations
  // If > 0, outer_steps is derived as total_inner_steps / tau, so that a sweep over tau keeps the
  // compute fixed (DiLoCo's ablations over H hold the total steps).
  int total_inner_steps = 0;
};

// Cost of one inner step as simulated. Zero fields fall back to the model that really trains.
struct CostSpec {
  double mfu = 0.4;  // model-flops utilisation of the accelerator
  int64_t params = 0;
  int64_t tokens_per_step = 0;
  int bytes_per_param = 4;
  int layers = 0;
  int d_model = 0;
  int seq_len = 0;
};

// DiPaCo: the model's blocks grouped into levels of modules; coarse routing on the prefix.
struct DipacoSpec {
  std::vector<engine::LevelSpec> levels;  // empty: one level holding every block, one module (dense)
  bool share_embeddings = true;
  RoutingKind routing = RoutingKind::KMeans;
  int base_steps = 100;          // dense base model pre-trained for router features (counted in the run)
  int router_fit_sequences = 20000;  // k-means is fitted on this many evenly spaced training sequences
  bool rescale_outer_gradient = false;  // × √(paths through the module); see README (it overshoots early)
  std::vector<std::string> executor_hosts;  // empty: auto placement; one host: all; else one per module
  bool top2_training_shards = false;  // k-means: each training sequence also joins its second-nearest path
  int reroute_every = 0;  // > 0: also score the final model re-routing every this many tokens (test time)
  // Simulated workers; 0 = one per (path, replica) task. Fewer workers run their tasks in turn, so
  // at most `workers` paths are materialised at once.
  int workers = 0;
  // Where AdamW's moments live between phases: per task (DiLoCo's way; memory grows with tasks),
  // per module (the paths' weighted mean, kept in the module store), or nowhere (fresh each phase).
  InnerState inner_state = InnerState::Path;
  // Discriminative routing (one EM step, the paper's Table 5): after this phase (0 = never), score
  // every path on a held-out router split, label each sequence with its best path, fit a linear
  // softmax router with a bias on the router features, and re-shard training and validation data.
  int discriminative_after = 0;
  int router_split_sequences = 2048;  // held out of training when discriminative routing is on
  double relabel_margin = 0.0;  // nats/token a path must beat the sequence's current path by to take it
  // When an executor closes a module's phase: once every task through it has reported (wait_all),
  // once `quorum` of them have, or `deadline_s` after the phase opened (whatever has arrived by
  // then). Results that arrive after their phase closed are dropped as late (ledger: "late").
  PhasePolicy phase_policy = PhasePolicy::WaitAll;
  double quorum = 1.0;
  double deadline_s = std::numeric_limits<double>::infinity();
  // Per-path early stopping: this fraction of each path's shard is held out; the path's checkpoint
  // with the lowest held-out loss (at evaluation phases) is kept and reported. 0 = off.
  double early_stopping_fraction = 0.0;
  // Adaptive compute: how many of each path's replicas train in each phase (sim/scenario/compute_schedule.hpp).
  ComputeSchedule compute_schedule = ComputeSchedule::Constant;
  // The paper's backup pool: low-priority workers, one per host listed. The scheduler hands them
  // work only once every waiting primary worker has some, so they pick up re-queued tasks and any
  // backlog; their hosts fail under failures.backup_preemption.
  std::vector<std::string> backup_workers;
};

// Failures, all seeded. Worker hosts that run no executor are preemptible; a preempted host's
// running task is lost and re-queued. See sim/failures/failures.hpp for how these become SimGrid profiles.
struct OutageSpec {
  std::string datacentre;
  double at_s = 0.0;
  double duration_s = std::numeric_limits<double>::infinity();  // infinity: down for good
};
struct TraceSpec {
  std::string host;
  std::filesystem::path file;  // SimGrid state profile: "time value" lines, 1 = on, 0 = off
};
struct FailureSpec {
  uint64_t seed = 0;    // failure draws and drops; defaults to the scenario's seed
  double mtbf_s = std::numeric_limits<double>::infinity();  // rate model: mean time between preemptions, per host or per datacentre; infinity = none
  double mttr_s = 900.0;
  bool weibull = false;  // time between failures: exponential, or Weibull with this shape
  double weibull_shape = 1.0;
  bool per_datacentre = false;  // one failure process per datacentre, taking all its preemptible hosts
  double horizon_s = 1000 * 3600.0;  // failures are drawn up to this simulated time
  std::vector<OutageSpec> outages;
  std::vector<TraceSpec> traces;
  double backup_mtbf_s = std::numeric_limits<double>::quiet_NaN();  // backup pool hosts; NaN: as mtbf_s
  double backup_mttr_s = std::numeric_limits<double>::quiet_NaN();  // NaN: as mttr_s
  bool executors_fail = false;  // executor hosts are preemptible too; they recover from module checkpoints
  double drop_probability = 0.0;  // each outer gradient is lost with this probability (DiLoCo's Fig. 8)
  double heartbeat_s = 60.0;      // how often the task scheduler looks for lost workers
  double stall_s = 24 * 3600.0;      // no live worker for this long with work pending: the run fails
  bool host_failures() const {
    if (executors_fail) return mtbf_s < std::numeric_limits<double>::infinity() || !outages.empty() || !traces.empty();
    return mtbf_s < std::numeric_limits<double>::infinity() || backup_mtbf_s < std::numeric_limits<double>::infinity() || !outages.empty() ||
           !traces.empty();
  }
};

// Checkpoints to a storage host, as simulated bytes. Executors save their module's state every
// `module_every_phases` phases and recover from the last one when their host restarts; workers save
// their inner state every `inner_every_steps` steps, so that a preempted task resumes (sync: rank 0
// saves the training state, and a lost rank rolls the ring back to it).
struct CheckpointSpec {
  std::string storage;  // host name; required when either interval is set
  int module_every_phases = 0;  // 0: never
  int inner_every_steps = 0;    // 0: never
};

// Transfers that fail because a link on their route went down (link state profiles in the
// platform) are issued again after an exponential back-off: initial, ×2 per failure, capped.
struct RetrySpec {
  double initial_s = 1.0;
  double max_s = 60.0;
  int64_t limit = std::numeric_limits<int64_t>::max();  // retries per transfer before giving up (max: unlimited)
  bool unlimited() const { return limit == std::numeric_limits<int64_t>::max(); }
};

// init: the run starts from a dense model pre-trained on all the training data (a warm start, as
// the papers do), trained once and cached next to the token caches under a key of everything that
// determines it (engine/train/warm_start.hpp), so every run and seed that asks for the same one reuses it.
struct InitSpec {
  int pretrain_steps = 0;  // 0: from scratch. DiPaCo's base model: dipaco.base_steps when unset
  bool pretrain_steps_set = false;
  std::optional<uint64_t> seed;  // its initial parameters and batches; unset: the scenario's seed
  bool count_time = true;        // its simulated time counts, on the first worker's host, before the run
};

// What travels between workers: outer gradients (DiLoCo, DiPaCo: the uploads to the executors;
// sync: each worker's gradient in the all-reduce), rounded to a smaller format
// (engine/modules/quantize.hpp) in the real training, and counted at its size on the wire.
// Streaming DiLoCo (Douillard et al., 2025): the blocks are dealt into `fragments` fragments,
// strided (fragment p holds blocks p, p + F, ...; the embeddings and final norm go with fragment 0).
// Each fragment synchronises every algorithm.tau (H) steps, fragment p offset by p·H/F, so a phase
// is H/F steps and syncs one fragment. A fragment's outer update lands `overlap_steps` steps after
// its outer gradient was sent (the communication overlaps them), and is mixed into the replica's
// own value: θ ← mix·θ_local + (1 − mix)·θ_global.
struct StreamingSpec {
  int fragments = 2;
  int overlap_steps = 0;
  double mix = 0.5;
};

// Asynchronous DiLoCo (Liu et al., 2024): each replica's outer gradient is applied as it arrives,
// and the replica trains on from the result, with no barrier. `delay` N: Delayed Nesterov, the
// momentum updated once per N arrivals (1: Nesterov on every arrival, the naive variant). `dylu`:
// dynamic local updates, each replica's H in proportion to its host's current speed (the fastest
// takes algorithm.tau). The run applies workers × outer_steps outer gradients in all, synchronous
// DiLoCo's count.
struct AsyncSpec {
  int delay = 1;
  bool dylu = false;
};

// HALoS (Kim et al., ICML 2025): asynchronous DiLoCo with a local parameter server per datacentre
// of workers and a global one on placement.outer. Workers send their outer gradients to their
// datacentre's server, which applies them with Delayed Nesterov (local_*); every `accumulation` of
// them it sends what it gained since its last merge to the global server (Delayed Nesterov,
// global_*), and merges the global model it gets back: θ ← (1 − merge_weight)·θ + merge_weight·θ_g.
// Learning rates are the step per arrival (HALoS's convention); defaults are HALoS's own example
// (utnslab/halos, examples/run_halos.sh). The run applies workers × outer_steps worker outer
// gradients; metrics evaluate the global model.
struct HalosSpec {
  int accumulation = 32;
  double merge_weight = 0.25;
  double local_lr = 0.2, local_momentum = 0.9;
  int local_delay = 16;
  double global_lr = 0.15, global_momentum = 0.5;
  int global_delay = 2;
  bool dylu = true;
};

// Decoupled DiLoCo (Douillard et al., 2026): learners (the replicas) never wait for each other or
// for the synchroniser. Each trains on in phases of algorithm.tau / fragments steps, Streaming
// DiLoCo's fragments, and at the end of phase j sends fragment (j − 1) mod F's outer gradient to
// the synchroniser on placement.outer without stopping. The synchroniser keeps, per fragment, the
// latest outer gradient of each learner (a newer one replaces an older one not yet merged). Once
// ⌈quorum · learners⌉ learners have one there, it waits up to grace_s for more (or until every
// learner has), then merges them weighted by the tokens each stands for (inner steps since the
// learner last received that fragment), takes the fragment's outer step and sends the fragment
// back to those learners, which mix it in at their next phase boundary: θ ← mix·θ_local +
// (1 − mix)·θ_global. The grace window is fixed, not adaptive as in the paper. The run ends after
// learners × outer_steps × fragments outer gradients, synchronous DiLoCo's inner steps.
struct DecoupledSpec {
  int fragments = 2;
  double quorum = 0.5;
  double grace_s = 0.0;
  double mix = 0.5;
};

struct CommunicationSpec {
  engine::GradientFormat outer_gradient = engine::GradientFormat::Fp32;  // fp32: as cost.bytes_per_param
};

struct Scenario {
  std::filesystem::path file;      // where it was read from
  uint64_t seed = 1;
  std::filesystem::path platform;  // resolved relative to the scenario file
  NetworkModel network = NetworkModel::Analytic;
  // network.coarse: identical transfers of one instant share one flow (sim/platform/flow_groups.hpp).
  bool network_coarse = false;
  Ns3Spec ns3;  // network.model: ns-3 only
  RetrySpec retry;
  // Every WAN link's bandwidth and latency (links outside any datacentre zone) are multiplied by
  // these once the platform is loaded: sweeps over network quality without editing the XML.
  double wan_bandwidth_scale = 1.0;
  double wan_latency_scale = 1.0;
  std::string outer_host;
  std::vector<std::string> worker_hosts;
  // placement.workers: {count: N}: N hosts picked once the platform is loaded (sim/platform/platform.hpp:
  // pick_worker_hosts), which fills worker_hosts. 0: worker_hosts was listed by name.
  int worker_count = 0;
  DataSpec data;
  engine::ModelConfig model;  // model.vocab 0 means "the tokenizer's vocabulary"
  AlgorithmSpec algorithm;
  engine::InnerOptConfig inner;   // total_steps is derived: tau * outer_steps
  engine::OuterOptConfig outer;
  InitSpec init;
  DipacoSpec dipaco;
  FailureSpec failures;
  CheckpointSpec checkpoints;
  CommunicationSpec communication;
  StreamingSpec streaming;
  AsyncSpec async;
  HalosSpec halos;
  DecoupledSpec decoupled;
  CostSpec cost;
  bool training = true;
  // Training precision as asked; the run resolves `auto` for its CPU (engine/train/precision.hpp) and
  // sets inner.bf16.
  engine::Precision precision = engine::Precision::Auto;
  // Observability (README "Outputs"): summary.json's time_to_target_s is the simulated time of the
  // first whole-model evaluation with val_loss <= target_val_loss (none: not reported); trace.json
  // (a Chrome trace timeline) is written unless `trace` is off.
  std::optional<double> target_val_loss;
  bool trace = true;

  int workers() const { return worker_count > 0 ? worker_count : static_cast<int>(worker_hosts.size()); }
  // Steps of the warm start: init.pretrain_steps, or for DiPaCo dipaco.base_steps when that is unset.
  int pretrain_steps() const;
  uint64_t init_seed() const { return init.seed.value_or(seed); }
};

// Reads and validates `file`, applying `overrides` ("dotted.key=value", YAML value syntax) first.
Scenario load_scenario(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});

// The resolved scenario, every default filled in, as YAML that load_scenario reads back.
std::string scenario_to_yaml(const Scenario& s);

const char* to_string(Algorithm a);
const char* to_string(NetworkModel m);
const char* to_string(Sharding s);
const char* to_string(RoutingKind r);
const char* to_string(InnerState i);
const char* to_string(PhasePolicy p);

}  // namespace dipaco::sim
