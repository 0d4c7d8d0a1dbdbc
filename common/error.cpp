// Exit-code names and the one-line error format.
#include "common/error.hpp"

#include <cstdio>

namespace radmm {

const char* exit_code_name(ExitCode code) {
  switch (code) {
    case ExitCode::kOk: return "ok";
    case ExitCode::kDiverged: return "diverged";
    case ExitCode::kWorkerFailed: return "worker";
    case ExitCode::kDeadline: return "deadline";
    case ExitCode::kUsage: return "usage";
    case ExitCode::kDataErr: return "data";
    case ExitCode::kNoInput: return "noinput";
    case ExitCode::kSoftware: return "internal";
    case ExitCode::kOsErr: return "os";
    case ExitCode::kCantCreate: return "cantcreate";
    case ExitCode::kIoErr: return "io";
    case ExitCode::kSigHup: return "hangup";
    case ExitCode::kSigInt: return "interrupted";
    case ExitCode::kSigTerm: return "terminated";
  }
  return "unknown";
}

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Messages echo user input (INI keys and values, paths, CSV tokens): control bytes are shown
// as \xNN so the line stays one line and cannot drive the terminal.
static std::string compose(const std::string& what, const std::string& where,
                           const std::string& hint) {
  std::string s = what;
  if (!where.empty()) s += ", " + where;
  if (!hint.empty()) s += ", " + hint;
  return printable(s);
}

Error::Error(ExitCode code, std::string what, std::string where, std::string hint)
    : std::runtime_error(compose(what, where, hint)),
      code_(code), what_(std::move(what)), where_(std::move(where)), hint_(std::move(hint)) {}

std::string Error::line() const {
  return std::string("radmm: error[") + exit_code_name(code_) + "]: " + std::runtime_error::what();
}

}  // namespace radmm
