// Strict IDX reader (the MNIST file format: big-endian header, unsigned bytes), gzip or raw,
// and the `--data mnist:DIR | fashion-mnist[:DIR]` sources built on it. Bad files exit 65 naming
// the file and the byte offset or record; missing files exit 66.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace radmm {

/// An IDX array of unsigned bytes: dims (e.g. {n, 28, 28} or {n}) and the values, row-major.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> values;
  std::size_t records() const { return dims.empty() ? 0 : dims[0]; }
  std::size_t record_size() const { return records() ? values.size() / records() : 0; }
};

/// Parses decompressed IDX bytes; `ndims` is what the caller expects (1 labels, 3 images).
/// Checks the magic (0x00 0x00 0x08 ndims), every dimension > 0, and the exact length
/// (truncated or trailing bytes). Throws Error(kDataErr) naming `name` and the byte offset.
IdxArray parse_idx(const std::string& bytes, const std::string& name, int ndims);

/// Reads a file, gunzipping it when it starts with the gzip magic (a damaged or truncated gzip
/// stream is Error(kDataErr) with the compressed offset); missing -> Error(kNoInput).
std::string read_maybe_gzip(const std::string& path);

/// Images and labels of one IDX pair; throws Error(kDataErr) if the counts differ or an image
/// file does not hold 2-D images.
struct IdxPair {
  IdxArray images, labels;
};
IdxPair read_idx_pair(const std::string& images_path, const std::string& labels_path);

/// True for the IDX sources: "fashion-mnist", "fashion-mnist:DIR", "mnist:DIR".
bool is_idx_source(const std::string& data);

/// The four files of an IDX source (train images, train labels, test images, test labels);
/// each is the `.gz` file if present, else the raw one. Throws Error(kNoInput) naming the folder
/// (and the Debian package dataset-fashion-mnist for plain "fashion-mnist").
std::vector<std::string> idx_source_files(const std::string& data);

/// Debian's dataset-fashion-mnist installs the four files here.
constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace radmm
