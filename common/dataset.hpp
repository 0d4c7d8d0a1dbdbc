// Turns a CSV table into a training problem: target column, seeded shuffle split (copies of a
// row kept on one side), standardisation with training statistics only. Columns are samples.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "common/csv.hpp"

namespace radmm {

/// Affine standardisation z = (x - mean) / scale, per row (feature).
struct Standardizer {
  Eigen::VectorXd mean, scale;
  Eigen::MatrixXd apply(const Eigen::MatrixXd& raw) const;   ///< raw -> standardised
  Eigen::MatrixXd invert(const Eigen::MatrixXd& std) const;  ///< standardised -> raw
  static Standardizer fit(const Eigen::MatrixXd& raw);       ///< scale 1 for constant rows
};

struct Dataset {
  std::vector<std::string> feature_names;
  std::string target_name;
  Eigen::MatrixXd x_train, x_val, x_test;  ///< standardised features, d0 x n
  Eigen::MatrixXd y_train, y_val, y_test;  ///< raw targets, c x n (c = 1)
  Standardizer x_scaler, y_scaler;  ///< fitted on the training rows only
  std::uint64_t fingerprint = 0;    ///< FNV-1a over the parsed table (values, header), the test and validation rows
  std::size_t rows_total = 0;
  std::size_t duplicate_rows = 0;   ///< rows whose features equal an earlier row's
  // Classification (--loss onehot | softmax): y_* hold one-hot columns, y_scaler is the identity.
  int classes = 0;                  ///< K; 0 for regression
  std::vector<int> labels_train, labels_val, labels_test;
  std::string split_name;           ///< how the test rows were chosen ("official" for IDX data; else --split)
};

/// Row indices of a split, each side in the order of the seeded permutation.
struct Split {
  std::vector<std::size_t> test, train, validation;  ///< validation rows come out of the training rows
  std::vector<std::size_t> copy_of;  ///< per row: the first row with the same features (itself if none)
  std::size_t duplicate_rows = 0;    ///< rows that copy an earlier row
};

/// Index of the target column: `target` is a header name or 1-based index; empty = last.
std::size_t resolve_target(const Table& t, const std::string& target);

/// Seeded split of the columns of x (features, d0 x n) into round(test_fraction n) test rows.
/// grouped: rows with identical features land on the same side, so no test row has a copy
/// among the training rows (a group that no longer fits goes to training; the test set is then
/// filled from later groups). Without duplicates grouped and random give the same split.
/// Throws Error(kDataErr) when fewer than 2 training rows would remain.
Split split_rows(const Eigen::MatrixXd& x, double test_fraction, std::uint64_t seed, bool grouped);

/// Moves round(fraction * |train|) of sp.train into sp.validation, grouped like the test split
/// (copies of a row stay on one side), seeded independently of the test split.
/// Throws Error(kDataErr) when fewer than 2 training rows would remain.
void split_validation(Split& sp, const Eigen::MatrixXd& x, double fraction, std::uint64_t seed, bool grouped);

/// Splits (test, then validation out of the training rows) and standardises `t` with the
/// statistics of the remaining training rows. Throws Error(kUsage) for a bad target, Error(kDataErr) when
/// a split would leave no training rows.
Dataset make_dataset(const Table& t, const std::string& target, double test_fraction, std::uint64_t seed,
                     bool grouped, double validation_fraction = 0);

/// Builds the feature matrix (d0 x n, raw) of `t` without the target column (none when
/// target_col >= t.cols()).
Eigen::MatrixXd features_of(const Table& t, std::size_t target_col);

}  // namespace radmm
