// The radmm subcommands: train, predict, split, cleanup, sync-bench. Each returns the process exit code and
// reports failures as one "radmm: error[...]" line (see common/error.hpp).
#pragma once
#include <string>
#include <vector>

namespace radmm {

int run_train(const std::vector<std::string>& args);
int run_predict(const std::vector<std::string>& args);
/// Prints the train / test split that run_train would use (same options) as CSV.
int run_split(const std::vector<std::string>& args);
int run_cleanup(const std::vector<std::string>& args);
int run_sync_bench(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
/// Every method on the same data and network, baselines tuned on validation (compare.cpp).
int run_compare(const std::vector<std::string>& args);
/// Removes /dev/shm objects of this user's radmm runs whose coordinator is dead; returns the count.
int sweep_stale_ipc(bool verbose);

}  // namespace radmm
