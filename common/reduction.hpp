// The fixed-order reduction of the phase schedule's sums over samples: every W step's
// P~ P~^T and P~ T^T, and every layer's L_beta terms, are computed per column chunk
// (grid.hpp ColumnChunks) and the chunk partials summed in chunk order, so the iterates are
// the same bytes for every grid. ReductionArea holds the partials where S > 1 shards share them.
#pragma once
#include <boost/interprocess/mapped_region.hpp>

#include "common/admm.hpp"
#include "common/grid.hpp"

namespace radmm {

/// One chunk's part of the W step's sums: cross = P~_c T_c^T ((k+1) x rows) and, with
/// `with_gram`, the lower triangle of gram = P~_c P~_c^T ((k+1) x (k+1)). Overwrites both.
template <class T>
void ridge_partial(const ConstMatRefT<T>& p, const ConstMatRefT<T>& t, MatRefT<T> gram, MatRefT<T> cross,
                   bool with_gram);

/// W <- (scale cross^T + alpha W^k)(scale gram + (lambda + alpha) I)^{-1} from the summed
/// partials (the ridge_solve of admm.cpp with its sums precomputed). With `cache`, a ready
/// factor is reused and `gram` ignored; otherwise the factor is formed (and stored in the cache).
template <class T>
void ridge_solve_sums(MatRefT<T> w, const MatT<T>& gram, const MatT<T>& cross, T scale, const Penalties& pen,
                      InputGram<T>* cache);

/// A shared anonymous mapping (made before fork) with a slot per (layer, chunk): the W partials
/// (gram and cross, scalar T) and the layer's L_beta terms (double).
class ReductionArea {
 public:
  ReductionArea(const Dims& dims, const ColumnChunks& chunks, std::size_t scalar_bytes);
  /// Bytes the area maps for these sizes.
  static std::size_t bytes(const Dims& dims, const ColumnChunks& chunks, std::size_t scalar_bytes);
  template <class T>
  typename Num<T>::Map gram(int layer, int chunk) const {
    const auto k1 = dims_.w_cols(layer);
    return typename Num<T>::Map(reinterpret_cast<T*>(base() + slot(layer, chunk)), k1, k1);
  }
  template <class T>
  typename Num<T>::Map cross(int layer, int chunk) const {
    const auto k1 = dims_.w_cols(layer);
    return typename Num<T>::Map(reinterpret_cast<T*>(base() + slot(layer, chunk) + gram_bytes(layer)), k1,
                                dims_.w_rows(layer));
  }
  /// Layer i's L_beta terms of each chunk (K doubles).
  double* terms(int layer) const {
    return reinterpret_cast<double*>(base() + terms_offset_) + static_cast<std::size_t>(layer) * chunks_.count();
  }
  const ColumnChunks& chunks() const { return chunks_; }

 private:
  std::size_t gram_bytes(int layer) const;
  std::size_t slot(int layer, int chunk) const;
  char* base() const { return static_cast<char*>(region_.get_address()); }
  Dims dims_;
  ColumnChunks chunks_;
  std::size_t scalar_bytes_;
  std::vector<std::size_t> layer_offset_, slot_bytes_;
  std::size_t terms_offset_ = 0;
  boost::interprocess::mapped_region region_;
};

}  // namespace radmm
