// Timed semaphore wait in slices (included by worker_loop.hpp). Boost 1.74 throws on EINTR
// and takes absolute UTC deadlines (STYLE.md P7, P8); both are handled here, once.
#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/exceptions.hpp>
#include <cerrno>

#include "common/io.hpp"

namespace radmm {

template <class Check>
bool timed_wait_checked(boost::interprocess::interprocess_semaphore& sem, double deadline_s, double slice_s,
                        Check&& check, double spin_s) {
  namespace pt = boost::posix_time;
  // Poll first: a post that comes within spin_s is taken without the futex sleep and wake-up
  // (tens of microseconds each). Far below any slice, so deadlines and checks are unchanged.
  if (spin_s > 0) {
    const double until = now_seconds() + spin_s;
    do {
      if (sem.try_wait()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } while (now_seconds() < until);
  }
  while (true) {
    const double left = deadline_s - now_seconds();
    const double slice = left < slice_s ? (left > 0 ? left : 0) : slice_s;
    const auto until = pt::microsec_clock::universal_time() + pt::microseconds(static_cast<long>(slice * 1e6));
    try {
      if (sem.timed_wait(until)) return true;
    } catch (const boost::interprocess::interprocess_exception& e) {
      if (e.get_native_error() != EINTR) throw;
    }
    check();
    if (now_seconds() >= deadline_s) return false;
  }
}

}  // namespace radmm
