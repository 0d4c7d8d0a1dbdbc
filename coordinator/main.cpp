// radmm: ADMM training of fully connected residual networks (train, predict, split, bench, compare, plot, cleanup, sync-bench).
// Every failure ends here as one "radmm: error[<name>]: <what>, <where>, <hint>" line on
// stderr and the documented exit code.
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/io.hpp"
#include "coordinator/cli.hpp"
#include "coordinator/plot_runs.hpp"

namespace {
const char* kUsage =
    "usage: radmm <command> [options]\n\n"
    "commands:\n"
    "  train       train an FCResNet with ADMM (radmm train --help)\n"
    "  predict     predict with a trained model.bin (radmm predict --help)\n"
    "  split       print the train / test split of a train command (radmm split --help)\n"
    "  bench       speedup and memory against the number of workers (radmm bench --help)\n"
    "  compare     ADMM against tuned Adam / GD, ridge and the untrained network (radmm compare --help)\n"
    "  plot        one convergence plot comparing run folders (radmm plot --help)\n"
    "  cleanup     remove shared-memory objects left by killed runs\n"
    "  sync-bench  time a bare semaphore round trip to a forked process\n"
    "  version     print the version\n";
}

int main(int argc, char** argv) {
  using namespace radmm;
  ensure_standard_fds();  // before anything is opened: no file may become "stdout"
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, stdout);
    return args.empty() ? static_cast<int>(ExitCode::kUsage) : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "train") return run_train(args);
    if (command == "predict") return run_predict(args);
    if (command == "split") return run_split(args);
    if (command == "cleanup") return run_cleanup(args);
    if (command == "sync-bench") return run_sync_bench(args);
    if (command == "bench") return run_bench(args);
    if (command == "compare") return run_compare(args);
    if (command == "plot") return run_plot(args);
    if (command == "version" || command == "--version") {
      std::printf("radmm %s\n", RADMM_VERSION);
      return 0;
    }
    throw Error(ExitCode::kUsage, "unknown command '" + command + "'", "command line", "try radmm --help");
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.line().c_str());
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "radmm: error[os]: out of memory, %s, reduce the problem size or raise the limit (ulimit -v)\n",
                 command.c_str());
    return static_cast<int>(ExitCode::kOsErr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "radmm: error[internal]: %s, %s, please report this\n", e.what(), command.c_str());
    return static_cast<int>(ExitCode::kSoftware);
  }
}
