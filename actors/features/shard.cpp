// features.shard: one LMDB shard of the feature store (protocol in
// shard.hpp).

#include "actors/features/shard.hpp"

#include <filesystem>
#include <map>
#include <mutex>

#include <caf/all.hpp>

#include "actors/features/errors.hpp"
#include "actors/features/parse.hpp"
#include "actors/features/store.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"

namespace troupe::features {

namespace {

std::mutex registry_mtx;
std::map<caf::actor_addr, std::weak_ptr<shard_store>>& registry() {
  static std::map<caf::actor_addr, std::weak_ptr<shard_store>> table;
  return table;
}

constexpr auto sweep_every = std::chrono::seconds{60};

caf::expected<uint32_t> parse_index(const std::string& text) {
  auto v = parse_unsigned(text);
  if (v && *v < 65536) return static_cast<uint32_t>(*v);
  return make_error(errc::bad_shard_config, "features.shard: config '" + text +
                                                "' is not a shard index");
}

struct shard_state {
  static inline const char* name = "features.shard";
  std::shared_ptr<shard_store> store;
  std::string node;
  std::string actor;
  clock_ptr clock;
  std::shared_ptr<spdlog::logger> log = log::get("features");

  /// Now on the wall clock, in the store's microseconds.
  int64_t now_us() const { return clock->wall_ms() * 1000; }
};

using shard_self = stateful_worker<shard_actor, shard_state>;

/// Opens the shard's store as `args` says.
caf::expected<std::shared_ptr<shard_store>> open_store(const kind_args& args) {
  auto index = parse_index(args.config);
  if (!index) return index.error();
  if (args.data_dir.empty())
    return make_error(errc::bad_shard_config,
                      "features.shard " + args.config + " on node " +
                          args.node + ": the node has no data directory");
  auto dir = std::filesystem::path{args.data_dir} / "features" /
             ("shard-" + std::to_string(*index));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return shard_store::open(dir.string(), *index);
}

caf::result<bool> on_define(shard_self* self, const envelope& env) {
  auto g =
      env.visit<schema::FeatureGroup>([](auto r) { return from_schema(r); });
  if (!g) return g.error();
  if (auto err = self->state.store->add_group(*g)) return err;
  return true;
}

caf::result<envelope> on_write(shard_self* self, const envelope& env) {
  auto& st = self->state;
  caf::expected<uint64_t> written = uint64_t{0};
  auto ok = env.visit<schema::FeatureWrite>(
      [&](auto batch) { written = st.store->write(batch, {}, st.now_us()); },
      reader_limits{uint64_t{1} << 30, 64});
  if (!ok) return ok.error();
  if (!written) return written.error();
  return make_envelope<schema::WriteResult>([&](auto r) {
    r.setWritten(*written);
    r.setBatches(1);
  });
}

caf::result<envelope> on_read(shard_self* self, const envelope& env) {
  auto& st = self->state;
  caf::error err;
  capnp::MallocMessageBuilder out;
  auto ok = env.visit<schema::Lookup>([&](auto req) {
    auto keys = req.getKeys();
    std::vector<uint32_t> all(keys.size());
    for (uint32_t i = 0; i < keys.size(); ++i)
      all[i] = i;
    auto res = out.initRoot<schema::LookupResult>();
    auto gs = res.initGroups(req.getGroups().size());
    auto now = st.now_us();
    for (unsigned g = 0; g < gs.size() && !err; ++g) {
      std::string group = req.getGroups()[g];
      gs[g].setGroup(group);
      err = st.store->read(group, keys, all, gs[g].initRows(keys.size()), now);
    }
  });
  if (!ok) return ok.error();
  if (err) return err;
  return envelope::of<schema::LookupResult>(out);
}

caf::result<envelope> on_stats(shard_self* self, const std::string& group) {
  auto& st = self->state;
  auto s = st.store->stats(group);
  if (!s) return s.error();
  return make_envelope<schema::ShardStats>([&](auto r) {
    r.setShard(st.store->index());
    r.setNode(st.node);
    r.setActor(st.actor);
    r.setGroup(group);
    r.setEntities(s->entities);
    r.setVersions(s->versions);
    r.setBytes(s->bytes);
  });
}

caf::result<envelope> on_scan(shard_self* self, const std::string& group,
                              const std::string& after, uint64_t limit) {
  auto& st = self->state;
  capnp::MallocMessageBuilder out;
  std::vector<capnp::Orphan<schema::FeatureRow>> rows;
  auto orphanage = out.getOrphanage();
  auto next = st.store->scan_latest(
      group, after, limit,
      [&](schema::FeatureRow::Reader r) {
        rows.push_back(orphanage.newOrphanCopy(r));
      },
      st.now_us());
  if (!next) return next.error();
  auto res = out.initRoot<schema::LookupResult>();
  auto g = res.initGroups(1)[0];
  g.setGroup(group);
  auto list = g.initRows(static_cast<unsigned>(rows.size()));
  for (unsigned i = 0; i < rows.size(); ++i)
    list.setWithCaveats(i, rows[i].getReader());
  g.setNext(*next);
  return envelope::of<schema::LookupResult>(out);
}

void on_sweep(shard_self* self) {
  auto& st = self->state;
  auto n = st.store->sweep(st.now_us());
  if (!n)
    st.log->warn("shard {}: sweep failed: {}", st.store->index(),
                 describe(n.error()));
  else if (*n > 0)
    st.log->info("shard {}: {} expired versions deleted", st.store->index(),
                 *n);
  self->delayed_send(self, sweep_every, sweep_atom::value);
}

shard_actor::behavior_type shard(shard_self* self, kind_args args,
                                 clock_ptr clock) {
  auto& st = self->state;
  auto store = open_store(args);
  if (!store) {
    st.log->error("{}", describe(store.error()));
    self->quit(store.error());
    return stopped_behavior<shard_actor>();
  }
  st.store = std::move(*store);
  st.node = args.node;
  st.actor = args.name;
  st.clock = std::move(clock);
  {
    std::lock_guard<std::mutex> guard{registry_mtx};
    registry()[self->address()] = st.store;
  }
  auto addr = self->address();
  self->attach_functor([addr] {
    std::lock_guard<std::mutex> guard{registry_mtx};
    registry().erase(addr);
  });
  st.log->info("shard {} open at {} on node {}", st.store->index(),
               st.store->path(), args.node);
  self->delayed_send(self, sweep_every, sweep_atom::value);
  self->identify(args);
  return {
      [=](define_atom, const envelope& env) { return on_define(self, env); },
      [=](write_atom, const envelope& env) { return on_write(self, env); },
      [=](read_atom, const envelope& env) { return on_read(self, env); },
      [=](shard_stats_atom, const std::string& group) {
        return on_stats(self, group);
      },
      [=](scan_atom, const std::string& group, const std::string& after,
          uint64_t limit) { return on_scan(self, group, after, limit); },
      [=](flush_atom) -> caf::result<bool> {
        if (auto err = self->state.store->sync()) return err;
        return true;
      },
      [=](sweep_atom) { on_sweep(self); },
      self->stats_handler(),
  };
}

} // namespace

std::string shard_name(uint32_t index) {
  return "features.shard." + std::to_string(index);
}

std::shared_ptr<shard_store> local_shard(const caf::actor_addr& addr) {
  std::lock_guard<std::mutex> guard{registry_mtx};
  auto i = registry().find(addr);
  return i == registry().end() ? nullptr : i->second.lock();
}

void register_shard_kind(caf::actor_system_config& cfg, clock_ptr clock) {
  cfg.add_actor_type(shard_kind, [clock](shard_self* self, kind_args args) {
    return shard(self, std::move(args), clock);
  });
  mark_service_kind(shard_kind);
}

} // namespace troupe::features
