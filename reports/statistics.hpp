// Summaries over seeds: mean, sample standard deviation and a 95 % confidence interval from
// Student's t, for one setting and for the difference between two (Welch). Used by the sweep's
// per-point aggregates, the report's bands and the fidelity suite's verdicts.
#pragma once

#include <cstddef>
#include <vector>

namespace dipaco::reports {

struct Summary {
  size_t n = 0;
  double mean = 0.0;
  double sd = 0.0;    // sample standard deviation (n - 1); 0 when n < 2
  double ci95 = 0.0;  // half-width of the 95 % confidence interval of the mean; 0 when n < 2
};

Summary summarise(const std::vector<double>& values);

// The two-sided 95 % quantile of Student's t with `df` degrees of freedom (t_{0.975, df}); df may
// be fractional (Welch). Exact to 4 decimals from a table up to 30, Cornish-Fisher above.
double t975(double df);

// mean(a) - mean(b) with the half-width of its 95 % confidence interval (Welch's unequal
// variances). Needs at least 2 values on each side; otherwise the half-width is infinite.
struct Difference {
  double mean = 0.0;
  double ci95 = 0.0;
  double df = 0.0;
};
Difference difference(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace dipaco::reports
