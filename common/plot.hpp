// Minimal SVG line charts (no dependencies): panels of labelled series with axes, ticks and a
// legend, laid out in a grid. Used for the convergence plot of a run and bench's speedup plot.
#pragma once
#include <string>
#include <vector>

namespace radmm {

struct Series {
  std::string name;
  std::vector<double> x, y;
  bool dashed = false;
  bool markers = false;  ///< a dot at every point (sparse series, e.g. against depth)
};

struct Panel {
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  bool log_y = false;  ///< log10 axis; non-positive values are skipped
};

/// An SVG document with the panels in a grid of `columns`.
std::string svg_panels(const std::vector<Panel>& panels, int columns);

}  // namespace radmm
