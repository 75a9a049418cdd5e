#include "actors/features/resp.hpp"

#include <cstring>

namespace troupe::features::resp {

namespace {

parse_result incomplete() {
  return {};
}

parse_result failed(std::string what, size_t at) {
  parse_result r;
  r.status = parse_status::error;
  r.error =
      "Protocol error: " + std::move(what) + " at byte " + std::to_string(at);
  return r;
}

/// A header line at data[pos]: `type` then a decimal number (a leading '-'
/// allowed) then CRLF. Sets `value` and `next` (the byte after the CRLF).
enum class line { ok, incomplete, bad };

line read_number(const char* data, size_t size, size_t pos, size_t max_line,
                 int64_t& value, size_t& next) {
  // pos is the type byte; the number starts after it
  size_t i = pos + 1;
  size_t end = i;
  while (end < size && data[end] != '\r') {
    if (end - pos > max_line) return line::bad;
    ++end;
  }
  if (end + 1 >= size)
    return end - pos > max_line ? line::bad : line::incomplete;
  if (data[end + 1] != '\n') return line::bad;
  bool negative = i < end && data[i] == '-';
  if (negative) ++i;
  if (i == end || end - i > 18) return line::bad;
  int64_t v = 0;
  for (; i < end; ++i) {
    if (data[i] < '0' || data[i] > '9') return line::bad;
    v = v * 10 + (data[i] - '0');
  }
  value = negative ? -v : v;
  next = end + 2;
  return line::ok;
}

parse_result parse_multibulk(const char* data, size_t size, const limits& l) {
  int64_t n = 0;
  size_t pos = 0;
  switch (read_number(data, size, 0, l.max_inline, n, pos)) {
  case line::incomplete:
    return incomplete();
  case line::bad:
    return failed("invalid multibulk length", 0);
  case line::ok:
    break;
  }
  parse_result r;
  if (n <= 0) {
    r.status = parse_status::complete;
    r.consumed = pos;
    return r;
  }
  if (static_cast<uint64_t>(n) > l.max_args)
    return failed("invalid multibulk length " + std::to_string(n) +
                      " (at most " + std::to_string(l.max_args) + ")",
                  0);
  // reserve no more than the bytes present could hold: a client cannot
  // make the server allocate by announcing a length
  r.cmd.reserve(std::min<size_t>(static_cast<size_t>(n), size / 4 + 1));
  for (int64_t k = 0; k < n; ++k) {
    if (pos >= size) return incomplete();
    if (data[pos] != '$')
      return failed(std::string{"expected '$', got '"} + data[pos] + "'", pos);
    int64_t len = 0;
    size_t body = 0;
    switch (read_number(data, size, pos, l.max_inline, len, body)) {
    case line::incomplete:
      return incomplete();
    case line::bad:
      return failed("invalid bulk length", pos);
    case line::ok:
      break;
    }
    if (len < 0 || static_cast<uint64_t>(len) > l.max_bulk)
      return failed("invalid bulk length " + std::to_string(len) +
                        " (at most " + std::to_string(l.max_bulk) + ")",
                    pos);
    auto bytes = static_cast<size_t>(len);
    if (size - body < bytes + 2) return incomplete();
    if (data[body + bytes] != '\r' || data[body + bytes + 1] != '\n')
      return failed("a bulk string not ended by CRLF", body + bytes);
    r.cmd.emplace_back(data + body, bytes);
    pos = body + bytes + 2;
  }
  r.status = parse_status::complete;
  r.consumed = pos;
  return r;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Splits an inline line as redis-cli's users type it: words between
/// spaces or tabs, "double quotes" with \" \\ \n \r \t \b \a \xHH escapes,
/// 'single quotes' with \' only. A closing quote must end the word.
bool split_inline(const char* p, size_t n, command& out, std::string& why) {
  size_t i = 0;
  while (true) {
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
      ++i;
    if (i >= n) return true;
    std::string word;
    if (p[i] == '"' || p[i] == '\'') {
      char q = p[i++];
      bool closed = false;
      while (i < n) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
          char e = p[i + 1];
          if (q == '"' && e == 'x' && i + 3 < n && hex(p[i + 2]) >= 0 &&
              hex(p[i + 3]) >= 0) {
            word += static_cast<char>(hex(p[i + 2]) * 16 + hex(p[i + 3]));
            i += 4;
            continue;
          }
          if (q == '"') {
            static const char from[] = "nrtba";
            static const char to[] = "\n\r\t\b\a";
            auto* f = std::strchr(from, e);
            word += f && e ? to[f - from] : e;
            i += 2;
            continue;
          }
          if (e == '\'') {
            word += '\'';
            i += 2;
            continue;
          }
        }
        if (c == q) {
          closed = true;
          ++i;
          break;
        }
        word += c;
        ++i;
      }
      if (!closed || (i < n && p[i] != ' ' && p[i] != '\t')) {
        why = "unbalanced quotes in request";
        return false;
      }
    } else {
      while (i < n && p[i] != ' ' && p[i] != '\t')
        word += p[i++];
    }
    out.push_back(std::move(word));
  }
}

parse_result parse_inline(const char* data, size_t size, const limits& l) {
  auto* nl = static_cast<const char*>(std::memchr(data, '\n', size));
  if (!nl) {
    if (size > l.max_inline)
      return failed("too big inline request (more than " +
                        std::to_string(l.max_inline) + " bytes)",
                    0);
    return incomplete();
  }
  auto len = static_cast<size_t>(nl - data);
  if (len > l.max_inline)
    return failed("too big inline request (more than " +
                      std::to_string(l.max_inline) + " bytes)",
                  0);
  auto body = len > 0 && data[len - 1] == '\r' ? len - 1 : len;
  parse_result r;
  std::string why;
  if (!split_inline(data, body, r.cmd, why)) return failed(why, 0);
  // (the fuzzer found the limit held only for arrays)
  if (r.cmd.size() > l.max_args)
    return failed("too many arguments in an inline request (" +
                      std::to_string(r.cmd.size()) + ", at most " +
                      std::to_string(l.max_args) + ")",
                  0);
  r.status = parse_status::complete;
  r.consumed = len + 1;
  return r;
}

} // namespace

parse_result parse_command(const char* data, size_t size, const limits& l) {
  if (size == 0) return incomplete();
  if (data[0] == '*') return parse_multibulk(data, size, l);
  return parse_inline(data, size, l);
}

void simple(std::string& out, std::string_view text) {
  out += '+';
  out += text;
  out += "\r\n";
}

void error(std::string& out, std::string_view text) {
  out += '-';
  out += text;
  out += "\r\n";
}

void integer(std::string& out, int64_t value) {
  out += ':';
  out += std::to_string(value);
  out += "\r\n";
}

void bulk(std::string& out, std::string_view bytes) {
  out += '$';
  out += std::to_string(bytes.size());
  out += "\r\n";
  out += bytes;
  out += "\r\n";
}

void null_bulk(std::string& out) {
  out += "$-1\r\n";
}

void array_header(std::string& out, size_t n) {
  out += '*';
  out += std::to_string(n);
  out += "\r\n";
}

} // namespace troupe::features::resp
