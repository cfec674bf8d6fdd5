#include "reports/report_plots.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <stdexcept>

#include "reports/atomic_file.hpp"
#include "reports/child_process.hpp"
#include "reports/statistics.hpp"

namespace dipaco::reports {

namespace fs = std::filesystem;

namespace {

// A gnuplot single-quoted string: only the quote itself needs escaping, by doubling it.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "''";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out + "'";
}

// A run's name in a datablock comment: a newline in it would end the comment early.
std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string number(double v) { return fmt::format("{:.10g}", v); }

bool finite(const std::optional<double>& v) { return v && std::isfinite(*v); }

// Terminal lines for one plot: SVG first, then the same plot again as PNG. Text is not "enhanced":
// underscores in keys (mtbf_hours) must not become subscripts.
std::string draw(const std::string& stem, int width, int height, const std::string& body) {
  return fmt::format(
      "\n# --- {0}\nreset\nset terminal svg size {1},{2} noenhanced font 'sans,12' background rgb 'white'\n"
      "set output '{0}.svg.partial'\n{3}"
      "set terminal pngcairo size {1},{2} noenhanced font 'sans,10' background rgb 'white'\n"
      "set output '{0}.png.partial'\nreplot\nunset output\n",
      stem, width, height, body);
}

// Room for a key below the plot with one entry per line (long labels do not fit two abreast).
int height_for_key(size_t entries) { return 460 + 18 * static_cast<int>(entries); }

// Log-scale tics at 1, 1.5, 2, 3, 5 and 7 times each power of ten: perplexities often span less than a
// decade, where gnuplot's own tics would label only one or two values.
std::string log_tics(double lo, double hi) {
  if (!(lo > 0) || !(hi >= lo)) return "";
  std::string tics;
  for (double decade = std::pow(10.0, std::floor(std::log10(lo))); decade <= hi; decade *= 10.0)
    for (double m : {1.0, 1.5, 2.0, 3.0, 5.0, 7.0}) tics += fmt::format("{}{}", tics.empty() ? "" : ", ", number(m * decade));
  return "set ytics (" + tics + ")\nset mytics 10\n";
}

struct Series {
  std::string block;  // datablock name, e.g. $ppl0
  std::string label;
  size_t run;         // index in the report: the same run has the same colour in every plot
};

// One line per run in a line plot against the x column `xcol` of each run's datablock. Past the
// eight default colours, lines are dashed.
std::string line_plot(const std::vector<Series>& series, int xcol, int ycol) {
  std::string plot = "plot ";
  for (size_t i = 0; i < series.size(); ++i)
    plot += fmt::format("{}{} using {}:{} with linespoints lt {} dt {} lw 1.5 title {}", i ? ", \\\n     " : "", series[i].block,
                        xcol, ycol, series[i].run % 8 + 1, series[i].run / 8 % 5 + 1, quoted(series[i].label));
  return plot + "\n";
}

std::string categorical_tics(const std::string& axis, const std::vector<std::string>& values) {
  std::string tics = "set " + axis + "tics (";
  for (size_t i = 0; i < values.size(); ++i) tics += fmt::format("{}{} {}", i ? ", " : "", quoted(values[i]), i);
  return tics + ")\n";
}

struct SweepMetric {
  std::string slug;
  std::string title;  // with unit
  std::function<std::optional<double>(const RunRecord&)> get;
  bool log_scale;
};

std::vector<SweepMetric> sweep_metrics() {
  auto hours = [](const std::optional<double>& s) { return s ? std::optional<double>(*s / 3600.0) : std::nullopt; };
  return {
      {"final-perplexity", "final validation perplexity", [](const RunRecord& r) { return r.final_val_perplexity; }, true},
      {"time-to-target", "time to target (h)", [hours](const RunRecord& r) { return hours(r.time_to_target_s); }, false},
      {"wall-clock", "simulated wall-clock (h)", [hours](const RunRecord& r) { return hours(r.simulated_wall_clock_s); }, false},
  };
}

size_t index_of(const std::vector<std::string>& values, const std::string& v) {
  return static_cast<size_t>(std::find(values.begin(), values.end(), v) - values.begin());
}

void plan_sweep(const ReportInputs& in, size_t s, PlotSet& set) {
  const SweepRecord& sweep = in.sweeps[s];
  const std::string name = sweep.dir.string();
  if (sweep.keys.empty()) {
    set.notes.push_back(fmt::format("Sweep {}: no swept keys, so no sweep plots.", name));
    return;
  }
  const auto& xs = sweep.values[0];
  const bool two = sweep.keys.size() >= 2;
  const std::vector<std::string> ys = two ? sweep.values[1] : std::vector<std::string>{""};
  // Several seeds per point: lines are means, with their 95 % confidence interval as a band.
  std::string averaged = sweep.repeat > 1 ? fmt::format("mean and 95 % CI over {} seeds", sweep.repeat) : "";
  for (size_t k = 2; k < sweep.keys.size(); ++k) averaged += (averaged.empty() ? "mean over " : " and over ") + sweep.keys[k];
  const auto metrics = sweep_metrics();
  for (size_t mi = 0; mi < metrics.size(); ++mi) {
    const SweepMetric& m = metrics[mi];
    // cell[x][y]: the metric of every finished run with those values of the first two keys.
    std::vector<std::vector<std::vector<double>>> cell(xs.size(), std::vector<std::vector<double>>(ys.size()));
    size_t with_value = 0;
    for (size_t r : sweep.runs) {
      const RunRecord& run = in.runs[r];
      const auto v = m.get(run);
      if (!run.ok || !finite(v) || (m.log_scale && *v <= 0)) continue;
      const auto xi = run.settings.find(sweep.keys[0]);
      if (xi == run.settings.end()) continue;
      const size_t x = index_of(xs, xi->second);
      size_t y = 0;
      if (two) {
        const auto yi = run.settings.find(sweep.keys[1]);
        if (yi == run.settings.end()) continue;
        y = index_of(ys, yi->second);
      }
      if (x >= xs.size() || y >= ys.size()) continue;
      cell[x][y].push_back(*v);
      ++with_value;
    }
    if (with_value == 0) {
      set.notes.push_back(fmt::format("Sweep {}: no finished run has a {}, so its sweep plots are left out{}.", name, m.title,
                                      m.slug == "time-to-target" ? " (no target, or never reached)" : ""));
      continue;
    }
    const std::string prefix = fmt::format("sweep{}-", s + 1);
    const std::string note = averaged.empty() ? "" : " (" + averaged + ")";
    double lo = INFINITY, hi = -INFINITY;           // the lines' axis, bands included
    double heat_lo = INFINITY, heat_hi = -INFINITY;  // the heatmap's colours: the means
    const std::string data = fmt::format("$sweep{}_metric{}", s + 1, mi);
    std::string block = data + " << EOD\n";
    std::vector<std::string> lines(ys.size());
    bool spread = false;  // some point has two values or more: draw bands
    for (size_t x = 0; x < xs.size(); ++x)
      for (size_t y = 0; y < ys.size(); ++y) {
        if (cell[x][y].empty()) continue;
        const Summary v = summarise(cell[x][y]);
        // The band's lower edge stays above zero on a log axis.
        const double low = m.log_scale ? std::max(v.mean - v.ci95, v.mean * 0.05) : v.mean - v.ci95;
        block += fmt::format("{} {} {} {}\n", x, y, number(v.mean), number(v.ci95));
        lines[y] += fmt::format("{} {} {} {}\n", x, number(v.mean), number(low), number(v.mean + v.ci95));
        lo = std::min(lo, low), hi = std::max(hi, v.mean + v.ci95);
        heat_lo = std::min(heat_lo, v.mean), heat_hi = std::max(heat_hi, v.mean);
        spread = spread || v.n > 1;
      }
    block += "EOD\n";
    for (auto [a, b] : {std::pair{&lo, &hi}, {&heat_lo, &heat_hi}})
      if (*a == *b) *a -= std::max(1e-9, std::abs(*a) * 0.05), *b += std::max(1e-9, std::abs(*b) * 0.05);
    set.script += "\n" + block;

    // Lines against the first key, one per value of the second.
    std::string body = fmt::format("set title {}\nset xlabel {}\nset ylabel {}\nset grid\nset xrange [-0.5:{}.5]\n",
                                   quoted(fmt::format("{}: {}{}", name, m.title, note)), quoted(sweep.keys[0]),
                                   quoted(m.title), xs.size() - 1);
    body += categorical_tics("x", xs);
    if (m.log_scale) body += "set logscale y\n" + log_tics(lo, hi);
    body += two ? fmt::format("set key below title {}\n", quoted(sweep.keys[1])) : "unset key\n";
    std::string plot = "plot ";
    size_t drawn = 0;
    for (size_t y = 0; y < ys.size(); ++y) {
      if (lines[y].empty()) continue;
      const std::string line_block = fmt::format("{}_line{}", data, y);
      set.script += line_block + " << EOD\n" + lines[y] + "EOD\n";
      if (spread)
        plot += fmt::format("{}{} using 1:3:4 with filledcurves fs transparent solid 0.2 noborder lt {} notitle",
                            drawn++ ? ", \\\n     " : "", line_block, y % 8 + 1);
      plot += fmt::format("{}{} using 1:2 with linespoints lt {} lw 1.5 pt 7 title {}", drawn++ ? ", \\\n     " : "", line_block,
                          y % 8 + 1, quoted(two ? ys[y] : m.title));
    }
    set.script += draw(prefix + m.slug, 800, two ? height_for_key(ys.size()) : 480, body + plot + "\n");
    set.plots.push_back({prefix + m.slug, fmt::format("Sweep {}: {} against {}{}{}.", name, m.title, sweep.keys[0],
                                                      two ? ", one line per " + sweep.keys[1] : "", note)});

    if (!two) continue;
    // Heatmap over the first two keys, categorical axes in grid order, the value in each cell.
    std::string heat = fmt::format("set title {}\nset xlabel {}\nset ylabel {}\nunset key\n",
                                   quoted(fmt::format("{}: {}{}", name, m.title, note)), quoted(sweep.keys[0]),
                                   quoted(sweep.keys[1]));
    heat += fmt::format("set xrange [-0.5:{}.5]\nset yrange [-0.5:{}.5]\n", xs.size() - 1, ys.size() - 1);
    heat += categorical_tics("x", xs) + categorical_tics("y", ys);
    heat += "set tics scale 0\nset palette defined (0 '#fff7bc', 1 '#fec44f', 2 '#ec7014')\n";
    heat += fmt::format("set cbrange [{}:{}]\nset cblabel {}\n", number(heat_lo), number(heat_hi), quoted(m.title));
    heat += fmt::format("plot {0} using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 border lc rgb 'white' fc palette, \\\n"
                        "     {0} using 1:2:({1}) with labels\n",
                        data, spread ? "$4 > 0 ? sprintf('%.4g ± %.2g', $3, $4) : sprintf('%.4g', $3)" : "sprintf('%.4g', $3)");
    set.script += draw(prefix + "heatmap-" + m.slug, 800, 560, heat);
    set.plots.push_back({prefix + "heatmap-" + m.slug,
                         fmt::format("Sweep {}: {} over {} and {}{}; blank cells have no finished run with a value.", name,
                                     m.title, sweep.keys[0], sweep.keys[1], note)});
  }
}

}  // namespace

PlotSet plan_plots(const ReportInputs& in, const std::vector<std::string>& labels) {
  PlotSet set;
  set.script = "# Written by dipaco-sim report. Redraw with `gnuplot plots.gp` in this folder\n"
               "# (the images are written as *.partial, then renamed).\n";
  std::vector<Series> ppl, wan;
  double ppl_lo = INFINITY, ppl_hi = -INFINITY;
  for (size_t i = 0; i < in.runs.size(); ++i) {
    const RunRecord& run = in.runs[i];
    if (!run.ok || run.curve.empty()) continue;
    std::string ppl_rows, wan_rows;
    for (const auto& p : run.curve) {
      if (!std::isfinite(p.sim_time_s)) continue;
      if (finite(p.val_perplexity) && *p.val_perplexity > 0 && std::isfinite(p.tokens)) {
        ppl_lo = std::min(ppl_lo, *p.val_perplexity), ppl_hi = std::max(ppl_hi, *p.val_perplexity);
        ppl_rows += fmt::format("{} {} {}\n", number(p.sim_time_s / 3600.0), number(p.tokens), number(*p.val_perplexity));
      }
      if (std::isfinite(p.wan_bytes)) wan_rows += fmt::format("{} {}\n", number(p.sim_time_s / 3600.0), number(p.wan_bytes / 1e9));
    }
    if (!ppl_rows.empty()) {
      ppl.push_back({fmt::format("$ppl{}", i), labels[i], i});
      set.script += fmt::format("\n$ppl{} << EOD\n# {}: hours tokens perplexity\n{}EOD\n", i, one_line(run.name), ppl_rows);
    }
    if (!wan_rows.empty()) {
      wan.push_back({fmt::format("$wan{}", i), labels[i], i});
      set.script += fmt::format("\n$wan{} << EOD\n# {}: hours GB\n{}EOD\n", i, one_line(run.name), wan_rows);
    }
  }

  if (ppl.empty()) {
    set.notes.push_back("No finished run has a validation perplexity (timing-only runs, training=off, have none): perplexity plots are left out.");
  } else {
    const std::string common = "set ylabel 'validation perplexity'\nset logscale y\n" + log_tics(ppl_lo, ppl_hi) +
                               "set grid xtics ytics\nset key below\n";
    set.script += draw("perplexity-vs-time", 900, height_for_key(ppl.size()),
                       "set title 'Validation perplexity against simulated time'\nset xlabel 'simulated wall-clock (h)'\n" +
                           common + line_plot(ppl, 1, 3));
    set.plots.push_back({"perplexity-vs-time", "Validation perplexity (log scale) against simulated wall-clock hours, one line per run."});
    set.script += draw("perplexity-vs-tokens", 900, height_for_key(ppl.size()),
                       "set title 'Validation perplexity against trained tokens'\nset xlabel 'trained tokens'\n"
                       "set format x '%.1s%c'\n" + common + line_plot(ppl, 2, 3));
    set.plots.push_back({"perplexity-vs-tokens", "Validation perplexity (log scale) against tokens trained by all workers, one line per run."});
  }
  if (wan.empty()) {
    set.notes.push_back("No finished run has metrics rows: the WAN-bytes plot is left out.");
  } else {
    set.script += draw("wan-vs-time", 900, height_for_key(wan.size()),
                       "set title 'WAN bytes against simulated time'\nset xlabel 'simulated wall-clock (h)'\n"
                       "set ylabel 'bytes between datacentres (GB, cumulative)'\nset grid\nset key below\n" + line_plot(wan, 1, 2));
    set.plots.push_back({"wan-vs-time", "Cumulative bytes sent between datacentres (GB) against simulated wall-clock hours, one line per run."});
  }

  // Utilisation: one stacked bar per finished run; estimated ones (no breakdown in summary.json) starred.
  std::string util = "\n$util << EOD\n";
  size_t bars = 0, estimated = 0;
  for (size_t i = 0; i < in.runs.size(); ++i) {
    const RunRecord& run = in.runs[i];
    if (!run.ok || !run.utilisation) continue;
    const auto& u = *run.utilisation;
    std::string label = one_line(labels[i]) + (u.measured ? "" : " *");
    std::replace(label.begin(), label.end(), '"', '\'');
    util += fmt::format("\"{}\" {} {} {} {}\n", label, number(u.compute), number(u.communication), number(u.idle), number(u.down));
    ++bars;
    if (!u.measured) ++estimated;
  }
  util += "EOD\n";
  if (bars == 0) {
    set.notes.push_back("No finished run reports its utilisation: the utilisation plot is left out.");
  } else {
    set.script += util;
    set.script += draw("utilisation", std::max(640, 200 + 90 * static_cast<int>(bars)), 560,
                       "set title 'Worker host-time'\nset ylabel 'fraction of worker host-time'\nset yrange [0:1]\n"
                       "set style data histograms\nset style histogram rowstacked\nset style fill solid 0.9 border rgb 'white'\n"
                       "set boxwidth 0.7\nset xtics rotate by 30 right\nset key below horizontal maxrows 1\nset grid ytics\n"
                       "plot $util using 2:xtic(1) title 'compute' lc rgb '#2ca02c', \\\n"
                       "     '' using 3 title 'communication' lc rgb '#1f77b4', \\\n"
                       "     '' using 4 title 'idle' lc rgb '#bbbbbb', \\\n"
                       "     '' using 5 title 'down' lc rgb '#d62728'\n");
    set.plots.push_back({"utilisation",
                         "Worker host-time split into compute, communication, idle and down, one bar per run." +
                             std::string(estimated ? " * estimated: summary.json has no utilisation_breakdown, so compute is "
                                                     "compute_utilisation and the rest is shown as idle."
                                                   : "")});
  }

  for (size_t s = 0; s < in.sweeps.size(); ++s) plan_sweep(in, s, set);
  return set;
}

void draw_plots(const PlotSet& set, const fs::path& out) {
  if (set.plots.empty()) return;
  write_atomically(out / "plots.gp", set.script);
  auto partials = [&](const PlotFile& p) {
    return std::vector<fs::path>{out / (p.stem + ".svg.partial"), out / (p.stem + ".png.partial")};
  };
  std::error_code ignored;
  for (const auto& p : set.plots)
    for (const auto& f : partials(p)) fs::remove(f, ignored);
  const auto result = run_child({"gnuplot", "plots.gp"}, out);
  if (!result.started)
    throw std::runtime_error("gnuplot: cannot run it (" + result.start_error + "): install gnuplot-nox (scripts/setup.sh does)");
  auto clean_up = [&] {
    for (const auto& p : set.plots)
      for (const auto& f : partials(p)) fs::remove(f, ignored);
  };
  if (result.exit_code != 0) {
    clean_up();
    std::string last = result.output;
    while (!last.empty() && (last.back() == '\n' || last.back() == ' ')) last.pop_back();
    last = last.substr(last.find_last_of('\n') == std::string::npos ? 0 : last.find_last_of('\n') + 1);
    throw std::runtime_error(fmt::format("gnuplot failed (exit {}) on {}: {}", result.exit_code, (out / "plots.gp").string(), last));
  }
  for (const auto& p : set.plots)
    for (const auto& f : partials(p)) {
      std::error_code ec;
      const auto size = fs::file_size(f, ec);
      if (ec || size == 0) {
        clean_up();
        throw std::runtime_error("gnuplot drew no " + f.filename().string() + " from " + (out / "plots.gp").string());
      }
    }
  for (const auto& p : set.plots)
    for (const auto& f : partials(p)) {
      fs::path target = f;
      target.replace_extension();  // drops ".partial"
      fs::rename(f, target);
    }
}

}  // namespace dipaco::reports
