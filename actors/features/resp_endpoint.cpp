#include "actors/features/resp_endpoint.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/features/atoms.hpp"
#include "actors/features/errors.hpp"
#include "actors/features/layout.hpp"
#include "actors/features/resp_commands.hpp"
#include "actors/features/shard.hpp"
#include "actors/features/store.hpp"
#include "runtime/bridge.hpp"
#include "runtime/envelope.hpp"
#include "runtime/log.hpp"
#include "schemas/features.capnp.h"

namespace troupe::features {

namespace {

/// The layout as the server's threads read it.
struct snapshot {
  std::map<std::string, std::shared_ptr<const group_spec>> groups;
  std::vector<shard_ref> shards; ///< by index
  /// The shards on this node, by index (null: elsewhere or not running).
  std::vector<std::shared_ptr<const shard_store>> local;
};

} // namespace

struct resp_endpoint::state {
  std::string node;
  clock_ptr clock;
  std::chrono::milliseconds timeout{5000};
  std::unique_ptr<actor_bridge> bridge;
  caf::actor keeper;
  std::thread warmer; ///< runs warm()

  std::shared_ptr<const snapshot> current() const {
    std::lock_guard<std::mutex> guard{mtx};
    return snap;
  }

  void install(const store_layout& l) {
    auto s = std::make_shared<snapshot>();
    for (auto& [name, g] : l.groups)
      s->groups.emplace(name, std::make_shared<const group_spec>(g));
    for (auto& ref : l.shards) {
      if (ref.index >= s->shards.size()) {
        s->shards.resize(ref.index + 1);
        s->local.resize(ref.index + 1);
      }
      s->shards[ref.index] = ref;
      if (ref.node == node && ref.handle)
        s->local[ref.index] = local_shard(ref.handle->address());
    }
    std::lock_guard<std::mutex> guard{mtx};
    snap = std::move(s);
  }

  /// Maps what the shards on this node wrote into the page tables, every
  /// `every` until stop_warming(): reads then take no page fault (LMDB's pages
  /// are mapped from the file, and a page's first touch would fault).
  void warm(std::chrono::milliseconds every) {
    std::unique_lock<std::mutex> lock{warm_mtx};
    while (!stopping) {
      lock.unlock();
      if (auto s = current())
        for (auto& store : s->local)
          if (store) store->prefault();
      lock.lock();
      warm_cv.wait_for(lock, every, [&] { return stopping; });
    }
  }

  void stop_warming() {
    {
      std::lock_guard<std::mutex> guard{warm_mtx};
      stopping = true;
    }
    warm_cv.notify_all();
  }

private:
  mutable std::mutex mtx;
  std::shared_ptr<const snapshot> snap;
  std::mutex warm_mtx;
  std::condition_variable warm_cv;
  bool stopping = false;
};

namespace {

using state_ptr = std::shared_ptr<resp_endpoint::state>;

/// Keeps the endpoint's layout: fetches it now and every `every`.
caf::behavior layout_keeper(caf::event_based_actor* self,
                            std::weak_ptr<resp_endpoint::state> st,
                            caf::actor dir, std::chrono::milliseconds every,
                            std::chrono::milliseconds timeout) {
  self->send(self, refresh_atom::value);
  return {
      [=](refresh_atom) {
        fetch_layout(self, dir, timeout, false,
                     [=](caf::expected<store_layout> l) {
                       if (auto s = st.lock()) {
                         if (l)
                           s->install(*l);
                         else
                           log::get("features")
                               ->debug("RESP endpoint on {}: {}", s->node,
                                       describe(l.error()));
                       }
                       self->delayed_send(self, every, refresh_atom::value);
                     });
      },
  };
}

/// Reads keys of shard `shard` from its actor on another node.
void read_remote(const state_ptr& st, const std::string& group, uint32_t shard,
                 const std::vector<std::string>& entities, int64_t as_of,
                 remote_rows done) {
  auto snap = st->current();
  if (!snap || shard >= snap->shards.size() || !snap->shards[shard].handle)
    return done(
        make_error(errc::shard_down,
                   "not running" +
                       (snap && shard < snap->shards.size()
                            ? " (its node is " + snap->shards[shard].node + ")"
                            : std::string{})),
        {});
  auto& ref = snap->shards[shard];
  auto env = make_envelope<schema::Lookup>([&](auto b) {
    b.initGroups(1).set(0, group);
    auto keys = b.initKeys(static_cast<unsigned>(entities.size()));
    for (unsigned i = 0; i < keys.size(); ++i) {
      keys[i].setEntity(entities[i]);
      keys[i].setAsOf(as_of);
    }
  });
  st->bridge->call<envelope>(
      ref.handle, st->timeout, "on node " + ref.node + ": ",
      [done = std::move(done)](caf::expected<envelope> r) {
        if (!r) return done(r.error(), {});
        std::vector<schema::FeatureRow::Reader> rows;
        auto ok = r->visit<schema::LookupResult>(
            [&](auto res) {
              if (res.getGroups().size() == 0) return;
              for (auto row : res.getGroups()[0].getRows())
                rows.push_back(row);
              std::vector<const schema::FeatureRow::Reader*> ptrs;
              for (auto& row : rows)
                ptrs.push_back(row.getFound() ? &row : nullptr);
              done(caf::error{}, ptrs);
            },
            reader_limits{uint64_t{1} << 30, 64});
        if (!ok) done(ok.error(), {});
      },
      read_atom::value, env);
}

feature_source source_of(const state_ptr& st) {
  feature_source src;
  src.group =
      [st](const std::string& name) -> std::shared_ptr<const group_spec> {
    auto snap = st->current();
    if (!snap) return nullptr;
    auto g = snap->groups.find(name);
    if (g == snap->groups.end()) return nullptr;
    return g->second;
  };
  src.store = [st](const std::string&,
                   uint32_t shard) -> std::shared_ptr<const shard_store> {
    auto snap = st->current();
    if (!snap || shard >= snap->local.size()) return nullptr;
    return snap->local[shard];
  };
  src.remote = [st](const std::string& group, uint32_t shard,
                    std::vector<std::string> entities, int64_t as_of,
                    remote_rows done) {
    read_remote(st, group, shard, entities, as_of, std::move(done));
  };
  src.now_us = [st] { return st->clock->wall_ms() * 1000; };
  return src;
}

} // namespace

caf::expected<std::unique_ptr<resp_endpoint>>
resp_endpoint::start(caf::actor_system& sys, caf::actor dir, std::string node,
                     resp_endpoint_options options, clock_ptr clock) {
  auto st = std::make_shared<state>();
  st->node = std::move(node);
  st->clock = std::move(clock);
  st->timeout = options.timeout;
  st->bridge = std::make_unique<actor_bridge>(sys);
  resp_server_options so;
  so.host = options.host;
  so.port = options.port;
  so.threads = options.threads;
  auto server = resp_server::start(so, feature_commands(source_of(st)));
  if (!server) return server.error();
  st->keeper = sys.spawn(layout_keeper, std::weak_ptr<state>{st},
                         std::move(dir), options.refresh, options.timeout);
  st->warmer = std::thread{
      [raw = st.get(), every = options.refresh] { raw->warm(every); }};
  std::unique_ptr<resp_endpoint> e{new resp_endpoint};
  e->state_ = std::move(st);
  e->server_ = std::move(*server);
  log::get("features")
      ->info("RESP endpoint of node {} on {}:{}", e->state_->node, options.host,
             e->server_->port());
  return e;
}

resp_endpoint::~resp_endpoint() {
  server_.reset(); // no thread reads the state any more
  state_->stop_warming();
  state_->warmer.join();
  caf::anon_send_exit(state_->keeper, caf::exit_reason::user_shutdown);
}

uint16_t resp_endpoint::port() const {
  return server_->port();
}

resp_server_stats resp_endpoint::stats() const {
  return server_->stats();
}

bool resp_endpoint::ready() const {
  return state_->current() != nullptr;
}

} // namespace troupe::features
