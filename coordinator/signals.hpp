// SIGINT / SIGTERM / SIGHUP in the coordinator: the first sets a flag that the training loop polls at
// phase boundaries; a second one exits at once (workers follow through PR_SET_PDEATHSIG and
// no named IPC object outlives start-up). SIGPIPE and SIGXFSZ are ignored so they become errors.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include "common/error.hpp"

namespace radmm {

void install_signal_handlers();
/// 0 if no stop was requested, else the signal number (SIGINT, SIGTERM or SIGHUP).
int stop_signal();
/// Also record a stop in `flag` (the shared control block, read by the workers); nullptr = no longer.
void share_stop_signal(std::atomic<std::int32_t>* flag);
/// The error a stop by `sig` ends the run with: exit 128 + sig, "interrupted by SIGINT", ...
Error stop_error(int sig, const std::string& where, const std::string& hint);

}  // namespace radmm
