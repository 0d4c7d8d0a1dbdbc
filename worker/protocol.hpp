// The coordinator-worker protocol's plain data: the control block at the start of the
// shared mapping (per-worker go/done semaphores and accounting slots) and the fixed-size
// messages of the control queues. See docs/protocol.md.
#pragma once
#include <boost/interprocess/sync/interprocess_semaphore.hpp>
#include <atomic>
#include <cstdint>
#include <type_traits>

#include "common/layout.hpp"
#include "worker/phases.hpp"

namespace radmm {

constexpr std::uint64_t kControlMagic = 0x314C54434D4D4152ULL;  // "RAMMCTL1"
constexpr std::uint32_t kProtocolVersion = 2;

/// One worker's fast-path semaphores and its accounting, written only by that worker
/// (except the semaphores). Cache-line aligned so workers never share a line.
struct alignas(64) WorkerSlot {
  boost::interprocess::interprocess_semaphore go{0};    ///< coordinator -> worker: run control.phase
  boost::interprocess::interprocess_semaphore done{0};  ///< worker -> coordinator: phase finished
  double compute_s[kPhaseCount] = {};  ///< seconds spent computing, per phase, summed over the run
  double wait_s[kPhaseCount] = {};     ///< seconds spent waiting for "go" before each phase
  std::int64_t peak_rss = 0;           ///< VmHWM in bytes, refreshed after every U phase
  std::int32_t pid = 0;
  NonFinite bad;                       ///< first non-finite block found by the last phase
  double last_compute_s = 0;           ///< compute seconds of the last phase
};

struct alignas(64) ControlBlock {
  std::uint64_t magic = kControlMagic;
  std::uint32_t version = kProtocolVersion;
  std::int32_t workers = 0;
  Dims dims;
  std::int32_t phase = 0;      ///< written by the coordinator before posting "go"
  std::int64_t iteration = 0;  ///< iteration number of the phase being run
  double spin_s = 0;           ///< poll a semaphore this long before sleeping on it (--spin-us; 0 = sleep at once)
  /// Set by the coordinator's signal handler: a stop it will turn into a checkpoint. A worker
  /// that got SIGTERM too (a signal to the whole group) then keeps going; one that got it alone ends.
  std::atomic<std::int32_t> stop_signal{0};
};
static_assert(std::atomic<std::int32_t>::is_always_lock_free, "written from a signal handler, read across processes");

/// Bytes of the control area for P workers.
constexpr std::size_t control_bytes(int workers) {
  return sizeof(ControlBlock) + static_cast<std::size_t>(workers) * sizeof(WorkerSlot);
}
inline WorkerSlot* slots_of(ControlBlock* cb) { return reinterpret_cast<WorkerSlot*>(cb + 1); }

/// Constructs the control block and its P slots in `mem` (once, by the coordinator, before fork).
ControlBlock* create_control(void* mem, const Dims& dims, int workers);

enum class MsgType : std::int32_t { kHello = 1, kError = 2, kStop = 3 };

/// Every queue message: fixed size, trivially copyable, versioned.
struct Message {
  std::uint32_t version = kProtocolVersion;
  MsgType type = MsgType::kHello;
  std::int32_t worker = -1;
  std::int32_t pid = 0;
  std::int64_t iteration = 0;
  std::int32_t phase = -1;
  char text[404] = {};
};
static_assert(std::is_trivially_copyable_v<Message>, "queue messages are raw bytes");

}  // namespace radmm
