#pragma once

// Small text helpers shared by the shell's translation units and the
// families' shell commands, and calls to an RPC interface over a client.

#include <cstdint>
#include <optional>
#include <string>

#include <caf/expected.hpp>
#include <capnp/blob.h>
#include <kj/exception.h>

#include "runtime/client.hpp"
#include "runtime/envelope.hpp"

namespace troupe::shell_detail {

inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

inline std::string trim(const std::string& text) {
  size_t first = 0;
  size_t last = text.size();
  while (first < last && is_space(text[first]))
    ++first;
  while (last > first && is_space(text[last - 1]))
    --last;
  return text.substr(first, last - first);
}

inline bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

inline std::string text_of(capnp::Text::Reader x) {
  return std::string{x.cStr(), x.size()};
}

/// Gets the RPC service `name` (an `Api`) from `client` and runs
/// `call(api)`, turning a failure into an error with the server's message.
template <class Api, class F>
caf::expected<envelope> with_service(cluster_client& client,
                                     const std::string& name, F&& call) {
  auto cap = client.service(name);
  if (!cap) return cap.error();
  try {
    return call(cap->template castAs<Api>());
  } catch (const kj::Exception& e) {
    return rpc_error(name, e);
  }
}

} // namespace troupe::shell_detail
