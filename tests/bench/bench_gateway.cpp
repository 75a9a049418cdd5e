// bench_gateway: the cost of the actor bridge behind troupe's Cap'n Proto RPC
// gateway, against a plain Cap'n Proto RPC server.
//
//   troupe: an in-process cluster (troupe::local_cluster::start(0, 1, {}): a
//           head, no workers); `Cluster.ping()` on its gateway goes from the
//           gateway's KJ thread through a bridge actor to the CAF directory
//           actor and back through a cross-thread fulfiller.
//   peer:   a capnp::TwoPartyServer on its own thread and port whose
//           `Cluster.ping()` returns kj::READY_NOW on its KJ thread; its
//           connections are buffered as the gateway's are (bench_peer.hpp).
//
// Both are driven by the same client code: C threads, each with its own
// troupe::cluster_client (its own KJ loop and connection), each calling
// ping() back to back for a fixed time. Calls per second (all clients) and
// latency percentiles (every call timed) are measured for C = 1 and C = 16;
// runs are interleaved (troupe, peer, ...) and repeated, the median rate is
// reported and percentiles are over all timed calls.
//
// Usage: bench_gateway [--millis MS] [--reps R]

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include "runtime/client.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "schemas/cluster.capnp.h"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_peer.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

using namespace troupe::bench;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bench_gateway: %s\n", what.c_str());
  std::exit(1);
}

// -- the peer: plain Cap'n Proto RPC ------------------------------------------

/// Answers ping() at once on its KJ thread; every other method is left
/// unimplemented.
class ping_only final : public troupe::schema::Cluster::Server {
public:
  kj::Promise<void> ping(PingContext) override { return kj::READY_NOW; }
};

/// A TwoPartyServer serving `ping_only` on 127.0.0.1 from its own thread.
class peer_server {
public:
  peer_server() {
    std::promise<uint16_t> started;
    auto port = started.get_future();
    thread_ = std::thread{[this, &started] {
      auto io = kj::setupAsyncIo();
      auto addr = io.provider->getNetwork()
                      .parseAddress("127.0.0.1", 0)
                      .wait(io.waitScope);
      auto listener = addr->listen();
      auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
      {
        std::lock_guard<std::mutex> guard{mtx_};
        stopper_ = std::move(stop.fulfiller);
      }
      capnp::TwoPartyServer server{kj::heap<ping_only>()};
      started.set_value(static_cast<uint16_t>(listener->getPort()));
      troupe::bench::peer_accept_loop(*listener, server)
          .exclusiveJoin(std::move(stop.promise))
          .wait(io.waitScope);
    }};
    if (port.wait_for(std::chrono::seconds{10}) != std::future_status::ready)
      fail("the peer server did not start");
    port_ = port.get();
  }

  ~peer_server() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (stopper_) stopper_->fulfill();
    }
    thread_.join();
  }

  uint16_t port() const { return port_; }

private:
  std::thread thread_;
  std::mutex mtx_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stopper_;
  uint16_t port_ = 0;
};

// -- the load -----------------------------------------------------------------

struct run_result {
  double calls_per_s = 0;
  std::vector<double> latencies_us;
};

/// `clients` threads, each with its own cluster_client, call ping() on
/// 127.0.0.1:port back to back for `duration` after a short warm-up.
run_result drive(uint16_t port, size_t clients,
                 std::chrono::milliseconds duration) {
  std::mutex mtx;
  std::condition_variable cv;
  size_t ready = 0;
  bool go = false;
  std::atomic<bool> stop{false};
  std::atomic<size_t> errors{0};
  std::string first_error;
  std::vector<std::vector<double>> lat(clients);
  std::vector<clock_type::time_point> ended(clients);
  std::vector<std::thread> threads;
  auto report_error = [&](const std::string& what) {
    std::lock_guard<std::mutex> guard{mtx};
    if (errors++ == 0) first_error = what;
  };
  for (size_t i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      auto client = troupe::cluster_client::connect("127.0.0.1", port);
      bool ok = static_cast<bool>(client);
      if (!ok) {
        report_error(troupe::describe(client.error()));
      } else {
        (*client)->set_timeout(std::chrono::seconds{10});
        for (int w = 0; w < 200 && ok; ++w)
          if (auto r = (*client)->ping(); !r) {
            report_error(troupe::describe(r.error()));
            ok = false;
          }
      }
      {
        std::unique_lock<std::mutex> guard{mtx};
        ++ready;
        cv.notify_all();
        cv.wait(guard, [&] { return go; });
      }
      auto& mine = lat[i];
      mine.reserve(200000);
      while (ok && !stop.load(std::memory_order_relaxed)) {
        auto t0 = clock_type::now();
        if (auto r = (*client)->ping(); !r) {
          report_error(troupe::describe(r.error()));
          break;
        }
        mine.push_back(
            std::chrono::duration<double, std::micro>(clock_type::now() - t0)
                .count());
      }
      ended[i] = clock_type::now();
    });
  clock_type::time_point start;
  {
    std::unique_lock<std::mutex> guard{mtx};
    cv.wait(guard, [&] { return ready == clients; });
    go = true;
    start = clock_type::now();
    cv.notify_all();
  }
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& t : threads)
    t.join();
  if (errors > 0)
    fail(std::to_string(errors.load()) +
         " client(s) failed, first: " + first_error);
  run_result res;
  auto last = *std::max_element(ended.begin(), ended.end());
  size_t calls = 0;
  for (auto& xs : lat) {
    calls += xs.size();
    res.latencies_us.insert(res.latencies_us.end(), xs.begin(), xs.end());
  }
  res.calls_per_s = static_cast<double>(calls) /
                    std::chrono::duration<double>(last - start).count();
  return res;
}

struct series {
  std::vector<double> rates;
  std::vector<double> latencies_us;

  void add(run_result r) {
    rates.push_back(r.calls_per_s);
    latencies_us.insert(latencies_us.end(), r.latencies_us.begin(),
                        r.latencies_us.end());
  }
  double rate() const { return median(rates); }
  double p50() const { return quantile(latencies_us, 0.5); }
  double p99() const { return quantile(latencies_us, 0.99); }
};

std::string json_series(const series& x) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "{\"calls_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
                "\"calls_timed\":%zu,\"runs_calls_per_s\":[",
                x.rate(), x.p50(), x.p99(), x.latencies_us.size());
  std::string s = buf;
  for (size_t i = 0; i < x.rates.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "%s%.0f", i ? "," : "", x.rates[i]);
    s += buf;
  }
  return s + "]}";
}

} // namespace

int main(int argc, char** argv) {
  auto millis = arg_or(argc, argv, "--millis", 1000);
  auto reps = arg_or(argc, argv, "--reps", 6);
  if (millis == 0 || reps == 0) {
    std::fprintf(stderr, "usage: bench_gateway [--millis MS] [--reps R]\n");
    return 2;
  }
  troupe::log::init("bench", "error");
  auto cluster = troupe::local_cluster::start(0, 1, {});
  if (!cluster)
    fail("cannot start the local cluster: " +
         troupe::describe(cluster.error()));
  auto gateway_port = (*cluster)->gateway_port();
  peer_server peer;

  const std::vector<size_t> concurrency = {1, 16};
  std::vector<series> troupe_s(concurrency.size());
  std::vector<series> peer_s(concurrency.size());
  auto duration = std::chrono::milliseconds{millis};
  // Warm-up: both servers, both loads, short.
  for (auto c : concurrency) {
    drive(gateway_port, c, std::chrono::milliseconds{300});
    drive(peer.port(), c, std::chrono::milliseconds{300});
  }
  for (uint64_t r = 0; r < reps; ++r)
    for (size_t i = 0; i < concurrency.size(); ++i) {
      troupe_s[i].add(drive(gateway_port, concurrency[i], duration));
      peer_s[i].add(drive(peer.port(), concurrency[i], duration));
    }

  std::string line = "bench_gateway: RPC ping() through the actor bridge vs "
                     "plain Cap'n Proto RPC;";
  for (size_t i = 0; i < concurrency.size(); ++i) {
    auto& t = troupe_s[i];
    auto& p = peer_s[i];
    char buf[512];
    std::snprintf(buf, sizeof(buf),
                  "%s %zu client%s: %.0f vs %.0f calls/s = %.2fx, p99 %.0f vs "
                  "%.0f us = %.2fx",
                  i ? ";" : "", concurrency[i], concurrency[i] == 1 ? "" : "s",
                  t.rate(), p.rate(), t.rate() / p.rate(), t.p99(), p.p99(),
                  t.p99() / p.p99());
    line += buf;
  }
  std::printf("%s (median of %llu runs x %llu ms)\n", line.c_str(),
              static_cast<unsigned long long>(reps),
              static_cast<unsigned long long>(millis));
  std::string json = "{\"bench\":\"bench_gateway\"";
  for (size_t i = 0; i < concurrency.size(); ++i) {
    auto c = std::to_string(concurrency[i]);
    char buf[128];
    std::snprintf(buf, sizeof(buf),
                  ",\"rate_ratio_c%s\":%.3f,\"p99_ratio_c%s\":%.3f", c.c_str(),
                  troupe_s[i].rate() / peer_s[i].rate(), c.c_str(),
                  troupe_s[i].p99() / peer_s[i].p99());
    json += buf;
    json += ",\"troupe_c" + c + "\":" + json_series(troupe_s[i]);
    json += ",\"peer_c" + c + "\":" + json_series(peer_s[i]);
  }
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                ",\"millis_per_run\":%llu,\"reps\":%llu,\"scheduler\":"
                "\"sharing\",\"nproc\":%u,\"cpu\":%s,\"date\":%s}",
                static_cast<unsigned long long>(millis),
                static_cast<unsigned long long>(reps), nproc(),
                json_string(cpu_model()).c_str(),
                json_string(utc_now()).c_str());
  std::printf("%s%s\n", json.c_str(), buf);
  cluster->reset();
  return 0;
}
