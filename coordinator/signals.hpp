// SIGINT / SIGTERM in the coordinator: the first sets a flag that the training loop polls at
// phase boundaries; a second one exits at once (workers follow through PR_SET_PDEATHSIG and
// no named IPC object outlives start-up). SIGPIPE and SIGXFSZ are ignored so they become errors.
#pragma once

namespace radmm {

void install_signal_handlers();
/// 0 if no stop was requested, else the signal number (SIGINT or SIGTERM).
int stop_signal();

}  // namespace radmm
