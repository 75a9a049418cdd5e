#pragma once

// Reading a CSV file record by record with constant memory (a file larger
// than RAM works), and writing CSV. Follows RFC 4180 like the AutoML reader
// (actors/tabular/csv.hpp), which loads whole tables: quoted fields may hold
// delimiters, doubled quotes and line breaks; LF or CRLF; a UTF-8 BOM is
// skipped; blank lines are skipped.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe::tabular {

class csv_stream {
public:
  /// Opens `path` and reads its header. Errors name the file.
  static caf::expected<csv_stream> open(const std::string& path);

  csv_stream(csv_stream&& other) noexcept;
  csv_stream& operator=(csv_stream&& other) noexcept;
  csv_stream(const csv_stream&) = delete;
  csv_stream& operator=(const csv_stream&) = delete;
  ~csv_stream();

  const std::vector<std::string>& header() const { return header_; }
  const std::string& path() const { return path_; }

  /// Reads the next record into `fields`; false at the end of the file.
  /// `line` is the physical line the record starts on. A malformed record
  /// (unterminated quote, text after a closing quote, a different number of
  /// fields than the header) is an error naming file:line; reading may go on
  /// with the next record after such an error.
  caf::expected<bool> next(std::vector<std::string>& fields, size_t& line);

  /// Bytes read so far and the file's size (for progress).
  size_t bytes_read() const { return consumed_; }
  size_t size() const { return size_; }

  /// The index of column `name`, or -1.
  int column(const std::string& name) const;

private:
  csv_stream() = default;
  bool fill();
  int get();
  int peek();
  caf::expected<bool> read_record(std::vector<std::string>& fields,
                                  size_t& line);

  std::FILE* file_ = nullptr;
  std::string path_;
  std::vector<char> buf_;
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
