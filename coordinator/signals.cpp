// Coordinator signal handling (see signals.hpp).
#include "coordinator/signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <csignal>

namespace radmm {

namespace {
volatile std::sig_atomic_t g_signal = 0;
std::atomic<std::atomic<std::int32_t>*> g_shared{nullptr};

void on_signal(int sig) {
  if (g_signal != 0) {
    const char msg[] = "radmm: error[interrupted]: second signal, exiting at once\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(128 + sig);
  }
  g_signal = sig;
  if (std::atomic<std::int32_t>* shared = g_shared.load()) shared->store(sig);
}
}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);  // a closed terminal: stop like SIGTERM, exit 129
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGXFSZ, SIG_IGN);
}

int stop_signal() { return g_signal; }

void share_stop_signal(std::atomic<std::int32_t>* flag) {
  if (flag && g_signal) flag->store(g_signal);
  g_shared.store(flag);
}

Error stop_error(int sig, const std::string& where, const std::string& hint) {
  const ExitCode code = sig == SIGINT ? ExitCode::kSigInt : sig == SIGHUP ? ExitCode::kSigHup : ExitCode::kSigTerm;
  const char* name = sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM";
  return Error(code, std::string("interrupted by ") + name, where, hint);
}

}  // namespace radmm
