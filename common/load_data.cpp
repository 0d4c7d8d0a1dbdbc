// CSV or IDX data for a run (see load_data.hpp).
#include "common/load_data.hpp"

#include "common/error.hpp"
#include "common/idx.hpp"
#include "common/io.hpp"
#include "common/loss.hpp"
#include "common/rng.hpp"

#include <algorithm>
#include <cmath>

namespace radmm {

namespace {

/// d0 x n pixels (raw 0..255) and labels of an IDX pair.
void idx_columns(const IdxPair& p, Eigen::MatrixXd& x, std::vector<int>& labels) {
  const auto n = static_cast<Eigen::Index>(p.images.records());
  const auto d0 = static_cast<Eigen::Index>(p.images.record_size());
  x.resize(d0, n);
  const std::uint8_t* px = p.images.values.data();
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index r = 0; r < d0; ++r) x(r, j) = px[j * d0 + r];
  labels.assign(p.labels.values.begin(), p.labels.values.end());
}

std::uint64_t hash_pair(const IdxPair& p, std::uint64_t h) {
  for (std::uint32_t d : p.images.dims) h = fnv1a64(&d, sizeof d, h);
  h = fnv1a64(p.images.values.data(), p.images.values.size(), h);
  return fnv1a64(p.labels.values.data(), p.labels.values.size(), h);
}

}  // namespace

void make_classification(Dataset& ds, int classes) {
  auto labels = [](const Eigen::MatrixXd& y) {
    std::vector<int> l(static_cast<std::size_t>(y.cols()));
    for (Eigen::Index j = 0; j < y.cols(); ++j) l[static_cast<std::size_t>(j)] = static_cast<int>(y(0, j));
    return l;
  };
  ds.classes = classes;
  ds.labels_train = labels(ds.y_train);
  ds.labels_val = labels(ds.y_val);
  ds.labels_test = labels(ds.y_test);
  ds.y_train = one_hot(ds.labels_train, classes);
  ds.y_val = one_hot(ds.labels_val, classes);
  ds.y_test = one_hot(ds.labels_test, classes);
  ds.y_scaler.mean = Eigen::VectorXd::Zero(classes);
  ds.y_scaler.scale = Eigen::VectorXd::Ones(classes);
}

Dataset make_idx_dataset(const std::string& data, double validation_fraction, std::uint64_t seed) {
  const std::vector<std::string> f = idx_source_files(data);
  const IdxPair train = read_idx_pair(f[0], f[1]), test = read_idx_pair(f[2], f[3]);
  if (test.images.record_size() != train.images.record_size())
    throw Error(ExitCode::kDataErr,
                "test images have " + std::to_string(test.images.record_size()) + " pixels, training images " +
                    std::to_string(train.images.record_size()),
                f[2], "use the test files of the same data set");
  Dataset ds;
  idx_columns(train, ds.x_train, ds.labels_train);
  idx_columns(test, ds.x_test, ds.labels_test);
  int k = 0;
  for (int l : ds.labels_train) k = std::max(k, l + 1);
  for (std::size_t j = 0; j < ds.labels_test.size(); ++j)
    if (ds.labels_test[j] >= k)
      throw Error(ExitCode::kDataErr,
                  "label " + std::to_string(ds.labels_test[j]) + " of record " + std::to_string(j + 1) +
                      " is not among the training labels 0.." + std::to_string(k - 1),
                  f[3], "use the label files of the same data set");
  ds.classes = k;
  ds.y_train = one_hot(ds.labels_train, k);
  ds.y_test = one_hot(ds.labels_test, k);
  ds.y_scaler.mean = Eigen::VectorXd::Zero(k);
  ds.y_scaler.scale = Eigen::VectorXd::Ones(k);
  // Pixels to [0, 1]; the same map for every method (a fixed affine map, not fitted statistics).
  const auto d0 = ds.x_train.rows();
  ds.x_scaler.mean = Eigen::VectorXd::Zero(d0);
  ds.x_scaler.scale = Eigen::VectorXd::Constant(d0, 255.0);
  ds.x_train /= 255.0;
  ds.x_test /= 255.0;
  // Validation rows come out of the official training rows (seeded shuffle), never the test files.
  const auto n = static_cast<std::size_t>(ds.x_train.cols());
  const auto n_val = static_cast<std::size_t>(std::llround(validation_fraction * static_cast<double>(n)));
  std::uint64_t vh = 0;
  if (n_val > 0) {
    std::vector<std::size_t> perm(n);
    for (std::size_t i = 0; i < n; ++i) perm[i] = i;
    Rng rng(seed ^ 0x7a11da7eULL);
    for (std::size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
    std::vector<std::size_t> val(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(n_val));
    std::vector<std::size_t> keep(perm.begin() + static_cast<std::ptrdiff_t>(n_val), perm.end());
    std::sort(val.begin(), val.end());
    std::sort(keep.begin(), keep.end());
    auto take = [](const Eigen::MatrixXd& m, const std::vector<std::size_t>& cols) {
      Eigen::MatrixXd out(m.rows(), static_cast<Eigen::Index>(cols.size()));
      for (std::size_t j = 0; j < cols.size(); ++j) out.col(static_cast<Eigen::Index>(j)) = m.col(static_cast<Eigen::Index>(cols[j]));
      return out;
    };
    const std::vector<int> all = ds.labels_train;
    ds.x_val = take(ds.x_train, val);
    ds.x_train = take(ds.x_train, keep);
    ds.labels_val.clear();
    ds.labels_train.clear();
    for (std::size_t r : val) ds.labels_val.push_back(all[r]);
    for (std::size_t r : keep) ds.labels_train.push_back(all[r]);
    for (std::size_t r : val) vh = fnv1a64(&r, sizeof r, vh ^ 0x5a);
  } else {
    ds.x_val.resize(ds.x_train.rows(), 0);
  }
  ds.y_train = one_hot(ds.labels_train, k);
  ds.y_val = one_hot(ds.labels_val, k);
  for (Eigen::Index r = 0; r < d0; ++r) ds.feature_names.push_back("pixel" + std::to_string(r + 1));
  ds.target_name = "label";
  ds.rows_total = train.images.records() + test.images.records();
  ds.fingerprint = hash_pair(test, hash_pair(train, 1469598103934665603ULL)) ^ vh;
  ds.split_name = "official";
  return ds;
}

Dataset load_dataset(const Settings& s) {
  if (is_idx_source(s.data)) {
    if (!s.classification())
      throw Error(ExitCode::kUsage, "IDX data holds class labels; --loss squared is for regression", "--loss",
                  "use --loss onehot or --loss softmax");
    return make_idx_dataset(s.data, s.validation_fraction, s.seed);
  }
  const Table t = read_csv(s.data);
  int classes = 0;
  if (s.classification()) {
    if (t.cols() < 2)
      throw Error(ExitCode::kDataErr, "need at least one feature column and a target column", s.data, "");
    classes = check_class_labels(t, resolve_target(t, s.target), s.data);
  }
  Dataset ds = make_dataset(t, s.target, s.test_fraction, s.seed, s.grouped_split(), s.validation_fraction);
  ds.split_name = s.split;
  if (classes > 0) make_classification(ds, classes);
  return ds;
}

}  // namespace radmm
