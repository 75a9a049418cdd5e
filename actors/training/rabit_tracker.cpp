#include "actors/training/rabit_tracker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/errors.hpp"

namespace troupe::training {

namespace {

constexpr int32_t magic = 0xff99;
/// A worker whose links fail this many times in a row is given up on.
constexpr int max_link_rounds = 64;
/// The longest task id or message a worker may send.
constexpr int32_t max_text = 1 << 20;

struct protocol_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// One connection from a worker.
class peer {
public:
  peer(int fd, std::string host) : fd_(fd), host_(std::move(host)) {}
  peer(const peer&) = delete;
  peer& operator=(const peer&) = delete;
  ~peer() { close(); }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  const std::string& host() const { return host_; }

  void send_int(int32_t v) { send_bytes(&v, sizeof v); }
  void send_text(const std::string& s) {
    send_int(static_cast<int32_t>(s.size()));
    send_bytes(s.data(), s.size());
  }
  int32_t recv_int() {
    int32_t v = 0;
    recv_bytes(&v, sizeof v);
    return v;
  }
  std::string recv_text() {
    auto n = recv_int();
    if (n < 0 || n > max_text)
      throw protocol_error("a worker at " + host_ + " sent a text of " +
                           std::to_string(n) + " bytes");
    std::string s(static_cast<size_t>(n), '\0');
    recv_bytes(s.data(), s.size());
    return s;
  }

private:
  void send_bytes(const void* p, size_t n) {
    auto* c = static_cast<const char*>(p);
    while (n > 0) {
      auto k = ::send(fd_, c, n, MSG_NOSIGNAL);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0)
        throw protocol_error("cannot write to the worker at " + host_ + ": " +
                             std::strerror(errno));
      c += k;
      n -= static_cast<size_t>(k);
    }
  }
  void recv_bytes(void* p, size_t n) {
    auto* c = static_cast<char*>(p);
    while (n > 0) {
      // rabit's workers write their small fields one by one without
      // TCP_NODELAY: ACK at once, or Nagle holds the next field until our
      // delayed ACK (40 ms) lets it go. Linux clears QUICKACK as it pleases,
      // so it is set before every read.
      int one = 1;
      setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
      auto k = ::recv(fd_, c, n, 0);
      if (k < 0 && errno == EINTR) continue;
      if (k == 0)
        throw protocol_error("the worker at " + host_ +
                             " closed its connection");
      if (k < 0)
        throw protocol_error("cannot read from the worker at " + host_ + ": " +
                             std::strerror(errno));
      c += k;
      n -= static_cast<size_t>(k);
    }
  }
  int fd_;
  std::string host_;
};

/// A worker that said start or recover.
struct entry {
  std::unique_ptr<peer> conn;
  int rank = -1;
  std::string task;
  int wait_accept = 0; ///< links it still accepts from workers ranked later
  int port = -1;       ///< where it accepts them
};

void ring_order(const rabit_links& l, int rank, std::vector<int>& out) {
  out.push_back(rank);
  std::vector<int> children;
  for (int v : l.tree[static_cast<size_t>(rank)])
    if (v != l.parent[static_cast<size_t>(rank)]) children.push_back(v);
  for (size_t i = 0; i < children.size(); ++i) {
    std::vector<int> sub;
    ring_order(l, children[i], sub);
    if (i + 1 == children.size()) std::reverse(sub.begin(), sub.end());
    out.insert(out.end(), sub.begin(), sub.end());
  }
}

std::string peer_host(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr,
              buf, sizeof buf);
  else
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr,
              buf, sizeof buf);
  return buf;
}

} // namespace

rabit_links rabit_link_map(int n) {
  rabit_links heap;
  heap.tree.resize(static_cast<size_t>(n));
  heap.parent.resize(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    int k = r + 1;
    auto& nb = heap.tree[static_cast<size_t>(r)];
    if (k > 1) nb.push_back(k / 2 - 1);
    if (k * 2 - 1 < n) nb.push_back(k * 2 - 1);
    if (k * 2 < n) nb.push_back(k * 2);
    heap.parent[static_cast<size_t>(r)] = (r + 1) / 2 - 1;
  }
  std::vector<int> order;
  if (n > 0) ring_order(heap, 0, order);
  // renumber in ring order: the worker at ring position i gets rank i
  std::vector<int> renum(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    renum[static_cast<size_t>(order[static_cast<size_t>(i)])] = i;
  rabit_links out;
  out.tree.resize(static_cast<size_t>(n));
  out.parent.resize(static_cast<size_t>(n));
  out.ring.resize(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    auto nr = static_cast<size_t>(renum[static_cast<size_t>(r)]);
    for (int v : heap.tree[static_cast<size_t>(r)])
      out.tree[nr].push_back(renum[static_cast<size_t>(v)]);
    auto p = heap.parent[static_cast<size_t>(r)];
    out.parent[nr] = p < 0 ? -1 : renum[static_cast<size_t>(p)];
  }
  for (int i = 0; i < n; ++i)
    out.ring[static_cast<size_t>(i)] = {(i + n - 1) % n, (i + 1) % n};
  return out;
}

caf::expected<std::unique_ptr<rabit_tracker>>
rabit_tracker::start(const std::string& host, int workers,
                     std::chrono::milliseconds io_timeout) {
  if (workers < 1)
    return make_error(errc::invalid_argument,
                      "rabit tracker: " + std::to_string(workers) +
                          " workers; need at least one");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), "0", &hints, &res); rc != 0)
    return make_error(errc::invalid_argument,
                      "rabit tracker: cannot resolve '" + host +
                          "': " + gai_strerror(rc));
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  bool ok = fd >= 0 &&
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
            ::bind(fd, res->ai_addr, res->ai_addrlen) == 0 &&
            ::listen(fd, 256) == 0;
  freeaddrinfo(res);
  if (!ok) {
    auto why = std::string{std::strerror(errno)};
    if (fd >= 0) ::close(fd);
    return make_error(errc::io_failure,
                      "rabit tracker: cannot listen on " + host + ": " + why);
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = addr.ss_family == AF_INET
                 ? ntohs(reinterpret_cast<sockaddr_in&>(addr).sin_port)
                 : ntohs(reinterpret_cast<sockaddr_in6&>(addr).sin6_port);
  std::unique_ptr<rabit_tracker> t{
      new rabit_tracker(host, port, fd, workers, io_timeout)};
  t->thread_ = std::thread([p = t.get()] { p->serve(); });
  return t;
}

rabit_tracker::rabit_tracker(std::string host, int port, int fd, int workers,
                             std::chrono::milliseconds io_timeout)
    : host_(std::move(host)), port_(port), fd_(fd), workers_(workers),
      io_timeout_(io_timeout) {}

rabit_tracker::~rabit_tracker() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

std::string rabit_tracker::failure() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return failure_;
}

std::vector<std::string> rabit_tracker::printed() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return printed_;
}

void rabit_tracker::serve() {
  const int n = workers_;
  auto links = rabit_link_map(n);
  std::map<int, entry> wait_conn; // rank -> a worker still accepting links
  std::map<std::string, int> rank_of_task;
  std::vector<entry> pending;
  std::set<int> shutdown;
  std::vector<int> todo;
  for (int r = 0; r < n; ++r)
    todo.push_back(r);

  // sends rank and links, then brokers connections until the worker has
  // them all (rabit's assign_rank)
  auto assign = [&](entry& e, int rank) {
    e.rank = rank;
    auto& c = *e.conn;
    auto r = static_cast<size_t>(rank);
    std::set<int> nn(links.tree[r].begin(), links.tree[r].end());
    c.send_int(rank);
    c.send_int(links.parent[r]);
    c.send_int(n);
    c.send_int(static_cast<int32_t>(nn.size()));
    for (int v : nn)
      c.send_int(v);
    for (int v : {links.ring[r].first, links.ring[r].second}) {
      if (v != -1 && v != rank) {
        nn.insert(v);
        c.send_int(v);
      } else {
        c.send_int(-1);
      }
    }
    for (int round = 0;; ++round) {
      if (round >= max_link_rounds)
        throw protocol_error("worker " + std::to_string(rank) +
                             " could not link to its neighbours after " +
                             std::to_string(round) + " tries");
      auto ngood = c.recv_int();
      if (ngood < 0 || ngood > n)
        throw protocol_error("worker " + std::to_string(rank) + " reported " +
                             std::to_string(ngood) + " good links");
      std::set<int> good;
      for (int i = 0; i < ngood; ++i)
        good.insert(c.recv_int());
      std::vector<int> bad, connect;
      for (int v : nn)
        if (!good.count(v)) bad.push_back(v);
      for (int v : bad)
        if (wait_conn.count(v)) connect.push_back(v);
      c.send_int(static_cast<int32_t>(connect.size()));
      c.send_int(static_cast<int32_t>(bad.size() - connect.size()));
      for (int v : connect) {
        auto& w = wait_conn.at(v);
        c.send_text(w.conn->host());
        c.send_int(w.port);
        c.send_int(v);
      }
      if (c.recv_int() != 0) continue; // some link failed: try again
      e.port = c.recv_int();
      for (int v : connect)
        if (--wait_conn.at(v).wait_accept == 0) wait_conn.erase(v);
      e.wait_accept = static_cast<int>(bad.size() - connect.size());
      return;
    }
  };

  try {
    while (!stop_ && static_cast<int>(shutdown.size()) < n) {
      pollfd pfd{fd_, POLLIN, 0};
      int ready = ::poll(&pfd, 1, 100);
      if (ready <= 0) continue;
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      int cfd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                          SOCK_CLOEXEC);
      if (cfd < 0) continue;
      timeval tv{};
      tv.tv_sec = io_timeout_.count() / 1000;
      tv.tv_usec = (io_timeout_.count() % 1000) * 1000;
      setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      int one = 1;
      setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      entry e;
      e.conn = std::make_unique<peer>(cfd, peer_host(addr));
      auto& c = *e.conn;
      if (auto m = c.recv_int(); m != magic)
        throw protocol_error("a connection from " + c.host() +
                             " is not a rabit worker (magic " +
                             std::to_string(m) + ")");
      c.send_int(magic);
      e.rank = c.recv_int();
      auto world = c.recv_int();
      e.task = c.recv_text();
      auto cmd = c.recv_text();
      if (cmd == "print") {
        auto msg = c.recv_text();
        std::lock_guard<std::mutex> guard{mtx_};
        printed_.push_back(std::move(msg));
        continue;
      }
      if (cmd == "shutdown") {
        if (e.rank < 0 || e.rank >= n || shutdown.count(e.rank))
          throw protocol_error("an unexpected shutdown from rank " +
                               std::to_string(e.rank));
        shutdown.insert(e.rank);
        continue;
      }
      if (cmd != "start" && cmd != "recover")
        throw protocol_error("unknown rabit command '" + cmd + "' from " +
                             c.host());
      if (world > 0 && world != n)
        throw protocol_error("a worker at " + c.host() + " expects " +
                             std::to_string(world) + " workers; the job has " +
                             std::to_string(n));
      int rank = e.rank >= 0 ? e.rank : -1;
      if (rank < 0 && e.task != "NULL")
        if (auto it = rank_of_task.find(e.task); it != rank_of_task.end())
          rank = it->second;
      if (rank >= n)
        throw protocol_error("a worker claims rank " + std::to_string(rank) +
                             " of " + std::to_string(n));
      if (rank >= 0) {
        assign(e, rank);
        e.conn->close();
        if (e.wait_accept > 0) wait_conn[rank] = std::move(e);
        continue;
      }
      if (todo.empty())
        throw protocol_error("more workers than the job's " +
                             std::to_string(n));
      pending.push_back(std::move(e));
      if (pending.size() < todo.size()) continue;
      // everyone is here: ranks in the order of the task ids
      std::stable_sort(
          pending.begin(), pending.end(),
          [](const entry& a, const entry& b) { return a.task < b.task; });
      for (auto& p : pending) {
        int r = todo.front();
        todo.erase(todo.begin());
        if (p.task != "NULL") rank_of_task[p.task] = r;
        assign(p, r);
        p.conn->close(); // the host stays, for the workers that link to it
        if (p.wait_accept > 0) wait_conn[r] = std::move(p);
      }
      pending.clear();
    }
    done_ = static_cast<int>(shutdown.size()) == n;
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> guard{mtx_};
    failure_ = e.what();
  }
}

} // namespace troupe::training
