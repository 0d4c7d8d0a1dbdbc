// FCResNet forward pass and model.bin (de)serialisation.
#include "common/model.hpp"

#include <cstdint>
#include <cstring>

#include "common/error.hpp"
#include "common/io.hpp"

namespace radmm {

void activate(Activation act, const ConstMatRef& u, MatRef out) {
  if (act == Activation::kRelu) out = u.cwiseMax(0.0);
  else out = u;
}

void affine(const ConstMatRef& w, const ConstMatRef& p, MatRef out) {
  const auto k = p.rows();
  out.noalias() = w.leftCols(k) * p;
  out.colwise() += w.col(k);
}

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
constexpr std::uint32_t kVersion = 1;

void put_u32(std::string& s, std::uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
void put_f64s(std::string& s, const double* p, std::size_t n) {
  s.append(reinterpret_cast<const char*>(p), n * sizeof(double));
}

struct Reader {
  const std::string& b;
  const std::string& name;
  std::size_t pos = 0;
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ExitCode::kDataErr, "corrupt model file: " + what, name + " at byte " + std::to_string(pos),
                "retrain or use the model.bin radmm wrote");
  }
  std::uint32_t u32() {
    if (b.size() - pos < 4) fail("truncated");
    std::uint32_t v;
    std::memcpy(&v, b.data() + pos, 4);
    pos += 4;
    return v;
  }
  /// Refuses a length field larger than what is left, before anything is allocated from it.
  void need(std::uint64_t doubles) const {
    if ((b.size() - pos) / sizeof(double) < doubles) fail("truncated or bad length field");
  }
  void f64s(double* out, std::size_t n) {
    if ((b.size() - pos) / sizeof(double) < n) fail("truncated");
    std::memcpy(out, b.data() + pos, n * sizeof(double));
    pos += n * sizeof(double);
  }
};

}  // namespace

static_assert(sizeof(double) == 8, "model.bin stores IEEE-754 doubles");

std::string serialize_model(const Model& m) {
  std::string s(kMagic, 8);
  const auto d0 = static_cast<std::uint32_t>(m.x_scaler.mean.size());
  const auto c = static_cast<std::uint32_t>(m.y_scaler.mean.size());
  put_u32(s, kVersion);
  put_u32(s, m.activation == Activation::kRelu ? 0u : 1u);
  put_u32(s, static_cast<std::uint32_t>(m.depth()));
  put_u32(s, d0);
  put_u32(s, c);
  put_f64s(s, m.x_scaler.mean.data(), d0);
  put_f64s(s, m.x_scaler.scale.data(), d0);
  put_f64s(s, m.y_scaler.mean.data(), c);
  put_f64s(s, m.y_scaler.scale.data(), c);
  for (const Mat& w : m.w) {
    put_u32(s, static_cast<std::uint32_t>(w.rows()));
    put_u32(s, static_cast<std::uint32_t>(w.cols()));
    put_f64s(s, w.data(), static_cast<std::size_t>(w.size()));
  }
  const std::uint64_t h = fnv1a64(s.data(), s.size());
  s.append(reinterpret_cast<const char*>(&h), 8);
  return s;
}

Model deserialize_model(const std::string& b, const std::string& name) {
  Reader r{b, name};
  if (b.size() < 8 + 4 * 5 + 8 || std::memcmp(b.data(), kMagic, 8) != 0) r.fail("not a radmm model (bad magic)");
  std::uint64_t stored;
  std::memcpy(&stored, b.data() + b.size() - 8, 8);
  if (fnv1a64(b.data(), b.size() - 8) != stored) {
    r.pos = b.size() - 8;
    r.fail("checksum mismatch");
  }
  const std::string body = b.substr(0, b.size() - 8);
  Reader in{body, name};
  in.pos = 8;
  const std::uint32_t version = in.u32();
  if (version != kVersion) in.fail("unsupported version " + std::to_string(version));
  Model m;
  const std::uint32_t act = in.u32();
  if (act > 1) in.fail("unknown activation code");
  m.activation = act == 0 ? Activation::kRelu : Activation::kIdentity;
  const std::uint32_t depth = in.u32(), d0 = in.u32(), c = in.u32();
  if (depth < 2 || depth > 100000 || d0 < 1 || c < 1 || d0 > (1u << 24) || c > (1u << 24)) in.fail("bad sizes");
  in.need(2ULL * d0 + 2ULL * c);
  m.x_scaler.mean.resize(d0);
  m.x_scaler.scale.resize(d0);
  m.y_scaler.mean.resize(c);
  m.y_scaler.scale.resize(c);
  in.f64s(m.x_scaler.mean.data(), d0);
  in.f64s(m.x_scaler.scale.data(), d0);
  in.f64s(m.y_scaler.mean.data(), c);
  in.f64s(m.y_scaler.scale.data(), c);
  Eigen::Index prev_rows = d0;
  for (std::uint32_t i = 0; i < depth; ++i) {
    const std::uint32_t rows = in.u32(), cols = in.u32();
    const bool last = i + 1 == depth;
    if (cols != prev_rows + 1 || (last && rows != c) || rows == 0 || (!last && i > 0 && rows != prev_rows))
      in.fail("layer " + std::to_string(i + 1) + " has inconsistent shape " + std::to_string(rows) + "x" +
              std::to_string(cols));
    in.need(static_cast<std::uint64_t>(rows) * cols);
    Mat w(rows, cols);
    in.f64s(w.data(), static_cast<std::size_t>(w.size()));
    m.w.push_back(std::move(w));
    prev_rows = rows;
  }
  if (in.pos != body.size()) in.fail("trailing bytes");
  return m;
}

void save_model(const std::string& path, const Model& m) { write_file_atomic(path, serialize_model(m)); }

Model load_model(const std::string& path) { return deserialize_model(read_file(path), path); }

}  // namespace radmm
