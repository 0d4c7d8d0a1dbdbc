// Worker side of the protocol (see worker_loop.hpp).
#include "worker/worker_loop.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <limits>
#include <new>

namespace radmm {

ControlBlock* create_control(void* mem, const Dims& dims, int workers) {
  auto* cb = new (mem) ControlBlock();
  cb->dims = dims;
  cb->workers = workers;
  for (int p = 0; p < workers; ++p) new (slots_of(cb) + p) WorkerSlot();
  return cb;
}

bool send_message(boost::interprocess::message_queue& q, const Message& m) {
  namespace pt = boost::posix_time;
  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      return q.timed_send(&m, sizeof m, 0, pt::microsec_clock::universal_time() + pt::seconds(1));
    } catch (const boost::interprocess::interprocess_exception& e) {
      if (e.get_native_error() != EINTR) return false;
    }
  }
  return false;
}

namespace {

struct CoordinatorGone {};
struct StopRequested {};

volatile std::sig_atomic_t g_sigterm = 0;
void on_sigterm(int) { g_sigterm = 1; }

/// A SIGTERM this worker got: part of a stop of the whole group (the coordinator recorded it
/// too and will checkpoint) or meant for this worker alone, which then ends by it.
void check_sigterm(const WorkerEnv& env) {
  static double first_seen = 0;
  if (!g_sigterm || env.control->stop_signal.load() != 0) return;
  if (first_seen == 0) first_seen = now_seconds();
  if (now_seconds() - first_seen < 0.5) return;  // the group's signal may still be on its way
  ::signal(SIGTERM, SIG_DFL);
  ::raise(SIGTERM);
}

Message make_message(const WorkerEnv& env, MsgType type, const std::string& text) {
  Message m;
  m.type = type;
  m.worker = env.rank;
  m.pid = static_cast<std::int32_t>(::getpid());
  m.iteration = env.control->iteration;
  m.phase = env.control->phase;
  std::strncpy(m.text, text.c_str(), sizeof m.text - 1);
  return m;
}

/// Between wait slices: is the coordinator alive, and has it asked us to stop?
void check_peers(const WorkerEnv& env) {
  if (env.parent != 0 && ::getppid() != env.parent) throw CoordinatorGone{};
  if (env.parent != 0) check_sigterm(env);
  Message m;
  std::size_t got = 0;
  unsigned prio = 0;
  if (env.commands->try_receive(&m, sizeof m, got, prio) && m.type == MsgType::kStop) throw StopRequested{};
}

}  // namespace

int worker_loop(WorkerEnv& env) {
  WorkerSlot& slot = slots_of(env.control)[env.rank];
  try {
    env.fault.map_queue(env.reports_name);
    if (env.fault.matches(env.rank, 0, 0)) env.fault.fire_in_queue();  // iter=0: in the hello
    send_message(*env.reports, make_message(env, MsgType::kHello, ""));
    while (true) {
      const double t0 = now_seconds();
      timed_wait_checked(slot.go, std::numeric_limits<double>::infinity(), 0.1, [&] { check_peers(env); },
                         env.control->spin_s);
      check_peers(env);  // a stop is sent before its "go"
      const auto ph = static_cast<Phase>(env.control->phase);
      const int phi = phase_slot(ph);  // a reduction round is accounted to its phase
      const double t1 = now_seconds();
      slot.wait_s[phi] += t1 - t0;
      bool poison = false;
      if (static_cast<int>(ph) == phi && env.fault.matches(env.rank, env.control->iteration, phi)) {
        env.fault.fire_in_queue();
        poison = env.fault.fire_before();
      }
      env.kernel->run(ph, env.region);
      if (poison) env.kernel->poison(env.region.first);
      slot.bad = env.kernel->check(ph, env.region);
      slot.last_compute_s = now_seconds() - t1;
      slot.compute_s[phi] += slot.last_compute_s;
      slot.done.post();
    }
  } catch (const StopRequested&) {
    slot.peak_rss = peak_rss_bytes();
    return 0;
  } catch (const CoordinatorGone&) {
    return 2;
  } catch (const std::exception& e) {
    send_message(*env.reports, make_message(env, MsgType::kError, e.what()));
    return 1;
  }
}

void worker_process_main(WorkerEnv& env) {
  // The coordinator owns shutdown: Ctrl-C and a closed terminal reach the whole process group.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  // Not the coordinator's handler (which would make a worker ignore its first SIGTERM and print
  // a second error line at the second): see check_sigterm.
  struct sigaction sa {};
  sa.sa_handler = on_sigterm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != env.parent) ::_exit(2);  // the coordinator died before prctl took effect
  slots_of(env.control)[env.rank].pid = static_cast<std::int32_t>(::getpid());
  int status = 2;
  try {
    status = worker_loop(env);
  } catch (...) {
    status = 3;
  }
  ::_exit(status);  // never unwind into the coordinator's copied stack (STYLE.md P12)
}

}  // namespace radmm
