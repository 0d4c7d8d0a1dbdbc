// Strict CSV parsing with std::from_chars (no locale), see csv.hpp.
#include "common/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/error.hpp"
#include "common/io.hpp"

namespace radmm {

namespace {

std::string where_of(const std::string& name, std::size_t line, std::size_t col) {
  return name + ":" + std::to_string(line) + ":" + std::to_string(col);
}

std::string excerpt(const std::string& token) {
  std::string t = token.size() > 24 ? token.substr(0, 24) + "..." : token;
  for (char& ch : t)
    if (static_cast<unsigned char>(ch) < 0x20) ch = '?';
  return t;
}

struct Cell {
  std::size_t begin, end;  // byte range in the line, blanks and quotes removed
  std::size_t col;         // 1-based column of the cell's first byte
};

/// Splits one line at `sep`; trims blanks and one pair of double quotes per cell.
std::vector<Cell> split(const std::string& line, char sep) {
  std::vector<Cell> cells;
  std::size_t start = 0;
  while (true) {
    std::size_t stop = line.find(sep, start);
    if (stop == std::string::npos) stop = line.size();
    std::size_t b = start, e = stop;
    while (b < e && (line[b] == ' ' || line[b] == '\t')) ++b;
    while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t')) --e;
    if (e - b >= 2 && line[b] == '"' && line[e - 1] == '"') { ++b; --e; }
    cells.push_back({b, e, start + 1});
    if (stop == line.size()) break;
    start = stop + 1;
  }
  return cells;
}

}  // namespace

Table parse_csv(const std::string& text_in, const std::string& name) {
  std::string_view text(text_in);
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw Error(ExitCode::kDataErr, "data file is empty", name, "expected a header line and rows of numbers");
  if (text.find('\0') != std::string_view::npos) {
    std::size_t pos = text.find('\0');
    std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + pos, '\n'));
    throw Error(ExitCode::kDataErr, "NUL byte in a text file", where_of(name, line, 1), "is this a binary file?");
  }
  // Split into lines; drop a trailing \r (CRLF).
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string l(text.substr(pos, nl - pos));
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines.push_back(std::move(l));
    pos = nl + 1;
  }
  while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string::npos) lines.pop_back();

  const std::string& head = lines[0];
  const char sep = head.find(';') != std::string::npos ? ';' : ',';
  Table t;
  for (const Cell& c : split(head, sep)) {
    if (c.end == c.begin)
      throw Error(ExitCode::kDataErr, "empty column name in the header", where_of(name, 1, c.col),
                  "every column needs a name");
    t.header.push_back(head.substr(c.begin, c.end - c.begin));
  }
  if (lines.size() < 2)
    throw Error(ExitCode::kDataErr, "no data rows after the header", name, "expected rows of numbers");
  const std::size_t ncol = t.header.size();
  t.values.reserve((lines.size() - 1) * ncol);
  for (std::size_t li = 1; li < lines.size(); ++li) {
    const std::string& line = lines[li];
    const std::size_t lineno = li + 1;
    std::vector<Cell> cells = split(line, sep);
    if (cells.size() != ncol)
      throw Error(ExitCode::kDataErr,
                  "expected " + std::to_string(ncol) + " fields, got " + std::to_string(cells.size()),
                  where_of(name, lineno, 1), std::string("fields are separated by '") + sep + "'");
    for (std::size_t ci = 0; ci < ncol; ++ci) {
      const Cell& c = cells[ci];
      const std::string token = line.substr(c.begin, c.end - c.begin);
      const std::string col_name = "column '" + t.header[ci] + "'";
      if (token.empty())
        throw Error(ExitCode::kDataErr, "empty cell in " + col_name, where_of(name, lineno, c.col),
                    "every cell must hold a number");
      const char* first = token.data();
      const char* last = token.data() + token.size();
      if (*first == '+' && token.size() > 1 && first[1] != '-' && first[1] != '+') ++first;
      double v = 0;
      auto res = std::from_chars(first, last, v, std::chars_format::general);
      if (res.ec == std::errc::result_out_of_range)
        throw Error(ExitCode::kDataErr, "'" + excerpt(token) + "' in " + col_name + " is outside the double range",
                    where_of(name, lineno, c.col), "rescale the column");
      if (res.ec != std::errc() || res.ptr != last)
        throw Error(ExitCode::kDataErr, "'" + excerpt(token) + "' in " + col_name + " is not a number",
                    where_of(name, lineno, c.col), "use '.' as the decimal mark");
      if (!std::isfinite(v))
        throw Error(ExitCode::kDataErr, "'" + excerpt(token) + "' in " + col_name + " is not a finite number",
                    where_of(name, lineno, c.col), "remove NaN / Inf values");
      t.values.push_back(v);
    }
  }
  return t;
}

Table read_csv(const std::string& path) {
  const std::string prefix = "builtin:";
  if (path.rfind(prefix, 0) == 0) {
    std::string text = builtin_csv(path.substr(prefix.size()));
    if (text.empty())
      throw Error(ExitCode::kNoInput, "unknown built-in data set '" + path + "'", "--data",
                  "use builtin:wine-red or builtin:wine-white");
    return parse_csv(text, path);
  }
  return parse_csv(read_file(path), path);
}

}  // namespace radmm
