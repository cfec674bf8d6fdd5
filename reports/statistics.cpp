#include "reports/statistics.hpp"

#include <cmath>
#include <limits>

namespace dipaco::reports {

double t975(double df) {
  static const double table[] = {12.7062, 4.30265, 3.18245, 2.77645, 2.57058, 2.44691, 2.36462, 2.30600, 2.26216, 2.22814,
                                 2.20099, 2.17881, 2.16037, 2.14479, 2.13145, 2.11991, 2.10982, 2.10092, 2.09302, 2.08596,
                                 2.07961, 2.07387, 2.06866, 2.06390, 2.05954, 2.05553, 2.05183, 2.04841, 2.04523, 2.04227};
  if (!(df >= 1.0)) return std::numeric_limits<double>::infinity();
  if (df <= 30.0) {  // linear between whole degrees of freedom (Welch's are fractional)
    const auto lo = static_cast<size_t>(std::floor(df));
    if (lo >= 30) return table[29];
    const double f = df - static_cast<double>(lo);
    return table[lo - 1] + f * (table[lo] - table[lo - 1]);
  }
  const double z = 1.959963984540054, z3 = z * z * z, z5 = z3 * z * z;
  return z + (z3 + z) / (4.0 * df) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df);
}

Summary summarise(const std::vector<double>& values) {
  Summary s;
  s.n = values.size();
  if (s.n == 0) return s;
  double sum = 0.0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  if (s.n < 2) return s;
  double squares = 0.0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.sd = std::sqrt(squares / static_cast<double>(s.n - 1));
  s.ci95 = t975(static_cast<double>(s.n - 1)) * s.sd / std::sqrt(static_cast<double>(s.n));
  return s;
}

Difference difference(const std::vector<double>& a, const std::vector<double>& b) {
  const Summary sa = summarise(a), sb = summarise(b);
  Difference d;
  d.mean = sa.mean - sb.mean;
  if (sa.n < 2 || sb.n < 2) {
    d.ci95 = std::numeric_limits<double>::infinity();
    return d;
  }
  const double va = sa.sd * sa.sd / static_cast<double>(sa.n), vb = sb.sd * sb.sd / static_cast<double>(sb.n);
  const double se = std::sqrt(va + vb);
  if (se == 0.0) return d;  // identical values on both sides: no spread, an exact difference
  d.df = (va + vb) * (va + vb) / (va * va / static_cast<double>(sa.n - 1) + vb * vb / static_cast<double>(sb.n - 1));
  d.ci95 = t975(d.df) * se;
  return d;
}

}  // namespace dipaco::reports
