// Target selection, seeded split and standardisation (see dataset.hpp).
#include "common/dataset.hpp"

#include <charconv>
#include <map>
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
  // target_col >= cols() means the table has no target column: every column is a feature.
  const std::size_t features = target_col < t.cols() ? t.cols() - 1 : t.cols();
  Eigen::MatrixXd x(static_cast<Eigen::Index>(features), n);
  for (Eigen::Index r = 0; r < n; ++r) {
    Eigen::Index k = 0;
    for (std::size_t c = 0; c < t.cols(); ++c)
      if (c != target_col) x(k++, r) = t.at(static_cast<std::size_t>(r), c);
  }
  return x;
}

Split split_rows(const Eigen::MatrixXd& x, double test_fraction, std::uint64_t seed, bool grouped) {
  const auto n = static_cast<std::size_t>(x.cols());
  Split sp;
  sp.copy_of.resize(n);
  std::map<std::vector<double>, std::size_t> first;  // exact equality of the features
  for (std::size_t r = 0; r < n; ++r) {
    const Eigen::VectorXd c = x.col(static_cast<Eigen::Index>(r));
    const auto [it, fresh] = first.emplace(std::vector<double>(c.data(), c.data() + c.size()), r);
    sp.copy_of[r] = it->second;
    sp.duplicate_rows += fresh ? 0 : 1;
  }
  // The unit that is placed on one side: a group of copies, or (random) each row alone.
  std::vector<std::size_t> group(n), group_size(n, 0);
  for (std::size_t r = 0; r < n; ++r) ++group_size[group[r] = grouped ? sp.copy_of[r] : r];
  // Seeded Fisher-Yates shuffle; walking it, a group joins the test set while it still fits, so
  // without duplicates the test set is the first n_test rows of the permutation.
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  Rng rng(seed ^ 0x5eed5eedULL);
  for (std::size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
  const auto n_test = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(n)));
  std::vector<char> side(n, 0);  // per group: 0 undecided, 1 test, 2 train
  std::size_t reserved = 0;  // test rows promised to the groups already placed
  for (std::size_t r : perm) {
    char& g = side[group[r]];
    if (g == 0) {
      g = reserved + group_size[group[r]] <= n_test ? 1 : 2;
      if (g == 1) reserved += group_size[group[r]];
    }
    (g == 1 ? sp.test : sp.train).push_back(r);
  }
  if (sp.train.size() < 2)
    throw Error(ExitCode::kDataErr, "only " + std::to_string(sp.train.size()) + " training rows after the split",
                "data", "use more rows or a smaller --test-fraction");
  return sp;
}

void split_validation(Split& sp, const Eigen::MatrixXd& x, double fraction, std::uint64_t seed, bool grouped) {
  if (fraction <= 0) return;
  Eigen::MatrixXd sub(x.rows(), static_cast<Eigen::Index>(sp.train.size()));
  for (std::size_t k = 0; k < sp.train.size(); ++k)
    sub.col(static_cast<Eigen::Index>(k)) = x.col(static_cast<Eigen::Index>(sp.train[k]));
  // Another seed stream than the test split's, so the test rows do not depend on the fraction.
  const Split inner = split_rows(sub, fraction, seed ^ 0x7a11da7e5eedULL, grouped);
  std::vector<std::size_t> train;
  for (const std::size_t k : inner.test) sp.validation.push_back(sp.train[k]);
  for (const std::size_t k : inner.train) train.push_back(sp.train[k]);
  sp.train = std::move(train);
}

namespace {

/// The columns `rows` of x (features) and of the target column of t.
void gather(const Table& t, std::size_t tc, const Eigen::MatrixXd& x, const std::vector<std::size_t>& rows,
            Eigen::MatrixXd& xs, Eigen::MatrixXd& ys) {
  xs.resize(x.rows(), static_cast<Eigen::Index>(rows.size()));
  ys.resize(1, static_cast<Eigen::Index>(rows.size()));
  for (std::size_t k = 0; k < rows.size(); ++k) {
    xs.col(static_cast<Eigen::Index>(k)) = x.col(static_cast<Eigen::Index>(rows[k]));
    ys(0, static_cast<Eigen::Index>(k)) = t.at(rows[k], tc);
  }
}

}  // namespace

Dataset make_dataset(const Table& t, const std::string& target, double test_fraction, std::uint64_t seed,
                     bool grouped, double validation_fraction) {
  if (t.cols() < 2)
    throw Error(ExitCode::kDataErr, "need at least one feature column and a target column", "data", "");
  const std::size_t tc = resolve_target(t, target);
  Dataset ds;
  ds.rows_total = t.rows();
  ds.target_name = t.header[tc];
  for (std::size_t c = 0; c < t.cols(); ++c)
    if (c != tc) ds.feature_names.push_back(t.header[c]);

  Eigen::MatrixXd x = features_of(t, tc);
  Split sp = split_rows(x, test_fraction, seed, grouped);
  split_validation(sp, x, validation_fraction, seed, grouped);
  ds.duplicate_rows = sp.duplicate_rows;

  // The fingerprint covers the split too, so a checkpoint never resumes on other training rows.
  std::uint64_t h = fnv1a64(t.values.data(), t.values.size() * sizeof(double));
  for (const auto& name : t.header) h = fnv1a64(name.data(), name.size(), h);
  for (const std::size_t r : sp.test) h = fnv1a64(&r, sizeof r, h);
  for (const std::size_t r : sp.validation) h = fnv1a64(&r, sizeof r, h ^ 0x5a);
  ds.fingerprint = h;

  Eigen::MatrixXd xtr, xva, xte;
  gather(t, tc, x, sp.train, xtr, ds.y_train);
  gather(t, tc, x, sp.validation, xva, ds.y_val);
  gather(t, tc, x, sp.test, xte, ds.y_test);
  ds.x_scaler = Standardizer::fit(xtr);
  ds.y_scaler = Standardizer::fit(ds.y_train);
  ds.x_train = ds.x_scaler.apply(xtr);
  ds.x_val = ds.x_scaler.apply(xva);
  ds.x_test = ds.x_scaler.apply(xte);
  return ds;
}

}  // namespace radmm
