// metrics.csv reader and the multi-run comparison plot (see plot_runs.hpp).
#include "coordinator/plot_runs.hpp"

#include <boost/program_options.hpp>
#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

#include "common/error.hpp"
#include "common/io.hpp"
#include "common/plot.hpp"

namespace po = boost::program_options;

namespace radmm {

namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::istringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

/// A setting's value from summary.json's flat "settings" object ("" if absent).
std::string setting(const std::string& summary, const std::string& key) {
  const std::string needle = "\"" + key + "\": ";
  const auto at = summary.rfind(needle);  // the settings object is the last one
  if (at == std::string::npos) return "";
  auto begin = at + needle.size();
  if (summary[begin] == '"') {
    const auto end = summary.find('"', begin + 1);
    return summary.substr(begin + 1, end - begin - 1);
  }
  const auto end = summary.find_first_of(",}", begin);
  return summary.substr(begin, end - begin);
}

/// "admm ts3 proximal", "admm ts2 linearized reproject 1 inner 30", "adam", ... from the run's settings.
std::string label_of(const std::string& dir) {
  std::string summary;
  try {
    summary = read_file(dir + "/summary.json");
  } catch (const Error&) {
    return dir;  // an interrupted run has metrics but no summary
  }
  std::string label = setting(summary, "method");
  if (label == "admm" || label == "bcd") {
    label += " " + setting(summary, "splitting") + " " + setting(summary, "update");
    const std::string r = setting(summary, "reproject_every");
    if (!r.empty() && r != "0") label += " reproject " + r;
    const std::string m = setting(summary, "inner_passes");
    if (!m.empty() && m != "1") label += " inner " + m;
  }
  return label.empty() ? dir : label;
}

}  // namespace

MetricsTable read_metrics(const std::string& path) {
  std::istringstream in(read_file(path));
  std::string line;
  if (!std::getline(in, line)) throw Error(ExitCode::kDataErr, "empty metrics file", path, "");
  const std::vector<std::string> header = split_csv_line(line);
  std::map<std::string, std::size_t> col;
  for (std::size_t c = 0; c < header.size(); ++c) col[header[c]] = c;
  for (const char* need : {"iter", "elapsed_s", "lagrangian", "train_mse", "val_mse", "relaxed_mse"})
    if (!col.count(need))
      throw Error(ExitCode::kDataErr, std::string("no column '") + need + "'", path + ":1:1",
                  "pass a run folder written by radmm train");
  MetricsTable t;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int lineno = 2; std::getline(in, line); ++lineno) {
    const std::vector<std::string> cells = split_csv_line(line);
    if (cells.size() != header.size())
      throw Error(ExitCode::kDataErr,
                  "expected " + std::to_string(header.size()) + " cells, found " + std::to_string(cells.size()),
                  path + ":" + std::to_string(lineno) + ":1", "");
    auto num = [&](const char* name, bool optional) {
      const std::string& c = cells[col[name]];
      if (c.empty() && optional) return nan;
      char* end = nullptr;
      const double v = std::strtod(c.c_str(), &end);
      if (c.empty() || *end != '\0')
        throw Error(ExitCode::kDataErr, std::string("bad number '") + c + "' in column " + name,
                    path + ":" + std::to_string(lineno) + ":" + std::to_string(col[name] + 1), "");
      return v;
    };
    t.iter.push_back(num("iter", false));
    t.elapsed_s.push_back(num("elapsed_s", false));
    t.lagrangian.push_back(num("lagrangian", false));
    t.train_mse.push_back(num("train_mse", true));
    t.val_mse.push_back(num("val_mse", true));
    t.relaxed_mse.push_back(num("relaxed_mse", false));
    if (col.count("val_accuracy") && col.count("train_accuracy")) {
      t.train_accuracy.push_back(num("train_accuracy", true));
      t.val_accuracy.push_back(num("val_accuracy", true));
    }
    if (col.count("admm_s")) t.admm_s.push_back(num("admm_s", false));
    const char* phases[4] = {"phase_w_s", "phase_v_even_s", "phase_v_odd_s", "phase_u_s"};
    const char* overheads[4] = {"overhead_w_s", "overhead_v_even_s", "overhead_v_odd_s", "overhead_u_s"};
    for (int q = 0; q < 4; ++q) {
      if (col.count(phases[q])) t.phase_s[q].push_back(num(phases[q], false));
      if (col.count(overheads[q])) t.overhead_s[q].push_back(num(overheads[q], false));
    }
  }
  return t;
}

bool MetricsTable::has_accuracy() const {
  for (double a : train_accuracy)
    if (!std::isnan(a)) return true;
  return false;
}

int run_plot(const std::vector<std::string>& args) {
  std::string out;
  std::vector<std::string> runs;
  bool help = false;
  po::options_description opts("radmm plot options");
  opts.add_options()("help,h", po::bool_switch(&help), "print this help and exit")(
      "out", po::value(&out)->value_name("FILE"), "SVG file to write (required)")(
      "run", po::value(&runs)->value_name("DIR"), "run folder written by radmm train (repeatable; also positional)");
  po::positional_options_description pos;
  pos.add("run", -1);
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(ExitCode::kUsage, e.what(), "command line", "see radmm plot --help");
  }
  if (help) {
    std::cout << "usage: radmm plot --out FILE.svg RUN_DIR [RUN_DIR...]\n\n"
                 "One line per run: validation and train MSE against iteration (epoch) and seconds, and the\n"
                 "objective relative to its first value (L_beta for admm / bcd, the mean loss for gd / adam).\n\n"
              << opts;
    return 0;
  }
  if (out.empty()) throw Error(ExitCode::kUsage, "--out is required", "command line", "radmm plot --out FILE.svg DIR...");
  if (runs.empty()) throw Error(ExitCode::kUsage, "no run folder given", "command line", "radmm plot --out FILE.svg DIR...");

  std::vector<MetricsTable> tables;
  bool accuracy = true;  // classification runs only: plot accuracy instead of MSE
  for (const std::string& dir : runs) {
    tables.push_back(read_metrics(dir + "/metrics.csv"));
    accuracy = accuracy && tables.back().has_accuracy();
  }
  const std::string what = accuracy ? "accuracy" : "MSE";
  Panel test_iter{"validation " + what + " (forward pass)", "iteration / epoch", what, {}, !accuracy};
  Panel test_time{"validation " + what + " (forward pass)", "seconds", what, {}, !accuracy};
  Panel train_time{"train " + what + " (forward pass)", "seconds", what, {}, !accuracy};
  Panel objective{"objective / its first value", "iteration / epoch", "relative", {}, true};
  std::map<std::string, int> seen;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const std::string& dir = runs[r];
    MetricsTable t = tables[r];
    if (accuracy) t.val_mse = t.val_accuracy, t.train_mse = t.train_accuracy;
    std::string label = label_of(dir);
    if (seen[label]++) label += " (" + dir + ")";
    Series ti{label, {}, {}}, tt{label, {}, {}}, tr{label, {}, {}}, ob{label, {}, {}};
    for (std::size_t k = 0; k < t.iter.size(); ++k) {
      if (!std::isnan(t.val_mse[k])) {
        ti.x.push_back(t.iter[k]), ti.y.push_back(t.val_mse[k]);
        tt.x.push_back(t.elapsed_s[k]), tt.y.push_back(t.val_mse[k]);
      }
      if (!std::isnan(t.train_mse[k])) tr.x.push_back(t.elapsed_s[k]), tr.y.push_back(t.train_mse[k]);
      if (t.lagrangian[0] > 0) ob.x.push_back(t.iter[k]), ob.y.push_back(t.lagrangian[k] / t.lagrangian[0]);
    }
    test_iter.series.push_back(ti);
    test_time.series.push_back(tt);
    train_time.series.push_back(tr);
    objective.series.push_back(ob);
  }
  write_file_atomic(out, svg_panels({test_iter, test_time, train_time, objective}, 2));
  std::printf("radmm: wrote %s (%zu runs)\n", out.c_str(), runs.size());
  return 0;
}

}  // namespace radmm
