// features.shard: one LMDB shard of the feature store (protocol in
// service.hpp).

#include <filesystem>
#include <map>
#include <mutex>

#include <caf/all.hpp>

#include "actors/features/service.hpp"
#include "actors/features/store.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"

namespace troupe::features {

namespace {

std::mutex registry_mtx;
std::map<caf::actor_addr, std::weak_ptr<shard_store>>& registry() {
  static std::map<caf::actor_addr, std::weak_ptr<shard_store>> table;
  return table;
}

constexpr auto sweep_every = std::chrono::seconds{60};

caf::expected<uint32_t> parse_index(const std::string& text) {
  try {
    size_t used = 0;
    auto v = std::stoul(text, &used);
    if (used == text.size() && v < 65536) return static_cast<uint32_t>(v);
  } catch (const std::exception&) {
  }
  return make_error(errc::invalid_argument, "features.shard: config '" + text +
                                                "' is not a shard index");
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

caf::behavior shard_actor(worker* self, kind_args args) {
  auto lg = log::get("features");
  auto index = parse_index(args.config);
  std::shared_ptr<shard_store> store;
  caf::error failure;
  if (!index) {
    failure = index.error();
  } else if (args.data_dir.empty()) {
    failure = make_error(errc::invalid_argument,
                         "features.shard " + args.config + " on node " +
                             args.node + ": the node has no data directory");
  } else {
    auto dir = std::filesystem::path{args.data_dir} / "features" /
               ("shard-" + std::to_string(*index));
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    auto opened = shard_store::open(dir.string(), *index);
    if (opened)
      store = *opened;
    else
      failure = opened.error();
  }
  if (failure) {
    lg->error("{}", describe(failure));
    self->quit(failure);
    return {};
  }
  {
    std::lock_guard<std::mutex> guard{registry_mtx};
    registry()[self->address()] = store;
  }
  auto addr = self->address();
  self->attach_functor([addr] {
    std::lock_guard<std::mutex> guard{registry_mtx};
    registry().erase(addr);
  });
  lg->info("shard {} open at {} on node {}", *index, store->path(), args.node);
  self->delayed_send(self, sweep_every, sweep_atom::value);
  auto node = args.node;
  auto name = args.name;
  return self->with_stats(
      args,
      {
          [=](group_atom, const envelope& env) -> caf::result<bool> {
            auto g = env.visit<schema::FeatureGroup>(
                [](auto r) { return from_schema(r); });
            if (!g) return g.error();
            if (auto err = store->add_group(*g)) return err;
            return true;
          },
          [=](write_atom, const envelope& env) -> caf::result<envelope> {
            caf::expected<uint64_t> written = uint64_t{0};
            auto ok = env.visit<schema::FeatureWrite>(
                [&](auto batch) {
                  written = store->write(batch, {}, now_micros());
                },
                reader_limits{uint64_t{1} << 30, 64});
            if (!ok) return ok.error();
            if (!written) return written.error();
            return make_envelope<schema::WriteResult>([&](auto r) {
              r.setWritten(*written);
              r.setBatches(1);
            });
          },
          [=](read_atom, const envelope& env) -> caf::result<envelope> {
            caf::error err;
            capnp::MallocMessageBuilder out;
            auto ok = env.visit<schema::Lookup>([&](auto req) {
              auto keys = req.getKeys();
              std::vector<uint32_t> all(keys.size());
              for (uint32_t i = 0; i < keys.size(); ++i)
                all[i] = i;
              auto res = out.initRoot<schema::LookupResult>();
              auto gs = res.initGroups(req.getGroups().size());
              auto now = now_micros();
              for (unsigned g = 0; g < gs.size() && !err; ++g) {
                std::string group = req.getGroups()[g];
                gs[g].setGroup(group);
                err = store->read(group, keys, all, gs[g].initRows(keys.size()),
                                  now);
              }
            });
            if (!ok) return ok.error();
            if (err) return err;
            return envelope::of<schema::LookupResult>(out);
          },
          [=](group_atom, const std::string& group) -> caf::result<envelope> {
            auto s = store->stats(group);
            if (!s) return s.error();
            return make_envelope<schema::ShardStats>([&](auto r) {
              r.setShard(store->index());
              r.setNode(node);
              r.setActor(name);
              r.setGroup(group);
              r.setEntities(s->entities);
              r.setVersions(s->versions);
              r.setBytes(s->bytes);
            });
          },
          [=](scan_atom, const std::string& group, const std::string& after,
              uint64_t limit) -> caf::result<envelope> {
            capnp::MallocMessageBuilder out;
            std::vector<capnp::Orphan<schema::FeatureRow>> rows;
            auto orphanage = out.getOrphanage();
            auto next = store->scan_latest(
                group, after, limit,
                [&](schema::FeatureRow::Reader r) {
                  rows.push_back(orphanage.newOrphanCopy(r));
                },
                now_micros());
            if (!next) return next.error();
            auto res = out.initRoot<schema::LookupResult>();
            auto g = res.initGroups(1)[0];
            g.setGroup(group);
            auto list = g.initRows(static_cast<unsigned>(rows.size()));
            for (unsigned i = 0; i < rows.size(); ++i)
              list.setWithCaveats(i, rows[i].getReader());
            g.setNext(*next);
            return envelope::of<schema::LookupResult>(out);
          },
          [=](flush_atom) -> caf::result<bool> {
            if (auto err = store->sync()) return err;
            return true;
          },
          [=](sweep_atom) {
            auto n = store->sweep(now_micros());
            if (!n)
              lg->warn("shard {}: sweep failed: {}", store->index(),
                       describe(n.error()));
            else if (*n > 0)
              lg->info("shard {}: {} expired versions deleted", store->index(),
                       *n);
            self->delayed_send(self, sweep_every, sweep_atom::value);
          },
      });
}

} // namespace troupe::features
