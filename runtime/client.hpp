#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <capnp/capability.h>
#include <kj/async-io.h>
#include <kj/timer.h>

#include "runtime/dataset_store.hpp"
#include "runtime/envelope.hpp"

namespace troupe {

/// A node as the gateway reports it.
struct node_row {
  std::string name;
  std::string host;
  uint32_t pid = 0;
  uint32_t slots = 0;
  uint32_t free_slots = 0;
  std::vector<std::pair<std::string, std::string>> labels;
  int64_t last_seen_ms = 0;
  int64_t joined_ms = 0;
  bool is_head = false;
  uint64_t incarnation = 0;
};

/// A registered actor.
struct actor_row {
  std::string name;
  std::string node;
  std::string kind;
  uint64_t id = 0;
};

/// Counters of an actor or a node's agent.
struct stats_row {
  std::string target;
  std::string node;
  uint64_t mailbox_size = 0;
  uint64_t handled = 0;
  uint64_t uptime_ms = 0;
};

/// One slot of the cluster and who holds it (consumer empty: free).
struct slot_row {
  std::string node;
  uint32_t index = 0;
  std::string consumer;
  uint64_t lease = 0;
};

/// One directory change pushed by `watch`.
struct event_row {
  std::string kind; ///< node-joined, node-left, actor-registered, actor-removed
  node_row node;
  actor_row actor;
  std::string reason;
  int64_t at_ms = 0;
};

/// Splits "HOST:PORT" (or "PORT", or "HOST") with a default port. Errors name
/// the text.
caf::expected<std::pair<std::string, uint16_t>>
parse_host_port(const std::string& text, const std::string& default_host,
                uint16_t default_port);

/// Turns an RPC failure into an error whose message starts with `what` and
/// carries the server's text (without KJ's "remote exception: " prefix).
caf::error rpc_error(const std::string& what, const kj::Exception& e);

/// Runs `f()` (which makes RPC calls and waits for them) and turns a KJ
/// failure into an error value starting with `what`.
template <class F>
auto rpc_call(const std::string& what, F&& f) -> caf::expected<decltype(f())> {
  try {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      return caf::expected<void>{};
    } else {
      return f();
    }
  } catch (const kj::Exception& e) {
    return rpc_error(what, e);
  }
}

/// A synchronous client of the head's `Cluster` RPC gateway. Every call blocks
/// the calling thread (never use it on a CAF scheduler thread) and returns
/// errors as values, with the gateway's message. One client per thread: it
/// owns a KJ event loop.
class cluster_client {
public:
  /// Connects to the gateway at host:port.
  static caf::expected<std::unique_ptr<cluster_client>>
  connect(const std::string& host, uint16_t port,
          std::chrono::milliseconds timeout = std::chrono::seconds{5});

  ~cluster_client();

  /// "HOST:PORT" this client talks to.
  const std::string& address() const;

  caf::expected<std::vector<node_row>> nodes();
  caf::expected<std::vector<actor_row>> actors();
  caf::expected<std::vector<std::string>> kinds();

  /// Spawns `kind` at `where` (node name, "any"/"", "head", "every").
  caf::expected<std::vector<actor_row>> spawn(const std::string& kind,
                                              const std::string& where,
                                              const std::string& config = {},
                                              const std::string& name = {});

  /// Sends (op, payload) to a registered actor and returns its reply.
  caf::expected<envelope> send(const std::string& actor,
                               const envelope& payload,
                               const std::string& op = "call");

  /// Counters of an actor, a node, or every node (empty target).
  caf::expected<std::vector<stats_row>> stats(const std::string& target = {});
  /// Every slot of every node and who holds it.
  caf::expected<std::vector<slot_row>> slots();

  /// Uploads the file at `path` (on this machine) to the head's dataset
  /// cache (dataset_cache.hpp) in checksummed chunks and returns its ref;
  /// nothing moves when the head holds those bytes already. A chunk the head
  /// refuses is sent again (3 tries). Errors name the file.
  caf::expected<dataset_ref>
  upload_dataset(const std::string& path,
                 uint32_t chunk_size = default_chunk_size);

  caf::expected<void> stop(const std::string& actor);
  caf::expected<void> shutdown();
  caf::expected<void> ping();

  /// Subscribes to directory changes: calls `on_snapshot` once with the
  /// current nodes and actors, then `on_event` for each change until it
  /// returns false or `max_wait` has passed.
  caf::expected<void>
  watch(const std::function<bool(const event_row&)>& on_event,
        std::chrono::milliseconds max_wait,
        const std::function<void(const std::vector<node_row>&,
                                 const std::vector<actor_row>&)>& on_snapshot =
            {});

  /// Per-call timeout (default 30 s).
  void set_timeout(std::chrono::milliseconds timeout);
  std::chrono::milliseconds timeout() const;

  /// Another RPC interface the head serves (`Cluster.service`), e.g.
  /// a family's interface. The capability is used on this client's
  /// thread, waiting with wait().
  caf::expected<capnp::Capability::Client> service(const std::string& name);

  /// Waits on this client's event loop for `p`, at most the per-call
  /// timeout; a timeout or a failure throws kj::Exception.
  template <class T>
  T wait(kj::Promise<T> p) {
    return timed(std::move(p)).wait(wait_scope());
  }

private:
  kj::WaitScope& wait_scope();
  kj::Timer& timer();
  /// `p` with the per-call deadline. The loop's timer reads the clock only
  /// when the loop runs, so it is polled first: after an idle spell the
  /// deadline would otherwise count from the last call and have passed.
  template <class T>
  kj::Promise<T> timed(kj::Promise<T> p) {
    wait_scope().poll();
    return timer().timeoutAfter(timeout().count() * kj::MILLISECONDS,
                                std::move(p));
  }

public:
private:
  struct impl;
  explicit cluster_client(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace troupe
