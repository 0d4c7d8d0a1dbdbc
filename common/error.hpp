// Errors and the exit-code contract: every failure is an Error carrying an ExitCode,
// a short name, what happened, where, and a hint. main() prints it as one line:
//   radmm: error[<name>]: <what>, <where>, <hint>
#pragma once
#include <stdexcept>
#include <string>

namespace radmm {

/// Process exit codes (sysexits-compatible where one exists); see README "Exit codes".
enum class ExitCode : int {
  kOk = 0,
  kDiverged = 3,         ///< non-finite value in an iterate, residual or objective
  kWorkerFailed = 4,     ///< a worker died, was killed, or reported an error
  kDeadline = 5,         ///< a phase exceeded --phase-timeout
  kUsage = 64,           ///< bad command line or settings
  kDataErr = 65,         ///< bad data or model/checkpoint content
  kNoInput = 66,         ///< input missing, unreadable, or not a regular file
  kSoftware = 70,        ///< internal error (a bug)
  kOsErr = 71,           ///< OS or IPC resource failure (fork, shared memory, queues)
  kCantCreate = 73,      ///< output folder or file cannot be created
  kIoErr = 74,           ///< I/O error while writing
  kSigHup = 129,
  kSigInt = 130,
  kSigTerm = 143,
};

/// `s` with control bytes (and DEL) shown as \xNN; every Error's message goes through it.
std::string printable(const std::string& s);

/// Short machine-readable name of an exit code ("usage", "data", ...).
const char* exit_code_name(ExitCode code);

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::string what, std::string where = "", std::string hint = "");
  ExitCode code() const { return code_; }
  const std::string& what_text() const { return what_; }
  const std::string& where() const { return where_; }
  const std::string& hint() const { return hint_; }
  /// The one-line message: "radmm: error[name]: what, where, hint" (control bytes escaped).
  std::string line() const;

 private:
  ExitCode code_;
  std::string what_, where_, hint_;
};

}  // namespace radmm
