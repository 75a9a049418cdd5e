#pragma once

// A RESP (Redis protocol) server on a TCP port, for the feature-read
// endpoint: a few threads, each with its own epoll loop, take connections
// from one listening socket (the kernel hands each new connection to one
// of them) and serve every command on the thread that read it, calling
// the handler directly: no actor hop, no lock between connections.
// Pipelined commands are answered in order; a connection whose replies
// pile up past max_output is not read until they drain; a malformed or
// oversized request gets an error reply and its connection is closed,
// and no other connection notices. A handler may defer a reply (to answer
// it from another thread once a remote read returns); the thread goes on
// serving meanwhile. Plain C++ and POSIX sockets; no CAF.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/expected.hpp>

#include "actors/features/resp.hpp"

namespace troupe::features {

namespace detail {
struct resp_connection;
struct resp_inbox;
} // namespace detail

/// Delivers a deferred reply: call it once, from any thread.
using resp_completion = std::function<void(std::string reply)>;

/// Where one command's reply goes: appended to out() now, or deferred
/// (a read from another node). Replies after a deferred one wait for it,
/// so a connection's replies stay in the order of its commands.
class resp_call {
public:
  std::string& out() { return *out_; }
  /// Takes the reply out of line: the handler writes nothing to out()
  /// and calls the returned function once, later, from any thread.
  resp_completion defer();

private:
  friend class resp_server;
  resp_call(std::string* out, detail::resp_connection* conn,
            const std::shared_ptr<detail::resp_inbox>* inbox)
      : out_(out), conn_(conn), inbox_(inbox) {}
  std::string* out_;
  detail::resp_connection* conn_;
  const std::shared_ptr<detail::resp_inbox>* inbox_; ///< copied on defer()
  bool deferred_ = false;
};

/// Answers one command through `call`; false closes the connection once
/// the reply is sent (QUIT). Called on the server's threads, several at
/// once.
using resp_handler =
    std::function<bool(const resp::command& cmd, resp_call& call)>;

struct resp_server_options {
  std::string host = "127.0.0.1";
  /// 0: the kernel picks one (port() says which).
  uint16_t port = 0;
  unsigned threads = 2;
  resp::limits limits;
  /// A connection is not read while this many bytes of replies wait.
  size_t max_output = size_t{16} << 20;
  /// ... or while this many replies wait behind a deferred one.
  size_t max_pending = 1024;
};

struct resp_server_stats {
  uint64_t connections = 0;
  uint64_t commands = 0;
  uint64_t protocol_errors = 0;
  uint64_t deferred = 0;
};

class resp_server {
public:
  /// Listens and starts the threads. Errors: the address (named) cannot
  /// be bound.
  static caf::expected<std::unique_ptr<resp_server>>
  start(const resp_server_options& options, resp_handler handler);
  /// Stops the threads and closes every connection.
  ~resp_server();
  resp_server(const resp_server&) = delete;
  resp_server& operator=(const resp_server&) = delete;

  uint16_t port() const { return port_; }
  resp_server_stats stats() const;

private:
  resp_server() = default;
  void loop(int epoll_fd, std::shared_ptr<detail::resp_inbox> inbox);

  resp_server_options options_;
  resp_handler handler_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> epolls_;
  std::vector<std::shared_ptr<detail::resp_inbox>> inboxes_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> connections_{0}, commands_{0}, protocol_errors_{0},
      deferred_{0};
};

} // namespace troupe::features
