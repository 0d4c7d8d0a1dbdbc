// Turns a CSV table into a training problem: target column, seeded shuffle split,
// standardisation with training statistics only. Columns are samples (ALGORITHM.md 1).
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
  Eigen::MatrixXd x_train, x_test;  ///< standardised features, d0 x n
  Eigen::MatrixXd y_train, y_test;  ///< raw targets, c x n (c = 1)
  Standardizer x_scaler, y_scaler;  ///< fitted on the training rows only
  std::uint64_t fingerprint = 0;    ///< FNV-1a over the parsed table (values and header)
  std::size_t rows_total = 0;
};

/// Index of the target column: `target` is a header name or 1-based index; empty = last.
std::size_t resolve_target(const Table& t, const std::string& target);

/// Splits and standardises `t`. Throws Error(kUsage) for a bad target, Error(kDataErr) when
/// a split would leave no training rows.
Dataset make_dataset(const Table& t, const std::string& target, double test_fraction, std::uint64_t seed);

/// Builds the feature matrix (d0 x n, raw) of `t` without the target column.
Eigen::MatrixXd features_of(const Table& t, std::size_t target_col);

}  // namespace radmm
