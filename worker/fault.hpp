// Deterministic fault injection for the reliability tests: RADMM_FAULT in the environment,
// e.g. "worker=1,iter=3,phase=W,action=sigkill". Actions: sigkill, sigstop, segv, abort,
// throw, exit:C, nan (poisons the worker's first block after the phase), sleep:MS, and
// qkill / qstop (take the reports queue's internal mutex, then SIGKILL / SIGSTOP: a process
// dying inside a queue call). iter=0 fires in the start-up hello. Unset = no faults.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace radmm {

struct FaultPlan {
  bool active = false;
  int worker = -1;            ///< -1 = any
  std::int64_t iteration = -1;  ///< -1 = any
  int phase = -1;             ///< -1 = any
  std::string action;
  /// Parses RADMM_FAULT (empty = inactive); throws Error(kUsage) on a malformed rule.
  static FaultPlan from_env();
  bool matches(int w, std::int64_t iter, int ph) const {
    return active && (worker < 0 || worker == w) && (iteration < 0 || iteration == iter) && (phase < 0 || phase == ph);
  }
  /// Runs the action before the phase (signals, throw, exit, sleep); returns true when the
  /// action is "nan", which the caller applies after the phase.
  bool fire_before() const;
  /// qkill / qstop: maps the message queue `name` while its name still exists (at worker
  /// start; the names are unlinked after the hello). Other actions: nothing.
  void map_queue(const std::string& name);
  /// qkill / qstop: locks the mapped queue's internal mutex and kills / stops this process
  /// while holding it. Other actions: nothing.
  void fire_in_queue() const;
  std::shared_ptr<void> queue_mapping;  ///< the mapped_region of map_queue
};

}  // namespace radmm
