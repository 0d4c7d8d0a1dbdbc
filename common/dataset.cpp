// Target selection, seeded split and standardisation (see dataset.hpp).
#include "common/dataset.hpp"

#include <charconv>
#include <numeric>

#include "common/error.hpp"
#include "common/io.hpp"
#include "common/rng.hpp"

namespace radmm {

Eigen::MatrixXd Standardizer::apply(const Eigen::MatrixXd& raw) const {
  return (raw.colwise() - mean).array().colwise() / scale.array();
}

Eigen::MatrixXd Standardizer::invert(const Eigen::MatrixXd& z) const {
  return (z.array().colwise() * scale.array()).matrix().colwise() + mean;
}

Standardizer Standardizer::fit(const Eigen::MatrixXd& raw) {
  Standardizer s;
  const double n = static_cast<double>(raw.cols());
  s.mean = raw.rowwise().sum() / n;
  s.scale = ((raw.colwise() - s.mean).array().square().rowwise().sum() / n).sqrt().matrix();
  for (Eigen::Index i = 0; i < s.scale.size(); ++i)
    if (!(s.scale(i) > 1e-12 * (1.0 + std::abs(s.mean(i))))) s.scale(i) = 1.0;  // constant feature
  return s;
}

std::size_t resolve_target(const Table& t, const std::string& target) {
  if (target.empty()) return t.cols() - 1;
  for (std::size_t i = 0; i < t.cols(); ++i)
    if (t.header[i] == target) return i;
  std::size_t idx = 0;
  auto res = std::from_chars(target.data(), target.data() + target.size(), idx);
  if (res.ec == std::errc() && res.ptr == target.data() + target.size() && idx >= 1 && idx <= t.cols())
    return idx - 1;
  throw Error(ExitCode::kUsage, "--target '" + target + "' is neither a column name nor an index in 1.." +
              std::to_string(t.cols()), "--target", "column names are in the CSV header");
}

Eigen::MatrixXd features_of(const Table& t, std::size_t target_col) {
  const auto n = static_cast<Eigen::Index>(t.rows());
  Eigen::MatrixXd x(static_cast<Eigen::Index>(t.cols() - 1), n);
  for (Eigen::Index r = 0; r < n; ++r) {
    Eigen::Index k = 0;
    for (std::size_t c = 0; c < t.cols(); ++c)
      if (c != target_col) x(k++, r) = t.at(static_cast<std::size_t>(r), c);
  }
  return x;
}

Dataset make_dataset(const Table& t, const std::string& target, double test_fraction, std::uint64_t seed) {
  if (t.cols() < 2)
    throw Error(ExitCode::kDataErr, "need at least one feature column and a target column", "data", "");
  const std::size_t tc = resolve_target(t, target);
  Dataset ds;
  ds.rows_total = t.rows();
  ds.target_name = t.header[tc];
  for (std::size_t c = 0; c < t.cols(); ++c)
    if (c != tc) ds.feature_names.push_back(t.header[c]);

  std::uint64_t h = fnv1a64(t.values.data(), t.values.size() * sizeof(double));
  for (const auto& name : t.header) h = fnv1a64(name.data(), name.size(), h);
  ds.fingerprint = h;

  // Seeded Fisher-Yates shuffle; the first n_test rows of the permutation are the test set.
  std::vector<std::size_t> perm(t.rows());
  std::iota(perm.begin(), perm.end(), 0);
  Rng rng(seed ^ 0x5eed5eedULL);
  for (std::size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
  const auto n_test = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(t.rows())));
  const std::size_t n_train = t.rows() - n_test;
  if (n_train < 2)
    throw Error(ExitCode::kDataErr, "only " + std::to_string(n_train) + " training rows after the split", "data",
                "use more rows or a smaller --test-fraction");

  Eigen::MatrixXd x = features_of(t, tc);
  const auto d0 = x.rows();
  Eigen::MatrixXd xtr(d0, static_cast<Eigen::Index>(n_train)), xte(d0, static_cast<Eigen::Index>(n_test));
  ds.y_train.resize(1, static_cast<Eigen::Index>(n_train));
  ds.y_test.resize(1, static_cast<Eigen::Index>(n_test));
  for (std::size_t k = 0; k < perm.size(); ++k) {
    const std::size_t r = perm[k];
    if (k < n_test) {
      xte.col(static_cast<Eigen::Index>(k)) = x.col(static_cast<Eigen::Index>(r));
      ds.y_test(0, static_cast<Eigen::Index>(k)) = t.at(r, tc);
    } else {
      xtr.col(static_cast<Eigen::Index>(k - n_test)) = x.col(static_cast<Eigen::Index>(r));
      ds.y_train(0, static_cast<Eigen::Index>(k - n_test)) = t.at(r, tc);
    }
  }
  ds.x_scaler = Standardizer::fit(xtr);
  ds.y_scaler = Standardizer::fit(ds.y_train);
  ds.x_train = ds.x_scaler.apply(xtr);
  ds.x_test = n_test ? ds.x_scaler.apply(xte) : Eigen::MatrixXd(d0, 0);
  return ds;
}

}  // namespace radmm
