// features.service: the feature store's catalog and shard placement
// (protocol in service.hpp).

#include "actors/features/service.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include <caf/all.hpp>

#include "actors/features/catalog.hpp"
#include "actors/features/errors.hpp"
#include "actors/features/parse.hpp"
#include "actors/features/store.hpp"
#include "actors/features/validate.hpp"
#include "runtime/cluster.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "schemas/cluster.capnp.h"

namespace troupe::features {

namespace {

constexpr auto request_timeout = std::chrono::seconds{30};

struct shard_slot {
  placement where;
  shard_actor handle; ///< null while not running
  bool spawning = false;
};

struct service_state {
  static inline const char* name = "features.service";
  std::shared_ptr<spdlog::logger> log = log::get("features");
  std::optional<catalog> cat;
  caf::actor directory;
  clock_ptr clock;
  uint32_t want_shards = 4;
  std::vector<std::string> nodes; ///< in join order, the head first
  std::vector<shard_slot> shards;
  std::map<std::string, group_spec> groups;
  uint64_t version = 1;
};

using service_self = stateful_worker<service_actor, service_state>;

envelope group_envelope(const group_spec& g) {
  return make_envelope<schema::FeatureGroup>([&](auto b) { to_schema(g, b); });
}

void shard_up(service_self* self, uint32_t index, shard_actor handle) {
  auto& st = self->state;
  auto& s = st.shards[index];
  s.spawning = false;
  s.handle = handle;
  self->monitor(handle);
  ++st.version;
  for (auto& [name, g] : st.groups)
    self->request(handle, request_timeout, define_atom::value,
                  group_envelope(g))
        .then([](bool) {},
              [=, name = name](caf::error& err) {
                self->state.log->error("features: shard {} refused group {}: "
                                       "{}",
                                       index, name, describe(err));
              });
  st.log->info("features: shard {} runs on {}", index, s.where.node);
}

/// Starts shard `index` on its node (it may already run: then it is found).
void start_shard(service_self* self, uint32_t index) {
  auto& st = self->state;
  auto& s = st.shards[index];
  if (s.handle || s.spawning) return;
  s.spawning = true;
  auto name = shard_name(index);
  auto node = s.where.node;
  auto resolve = [=] {
    self->request(self->state.directory, request_timeout, lookup_atom::value,
                  name)
        .then(
            [=](const caf::actor& h) {
              shard_up(self, index, caf::actor_cast<shard_actor>(h));
            },
            [=](caf::error& err) {
              self->state.shards[index].spawning = false;
              self->state.log->warn("features: shard {} not found: {}", index,
                                    describe(err));
            });
  };
  self->request(st.directory, request_timeout, caf::spawn_atom::value,
                std::string{shard_kind}, node, std::to_string(index), name)
      .then([=](const envelope&) { resolve(); },
            [=](caf::error& err) {
              // Already registered (the service restarted): use it.
              self->state.log->info("features: spawning shard {} on {}: {}",
                                    index, node, describe(err));
              resolve();
            });
}

void node_joined(service_self* self, const std::string& node) {
  auto& st = self->state;
  if (std::find(st.nodes.begin(), st.nodes.end(), node) == st.nodes.end())
    st.nodes.push_back(node);
  for (auto& s : st.shards)
    if (s.where.node == node) start_shard(self, s.where.index);
}

void node_left(service_state& st, const std::string& node) {
  st.nodes.erase(std::remove(st.nodes.begin(), st.nodes.end(), node),
                 st.nodes.end());
  for (auto& s : st.shards)
    if (s.where.node == node && s.handle) {
      st.log->warn("features: shard {} is down: node {} left", s.where.index,
                   node);
      s.handle = nullptr;
      s.spawning = false;
      ++st.version;
    }
}

/// Places the shards over the nodes present now, once.
caf::error lay_out(service_self* self) {
  auto& st = self->state;
  if (!st.shards.empty()) return caf::none;
  if (st.nodes.empty())
    return make_error(errc::no_nodes,
                      "features: no node has joined yet, cannot place shards");
  std::vector<placement> ps;
  for (uint32_t i = 0; i < st.want_shards; ++i)
    ps.push_back(placement{i, st.nodes[i % st.nodes.size()]});
  if (auto err = st.cat->set_placements(ps)) return err;
  for (auto& p : ps)
    st.shards.push_back(shard_slot{p, {}, false});
  for (auto& p : ps)
    start_shard(self, p.index);
  st.log->info("features: {} shards over {} node(s)", ps.size(),
               st.nodes.size());
  return caf::none;
}

/// Every group, by name, into `out` (sized to the groups).
void fill_groups(const service_state& st,
                 capnp::List<schema::FeatureGroup>::Builder out) {
  unsigned i = 0;
  for (auto& [name, g] : st.groups)
    to_schema(g, out[i++]);
}

envelope layout_envelope(const service_state& st) {
  return make_envelope<schema::StoreLayout>([&](auto b) {
    auto ss = b.initShards(static_cast<unsigned>(st.shards.size()));
    for (unsigned i = 0; i < ss.size(); ++i) {
      ss[i].setIndex(st.shards[i].where.index);
      ss[i].setNode(st.shards[i].where.node);
      ss[i].setActor(shard_name(st.shards[i].where.index));
    }
    fill_groups(st, b.initGroups(static_cast<unsigned>(st.groups.size())));
    b.setVersion(st.version);
  });
}

caf::expected<uint32_t> parse_shards(const std::string& config) {
  if (config.empty()) return uint32_t{4};
  const std::string key = "shards=";
  if (config.rfind(key, 0) == 0) {
    auto v = parse_unsigned(std::string_view{config}.substr(key.size()));
    if (v && *v >= 1 && *v <= 4096) return static_cast<uint32_t>(*v);
  }
  return make_error(errc::bad_service_config,
                    "features.service: config '" + config +
                        "' is not shards=N (1..4096)");
}

/// Asks every running shard `xs...` and calls done(replies, errors) with
/// their replies (in shard order) and, per shard, why it did not answer
/// ("" when it did).
template <class Reply, class Done, class... Ts>
void ask_all(service_self* self, Done done, Ts... xs) {
  auto& st = self->state;
  struct pending {
    std::vector<std::optional<Reply>> replies;
    std::vector<std::string> errors;
    size_t left = 0;
    std::optional<Done> done;
  };
  auto p = std::make_shared<pending>();
  p->replies.resize(st.shards.size());
  p->errors.resize(st.shards.size());
  p->left = st.shards.size();
  p->done.emplace(std::move(done));
  auto finish = [p] {
    if (--p->left == 0) (*p->done)(p->replies, p->errors);
  };
  if (p->left == 0) {
    (*p->done)(p->replies, p->errors);
    return;
  }
  for (size_t i = 0; i < st.shards.size(); ++i) {
    auto& s = st.shards[i];
    if (!s.handle) {
      p->errors[i] = "shard " + std::to_string(i) + " on node " + s.where.node +
                     " is not running";
      finish();
      continue;
    }
    self->request(s.handle, request_timeout, xs...)
        .then(
            [=](Reply& r) {
              p->replies[i] = std::move(r);
              finish();
            },
            [=](caf::error& err) {
              p->errors[i] =
                  "shard " + std::to_string(i) + ": " + describe(err);
              finish();
            });
  }
}

void on_event(service_self* self, const envelope& ev) {
  (void)ev.visit<schema::DirectoryEvent>([&](auto e) {
    using K = schema::DirectoryEvent::Kind;
    std::string node = e.getNode().getName();
    if (e.getKind() == K::NODE_JOINED)
      node_joined(self, node);
    else if (e.getKind() == K::NODE_LEFT)
      node_left(self->state, node);
  });
}

caf::result<envelope> on_create(service_self* self, const envelope& env) {
  auto& st = self->state;
  auto g =
      env.visit<schema::FeatureGroup>([](auto r) { return from_schema(r); });
  if (!g) return g.error();
  if (auto err = validate_group(*g)) return err;
  auto old = st.groups.find(g->name);
  if (old != st.groups.end()) {
    if (old->second.same_definition(*g)) return group_envelope(old->second);
    return make_error(troupe::errc::already_exists,
                      "feature group " + g->name +
                          " exists with a different definition");
  }
  if (auto err = lay_out(self)) return err;
  g->created_ms = st.clock->wall_ms();
  g->shards = static_cast<uint32_t>(st.shards.size());
  if (auto err = st.cat->put_group(*g)) return err;
  st.groups.emplace(g->name, *g);
  ++st.version;
  auto rp = self->make_response_promise<envelope>();
  auto reply = group_envelope(*g);
  auto name = g->name;
  ask_all<bool>(
      self,
      [=](auto&, const std::vector<std::string>& errors) mutable {
        for (auto& e : errors)
          if (!e.empty())
            self->state.log->warn("features: group {}: {}", name, e);
        rp.deliver(reply);
      },
      define_atom::value, reply);
  st.log->info("features: group {} created (width {}, {} fields)", g->name,
               g->width, g->fields.size());
  return rp;
}

envelope on_groups(service_self* self) {
  return make_envelope<schema::FeatureGroupList>([&](auto b) {
    fill_groups(self->state,
                b.initGroups(static_cast<unsigned>(self->state.groups.size())));
  });
}

caf::result<envelope> on_group(service_self* self, const envelope& env) {
  auto& st = self->state;
  auto name = env.visit<schema::GroupName>(
      [](auto r) { return std::string{r.getName()}; });
  if (!name) return name.error();
  auto g = st.groups.find(*name);
  if (g == st.groups.end())
    return make_error(troupe::errc::not_found,
                      "no feature group '" + *name + "'");
  auto spec = g->second;
  auto rp = self->make_response_promise<envelope>();
  ask_all<envelope>(
      self,
      [=](std::vector<std::optional<envelope>>& replies,
          const std::vector<std::string>&) mutable {
        auto& st = self->state;
        rp.deliver(make_envelope<schema::GroupStats>([&](auto b) {
          to_schema(spec, b.initGroup());
          auto ss = b.initShards(static_cast<unsigned>(replies.size()));
          for (unsigned i = 0; i < replies.size(); ++i) {
            ss[i].setShard(i);
            ss[i].setNode(st.shards[i].where.node);
            ss[i].setActor(shard_name(i));
            ss[i].setGroup(spec.name);
            if (!replies[i]) continue;
            (void)replies[i]->template visit<schema::ShardStats>([&](auto r) {
              ss[i].setEntities(r.getEntities());
              ss[i].setVersions(r.getVersions());
              ss[i].setBytes(r.getBytes());
              ss[i].setUp(true);
            });
          }
        }));
      },
      shard_stats_atom::value, spec.name);
  return rp;
}

caf::result<envelope> on_validate(service_self* self, const envelope& env) {
  auto& st = self->state;
  std::string name;
  std::string schema_text;
  uint64_t sample = 0;
  auto ok = env.visit<schema::ValidationRequest>([&](auto r) {
    name = r.getGroup();
    schema_text = r.getSchema();
    sample = r.getSample();
  });
  if (!ok) return ok.error();
  auto g = st.groups.find(name);
  if (g == st.groups.end())
    return make_error(troupe::errc::not_found,
                      "no feature group '" + name + "'");
  std::vector<shard_actor> shards;
  for (auto& s : st.shards) {
    if (!s.handle)
      return make_error(errc::shard_down, "validate " + name + ": shard " +
                                              std::to_string(s.where.index) +
                                              " on node " + s.where.node +
                                              " is not running");
    shards.push_back(s.handle);
  }
  auto run = spawn_validation(self->system(), g->second, std::move(shards),
                              schema_text, sample);
  if (!run) return run.error();
  return self->delegate(*run, report_atom::value);
}

caf::result<bool> on_flush(service_self* self) {
  auto rp = self->make_response_promise<bool>();
  ask_all<bool>(
      self,
      [=](auto&, const std::vector<std::string>& errors) mutable {
        for (auto& e : errors)
          if (!e.empty()) {
            rp.deliver(make_error(errc::shard_down, "flush: " + e));
            return;
          }
        rp.deliver(true);
      },
      flush_atom::value);
  return rp;
}

/// Opens the catalog and loads the groups and placements into the state.
caf::error load(service_state& st, const kind_args& args) {
  auto shards = parse_shards(args.config);
  if (!shards) return shards.error();
  st.want_shards = *shards;
  auto dir = std::filesystem::path{args.data_dir.empty() ? std::string{"."}
                                                         : args.data_dir} /
             "features" / "catalog";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto cat = catalog::open(dir.string());
  if (!cat) return cat.error();
  st.cat.emplace(std::move(*cat));
  auto groups = st.cat->groups();
  if (!groups) return groups.error();
  auto placed = st.cat->placements();
  if (!placed) return placed.error();
  for (auto& g : *groups)
    st.groups.emplace(g.name, g);
  for (auto& p : *placed)
    st.shards.push_back(shard_slot{p, {}, false});
  return caf::none;
}

/// Subscribes to the directory; no request is handled before the service
/// knows the nodes (await).
void watch_directory(service_self* self) {
  self->request(self->state.directory, request_timeout, subscribe_atom::value)
      .await(
          [=](const envelope& snap) {
            (void)snap.visit<schema::Snapshot>([&](auto s) {
              for (auto n : s.getNodes())
                if (n.getIsHead()) node_joined(self, n.getName());
              for (auto n : s.getNodes())
                if (!n.getIsHead()) node_joined(self, n.getName());
            });
          },
          [=](caf::error& err) {
            self->state.log->error("features: cannot watch the directory: {}",
                                   describe(err));
          });
}

void on_shard_down(service_self* self, const caf::down_msg& dm) {
  auto& st = self->state;
  for (auto& s : st.shards)
    if (s.handle && s.handle.address() == dm.source) {
      st.log->warn("features: shard {} stopped", s.where.index);
      s.handle = nullptr;
      ++st.version;
      // its node may still be here: start it again
      if (std::find(st.nodes.begin(), st.nodes.end(), s.where.node) !=
          st.nodes.end())
        start_shard(self, s.where.index);
    }
}

service_actor::behavior_type service(service_self* self, kind_args args,
                                     clock_ptr clock) {
  auto& st = self->state;
  st.clock = std::move(clock);
  if (auto err = load(st, args)) {
    st.log->error("features: {}", describe(err));
    self->quit(err);
    return stopped_behavior<service_actor>();
  }
  if (auto h = self->system().registry().get(directory_registry_key))
    st.directory = caf::actor_cast<caf::actor>(h);
  if (!st.directory) {
    self->quit(make_error(troupe::errc::not_found,
                          "features: no directory in this process"));
    return stopped_behavior<service_actor>();
  }
  watch_directory(self);
  self->set_down_handler(
      [=](const caf::down_msg& dm) { on_shard_down(self, dm); });
  self->identify(args);
  return {
      [=](event_atom, const envelope& ev) { on_event(self, ev); },
      [=](create_atom, const envelope& env) { return on_create(self, env); },
      [=](groups_atom, const envelope&) { return on_groups(self); },
      [=](layout_atom) -> caf::result<envelope> {
        if (auto err = lay_out(self)) return err;
        return layout_envelope(self->state);
      },
      [=](group_atom, const envelope& env) { return on_group(self, env); },
      [=](validate_atom, const envelope& env) {
        return on_validate(self, env);
      },
      [=](flush_atom) { return on_flush(self); },
      self->stats_handler(),
  };
}

} // namespace

void register_kinds(caf::actor_system_config& cfg) {
  register_kinds(cfg, real_clock());
}

void register_kinds(caf::actor_system_config& cfg, clock_ptr clock) {
  cfg.add_actor_type(service_kind, [clock](service_self* self, kind_args args) {
    return service(self, std::move(args), clock);
  });
  mark_service_kind(service_kind);
  register_shard_kind(cfg, std::move(clock));
}

} // namespace troupe::features
