// What the training loop needs besides the state to continue a run exactly as if it had not
// stopped: the diagnostics history and counters, L_beta at the start of the current iteration,
// the restart flag of an iteration a stop split, and x^k for its step norm. Stored in the
// checkpoint's resume_extra field as a checked binary record ("RADMMRES", FNV-1a 64).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/diagnostics.hpp"

namespace radmm {

struct ResumeBook {
  int violations = 0, restarts = 0;
  double l_start = 0;               ///< L_beta at the start of the current iteration (diagnostics)
  bool restart = false;             ///< the split iteration began with a re-projection
  std::vector<StepRecord> steps;    ///< the diagnostics history so far
  std::string snapshot;             ///< x^k of a split iteration (diagnostics), raw block bytes
};

std::string encode_resume_book(const ResumeBook& b);
/// Throws Error(kDataErr) naming `name` for a damaged record.
ResumeBook decode_resume_book(const std::string& bytes, const std::string& name);

}  // namespace radmm
