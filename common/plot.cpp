// SVG line charts (see plot.hpp).
#include "common/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "common/io.hpp"

namespace radmm {

namespace {

constexpr double kW = 460, kH = 300, kLeft = 70, kRight = 20, kTop = 34, kBottom = 46;
const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                          "#8c564b", "#17becf", "#e377c2", "#7f7f7f", "#bcbd22"};

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return o;
}

/// Up to ~6 round tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi) {
  const double span = hi - lo;
  const double raw = span / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) t.push_back(v);
  return t;
}

void panel_svg(std::ostringstream& o, const Panel& p, double ox, double oy) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  auto ty = [&](double y) { return p.log_y ? std::log10(y) : y; };
  for (const Series& s : p.series)
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (p.log_y && s.y[i] <= 0)) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(s.y[i]));
      y1 = std::max(y1, ty(s.y[i]));
    }
  o << "<g transform=\"translate(" << num(ox) << "," << num(oy) << ")\">\n";
  o << "<text x=\"" << num(kW / 2) << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << esc(p.title)
    << "</text>\n";
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  o << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << num(pw) << "\" height=\"" << num(ph)
    << "\" fill=\"none\" stroke=\"#444\"/>\n";
  if (!(x1 >= x0)) {  // no data
    o << "</g>\n";
    return;
  }
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const double pad = 0.04 * (y1 - y0);
  y0 -= pad;
  y1 += pad;
  auto sx = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * pw; };
  auto sy = [&](double y) { return kTop + ph - (ty(y) - y0) / (y1 - y0) * ph; };
  for (double t : ticks(x0, x1))
    o << "<line x1=\"" << num(sx(t)) << "\" x2=\"" << num(sx(t)) << "\" y1=\"" << num(kTop + ph) << "\" y2=\""
      << num(kTop + ph + 4) << "\" stroke=\"#444\"/><text x=\"" << num(sx(t)) << "\" y=\"" << num(kTop + ph + 16)
      << "\" text-anchor=\"middle\" font-size=\"10\">" << num(t) << "</text>\n";
  std::vector<double> yticks = ticks(y0, y1);
  if (p.log_y) {  // round values on a log axis: whole decades, 1-2-5, 1-2-3-5-7, or round linear steps
    yticks.clear();
    const double span = y1 - y0;
    const double step = std::max(1.0, std::ceil(span / 6));
    const std::vector<double> mantissas = span >= 3 ? std::vector<double>{1} : span >= 1 ? std::vector<double>{1, 2, 5}
                                                                                        : std::vector<double>{1, 2, 3, 5, 7};
    for (double t = std::floor(y0); t <= y1; t += step)
      for (double m : mantissas)
        if (t + std::log10(m) >= y0 && t + std::log10(m) <= y1) yticks.push_back(t + std::log10(m));
    if (yticks.size() < 3) {  // less than a factor of ~2.5: round steps of the values themselves
      yticks.clear();
      for (double v : ticks(std::pow(10, y0), std::pow(10, y1))) if (v > 0) yticks.push_back(std::log10(v));
    }
  }
  for (double t : yticks) {
    const double yy = kTop + ph - (t - y0) / (y1 - y0) * ph;
    o << "<line x1=\"" << kLeft - 4 << "\" x2=\"" << num(kLeft + pw) << "\" y1=\"" << num(yy) << "\" y2=\"" << num(yy)
      << "\" stroke=\"#ddd\"/><text x=\"" << kLeft - 6 << "\" y=\"" << num(yy + 3)
      << "\" text-anchor=\"end\" font-size=\"10\">" << num(p.log_y ? std::pow(10, t) : t) << "</text>\n";
  }
  o << "<text x=\"" << num(kLeft + pw / 2) << "\" y=\"" << num(kH - 8) << "\" text-anchor=\"middle\" font-size=\"12\">"
    << esc(p.xlabel) << "</text>\n";
  o << "<text transform=\"translate(14," << num(kTop + ph / 2) << ") rotate(-90)\" text-anchor=\"middle\" "
    << "font-size=\"12\">" << esc(p.ylabel) << (p.log_y ? " (log)" : "") << "</text>\n";
  std::size_t longest = 0;  // the legend sits in the top-right corner, sized to its longest name
  for (const Series& s : p.series) longest = std::max(longest, s.name.size());
  const double legend_x = kLeft + pw - 30 - 6.2 * static_cast<double>(longest);
  for (std::size_t k = 0; k < p.series.size(); ++k) {
    const Series& s = p.series[k];
    const char* colour = kColours[k % (sizeof kColours / sizeof *kColours)];
    std::ostringstream pts;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]) || (p.log_y && s.y[i] <= 0)) continue;
      pts << num(sx(s.x[i])) << "," << num(sy(s.y[i])) << " ";
    }
    o << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.8\""
      << (s.dashed ? " stroke-dasharray=\"5,4\"" : "") << " points=\"" << pts.str() << "\"/>\n";
    if (s.markers)
      for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
        if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && !(p.log_y && s.y[i] <= 0))
          o << "<circle cx=\"" << num(sx(s.x[i])) << "\" cy=\"" << num(sy(s.y[i])) << "\" r=\"3\" fill=\"" << colour
            << "\"/>\n";
    const double ly = kTop + 14 + 14 * static_cast<double>(k);
    o << "<line x1=\"" << num(legend_x) << "\" x2=\"" << num(legend_x + 20) << "\" y1=\"" << num(ly - 4)
      << "\" y2=\"" << num(ly - 4) << "\" stroke=\"" << colour << "\" stroke-width=\"2\""
      << (s.dashed ? " stroke-dasharray=\"5,4\"" : "") << "/><text x=\"" << num(legend_x + 25) << "\" y=\""
      << num(ly) << "\" font-size=\"11\">" << esc(s.name) << "</text>\n";
  }
  o << "</g>\n";
}

}  // namespace

std::string svg_panels(const std::vector<Panel>& panels, int columns) {
  const int rows = (static_cast<int>(panels.size()) + columns - 1) / columns;
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\""
    << num(kW * columns) << "\" height=\"" << num(kH * rows) << "\" viewBox=\"0 0 " << num(kW * columns) << " "
    << num(kH * rows) << "\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (std::size_t i = 0; i < panels.size(); ++i)
    panel_svg(o, panels[i], kW * static_cast<double>(i % columns), kH * static_cast<double>(i / columns));
  o << "</svg>\n";
  return o.str();
}

}  // namespace radmm
