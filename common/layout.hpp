// The ADMM state as plain data: one buffer of float or double (--precision), 64-byte-aligned
// arrays at offsets computed from the sizes, viewed through Eigen::Map. The same layout backs the
// in-process trainer and the shared-memory segment of the parallel one, so every process computes
// on identically aligned data (part of the bit-for-bit P-independence guarantee).
#pragma once
#include <Eigen/Dense>
#include <boost/interprocess/mapped_region.hpp>
#include <cstdint>
#include <vector>

#include "common/num.hpp"

namespace radmm {

using MatMap = Num<double>::Map;

/// Problem sizes: N layers, d0 inputs, width d, c outputs, n training samples.
struct Dims {
  int depth = 2, d0 = 1, width = 1, outputs = 1;
  std::int64_t samples = 1;
  int hidden() const { return depth - 1; }
  /// Rows and columns of W_i (i = 1..N), bias column included.
  Eigen::Index w_rows(int i) const { return i == depth ? outputs : width; }
  Eigen::Index w_cols(int i) const { return (i == 1 ? d0 : width) + 1; }
};

/// Byte offsets (each a multiple of 64) of every array of the state; the per-layer objective
/// terms (`partial`) are doubles whatever the scalar, so L_beta is always summed in double.
struct Layout {
  Dims dims;
  std::size_t scalar_bytes = sizeof(double);
  std::size_t x = 0, y = 0, vn = 0, lambda = 0, zn = 0, partial = 0, total = 0;
  std::vector<std::size_t> w, u, v;  ///< indexed by layer i (entry 0 unused)
  static Layout make(const Dims& dims, std::size_t scalar_bytes = sizeof(double));
  std::size_t bytes() const { return total; }
  /// Bytes of the arrays owned by hidden layers first..last (W, U, V), plus W_N if last = N-1.
  std::size_t region_bytes(int first, int last) const;
};

/// Views into a buffer laid out by `Layout`. Layer indices are 1-based as in ALGORITHM.md;
/// V(0) is the input X so that V_{i-1} needs no special case.
template <class T>
class StateT {
 public:
  using Scalar = T;
  using Map = typename Num<T>::Map;
  StateT() = default;
  StateT(const Layout& layout, char* base) : layout_(&layout), base_(base) {}
  const Dims& dims() const { return layout_->dims; }
  Map W(int i) const { return map(layout_->w[i], dims().w_rows(i), dims().w_cols(i)); }
  Map U(int i) const { return map(layout_->u[i], dims().width, dims().samples); }
  Map V(int i) const {
    return i == 0 ? X() : i == dims().depth ? VN() : map(layout_->v[i], dims().width, dims().samples);
  }
  Map X() const { return map(layout_->x, dims().d0, dims().samples); }
  Map Y() const { return map(layout_->y, dims().outputs, dims().samples); }
  Map VN() const { return map(layout_->vn, dims().outputs, dims().samples); }
  Map Lambda() const { return map(layout_->lambda, dims().outputs, dims().samples); }
  Map ZN() const { return map(layout_->zn, dims().outputs, dims().samples); }  ///< W_N V~_{N-1}
  /// Per-layer objective terms, entry i for layer i (1..N); summed in layer order.
  double* partial() const { return reinterpret_cast<double*>(base_ + layout_->partial); }
  char* base() const { return base_; }
  const Layout& layout() const { return *layout_; }

 private:
  Map map(std::size_t off, Eigen::Index r, Eigen::Index c) const {
    return Map(reinterpret_cast<T*>(base_ + off), r, c);
  }
  const Layout* layout_ = nullptr;
  char* base_ = nullptr;
};
using State = StateT<double>;

/// Owns a zero-filled, page-aligned MAP_SHARED anonymous mapping: an optional control
/// area (the parallel trainer's semaphores and slots), then the state at a page boundary.
/// Created before fork(), it is shared with the workers and leaves nothing in /dev/shm.
class StateBuffer {
 public:
  explicit StateBuffer(const Dims& dims, std::size_t control_bytes = 0, std::size_t scalar_bytes = sizeof(double));
  /// The state viewed with scalar T (which must match the scalar size the buffer was made for).
  template <class T = double>
  StateT<T> state() {
    return StateT<T>(layout_, base() + state_offset_);
  }
  void* control() { return base(); }
  const Layout& layout() const { return layout_; }
  std::size_t mapped_bytes() const { return region_.get_size(); }

 private:
  char* base() { return static_cast<char*>(region_.get_address()); }
  Layout layout_;
  std::size_t state_offset_;
  boost::interprocess::mapped_region region_;
};

}  // namespace radmm
