#include "runtime/client.hpp"

#include <deque>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/timer.h>

#include <fcntl.h>
#include <unistd.h>

#include "runtime/buffered_stream.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "schemas/cluster.capnp.h"

namespace troupe {

namespace {

node_row to_row(schema::NodeInfo::Reader n) {
  node_row r;
  r.name = n.getName();
  r.host = n.getHost();
  r.pid = n.getPid();
  r.slots = n.getSlots();
  r.free_slots = n.getFreeSlots();
  for (auto kv : n.getLabels())
    r.labels.emplace_back(kv.getKey(), kv.getValue());
  r.last_seen_ms = n.getLastSeenMs();
  r.joined_ms = n.getJoinedMs();
  r.is_head = n.getIsHead();
  r.incarnation = n.getIncarnation();
  return r;
}

actor_row to_row(schema::ActorInfo::Reader a) {
  return {a.getName(), a.getNode(), a.getKind(), a.getId()};
}

std::vector<actor_row> to_rows(capnp::List<schema::ActorInfo>::Reader xs) {
  std::vector<actor_row> out;
  for (auto a : xs)
    out.push_back(to_row(a));
  return out;
}

std::string kind_name(schema::DirectoryEvent::Kind k) {
  using K = schema::DirectoryEvent::Kind;
  switch (k) {
  case K::NODE_JOINED:
    return "node-joined";
  case K::NODE_LEFT:
    return "node-left";
  case K::ACTOR_REGISTERED:
    return "actor-registered";
  case K::ACTOR_REMOVED:
    return "actor-removed";
  }
  return "unknown";
}

struct watch_sink {
  std::deque<event_row> queue;
  kj::Own<kj::PromiseFulfiller<void>> bell;
  bool active = true;
};

class watcher_impl final : public schema::Watcher::Server {
public:
  explicit watcher_impl(std::shared_ptr<watch_sink> sink)
      : sink_(std::move(sink)) {}

  kj::Promise<void> event(EventContext ctx) override {
    auto ev = ctx.getParams().getEvent();
    event_row row;
    row.kind = kind_name(ev.getKind());
    row.node = to_row(ev.getNode());
    row.actor = to_row(ev.getActor());
    row.reason = ev.getReason();
    row.at_ms = ev.getAtMs();
    if (!sink_->active)
      throw kj::Exception(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
                          kj::str("watch ended"));
    sink_->queue.push_back(std::move(row));
    if (sink_->bell) sink_->bell->fulfill();
    return kj::READY_NOW;
  }

private:
  std::shared_ptr<watch_sink> sink_;
};

} // namespace

caf::error rpc_error(const std::string& what, const kj::Exception& e) {
  std::string text = e.getDescription().cStr();
  // Strip KJ's "remote exception: " prefix: the message is the gateway's.
  const std::string prefix = "remote exception: ";
  if (text.rfind(prefix, 0) == 0) text = text.substr(prefix.size());
  auto code = e.getType() == kj::Exception::Type::DISCONNECTED
                  ? errc::io_failure
                  : errc::invalid_argument;
  return make_error(code, what + ": " + text);
}

caf::expected<std::pair<std::string, uint16_t>>
parse_host_port(const std::string& text, const std::string& default_host,
                uint16_t default_port) {
  if (text.empty()) return std::make_pair(default_host, default_port);
  auto colon = text.rfind(':');
  std::string host = text;
  std::string port_text;
  if (colon != std::string::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  } else if (text.find_first_not_of("0123456789") == std::string::npos) {
    host.clear();
    port_text = text;
  }
  if (host.empty()) host = default_host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  uint16_t port = default_port;
  if (!port_text.empty()) {
    if (port_text.size() > 5 ||
        port_text.find_first_not_of("0123456789") != std::string::npos)
      return make_error(errc::invalid_argument,
                        "'" + text + "' is not HOST:PORT: bad port '" +
                            port_text + "'");
    auto value = std::stoul(port_text);
    if (value == 0 || value > 65535)
      return make_error(errc::invalid_argument, "'" + text + "': port " +
                                                    port_text +
                                                    " is out of range 1-65535");
    port = static_cast<uint16_t>(value);
  }
  return std::make_pair(host, port);
}

struct cluster_client::impl {
  kj::AsyncIoContext io = kj::setupAsyncIo();
  std::string address;
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> rpc;
  schema::Cluster::Client cap = nullptr;
  std::chrono::milliseconds timeout{30000};

  template <class T>
  T wait(kj::Promise<T> p) {
    io.waitScope.poll(); // the timer's clock, up to date (see timed())
    auto deadline = io.provider->getTimer().timeoutAfter(
        timeout.count() * kj::MILLISECONDS, std::move(p));
    return deadline.wait(io.waitScope);
  }

  template <class F>
  auto call(const std::string& what, F&& f) -> caf::expected<decltype(f())> {
    return rpc_call(what, std::forward<F>(f));
  }
};

cluster_client::cluster_client(std::unique_ptr<impl> ptr)
    : impl_(std::move(ptr)) {
  // nop
}

cluster_client::~cluster_client() = default;

caf::expected<std::unique_ptr<cluster_client>>
cluster_client::connect(const std::string& host, uint16_t port,
                        std::chrono::milliseconds timeout) {
  auto st = std::make_unique<impl>();
  st->address = host + ":" + std::to_string(port);
  st->timeout = timeout;
  try {
    auto addr = st->wait(st->io.provider->getNetwork().parseAddress(
        kj::StringPtr{host.c_str()}, port));
    st->stream = buffered(st->wait(addr->connect()));
    st->rpc = kj::heap<capnp::TwoPartyClient>(*st->stream);
    st->cap = st->rpc->bootstrap().castAs<schema::Cluster>();
    st->timeout = std::chrono::seconds{30};
  } catch (const kj::Exception& e) {
    return make_error(errc::io_failure, "cannot reach the head at " +
                                            st->address + ": " +
                                            e.getDescription().cStr());
  }
  return std::unique_ptr<cluster_client>{new cluster_client(std::move(st))};
}

const std::string& cluster_client::address() const {
  return impl_->address;
}

void cluster_client::set_timeout(std::chrono::milliseconds timeout) {
  impl_->timeout = timeout;
}

std::chrono::milliseconds cluster_client::timeout() const {
  return impl_->timeout;
}

kj::WaitScope& cluster_client::wait_scope() {
  return impl_->io.waitScope;
}

kj::Timer& cluster_client::timer() {
  return impl_->io.provider->getTimer();
}

caf::expected<capnp::Capability::Client>
cluster_client::service(const std::string& name) {
  return impl_->call("service " + name, [&] {
    auto req = impl_->cap.serviceRequest();
    req.setName(name);
    auto resp = impl_->wait(req.send());
    return resp.getService();
  });
}

caf::expected<std::vector<node_row>> cluster_client::nodes() {
  return impl_->call("nodes", [&] {
    auto resp = impl_->wait(impl_->cap.nodesRequest().send());
    std::vector<node_row> out;
    for (auto n : resp.getNodes())
      out.push_back(to_row(n));
    return out;
  });
}

caf::expected<std::vector<slot_row>> cluster_client::slots() {
  return impl_->call("slots", [&] {
    auto resp = impl_->wait(impl_->cap.slotsRequest().send());
    std::vector<slot_row> out;
    for (auto s : resp.getSlots())
      out.push_back({s.getNode(), s.getIndex(), s.getConsumer(), s.getLease()});
    return out;
  });
}

caf::expected<std::vector<actor_row>> cluster_client::actors() {
  return impl_->call("actors", [&] {
    auto resp = impl_->wait(impl_->cap.actorsRequest().send());
    return to_rows(resp.getActors());
  });
}

caf::expected<std::vector<std::string>> cluster_client::kinds() {
  return impl_->call("kinds", [&] {
    auto resp = impl_->wait(impl_->cap.kindsRequest().send());
    std::vector<std::string> out;
    for (auto k : resp.getKinds())
      out.emplace_back(k.cStr());
    return out;
  });
}

caf::expected<std::vector<actor_row>>
cluster_client::spawn(const std::string& kind, const std::string& where,
                      const std::string& config, const std::string& name) {
  return impl_->call("spawn " + kind, [&] {
    auto req = impl_->cap.spawnRequest();
    req.setKind(kind);
    req.setNode(where);
    req.setConfig(config);
    req.setName(name);
    auto resp = impl_->wait(req.send());
    return to_rows(resp.getActors());
  });
}

caf::expected<envelope> cluster_client::send(const std::string& actor,
                                             const envelope& payload,
                                             const std::string& op) {
  auto r = impl_->call("send to " + actor, [&]() -> caf::expected<envelope> {
    auto req = impl_->cap.sendRequest();
    req.setActor(actor);
    req.setOp(op);
    auto p = req.initPayload();
    p.setTypeId(payload.type_id());
    p.setWords(kj::arrayPtr(reinterpret_cast<const kj::byte*>(payload.data()),
                            payload.size_bytes()));
    auto resp = impl_->wait(req.send());
    auto reply = resp.getReply();
    auto bytes = reply.getWords();
    return envelope::from_bytes(reply.getTypeId(), bytes.begin(), bytes.size());
  });
  if (!r) return r.error();
  return std::move(*r);
}

caf::expected<std::vector<stats_row>>
cluster_client::stats(const std::string& target) {
  return impl_->call("stats", [&] {
    auto req = impl_->cap.statsRequest();
    req.setTarget(target);
    auto resp = impl_->wait(req.send());
    std::vector<stats_row> out;
    for (auto s : resp.getStats())
      out.push_back({s.getTarget(), s.getNode(), s.getMailboxSize(),
                     s.getHandled(), s.getUptimeMs()});
    return out;
  });
}

caf::expected<dataset_ref>
cluster_client::upload_dataset(const std::string& path, uint32_t chunk_size) {
  auto ref = describe_file(path, chunk_size);
  if (!ref) return ref.error();
  if (auto err = check_ref(*ref)) return err;
  auto offered = impl_->call("upload of '" + path + "'", [&] {
    auto req = impl_->cap.datasetOfferRequest();
    auto d = req.initDataset();
    d.setHash(ref->hash);
    d.setSize(ref->size);
    d.setName(ref->name);
    d.setChunkSize(ref->chunk_size);
    return impl_->wait(req.send()).getHeld();
  });
  if (!offered) return offered.error();
  if (*offered) return ref;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("read", path);
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } closed{fd};
  using chunk_response = capnp::Response<schema::Cluster::DatasetChunkResults>;
  // a few chunks in flight, as a fetch between caches has: one round trip
  // per chunk would leave the link idle
  struct in_flight {
    uint32_t index;
    int tries;
    std::vector<uint8_t> bytes;
    kj::Promise<chunk_response> reply;
  };
  std::deque<in_flight> window;
  auto send = [&](uint32_t i, std::vector<uint8_t> bytes, int tries) {
    auto req = impl_->cap.datasetChunkRequest();
    auto c = req.initChunk();
    c.setHash(ref->hash);
    c.setIndex(i);
    c.setBytes(kj::arrayPtr(bytes.data(), bytes.size()));
    c.setChecksum(chunk_checksum(bytes.data(), bytes.size()));
    window.push_back({i, tries, std::move(bytes), req.send()});
  };
  constexpr size_t window_size = 4;
  bool held = false;
  uint32_t next = 0;
  while (next < ref->chunks() || !window.empty()) {
    while (next < ref->chunks() && window.size() < window_size) {
      auto len = chunk_length(*ref, next);
      if (!len) return len.error();
      std::vector<uint8_t> bytes(*len);
      uint64_t offset = uint64_t{next} * ref->chunk_size;
      size_t got = 0;
      while (got < bytes.size()) {
        auto r = ::pread(fd, bytes.data() + got, bytes.size() - got,
                         static_cast<off_t>(offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
          return make_error(errc::io_failure,
                            "'" + path + "' changed while it was uploaded");
        got += static_cast<size_t>(r);
      }
      send(next++, std::move(bytes), 1);
    }
    auto front = std::move(window.front());
    window.pop_front();
    auto answer = impl_->call(
        "chunk " + std::to_string(front.index) + " of '" + path + "'",
        [&] { return impl_->wait(std::move(front.reply)).getHeld(); });
    if (!answer) {
      // refused (a corrupt chunk): sent again, 3 tries in all
      if (front.tries >= 3) return answer.error();
      send(front.index, std::move(front.bytes), front.tries + 1);
      continue;
    }
    held = held || *answer;
  }
  if (!held)
    return make_error(errc::io_failure, "the head did not complete '" + path +
                                            "' after its last chunk");
  return ref;
}

caf::expected<void> cluster_client::stop(const std::string& actor) {
  return impl_->call("stop " + actor, [&] {
    auto req = impl_->cap.stopRequest();
    req.setActor(actor);
    impl_->wait(req.send());
  });
}

caf::expected<void> cluster_client::shutdown() {
  return impl_->call("shutdown",
                     [&] { impl_->wait(impl_->cap.shutdownRequest().send()); });
}

caf::expected<void> cluster_client::ping() {
  return impl_->call("ping",
                     [&] { impl_->wait(impl_->cap.pingRequest().send()); });
}

caf::expected<void> cluster_client::watch(
    const std::function<bool(const event_row&)>& on_event,
    std::chrono::milliseconds max_wait,
    const std::function<void(const std::vector<node_row>&,
                             const std::vector<actor_row>&)>& on_snapshot) {
  auto sink = std::make_shared<watch_sink>();
  struct deactivate {
    std::shared_ptr<watch_sink> s;
    ~deactivate() {
      s->active = false;
      s->bell = nullptr;
    }
  } guard{sink};
  auto& queue = sink->queue;
  auto& bell = sink->bell;
  return impl_->call("watch", [&] {
    auto req = impl_->cap.watchRequest();
    req.setWatcher(kj::heap<watcher_impl>(sink));
    auto resp = impl_->wait(req.send());
    if (on_snapshot) {
      std::vector<node_row> nodes;
      for (auto n : resp.getSnapshot().getNodes())
        nodes.push_back(to_row(n));
      on_snapshot(nodes, to_rows(resp.getSnapshot().getActors()));
    }
    auto& timer = impl_->io.provider->getTimer();
    auto deadline = timer.now() + max_wait.count() * kj::MILLISECONDS;
    for (;;) {
      while (!queue.empty()) {
        auto ev = std::move(queue.front());
        queue.pop_front();
        if (!on_event(ev)) return;
      }
      auto now = timer.now();
      if (now >= deadline) return;
      auto paf = kj::newPromiseAndFulfiller<void>();
      bell = std::move(paf.fulfiller);
      paf.promise.exclusiveJoin(timer.atTime(deadline))
          .wait(impl_->io.waitScope);
      bell = nullptr;
    }
  });
}

} // namespace troupe
