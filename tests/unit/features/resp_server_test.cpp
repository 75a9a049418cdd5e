// The RESP server (actors/features/resp_server.hpp) on loopback, with a
// handler of PING, ECHO and QUIT: pipelined bursts answered in order on
// several connections at once, a malformed or oversized request answered
// with an error and its connection closed while the others carry on, QUIT
// and a half-closed client served before the close, backpressure on a
// client that does not read, deferred replies answered in order from
// another thread while the server goes on.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/features/resp_server.hpp"

using namespace troupe::features;

namespace {

bool echo_handler(const resp::command& cmd, resp_call& call) {
  auto& out = call.out();
  auto& name = cmd[0];
  if (name == "PING") {
    if (cmd.size() > 1)
      resp::bulk(out, cmd[1]);
    else
      resp::simple(out, "PONG");
  } else if (name == "ECHO" && cmd.size() == 2) {
    resp::bulk(out, cmd[1]);
  } else if (name == "QUIT") {
    resp::simple(out, "OK");
    return false;
  } else {
    resp::error(out, "ERR unknown command '" + name + "'");
  }
  return true;
}

struct client {
  int fd = -1;
  explicit client(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~client() {
    if (fd >= 0) ::close(fd);
  }
  void send(const std::string& s) {
    size_t at = 0;
    while (at < s.size()) {
      auto n = ::send(fd, s.data() + at, s.size() - at, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      at += static_cast<size_t>(n);
    }
  }
  /// Reads until `bytes` arrived, the server closed, or 10 s passed.
  std::string read(size_t bytes, bool* closed = nullptr) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    char buf[65536];
    while (got.size() < bytes && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        break;
      }
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
};

} // namespace

TEST_CASE("a RESP server answers pipelined bursts in order on several "
          "connections at once",
          "[resp-server]") {
  resp_server_options o;
  o.threads = 2;
  auto s = resp_server::start(o, echo_handler);
  REQUIRE(s);
  std::vector<std::thread> ts;
  std::vector<bool> ok(4, false);
  for (int k = 0; k < 4; ++k)
    ts.emplace_back([&, k] {
      client c{(*s)->port()};
      std::string burst, expect;
      for (int i = 0; i < 10000; ++i) {
        auto v = std::to_string(k) + ":" + std::to_string(i);
        burst += "*2\r\n$4\r\nECHO\r\n$" + std::to_string(v.size()) + "\r\n" +
                 v + "\r\n";
        expect += "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
      }
      c.send(burst);
      ok[static_cast<size_t>(k)] = c.read(expect.size()) == expect;
    });
  for (auto& t : ts)
    t.join();
  for (int k = 0; k < 4; ++k)
    CHECK(ok[static_cast<size_t>(k)]);
  auto st = (*s)->stats();
  CHECK(st.connections == 4);
  CHECK(st.commands == 40000);
  CHECK(st.protocol_errors == 0);
  // inline commands, as typed
  client c{(*s)->port()};
  c.send("PING\r\nPING hello\r\nFOO\r\n");
  CHECK(c.read(38) == "+PONG\r\n$5\r\nhello\r\n-ERR unknown command 'FOO'\r\n");
}

TEST_CASE("a malformed or oversized RESP request closes its connection "
          "alone, with an error",
          "[resp-server]") {
  resp_server_options o;
  o.limits.max_bulk = 1024;
  auto s = resp_server::start(o, echo_handler);
  REQUIRE(s);
  client good{(*s)->port()};
  good.send("PING\r\n");
  CHECK(good.read(7) == "+PONG\r\n");

  client bad{(*s)->port()};
  bad.send("*1\r\n:5\r\n");
  bool closed = false;
  auto reply = bad.read(1000, &closed);
  CHECK_THAT(reply, Catch::StartsWith("-ERR Protocol error: expected '$'"));
  CHECK(closed);

  client big{(*s)->port()};
  big.send("*2\r\n$4\r\nECHO\r\n$2000000000\r\n");
  closed = false;
  reply = big.read(1000, &closed);
  CHECK_THAT(reply, Catch::Contains("invalid bulk length") &&
                        Catch::Contains("at most 1024"));
  CHECK(closed);

  // the first client never noticed
  good.send("ECHO still\r\n");
  CHECK(good.read(11) == "$5\r\nstill\r\n");
  CHECK((*s)->stats().protocol_errors == 2);
}

TEST_CASE("QUIT and a half-closed RESP client are answered before the "
          "close, and a client that does not read is not read either",
          "[resp-server]") {
  resp_server_options o;
  o.max_output = 64 * 1024;
  auto s = resp_server::start(o, echo_handler);
  REQUIRE(s);
  {
    client c{(*s)->port()};
    c.send("PING\r\nQUIT\r\nPING\r\n");
    bool closed = false;
    CHECK(c.read(100, &closed) == "+PONG\r\n+OK\r\n");
    CHECK(closed);
  }
  {
    client c{(*s)->port()};
    c.send("PING\r\nECHO x\r\n");
    ::shutdown(c.fd, SHUT_WR);
    bool closed = false;
    CHECK(c.read(100, &closed) == "+PONG\r\n$1\r\nx\r\n");
    CHECK(closed);
  }
  {
    // 50,000 echoes of 1 KB: about 50 MB of replies the client reads only
    // after sending them all; the server holds at most max_output (plus
    // the socket buffers) and all arrive, in order
    client c{(*s)->port()};
    constexpr int kEchoes = 50000;
    std::string v(1000, 'v'),
        cmd = "*2\r\n$4\r\nECHO\r\n$1000\r\n" + v + "\r\n";
    std::string reply = "$1000\r\n" + v + "\r\n";
    std::thread sender([&] {
      for (int i = 0; i < kEchoes; ++i)
        c.send(cmd);
    });
    auto got = c.read(reply.size() * kEchoes);
    sender.join();
    REQUIRE(got.size() == reply.size() * kEchoes);
    bool all = true;
    for (size_t i = 0; i < kEchoes && all; ++i)
      all = got.compare(i * reply.size(), reply.size(), reply) == 0;
    CHECK(all);
  }
}

TEST_CASE("a deferred RESP reply keeps its connection's order and holds up "
          "no other connection",
          "[resp-server]") {
  // SLOW v is answered v by another thread once the test releases it
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<std::pair<std::string, resp_completion>> held;
  auto handler = [&](const resp::command& cmd, resp_call& call) {
    if (cmd[0] == "SLOW") {
      std::lock_guard<std::mutex> guard{mtx};
      held.emplace_back(cmd[1], call.defer());
      cv.notify_all();
      return true;
    }
    return echo_handler(cmd, call);
  };
  resp_server_options o;
  o.threads = 1; // both connections on the one thread
  auto s = resp_server::start(o, handler);
  REQUIRE(s);
  client a{(*s)->port()};
  client b{(*s)->port()};
  a.send("SLOW one\r\nPING\r\nSLOW two\r\nECHO three\r\n");
  {
    std::unique_lock<std::mutex> lock{mtx};
    REQUIRE(cv.wait_for(lock, std::chrono::seconds{10},
                        [&] { return held.size() == 2; }));
  }
  // nothing of a's is sent while its first reply waits; b is served
  b.send("PING\r\n");
  CHECK(b.read(7) == "+PONG\r\n");
  pollfd p{a.fd, POLLIN, 0};
  CHECK(::poll(&p, 1, 200) == 0);
  // the second deferred reply comes first: still nothing of a's goes out
  std::thread([&] {
    std::lock_guard<std::mutex> guard{mtx};
    held[1].second("$3\r\ntwo\r\n");
  }).join();
  CHECK(::poll(&p, 1, 200) == 0);
  std::thread([&] {
    std::lock_guard<std::mutex> guard{mtx};
    held[0].second("$3\r\none\r\n");
  }).join();
  std::string all = "$3\r\none\r\n+PONG\r\n$3\r\ntwo\r\n$5\r\nthree\r\n";
  CHECK(a.read(all.size()) == all);
  CHECK((*s)->stats().deferred == 2);
  // a client that leaves before its reply: the late answer goes nowhere
  {
    client c{(*s)->port()};
    c.send("SLOW gone\r\n");
    std::unique_lock<std::mutex> lock{mtx};
    REQUIRE(cv.wait_for(lock, std::chrono::seconds{10},
                        [&] { return held.size() == 3; }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds{50});
  held[2].second("$4\r\ngone\r\n");
  b.send("ECHO after\r\n");
  CHECK(b.read(11) == "$5\r\nafter\r\n");
}
