#include "runtime/time.hpp"

#include <chrono>

#include <climits>
#include <cstdio>
#include <ctime>

#include "runtime/errors.hpp"

namespace troupe {

namespace {

/// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

} // namespace

caf::expected<int64_t> parse_time(std::string_view s, std::string_view unit) {
  auto fail = [&] {
    return make_error(
        errc::invalid_argument,
        "'" + std::string{s} +
            "' is not a time (ISO 8601 like 2024-03-01T12:00:00Z, or an "
            "integer in " +
            std::string{unit} + " since 1970)");
  };
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  if (s.empty()) return fail();
  int y = 0;
  int mo = 0;
  int d = 0;
  if (s.size() >= 10 && s[4] == '-' && s[7] == '-') {
    if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) ||
        mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
      return fail();
    int64_t micros = days_from_civil(y, static_cast<unsigned>(mo),
                                     static_cast<unsigned>(d)) *
                     86400LL * 1000000LL;
    size_t pos = 10;
    if (pos < s.size()) {
      if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return fail();
      int h = 0;
      int mi = 0;
      int se = 0;
      if (!digits(s, pos + 1, 2, h) || pos + 3 >= s.size() ||
          s[pos + 3] != ':' || !digits(s, pos + 4, 2, mi) || h > 23 || mi > 59)
        return fail();
      pos += 6;
      if (pos < s.size() && s[pos] == ':') {
        if (!digits(s, pos + 1, 2, se) || se > 60) return fail();
        pos += 3;
      }
      micros += (h * 3600LL + mi * 60LL + se) * 1000000LL;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int64_t frac = 0;
        int n = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (n < 6) {
            frac = frac * 10 + (s[pos] - '0');
            ++n;
          }
          ++pos;
        }
        if (n == 0) return fail();
        while (n++ < 6)
          frac *= 10;
        micros += frac;
      }
      if (pos < s.size()) {
        if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
          // UTC
        } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() &&
                   s[pos + 3] == ':') {
          int oh = 0;
          int om = 0;
          if (!digits(s, pos + 1, 2, oh) || !digits(s, pos + 4, 2, om) ||
              oh > 23 || om > 59)
            return fail();
          int64_t off = (oh * 3600LL + om * 60LL) * 1000000LL;
          micros += s[pos] == '+' ? -off : off;
        } else {
          return fail();
        }
      }
    }
    return micros;
  }
  // an integer
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i >= s.size() || s.size() - i > 18) return fail();
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return fail();
    v = v * 10 + (s[i] - '0');
  }
  if (neg) v = -v;
  if (unit == "s") {
    if (v > INT64_MAX / 1000000 || v < INT64_MIN / 1000000) return fail();
    return v * 1000000;
  }
  if (unit == "ms") {
    if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000) return fail();
    return v * 1000;
  }
  if (unit == "us") return v;
  return make_error(errc::invalid_argument,
                    "time unit '" + std::string{unit} + "' is not s, ms or us");
}

std::string format_time(int64_t micros, fraction digits) {
  int64_t secs = micros >= 0 ? micros / 1000000 : (micros - 999999) / 1000000;
  int64_t frac = micros - secs * 1000000;
  time_t t = static_cast<time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out{buf, static_cast<size_t>(n)};
  if (frac != 0 && digits == fraction::shortest && frac % 1000 == 0)
    std::snprintf(buf, sizeof buf, ".%03lld",
                  static_cast<long long>(frac / 1000));
  else if (frac != 0)
    std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
  else
    buf[0] = '\0';
  return out + buf + "Z";
}

int64_t now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace troupe
