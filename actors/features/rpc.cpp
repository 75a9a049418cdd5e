#include "actors/features/rpc.hpp"

#include <map>
#include <optional>

#include <caf/all.hpp>
#include <capnp/message.h>

#include "actors/features/layout.hpp"
#include "actors/features/routing.hpp"
#include "actors/features/service.hpp"
#include "actors/features/store.hpp"
#include "runtime/bridge.hpp"
#include "runtime/envelope.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/features.capnp.h"

namespace troupe::features {

namespace {

/// Reads at most this many keys on the gateway's thread; more go to the
/// shard actors, which read in parallel.
constexpr size_t inline_keys = 256;

/// Largest answer one call may build (the RPC message limit is 64 MiB).
constexpr size_t max_answer_bytes = size_t{48} << 20;

const reader_limits big{uint64_t{1} << 30, 64};

using layout = store_layout;

/// The layout, as a KJ promise.
kj::Promise<layout> fetch_layout(caf::actor_system& sys, caf::actor dir,
                                 std::chrono::milliseconds timeout) {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<layout>();
  auto f = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<layout>>>(
      std::move(paf.fulfiller));
  sys.spawn([=](caf::event_based_actor* self) {
    features::fetch_layout(self, dir, timeout, true,
                           [f](caf::expected<layout> l) {
                             if (l)
                               (*f)->fulfill(std::move(*l));
                             else
                               (*f)->reject(rpc_failure(describe(l.error())));
                           });
  });
  return std::move(paf.promise);
}

std::string text(capnp::Text::Reader t) {
  return std::string{t.cStr(), t.size()};
}

class feature_server final : public schema::FeatureStore::Server {
public:
  feature_server(caf::actor_system& sys, caf::actor dir, clock_ptr clock)
      : sys_(sys), dir_(std::move(dir)), clock_(std::move(clock)),
        bridge_(sys) {}

  kj::Promise<void> createGroup(CreateGroupContext ctx) override {
    capnp::MallocMessageBuilder mb;
    mb.setRoot(ctx.getParams().getGroup());
    auto env = envelope::of<schema::FeatureGroup>(mb);
    return service()
        .then([this, env](caf::actor svc) {
          return bridge_.ask<envelope>(svc, timeout_, "", create_atom::value,
                                       env);
        })
        .then([this, ctx](envelope e) mutable {
          stale_ = true;
          check(e.visit<schema::FeatureGroup>(
              [&](auto r) { ctx.getResults().setGroup(r); }));
        });
  }

  kj::Promise<void> groups(GroupsContext ctx) override {
    return service()
        .then([this](caf::actor svc) {
          return bridge_.ask<envelope>(svc, timeout_, "", groups_atom::value,
                                       envelope{});
        })
        .then([ctx](envelope e) mutable {
          check(e.visit<schema::FeatureGroupList>(
              [&](auto r) { ctx.getResults().setGroups(r.getGroups()); }));
        });
  }

  kj::Promise<void> group(GroupContext ctx) override {
    auto env = make_envelope<schema::GroupName>(
        [&](auto b) { b.setName(ctx.getParams().getName()); });
    return service()
        .then([this, env](caf::actor svc) {
          return bridge_.ask<envelope>(svc, timeout_, "", group_atom::value,
                                       env);
        })
        .then([ctx](envelope e) mutable {
          check(e.visit<schema::GroupStats>(
              [&](auto r) { ctx.getResults().setStats(r); }));
        });
  }

  kj::Promise<void> get(GetContext ctx) override {
    auto p = ctx.getParams();
    return read_one(ctx, text(p.getGroup()), text(p.getEntity()), INT64_MAX);
  }

  kj::Promise<void> getAsOf(GetAsOfContext ctx) override {
    auto p = ctx.getParams();
    return read_one(ctx, text(p.getGroup()), text(p.getEntity()), p.getAsOf());
  }

  kj::Promise<void> lookup(LookupContext ctx) override {
    auto req = ctx.getParams().getRequest();
    if (req.getKeys().size() > max_lookup_keys)
      throw rpc_failure("a lookup takes at most " +
                        std::to_string(max_lookup_keys) + " keys, got " +
                        std::to_string(req.getKeys().size()));
    std::vector<std::string> names;
    for (auto g : req.getGroups())
      names.push_back(text(g));
    return with_groups(names).then([this, ctx, names]() mutable {
      auto req = ctx.getParams().getRequest();
      auto keys = req.getKeys();
      size_t row_bytes = 0;
      for (auto& n : names)
        row_bytes += layout_.groups[n].width * 4 +
                     layout_.groups[n].fields.size() * 24 + 64;
      if (row_bytes * keys.size() > max_answer_bytes)
        throw rpc_failure(
            "a lookup of " + std::to_string(keys.size()) + " keys in " +
            std::to_string(names.size()) + " group(s) would answer about " +
            std::to_string(row_bytes * keys.size() >> 20) +
            " MiB, above the 48 MiB a call may carry: ask for fewer keys");
      std::vector<std::vector<uint32_t>> parts(layout_.shards.size());
      for (uint32_t i = 0; i < keys.size(); ++i) {
        auto e = keys[i].getEntity();
        if (auto err = check_entity({e.cStr(), e.size()},
                                    "key " + std::to_string(i + 1)))
          throw rpc_failure(describe(err));
        parts[shard_of({e.cStr(), e.size()},
                       static_cast<uint32_t>(layout_.shards.size()))]
            .push_back(i);
      }
      auto res = ctx.getResults().initResult();
      auto out = res.initGroups(static_cast<unsigned>(names.size()));
      for (unsigned g = 0; g < names.size(); ++g) {
        out[g].setGroup(names[g]);
        out[g].initRows(keys.size());
      }
      // small and local: read here
      if (keys.size() <= inline_keys) {
        bool all_local = true;
        std::vector<std::shared_ptr<shard_store>> stores(parts.size());
        for (size_t s = 0; s < parts.size() && all_local; ++s)
          if (!parts[s].empty()) {
            stores[s] = local(s);
            all_local = stores[s] != nullptr;
          }
        if (all_local) {
          auto now = clock_->wall_ms() * 1000;
          for (size_t s = 0; s < parts.size(); ++s)
            if (!parts[s].empty())
              for (unsigned g = 0; g < names.size(); ++g)
                if (auto err = stores[s]->read(names[g], keys, parts[s],
                                               out[g].getRows(), now))
                  throw rpc_failure(describe(err));
          return kj::Promise<void>(kj::READY_NOW);
        }
      }
      // otherwise: every shard's part in parallel on the shard actors
      auto promises = kj::heapArrayBuilder<kj::Promise<void>>(parts.size());
      for (size_t s = 0; s < parts.size(); ++s) {
        if (parts[s].empty()) continue;
        auto sub = make_envelope<schema::Lookup>([&](auto b) {
          auto gs = b.initGroups(static_cast<unsigned>(names.size()));
          for (unsigned g = 0; g < names.size(); ++g)
            gs.set(g, names[g]);
          auto ks = b.initKeys(static_cast<unsigned>(parts[s].size()));
          for (unsigned j = 0; j < parts[s].size(); ++j)
            ks.setWithCaveats(j, keys[parts[s][j]]);
        });
        auto idx = parts[s];
        promises.add(ask_shard(s, read_atom::value, sub)
                         .then([ctx, idx, names](envelope e) mutable {
                           auto out = ctx.getResults().getResult().getGroups();
                           check(e.visit<schema::LookupResult>(
                               [&](auto r) {
                                 auto gs = r.getGroups();
                                 for (unsigned g = 0; g < names.size(); ++g) {
                                   auto rows = gs[g].getRows();
                                   auto dst = out[g].getRows();
                                   for (unsigned j = 0; j < idx.size(); ++j)
                                     dst.setWithCaveats(idx[j], rows[j]);
                                 }
                               },
                               big));
                         }));
      }
      return kj::joinPromises(promises.finish());
    });
  }

  kj::Promise<void> write(WriteContext ctx) override {
    std::string name = text(ctx.getParams().getBatch().getGroup());
    return with_groups({name}).then([this, ctx, name]() mutable {
      auto batch = ctx.getParams().getBatch();
      auto& g = layout_.groups[name];
      auto rows = batch.getRows();
      auto n = static_cast<uint32_t>(layout_.shards.size());
      std::vector<std::vector<uint32_t>> parts(n);
      for (uint32_t i = 0; i < rows.size(); ++i) {
        if (auto err = check_row(g, rows[i], "row " + std::to_string(i + 1),
                                 batch.getUpsert()))
          throw rpc_failure(describe(err));
        auto e = rows[i].getEntity();
        parts[shard_of({e.cStr(), e.size()}, n)].push_back(i);
      }
      auto total = std::make_shared<std::pair<uint64_t, uint32_t>>(0, 0);
      auto promises = kj::heapArrayBuilder<kj::Promise<void>>(n);
      for (uint32_t s = 0; s < n; ++s) {
        if (parts[s].empty()) continue;
        capnp::MallocMessageBuilder mb;
        auto sub = mb.initRoot<schema::FeatureWrite>();
        sub.setGroup(name);
        sub.setUpsert(batch.getUpsert());
        auto list = sub.initRows(static_cast<unsigned>(parts[s].size()));
        for (unsigned j = 0; j < parts[s].size(); ++j)
          list.setWithCaveats(j, rows[parts[s][j]]);
        promises.add(ordered_write(s, envelope::of<schema::FeatureWrite>(mb))
                         .then([total](envelope e) {
                           check(e.visit<schema::WriteResult>([&](auto r) {
                             total->first += r.getWritten();
                             total->second += r.getBatches();
                           }));
                         }));
      }
      return kj::joinPromises(promises.finish()).then([ctx, total]() mutable {
        auto r = ctx.getResults().initResult();
        r.setWritten(total->first);
        r.setBatches(total->second);
      });
    });
  }

  kj::Promise<void> validate(ValidateContext ctx) override {
    capnp::MallocMessageBuilder mb;
    mb.setRoot(ctx.getParams().getRequest());
    auto env = envelope::of<schema::ValidationRequest>(mb);
    return service()
        .then([this, env](caf::actor svc) {
          return bridge_.ask<envelope>(svc, std::chrono::minutes{30}, "",
                                       validate_atom::value, env);
        })
        .then([ctx](envelope e) mutable {
          check(e.visit<schema::ValidationReport>(
              [&](auto r) { ctx.getResults().setReport(r); }));
        });
  }

  kj::Promise<void> flush(FlushContext) override {
    return service()
        .then([this](caf::actor svc) {
          return bridge_.ask<bool>(svc, timeout_, "", flush_atom::value);
        })
        .then([](bool) {});
  }

private:
  /// The cached layout, fetched when missing or marked stale. A layout
  /// older than a second is fetched again in the background while requests
  /// go on with it, so shards that stopped or came back are seen soon
  /// without a round trip on the request path.
  kj::Promise<void> current_layout() {
    if (stale_) return fetch();
    if (clock_->now() - refreshed_at_ > std::chrono::seconds{1} &&
        refreshing_ == nullptr)
      background_.add(fetch());
    return kj::READY_NOW;
  }

  /// Fetches the layout (joining a fetch under way).
  kj::Promise<void> fetch() {
    KJ_IF_MAYBE (p, refreshing_) {
      return p->addBranch();
    }
    auto fork = fetch_layout(sys_, dir_, timeout_)
                    .then(
                        [this](layout l) {
                          layout_ = std::move(l);
                          stale_ = false;
                          refreshed_at_ = clock_->now();
                          refreshing_ = nullptr;
                        },
                        [this](kj::Exception&& e) {
                          refreshing_ = nullptr;
                          kj::throwFatalException(kj::mv(e));
                        })
                    .fork();
    auto branch = fork.addBranch();
    refreshing_ = kj::mv(fork);
    return branch;
  }

  kj::Promise<caf::actor> service() {
    return current_layout().then([this] { return layout_.service; });
  }

  /// Makes sure every group in `names` is known (fetching once if not).
  kj::Promise<void> with_groups(std::vector<std::string> names) {
    bool known = !layout_.shards.empty();
    for (auto& n : names)
      known = known && layout_.groups.count(n) > 0;
    return (known ? current_layout() : fetch()).then([this, names] {
      for (auto& n : names)
        if (!layout_.groups.count(n)) {
          std::string list;
          for (auto& [k, g] : layout_.groups)
            list += (list.empty() ? "" : ", ") + k;
          throw rpc_failure("no feature group '" + n + "' (groups: " +
                            (list.empty() ? "none" : list) + ")");
        }
      if (layout_.shards.empty())
        throw rpc_failure("the feature store has no shards yet");
    });
  }

  std::shared_ptr<shard_store> local(size_t s) {
    auto& h = layout_.shards[s].handle;
    return h ? local_shard(h.address()) : nullptr;
  }

  template <class... Ts>
  kj::Promise<envelope> ask_shard(size_t s, Ts... xs) {
    if (layout_.shards[s].handle) return send_to_shard(s, xs...);
    // Not running when the layout was fetched: it may run now.
    return fetch().then([=] { return send_to_shard(s, xs...); });
  }

  template <class... Ts>
  kj::Promise<envelope> send_to_shard(size_t s, Ts... xs) {
    if (s >= layout_.shards.size())
      throw rpc_failure("the store's layout changed: try again");
    auto& ref = layout_.shards[s];
    auto where = "shard " + std::to_string(ref.index) + " (" + ref.name +
                 " on node " + ref.node + "): ";
    if (!ref.handle) throw rpc_failure(where + "not running");
    return bridge_.ask<envelope>(ref.handle, timeout_, where, xs...)
        .then([](envelope e) { return e; },
              [this](kj::Exception&& e) -> envelope {
                stale_ = true;
                kj::throwFatalException(kj::mv(e));
              });
  }

  /// Sends a write to shard `s` once the writes sent to it before are done:
  /// batches in flight never overtake each other on a shard, so the last
  /// write of an (entity, time) wins as it does within one batch.
  kj::Promise<envelope> ordered_write(size_t s, envelope msg) {
    kj::Promise<void> before = kj::READY_NOW;
    if (auto t = tails_.find(s); t != tails_.end())
      before = t->second.addBranch();
    auto name = layout_.shards[s].name;
    auto done =
        before
            .then([this, s, msg, name] {
              if (s >= layout_.shards.size() || layout_.shards[s].name != name)
                throw rpc_failure("the store's layout changed: write again");
              return ask_shard(s, write_atom::value, msg);
            })
            .fork();
    tails_.erase(s);
    tails_.emplace(
        s,
        done.addBranch().then([](envelope) {}, [](kj::Exception&&) {}).fork());
    return done.addBranch();
  }

  template <class Context>
  kj::Promise<void> read_one(Context ctx, std::string group, std::string entity,
                             int64_t as_of) {
    if (auto err = check_entity(entity, "entity"))
      throw rpc_failure(describe(err));
    return with_groups({group}).then([this, ctx, group, entity,
                                      as_of]() mutable {
      auto s = shard_of(entity, static_cast<uint32_t>(layout_.shards.size()));
      if (auto store = local(s)) {
        // Sized so that the answer is one segment: one allocation, one piece
        // to write.
        uint64_t words = 32 + entity.size() / 8;
        if (auto g = layout_.groups.find(group); g != layout_.groups.end())
          words += (g->second.width + 1) / 2 + g->second.fields.size() * 3;
        auto results = ctx.getResults(capnp::MessageSize{words, 0});
        if (auto err = store->read_one(group, entity, as_of, results.initRow(),
                                       clock_->wall_ms() * 1000))
          throw rpc_failure(describe(err));
        return kj::Promise<void>(kj::READY_NOW);
      }
      auto sub = make_envelope<schema::Lookup>([&](auto b) {
        b.initGroups(1).set(0, group);
        auto k = b.initKeys(1)[0];
        k.setEntity(entity);
        k.setAsOf(as_of);
      });
      return ask_shard(s, read_atom::value, sub)
          .then([ctx](envelope e) mutable {
            check(e.visit<schema::LookupResult>(
                [&](auto r) {
                  ctx.getResults().setRow(r.getGroups()[0].getRows()[0]);
                },
                big));
          });
    });
  }

  caf::actor_system& sys_;
  caf::actor dir_;
  /// Decides when the cached layout is old.
  clock_ptr clock_;
  /// Makes every call to the service and the shards (one actor for all).
  actor_bridge bridge_;
  std::chrono::milliseconds timeout_{30000};
  layout layout_;
  bool stale_ = true;
  clock::time_point refreshed_at_;
  struct ignore_errors : kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&&) override {}
  };
  ignore_errors ignore_;
  kj::TaskSet background_{ignore_};
  kj::Maybe<kj::ForkedPromise<void>> refreshing_;
  std::map<size_t, kj::ForkedPromise<void>> tails_;
};

} // namespace

rpc_service make_rpc_service(clock_ptr clock) {
  return rpc_service{
      service_name, [clock](const rpc_context& ctx) {
        return capnp::Capability::Client{
            kj::heap<feature_server>(ctx.sys, ctx.directory, clock)};
      }};
}

} // namespace troupe::features
