// The depth study's figure and tables (see depth_study.hpp).
#include "coordinator/depth_study.hpp"

#include <cstdio>
#include <sstream>

#include "common/io.hpp"
#include "common/plot.hpp"

namespace radmm {

namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  if (v >= 1e5) std::snprintf(buf, sizeof buf, "%.2g", v);  // an exploded MSE stays short
  else std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

/// The runs of one method, init and depth, and their means over the seeds that did not diverge.
struct Cell {
  int runs = 0, diverged = 0, admm = 0;
  double test = 0, seconds = 0, increases = 0, gap = 0;
  bool all_diverged() const { return runs > 0 && diverged == runs; }
};

Cell cell_of(const std::vector<DepthPoint>& points, const std::string& method, const std::string& init, int depth) {
  Cell c;
  for (const DepthPoint& p : points) {
    if (p.method != method || p.depth != depth || (p.init != init && p.init != "-")) continue;
    ++c.runs;
    if (p.diverged) {
      ++c.diverged;
      continue;
    }
    c.test += p.test;
    c.seconds += p.seconds;
    if (p.lbeta_increases >= 0) ++c.admm, c.increases += p.lbeta_increases, c.gap += p.relaxation_gap;
  }
  const int ok = c.runs - c.diverged;
  if (ok > 0) c.test /= ok, c.seconds /= ok;
  if (c.admm > 0) c.increases /= c.admm, c.gap /= c.admm;
  return c;
}

}  // namespace

std::string depth_study_section(const std::string& label, const std::vector<int>& depths,
                                const std::vector<std::string>& methods, const std::vector<std::string>& inits,
                                const std::vector<DepthPoint>& points, const std::string& dir) {
  std::vector<Panel> mse_panels, time_panels;
  for (const std::string& init : inits) {
    Panel mse{label + ": test MSE, " + init + " init", "depth", "test MSE", {}, true};
    Panel secs{label + ": seconds, " + init + " init", "depth", "seconds (chosen run)", {}, true};
    for (const std::string& m : methods) {
      if (m == "untrained") continue;  // off the scale at depth; it stays in the tables
      Series line{m, {}, {}, m == "ridge", true}, time{m, {}, {}, m == "ridge", true};
      std::string diverged, clipped;
      for (int d : depths) {
        const Cell c = cell_of(points, m, init, d);
        if (c.runs == 0) continue;
        if (c.all_diverged()) {
          diverged += (diverged.empty() ? "" : ",") + std::to_string(d);
          continue;
        }
        if (c.test > kDepthPlotCap) clipped += (clipped.empty() ? "" : ",") + std::to_string(d);
        line.x.push_back(d), line.y.push_back(std::min(c.test, kDepthPlotCap));
        time.x.push_back(d), time.y.push_back(c.seconds);
      }
      if (!clipped.empty()) line.name += " (>" + fixed(kDepthPlotCap, 0) + " at " + clipped + ")";
      if (!diverged.empty()) line.name += " (diverged at " + diverged + ")", time.name += " (diverged at " + diverged + ")";
      mse.series.push_back(line);
      if (m != "ridge") secs.series.push_back(time);
    }
    mse_panels.push_back(mse);
    time_panels.push_back(secs);
  }
  std::vector<Panel> panels = mse_panels;
  panels.insert(panels.end(), time_panels.begin(), time_panels.end());
  const std::string svg = label + "-depth.svg";
  write_file_atomic(dir + "/" + svg, svg_panels(panels, static_cast<int>(inits.size())));

  std::ostringstream md;
  auto header = [&](const std::string& first) {
    md << "| " << first << " |";
    for (int d : depths) md << " depth " << d << " |";
    md << "\n|---|";
    for (std::size_t i = 0; i < depths.size(); ++i) md << "---|";
    md << "\n";
  };
  auto rows = [&](bool admm_only, auto&& text) {
    for (const std::string& init : inits)
      for (const std::string& m : methods) {
        if ((m == "ridge" && init != inits.front()) || (admm_only && m != "admm")) continue;
        md << "| " << m << (m == "ridge" ? "" : " (" + init + ")") << " |";
        for (int d : depths) {
          const Cell c = cell_of(points, m, init, d);
          md << ' '
             << (c.runs == 0 ? "-"
                 : c.all_diverged() ? "diverged"
                                    : text(c) + (c.diverged ? " (" + std::to_string(c.diverged) + "/" +
                                                                 std::to_string(c.runs) + " diverged)"
                                                            : ""))
             << " |";
        }
        md << "\n";
      }
  };
  md << "\n## " << label << ": depth study\n\n![test MSE and seconds against depth](" << svg
     << ")\n\nTest MSE (mean over the seeds that did not diverge; \"diverged\": every seed, or every learning "
        "rate of the grid, stopped with exit 3):\n\n";
  header("method (init)");
  rows(false, [](const Cell& c) { return fixed(c.test, 3); });
  md << "\nSeconds of the chosen run (one core; Adam / GD without their grid):\n\n";
  header("method (init)");
  rows(false, [](const Cell& c) { return fixed(c.seconds, 2); });
  md << "\nADMM: L_beta increases over the run / relaxation gap ||V_N - Phi(X; W)||^2 / n at the last evaluation:\n\n";
  header("method (init)");
  rows(true, [](const Cell& c) { return fixed(c.increases, 1) + " / " + fixed(c.gap, 4); });
  return md.str();
}

}  // namespace radmm
