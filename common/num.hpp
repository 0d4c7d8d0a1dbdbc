// Matrix types of one scalar (float or double, --precision). Functions take `typename Num<T>::Ref`
// parameters, a non-deduced context, so `template <class T = double>` functions are called as
// f(...) for double and f<T>(...) otherwise, and Eigen maps convert to the references implicitly.
#pragma once
#include <Eigen/Dense>

namespace radmm {

template <class T>
struct Num {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using Ref = Eigen::Ref<Mat>;
  using ConstRef = Eigen::Ref<const Mat>;
  using Map = Eigen::Map<Mat, Eigen::Aligned64>;
};

}  // namespace radmm

namespace radmm {

template <class T>
using MatT = typename Num<T>::Mat;
template <class T>
using MatRefT = typename Num<T>::Ref;
template <class T>
using ConstMatRefT = typename Num<T>::ConstRef;

}  // namespace radmm
