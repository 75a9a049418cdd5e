#pragma once

// Reporting helpers shared by the benchmark programs: the machine's
// description, JSON text, percentiles and flags.

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace troupe::bench {

inline std::string cpu_model() {
  std::ifstream in{"/proc/cpuinfo"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      if (pos != std::string::npos) {
        auto s = line.substr(pos + 1);
        s.erase(0, s.find_first_not_of(" \t"));
        return s;
      }
    }
  return "unknown";
}

inline std::string utc_now() {
  char buf[32];
  auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// What `nproc` prints: the CPUs this process may run on.
/// The 1-minute load average: other work on the machine shows here.
inline double loadavg() {
  double l = -1;
  if (auto* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

inline unsigned nproc() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return static_cast<unsigned>(CPU_COUNT(&set));
  return std::thread::hardware_concurrency();
}

/// The q-quantile (0..1) of `xs` by the nearest-rank method.
inline double quantile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  auto rank = static_cast<size_t>(q * static_cast<double>(xs.size()));
  return xs[std::min(rank, xs.size() - 1)];
}

inline double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// Runs a shell command and returns its exit status (as pclose gives it,
/// -1 if it could not start) and everything it printed on stdout.
inline std::pair<int, std::string> run_capture(const std::string& cmd) {
  auto* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return {-1, {}};
  std::string out;
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof(buf), pipe)) > 0)
    out.append(buf, got);
  return {pclose(pipe), out};
}

inline uint64_t arg_or(int argc, char** argv, const char* flag,
                       uint64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0)
      return std::strtoull(argv[i + 1], nullptr, 10);
  return fallback;
}

} // namespace troupe::bench
