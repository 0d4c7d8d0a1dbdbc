// Test helpers: random ADMM states, an independent L_beta, and running the radmm binary
// as a child with a deadline, capturing its exit code, stderr and duration.
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "common/admm.hpp"
#include "common/layout.hpp"
#include "common/rng.hpp"

namespace radmm::test {

Dims make_dims(int depth, int d0, int width, int outputs, std::int64_t samples);
Penalties make_penalties(double gamma, double rho, double beta, double alpha, double lambda,
                         Activation act = Activation::kRelu);

/// Fills X, Y with random values, initialises by a forward pass, then perturbs U, V,
/// V_N and Lambda so the state is far from a fixed point.
void random_state(const State& s, std::uint64_t seed, Activation act);

/// L_beta computed directly from its definition (ALGORITHM.md 2), independent of the
/// trainer's partial sums and of affine().
double lagrangian(const State& s, const Penalties& pen);

/// P~ = [P; 1^T].
Eigen::MatrixXd tilde(const Eigen::MatrixXd& p);

struct RunResult {
  int exit_code = -1;    ///< exit status, or 128 + signal
  double seconds = 0;
  std::string out, err;  ///< stdout, stderr
};

/// Runs build/radmm with `args` and extra environment entries; kills it after `timeout_s`.
RunResult run_radmm(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                    double timeout_s = 60);

/// A radmm process started in its own process group, for tests that signal it mid-run.
struct Child {
  int pid = -1;
  double started = 0;
  std::string out_path, err_path;
};
/// `file_size_limit` > 0 sets RLIMIT_FSIZE (bytes) in the child, like `ulimit -f`.
Child spawn_radmm(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                  long file_size_limit = 0);
/// The same for another program (e.g. mpirun), given by path.
Child spawn_program(const std::string& path, const std::vector<std::string>& args,
                    const std::vector<std::string>& env = {}, long file_size_limit = 0);
/// Waits for the child (killing its whole group after `timeout_s`); `seconds` counts from `since`.
RunResult wait_radmm(const Child& c, double timeout_s, double since);
/// Direct children of `pid` (the coordinator's workers).
std::vector<int> children_of(int pid);

/// A fresh empty folder under the build tree's test area.
std::string temp_dir(const std::string& tag);

/// Names in /dev/shm that belong to this user's radmm runs.
std::vector<std::string> radmm_shm_entries();

/// Pids of live processes whose command line contains `needle`.
std::vector<int> processes_with(const std::string& needle);

std::string slurp(const std::string& path);
void write_text(const std::string& path, const std::string& text);

}  // namespace radmm::test
