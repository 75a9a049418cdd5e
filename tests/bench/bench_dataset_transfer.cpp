// bench_dataset_transfer: how fast a dataset moves from one node's dataset
// cache to another's (runtime/dataset_cache.hpp), against the same bytes
// sent over a plain TCP socket.
//
// Two actor systems in this process joined over loopback through CAF's
// middleman (BASP), as two nodes are: the source publishes its cache, the
// other node's cache fetches a file of random bytes from it (1 MiB chunks,
// 4 in flight, each checksummed, the whole file's SHA-256 checked, written
// and fsynced before it is kept). The peer sends the same bytes through one
// TCP connection on loopback into a file, fsyncs it, and — as a careful
// copy does — takes its SHA-256 (`peer+sha`). A client's upload of the file
// to a one-node cluster's head, through its gateway (hashing it first), is
// timed too. Runs alternate; prints each,
// the medians and spreads in MB/s, the ratio, and a JSON line.
//
//   bench_dataset_transfer [--mb 256] [--repeats 5]

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "runtime/client.hpp"
#include "runtime/content_hash.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/dataset_store.hpp"
#include "runtime/errors.hpp"
#include "runtime/node.hpp"
#include "runtime/type_ids.hpp"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_training.hpp"

using namespace troupe;
using namespace troupe::bench;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

void write_random(const std::string& path, size_t bytes) {
  std::mt19937_64 rng{42};
  std::vector<uint64_t> buf(1 << 17);
  std::ofstream out{path, std::ios::binary};
  for (size_t done = 0; done < bytes;) {
    for (auto& x : buf)
      x = rng();
    auto n = std::min(bytes - done, buf.size() * sizeof(uint64_t));
    out.write(reinterpret_cast<const char*>(buf.data()),
              static_cast<std::streamsize>(n));
    done += n;
  }
}

/// The peer: the file through one loopback TCP connection into `to`,
/// fsynced; with `hash`, the received file's SHA-256 after. Seconds.
double tcp_copy(const std::string& from, const std::string& to, bool hash) {
  int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(ls, 1) != 0)
    fail("peer: cannot listen");
  socklen_t len = sizeof addr;
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len);
  auto t0 = clock_type::now();
  std::thread sender{[&] {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      fail("peer: cannot connect");
    int fd = ::open(from.c_str(), O_RDONLY);
    std::vector<char> buf(1 << 20);
    for (;;) {
      auto n = ::read(fd, buf.data(), buf.size());
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        auto w = ::send(s, buf.data() + off, static_cast<size_t>(n - off), 0);
        if (w <= 0) fail("peer: send failed");
        off += w;
      }
    }
    ::close(fd);
    ::close(s);
  }};
  int c = ::accept(ls, nullptr, nullptr);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char> buf(1 << 20);
  for (;;) {
    auto n = ::recv(c, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    if (::write(out, buf.data(), static_cast<size_t>(n)) != n)
      fail("peer: write failed");
  }
  ::fsync(out);
  ::close(out);
  ::close(c);
  ::close(ls);
  sender.join();
  if (hash && !sha256_file(to)) fail("peer: cannot hash");
  return seconds_since(t0);
}

} // namespace

int main(int argc, char** argv) {
  auto root = start_bench("bench_dataset_transfer");
  size_t mb = std::stoul(arg_text(argc, argv, "--mb", "256"));
  int repeats = std::stoi(arg_text(argc, argv, "--repeats", "5"));
  auto file = root + "/data.bin";
  write_random(file, mb << 20);

  auto make_config = [] {
    auto cfg = std::make_unique<caf::actor_system_config>();
    configure(*cfg, scheduler_options{}, {});
    return cfg;
  };
  auto cfg_a = make_config();
  auto cfg_b = make_config();
  caf::actor_system a{*cfg_a};
  caf::actor_system b{*cfg_b};
  dataset_cache_config ca;
  ca.node = "source";
  ca.dir = root + "/source";
  auto source = spawn_dataset_cache(a, ca);
  auto port = a.middleman().publish(source, 0, "127.0.0.1");
  if (!port) fail("cannot publish the source cache: " + describe(port.error()));
  auto proxy =
      b.middleman().remote_actor<dataset_cache_actor>("127.0.0.1", *port);
  if (!proxy) fail("cannot reach the source cache: " + describe(proxy.error()));
  caf::scoped_actor self_a{a};
  caf::scoped_actor self_b{b};
  dataset_ref ref;
  self_a
      ->request(source, std::chrono::minutes{5}, dataset_put_atom::value, file)
      .receive(
          [&](const envelope& e) {
            auto r = dataset_ref_of(e);
            if (!r) fail("put: " + describe(r.error()));
            ref = *r;
          },
          [&](caf::error& err) { fail("put: " + describe(err)); });

  // uploads: a client to a one-node cluster's head through its gateway
  auto cluster = local_cluster::start(0, 1, {}, {}, {}, root + "/head");
  if (!cluster) fail("cannot start a cluster: " + describe(cluster.error()));
  auto client =
      cluster_client::connect("127.0.0.1", (*cluster)->gateway_port());
  if (!client) fail("cannot connect: " + describe(client.error()));

  std::vector<double> troupe_s, peer_s, peer_sha_s, upload_s;
  for (int rep = 0; rep < repeats; ++rep) {
    // a fresh receiving cache each time: nothing held
    dataset_cache_config cb;
    cb.node = "sink";
    cb.dir = root + "/sink-" + std::to_string(rep);
    auto sink = spawn_dataset_cache(b, cb);
    auto t0 = clock_type::now();
    self_b
        ->request(sink, std::chrono::minutes{5}, dataset_fetch_atom::value,
                  to_envelope(ref), caf::actor_cast<caf::actor>(*proxy))
        .receive([](const std::string&) {},
                 [&](caf::error& err) { fail("fetch: " + describe(err)); });
    troupe_s.push_back(seconds_since(t0));
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    fs::remove_all(cb.dir);
    // new bytes each time, so that the head holds nothing yet: the upload
    // hashes the file, sends it and the head checks it
    {
      int fd = ::open(file.c_str(), O_WRONLY);
      uint64_t stamp = 0x5eed0000u + static_cast<uint64_t>(rep);
      if (fd < 0 || ::pwrite(fd, &stamp, sizeof stamp, 0) != sizeof stamp)
        fail("cannot stamp the file");
      ::close(fd);
    }
    auto u0 = clock_type::now();
    if (auto up = (*client)->upload_dataset(file); !up)
      fail("upload: " + describe(up.error()));
    upload_s.push_back(seconds_since(u0));
    auto copy = root + "/peer.bin";
    peer_s.push_back(tcp_copy(file, copy, false));
    fs::remove(copy);
    peer_sha_s.push_back(tcp_copy(file, copy, true));
    fs::remove(copy);
    progress("repeat %d: troupe %.0f MB/s (upload %.0f MB/s), peer %.0f "
             "MB/s, peer+sha %.0f MB/s",
             rep + 1, mb / troupe_s.back(), mb / upload_s.back(),
             mb / peer_s.back(), mb / peer_sha_s.back());
  }
  auto rate = [&](const std::vector<double>& s) {
    std::vector<double> r;
    for (auto x : s)
      r.push_back(static_cast<double>(mb) / x);
    return r;
  };
  auto t = rate(troupe_s), p = rate(peer_s), ps = rate(peer_sha_s),
       up = rate(upload_s);
  auto lo = [](const std::vector<double>& v) { return quantile(v, 0); };
  auto hi = [](const std::vector<double>& v) { return quantile(v, 1); };
  std::printf("bench_dataset_transfer: %zu MB between two nodes' caches on "
              "loopback: troupe %.0f MB/s (%.0f-%.0f), plain TCP %.0f MB/s "
              "(%.0f-%.0f), plain TCP + SHA-256 %.0f MB/s (%.0f-%.0f); "
              "ratio %.2fx plain TCP, %.2fx with SHA-256; a client's "
              "upload to the head %.0f MB/s (%.0f-%.0f), %.2fx TCP + "
              "SHA-256\n",
              mb, median(t), lo(t), hi(t), median(p), lo(p), hi(p), median(ps),
              lo(ps), hi(ps), median(t) / median(p), median(t) / median(ps),
              median(up), lo(up), hi(up), median(up) / median(ps));
  nlohmann::json out{{"bench", "bench_dataset_transfer"},
                     {"mb", mb},
                     {"repeats", repeats},
                     {"troupe_mb_s", median(t)},
                     {"troupe_mb_s_range", {lo(t), hi(t)}},
                     {"tcp_mb_s", median(p)},
                     {"tcp_mb_s_range", {lo(p), hi(p)}},
                     {"tcp_sha_mb_s", median(ps)},
                     {"tcp_sha_mb_s_range", {lo(ps), hi(ps)}},
                     {"upload_mb_s", median(up)},
                     {"upload_mb_s_range", {lo(up), hi(up)}},
                     {"ratio_upload_tcp_sha", median(up) / median(ps)},
                     {"ratio_tcp", median(t) / median(p)},
                     {"ratio_tcp_sha", median(t) / median(ps)},
                     {"nproc", nproc()},
                     {"cpu", cpu_model()},
                     {"date", utc_now()}};
  std::printf("%s\n", out.dump().c_str());
  caf::anon_send_exit(source, caf::exit_reason::user_shutdown);
  fs::remove_all(root);
  return 0;
}
