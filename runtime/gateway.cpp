#include "runtime/gateway.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <caf/all.hpp>
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include "runtime/bridge.hpp"
#include "runtime/buffered_stream.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/log.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/cluster.capnp.h"
#include "schemas/datasets.capnp.h"

namespace troupe {

namespace {

kj::Exception failure(const std::string& what) {
  return rpc_failure(what);
}

/// Events pushed from CAF threads to the KJ thread, drained there.
struct inbox {
  std::mutex mtx;
  std::deque<std::pair<uint64_t, envelope>> items;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> bell;

  void post(uint64_t id, envelope ev) {
    std::lock_guard<std::mutex> guard{mtx};
    items.emplace_back(id, std::move(ev));
    if (bell) {
      bell->fulfill();
      bell = nullptr;
    }
  }
};

/// The RPC interfaces of one gateway thread, each made when first asked for
/// (by a client's `service` or by another interface) and kept.
class service_table : public std::enable_shared_from_this<service_table> {
public:
  service_table(caf::actor_system& sys, caf::actor directory,
                std::vector<rpc_service> services)
      : sys_(sys), dir_(std::move(directory)), services_(std::move(services)) {}

  capnp::Capability::Client get(const std::string& name) {
    if (auto made = made_.find(name); made != made_.end()) return made->second;
    auto i = std::find_if(services_.begin(), services_.end(),
                          [&](const rpc_service& s) { return s.name == name; });
    if (i == services_.end()) {
      std::string known;
      for (auto& s : services_)
        known += (known.empty() ? "" : ", ") + s.name;
      throw failure("no RPC service '" + name +
                    "' (known: " + (known.empty() ? "none" : known) + ")");
    }
    // An interface holds its lookup weakly: the table owns the interfaces.
    std::weak_ptr<service_table> self = shared_from_this();
    rpc_context ctx{sys_, dir_, [self](const std::string& other) {
                      auto table = self.lock();
                      if (!table)
                        throw failure("the gateway is stopping: no RPC "
                                      "service '" +
                                      other + "'");
                      return table->get(other);
                    }};
    return made_.emplace(name, i->make(ctx)).first->second;
  }

private:
  caf::actor_system& sys_;
  caf::actor dir_;
  std::vector<rpc_service> services_;
  std::map<std::string, capnp::Capability::Client> made_;
};

class cluster_server final : public schema::Cluster::Server {
public:
  cluster_server(caf::actor_system& sys, caf::actor directory,
                 std::chrono::milliseconds timeout,
                 std::shared_ptr<inbox> events,
                 std::vector<rpc_service> services)
      : sys_(sys), dir_(std::move(directory)), bridge_(sys), timeout_(timeout),
        events_(std::move(events)), services_(std::make_shared<service_table>(
                                        sys, dir_, std::move(services))),
        tasks_(error_handler_) {
    tasks_.add(pump());
  }

  ~cluster_server() {
    for (auto& [id, w] : watchers_)
      caf::anon_send_exit(w.relay, caf::exit_reason::user_shutdown);
  }

  kj::Promise<void> nodes(NodesContext ctx) override {
    return bridge_.ask<envelope>(dir_, timeout_, "", snapshot_atom::value)
        .then([ctx](envelope e) mutable {
          check(e.visit<schema::Snapshot>(
              [&](auto s) { ctx.getResults().setNodes(s.getNodes()); }));
        });
  }

  kj::Promise<void> slots(SlotsContext ctx) override {
    return bridge_.ask<envelope>(dir_, timeout_, "", snapshot_atom::value)
        .then([ctx](envelope e) mutable {
          check(e.visit<schema::Snapshot>(
              [&](auto s) { ctx.getResults().setSlots(s.getSlots()); }));
        });
  }

  kj::Promise<void> actors(ActorsContext ctx) override {
    return bridge_.ask<envelope>(dir_, timeout_, "", snapshot_atom::value)
        .then([ctx](envelope e) mutable {
          check(e.visit<schema::Snapshot>(
              [&](auto s) { ctx.getResults().setActors(s.getActors()); }));
        });
  }

  kj::Promise<void> spawn(SpawnContext ctx) override {
    auto p = ctx.getParams();
    return bridge_
        .ask<envelope>(
            dir_, timeout_, "", caf::spawn_atom::value,
            std::string{p.getKind().cStr()}, std::string{p.getNode().cStr()},
            std::string{p.getConfig().cStr()}, std::string{p.getName().cStr()})
        .then([ctx](envelope e) mutable {
          check(e.visit<schema::Snapshot>(
              [&](auto s) { ctx.getResults().setActors(s.getActors()); }));
        });
  }

  kj::Promise<void> send(SendContext ctx) override {
    auto p = ctx.getParams();
    std::string name = p.getActor();
    std::string op = p.getOp();
    if (op.empty()) op = "call";
    if (op.size() > 10)
      throw failure("op '" + op + "' is longer than 10 characters");
    auto payload = p.getPayload();
    auto bytes = payload.getWords();
    auto env =
        envelope::from_bytes(payload.getTypeId(), bytes.begin(), bytes.size());
    if (!env) throw failure(describe(env.error()));
    auto paf = kj::newPromiseAndCrossThreadFulfiller<envelope>();
    auto f =
        std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<envelope>>>(
            std::move(paf.fulfiller));
    auto timeout = timeout_;
    auto dir = dir_;
    auto msg = std::move(*env);
    auto op_atom = caf::atom_from_string(op);
    sys_.spawn([=](caf::event_based_actor* self) {
      self->request(dir, timeout, lookup_atom::value, name)
          .then(
              [=](const caf::actor& target) {
                self->request(target, timeout, op_atom, msg)
                    .then(
                        [=](envelope& reply) {
                          (*f)->fulfill(std::move(reply));
                        },
                        [=](caf::error& err) {
                          (*f)->reject(failure("actor '" + name +
                                               "' answered " + describe(err)));
                        });
              },
              [=](caf::error& err) { (*f)->reject(failure(describe(err))); });
    });
    return paf.promise.then([ctx](envelope reply) mutable {
      auto out = ctx.getResults().initReply();
      out.setTypeId(reply.type_id());
      auto words = reply.words();
      out.setWords(
          kj::arrayPtr(reinterpret_cast<const kj::byte*>(words.begin()),
                       reply.size_bytes()));
    });
  }

  kj::Promise<void> stats(StatsContext ctx) override {
    return bridge_
        .ask<envelope>(dir_, timeout_, "", gather_atom::value,
                       std::string{ctx.getParams().getTarget().cStr()})
        .then([ctx](envelope e) mutable {
          check(e.visit<schema::StatsList>(
              [&](auto s) { ctx.getResults().setStats(s.getStats()); }));
        });
  }

  kj::Promise<void> stop(StopContext ctx) override {
    return bridge_.ask<void>(dir_, timeout_, "", stop_atom::value,
                             std::string{ctx.getParams().getActor().cStr()});
  }

  kj::Promise<void> shutdown(ShutdownContext) override {
    return bridge_.ask<void>(dir_, timeout_, "", shutdown_atom::value);
  }

  kj::Promise<void> kinds(KindsContext ctx) override {
    return bridge_
        .ask<std::vector<std::string>>(dir_, timeout_, "", kinds_atom::value)
        .then([ctx](std::vector<std::string> ks) mutable {
          auto out =
              ctx.getResults().initKinds(static_cast<unsigned>(ks.size()));
          for (unsigned i = 0; i < ks.size(); ++i)
            out.set(i, ks[i]);
        });
  }

  kj::Promise<void> ping(PingContext) override {
    return bridge_.ask<ping_atom>(dir_, timeout_, "", ping_atom::value)
        .then([](ping_atom) {});
  }

  kj::Promise<void> datasetOffer(DatasetOfferContext ctx) override {
    auto d = ctx.getParams().getDataset();
    auto env = make_envelope<schema::DatasetRef>([&](auto b) {
      b.setHash(d.getHash());
      b.setSize(d.getSize());
      b.setName(d.getName());
      b.setChunkSize(d.getChunkSize());
    });
    return bridge_
        .ask<bool>(dataset_cache(), timeout_,
                   "the head's dataset cache: ", dataset_offer_atom::value, env)
        .then([ctx](bool held) mutable { ctx.getResults().setHeld(held); });
  }

  kj::Promise<void> datasetChunk(DatasetChunkContext ctx) override {
    auto c = ctx.getParams().getChunk();
    auto env = make_envelope<schema::DatasetChunk>([&](auto b) {
      b.setHash(c.getHash());
      b.setIndex(c.getIndex());
      b.setBytes(c.getBytes());
      b.setChecksum(c.getChecksum());
    });
    return bridge_
        .ask<bool>(dataset_cache(), timeout_,
                   "the head's dataset cache: ", dataset_chunk_atom::value, env)
        .then([ctx](bool held) mutable { ctx.getResults().setHeld(held); });
  }

  kj::Promise<void> service(ServiceContext ctx) override {
    ctx.getResults().setService(services_->get(ctx.getParams().getName()));
    return kj::READY_NOW;
  }

  kj::Promise<void> watch(WatchContext ctx) override {
    auto id = next_watch_++;
    auto events = events_;
    auto paf = kj::newPromiseAndCrossThreadFulfiller<envelope>();
    auto f =
        std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<envelope>>>(
            std::move(paf.fulfiller));
    auto dir = dir_;
    auto timeout = timeout_;
    auto relay = sys_.spawn([=](caf::event_based_actor* self) -> caf::behavior {
      self->request(dir, timeout, subscribe_atom::value)
          .then([=](envelope& snap) { (*f)->fulfill(std::move(snap)); },
                [=](caf::error& err) {
                  (*f)->reject(failure(describe(err)));
                  self->quit();
                });
      return {
          [=](event_atom, const envelope& ev) { events->post(id, ev); },
      };
    });
    watchers_.emplace(id, watch_entry{ctx.getParams().getWatcher(), relay});
    return paf.promise.then(
        [ctx](envelope snap) mutable {
          check(snap.visit<schema::Snapshot>(
              [&](auto s) { ctx.getResults().setSnapshot(s); }));
        },
        [this, id](kj::Exception&& e) -> void {
          drop_watcher(id);
          throw std::move(e);
        });
  }

private:
  /// The head's dataset cache (its agent starts it).
  caf::actor dataset_cache() {
    auto h = caf::actor_cast<caf::actor>(local_dataset_cache(sys_));
    if (!h) throw failure("the head runs no dataset cache");
    return h;
  }

  struct watch_entry {
    schema::Watcher::Client client;
    caf::actor relay;
  };

  struct ignore_errors : kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&&) override {}
  };

  void drop_watcher(uint64_t id) {
    auto i = watchers_.find(id);
    if (i == watchers_.end()) return;
    caf::anon_send_exit(i->second.relay, caf::exit_reason::user_shutdown);
    watchers_.erase(i);
  }

  /// Waits for events from CAF threads and forwards them to their watchers.
  kj::Promise<void> pump() {
    auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
    {
      std::lock_guard<std::mutex> guard{events_->mtx};
      if (!events_->items.empty())
        paf.fulfiller->fulfill();
      else
        events_->bell = std::move(paf.fulfiller);
    }
    return paf.promise.then([this] {
      std::deque<std::pair<uint64_t, envelope>> batch;
      {
        std::lock_guard<std::mutex> guard{events_->mtx};
        batch.swap(events_->items);
      }
      for (auto& [id, ev] : batch)
        deliver(id, ev);
      return pump();
    });
  }

  void deliver(uint64_t id, const envelope& ev) {
    auto i = watchers_.find(id);
    if (i == watchers_.end()) return;
    auto req = i->second.client.eventRequest();
    auto ok =
        ev.visit<schema::DirectoryEvent>([&](auto r) { req.setEvent(r); });
    if (!ok) return;
    tasks_.add(req.send().then([](auto&&) {},
                               [this, id](kj::Exception&&) {
                                 log::get("gateway")->info(
                                     "watcher {} is gone: unsubscribed", id);
                                 drop_watcher(id);
                               }));
  }

  caf::actor_system& sys_;
  caf::actor dir_;
  /// Makes the calls to the directory (one actor for all).
  actor_bridge bridge_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<inbox> events_;
  std::shared_ptr<service_table> services_;
  std::map<uint64_t, watch_entry> watchers_;
  uint64_t next_watch_ = 1;
  ignore_errors error_handler_;
  kj::TaskSet tasks_;
};

/// A listening TCP socket on bind:port (port 0: any free one), non-blocking
/// and close-on-exec; errors name the address.
caf::expected<int> listen_socket(const std::string& bind, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  auto where = bind + ":" + std::to_string(port);
  if (int rc = getaddrinfo(bind.empty() ? nullptr : bind.c_str(),
                           std::to_string(port).c_str(), &hints, &res);
      rc != 0)
    return make_error(errc::io_failure, "RPC gateway cannot resolve " + where +
                                            ": " + gai_strerror(rc));
  std::string why = "no address";
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
      freeaddrinfo(res);
      return fd;
    }
    why = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(res);
  return make_error(errc::io_failure,
                    "RPC gateway cannot listen on " + where + ": " + why);
}

uint16_t port_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET)
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

} // namespace

struct gateway::impl {
  caf::actor_system& sys;
  caf::actor directory;
  std::chrono::milliseconds timeout;
  std::vector<rpc_service> services;
  size_t thread_count;
  std::vector<std::thread> threads;
  std::mutex mtx;
  std::vector<kj::Own<kj::CrossThreadPromiseFulfiller<void>>> stoppers;
  bool stopped = false;
  int fd = -1;

  impl(caf::actor_system& s, caf::actor d, std::chrono::milliseconds t,
       std::vector<rpc_service> svcs, size_t n)
      : sys(s), directory(std::move(d)), timeout(t), services(std::move(svcs)),
        thread_count(n) {}

  ~impl() {
    if (fd >= 0) close(fd);
  }

  /// Accepts connections until the loop stops, each read through a buffer.
  static kj::Promise<void> accept_loop(kj::ConnectionReceiver& listener,
                                       capnp::TwoPartyServer& server) {
    return listener.accept().then(
        [&listener, &server](kj::Own<kj::AsyncIoStream>&& connection) {
          server.accept(buffered(kj::mv(connection)));
          return accept_loop(listener, server);
        });
  }

  /// One serving thread: its own event loop, Cluster server and services,
  /// accepting on the shared listening socket (the kernel hands each
  /// connection to one of the threads).
  void serve(std::shared_ptr<std::promise<bool>> ready) {
    auto lg = log::get("gateway");
    try {
      auto io = kj::setupAsyncIo();
      auto listener = io.lowLevelProvider->wrapListenSocketFd(
          dup(fd), kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
      auto stop_paf = kj::newPromiseAndCrossThreadFulfiller<void>();
      {
        std::lock_guard<std::mutex> guard{mtx};
        if (stopped) stop_paf.fulfiller->fulfill();
        stoppers.push_back(std::move(stop_paf.fulfiller));
      }
      auto events = std::make_shared<inbox>();
      capnp::TwoPartyServer server{
          kj::heap<cluster_server>(sys, directory, timeout, events, services)};
      ready->set_value(true);
      accept_loop(*listener, server)
          .exclusiveJoin(std::move(stop_paf.promise))
          .wait(io.waitScope);
    } catch (const kj::Exception& e) {
      lg->error("RPC gateway thread failed: {}", e.getDescription().cStr());
      try {
        ready->set_value(false);
      } catch (const std::future_error&) {
        // it was serving
      }
    }
  }
};

gateway::gateway(caf::actor_system& sys, caf::actor directory,
                 std::chrono::milliseconds call_timeout,
                 std::vector<rpc_service> services, size_t threads)
    : impl_(std::make_unique<impl>(
          sys, std::move(directory), call_timeout, std::move(services),
          threads > 0 ? threads
                      : std::clamp<size_t>(std::thread::hardware_concurrency(),
                                           1, 4))) {
  // nop
}

gateway::~gateway() {
  stop();
}

caf::expected<uint16_t> gateway::start(const std::string& bind, uint16_t port) {
  auto fd = listen_socket(bind, port);
  if (!fd) {
    log::get("gateway")->error("{}", describe(fd.error()));
    return fd.error();
  }
  impl_->fd = *fd;
  auto bound = port_of(*fd);
  for (size_t i = 0; i < impl_->thread_count; ++i) {
    auto ready = std::make_shared<std::promise<bool>>();
    auto done = ready->get_future();
    impl_->threads.emplace_back([this, ready, i] {
      log::name_thread("troupe.gw" + std::to_string(i + 1));
      impl_->serve(ready);
    });
    if (!done.get()) {
      stop();
      return make_error(errc::io_failure,
                        "RPC gateway on " + bind + ":" + std::to_string(bound) +
                            ": serving thread " + std::to_string(i + 1) +
                            " could not start (see "
                            "the log)");
    }
  }
  log::get("gateway")->info("RPC gateway listening on {}:{} ({} threads)", bind,
                            bound, impl_->thread_count);
  return bound;
}

void gateway::stop() {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->stopped = true;
    for (auto& s : impl_->stoppers)
      s->fulfill();
    impl_->stoppers.clear();
  }
  if (impl_->fd >= 0) { // no more connections are accepted
    close(impl_->fd);
    impl_->fd = -1;
  }
  bool any = false;
  for (auto& t : impl_->threads)
    if (t.joinable()) {
      t.join();
      any = true;
    }
  impl_->threads.clear();
  if (any) log::get("gateway")->info("RPC gateway stopped");
}

} // namespace troupe
