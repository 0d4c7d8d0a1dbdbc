// FCResNet forward pass and model.bin (de)serialisation.
#include "common/model.hpp"

#include <cstdint>
#include <cstring>

#include "common/binary.hpp"
#include "common/error.hpp"
#include "common/io.hpp"

namespace radmm {

Mat Model::hidden_features(const Mat& x) const {
  const int n_layers = depth();
  Mat v(w[0].rows(), x.cols()), z(w[0].rows(), x.cols());
  affine(w[0], x, z);
  activate(activation, z, v);
  for (int i = 2; i <= n_layers - 1; ++i) {
    affine(w[static_cast<std::size_t>(i - 1)], v, z);
    if (activation == Activation::kRelu) v += z.cwiseMax(0.0);
    else v += z;
  }
  return v;
}

Mat Model::forward(const Mat& x) const {
  Mat v = hidden_features(x);
  Mat out(w.back().rows(), x.cols());
  affine(w.back(), v, out);
  return out;
}

Mat Model::predict(const Mat& x_raw) const { return y_scaler.invert(forward(x_scaler.apply(x_raw))); }

namespace {
constexpr char kMagic[8] = {'R', 'A', 'D', 'M', 'M', 'M', 'D', 'L'};
constexpr std::uint32_t kVersion = 1;            ///< regression models (unchanged bytes)
constexpr std::uint32_t kVersionClassifier = 2;  ///< adds the loss code after the activation
}  // namespace

static_assert(sizeof(double) == 8, "model.bin stores IEEE-754 doubles");

std::string serialize_model(const Model& m) {
  std::string s(kMagic, 8);
  const auto d0 = static_cast<std::uint32_t>(m.x_scaler.mean.size());
  const auto c = static_cast<std::uint32_t>(m.y_scaler.mean.size());
  put(s, m.loss == Loss::kSquared ? kVersion : kVersionClassifier);
  put(s, m.activation == Activation::kRelu ? 0u : 1u);
  if (m.loss != Loss::kSquared) put(s, m.loss == Loss::kOneHot ? 1u : 2u);
  put(s, static_cast<std::uint32_t>(m.depth()));
  put(s, d0);
  put(s, c);
  put_doubles(s, m.x_scaler.mean.data(), d0);
  put_doubles(s, m.x_scaler.scale.data(), d0);
  put_doubles(s, m.y_scaler.mean.data(), c);
  put_doubles(s, m.y_scaler.scale.data(), c);
  for (const Mat& w : m.w) {
    put(s, static_cast<std::uint32_t>(w.rows()));
    put(s, static_cast<std::uint32_t>(w.cols()));
    put_doubles(s, w.data(), static_cast<std::size_t>(w.size()));
  }
  append_checksum(s);
  return s;
}

Model deserialize_model(const std::string& b, const std::string& name) {
  BinaryReader in(b, kMagic, name, "model file", "retrain or use the model.bin radmm wrote");
  const auto version = in.get<std::uint32_t>();
  if (version != kVersion && version != kVersionClassifier) in.fail("unsupported version " + std::to_string(version));
  Model m;
  const auto act = in.get<std::uint32_t>();
  if (act > 1) in.fail("unknown activation code");
  m.activation = act == 0 ? Activation::kRelu : Activation::kIdentity;
  if (version == kVersionClassifier) {
    const auto loss = in.get<std::uint32_t>();
    if (loss < 1 || loss > 2) in.fail("unknown loss code");
    m.loss = loss == 1 ? Loss::kOneHot : Loss::kSoftmax;
  }
  const auto depth = in.get<std::uint32_t>(), d0 = in.get<std::uint32_t>(), c = in.get<std::uint32_t>();
  if (depth < 2 || depth > 100000 || d0 < 1 || c < 1 || d0 > (1u << 24) || c > (1u << 24)) in.fail("bad sizes");
  in.need_doubles(2ULL * d0 + 2ULL * c);
  m.x_scaler.mean.resize(d0);
  m.x_scaler.scale.resize(d0);
  m.y_scaler.mean.resize(c);
  m.y_scaler.scale.resize(c);
  in.doubles(m.x_scaler.mean.data(), d0);
  in.doubles(m.x_scaler.scale.data(), d0);
  in.doubles(m.y_scaler.mean.data(), c);
  in.doubles(m.y_scaler.scale.data(), c);
  Eigen::Index prev_rows = d0;
  for (std::uint32_t i = 0; i < depth; ++i) {
    const auto rows = in.get<std::uint32_t>(), cols = in.get<std::uint32_t>();
    const bool last = i + 1 == depth;
    if (cols != prev_rows + 1 || (last && rows != c) || rows == 0 || (!last && i > 0 && rows != prev_rows))
      in.fail("layer " + std::to_string(i + 1) + " has inconsistent shape " + std::to_string(rows) + "x" +
              std::to_string(cols));
    in.need_doubles(static_cast<std::uint64_t>(rows) * cols);
    Mat w(rows, cols);
    in.doubles(w.data(), static_cast<std::size_t>(w.size()));
    m.w.push_back(std::move(w));
    prev_rows = rows;
  }
  if (!in.at_end()) in.fail("trailing bytes");
  return m;
}

void save_model(const std::string& path, const Model& m) { write_file_atomic(path, serialize_model(m)); }

Model load_model(const std::string& path) { return deserialize_model(read_file(path), path); }

}  // namespace radmm
