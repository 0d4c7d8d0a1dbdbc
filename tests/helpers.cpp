// Test helpers (see helpers.hpp).
#include "helpers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "common/io.hpp"
#include "coordinator/trainer.hpp"

namespace radmm::test {

Dims make_dims(int depth, int d0, int width, int outputs, std::int64_t samples) {
  Dims d;
  d.depth = depth;
  d.d0 = d0;
  d.width = width;
  d.outputs = outputs;
  d.samples = samples;
  return d;
}

Penalties make_penalties(double gamma, double rho, double beta, double alpha, double lambda, Activation act) {
  Penalties p;
  p.gamma = gamma;
  p.rho = rho;
  p.beta = beta;
  p.alpha = alpha;
  p.lambda = lambda;
  p.activation = act;
  return p;
}

void random_state(const State& s, std::uint64_t seed, Activation act) {
  Rng rng(seed);
  auto fill = [&](MatMap m, double scale) {
    for (Eigen::Index j = 0; j < m.cols(); ++j)
      for (Eigen::Index i = 0; i < m.rows(); ++i) m(i, j) = scale * rng.normal();
  };
  fill(s.X(), 1.0);
  fill(s.Y(), 1.0);
  initialise_state(s, act, seed + 1);
  for (int i = 1; i < s.dims().depth; ++i) {
    fill(s.U(i), 0.3);
    fill(s.V(i), 0.3);
  }
  for (int i = 1; i <= s.dims().depth; ++i) fill(s.W(i), 0.5);
  fill(s.VN(), 0.5);
  fill(s.Lambda(), 0.5);
}

Eigen::MatrixXd tilde(const Eigen::MatrixXd& p) {
  Eigen::MatrixXd t(p.rows() + 1, p.cols());
  t.topRows(p.rows()) = p;
  t.row(p.rows()).setOnes();
  return t;
}

double lagrangian(const State& s, const Penalties& pen) {
  const int n_layers = s.dims().depth;
  auto sigma = [&](const Eigen::MatrixXd& u) -> Eigen::MatrixXd {
    return pen.activation == Activation::kRelu ? Eigen::MatrixXd(u.cwiseMax(0.0)) : u;
  };
  double l = 0.5 * (s.VN() - s.Y()).squaredNorm();
  for (int i = 1; i <= n_layers; ++i) l += 0.5 * pen.lambda * s.W(i).squaredNorm();
  for (int i = 1; i < n_layers; ++i) {
    const Eigen::MatrixXd prev = s.V(i - 1);
    const Eigen::MatrixXd r = i >= 2 ? prev : Eigen::MatrixXd::Zero(s.dims().width, s.dims().samples);
    if (pen.ts2) {  // TS2: sigma(W_i V~_{i-1}) inside the penalty, no U
      l += 0.5 * pen.gamma * (s.V(i) - r - sigma(s.W(i) * tilde(prev))).squaredNorm();
      continue;
    }
    l += 0.5 * pen.gamma * (s.V(i) - r - sigma(s.U(i))).squaredNorm();
    l += 0.5 * pen.rho * (s.U(i) - s.W(i) * tilde(prev)).squaredNorm();
  }
  const Eigen::MatrixXd res = s.VN() - s.W(n_layers) * tilde(s.V(n_layers - 1));
  l += (s.Lambda().array() * res.array()).sum() + 0.5 * pen.beta * res.squaredNorm();
  return l;
}

Child spawn_radmm(const std::vector<std::string>& args, const std::vector<std::string>& env, long file_size_limit) {
  return spawn_program(RADMM_BINARY, args, env, file_size_limit);
}

Child spawn_program(const std::string& path, const std::vector<std::string>& args, const std::vector<std::string>& env,
                    long file_size_limit) {
  static std::atomic<int> counter{0};
  const std::string base = temp_dir("run") + "/io" + std::to_string(counter++);
  Child c;
  c.out_path = base + ".out";
  c.err_path = base + ".err";
  c.started = now_seconds();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    int o = ::open(c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    for (const auto& kv : env) ::putenv(const_cast<char*>(kv.c_str()));
    if (file_size_limit > 0) {
      rlimit lim{static_cast<rlim_t>(file_size_limit), static_cast<rlim_t>(file_size_limit)};
      ::setrlimit(RLIMIT_FSIZE, &lim);
    }
    std::vector<char*> argv;
    std::string bin = path;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  c.pid = pid;
  return c;
}

RunResult wait_radmm(const Child& c, double timeout_s, double since) {
  RunResult r;
  int status = 0;
  while (true) {
    const pid_t w = ::waitpid(c.pid, &status, WNOHANG);
    if (w == c.pid) break;
    if (now_seconds() - c.started > timeout_s) {
      ::kill(-c.pid, SIGKILL);  // the whole process group: a hang must not survive the test
      ::waitpid(c.pid, &status, 0);
      r.err = "TIMEOUT\n";
      break;
    }
    ::usleep(2000);
  }
  r.seconds = now_seconds() - since;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(c.out_path);
  r.err += slurp(c.err_path);
  return r;
}

RunResult run_radmm(const std::vector<std::string>& args, const std::vector<std::string>& env, double timeout_s) {
  const Child c = spawn_radmm(args, env);
  return wait_radmm(c, timeout_s, c.started);
}

std::vector<int> children_of(int pid) {
  std::vector<int> out;
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children"));
  int child;
  while (in >> child) out.push_back(child);
  return out;
}

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const std::string root = std::string("/tmp/radmm-tests-") + std::to_string(::getuid());
  ::mkdir(root.c_str(), 0755);
  const std::string dir = root + "/" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

std::vector<std::string> radmm_shm_entries() {
  std::vector<std::string> out;
  const std::string mine = "radmm_" + std::to_string(::getuid()) + "_";
  if (DIR* d = ::opendir("/dev/shm")) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name).rfind(mine, 0) == 0) out.push_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

std::vector<int> processes_with(const std::string& needle) {
  std::vector<int> out;
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      const int pid = std::atoi(e->d_name);
      if (pid <= 0 || pid == ::getpid()) continue;
      std::string cmd = slurp("/proc/" + std::string(e->d_name) + "/cmdline");
      for (char& c : cmd)
        if (c == '\0') c = ' ';
      // Zombies (reaped soon by init) have an empty cmdline and are not counted.
      if (cmd.find(needle) != std::string::npos) out.push_back(pid);
    }
    ::closedir(d);
  }
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace radmm::test
