// RAII over the MPI C API (see mpi_comm.hpp).
#include "common/mpi_comm.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>

#include "common/error.hpp"
#include "common/io.hpp"

namespace radmm::mpi {

namespace {
Session* g_world = nullptr;
constexpr std::size_t kChunk = std::size_t(1) << 30;

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(ExitCode::kOsErr, std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(len)),
              "MPI", "check the MPI installation and the launch (mpirun)");
}
}  // namespace

Session::Session() {
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // Errors come back as codes (then Error), not as the library's default abort.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  g_world = this;
}

Session::~Session() {
  g_world = nullptr;
  MPI_Finalize();
}

void Session::abort(int code) {
  std::fflush(nullptr);
  MPI_Abort(MPI_COMM_WORLD, code);
  ::_exit(code);  // MPI_Abort does not return; this is for the compiler
}

Session* world() { return g_world; }

double mpirun_kill_grace_s() {
  const char* v = std::getenv("OMPI_MCA_odls_base_sigkill_timeout");
  const double s = v ? std::atof(v) : 1.0;
  return s > 0 ? s : 1.0;
}

Batch::~Batch() {
  for (MPI_Request& r : requests_)
    if (r != MPI_REQUEST_NULL) {
      MPI_Cancel(&r);
      MPI_Request_free(&r);
    }
}

namespace {
/// Posts `bytes` as messages of at most kChunk bytes (one, possibly empty, at least):
/// post(offset, count, request) starts each, and its MPI result is checked as `what`.
template <class Post>
void post_in_chunks(std::vector<MPI_Request>& requests, std::size_t bytes, const char* what, Post post) {
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(bytes - at, kChunk);
    requests.push_back(MPI_REQUEST_NULL);
    check(post(at, static_cast<int>(n), &requests.back()), what);
    at += n;
  } while (at < bytes);
}
}  // namespace

void Batch::send(const void* data, std::size_t bytes, int dest, int tag) {
  const char* p = static_cast<const char*>(data);
  post_in_chunks(requests_, bytes, "MPI_Isend", [&](std::size_t at, int n, MPI_Request* r) {
    return MPI_Isend(p + at, n, MPI_BYTE, dest, tag, MPI_COMM_WORLD, r);
  });
}

void Batch::recv(void* data, std::size_t bytes, int source, int tag) {
  char* p = static_cast<char*>(data);
  post_in_chunks(requests_, bytes, "MPI_Irecv", [&](std::size_t at, int n, MPI_Request* r) {
    return MPI_Irecv(p + at, n, MPI_BYTE, source, tag, MPI_COMM_WORLD, r);
  });
}

bool Batch::wait_until(double deadline, const std::function<void()>& between) {
  // MPI_Testsome (not Testall) so that done(i) sees each transfer as it completes.
  // Slices grow from 20 us to 1 ms: a quick phase is not slowed much, an idle wait costs no core.
  std::vector<int> index(requests_.size());
  useconds_t nap = 20;
  while (true) {
    int count = 0;
    check(MPI_Testsome(static_cast<int>(requests_.size()), requests_.data(), &count, index.data(), MPI_STATUSES_IGNORE),
          "MPI_Testsome");
    if (count == MPI_UNDEFINED) return true;  // no active request left
    if (count > 0) nap = 20;
    if (between) between();
    if (std::all_of(requests_.begin(), requests_.end(), [](MPI_Request r) { return r == MPI_REQUEST_NULL; })) return true;
    if (now_seconds() > deadline) return false;
    if (count == 0) {
      ::usleep(nap);
      nap = std::min<useconds_t>(nap * 2, 1000);
    }
  }
}

}  // namespace radmm::mpi
