#pragma once

// The one CSV record reader: RFC 4180 records read one at a time with
// constant memory (a file larger than RAM works) from a file or from text in
// memory, and writing CSV. read_csv/parse_csv (actors/tabular/csv.hpp) build
// typed tables on it; the feature store's ingest and join stream through it.
//
// The rules: quoted fields may hold delimiters, doubled quotes and line
// breaks, and may have spaces or tabs before the opening and after the
// closing quote; unquoted fields are kept as they are (spaces included);
// lines end in LF, CRLF or a lone CR; a leading UTF-8 BOM is skipped; blank
// lines are skipped; every field must be valid UTF-8. The header's names are
// trimmed of spaces and tabs, an empty one becomes `column_N` (N 1-based),
// and a name must not repeat. Errors name the place as `source:line:column: `
// where line is the 1-based physical line and column the 1-based field.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe::tabular {

class csv_stream {
public:
  /// Opens `path` and reads its header. Errors name the file: it cannot be
  /// opened (`errc::not_found`), it is empty, its header is malformed.
  static caf::expected<csv_stream> open(const std::string& path,
                                        char delimiter = ',');

  /// Reads CSV text held in memory, named `source` in messages, and its
  /// header. `text` is not copied: it must outlive the stream.
  static caf::expected<csv_stream>
  from_text(std::string_view text, std::string source, char delimiter = ',');

  csv_stream(csv_stream&& other) noexcept;
  csv_stream& operator=(csv_stream&& other) noexcept;
  csv_stream(const csv_stream&) = delete;
  csv_stream& operator=(const csv_stream&) = delete;
  ~csv_stream();

  const std::vector<std::string>& header() const { return header_; }
  /// The file (or the name given for in-memory text).
  const std::string& path() const { return path_; }

  /// Reads the next record into `fields`; false at the end of the input.
  /// `line` is the physical line the record starts on. A malformed record
  /// (unterminated quote, text after a closing quote, invalid UTF-8, a
  /// different number of fields than the header) is an error naming
  /// source:line:column; reading may go on with the next record after such
  /// an error.
  caf::expected<bool> next(std::vector<std::string>& fields, size_t& line);

  /// Bytes read so far and the input's size (for progress).
  size_t bytes_read() const { return consumed_; }
  size_t size() const { return size_; }

  /// The index of column `name`, or -1.
  int column(const std::string& name) const;

  /// An `errc::invalid_argument` error "source:line:column: what".
  caf::error fail(size_t line, size_t column, const std::string& what) const;

private:
  csv_stream() = default;
  caf::error read_header();
  bool fill();
  int get();
  int peek();
  void eat_eol(int c);
  caf::expected<bool> read_record(std::vector<std::string>& fields,
                                  size_t& line);
  caf::error read_quoted(std::string& field, size_t column);

  std::FILE* file_ = nullptr;
  std::string path_;
  /// The field separator, as an unsigned byte like get() returns.
  int delim_ = ',';
  /// The file's read buffer; empty for in-memory text.
  std::vector<char> buf_;
  /// The bytes being read: buf_ or the in-memory text.
  const char* data_ = nullptr;
  size_t pos_ = 0;
  size_t end_ = 0;
  size_t consumed_ = 0;
  size_t size_ = 0;
  size_t line_ = 1;
  std::vector<std::string> header_;
};

/// A progress line on stderr for a pass over a file, at most once a second:
/// "WHAT: N rows, R rows/s, P % of the file" (rewritten in place on a
/// terminal).
class file_progress {
public:
  file_progress(bool quiet, std::string what);

  /// Reports `rows` done after reading `done` of `total` bytes; `final`
  /// prints now and ends the line.
  void update(uint64_t rows, size_t done, size_t total, bool final = false);

private:
  bool quiet_;
  bool tty_;
  std::string what_;
  std::chrono::steady_clock::time_point t0_;
  std::chrono::steady_clock::time_point last_;
};

/// Appends `text` to `out` as one CSV field (quoted when needed).
void append_csv_field(std::string& out, const std::string& text);

} // namespace troupe::tabular
