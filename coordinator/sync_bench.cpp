// radmm sync-bench: the cost of one bare semaphore round trip between the coordinator and a
// forked process (post "go", wait "done"), the floor under the per-phase overhead of the
// parallel trainer. Measured with both the plain wait and the trainer's timed, sliced wait.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/interprocess/anonymous_shared_memory.hpp>
#include <cstdio>
#include <limits>
#include <new>
#include <vector>

#include "common/error.hpp"
#include "coordinator/cli.hpp"
#include "worker/worker_loop.hpp"

namespace radmm {

namespace {
struct PingPong {
  boost::interprocess::interprocess_semaphore ping{0}, pong{0};
};
}  // namespace

int run_sync_bench(const std::vector<std::string>& args) {
  int rounds = 20000, batches = 7, idle_us = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::printf("usage: radmm sync-bench [--rounds N] [--batches B] [--idle-us U]\n\nMedian microseconds of one "
                  "semaphore round trip coordinator -> forked process -> coordinator over B batches of N round trips "
                  "(defaults 20000, 7). With --idle-us both sides sleep U microseconds before each round trip, as "
                  "between the phases of a real run, so the figure includes waking an idle CPU.\n");
      return 0;
    }
    if ((args[i] == "--rounds" || args[i] == "--batches" || args[i] == "--idle-us") && i + 1 < args.size()) {
      const int v = std::atoi(args[i + 1].c_str());
      if (v < (args[i] == "--idle-us" ? 0 : 1) || v > 10000000)
        throw Error(ExitCode::kUsage, args[i] + " must be a positive integer", "command line", "");
      (args[i] == "--rounds" ? rounds : args[i] == "--batches" ? batches : idle_us) = v;
      ++i;
    } else {
      throw Error(ExitCode::kUsage, "unexpected argument '" + args[i] + "'", "radmm sync-bench", "see --help");
    }
  }
  auto region = boost::interprocess::anonymous_shared_memory(sizeof(PingPong));
  auto* pp = new (region.get_address()) PingPong();
  const long total = 2L * rounds * batches;
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) throw Error(ExitCode::kOsErr, "fork failed", "radmm sync-bench", "");
  if (child == 0) {
    for (long i = 0; i < total; ++i) {
      if (!timed_wait_checked(pp->ping, now_seconds() + 10, 0.1, [] {})) ::_exit(1);
      pp->pong.post();
    }
    ::_exit(0);
  }
  std::vector<double> plain, sliced;
  for (int b = 0; b < batches; ++b) {
    double sum = 0;
    for (int i = 0; i < rounds; ++i) {
      if (idle_us) ::usleep(static_cast<useconds_t>(idle_us));
      const double t0 = now_seconds();
      pp->ping.post();
      pp->pong.wait();
      sum += now_seconds() - t0;
    }
    plain.push_back(sum / rounds * 1e6);
    sum = 0;
    for (int i = 0; i < rounds; ++i) {
      if (idle_us) ::usleep(static_cast<useconds_t>(idle_us));
      const double t0 = now_seconds();
      pp->ping.post();
      timed_wait_checked(pp->pong, std::numeric_limits<double>::infinity(), 0.1, [] {});
      sum += now_seconds() - t0;
    }
    sliced.push_back(sum / rounds * 1e6);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("radmm sync-bench: %d batches of %d round trips, %d us idle before each\n", batches, rounds, idle_us);
  std::printf("  semaphore round trip, plain wait:          %.2f us (median)\n", median(plain));
  std::printf("  semaphore round trip, timed sliced wait:   %.2f us (median)\n", median(sliced));
  std::printf("reproduce: radmm sync-bench --rounds %d --batches %d --idle-us %d\n", rounds, batches, idle_us);
  return 0;
}

}  // namespace radmm
