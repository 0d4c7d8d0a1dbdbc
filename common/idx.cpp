// IDX parsing, gzip via zlib, and the IDX data sources (see idx.hpp).
#include "common/idx.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <cstring>

#include "common/error.hpp"
#include "common/io.hpp"

namespace radmm {

namespace {

[[noreturn]] void bad(const std::string& name, const std::string& what, const std::string& hint = "") {
  throw Error(ExitCode::kDataErr, what, name, hint.empty() ? "use an IDX file as published (MNIST format)" : hint);
}

std::uint32_t be32(const std::string& b, std::size_t at) {
  return (std::uint32_t(std::uint8_t(b[at])) << 24) | (std::uint32_t(std::uint8_t(b[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(b[at + 2])) << 8) | std::uint32_t(std::uint8_t(b[at + 3]));
}

bool regular_file(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

IdxArray parse_idx(const std::string& b, const std::string& name, int ndims) {
  if (b.size() < 4) bad(name, "truncated IDX header: " + std::to_string(b.size()) + " bytes, the magic needs 4");
  const auto type = std::uint8_t(b[2]), nd = std::uint8_t(b[3]);
  if (b[0] != 0 || b[1] != 0 || type != 0x08 || nd != ndims) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", be32(b, 0));
    bad(name, std::string("wrong IDX magic ") + hex + " at byte 0, expected 0x0000080" + std::to_string(ndims) +
                  (ndims == 1 ? " (labels)" : " (images)"));
  }
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(nd);
  if (b.size() < header)
    bad(name, "truncated IDX header: " + std::to_string(b.size()) + " bytes, " + std::to_string(nd) +
                  " dimensions need " + std::to_string(header));
  IdxArray a;
  std::uint64_t total = 1;
  for (int k = 0; k < nd; ++k) {
    const std::uint32_t n = be32(b, 4 + 4 * static_cast<std::size_t>(k));
    if (n == 0) bad(name, "dimension " + std::to_string(k + 1) + " is 0 (byte " + std::to_string(4 + 4 * k) + ")");
    total *= n;
    if (total > (std::uint64_t(1) << 40)) bad(name, "dimensions multiply to more than 2^40 values");
    a.dims.push_back(n);
  }
  const std::uint64_t have = b.size() - header;
  if (have < total) {
    const std::uint64_t rec = total / a.dims[0];
    bad(name, "truncated: " + std::to_string(total) + " values expected after the " + std::to_string(header) +
                  "-byte header, " + std::to_string(have) + " present (ends at byte " + std::to_string(b.size()) +
                  ", inside record " + std::to_string(have / rec + 1) + " of " + std::to_string(a.dims[0]) + ")");
  }
  if (have > total)
    bad(name, std::to_string(have - total) + " trailing bytes after the last record (from byte " +
                  std::to_string(header + total) + ")");
  a.values.assign(reinterpret_cast<const std::uint8_t*>(b.data()) + header,
                  reinterpret_cast<const std::uint8_t*>(b.data()) + header + total);
  return a;
}

std::string read_maybe_gzip(const std::string& path) {
  std::string raw = read_file(path);
  if (raw.size() < 2 || std::uint8_t(raw[0]) != 0x1f || std::uint8_t(raw[1]) != 0x8b) return raw;
  // gzip: inflate the whole member set; 16 + MAX_WBITS selects the gzip wrapper.
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw Error(ExitCode::kSoftware, "zlib init failed", path, "");
  std::string out;
  out.resize(raw.size() * 4 + 1024);
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  int rc = Z_OK;
  for (;;) {
    if (zs.total_out == out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(&out[zs.total_out]);
    zs.avail_out = static_cast<uInt>(out.size() - zs.total_out);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // concatenated gzip members
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      const std::size_t at = raw.size();
      inflateEnd(&zs);
      bad(path, "truncated gzip stream (ends at compressed byte " + std::to_string(at) + ", " +
                    std::to_string(zs.total_out) + " bytes decompressed)",
          "download the file again");
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      const std::size_t at = raw.size() - zs.avail_in;
      const std::string msg = zs.msg ? zs.msg : "inflate error " + std::to_string(rc);
      inflateEnd(&zs);
      bad(path, "bad gzip data at compressed byte " + std::to_string(at) + ": " + msg, "download the file again");
    }
  }
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

IdxPair read_idx_pair(const std::string& images_path, const std::string& labels_path) {
  IdxPair p;
  p.images = parse_idx(read_maybe_gzip(images_path), images_path, 3);
  p.labels = parse_idx(read_maybe_gzip(labels_path), labels_path, 1);
  if (p.images.records() != p.labels.records())
    bad(labels_path, std::to_string(p.labels.records()) + " labels but " + std::to_string(p.images.records()) +
                         " images in " + images_path,
        "pair the image and label files of the same set");
  return p;
}

bool is_idx_source(const std::string& data) {
  return data == "fashion-mnist" || data.rfind("fashion-mnist:", 0) == 0 || data.rfind("mnist:", 0) == 0;
}

std::vector<std::string> idx_source_files(const std::string& data) {
  const bool debian = data == "fashion-mnist";
  const std::string dir = debian ? kFashionMnistDir : data.substr(data.find(':') + 1);
  if (dir.empty()) throw Error(ExitCode::kUsage, "empty folder in --data " + data, "--data", "--data mnist:DIR");
  std::vector<std::string> files;
  for (const char* stem : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                           "t10k-labels-idx1-ubyte"}) {
    const std::string base = dir + "/" + stem;
    if (regular_file(base + ".gz")) files.push_back(base + ".gz");
    else if (regular_file(base)) files.push_back(base);
    else
      throw Error(ExitCode::kNoInput, "missing " + std::string(stem) + "(.gz)", dir,
                  debian ? "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"
                         : "the folder needs the four standard MNIST-format files");
  }
  return files;
}

}  // namespace radmm
