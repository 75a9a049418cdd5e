// bench-timeout: 1800
//
// bench_features: the feature store against redis-server 7 (and pandas for
// the point-in-time join), in one run on this machine.
//
//   troupe: `troupe node --head --feature-shards 4` in its own process with a
//           fresh data directory per data set, reached over its Cap'n Proto
//           gateway on loopback (FeatureStore.get / lookup / write), and the
//           `troupe features ingest|join` CLI.
//   redis:  redis-server started here on 127.0.0.1 (no persistence, no
//           maxmemory) holding the same vectors as packed float32 bytes under
//           the same keys, read by a RESP client written here (plain blocking
//           sockets, one connection per thread).
//   pandas: tests/bench/peers/pit_join.py, merge_asof(direction="backward").
//   floor:  the "capnp floor", for the get runs only: this program with
//           --floor-server (a fresh process per data set), one thread, one
//           KJ event loop, a Cap'n Proto server whose bootstrap is a Cluster
//           answering service("features") with a FeatureStore that has get
//           alone, answered from the data set's vectors computed at start
//           into a hash map by key; connections buffered like the gateway's.
//           No CAF, no LMDB, no actors: the floor of Cap'n Proto RPC on this
//           machine, read by the same client code as troupe.
//
// Measured, per data set (100,000 x 5,000 floats, then 1,000,000 x 500; the
// store and Redis are emptied between them):
//   ingest   rows/s loading the data set: FeatureStore.write batches of about
//            3 MiB, 3 in flight, vs pipelined SET of the same bytes.
//   get      one entity's vector, closed loop, C = 1 and 16 clients (one
//            thread and one connection each), uniformly random entities (the
//            same sequence for every system), 10 s after a 2 s warm-up, 3
//            runs of troupe, redis and the capnp floor, run r starting with
//            system r mod 3: the median lookups/s, and p50 and p99 latency
//            over every timed request. Every answer is checked (found,
//            entity, width, and the first, last and one middle float, which
//            are a function of the entity id). troupe/floor and floor/redis
//            show how much of the gap to Redis is Cap'n Proto RPC itself.
//   batch    lookup of 1,000 random entities per request vs MGET of 1,000
//            keys, C = 1 and 4, 3 runs of 5 s each, alternating which goes
//            first: entities/s; every row checked the same way (no floor).
// Each JSON line carries the 1-minute load average: the machine may be
// shared, and other work there moves these numbers.
// Then, on a third fresh store:
//   csv      `troupe features ingest` of a CSV of 5,000 rows x 5,000 floats
//            (emb as ';'-separated values): rows/s by wall clock of the CLI.
//            Redis has no CSV ingest: no peer. A sample of rows is read back
//            and compared.
//   join     `troupe features join` of 1,000,000 label rows against a group
//            of 4 float64 fields over 200,000 entities x 3 versions (ingested
//            by the CLI) vs pandas merge_asof reading and writing the same
//            CSVs (whole script, and merge alone). Both outputs must have the
//            same rows and agree on a sample of them.
//
// Usage: bench_features [--quick] [--seconds S] [--warmup-seconds S]
//          [--batch-seconds S] [--reps R] [--wide-entities N]
//          [--narrow-entities N]
//          [--csv-rows N] [--pit-entities N] [--labels N]
//        bench_features --floor-server --port P --entities N --width W
//          --group NAME
// --quick: small data sets and short runs (a smoke test of the benchmark).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <capnp/any.h>
#include <kj/async-io.h>
#include <nlohmann/json.hpp>

#include "actors/features/client.hpp"
#include "actors/features/group.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "schemas/features.capnp.h"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_peer.hpp"
#include "tests/bench/bench_process.hpp"
#include "tests/bench/feature_bench.hpp"

namespace {

using json = nlohmann::ordered_json;
using namespace troupe::bench;
namespace fs = std::filesystem;

/// The failure clean-up: the last lines of the servers' logs, then the
/// scratch directory goes.
std::string scratch_root;

void print_logs_and_clean_up() {
  if (scratch_root.empty()) return;
  for (auto* log : {"/head.log", "/redis.log", "/floor.log"}) {
    auto [rc, text] =
        run_capture("tail -n 20 '" + scratch_root + log + "' 2>/dev/null");
    if (!text.empty())
      std::fprintf(stderr, "--- last lines of %s:\n%s", log, text.c_str());
  }
  std::error_code ec;
  fs::remove_all(scratch_root, ec);
}

/// Runs a shell command, timing it; fails unless it exits 0.
std::pair<double, std::string> timed_command(const std::string& cmd) {
  auto t0 = clock_type::now();
  auto [rc, out] = run_capture(cmd + " 2>&1");
  double s = seconds_since(t0);
  if (rc != 0)
    fail("command failed (status " + std::to_string(rc) + "): " + cmd + "\n" +
         out);
  return {s, out};
}

// -- the data -----------------------------------------------------------------

/// The key of entity e (both stores).
std::string key_of(uint64_t e) {
  return "e" + std::to_string(e);
}

/// Checks width and the first, last and one middle value of entity e's
/// vector; `at(k)` reads value k.
template <class At>
void check_vector(uint64_t e, uint32_t width, size_t size, At&& at) {
  if (size != width)
    throw std::runtime_error("entity " + key_of(e) + ": " +
                             std::to_string(size) + " values, expected " +
                             std::to_string(width));
  uint32_t mid = static_cast<uint32_t>((e * 7919) % width);
  for (uint32_t k : {uint32_t{0}, width - 1, mid}) {
    float got = at(k);
    if (got != value_of(e, k))
      throw std::runtime_error(
          "entity " + key_of(e) + ": value " + std::to_string(k) + " is " +
          std::to_string(got) + ", expected " + std::to_string(value_of(e, k)));
  }
}

// -- the Cap'n Proto floor (--floor-server) -----------------------------------

/// FeatureStore.get only, answered from memory: every entity's vector,
/// computed at start, in a hash map by key. The answer is the row troupe
/// gives (entity, event time, vector, found), sized like troupe's so that
/// it is one segment.
class floor_store final : public troupe::schema::FeatureStore::Server {
public:
  floor_store(std::string group, uint64_t n, uint32_t width)
      : group_{std::move(group)}, width_{width} {
    rows_.reserve(n);
    for (uint64_t e = 0; e < n; ++e) {
      std::vector<float> v(width);
      for (uint32_t k = 0; k < width; ++k)
        v[k] = value_of(e, k);
      rows_.emplace(key_of(e), std::move(v));
    }
  }

  kj::Promise<void> get(GetContext ctx) override {
    auto p = ctx.getParams();
    if (p.getGroup() != kj::StringPtr{group_.c_str()})
      throw troupe::rpc_failure("no feature group '" +
                                std::string{p.getGroup().cStr()} +
                                "' (groups: " + group_ + ")");
    auto entity = p.getEntity();
    if (entity.size() == 0 || entity.size() > 255)
      throw troupe::rpc_failure("entity: the entity key has " +
                                std::to_string(entity.size()) +
                                " bytes, 1 to 255 are allowed");
    uint64_t words = 32 + entity.size() / 8 + (width_ + 1) / 2;
    auto row = ctx.getResults(capnp::MessageSize{words, 0}).initRow();
    row.setEntity(entity);
    auto it = rows_.find(std::string{entity.cStr(), entity.size()});
    if (it == rows_.end()) {
      row.setFound(false);
      return kj::READY_NOW;
    }
    row.setEventTime(base_time_s * 1000000);
    auto v = row.initVector(width_);
    // One copy of the floats into the answer, as troupe's copy of the stored
    // list is (the wire format is little-endian, like this machine).
    auto bytes = capnp::AnyList::Reader{v.asReader()}.getRawBytes();
    std::memcpy(const_cast<capnp::byte*>(bytes.begin()), it->second.data(),
                bytes.size());
    row.setFound(true);
    return kj::READY_NOW;
  }

private:
  std::string group_;
  uint32_t width_;
  std::unordered_map<std::string, std::vector<float>> rows_;
};

/// bench_features --floor-server: one thread, one KJ event loop, a Cap'n
/// Proto server on 127.0.0.1:PORT handing out the floor_store.
int run_floor_server(int argc, char** argv) {
  auto port = static_cast<uint16_t>(arg_or(argc, argv, "--port", 0));
  auto n = arg_or(argc, argv, "--entities", 0);
  auto w = static_cast<uint32_t>(arg_or(argc, argv, "--width", 0));
  auto group = arg_text(argc, argv, "--group");
  if (port == 0 || n == 0 || w == 0 || group.empty()) {
    std::fprintf(stderr, "floor: usage: bench_features --floor-server --port "
                         "P --entities N --width W --group NAME\n");
    return 2;
  }
  auto t0 = clock_type::now();
  auto store = kj::heap<floor_store>(group, n, w);
  std::printf("floor: %llu entities x %u floats in memory in %.1f s\n",
              static_cast<unsigned long long>(n), w, seconds_since(t0));
  return serve_peer("floor", port, "features", [&] {
    return troupe::schema::FeatureStore::Client{kj::mv(store)};
  });
}

/// This program with --floor-server, holding one data set, on a free
/// loopback port; its output goes to scratch_root + "/floor.log".
class floor_server {
public:
  floor_server(const std::string& group, uint64_t n, uint32_t w)
      : log_{scratch_root + "/floor.log"} {
    port_ = free_port();
    pid_ = spawn({self_exe(), "--floor-server", "--port", std::to_string(port_),
                  "--entities", std::to_string(n), "--width", std::to_string(w),
                  "--group", group},
                 log_);
    auto t0 = clock_type::now();
    while (!accepts(port_)) {
      if (!alive(pid_))
        fail("the capnp floor server exited at start (see " + log_ + ")");
      if (seconds_since(t0) > 60)
        fail("the capnp floor server did not listen in 60 s (see " + log_ +
             ")");
      usleep(50000);
    }
    progress("capnp floor server on port %u (up in %.1f s)", port_,
             seconds_since(t0));
  }
  floor_server(const floor_server&) = delete;
  floor_server& operator=(const floor_server&) = delete;
  ~floor_server() {
    int st = stop_child(pid_);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM))
      progress("the capnp floor server ended with status %d (see %s)", st,
               log_.c_str());
  }

  uint16_t port() const { return port_; }
  const std::string& log() const { return log_; }

  /// Fails, naming the log, when the server is no longer running.
  void check() {
    if (!alive(pid_))
      fail("the capnp floor server on port " + std::to_string(port_) +
           " died (see " + log_ + ")");
  }

private:
  std::string log_;
  pid_t pid_ = 0;
  uint16_t port_ = 0;
};

// -- closed-loop load ---------------------------------------------------------

/// One client's connection: reads `keys` in one request and checks every
/// answer; throws on a failure or a wrong answer.
class session {
public:
  virtual ~session() noexcept(false) = default;
  virtual void read(const std::vector<uint64_t>& keys) = 0;
};

class troupe_session final : public session {
public:
  troupe_session(uint16_t port, std::string group, uint32_t width)
      : c_{connect_troupe(port)}, group_{std::move(group)}, width_{width} {}

  void read(const std::vector<uint64_t>& keys) override {
    if (keys.size() == 1) {
      auto req = c_.store.getRequest();
      req.setGroup(group_);
      req.setEntity(key_of(keys[0]));
      auto resp = c_.client->wait(req.send());
      check(keys[0], resp.getRow());
      return;
    }
    auto req = c_.store.lookupRequest();
    auto l = req.initRequest();
    l.initGroups(1).set(0, group_);
    auto ks = l.initKeys(static_cast<unsigned>(keys.size()));
    for (unsigned i = 0; i < keys.size(); ++i)
      ks[i].setEntity(key_of(keys[i]));
    auto resp = c_.client->wait(req.send());
    auto gs = resp.getResult().getGroups();
    if (gs.size() != 1) throw std::runtime_error("lookup: no group answered");
    auto rows = gs[0].getRows();
    if (rows.size() != keys.size())
      throw std::runtime_error("lookup: " + std::to_string(rows.size()) +
                               " rows for " + std::to_string(keys.size()) +
                               " keys");
    for (unsigned i = 0; i < keys.size(); ++i)
      check(keys[i], rows[i]);
  }

private:
  void check(uint64_t e, troupe::schema::FeatureRow::Reader row) {
    if (!row.getFound())
      throw std::runtime_error("entity " + key_of(e) + " not found");
    if (row.getEntity() != kj::StringPtr{key_of(e).c_str()})
      throw std::runtime_error("entity " + key_of(e) + " answered as " +
                               std::string{row.getEntity().cStr()});
    auto v = row.getVector();
    check_vector(e, width_, v.size(), [&](uint32_t k) { return v[k]; });
  }

  troupe::features::store_connection c_;
  std::string group_;
  uint32_t width_;
};

/// troupe's client (troupe_session) against the capnp floor server; a
/// failure names the floor's log.
class floor_session final : public session {
public:
  floor_session(uint16_t port, std::string group, uint32_t width,
                std::string log)
      : inner_{port, std::move(group), width}, log_{std::move(log)} {}

  void read(const std::vector<uint64_t>& keys) override {
    try {
      inner_.read(keys);
    } catch (const kj::Exception& e) {
      throw std::runtime_error(
          "capnp floor: " + std::string{e.getDescription().cStr()} + " (see " +
          log_ + ")");
    } catch (const std::exception& e) {
      throw std::runtime_error("capnp floor: " + std::string{e.what()} +
                               " (see " + log_ + ")");
    }
  }

private:
  troupe_session inner_;
  std::string log_;
};

class redis_session final : public session {
public:
  redis_session(uint16_t port, uint32_t width)
      : c_{port}, width_{width}, value_(width * 4) {}

  void read(const std::vector<uint64_t>& keys) override {
    cmd_.clear();
    cmd_ += "*" + std::to_string(keys.size() + 1) + "\r\n";
    if (keys.size() == 1)
      resp_conn::append_arg(cmd_, "GET", 3);
    else
      resp_conn::append_arg(cmd_, "MGET", 4);
    for (auto e : keys) {
      auto k = key_of(e);
      resp_conn::append_arg(cmd_, k.data(), k.size());
    }
    c_.send(cmd_);
    if (keys.size() > 1) {
      auto n = c_.header('*');
      if (n != static_cast<int64_t>(keys.size()))
        throw std::runtime_error("MGET: " + std::to_string(n) + " replies");
    }
    for (auto e : keys) {
      auto n = c_.header('$');
      if (n < 0) throw std::runtime_error("entity " + key_of(e) + " not found");
      if (static_cast<size_t>(n) != value_.size())
        throw std::runtime_error("entity " + key_of(e) + ": " +
                                 std::to_string(n) + " bytes");
      c_.bulk(value_.data(), value_.size());
      auto* p = value_.data();
      check_vector(e, width_, static_cast<size_t>(n) / 4, [p](uint32_t k) {
        float f;
        std::memcpy(&f, p + size_t{k} * 4, 4);
        return f;
      });
    }
  }

private:
  resp_conn c_;
  uint32_t width_;
  std::vector<char> value_;
  std::string cmd_;
};

using session_factory = std::function<std::unique_ptr<session>()>;

/// One timed run: its rate and every request's latency.
struct load_result {
  double requests_per_s = 0;
  std::vector<double> latencies_us;
};

/// `clients` threads, each with its own session, read `per_request` random
/// entities of [0, entities) per request back to back: `warmup` untimed,
/// then `measure` timed. Thread i draws its keys from a generator seeded
/// with (seed, i), so every system sees the same sequence.
load_result drive(const session_factory& make, size_t clients,
                  size_t per_request, uint64_t entities, uint64_t seed,
                  std::chrono::milliseconds warmup,
                  std::chrono::milliseconds measure) {
  std::mutex mtx;
  std::condition_variable cv;
  size_t ready = 0;
  std::atomic<int> phase{-1}; // -1 connect, 0 warm-up, 1 timed, 2 stop
  std::string first_error;
  std::atomic<size_t> errors{0};
  std::vector<std::vector<double>> lat(clients);
  std::vector<clock_type::time_point> ended(clients);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      std::unique_ptr<session> s;
      try {
        s = make();
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> guard{mtx};
        if (errors++ == 0) first_error = e.what();
      } catch (const kj::Exception& e) {
        std::lock_guard<std::mutex> guard{mtx};
        if (errors++ == 0) first_error = e.getDescription().cStr();
      }
      {
        std::unique_lock<std::mutex> guard{mtx};
        ++ready;
        cv.notify_all();
        cv.wait(guard, [&] { return phase.load() >= 0; });
      }
      std::mt19937_64 rng{seed * 1000003 + i};
      std::uniform_int_distribution<uint64_t> pick{0, entities - 1};
      std::vector<uint64_t> keys(per_request);
      auto& mine = lat[i];
      mine.reserve(1 << 16);
      try {
        while (s) {
          int ph = phase.load(std::memory_order_relaxed);
          if (ph == 2) break;
          for (auto& k : keys)
            k = pick(rng);
          auto t0 = clock_type::now();
          s->read(keys);
          auto t1 = clock_type::now();
          if (ph == 1)
            mine.push_back(
                std::chrono::duration<double, std::micro>(t1 - t0).count());
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> guard{mtx};
        if (errors++ == 0) first_error = e.what();
      } catch (const kj::Exception& e) {
        std::lock_guard<std::mutex> guard{mtx};
        if (errors++ == 0) first_error = e.getDescription().cStr();
      }
      ended[i] = clock_type::now();
      s.reset();
    });
  {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait(guard, [&] { return ready == clients; });
    phase = 0;
    cv.notify_all();
  }
  std::this_thread::sleep_for(warmup);
  auto start = clock_type::now();
  phase = 1;
  std::this_thread::sleep_for(measure);
  phase = 2;
  for (auto& t : threads)
    t.join();
  if (errors > 0)
    fail(std::to_string(errors.load()) +
         " client(s) failed, first: " + first_error);
  load_result r;
  for (auto& xs : lat)
    r.latencies_us.insert(r.latencies_us.end(), xs.begin(), xs.end());
  if (r.latencies_us.empty()) fail("no request completed in the timed window");
  auto last = *std::max_element(ended.begin(), ended.end());
  double secs = std::chrono::duration<double>(last - start).count();
  r.requests_per_s = static_cast<double>(r.latencies_us.size()) / secs;
  return r;
}

/// Runs of one system at one load: the median rate, percentiles over every
/// timed request of every run.
struct series {
  size_t per_request = 1;
  std::vector<double> rates;
  std::vector<double> latencies_us;

  void add(load_result r) {
    rates.push_back(r.requests_per_s);
    latencies_us.insert(latencies_us.end(), r.latencies_us.begin(),
                        r.latencies_us.end());
  }
  double requests_per_s() const { return median(rates); }
  double entities_per_s() const {
    return requests_per_s() * static_cast<double>(per_request);
  }
  double p50_us() const { return quantile(latencies_us, 0.5); }
  double p99_us() const { return quantile(latencies_us, 0.99); }
};

json to_json(const series& x) {
  json runs = json::array();
  for (auto r : x.rates)
    runs.push_back(std::round(r * static_cast<double>(x.per_request)));
  return json{{"entities_per_s", std::round(x.entities_per_s())},
              {"requests_per_s", std::round(x.requests_per_s())},
              {"p50_us", std::round(x.p50_us() * 10) / 10},
              {"p99_us", std::round(x.p99_us() * 10) / 10},
              {"requests_timed", x.latencies_us.size()},
              {"runs_entities_per_s", runs}};
}

/// A system under load: its name in progress lines and its sessions.
struct system_under_test {
  std::string name;
  session_factory make;
};

/// `reps` runs of each system at one load; run r starts with system r mod
/// k and goes on in order (two systems alternate which goes first); run r of
/// every system draws the same keys. One series per system, in order.
std::vector<series> compare(const std::vector<system_under_test>& systems,
                            size_t clients, size_t per_request,
                            uint64_t entities, uint64_t seed,
                            std::chrono::milliseconds warmup,
                            std::chrono::milliseconds measure, uint64_t reps) {
  std::vector<series> out(systems.size());
  for (auto& x : out)
    x.per_request = per_request;
  for (uint64_t i = 0; i < reps; ++i)
    for (size_t j = 0; j < systems.size(); ++j) {
      size_t at = (i + j) % systems.size();
      auto& sys = systems[at];
      progress("  %s, %zu client%s, %zu key%s per request, run %llu of %llu",
               sys.name.c_str(), clients, clients == 1 ? "" : "s", per_request,
               per_request == 1 ? "" : "s",
               static_cast<unsigned long long>(i + 1),
               static_cast<unsigned long long>(reps));
      out[at].add(drive(sys.make, clients, per_request, entities, seed + i,
                        warmup, measure));
    }
  return out;
}

// -- the measurements ---------------------------------------------------------

struct options {
  uint64_t seconds = 10;
  uint64_t warmup_s = 2;
  uint64_t batch_seconds = 5;
  uint64_t reps = 3;
  uint64_t wide_entities = 100000;
  uint64_t narrow_entities = 1000000;
  uint64_t csv_rows = 5000;
  uint64_t pit_entities = 200000;
  uint64_t labels = 1000000;
  bool quick = false;
};

std::vector<json> results;
std::vector<std::string> lines;

json measurement(const std::string& name) {
  return json{{"bench", "bench_features"}, {"measurement", name}};
}

/// The line of a troupe-vs-Redis comparison on data set `ds`: `clients`
/// clients, `reps` runs of `seconds` each, and both series.
json comparison(const std::string& name, const std::string& ds, size_t clients,
                uint64_t seconds, uint64_t reps, const series& t,
                const series& r) {
  auto j = measurement(name);
  j["dataset"] = ds;
  j["clients"] = clients;
  j["seconds_per_run"] = seconds;
  j["runs"] = reps;
  j["troupe"] = to_json(t);
  j["redis"] = to_json(r);
  return j;
}

void emit(json j, const std::string& line) {
  j["loadavg_1m"] = loadavg();
  j["nproc"] = nproc();
  j["cpu"] = cpu_model();
  j["date"] = utc_now();
  results.push_back(std::move(j));
  lines.push_back(line);
  std::fprintf(stderr, "bench_features: %s\n", line.c_str());
}

std::string fmt(const char* f, ...) {
  char buf[1024];
  std::va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

struct goals {
  bool p99_met = true;
  bool rate_met = true;
};

/// Loads one data set into a fresh store and into Redis, then measures get
/// and batch lookups. Empties Redis at the end.
void run_data_set(const options& o, redis_server& redis,
                  const std::string& name, uint64_t n, uint32_t w, goals& g) {
  auto ds = std::to_string(n) + "x" + std::to_string(w);
  progress("data set %s: %s entities x %u floats (%.2f GB)", name.c_str(),
           std::to_string(n).c_str(), w, static_cast<double>(n) * w * 4 / 1e9);
  auto dir = scratch_root + "/store-" + name;
  {
    troupe_head head{dir, scratch_root + "/head.log"};
    auto c = connect_troupe(head.port());
    troupe::features::group_spec spec;
    spec.name = name;
    spec.vector_name = "emb";
    spec.width = w;
    if (auto r = c.create(spec); !r)
      fail("createGroup: " + troupe::describe(r.error()));

    // Ingest through the binary RPC, then the same bytes into Redis.
    progress("loading troupe (FeatureStore.write, %zu rows per batch)",
             rows_per_batch(w));
    double t_load = load_troupe(c, name, w, n, key_of);
    auto t0 = clock_type::now();
    if (auto r = c.flush(); !r) fail("flush: " + troupe::describe(r.error()));
    double t_flush = seconds_since(t0);
    auto [ents, vers] = troupe_counts(c, name);
    if (ents != n || vers != n)
      fail("the store reports " + std::to_string(ents) + " entities and " +
           std::to_string(vers) + " versions after writing " +
           std::to_string(n));
    progress("loading redis (pipelined SET)");
    double r_load = load_redis(redis.port(), w, n, key_of);
    double tr = static_cast<double>(n) / t_load;
    double rr = static_cast<double>(n) / r_load;
    {
      auto j = measurement("ingest_rpc");
      j["dataset"] = ds;
      j["width"] = w;
      j["rows"] = n;
      j["rows_per_batch"] = rows_per_batch(w);
      j["troupe_rows_per_s"] = std::round(tr);
      j["troupe_mb_per_s"] = std::round(tr * w * 4 / 1e6);
      j["troupe_s"] = t_load;
      j["troupe_flush_s"] = t_flush;
      j["redis_rows_per_s"] = std::round(rr);
      j["redis_mb_per_s"] = std::round(rr * w * 4 / 1e6);
      j["redis_s"] = r_load;
      j["ratio"] = tr / rr;
      emit(j, fmt("ingest %s rows over RPC: troupe write %.0f rows/s (%.0f "
                  "MB/s) vs redis pipelined SET %.0f rows/s = %.2fx; then "
                  "flush %.2f s",
                  ds.c_str(), tr, tr * w * 4 / 1e6, rr, tr / rr, t_flush));
    }

    auto measure = std::chrono::milliseconds{o.seconds * 1000};
    auto warm = std::chrono::milliseconds{o.warmup_s * 1000};
    auto port = head.port();
    session_factory t_make = [&] {
      return std::make_unique<troupe_session>(port, name, w);
    };
    session_factory r_make = [&] {
      return std::make_unique<redis_session>(redis.port(), w);
    };
    {
      // The floor: a process of its own for this data set's get runs only.
      floor_server floor{name, n, w};
      session_factory f_make = [&] {
        return std::make_unique<floor_session>(floor.port(), name, w,
                                               floor.log());
      };
      for (size_t clients : {size_t{1}, size_t{16}}) {
        floor.check();
        auto s = compare(
            {{"troupe", t_make}, {"redis", r_make}, {"capnp floor", f_make}},
            clients, 1, n, 100 * clients, warm, measure, o.reps);
        floor.check();
        auto& t = s[0];
        auto& r = s[1];
        auto& f = s[2];
        bool p99_ok = t.p99_us() <= 1000;
        bool rate_ok = t.requests_per_s() >= r.requests_per_s();
        g.p99_met = g.p99_met && p99_ok;
        g.rate_met = g.rate_met && rate_ok;
        auto j = comparison("get", ds, clients, o.seconds, o.reps, t, r);
        j["value_bytes"] = w * 4;
        j["ratio"] = t.requests_per_s() / r.requests_per_s();
        j["p99_ratio"] = t.p99_us() / r.p99_us();
        j["goal_p99_us"] = 1000;
        j["p99_goal_met"] = p99_ok;
        j["rate_goal_met"] = rate_ok;
        j["capnp_floor"] = to_json(f);
        j["troupe_vs_floor"] = t.entities_per_s() / f.entities_per_s();
        j["floor_vs_redis"] = f.entities_per_s() / r.entities_per_s();
        emit(j, fmt("get %s (%u B), %zu client%s: troupe %.0f vs redis %.0f "
                    "lookups/s = %.2fx (goal >= 1: %s); p50 %.0f vs %.0f us, "
                    "p99 %.0f vs %.0f us (goal <= 1000: %s); capnp floor (a "
                    "Cap'n Proto server answering get from memory) %.0f "
                    "lookups/s, p50 %.0f p99 %.0f us: troupe/floor %.2fx, "
                    "floor/redis %.2fx",
                    ds.c_str(), w * 4, clients, clients == 1 ? "" : "s",
                    t.requests_per_s(), r.requests_per_s(),
                    t.requests_per_s() / r.requests_per_s(),
                    rate_ok ? "met" : "NOT met", t.p50_us(), r.p50_us(),
                    t.p99_us(), r.p99_us(), p99_ok ? "met" : "NOT met",
                    f.requests_per_s(), f.p50_us(), f.p99_us(),
                    t.entities_per_s() / f.entities_per_s(),
                    f.entities_per_s() / r.entities_per_s()));
      }
    }
    auto bmeasure = std::chrono::milliseconds{o.batch_seconds * 1000};
    auto bwarm = std::chrono::milliseconds{1000};
    for (size_t clients : {size_t{1}, size_t{4}}) {
      auto s = compare({{"troupe", t_make}, {"redis", r_make}}, clients, 1000,
                       n, 1000 * clients, bwarm, bmeasure, o.reps);
      auto& t = s[0];
      auto& r = s[1];
      auto j = comparison("batch_lookup", ds, clients, o.batch_seconds, o.reps,
                          t, r);
      j["keys_per_request"] = 1000;
      j["ratio"] = t.entities_per_s() / r.entities_per_s();
      emit(j, fmt("batch %s, 1000 keys per request, %zu client%s: troupe "
                  "lookup %.0f vs redis MGET %.0f entities/s = %.2fx; p50 "
                  "%.1f vs %.1f ms, p99 %.1f vs %.1f ms",
                  ds.c_str(), clients, clients == 1 ? "" : "s",
                  t.entities_per_s(), r.entities_per_s(),
                  t.entities_per_s() / r.entities_per_s(), t.p50_us() / 1000,
                  r.p50_us() / 1000, t.p99_us() / 1000, r.p99_us() / 1000));
    }
  }
  {
    resp_conn c{redis.port()};
    if (auto s = c.command({"FLUSHALL"}); s != "+OK") fail("FLUSHALL: " + s);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

/// Writes `v` with 6 decimals ("-0.123456") to out; returns its length.
size_t format6(double v, char* out) {
  return static_cast<size_t>(std::snprintf(out, 32, "%.6f", v));
}

/// The CSV value k of row r: 6 decimals in (-1, 1).
double csv_value(uint64_t r, uint32_t k) {
  return static_cast<double>(value_of(r + 7777777, k)) * 1.9;
}

/// `troupe features ingest` of a CSV of `rows` x 5,000 floats.
void run_csv_ingest(const options& o, troupe_head& head) {
  const uint32_t w = 5000;
  auto file = scratch_root + "/wide.csv";
  progress("writing %s (%llu rows x %u floats)", file.c_str(),
           static_cast<unsigned long long>(o.csv_rows), w);
  {
    std::ofstream out{file, std::ios::binary};
    std::string line;
    out << "id,ts,emb\n";
    char buf[32];
    for (uint64_t r = 0; r < o.csv_rows; ++r) {
      line =
          "c" + std::to_string(r) + "," + std::to_string(base_time_s + r) + ",";
      for (uint32_t k = 0; k < w; ++k) {
        if (k) line += ';';
        line.append(buf, format6(csv_value(r, k), buf));
      }
      line += '\n';
      out << line;
    }
    if (!out) fail("cannot write " + file);
  }
  auto bytes = fs::file_size(file);
  auto bin = std::string{TROUPE_BIN};
  auto cl = " --cluster " + head.address();
  timed_command(bin + " features create" + cl +
                " --group csv_wide --vector emb:5000");
  progress("troupe features ingest of %.0f MB", bytes / 1e6);
  auto [secs, out] = timed_command(bin + " features ingest" + cl +
                                   " --group csv_wide --file '" + file +
                                   "' --entity id --time ts --quiet");
  unsigned long long got = 0;
  if (std::sscanf(out.c_str(), "ingested %llu rows", &got) != 1 ||
      got != o.csv_rows)
    fail("ingest printed: " + out);
  // Read back a sample and compare with the text's values.
  auto c = connect_troupe(head.port());
  uint64_t checked = 0;
  for (uint64_t r = 0; r < o.csv_rows;
       r += std::max<uint64_t>(1, o.csv_rows / 50)) {
    auto req = c.store.getRequest();
    req.setGroup("csv_wide");
    req.setEntity("c" + std::to_string(r));
    auto resp = c.client->wait(req.send());
    auto row = resp.getRow();
    auto v = row.getVector();
    if (!row.getFound() || v.size() != w ||
        row.getEventTime() != (base_time_s + static_cast<int64_t>(r)) * 1000000)
      fail("csv row c" + std::to_string(r) + " was not stored as written");
    char buf[32];
    for (uint32_t k = 0; k < w; ++k) {
      buf[format6(csv_value(r, k), buf)] = '\0';
      if (v[k] != std::strtof(buf, nullptr))
        fail("csv row c" + std::to_string(r) + " value " + std::to_string(k) +
             " is " + std::to_string(v[k]) + ", the file says " + buf);
    }
    ++checked;
  }
  std::error_code ec;
  fs::remove(file, ec);
  double rate = static_cast<double>(o.csv_rows) / secs;
  auto j = measurement("ingest_csv_cli");
  j["rows"] = o.csv_rows;
  j["width"] = w;
  j["csv_mb"] = std::round(bytes / 1e5) / 10;
  j["troupe_s"] = secs;
  j["troupe_rows_per_s"] = std::round(rate);
  j["troupe_csv_mb_per_s"] = std::round(bytes / 1e6 / secs);
  j["rows_checked"] = checked;
  j["peer"] = nullptr;
  j["peer_note"] = "redis has no CSV ingest";
  emit(j, fmt("csv ingest (troupe features ingest, %llu rows x %u floats, "
              "%.0f MB): %.0f rows/s (%.0f MB/s of CSV), wall clock of the "
              "CLI; no peer (redis has no CSV ingest)",
              static_cast<unsigned long long>(o.csv_rows), w, bytes / 1e6, rate,
              bytes / 1e6 / secs));
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    auto p = s.find(',', start);
    out.push_back(s.substr(start, p - start));
    if (p == std::string::npos) return out;
    start = p + 1;
  }
}

/// A join output read back: its header, row count, rows with a value in
/// the first feature column, and the sampled rows by rid.
struct join_output {
  std::string header;
  uint64_t rows = 0;
  uint64_t matched = 0;
  std::map<uint64_t, std::vector<std::string>> sample;
};

join_output read_join(const std::string& file, uint64_t every) {
  std::ifstream in{file};
  if (!in) fail("cannot read " + file);
  join_output out;
  std::getline(in, out.header);
  std::string line;
  while (std::getline(in, line)) {
    ++out.rows;
    auto rid = std::strtoull(line.c_str(), nullptr, 10);
    auto fields = split(line);
    if (fields.size() > 4 && !fields[4].empty()) ++out.matched;
    if (rid % every == 0) out.sample[rid] = std::move(fields);
  }
  return out;
}

bool same_cell(const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (a.empty() || b.empty()) return false;
  char* ea = nullptr;
  char* eb = nullptr;
  double x = std::strtod(a.c_str(), &ea);
  double y = std::strtod(b.c_str(), &eb);
  if (*ea || *eb) return false;
  return std::fabs(x - y) <= 1e-12 * std::max(1.0, std::fabs(x));
}

/// Point-in-time join: troupe CLI vs pandas merge_asof.
void run_pit_join(const options& o, troupe_head& head) {
  auto feats = scratch_root + "/pit_features.csv";
  auto labels = scratch_root + "/labels.csv";
  const uint64_t ne = o.pit_entities;
  progress("writing %s (%llu entities x 3 versions) and %s (%llu rows)",
           feats.c_str(), static_cast<unsigned long long>(ne), labels.c_str(),
           static_cast<unsigned long long>(o.labels));
  {
    std::ofstream out{feats, std::ios::binary};
    out << "id,ts,a,b,c,d\n";
    std::string line;
    char buf[32];
    for (uint64_t v = 0; v < 3; ++v)
      for (uint64_t e = 0; e < ne; ++e) {
        int64_t ts = base_time_s + static_cast<int64_t>(v) * 100000 +
                     static_cast<int64_t>((e * 7919) % 86400);
        line = "p" + std::to_string(e) + "," + std::to_string(ts);
        for (uint32_t f = 0; f < 4; ++f) {
          line += ',';
          line.append(buf, format6(value_of(e * 3 + v, f) * 1000.0, buf));
        }
        line += '\n';
        out << line;
      }
    if (!out) fail("cannot write " + feats);
  }
  {
    std::ofstream out{labels, std::ios::binary};
    out << "rid,id,t,label\n";
    std::mt19937_64 rng{2024};
    // 5 % of the label rows name an entity the group lacks; some rows come
    // before the entity's first version.
    std::uniform_int_distribution<uint64_t> ent{0, ne + ne / 20};
    std::uniform_int_distribution<int64_t> when{-50000, 350000};
    std::string line;
    for (uint64_t r = 0; r < o.labels; ++r) {
      line = std::to_string(r) + ",p" + std::to_string(ent(rng)) + "," +
             std::to_string(base_time_s + when(rng)) + "," +
             std::to_string(rng() & 1) + "\n";
      out << line;
    }
    if (!out) fail("cannot write " + labels);
  }
  auto bin = std::string{TROUPE_BIN};
  auto cl = " --cluster " + head.address();
  timed_command(bin + " features create" + cl +
                " --group pit --field a:float64 --field b:float64 "
                "--field c:float64 --field d:float64");
  progress("troupe features ingest of %llu scalar rows",
           static_cast<unsigned long long>(ne * 3));
  auto [ingest_s, ingest_out] =
      timed_command(bin + " features ingest" + cl + " --group pit --file '" +
                    feats + "' --entity id --time ts --quiet");
  progress("troupe features join of %llu label rows",
           static_cast<unsigned long long>(o.labels));
  auto t_out = scratch_root + "/joined_troupe.csv";
  auto [join_s, join_out] = timed_command(
      bin + " features join" + cl + " --labels '" + labels +
      "' --entity id --time t --groups pit --out '" + t_out + "' --quiet");
  progress("pandas merge_asof");
  auto p_out = scratch_root + "/joined_pandas.csv";
  auto [pandas_s, pandas_text] =
      timed_command("/usr/bin/python3 '" TROUPE_SOURCE_DIR
                    "/tests/bench/peers/pit_join.py' --features '" +
                    feats + "' --labels '" + labels + "' --out '" + p_out +
                    "' --entity id --time t --feature-time ts --group pit");
  auto brace = pandas_text.rfind("{\"rows\"");
  auto pj = nlohmann::json::parse(
      brace == std::string::npos ? std::string{} : pandas_text.substr(brace),
      nullptr, false);
  if (pj.is_discarded() || !pj.contains("merge_s"))
    fail("the pandas peer printed no result: " + pandas_text);

  // Both outputs: same header, same rows, same values on a sample.
  progress("comparing the outputs");
  uint64_t every = std::max<uint64_t>(1, o.labels / 2000);
  auto t = read_join(t_out, every);
  auto p = read_join(p_out, every);
  if (t.header != p.header)
    fail("join headers differ: troupe '" + t.header + "' vs pandas '" +
         p.header + "'");
  if (t.rows != o.labels || p.rows != o.labels)
    fail("join rows: troupe " + std::to_string(t.rows) + ", pandas " +
         std::to_string(p.rows) + ", labels " + std::to_string(o.labels));
  if (t.matched != p.matched)
    fail("rows with features: troupe " + std::to_string(t.matched) +
         ", pandas " + std::to_string(p.matched));
  if (t.sample.size() != p.sample.size()) fail("sampled rows differ in number");
  for (auto& [rid, tf] : t.sample) {
    auto it = p.sample.find(rid);
    if (it == p.sample.end())
      fail("row rid=" + std::to_string(rid) + " missing from pandas' output");
    auto& pf = it->second;
    bool same = tf.size() == pf.size();
    for (size_t i = 0; same && i < tf.size(); ++i)
      same = same_cell(tf[i], pf[i]);
    if (!same) {
      std::string a;
      std::string b;
      for (auto& x : tf)
        a += x + ",";
      for (auto& x : pf)
        b += x + ",";
      fail("row rid=" + std::to_string(rid) + " differs: troupe " + a +
           " pandas " + b);
    }
  }
  for (auto* f : {&feats, &labels, &t_out, &p_out}) {
    std::error_code ec;
    fs::remove(*f, ec);
  }
  double n = static_cast<double>(o.labels);
  double merge_s = pj["merge_s"].get<double>();
  auto j = measurement("pit_join");
  j["label_rows"] = o.labels;
  j["entities"] = ne;
  j["versions"] = ne * 3;
  j["fields"] = 4;
  j["rows_matched"] = t.matched;
  j["rows_compared"] = t.sample.size();
  j["troupe_s"] = join_s;
  j["troupe_rows_per_s"] = std::round(n / join_s);
  j["pandas_s"] = pandas_s;
  j["pandas_rows_per_s"] = std::round(n / pandas_s);
  j["pandas_merge_s"] = merge_s;
  j["pandas_merge_rows_per_s"] = std::round(n / merge_s);
  j["pandas_script"] = pj;
  j["ratio"] = pandas_s / join_s;
  j["troupe_ingest_rows"] = ne * 3;
  j["troupe_ingest_s"] = ingest_s;
  j["troupe_ingest_rows_per_s"] = std::round(ne * 3 / ingest_s);
  (void)ingest_out;
  (void)join_out;
  emit(j, fmt("point-in-time join, %llu label rows x group of 4 float64 over "
              "%llu entities x 3 versions: troupe features join %.0f rows/s "
              "(%.2f s) vs pandas merge_asof script %.0f rows/s (%.2f s, "
              "reading and writing) = %.2fx; pandas merge alone %.0f rows/s "
              "(%.2f s); outputs agree (%llu rows, %llu with features, %zu "
              "compared); (CLI ingest of the %llu feature rows: %.0f rows/s)",
              static_cast<unsigned long long>(o.labels),
              static_cast<unsigned long long>(ne), n / join_s, join_s,
              n / pandas_s, pandas_s, pandas_s / join_s, n / merge_s, merge_s,
              static_cast<unsigned long long>(t.rows),
              static_cast<unsigned long long>(t.matched), t.sample.size(),
              static_cast<unsigned long long>(ne * 3), ne * 3 / ingest_s));
}

} // namespace

int main(int argc, char** argv) {
  if (has_flag(argc, argv, "--floor-server"))
    return run_floor_server(argc, argv);
  program_name = "bench_features";
  on_failure = print_logs_and_clean_up;
  options o;
  if (has_flag(argc, argv, "--help") || has_flag(argc, argv, "-h")) {
    std::printf("usage: bench_features [--quick] [--seconds S] "
                "[--warmup-seconds S] [--batch-seconds S] [--reps R] "
                "[--wide-entities N] [--narrow-entities N] [--csv-rows N] "
                "[--pit-entities N] "
                "[--labels N]\n");
    return 0;
  }
  if (has_flag(argc, argv, "--quick")) {
    o.quick = true;
    o.seconds = 2;
    o.warmup_s = 1;
    o.batch_seconds = 2;
    o.reps = 1;
    o.wide_entities = 10000;
    o.narrow_entities = 100000;
    o.csv_rows = 500;
    o.pit_entities = 20000;
    o.labels = 100000;
  }
  o.seconds = arg_or(argc, argv, "--seconds", o.seconds);
  o.warmup_s = arg_or(argc, argv, "--warmup-seconds", o.warmup_s);
  o.batch_seconds = arg_or(argc, argv, "--batch-seconds", o.batch_seconds);
  o.reps = arg_or(argc, argv, "--reps", o.reps);
  o.wide_entities = arg_or(argc, argv, "--wide-entities", o.wide_entities);
  o.narrow_entities =
      arg_or(argc, argv, "--narrow-entities", o.narrow_entities);
  o.csv_rows = arg_or(argc, argv, "--csv-rows", o.csv_rows);
  o.pit_entities = arg_or(argc, argv, "--pit-entities", o.pit_entities);
  o.labels = arg_or(argc, argv, "--labels", o.labels);
  if (o.seconds == 0 || o.batch_seconds == 0 || o.reps == 0 ||
      o.wide_entities < 1000 || o.narrow_entities < 1000 || o.csv_rows == 0 ||
      o.pit_entities == 0 || o.labels == 0) {
    std::fprintf(stderr, "bench_features: bad arguments (try --help)\n");
    return 2;
  }
  troupe::log::init("bench", "error");
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  char tmpl[] = "/tmp/bench_features.XXXXXX";
  if (!mkdtemp(tmpl)) fail("mkdtemp failed");
  scratch_root = tmpl;
  auto t_all = clock_type::now();

  goals g;
  std::string redis_version;
  {
    redis_server redis{scratch_root};
    redis_version = redis.version();
    progress("redis-server %s on port %u; scratch %s", redis_version.c_str(),
             redis.port(), scratch_root.c_str());
    run_data_set(o, redis, "wide", o.wide_entities, 5000, g);
    run_data_set(o, redis, "narrow", o.narrow_entities, 500, g);
  }
  {
    troupe_head head{scratch_root + "/store-cli", scratch_root + "/head.log"};
    run_csv_ingest(o, head);
    run_pit_join(o, head);
  }

  for (auto& l : lines)
    std::printf("bench_features: %s\n", l.c_str());
  std::printf("bench_features: goals: get p99 <= 1 ms %s; get throughput "
              "troupe >= redis %s (redis-server %s, %u CPUs, %.0f s in "
              "all)\n",
              g.p99_met ? "met" : "NOT met", g.rate_met ? "met" : "NOT met",
              redis_version.c_str(), nproc(), seconds_since(t_all));
  for (auto& j : results)
    std::printf("%s\n", j.dump().c_str());
  auto s = measurement("summary");
  s["goal_get_p99_us"] = 1000;
  s["get_p99_goal_met"] = g.p99_met;
  s["get_rate_goal_met"] = g.rate_met;
  s["redis_version"] = redis_version;
  s["quick"] = o.quick;
  s["seconds_per_get_run"] = o.seconds;
  s["total_s"] = std::round(seconds_since(t_all));
  s["nproc"] = nproc();
  s["cpu"] = cpu_model();
  s["date"] = utc_now();
  std::printf("%s\n", s.dump().c_str());
  std::error_code ec;
  fs::remove_all(scratch_root, ec);
  return 0;
}
