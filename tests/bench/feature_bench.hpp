#pragma once

// What the feature-store benchmarks share: the data (entity e's vector, a
// function of e), a RESP client, redis-server and a troupe head in their
// own processes, and loading the same data set into both.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/features/client.hpp"
#include "runtime/errors.hpp"
#include "schemas/features.capnp.h"
#include "tests/bench/bench_process.hpp"

namespace troupe::bench {

/// Value k of entity e's vector: exact in float32, in [-0.5, 0.5).
inline float value_of(uint64_t e, uint32_t k) {
  uint64_t h = (e + 1) * 0x9E3779B97F4A7C15ull ^
               (uint64_t{k} + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 29;
  return static_cast<float>(h & 0xFFFFFF) / 16777216.0f - 0.5f;
}

/// How a benchmark names entity e.
using key_function = std::function<std::string(uint64_t)>;

constexpr int64_t base_time_s = 1700000000;

// -- a RESP client ------------------------------------------------------------

/// One blocking connection to redis-server speaking RESP 2.
class resp_conn {
public:
  explicit resp_conn(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a))
      throw std::runtime_error("cannot connect to redis on port " +
                               std::to_string(port));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  resp_conn(const resp_conn&) = delete;
  resp_conn& operator=(const resp_conn&) = delete;
  ~resp_conn() {
    if (fd_ >= 0) close(fd_);
  }

  void send(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      auto n =
          ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("redis: send failed");
      done += static_cast<size_t>(n);
    }
  }

  /// Reads a reply line starting with `type` ('$', '*', ':', '+') and
  /// returns its number (0 for '+'); a '-' reply throws with its text.
  int64_t header(char type) {
    auto line = read_line();
    if (line.empty() || line[0] == '-')
      throw std::runtime_error("redis: " + line);
    if (line[0] != type)
      throw std::runtime_error("redis: unexpected reply '" + line + "'");
    return type == '+' ? 0 : std::strtoll(line.c_str() + 1, nullptr, 10);
  }

  /// Reads n bytes of a bulk string (and its CRLF) into dst.
  void bulk(char* dst, size_t n) {
    size_t have = std::min(n, end_ - pos_);
    std::memcpy(dst, buf_.data() + pos_, have);
    pos_ += have;
    while (have < n) {
      auto got = recv(fd_, dst + have, n - have, 0);
      if (got <= 0) throw std::runtime_error("redis: connection closed");
      have += static_cast<size_t>(got);
    }
    char crlf[2];
    for (char& c : crlf) {
      if (pos_ == end_) fill();
      c = buf_[pos_++];
    }
    if (crlf[0] != '\r' || crlf[1] != '\n')
      throw std::runtime_error("redis: bad bulk string end");
  }

  /// Sends one command and reads a '+' or ':' reply line.
  std::string command(const std::vector<std::string>& args) {
    std::string out;
    append_command(out, args);
    send(out);
    return read_line();
  }

  static void append_command(std::string& out,
                             const std::vector<std::string>& args) {
    out += "*" + std::to_string(args.size()) + "\r\n";
    for (auto& a : args)
      append_arg(out, a.data(), a.size());
  }

  static void append_arg(std::string& out, const char* p, size_t n) {
    out += '$';
    out += std::to_string(n);
    out += "\r\n";
    out.append(p, n);
    out += "\r\n";
  }

private:
  void fill() {
    if (pos_ == end_) pos_ = end_ = 0;
    if (end_ == buf_.size()) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
    }
    auto got = recv(fd_, buf_.data() + end_, buf_.size() - end_, 0);
    if (got <= 0) throw std::runtime_error("redis: connection closed");
    end_ += static_cast<size_t>(got);
  }

  std::string read_line() {
    for (;;) {
      auto* b = buf_.data();
      auto* nl = static_cast<char*>(std::memchr(b + pos_, '\n', end_ - pos_));
      if (nl) {
        auto stop = static_cast<size_t>(nl - b);
        std::string line{b + pos_, stop > pos_ ? stop - pos_ - 1 : 0};
        pos_ = stop + 1;
        return line;
      }
      fill();
    }
  }

  int fd_ = -1;
  std::vector<char> buf_ = std::vector<char>(256 * 1024);
  size_t pos_ = 0;
  size_t end_ = 0;
};

/// redis-server on a free loopback port, no persistence.
class redis_server {
public:
  explicit redis_server(const std::string& dir) {
    port_ = free_port();
    pid_ = spawn({"/usr/bin/redis-server", "--port", std::to_string(port_),
                  "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--maxmemory", "0", "--protected-mode", "no", "--dir", dir,
                  "--daemonize", "no"},
                 dir + "/redis.log");
    auto t0 = clock_type::now();
    for (;;) {
      try {
        resp_conn c{port_};
        if (c.command({"PING"}) == "+PONG") break;
      } catch (const std::exception&) {
      }
      if (!alive(pid_) || seconds_since(t0) > 20)
        fail("redis-server did not start (see " + dir + "/redis.log)");
      usleep(50000);
    }
    resp_conn c{port_};
    std::string cmd;
    resp_conn::append_command(cmd, {"INFO", "server"});
    c.send(cmd);
    auto n = c.header('$');
    std::string text(static_cast<size_t>(n), '\0');
    c.bulk(text.data(), text.size());
    auto pos = text.find("redis_version:");
    if (pos != std::string::npos)
      version_ = text.substr(pos + 14, text.find('\r', pos) - pos - 14);
  }
  ~redis_server() { stop_child(pid_); }

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& version() const { return version_; }

private:
  pid_t pid_ = 0;
  uint16_t port_ = 0;
  std::string version_ = "?";
};

// -- a troupe head in its own process -----------------------------------------

/// The head's RPC gateway threads: TROUPE_GATEWAY_THREADS, or one per core.
inline std::string gateway_threads() {
  auto* v = std::getenv("TROUPE_GATEWAY_THREADS");
  return v ? v : "0";
}

class troupe_head {
public:
  /// Starts `troupe node --head` with its data in `dir`, its output in
  /// `log`, and `extra` flags.
  troupe_head(const std::string& dir, const std::string& log,
              const std::vector<std::string>& extra = {})
      : dir_{dir} {
    std::filesystem::create_directories(dir);
    std::vector<std::string> args{TROUPE_BIN,
                                  "node",
                                  "--head",
                                  "--data-dir",
                                  dir,
                                  "--port",
                                  "0",
                                  "--gateway-port",
                                  "0",
                                  "--feature-shards",
                                  "4",
                                  "--gateway-threads",
                                  gateway_threads(),
                                  "--log-level",
                                  "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = spawn(args, log);
    auto t0 = clock_type::now();
    for (;;) {
      std::ifstream in{dir + "/head.json"};
      if (in) {
        auto j = nlohmann::json::parse(in, nullptr, false);
        if (!j.is_discarded() && j.contains("gateway_port")) {
          port_ = j["gateway_port"].get<uint16_t>();
          break;
        }
      }
      if (!alive(pid_)) fail("troupe node exited at start (see its log)");
      if (seconds_since(t0) > 60) fail("troupe node did not start in 60 s");
      usleep(50000);
    }
  }
  ~troupe_head() {
    int st = stop_child(pid_);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      progress("troupe node %s ended with status %d", dir_.c_str(), st);
  }

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

private:
  std::string dir_;
  pid_t pid_ = 0;
  uint16_t port_ = 0;
};

inline troupe::features::store_connection connect_troupe(uint16_t port) {
  troupe::features::store_options opts;
  opts.cluster = "127.0.0.1:" + std::to_string(port);
  auto c = troupe::features::connect_store(opts, {});
  if (!c) fail("cannot reach the store: " + troupe::describe(c.error()));
  c->client->set_timeout(std::chrono::seconds{300});
  return std::move(*c);
}

// -- loading ------------------------------------------------------------------

constexpr size_t batch_bytes = size_t{3} << 20;

inline size_t rows_per_batch(uint32_t width) {
  return std::max<size_t>(1, batch_bytes / (size_t{width} * 4 + 64));
}

/// Writes entities [0, n) of width w (named by key_of) with
/// FeatureStore.write, 3 requests in
/// flight. Returns seconds from the first request to the last reply.
inline double load_troupe(troupe::features::store_connection& c,
                          const std::string& group, uint32_t w, uint64_t n,
                          const key_function& key_of) {
  using reply = capnp::Response<troupe::schema::FeatureStore::WriteResults>;
  size_t per = rows_per_batch(w);
  std::deque<kj::Promise<reply>> flying;
  uint64_t written = 0;
  auto wait_oldest = [&] {
    auto r = c.client->wait(std::move(flying.front()));
    flying.pop_front();
    written += r.getResult().getWritten();
  };
  auto t0 = clock_type::now();
  auto last = t0;
  try {
    for (uint64_t i = 0; i < n; i += per) {
      auto m = static_cast<unsigned>(std::min<uint64_t>(per, n - i));
      auto req = c.store.writeRequest();
      auto b = req.initBatch();
      b.setGroup(group);
      auto rows = b.initRows(m);
      for (unsigned j = 0; j < m; ++j) {
        auto row = rows[j];
        row.setEntity(key_of(i + j));
        row.setEventTime(base_time_s * 1000000);
        auto v = row.initVector(w);
        for (uint32_t k = 0; k < w; ++k)
          v.set(k, value_of(i + j, k));
      }
      flying.push_back(req.send());
      while (flying.size() >= 3)
        wait_oldest();
      if (seconds_since(last) > 5) {
        last = clock_type::now();
        progress("  troupe write: %llu of %llu rows, %.0f rows/s",
                 static_cast<unsigned long long>(written),
                 static_cast<unsigned long long>(n),
                 static_cast<double>(written) / seconds_since(t0));
      }
    }
    while (!flying.empty())
      wait_oldest();
  } catch (const kj::Exception& e) {
    fail("troupe write failed after " + std::to_string(written) +
         " rows: " + e.getDescription().cStr());
  }
  double s = seconds_since(t0);
  if (written != n)
    fail("troupe wrote " + std::to_string(written) + " of " +
         std::to_string(n) + " rows");
  return s;
}

/// SETs entities [0, n) of width w as packed float32, pipelined in batches
/// of the same rows as troupe's, 2 batches in flight. Returns seconds.
inline double load_redis(uint16_t port, uint32_t w, uint64_t n,
                         const key_function& key_of) {
  resp_conn c{port};
  size_t per = rows_per_batch(w);
  std::vector<float> vec(w);
  std::string cmd;
  std::deque<size_t> flying; // replies expected per batch
  auto wait_oldest = [&] {
    for (size_t j = 0; j < flying.front(); ++j)
      c.header('+');
    flying.pop_front();
  };
  auto t0 = clock_type::now();
  for (uint64_t i = 0; i < n; i += per) {
    auto m = std::min<uint64_t>(per, n - i);
    cmd.clear();
    for (uint64_t j = 0; j < m; ++j) {
      for (uint32_t k = 0; k < w; ++k)
        vec[k] = value_of(i + j, k);
      auto key = key_of(i + j);
      cmd += "*3\r\n";
      resp_conn::append_arg(cmd, "SET", 3);
      resp_conn::append_arg(cmd, key.data(), key.size());
      resp_conn::append_arg(cmd, reinterpret_cast<const char*>(vec.data()),
                            size_t{w} * 4);
    }
    c.send(cmd);
    flying.push_back(m);
    while (flying.size() >= 2)
      wait_oldest();
  }
  while (!flying.empty())
    wait_oldest();
  double s = seconds_since(t0);
  auto dbsize = c.command({"DBSIZE"});
  if (dbsize != ":" + std::to_string(n))
    fail("redis DBSIZE is " + dbsize + " after loading " + std::to_string(n));
  return s;
}

/// Entities and versions the store's shards report for a group.
inline std::pair<uint64_t, uint64_t>
troupe_counts(troupe::features::store_connection& c, const std::string& group) {
  auto req = c.store.groupRequest();
  req.setName(group);
  auto resp = c.client->wait(req.send());
  uint64_t entities = 0;
  uint64_t versions = 0;
  for (auto s : resp.getStats().getShards()) {
    entities += s.getEntities();
    versions += s.getVersions();
  }
  return {entities, versions};
}

} // namespace troupe::bench
