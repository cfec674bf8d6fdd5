#include "engine/modules/paths.hpp"

#include <cmath>
#include <stdexcept>

#include "engine/train/trainer.hpp"

namespace dipaco::engine {

int PathStructure::total_blocks() const {
  int n = 0;
  for (const auto& l : levels) n += l.blocks;
  return n;
}

int PathStructure::paths() const {
  int p = 1;
  for (const auto& l : levels)
    if (!l.path_specific) p *= l.modules;
  return p;
}

int PathStructure::modules_in_segment(int segment) const {
  if (segment == 0) return share_embeddings ? 1 : paths();
  const auto& l = levels[static_cast<size_t>(segment - 1)];
  return l.path_specific ? paths() : l.modules;
}

int PathStructure::module_count() const {
  int n = 0;
  for (int s = 0; s < segments(); ++s) n += modules_in_segment(s);
  return n;
}

int PathStructure::module_of(int path, int segment) const {
  int first = 0;
  for (int s = 0; s < segment; ++s) first += modules_in_segment(s);
  if (segment == 0) return first + (share_embeddings ? 0 : path);
  const auto& level = levels[static_cast<size_t>(segment - 1)];
  if (level.path_specific) return first + path;
  // Mixed radix: the first shared level is the most significant digit.
  int stride = 1;
  for (size_t l = static_cast<size_t>(segment); l < levels.size(); ++l)
    if (!levels[l].path_specific) stride *= levels[l].modules;
  return first + (path / stride) % level.modules;
}

std::vector<int> PathStructure::modules_of(int path) const {
  std::vector<int> out;
  for (int s = 0; s < segments(); ++s) out.push_back(module_of(path, s));
  return out;
}

std::vector<int> PathStructure::paths_through(int module) const {
  const int segment = segment_of_module(module);
  std::vector<int> out;
  for (int p = 0; p < paths(); ++p)
    if (module_of(p, segment) == module) out.push_back(p);
  return out;
}

int PathStructure::segment_of_module(int module) const {
  for (int s = 0; s < segments(); ++s) {
    if (module < modules_in_segment(s)) return s;
    module -= modules_in_segment(s);
  }
  throw std::out_of_range("no module " + std::to_string(module));
}

std::string PathStructure::module_name(int module) const {
  const int segment = segment_of_module(module);
  int first = 0;
  for (int s = 0; s < segment; ++s) first += modules_in_segment(s);
  if (levels.empty()) return "model";
  if (segment == 0) return share_embeddings ? "shared" : "embed.P" + std::to_string(module - first);
  return "L" + std::to_string(segment - 1) + ".M" + std::to_string(module - first);
}

PathLayout::PathLayout(const ModelConfig& path_model, const PathStructure& structure) : structure_(structure) {
  // No levels: the whole model is one module (DiLoCo and the synchronous baseline).
  if (!structure.levels.empty() && structure.total_blocks() != path_model.blocks)
    throw std::invalid_argument("levels hold " + std::to_string(structure.total_blocks()) + " blocks but the model has " +
                                std::to_string(path_model.blocks));
  // Level of each block.
  std::vector<int> level_of_block;
  for (size_t l = 0; l < structure.levels.size(); ++l)
    for (int b = 0; b < structure.levels[l].blocks; ++b) level_of_block.push_back(static_cast<int>(l));
  ranges_.assign(static_cast<size_t>(structure.segments()), {});
  for (const auto& slice : param_layout(path_model)) {
    int segment = 0;
    if (!structure.levels.empty() && slice.name.rfind("blocks.", 0) == 0) {
      const int block = std::stoi(slice.name.substr(7, slice.name.find('.', 7) - 7));
      segment = level_of_block[static_cast<size_t>(block)] + 1;
    }
    auto& r = ranges_[static_cast<size_t>(segment)];
    if (!r.empty() && r.back().first + r.back().second == slice.offset) r.back().second += slice.numel;  // merge
    else r.emplace_back(slice.offset, slice.numel);
    path_params_ += slice.numel;
  }
}

int64_t PathLayout::segment_params(int segment) const {
  int64_t n = 0;
  for (const auto& [offset, length] : ranges_[static_cast<size_t>(segment)]) n += length;
  return n;
}

ParamVector PathLayout::extract(const ParamVector& path_params, int segment) const {
  ParamVector out;
  out.reserve(static_cast<size_t>(segment_params(segment)));
  for (const auto& [offset, length] : ranges_[static_cast<size_t>(segment)])
    out.insert(out.end(), path_params.begin() + offset, path_params.begin() + offset + length);
  return out;
}

void PathLayout::insert(ParamVector& path_params, int segment, const ParamVector& values) const {
  if (static_cast<int64_t>(values.size()) != segment_params(segment)) throw std::invalid_argument("PathLayout::insert: size mismatch");
  auto it = values.begin();
  for (const auto& [offset, length] : ranges_[static_cast<size_t>(segment)]) {
    std::copy(it, it + length, path_params.begin() + offset);
    it += length;
  }
}

ParamVector PathRecipe::compose() const {
  if (layout == nullptr || static_cast<int>(segments.size()) != layout->structure().segments())
    throw std::invalid_argument("PathRecipe::compose: one module per segment");
  ParamVector out(static_cast<size_t>(layout->path_params()));
  for (size_t s = 0; s < segments.size(); ++s) {
    if (!segments[s]) throw std::invalid_argument("PathRecipe::compose: missing module");
    layout->insert(out, static_cast<int>(s), *segments[s]);
  }
  return out;
}

ModuleStore::ModuleStore(const PathLayout& layout, const ParamVector& init_path, const OuterOptConfig& outer)
    : layout_(layout) {
  const auto& st = layout.structure();
  for (int m = 0; m < st.module_count(); ++m) {
    params_.push_back(layout.extract(init_path, st.segment_of_module(m)));
    optimizers_.emplace_back(outer);
  }
  inner_avg_.resize(params_.size());
  inner_avg_sq_.resize(params_.size());
}

ParamVector ModuleStore::compose(int path) const {
  ParamVector out(static_cast<size_t>(layout_.path_params()));
  const auto& st = layout_.structure();
  for (int s = 0; s < st.segments(); ++s) layout_.insert(out, s, params_[static_cast<size_t>(st.module_of(path, s))]);
  return out;
}

int64_t PathLayout::all_module_params() const {
  int64_t n = 0;
  for (int m = 0; m < structure_.module_count(); ++m) n += module_params(m);
  return n;
}

int64_t ModuleStore::stored_params() const {
  int64_t n = 0;
  for (const auto& p : params_) n += static_cast<int64_t>(p.size());
  return n;
}

void ModuleStore::outer_step(int m, const std::vector<const ParamVector*>& versions, const std::vector<double>& weights,
                             bool rescale) {
  if (versions.size() != weights.size()) throw std::invalid_argument("ModuleStore::outer_step: one weight per version");
  RunningAverage avg;
  for (size_t i = 0; i < versions.size(); ++i) avg.add(*versions[i], weights[i]);
  outer_step(m, avg, rescale);
}

void ModuleStore::outer_step(int m, const RunningAverage& versions, bool rescale) {
  auto& theta = params_[static_cast<size_t>(m)];
  auto delta = versions.outer_gradient(theta);
  if (rescale) {
    const float scale = static_cast<float>(std::sqrt(static_cast<double>(versions.count())));
    for (auto& d : delta) d *= scale;
  }
  optimizers_[static_cast<size_t>(m)].step(theta, delta);
}

void ModuleStore::apply_outer_gradient(int m, const ParamVector& delta, int delay) {
  auto& theta = params_[static_cast<size_t>(m)];
  if (delay <= 1) return optimizers_[static_cast<size_t>(m)].step(theta, delta);
  if (delayed_.empty()) {
    const auto& cfg = optimizers_.front().config();
    delayed_.assign(params_.size(), DelayedNesterov(cfg.lr, cfg.momentum, delay));
  }
  delayed_[static_cast<size_t>(m)].apply(theta, delta);
}

void ModuleStore::mix_in(int m, const ParamVector& other, double weight) {
  auto& theta = params_[static_cast<size_t>(m)];
  if (other.size() != theta.size()) throw std::invalid_argument("ModuleStore::mix_in: size mismatch");
  const float w = static_cast<float>(weight), keep = static_cast<float>(1.0 - weight);
  for (size_t i = 0; i < theta.size(); ++i) theta[i] = keep * theta[i] + w * other[i];
}

void ModuleStore::set_inner_moments(int m, ParamVector exp_avg, ParamVector exp_avg_sq) {
  const auto n = params_[static_cast<size_t>(m)].size();
  if (exp_avg.size() != n || exp_avg_sq.size() != n) throw std::invalid_argument("ModuleStore::set_inner_moments: size mismatch");
  inner_avg_[static_cast<size_t>(m)] = std::move(exp_avg);
  inner_avg_sq_[static_cast<size_t>(m)] = std::move(exp_avg_sq);
}

ModuleStore::ModuleState ModuleStore::save(int m) const {
  const auto i = static_cast<size_t>(m);
  return ModuleState{params_[i], optimizers_[i], inner_avg_[i], inner_avg_sq_[i]};
}

void ModuleStore::restore(int m, ModuleState state) {
  const auto i = static_cast<size_t>(m);
  if (state.params.size() != params_[i].size()) throw std::invalid_argument("ModuleStore::restore: size mismatch");
  params_[i] = std::move(state.params);
  optimizers_[i] = std::move(state.optimizer);
  inner_avg_[i] = std::move(state.inner_avg);
  inner_avg_sq_[i] = std::move(state.inner_avg_sq);
}

void ModuleStore::compose_inner_moments(int path, ParamVector& exp_avg, ParamVector& exp_avg_sq) const {
  exp_avg.clear();
  exp_avg_sq.clear();
  const auto& st = layout_.structure();
  for (int s = 0; s < st.segments(); ++s)
    if (!has_inner_moments(st.module_of(path, s))) return;
  exp_avg.resize(static_cast<size_t>(layout_.path_params()));
  exp_avg_sq.resize(exp_avg.size());
  for (int s = 0; s < st.segments(); ++s) {
    const auto m = static_cast<size_t>(st.module_of(path, s));
    layout_.insert(exp_avg, s, inner_avg_[m]);
    layout_.insert(exp_avg_sq, s, inner_avg_sq_[m]);
  }
}

}  // namespace dipaco::engine
