// The FCResNet forward pass against a hand-computed network, and model.bin: round trip,
// identical bytes for identical weights, and refusal of corrupt or truncated files.
#include <doctest/doctest.h>

#include "common/error.hpp"
#include "common/io.hpp"
#include "common/model.hpp"

#include <cstring>
#include "helpers.hpp"

using namespace radmm;

namespace {
Model tiny() {
  Model m;
  m.activation = Activation::kRelu;
  Mat w1(2, 2), w2(2, 3), w3(1, 3);
  w1 << 1, 0.5,   // a = x + 0.5
      -1, 0;      // b = -x
  w2 << 1, 0, -1,  // branch 1: relu(v1 - 1)
      0, 1, 0;     // branch 2: relu(v2)
  w3 << 2, -1, 0.25;
  m.w = {w1, w2, w3};
  m.x_scaler.mean = Eigen::VectorXd::Zero(1);
  m.x_scaler.scale = Eigen::VectorXd::Ones(1);
  m.y_scaler.mean = Eigen::VectorXd::Constant(1, 10.0);
  m.y_scaler.scale = Eigen::VectorXd::Constant(1, 2.0);
  return m;
}
}  // namespace

TEST_CASE("forward pass of a hand-computed residual network") {
  const Model m = tiny();
  Mat x(1, 2);
  x << 2, -3;
  // x = 2:  V1 = relu([2.5, -2]) = [2.5, 0];  V2 = V1 + relu([1.5, 0]) = [4, 0];  out = 8 + 0.25 = 8.25
  // x = -3: V1 = relu([-2.5, 3]) = [0, 3];  V2 = V1 + relu([-1, 3]) = [0, 6];  out = -6 + 0.25 = -5.75
  const Mat out = m.forward(x);
  CHECK(out(0, 0) == doctest::Approx(8.25));
  CHECK(out(0, 1) == doctest::Approx(-5.75));
  const Mat raw = m.predict(x);  // y = 10 + 2 * out
  CHECK(raw(0, 0) == doctest::Approx(26.5));
  CHECK(raw(0, 1) == doctest::Approx(-1.5));
}

TEST_CASE("model.bin round trip gives identical bytes and predictions") {
  const Model m = tiny();
  const std::string bytes = serialize_model(m);
  CHECK(serialize_model(tiny()) == bytes);
  const Model back = deserialize_model(bytes, "m.bin");
  CHECK(serialize_model(back) == bytes);
  Mat x(1, 3);
  x << 0.1, -7, 3;
  CHECK(back.predict(x) == m.predict(x));
  const std::string dir = test::temp_dir("model");
  save_model(dir + "/model.bin", m);
  CHECK(test::slurp(dir + "/model.bin") == bytes);
  CHECK(load_model(dir + "/model.bin").predict(x) == m.predict(x));
}

TEST_CASE("corrupt, truncated and foreign model files are refused with exit 65") {
  const std::string bytes = serialize_model(tiny());
  std::vector<std::string> bad = {bytes.substr(0, bytes.size() - 1), bytes.substr(0, 20), "", std::string(200, 'x')};
  for (std::size_t pos : {0ul, 9ul, 30ul, bytes.size() / 2, bytes.size() - 3}) {
    std::string flipped = bytes;
    flipped[pos] = static_cast<char>(flipped[pos] ^ 0x40);
    bad.push_back(flipped);
  }
  for (const std::string& b : bad) {
    try {
      deserialize_model(b, "m.bin");
      FAIL("accepted a corrupt model");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::kDataErr);
      CHECK(std::string(e.what()).find("m.bin") != std::string::npos);
    }
  }
}

TEST_CASE("a length field larger than the file is refused before any allocation (fuzzer finding)") {
  std::string bytes = serialize_model(tiny());
  // Header: magic 8, version, activation, depth, d0, c (5 x 4), then 4 scalers of 1 double.
  const std::size_t layer1 = 8 + 20 + 4 * 8;
  const std::uint32_t huge = 1u << 30;
  std::memcpy(&bytes[layer1], &huge, 4);  // rows of W_1
  const std::uint64_t h = fnv1a64(bytes.data(), bytes.size() - 8);
  std::memcpy(&bytes[bytes.size() - 8], &h, 8);
  try {
    deserialize_model(bytes, "m.bin");
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::kDataErr);
  }
}
