#pragma once

// A raw RESP exchange on loopback for the tests of the feature endpoint:
// bytes out, bytes back, with no client library in between.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace troupe::test {

/// Sends `wire` on a new connection to 127.0.0.1:port and reads until
/// `bytes` came back, the server closed it, or `wait` passed. "" when the
/// connection is refused.
inline std::string
resp_roundtrip(uint16_t port, const std::string& wire, size_t bytes,
               std::chrono::milliseconds wait = std::chrono::seconds{10}) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return got;
  }
  size_t at = 0;
  auto deadline = std::chrono::steady_clock::now() + wait;
  char buf[65536];
  while (got.size() < bytes && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, static_cast<short>(POLLIN | (at < wire.size() ? POLLOUT : 0)),
             0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if ((p.revents & POLLOUT) && at < wire.size()) {
      auto n = ::send(fd, wire.data() + at, wire.size() - at,
                      MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) at += static_cast<size_t>(n);
    }
    if (p.revents & (POLLIN | POLLHUP)) {
      auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) break;
      if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return got;
}

/// A RESP bulk string of packed float32 values (what GET answers).
inline std::string resp_floats(const std::vector<float>& v) {
  std::string b(v.size() * sizeof(float), '\0');
  std::memcpy(b.data(), v.data(), b.size());
  return "$" + std::to_string(b.size()) + "\r\n" + b + "\r\n";
}

} // namespace troupe::test
