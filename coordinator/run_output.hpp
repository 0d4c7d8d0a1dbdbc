// The run folder: metrics.csv (one complete line per iteration, flushed), summary.json,
// model.bin, convergence.svg and, on failure, failure.json, all but metrics.csv written atomically,
// every one relative to the locked run folder's descriptor.
#pragma once
#include <cstdio>
#include <string>

#include "common/error.hpp"
#include "common/run_folder.hpp"
#include "common/settings.hpp"
#include "coordinator/trainer.hpp"

namespace radmm {

class RunOutput {
 public:
  /// Writes into `folder` (RunFolder::create for a new run, open_existing for --resume).
  /// When resuming after `resumed_iteration` (>= 0), metrics.csv keeps its rows up to that
  /// iteration and continues after them.
  RunOutput(RunFolder folder, bool classification, std::int64_t resumed_iteration = -1);
  ~RunOutput();
  /// --out, or a fresh runs/<timestamp>[-k] when it is empty.
  static std::string folder_for(const Settings& s);
  const std::string& dir() const { return folder_.path(); }
  RunFolder& folder() { return folder_; }
  /// Appends one metrics.csv row; throws Error(kIoErr) if the write fails.
  void write_metrics(const IterationRecord& r);
  void write_summary(const Settings& s, const Dataset& ds, const TrainResult& res);
  void write_model(const Model& m);
  /// convergence.svg from metrics.csv: L_beta and the MSEs against iteration and time.
  void write_plot();
  /// failure.json; never throws (best effort on the way out).
  void write_failure(const Error& e) noexcept;

  /// The metrics.csv header; classification runs add train/val accuracy and loss columns.
  static std::string metrics_header(bool classification = false);

 private:
  RunFolder folder_;
  int metrics_fd_ = -1;
  bool classification_ = false;
  off_t metrics_size_ = 0;  ///< bytes of complete rows: a failed write is truncated back to it
};

/// Progress: a live line on a terminal, plain log lines otherwise.
class Progress {
 public:
  Progress(int iterations, bool quiet);
  void update(const IterationRecord& r);
  /// Classification runs show accuracy instead of MSE, from the first line on.
  void set_classification(bool on) { classes_ = on; }
  void finish();

 private:
  int iterations_;
  bool quiet_, tty_;
  bool dirty_ = false;
  bool classes_ = false;       ///< a classification run: show accuracy
  double last_line_s_ = 0;     ///< elapsed_s of the last printed line
};

}  // namespace radmm
