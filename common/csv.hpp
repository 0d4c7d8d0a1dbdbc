// Strict, locale-independent CSV reader: a header line, then rows of finite numbers,
// separated by ';' (Wine Quality) or ','. Errors name file:line:column and exit 65/66.
#pragma once
#include <string>
#include <vector>

namespace radmm {

struct Table {
  std::vector<std::string> header;  ///< column names, quotes removed
  std::vector<double> values;       ///< row-major, rows() x cols()
  std::size_t cols() const { return header.size(); }
  std::size_t rows() const { return header.empty() ? 0 : values.size() / header.size(); }
  double at(std::size_t r, std::size_t c) const { return values[r * cols() + c]; }
};

/// Parses CSV text; `name` is used in error messages. Accepts a UTF-8 BOM, CRLF line ends,
/// a missing final newline, blanks around cells and double quotes around a cell.
/// Rejects empty input, a header without rows, ragged rows, empty or non-numeric cells,
/// NaN / Inf, values outside double range, NUL bytes. Throws Error(kDataErr).
Table parse_csv(const std::string& text, const std::string& name);

/// Reads a CSV file, or one of the embedded data sets "builtin:wine-red" / "builtin:wine-white".
/// Missing or non-regular files throw Error(kNoInput).
Table read_csv(const std::string& path);

/// The embedded Wine Quality CSV text for "wine-red" / "wine-white"; empty if unknown.
std::string builtin_csv(const std::string& name);

}  // namespace radmm
