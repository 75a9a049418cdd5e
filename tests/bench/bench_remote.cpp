// bench_remote: troupe's envelope between two nodes in two processes on
// loopback, against raw CAF messages over the same middleman connection.
//
// The program re-executes itself as a server (`--serve POLICY`): an actor
// system set up by troupe::configure() that publishes a hub actor on
// 127.0.0.1 (ephemeral port, written to its stdout) and stops when its stdin
// closes. The hub hands out three actors: the built-in "echo" kind (answers
// (call_atom, envelope) with the same envelope), a raw CAF echo (answers
// (call_atom, std::string) with the string), and a sink that counts one-way
// messages of either kind. The parent connects with remote_actor and measures
//
//   (a) round trip, one message in flight: an event-based pinger sends a
//       request, reads the reply, sends the next; every round trip is timed.
//       troupe: envelope of a TextMessage with 16 characters; raw: a 16-char
//       std::string. p50 and p99 over all timed round trips.
//   (b) one-way throughput with 1 KB payloads: the sender sends batches of
//       `batch` messages, each followed by a sync request whose answer
//       (the sink's count so far) releases the next batch, with `window`
//       batches outstanding (bounded memory: CAF 0.17 has no back pressure on
//       remote sends). The last answer must count every message. troupe: an
//       envelope of a TextMessage whose text is 1024 bytes; raw: a 1024-byte
//       std::string. Messages per second, median over runs.
//
// Both variants run interleaved in the same processes, with scheduler policy
// "sharing" (troupe's default) and then "stealing" (CAF's default), each in a
// fresh server process. Before each, a 1-byte ping-pong over loopback TCP
// between two plain processes gives the machine's floor at that moment (this
// VM's wake-up latency varies several-fold over minutes). Goals (from the
// issue), judged on troupe's "sharing" figures: p50 <= 50 us and at least
// 150,000 msg/s.
//
// Usage: bench_remote [--policy sharing|stealing|both] [--rtts N]
//                     [--messages N] [--reps R] [--threads T] [--batch B]
//                     [--window W]

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "runtime/envelope.hpp"
#include "runtime/node.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"
#include "schemas/common.capnp.h"
#include "tests/bench/bench_common.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using troupe::call_atom;
using run_atom = caf::atom_constant<caf::atom("run")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;

constexpr auto request_timeout = std::chrono::seconds{10};

using namespace troupe::bench;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "bench_remote: %s\n", what.c_str());
  std::exit(1);
}

// -- payloads -----------------------------------------------------------------

const std::string small_text = "0123456789abcdef"; // 16 characters

std::string bulk_text() {
  std::string s(1024, ' ');
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<char>('a' + i % 26);
  return s;
}

troupe::envelope text_envelope(const std::string& text) {
  return troupe::make_envelope<troupe::schema::TextMessage>(
      [&](auto b) { b.setText(text); });
}

uint64_t text_size(const troupe::envelope& x) {
  auto len = x.visit<troupe::schema::TextMessage>(
      [](troupe::schema::TextMessage::Reader r) { return r.getText().size(); });
  return len ? *len : 0;
}

// -- server side --------------------------------------------------------------

caf::behavior raw_echo(caf::event_based_actor*) {
  return {
      [](call_atom, const std::string& x) { return x; },
  };
}

struct sink_state {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  static inline const char* name = "bench-sink";
};

/// Counts one-way messages; (sync_atom) answers the count so far and
/// (caf::reset_atom) sets it back to zero.
caf::behavior sink(caf::stateful_actor<sink_state>* self) {
  return {
      [=](count_atom, const troupe::envelope& x) {
        self->state.messages += 1;
        self->state.bytes += text_size(x);
      },
      [=](count_atom, const std::string& x) {
        self->state.messages += 1;
        self->state.bytes += x.size();
      },
      [=](sync_atom) { return self->state.messages; },
      [=](caf::reset_atom) { self->state = sink_state{}; },
  };
}

/// Hands out the server's actors.
caf::behavior hub(caf::event_based_actor*, caf::actor echo, caf::actor raw,
                  caf::actor counter) {
  return {
      [=](caf::get_atom) { return caf::make_message(echo, raw, counter); },
  };
}

int serve(const std::string& policy, size_t threads) {
  prctl(PR_SET_PDEATHSIG, SIGKILL); // never outlive the benchmark
  alarm(600);
  caf::actor_system_config cfg;
  troupe::scheduler_options sched;
  sched.policy = policy;
  sched.threads = threads;
  troupe::configure(cfg, sched, {});
  caf::actor_system sys{cfg};
  auto echo = sys.spawn<caf::actor>(
      "echo",
      caf::make_message(troupe::kind_args{"echo", "bench-server", "", ""}));
  if (!echo)
    fail("server: cannot spawn the echo kind: " + sys.render(echo.error()));
  auto raw = sys.spawn(raw_echo);
  auto counter = sys.spawn(sink);
  auto h = sys.spawn(hub, *echo, raw, counter);
  auto port = sys.middleman().publish(h, 0, "127.0.0.1", true);
  if (!port) fail("server: cannot publish: " + sys.render(port.error()));
  std::printf("%u\n", static_cast<unsigned>(*port));
  std::fflush(stdout);
  char buf[64];
  while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
    // wait for the parent to close our stdin
  }
  sys.middleman().close(*port);
  for (auto& a : {*echo, raw, counter, h})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return 0;
}

/// A server process: its pid, our end of its stdin, and its port.
struct server_process {
  pid_t pid = -1;
  int stdin_fd = -1;
  uint16_t port = 0;

  /// Closes its stdin (it exits), waits up to 5 s, then SIGKILLs it.
  void stop() {
    if (pid <= 0) return;
    close(stdin_fd);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) {
        pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

server_process start_server(const std::string& policy, size_t threads) {
  int to_child[2];
  int from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
    fail("pipe failed");
  auto pid = fork();
  if (pid < 0) fail("fork failed");
  if (pid == 0) {
    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    auto nthreads = std::to_string(threads);
    const char* args[] = {"bench_remote", "--serve", policy.c_str(),
                          nthreads.c_str(), nullptr};
    execv("/proc/self/exe", const_cast<char* const*>(args));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  server_process srv;
  srv.pid = pid;
  srv.stdin_fd = to_child[1];
  std::string line;
  auto deadline = clock_type::now() + std::chrono::seconds{20};
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - clock_type::now())
                    .count();
    pollfd p{from_child[0], POLLIN, 0};
    char buf[64];
    ssize_t n = 0;
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0 ||
        (n = read(from_child[0], buf, sizeof(buf))) <= 0) {
      srv.stop();
      fail("the server process did not report its port within 20 s");
    }
    line.append(buf, static_cast<size_t>(n));
  }
  close(from_child[0]);
  srv.port = static_cast<uint16_t>(std::stoul(line));
  return srv;
}

// -- the machine's own floor -------------------------------------------------

/// Round trips (microseconds) of one byte between this process and a forked
/// child over a loopback TCP connection with blocking reads and writes: what
/// the kernel and this machine's scheduler cost before any framework. The
/// child makes only system calls, so forking is safe while threads run.
std::vector<double> tcp_floor(uint64_t n) {
  int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (lst < 0 || bind(lst, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(lst, 1) != 0 ||
      getsockname(lst, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    fail("tcp floor: cannot listen on loopback");
  auto pid = fork();
  if (pid < 0) fail("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(60);
    int c = accept(lst, nullptr, nullptr);
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char b;
    while (read(c, &b, 1) == 1 && write(c, &b, 1) == 1) {
      // echo
    }
    _exit(0);
  }
  close(lst);
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    fail("tcp floor: cannot connect");
  std::vector<double> out;
  out.reserve(n);
  char b = 'x';
  for (uint64_t i = 0; i < n + n / 10; ++i) { // the first tenth warms up
    auto t0 = clock_type::now();
    if (write(s, &b, 1) != 1 || read(s, &b, 1) != 1)
      fail("tcp floor: the echo child went away");
    if (i >= n / 10)
      out.push_back(
          std::chrono::duration<double, std::micro>(clock_type::now() - t0)
              .count());
  }
  close(s);
  waitpid(pid, nullptr, 0);
  return out;
}

// -- client side: round trips -------------------------------------------------

/// The pinger's state: the message it re-sends, where to, and its samples.
template <class T>
struct pinger_state {
  caf::actor pong;
  T msg;
  uint64_t left = 0;
  uint64_t checksum = 0;
  clock_type::time_point sent;
  std::shared_ptr<std::vector<double>> samples; // microseconds
  caf::response_promise done;
  static inline const char* name = "bench-pinger";
};

template <class T>
using pinger_actor = caf::stateful_actor<pinger_state<T>>;

template <class T, class Read>
void ping_once(pinger_actor<T>* self, Read read) {
  auto& st = self->state;
  st.sent = clock_type::now();
  self->request(st.pong, request_timeout, call_atom::value, st.msg)
      .then(
          [self, read](const T& reply) {
            auto& st = self->state;
            auto us = std::chrono::duration<double, std::micro>(
                          clock_type::now() - st.sent)
                          .count();
            st.samples->push_back(us);
            st.checksum += read(reply);
            if (--st.left == 0) {
              st.done.deliver(st.checksum);
              return;
            }
            ping_once(self, read);
          },
          [self](caf::error& err) {
            self->state.done.deliver(std::move(err));
          });
}

/// (run_atom, n): n sequential round trips, each appended to `out` in
/// microseconds (read it only after the answer); answers the sum of the
/// reply sizes.
template <class T, class Read>
caf::behavior pinger(pinger_actor<T>* self, caf::actor pong, T msg, Read read,
                     std::shared_ptr<std::vector<double>> out) {
  self->state.pong = std::move(pong);
  self->state.msg = std::move(msg);
  self->state.samples = std::move(out);
  return {
      [self, read](run_atom, uint64_t n) {
        auto& st = self->state;
        st.left = n;
        st.checksum = 0;
        st.done = self->make_response_promise();
        ping_once(self, read);
        return st.done;
      },
  };
}

// -- client side: one-way throughput ------------------------------------------

struct sender_state {
  uint64_t total = 0;
  uint64_t sent = 0;
  uint64_t outstanding = 0;
  uint64_t last_count = 0;
  uint64_t batch = 0;
  clock_type::time_point start;
  caf::response_promise done;
  static inline const char* name = "bench-sender";
};

using sender_actor = caf::stateful_actor<sender_state>;

template <class T>
void send_batch(sender_actor* self, caf::actor dst, T payload) {
  auto& st = self->state;
  auto n = std::min(st.batch, st.total - st.sent);
  for (uint64_t i = 0; i < n; ++i)
    self->send(dst, count_atom::value, payload);
  st.sent += n;
  st.outstanding += 1;
  self->request(dst, request_timeout, sync_atom::value)
      .then(
          [=](uint64_t count) {
            auto& st = self->state;
            st.outstanding -= 1;
            st.last_count = std::max(st.last_count, count);
            if (st.sent < st.total) {
              send_batch(self, dst, payload);
            } else if (st.outstanding == 0) {
              auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            clock_type::now() - st.start)
                            .count();
              st.done.deliver(static_cast<uint64_t>(ns), st.last_count);
            }
          },
          [=](caf::error& err) { self->state.done.deliver(std::move(err)); });
}

/// (run_atom, n, batch, window): sends n one-way messages to `dst` with flow
/// control; answers (elapsed ns, messages the sink counted).
template <class T>
caf::behavior sender(sender_actor* self, caf::actor dst, T payload) {
  return {
      [=](run_atom, uint64_t n, uint64_t batch, uint64_t window) {
        auto& st = self->state;
        st = sender_state{};
        st.total = n;
        st.batch = batch;
        st.done = self->make_response_promise();
        st.start = clock_type::now();
        for (uint64_t i = 0; i < window && st.sent < st.total; ++i)
          send_batch(self, dst, payload);
        return st.done;
      },
  };
}

// -- the measurement ----------------------------------------------------------

struct options {
  uint64_t rtts = 10000;     // timed round trips per variant
  uint64_t messages = 30000; // one-way messages per run
  uint64_t reps = 9;         // throughput runs per variant
  uint64_t batch = 500;
  uint64_t window = 4;
  uint64_t threads = 0; // scheduler threads; 0: configure()'s default
};

struct result {
  std::string policy;
  size_t threads = 0;
  size_t small_bytes = 0;
  size_t bulk_bytes = 0;
  std::vector<double> troupe_rtt; // us
  std::vector<double> raw_rtt;
  std::vector<double> troupe_rate; // msg/s per run
  std::vector<double> raw_rate;
  std::vector<double> tcp_rtt; // the machine's floor, just before
};

result measure(const std::string& policy, const options& opt) {
  result res;
  res.policy = policy;
  res.tcp_rtt = tcp_floor(opt.rtts / 2);
  auto srv = start_server(policy, opt.threads);
  {
    caf::actor_system_config cfg;
    troupe::scheduler_options sched;
    sched.policy = policy;
    sched.threads = opt.threads;
    troupe::configure(cfg, sched, {});
    caf::actor_system sys{cfg};
    res.threads = sys.scheduler().num_workers();
    caf::scoped_actor self{sys};
    auto h = sys.middleman().remote_actor("127.0.0.1", srv.port);
    if (!h) {
      srv.stop();
      fail("cannot reach the server: " + sys.render(h.error()));
    }
    caf::actor echo;
    caf::actor raw;
    caf::actor counter;
    self->request(*h, request_timeout, caf::get_atom::value)
        .receive(
            [&](caf::actor a, caf::actor b, caf::actor c) {
              echo = a;
              raw = b;
              counter = c;
            },
            [&](caf::error& err) {
              srv.stop();
              fail("the server's hub did not answer: " + sys.render(err));
            });

    auto small_env = text_envelope(small_text);
    auto bulk = bulk_text();
    auto bulk_env = text_envelope(bulk);
    res.small_bytes = small_env.size_bytes();
    res.bulk_bytes = bulk_env.size_bytes();
    auto read_env = [](const troupe::envelope& x) { return text_size(x); };
    auto read_str = [](const std::string& x) -> uint64_t { return x.size(); };
    auto troupe_samples = std::make_shared<std::vector<double>>();
    auto raw_samples = std::make_shared<std::vector<double>>();
    auto troupe_ping = sys.spawn(pinger<troupe::envelope, decltype(read_env)>,
                                 echo, small_env, read_env, troupe_samples);
    auto raw_ping = sys.spawn(pinger<std::string, decltype(read_str)>, raw,
                              small_text, read_str, raw_samples);
    auto troupe_send = sys.spawn(sender<troupe::envelope>, counter, bulk_env);
    auto raw_send = sys.spawn(sender<std::string>, counter, bulk);

    auto pings = [&](const caf::actor& p, std::vector<double>& samples,
                     uint64_t n, std::vector<double>* out) {
      samples.clear();
      samples.reserve(n);
      self->request(p, std::chrono::seconds{120}, run_atom::value, n)
          .receive(
              [&](uint64_t checksum) {
                if (checksum != n * small_text.size())
                  fail("round trips returned wrong payloads");
              },
              [&](caf::error& err) {
                srv.stop();
                fail("round trips failed: " + sys.render(err));
              });
      if (out) out->insert(out->end(), samples.begin(), samples.end());
    };
    auto blast = [&](const caf::actor& s, uint64_t n,
                     std::vector<double>* out) {
      self->request(counter, request_timeout, caf::reset_atom::value)
          .receive([] {},
                   [&](caf::error& err) {
                     srv.stop();
                     fail("the sink did not reset: " + sys.render(err));
                   });
      self->request(s, std::chrono::seconds{120}, run_atom::value, n, opt.batch,
                    opt.window)
          .receive(
              [&](uint64_t ns, uint64_t counted) {
                if (counted != n) {
                  srv.stop();
                  fail("the sink counted " + std::to_string(counted) + " of " +
                       std::to_string(n) + " messages");
                }
                if (out)
                  out->push_back(static_cast<double>(n) * 1e9 /
                                 static_cast<double>(ns));
              },
              [&](caf::error& err) {
                srv.stop();
                fail("one-way run failed: " + sys.render(err));
              });
    };

    // Warm-up, then interleaved timed runs.
    pings(troupe_ping, *troupe_samples, 1000, nullptr);
    pings(raw_ping, *raw_samples, 1000, nullptr);
    const uint64_t slices = 20; // short slices: drift hits both alike
    for (uint64_t i = 0; i < slices; ++i) {
      pings(troupe_ping, *troupe_samples, opt.rtts / slices, &res.troupe_rtt);
      pings(raw_ping, *raw_samples, opt.rtts / slices, &res.raw_rtt);
    }
    blast(troupe_send, opt.messages / 2, nullptr);
    blast(raw_send, opt.messages / 2, nullptr);
    for (uint64_t i = 0; i < opt.reps; ++i) {
      blast(troupe_send, opt.messages, &res.troupe_rate);
      blast(raw_send, opt.messages, &res.raw_rate);
    }
    for (auto& a : {troupe_ping, raw_ping, troupe_send, raw_send})
      self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  srv.stop();
  return res;
}

std::string str_arg_or(int argc, char** argv, const char* flag,
                       const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0) return argv[i + 1];
  return fallback;
}

constexpr double goal_p50_us = 50;
constexpr double goal_rate = 150000;

std::string json_result(const result& x) {
  auto p50t = quantile(x.troupe_rtt, 0.5);
  auto p50r = quantile(x.raw_rtt, 0.5);
  auto p99t = quantile(x.troupe_rtt, 0.99);
  auto p99r = quantile(x.raw_rtt, 0.99);
  auto rt = median(x.troupe_rate);
  auto rr = median(x.raw_rate);
  char buf[1024];
  std::snprintf(
      buf, sizeof(buf),
      "{\"scheduler_threads\":%zu,\"rtt_p50_us\":%.1f,\"raw_rtt_p50_us\":%.1f,"
      "\"rtt_p50_ratio\":%.3f,\"rtt_p99_us\":%.1f,\"raw_rtt_p99_us\":%.1f,"
      "\"rtt_p99_ratio\":%.3f,\"msgs_per_s\":%.0f,\"raw_msgs_per_s\":%.0f,"
      "\"rate_ratio\":%.3f,\"p50_goal_met\":%s,\"rate_goal_met\":%s,"
      "\"rtt_samples\":%zu,\"tcp_floor_rtt_p50_us\":%.1f,",
      x.threads, p50t, p50r, p50t / p50r, p99t, p99r, p99t / p99r, rt, rr,
      rt / rr, p50t <= goal_p50_us ? "true" : "false",
      rt >= goal_rate ? "true" : "false", x.troupe_rtt.size(),
      quantile(x.tcp_rtt, 0.5));
  auto arr = [](const std::vector<double>& xs) {
    std::string s = "[";
    for (size_t i = 0; i < xs.size(); ++i) {
      char b[32];
      std::snprintf(b, sizeof(b), "%s%.0f", i ? "," : "", xs[i]);
      s += b;
    }
    return s + "]";
  };
  return buf + std::string{"\"troupe_runs_msgs_per_s\":"} + arr(x.troupe_rate) +
         ",\"raw_runs_msgs_per_s\":" + arr(x.raw_rate) + "}";
}

std::string human(const result& x) {
  auto p50t = quantile(x.troupe_rtt, 0.5);
  auto p50r = quantile(x.raw_rtt, 0.5);
  auto p99t = quantile(x.troupe_rtt, 0.99);
  auto p99r = quantile(x.raw_rtt, 0.99);
  auto rt = median(x.troupe_rate);
  auto rr = median(x.raw_rate);
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "%s: rtt p50 %.1f us vs raw %.1f us = %.2fx (goal <= %.0f us: "
                "%s), p99 %.1f vs %.1f us = %.2fx; 1 KB one-way %.0f vs raw "
                "%.0f msg/s = %.2fx (goal >= %.0f: %s); floor: 1-byte TCP "
                "loopback rtt p50 %.1f us",
                x.policy.c_str(), p50t, p50r, p50t / p50r, goal_p50_us,
                p50t <= goal_p50_us ? "met" : "NOT met", p99t, p99r,
                p99t / p99r, rt, rr, rt / rr, goal_rate,
                rt >= goal_rate ? "met" : "NOT met", quantile(x.tcp_rtt, 0.5));
  return buf;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--serve") == 0)
    return serve(argv[2], std::strtoul(argv[3], nullptr, 10));
  options opt;
  opt.rtts = arg_or(argc, argv, "--rtts", opt.rtts);
  opt.messages = arg_or(argc, argv, "--messages", opt.messages);
  opt.reps = arg_or(argc, argv, "--reps", opt.reps);
  opt.threads = arg_or(argc, argv, "--threads", opt.threads);
  opt.batch = arg_or(argc, argv, "--batch", opt.batch);
  opt.window = arg_or(argc, argv, "--window", opt.window);
  auto policy = str_arg_or(argc, argv, "--policy", "both");
  if (opt.rtts < 20 || opt.messages < 2 || opt.reps == 0 || opt.batch == 0 ||
      opt.window == 0 ||
      (policy != "both" && policy != "sharing" && policy != "stealing")) {
    std::fprintf(stderr, "usage: bench_remote [--policy sharing|stealing|both]"
                         " [--rtts N] [--messages N] [--reps R]"
                         " [--threads T] [--batch B] [--window W]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  alarm(300); // a hung run must not hang the caller
  std::vector<result> results;
  if (policy == "both" || policy == "sharing")
    results.push_back(measure("sharing", opt));
  if (policy == "both" || policy == "stealing")
    results.push_back(measure("stealing", opt));
  auto& primary = results.front();
  std::string line = "bench_remote: two processes on loopback, troupe envelope"
                     " vs raw CAF string; ";
  for (size_t i = 0; i < results.size(); ++i)
    line += (i ? "; " : "") + human(results[i]);
  std::printf("%s\n", line.c_str());
  std::string json = "{\"bench\":\"bench_remote\",\"scheduler\":" +
                     json_string(primary.policy);
  // The primary policy's figures at the top level, every policy below.
  auto prim = json_result(primary);
  json += "," + prim.substr(1, prim.size() - 2);
  for (auto& r : results)
    json += "," + json_string(r.policy) + ":" + json_result(r);
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                ",\"goal_p50_us\":%.0f,\"goal_msgs_per_s\":%.0f,"
                "\"small_payload_bytes\":%zu,\"raw_small_payload_bytes\":%zu,"
                "\"bulk_payload_bytes\":%zu,\"raw_bulk_payload_bytes\":1024,"
                "\"rtts\":%llu,\"messages\":%llu,\"reps\":%llu,\"batch\":%llu,"
                "\"window\":%llu,\"nproc\":%u,\"cpu\":%s,\"date\":%s}",
                goal_p50_us, goal_rate, primary.small_bytes, small_text.size(),
                primary.bulk_bytes, static_cast<unsigned long long>(opt.rtts),
                static_cast<unsigned long long>(opt.messages),
                static_cast<unsigned long long>(opt.reps),
                static_cast<unsigned long long>(opt.batch),
                static_cast<unsigned long long>(opt.window), nproc(),
                json_string(cpu_model()).c_str(),
                json_string(utc_now()).c_str());
  std::printf("%s%s\n", json.c_str(), buf);
  return 0;
}
