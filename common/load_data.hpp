// The data of a run from its settings: a CSV table (split and standardised by make_dataset) or an
// IDX source with its official train / test split; for --loss onehot | softmax the target becomes
// class labels and one-hot columns.
#pragma once
#include "common/dataset.hpp"
#include "common/settings.hpp"

namespace radmm {

/// Reads, checks and splits the data of `s` (errors: 65 bad data, 66 missing, 64 a regression
/// loss on IDX data).
Dataset load_dataset(const Settings& s);

/// IDX images and labels of an IDX source as a Dataset: pixels scaled to [0, 1] (x_scaler mean
/// 0, scale 255, so model.bin maps raw pixels the same way), the official train / test files;
/// round(validation_fraction n) seeded-random training rows become the validation rows.
Dataset make_idx_dataset(const std::string& data, double validation_fraction = 0, std::uint64_t seed = 1);

/// Turns the 1 x n targets of `ds` (integer labels, checked by the caller) into one-hot
/// columns of `classes` rows with the identity target scaler.
void make_classification(Dataset& ds, int classes);

}  // namespace radmm
