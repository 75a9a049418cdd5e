#include "actors/tabular/csv_stream.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "runtime/errors.hpp"

namespace troupe::tabular {

namespace {

constexpr size_t buffer_bytes = size_t{1} << 20;

bool is_space(int c) {
  return c == ' ' || c == '\t';
}

bool is_eol(int c) {
  return c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

/// Offset of the first byte that does not start a valid UTF-8 sequence
/// (overlong forms, surrogates and code points past U+10FFFF included), or
/// npos when `s` is valid.
size_t invalid_utf8_at(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                    (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

constexpr std::string_view bom = "\xEF\xBB\xBF";

} // namespace

caf::expected<csv_stream> csv_stream::open(const std::string& path,
                                           char delimiter) {
  csv_stream s;
  s.path_ = path;
  s.delim_ = static_cast<unsigned char>(delimiter);
  s.file_ = std::fopen(path.c_str(), "rb");
  if (!s.file_)
    return make_error(errc::not_found,
                      "cannot open '" + path + "': " + std::strerror(errno));
  struct stat st;
  if (fstat(fileno(s.file_), &st) == 0)
    s.size_ = static_cast<size_t>(st.st_size);
  s.buf_.resize(buffer_bytes);
  s.data_ = s.buf_.data();
  if (s.fill() && s.end_ >= bom.size() &&
      std::memcmp(s.data_, bom.data(), bom.size()) == 0)
    s.pos_ = bom.size();
  if (std::ferror(s.file_))
    return make_error(errc::io_failure, "cannot read '" + path + "'");
  if (auto err = s.read_header()) return err;
  return s;
}

caf::expected<csv_stream> csv_stream::from_text(std::string_view text,
                                                std::string source,
                                                char delimiter) {
  csv_stream s;
  s.path_ = std::move(source);
  s.delim_ = static_cast<unsigned char>(delimiter);
  s.data_ = text.data();
  s.end_ = text.size();
  s.size_ = text.size();
  if (text.substr(0, bom.size()) == bom) s.pos_ = bom.size();
  if (auto err = s.read_header()) return err;
  return s;
}

caf::error csv_stream::read_header() {
  size_t line = 0;
  auto got = read_record(header_, line);
  if (!got) return std::move(got.error());
  if (!*got)
    return make_error(errc::invalid_argument,
                      path_ + ": empty file (no header row)");
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < header_.size(); ++i) {
    auto& name = header_[i];
    name = std::string{trim(name)};
    if (name.empty()) name = "column_" + std::to_string(i + 1);
    if (auto [it, fresh] = seen.emplace(name, i); !fresh)
      return fail(line, i + 1,
                  "duplicate column name '" + name + "' (also column " +
                      std::to_string(it->second + 1) + ")");
  }
  return caf::none;
}

csv_stream::csv_stream(csv_stream&& o) noexcept {
  *this = std::move(o);
}

csv_stream& csv_stream::operator=(csv_stream&& o) noexcept {
  if (this != &o) {
    if (file_) std::fclose(file_);
    file_ = o.file_;
    o.file_ = nullptr;
    path_ = std::move(o.path_);
    delim_ = o.delim_;
    bool own = o.data_ == o.buf_.data() && !o.buf_.empty();
    buf_ = std::move(o.buf_);
    data_ = own ? buf_.data() : o.data_;
    pos_ = o.pos_;
    end_ = o.end_;
    consumed_ = o.consumed_;
    size_ = o.size_;
    line_ = o.line_;
    header_ = std::move(o.header_);
  }
  return *this;
}

csv_stream::~csv_stream() {
  if (file_) std::fclose(file_);
}

caf::error csv_stream::fail(size_t line, size_t column,
                            const std::string& what) const {
  return make_error(errc::invalid_argument, path_ + ":" + std::to_string(line) +
                                                ":" + std::to_string(column) +
                                                ": " + what);
}

bool csv_stream::fill() {
  if (pos_ < end_) return true;
  if (!file_) return false;
  end_ = std::fread(buf_.data(), 1, buf_.size(), file_);
  pos_ = 0;
  return end_ > 0;
}

inline int csv_stream::get() {
  if (pos_ >= end_ && !fill()) return EOF;
  ++consumed_;
  return static_cast<unsigned char>(data_[pos_++]);
}

inline int csv_stream::peek() {
  if (pos_ >= end_ && !fill()) return EOF;
  return static_cast<unsigned char>(data_[pos_]);
}

void csv_stream::eat_eol(int c) {
  if (c == '\r' && peek() == '\n') get();
  ++line_;
}

int csv_stream::column(const std::string& name) const {
  for (size_t i = 0; i < header_.size(); ++i)
    if (header_[i] == name) return static_cast<int>(i);
  return -1;
}

caf::error csv_stream::read_quoted(std::string& field, size_t column) {
  size_t open_line = line_;
  for (;;) {
    int c = get();
    if (c == EOF)
      return fail(open_line, column,
                  "unterminated quote (the field opened "
                  "here runs to the end of the file)");
    if (c == '"') {
      if (peek() == '"') {
        get();
        field += '"';
        continue;
      }
      break;
    }
    if (c == '\n' || (c == '\r' && peek() != '\n')) ++line_;
    field += static_cast<char>(c);
  }
  while (is_space(peek()))
    get();
  int after = peek();
  if (after != EOF && after != delim_ && !is_eol(after)) {
    auto err = fail(line_, column, "unexpected text after a closing quote");
    // the rest of the field is skipped, so reading can go on
    while ((after = peek()) != EOF && after != delim_ && !is_eol(after))
      get();
    return err;
  }
  return caf::none;
}

caf::expected<bool> csv_stream::read_record(std::vector<std::string>& fields,
                                            size_t& line) {
  fields.clear();
  for (int c = peek(); is_eol(c); c = peek())
    eat_eol(get());
  if (peek() == EOF) return false;
  line = line_;
  caf::error first_error;
  for (;;) {
    std::string field;
    size_t field_line = line_;
    size_t col = fields.size() + 1;
    while (is_space(peek()))
      field += static_cast<char>(get());
    if (peek() == '"') {
      get();
      field.clear();
      if (auto err = read_quoted(field, col)) {
        if (!first_error) first_error = std::move(err);
      }
    } else {
      for (int c = peek(); c != EOF && c != delim_ && !is_eol(c); c = peek())
        field += static_cast<char>(get());
    }
    if (auto bad = invalid_utf8_at(field);
        bad != std::string_view::npos && !first_error) {
      auto at =
          field_line + std::count(field.begin(), field.begin() + bad, '\n');
      char byte[8];
      std::snprintf(byte, sizeof(byte), "0x%02X",
                    static_cast<unsigned char>(field[bad]));
      first_error =
          fail(at, col, std::string{"invalid UTF-8 (byte "} + byte + ")");
    }
    fields.push_back(std::move(field));
    int c = get();
    if (c == delim_) continue;
    if (c != EOF) eat_eol(c);
    break;
  }
  if (first_error) return first_error;
  return true;
}

caf::expected<bool> csv_stream::next(std::vector<std::string>& fields,
                                     size_t& line) {
  auto got = read_record(fields, line);
  if (!got || !*got) return got;
  if (fields.size() != header_.size())
    return fail(line, std::min(fields.size(), header_.size()) + 1,
                "line " + std::to_string(line) + " has " +
                    std::to_string(fields.size()) + " fields, header has " +
                    std::to_string(header_.size()));
  return true;
}
file_progress::file_progress(bool quiet, std::string what)
    : quiet_(quiet), tty_(isatty(2) != 0), what_(std::move(what)),
      t0_(std::chrono::steady_clock::now()), last_(t0_) {
  // nop
}

void file_progress::update(uint64_t rows, size_t done, size_t total,
                           bool final) {
  if (quiet_) return;
  auto now = std::chrono::steady_clock::now();
  if (!final && now - last_ < std::chrono::seconds{1}) return;
  last_ = now;
  double s = std::chrono::duration<double>(now - t0_).count();
  std::fprintf(stderr, "%s%s: %llu rows, %.0f rows/s, %.0f %% of the file%s",
               tty_ ? "\r" : "", what_.c_str(),
               static_cast<unsigned long long>(rows), s > 0 ? rows / s : 0.0,
               total ? 100.0 * static_cast<double>(done) / total : 100.0,
               tty_ && !final ? "   " : "\n");
}

void append_csv_field(std::string& out, const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    out += text;
    return;
  }
  out.push_back('"');
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

} // namespace troupe::tabular
