#include "actors/tabular/csv_stream.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "runtime/errors.hpp"

namespace troupe::tabular {

namespace {
constexpr size_t buffer_bytes = size_t{1} << 20;
}

caf::expected<csv_stream> csv_stream::open(const std::string& path) {
  csv_stream s;
  s.path_ = path;
  s.file_ = std::fopen(path.c_str(), "rb");
  if (!s.file_)
    return make_error(errc::not_found,
                      "cannot open '" + path + "': " + std::strerror(errno));
  struct stat st;
  if (fstat(fileno(s.file_), &st) == 0)
    s.size_ = static_cast<size_t>(st.st_size);
  s.buf_.resize(buffer_bytes);
  // UTF-8 byte order mark
  if (s.fill() && s.end_ >= 3 &&
      std::memcmp(s.buf_.data(), "\xEF\xBB\xBF", 3) == 0)
    s.pos_ = 3;
  size_t line = 0;
  auto got = s.read_record(s.header_, line);
  if (!got) return got.error();
  if (!*got)
    return make_error(errc::invalid_argument, path + ": the file is empty");
  for (size_t i = 0; i < s.header_.size(); ++i)
    for (size_t j = i + 1; j < s.header_.size(); ++j)
      if (s.header_[i] == s.header_[j])
        return make_error(errc::invalid_argument,
                          path + ":" + std::to_string(line) + ": column '" +
                              s.header_[i] + "' appears twice");
  return s;
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
    buf_ = std::move(o.buf_);
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

bool csv_stream::fill() {
  if (pos_ < end_) return true;
  if (!file_) return false;
  end_ = std::fread(buf_.data(), 1, buf_.size(), file_);
  pos_ = 0;
  return end_ > 0;
}

int csv_stream::get() {
  if (pos_ >= end_ && !fill()) return EOF;
  ++consumed_;
  return static_cast<unsigned char>(buf_[pos_++]);
}

int csv_stream::peek() {
  if (pos_ >= end_ && !fill()) return EOF;
  return static_cast<unsigned char>(buf_[pos_]);
}

int csv_stream::column(const std::string& name) const {
  for (size_t i = 0; i < header_.size(); ++i)
    if (header_[i] == name) return static_cast<int>(i);
  return -1;
}

caf::expected<bool> csv_stream::read_record(std::vector<std::string>& fields,
                                            size_t& line) {
  fields.clear();
  // skip blank lines
  for (;;) {
    int c = peek();
    if (c == EOF) return false;
    if (c == '\n') {
      get();
      ++line_;
    } else if (c == '\r') {
      get();
    } else {
      break;
    }
  }
  line = line_;
  std::string cur;
  bool error = false;
  std::string why;
  for (;;) {
    int c = get();
    if (c == '"' && cur.empty()) {
      // quoted field
      for (;;) {
        int q = get();
        if (q == EOF) {
          return make_error(errc::invalid_argument,
                            path_ + ":" + std::to_string(line) +
                                ": a quoted field is not closed");
        }
        if (q == '"') {
          if (peek() == '"') {
            get();
            cur.push_back('"');
            continue;
          }
          break;
        }
        if (q == '\n') ++line_;
        cur.push_back(static_cast<char>(q));
      }
      int after = peek();
      if (after != ',' && after != '\n' && after != '\r' && after != EOF) {
        error = true;
        why = "text after a closing quote in field " +
              std::to_string(fields.size() + 1);
      }
      continue;
    }
    if (c == ',') {
      fields.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (c == '\r' && peek() == '\n') continue;
    if (c == '\n' || c == EOF) {
      if (c == '\n') ++line_;
      fields.push_back(std::move(cur));
      break;
    }
    cur.push_back(static_cast<char>(c));
  }
  if (error)
    return make_error(errc::invalid_argument,
                      path_ + ":" + std::to_string(line) + ": " + why);
  return true;
}

caf::expected<bool> csv_stream::next(std::vector<std::string>& fields,
                                     size_t& line) {
  auto got = read_record(fields, line);
  if (!got || !*got) return got;
  if (fields.size() != header_.size())
    return make_error(errc::invalid_argument,
                      path_ + ":" + std::to_string(line) + ": " +
                          std::to_string(fields.size()) +
                          " fields, the header has " +
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
