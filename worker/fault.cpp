// RADMM_FAULT parsing and actions (see fault.hpp).
#include "worker/fault.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/interprocess/ipc/message_queue.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

#include "common/error.hpp"
#include "worker/phases.hpp"

namespace radmm {

FaultPlan FaultPlan::from_env() {
  FaultPlan f;
  const char* env = std::getenv("RADMM_FAULT");
  if (!env || !*env) return f;
  f.active = true;
  std::stringstream ss(env);
  std::string item;
  auto fail = [&](const std::string& why) {
    throw Error(ExitCode::kUsage, "bad RADMM_FAULT rule '" + std::string(env) + "': " + why, "environment",
                "format: worker=P,iter=K,phase=W|V-even|V-odd|U,action=...");
  };
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) fail("expected key=value");
    std::string key = item.substr(0, eq), val = item.substr(eq + 1);
    if (key == "worker") f.worker = val == "*" ? -1 : std::atoi(val.c_str());
    else if (key == "iter") f.iteration = val == "*" ? -1 : std::atoll(val.c_str());
    else if (key == "phase") {
      f.phase = -1;
      for (int p = 0; p < kPhaseCount; ++p)
        if (val == phase_name(static_cast<Phase>(p))) f.phase = p;
      if (f.phase < 0 && val != "*") fail("unknown phase " + val);
    } else if (key == "action") f.action = val;
    else fail("unknown key " + key);
  }
  const std::string& a = f.action;
  if (a != "sigkill" && a != "sigstop" && a != "throw" && a != "abort" && a != "segv" && a != "nan" && a != "qkill" &&
      a != "qstop" &&
      a.rfind("exit:", 0) != 0 && a.rfind("sleep:", 0) != 0)
    fail("unknown action '" + a + "'");
  return f;
}

void FaultPlan::map_queue(const std::string& name) {
  if (action != "qkill" && action != "qstop") return;
  namespace ipc = boost::interprocess;
  ipc::shared_memory_object shm(ipc::open_only, name.c_str(), ipc::read_write);
  queue_mapping = std::make_shared<ipc::mapped_region>(shm, ipc::read_write);
}

void FaultPlan::fire_in_queue() const {
  if (!queue_mapping) return;
  namespace ipc = boost::interprocess;
  // Boost 1.74 keeps the queue header (mq_hdr_t, whose m_mutex guards the ring) right after
  // the managed segment's own header: reach it as the queue's own code does.
  using Impl = ipc::ipcdetail::managed_open_or_create_impl<ipc::shared_memory_object, 0, true, false>;
  auto* region = static_cast<ipc::mapped_region*>(queue_mapping.get());
  auto* hdr = reinterpret_cast<ipc::ipcdetail::mq_hdr_t<ipc::offset_ptr<void>>*>(
      static_cast<char*>(region->get_address()) + Impl::ManagedOpenOrCreateUserOffset);
  hdr->m_mutex.lock();
  ::kill(::getpid(), action == "qkill" ? SIGKILL : SIGSTOP);
  hdr->m_mutex.unlock();  // after a SIGCONT
}

bool FaultPlan::fire_before() const {
  if (action == "sigkill") ::kill(::getpid(), SIGKILL);
  else if (action == "sigstop") ::kill(::getpid(), SIGSTOP);
  else if (action == "throw") throw std::runtime_error("injected fault (RADMM_FAULT)");
  else if (action == "abort") std::abort();
  else if (action == "segv") ::raise(SIGSEGV);
  else if (action.rfind("exit:", 0) == 0) ::_exit(std::atoi(action.c_str() + 5));
  else if (action.rfind("sleep:", 0) == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoll(action.c_str() + 6)));
  else if (action == "nan") return true;
  return false;
}

}  // namespace radmm
