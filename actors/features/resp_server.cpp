#include "actors/features/resp_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "runtime/errors.hpp"

namespace troupe::features {

namespace detail {

/// A reply that waits for its turn (behind a deferred one) or for its
/// deferred answer.
struct resp_slot {
  std::string data;
  bool ready = false;
};

struct resp_connection {
  int fd = -1;
  uint64_t serial = 0; ///< tells a reused fd's connections apart
  std::string in;
  std::string out;
  size_t sent = 0;
  bool closing = false;
  bool reading = true;
  uint32_t events = EPOLLIN | EPOLLRDHUP; ///< what epoll watches for
  /// Replies not yet in `out` because a deferred one is ahead of them.
  std::deque<std::shared_ptr<resp_slot>> queue;
};

/// Where deferred replies come back to one thread: the connections they
/// belong to, and an eventfd that wakes the thread. Outlives the server
/// while a completion holds it.
struct resp_inbox {
  std::mutex mtx;
  std::vector<std::pair<int, uint64_t>> settled;
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ~resp_inbox() { ::close(wake_fd); }
};

} // namespace detail

using detail::resp_connection;
using detail::resp_slot;

resp_completion resp_call::defer() {
  auto slot = std::make_shared<resp_slot>();
  conn_->queue.push_back(slot);
  deferred_ = true;
  return [slot, inbox = *inbox_, fd = conn_->fd,
          serial = conn_->serial](std::string reply) {
    {
      std::lock_guard<std::mutex> guard{inbox->mtx};
      slot->data = std::move(reply);
      slot->ready = true;
      inbox->settled.emplace_back(fd, serial);
    }
    uint64_t one = 1;
    (void)!::write(inbox->wake_fd, &one, sizeof one);
  };
}

namespace {

caf::error failure(const std::string& what, const std::string& where, int err) {
  return make_error(errc::io_failure, "RESP endpoint: " + what + " " + where +
                                          ": " + std::strerror(err));
}

void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
}

} // namespace

caf::expected<std::unique_ptr<resp_server>>
resp_server::start(const resp_server_options& options, resp_handler handler) {
  auto where = options.host + ":" + std::to_string(options.port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options.port);
  if (inet_pton(AF_INET, options.host.c_str(), &addr.sin_addr) != 1)
    return make_error(errc::invalid_argument, "RESP endpoint: '" +
                                                  options.host +
                                                  "' is no IPv4 address");
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return failure("cannot open a socket for", where, errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 512) != 0) {
    auto e = errno;
    ::close(fd);
    return failure("cannot listen on", where, e);
  }
  set_nonblocking(fd);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::unique_ptr<resp_server> s{new resp_server};
  s->options_ = options;
  s->handler_ = std::move(handler);
  s->listen_fd_ = fd;
  s->port_ = ntohs(addr.sin_port);
  s->stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  auto threads = std::max(1u, options.threads);
  for (unsigned t = 0; t < threads; ++t) {
    auto inbox = std::make_shared<detail::resp_inbox>();
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    // one thread is woken for each new connection
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    epoll_event stop{};
    stop.events = EPOLLIN;
    stop.data.fd = s->stop_fd_;
    epoll_ctl(ep, EPOLL_CTL_ADD, s->stop_fd_, &stop);
    epoll_event wake{};
    wake.events = EPOLLIN;
    wake.data.fd = inbox->wake_fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, inbox->wake_fd, &wake);
    s->epolls_.push_back(ep);
    s->inboxes_.push_back(std::move(inbox));
  }
  for (size_t t = 0; t < s->epolls_.size(); ++t)
    s->threads_.emplace_back(
        [raw = s.get(), ep = s->epolls_[t], inbox = s->inboxes_[t]] {
          raw->loop(ep, inbox);
        });
  return s;
}

resp_server::~resp_server() {
  uint64_t one = 1;
  if (stop_fd_ >= 0) (void)!::write(stop_fd_, &one, sizeof one);
  for (auto& t : threads_)
    t.join();
  for (auto ep : epolls_)
    ::close(ep);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

resp_server_stats resp_server::stats() const {
  return {connections_.load(), commands_.load(), protocol_errors_.load(),
          deferred_.load()};
}

void resp_server::loop(int ep, std::shared_ptr<detail::resp_inbox> inbox) {
  std::unordered_map<int, resp_connection> conns;
  uint64_t serials = 0;
  auto watch = [&](resp_connection& c) {
    // (a closing connection is not told of its peer's end again: level-
    // triggered, that would spin while a deferred reply is awaited)
    uint32_t want = (c.reading ? EPOLLIN | EPOLLRDHUP : 0u) |
                    (c.sent < c.out.size() ? EPOLLOUT : 0u);
    if (want == c.events) return; // (a syscall saved on most requests)
    c.events = want;
    epoll_event ev{};
    ev.events = want;
    ev.data.fd = c.fd;
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
  };
  auto drop = [&](int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns.erase(fd);
  };
  // writes what waits; false when the connection is gone
  auto flush = [&](resp_connection& c) {
    while (c.sent < c.out.size()) {
      auto n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent,
                      MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    if (c.sent == c.out.size()) {
      c.out.clear();
      c.sent = 0;
    }
    return !(c.closing && c.out.empty() && c.queue.empty());
  };
  // moves the replies whose turn came into `out`
  auto settle = [&](resp_connection& c) {
    std::lock_guard<std::mutex> guard{inbox->mtx};
    while (!c.queue.empty() && c.queue.front()->ready) {
      c.out += c.queue.front()->data;
      c.queue.pop_front();
    }
  };
  auto waiting = [&](const resp_connection& c) {
    return c.out.size() - c.sent;
  };
  auto full = [&](const resp_connection& c) {
    return waiting(c) >= options_.max_output ||
           c.queue.size() >= options_.max_pending;
  };
  // answers every whole command read so far
  std::string scratch;
  auto serve = [&](resp_connection& c) {
    size_t at = 0;
    while (!c.closing && at < c.in.size() && !full(c)) {
      auto r = resp::parse_command(c.in.data() + at, c.in.size() - at,
                                   options_.limits);
      if (r.status == resp::parse_status::incomplete) break;
      bool in_line = c.queue.empty();
      scratch.clear();
      resp_call call{in_line ? &c.out : &scratch, &c, &inbox};
      if (r.status == resp::parse_status::error) {
        ++protocol_errors_;
        resp::error(call.out(), "ERR " + r.error);
        c.closing = true;
      } else {
        at += r.consumed;
        if (r.cmd.empty()) continue;
        ++commands_;
        if (!handler_(r.cmd, call)) c.closing = true;
        if (call.deferred_) ++deferred_;
      }
      if (!in_line && !call.deferred_)
        c.queue.push_back(
            std::make_shared<resp_slot>(resp_slot{std::move(scratch), true}));
    }
    c.in.erase(0, at);
  };
  // answers, sends, and answers more while sending drained the replies
  // (what came before the end is answered, then the connection closes);
  // false when the connection is gone
  auto progress = [&](resp_connection& c, bool eof) {
    for (;;) {
      auto before = c.in.size();
      serve(c);
      if (eof && !full(c) && (c.in.empty() || c.in.size() == before))
        c.closing = true;
      if (!flush(c)) return false;
      if (c.closing || full(c) || c.in.size() == before) break;
    }
    c.reading = !c.closing && !full(c);
    watch(c);
    return true;
  };
  epoll_event events[64];
  char buf[64 * 1024];
  std::vector<std::pair<int, uint64_t>> settled;
  for (;;) {
    int n = epoll_wait(ep, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == stop_fd_) {
        for (auto& [cfd, c] : conns)
          ::close(cfd);
        return;
      }
      if (fd == inbox->wake_fd) {
        uint64_t count = 0;
        (void)!::read(fd, &count, sizeof count);
        {
          std::lock_guard<std::mutex> guard{inbox->mtx};
          settled.swap(inbox->settled);
        }
        for (auto [cfd, serial] : settled) {
          auto it = conns.find(cfd);
          if (it == conns.end() || it->second.serial != serial) continue;
          settle(it->second);
          if (!progress(it->second, false)) drop(cfd);
        }
        settled.clear();
        continue;
      }
      if (fd == listen_fd_) {
        for (;;) {
          int cfd = ::accept4(listen_fd_, nullptr, nullptr,
                              SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) break;
          int one = 1;
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          ++connections_;
          auto& c = conns[cfd];
          c = resp_connection{};
          c.fd = cfd;
          c.serial = ++serials;
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.fd = cfd;
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      auto& c = it->second;
      bool eof = false;
      if (events[i].events & EPOLLIN) {
        for (;;) {
          auto r = ::recv(fd, buf, sizeof buf, 0);
          if (r > 0) {
            c.in.append(buf, static_cast<size_t>(r));
            // a short read emptied the socket: no second recv to learn it
            if (static_cast<size_t>(r) < sizeof buf) break;
            if (c.in.size() >= sizeof buf * 4) break; // serve some first
            continue;
          }
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          if (r < 0 && errno == EINTR) continue;
          eof = true; // the peer closed its side, or the socket failed
          break;
        }
      }
      // (a hung-up socket can take no reply: a deferred one is dropped)
      if (!progress(c, eof) || (events[i].events & (EPOLLHUP | EPOLLERR)))
        drop(fd);
    }
  }
}

} // namespace troupe::features
