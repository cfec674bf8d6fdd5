#include "reports/report_html.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "reports/scenario_diff.hpp"
#include "reports/statistics.hpp"

namespace dipaco::reports {

namespace {

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A table cell holding a number: shown rounded, sorted by its full value; empty when absent.
std::string number_cell(const std::optional<double>& v, int decimals, double scale = 1.0) {
  if (!v || !std::isfinite(*v)) return "<td class=\"num\"></td>";
  const double x = *v / scale;
  return fmt::format("<td class=\"num\" data-sort=\"{:.10g}\">{:.{}f}</td>", x, x, decimals);
}

const char* kStyle = R"(<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
code { background: #f4f4f4; padding: 0 0.2em; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.95em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[data-order="asc"]::after { content: " \25B2"; }
table.sortable th[data-order="desc"]::after { content: " \25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #fff0f0; }
.note { color: #555; }
#broken { background: #c62828; color: white; padding: 0.75em 1em; font-weight: bold; }
</style>
)";

// Sorting: numbers numerically, text with numeric-aware comparison, empty cells always last.
// Image check: the test and the reader both learn whether every plot loaded.
const char* kScript = R"(<script>
function sortTable(th) {
  var body = th.closest('table').tBodies[0];
  var col = Array.prototype.indexOf.call(th.parentNode.children, th);
  var asc = th.dataset.order !== 'asc';
  Array.prototype.forEach.call(th.parentNode.children, function (h) { delete h.dataset.order; });
  th.dataset.order = asc ? 'asc' : 'desc';
  function key(row) { var c = row.cells[col]; return c.dataset.sort !== undefined ? c.dataset.sort : c.textContent.trim(); }
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {
    var x = key(a), y = key(b);
    if (x === '' || y === '') return x === y ? 0 : (x === '' ? 1 : -1);
    var nx = Number(x), ny = Number(y);
    var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y, undefined, {numeric: true});
    return asc ? r : -r;
  });
  rows.forEach(function (r) { body.appendChild(r); });
}
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () { sortTable(th); });
});
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  document.body.dataset.imagesLoaded = (images.length - broken.length) + '/' + images.length;
  if (broken.length > 0) {
    var banner = document.getElementById('broken');
    banner.textContent = 'Broken report: ' + broken.length + ' of ' + images.length + ' images did not load: ' +
        broken.map(function (i) { return i.getAttribute('src'); }).join(', ');
    banner.hidden = false;
  }
});
</script>
)";

std::string inputs_list(const ReportInputs& in) {
  std::string html = "<ul>\n";
  for (const auto& dir : in.dirs) {
    std::string kind = "run directory";
    for (const auto& s : in.sweeps)
      if (s.dir == dir) {
        kind = fmt::format("sweep directory, {} runs", s.runs.size());
        for (size_t k = 0; k < s.keys.size(); ++k) kind += (k ? ", " : " over ") + s.keys[k];
        if (!s.scenario.empty()) kind += ", scenario " + s.scenario;
      }
    html += fmt::format("<li><code>{}</code> ({})</li>\n", esc(dir.string()), esc(kind));
  }
  return html + "</ul>\n";
}

// Beyond this many differing keys the table shows only the swept ones; the differences table has all.
constexpr size_t kMaxTableKeys = 6;

std::string runs_table(const ReportInputs& in, const std::vector<std::string>& keys) {
  std::vector<std::string> columns;
  for (const auto& k : keys)
    if (k != "seed") columns.push_back(k);
  std::string html;
  if (columns.size() > kMaxTableKeys) {
    html += fmt::format("<p class=\"note\">{} scenario keys differ between these runs: the table shows only the swept ones, "
                        "the scenario differences below show all.</p>\n", columns.size());
    std::vector<std::string> swept;
    for (const auto& k : columns)
      for (const auto& s : in.sweeps)
        if (std::find(s.keys.begin(), s.keys.end(), k) != s.keys.end() && std::find(swept.begin(), swept.end(), k) == swept.end())
          swept.push_back(k);
    columns = swept;
  }
  const auto short_names = short_key_names(columns);
  html += "<table class=\"sortable\" id=\"runs\">\n<thead><tr><th>run</th>";
  for (const auto& k : columns) html += fmt::format("<th title=\"{}\">{}</th>", esc(k), esc(short_names.at(k)));
  html += "<th>seed</th><th>status</th><th>final ppl</th><th>sim wall-clock h</th><th>WAN GB</th>"
          "<th>lost compute s</th><th>time to target h</th><th>real s</th><th>error</th></tr></thead>\n<tbody>\n";
  for (const auto& run : in.runs) {
    html += fmt::format("<tr class=\"run{}\"><td title=\"{}\">{}</td>", run.ok ? "" : " failed", esc(run.dir.string()), esc(run.name));
    for (const auto& k : columns) {
      const auto it = run.settings.find(k);
      html += "<td>" + (it == run.settings.end() ? std::string() : esc(it->second)) + "</td>";
    }
    html += fmt::format("<td>{}</td><td>{}</td>", esc(run.seed()), esc(run.status));
    html += number_cell(run.final_val_perplexity, 2) + number_cell(run.simulated_wall_clock_s, 3, 3600.0) +
            number_cell(run.wan_bytes, 2, 1e9) + number_cell(run.lost_compute_s, 1) +
            number_cell(run.time_to_target_s, 3, 3600.0) + number_cell(run.real_seconds, 2);
    html += "<td>" + esc(run.error) + "</td></tr>\n";
  }
  return html + "</tbody>\n</table>\n";
}

// A cell "mean ± half-width of the 95 % CI" over a grid point's seeds, sorted by the mean.
std::string summary_cell(const std::vector<double>& values, int decimals, double scale = 1.0) {
  if (values.empty()) return "<td class=\"num\"></td>";
  const Summary s = summarise(values);
  const double m = s.mean / scale;
  if (s.n < 2) return fmt::format("<td class=\"num\" data-sort=\"{:.10g}\">{:.{}f}</td>", m, m, decimals);
  return fmt::format("<td class=\"num\" data-sort=\"{:.10g}\">{:.{}f} ± {:.{}f}</td>", m, m, decimals, s.ci95 / scale, decimals);
}

// One table per sweep with several seeds per point: each point's metrics over its finished seeds.
std::string points_tables(const ReportInputs& in) {
  std::string html;
  for (size_t si = 0; si < in.sweeps.size(); ++si) {
    const auto& sweep = in.sweeps[si];
    if (sweep.repeat < 2) continue;
    html += fmt::format("<h2>Sweep {}: mean ± 95 % CI over seeds</h2>\n<p class=\"note\"><code>{}</code>: {} seeds per point; "
                        "the interval is Student's t on the finished ones (n).</p>\n",
                        si + 1, esc(sweep.dir.string()), sweep.repeat);
    html += fmt::format("<table class=\"sortable\" id=\"points{}\">\n<thead><tr>", si + 1);
    for (const auto& k : sweep.keys) html += "<th>" + esc(k) + "</th>";
    html += "<th>n</th><th>final ppl</th><th>sim wall-clock h</th><th>WAN GB</th><th>lost compute s</th><th>time to target h</th>"
            "</tr></thead>\n<tbody>\n";
    std::vector<std::vector<std::string>> order;
    std::map<std::vector<std::string>, std::vector<size_t>> points;
    for (size_t r : sweep.runs) {
      std::vector<std::string> values;
      for (const auto& k : sweep.keys) {
        const auto it = in.runs[r].settings.find(k);
        values.push_back(it == in.runs[r].settings.end() ? "" : it->second);
      }
      auto [it, fresh] = points.try_emplace(values);
      if (fresh) order.push_back(values);
      it->second.push_back(r);
    }
    for (const auto& values : order) {
      std::vector<double> ppl, wall, wan, lost, target;
      size_t ok = 0;
      for (size_t r : points.at(values)) {
        const auto& run = in.runs[r];
        if (!run.ok) continue;
        ++ok;
        for (auto [v, out] : {std::pair{&run.final_val_perplexity, &ppl}, {&run.simulated_wall_clock_s, &wall}, {&run.wan_bytes, &wan},
                              {&run.lost_compute_s, &lost}, {&run.time_to_target_s, &target}})
          if (*v && std::isfinite(**v)) out->push_back(**v);
      }
      html += "<tr class=\"point\">";
      for (const auto& v : values) html += "<td>" + esc(v) + "</td>";
      html += fmt::format("<td class=\"num\">{}</td>", ok);
      html += summary_cell(ppl, 2) + summary_cell(wall, 3, 3600.0) + summary_cell(wan, 2, 1e9) + summary_cell(lost, 1) +
              summary_cell(target, 3, 3600.0) + "</tr>\n";
    }
    html += "</tbody>\n</table>\n";
  }
  return html;
}

std::string differences_table(const ReportInputs& in, const std::vector<std::string>& keys) {
  if (in.runs.size() < 2) return "<p class=\"note\">One run: nothing to compare.</p>\n";
  if (keys.empty()) return "<p class=\"note\">No differences: all runs share the same scenario.</p>\n";
  std::string html = "<table class=\"sortable\" id=\"differences\">\n<thead><tr><th>key</th>";
  for (const auto& run : in.runs) html += "<th>" + esc(run.name) + "</th>";
  html += "</tr></thead>\n<tbody>\n";
  for (const auto& k : keys) {
    html += "<tr><td><code>" + esc(k) + "</code></td>";
    for (const auto& run : in.runs) {
      const auto it = run.settings.find(k);
      html += "<td>" + (it != run.settings.end() ? esc(it->second) : run.has_scenario ? "<i>absent</i>" : "") + "</td>";
    }
    html += "</tr>\n";
  }
  return html + "</tbody>\n</table>\n";
}

}  // namespace

std::string render_html(const ReportInputs& in, const std::vector<std::string>& keys, const PlotSet& plots) {
  size_t finished = 0;
  for (const auto& r : in.runs) finished += r.ok ? 1 : 0;
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>dipaco-sim report</title>\n";
  html += kStyle;
  html += "</head>\n<body>\n<div id=\"broken\" hidden></div>\n<h1>dipaco-sim report</h1>\n";
  html += fmt::format("<p>{} runs: {} finished, {} failed or not run. Inputs:</p>\n", in.runs.size(), finished, in.runs.size() - finished);
  html += inputs_list(in);

  html += "<h2>Plots</h2>\n";
  for (const auto& p : plots.plots)
    html += fmt::format("<figure><img src=\"{0}.svg\" alt=\"{1}\"><figcaption>{1} <a href=\"{0}.png\">PNG</a></figcaption></figure>\n",
                        esc(p.stem), esc(p.caption));
  for (const auto& n : plots.notes) html += "<p class=\"note\">" + esc(n) + "</p>\n";
  if (!plots.plots.empty())
    html += "<p class=\"note\">The data and commands of every plot are in <a href=\"plots.gp\">plots.gp</a>.</p>\n";

  html += "<h2>Runs</h2>\n<p class=\"note\">Click a column header to sort. Failed runs are left out of the plots.</p>\n";
  html += runs_table(in, keys);
  html += points_tables(in);
  html += "<h2>Scenario differences</h2>\n";
  html += differences_table(in, keys);
  html += kScript;
  html += "</body>\n</html>\n";
  return html;
}

}  // namespace dipaco::reports
