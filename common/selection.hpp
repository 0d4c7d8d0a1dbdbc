// Model selection on the validation rows (--early-stop, --patience), the same rule for every
// method: remember the weights of the evaluation with the lowest validation MSE, and say when
// `patience` evaluations in a row brought no improvement. Checkpoints carry it, so a resumed
// run selects exactly as an uninterrupted one.
#pragma once
#include <limits>
#include <string>
#include <vector>

#include "common/binary.hpp"
#include "common/model.hpp"

namespace radmm {

struct ModelSelection {
  int patience = 0;                  ///< 0 = never stop
  int best_iteration = 0;            ///< 0 = no evaluation yet
  double best_val = std::numeric_limits<double>::infinity();
  int since_best = 0;                ///< evaluations after the best one
  std::vector<Mat> best_w;

  /// Records the validation MSE of the weights `w` after `iteration`; true when patience ran out.
  bool offer(int iteration, double val_mse, const std::vector<Mat>& w) {
    if (val_mse < best_val) {
      best_val = val_mse;
      best_iteration = iteration;
      best_w = w;
      since_best = 0;
      return false;
    }
    ++since_best;
    return patience > 0 && since_best >= patience;
  }

  /// Appends the state to a checkpoint body (the weights as rows, cols, doubles per matrix).
  void serialize(std::string& s) const {
    put(s, static_cast<std::int64_t>(best_iteration));
    put(s, best_val);
    put(s, static_cast<std::int64_t>(since_best));
    put(s, static_cast<std::uint64_t>(best_w.size()));
    for (const Mat& m : best_w) {
      put(s, static_cast<std::int64_t>(m.rows()));
      put(s, static_cast<std::int64_t>(m.cols()));
      put_doubles(s, m.data(), static_cast<std::size_t>(m.size()));
    }
  }

  /// Reads what serialize wrote; every length is bounded by what is left of the file.
  void deserialize(BinaryReader& in) {
    best_iteration = static_cast<int>(in.get<std::int64_t>());
    best_val = in.get<double>();
    since_best = static_cast<int>(in.get<std::int64_t>());
    const auto count = in.get<std::uint64_t>();
    if (best_iteration < 0 || since_best < 0 || count > 100000) in.fail("bad model-selection record");
    best_w.clear();
    for (std::uint64_t k = 0; k < count; ++k) {
      const auto r = in.get<std::int64_t>(), c = in.get<std::int64_t>();
      if (r < 1 || c < 1 || r > (1 << 24) || c > (1 << 24)) in.fail("bad model-selection matrix");
      in.need_doubles(static_cast<std::uint64_t>(r) * static_cast<std::uint64_t>(c));
      Mat m(r, c);
      in.doubles(m.data(), static_cast<std::size_t>(m.size()));
      best_w.push_back(std::move(m));
    }
  }
};

}  // namespace radmm
