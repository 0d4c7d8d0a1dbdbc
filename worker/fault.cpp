// RADMM_FAULT parsing and actions (see fault.hpp).
#include "worker/fault.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/error.hpp"
#include "worker/phases.hpp"

namespace radmm {

FaultPlan FaultPlan::from_env() {
  FaultPlan f;
  const char* env = std::getenv("RADMM_FAULT");
  if (!env || !*env) return f;
  f.active = true;
  std::stringstream ss(env);
  std::string item;
  auto fail = [&](const std::string& why) {
    throw Error(ExitCode::kUsage, "bad RADMM_FAULT rule '" + std::string(env) + "': " + why, "environment",
                "format: worker=P,iter=K,phase=W|V-even|V-odd|U,action=...");
  };
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) fail("expected key=value");
    std::string key = item.substr(0, eq), val = item.substr(eq + 1);
    if (key == "worker") f.worker = val == "*" ? -1 : std::atoi(val.c_str());
    else if (key == "iter") f.iteration = val == "*" ? -1 : std::atoll(val.c_str());
    else if (key == "phase") {
      f.phase = -1;
      for (int p = 0; p < kPhaseCount; ++p)
        if (val == phase_name(static_cast<Phase>(p))) f.phase = p;
      if (f.phase < 0 && val != "*") fail("unknown phase " + val);
    } else if (key == "action") f.action = val;
    else fail("unknown key " + key);
  }
  const std::string& a = f.action;
  if (a != "sigkill" && a != "sigstop" && a != "throw" && a != "abort" && a != "segv" && a != "nan" &&
      a.rfind("exit:", 0) != 0 && a.rfind("sleep:", 0) != 0)
    fail("unknown action '" + a + "'");
  return f;
}

bool FaultPlan::fire_before() const {
  if (action == "sigkill") ::kill(::getpid(), SIGKILL);
  else if (action == "sigstop") ::kill(::getpid(), SIGSTOP);
  else if (action == "throw") throw std::runtime_error("injected fault (RADMM_FAULT)");
  else if (action == "abort") std::abort();
  else if (action == "segv") ::raise(SIGSEGV);
  else if (action.rfind("exit:", 0) == 0) ::_exit(std::atoi(action.c_str() + 5));
  else if (action.rfind("sleep:", 0) == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoll(action.c_str() + 6)));
  else if (action == "nan") return true;
  return false;
}

}  // namespace radmm
