// serving.service: the model registry and the deployments (protocol in
// service.hpp).

#include "actors/serving/service.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include <caf/all.hpp>

#include "actors/serving/convert.hpp"
#include "actors/serving/registry.hpp"
#include "actors/serving/replica.hpp"
#include "actors/serving/router.hpp"
#include "actors/serving/telemetry.hpp"
#include "runtime/cluster.hpp"
#include "runtime/errors.hpp"
#include "runtime/lmdb.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"

namespace troupe::serving {

using models::parse_model_format;

namespace {

namespace fs = std::filesystem;

constexpr auto request_timeout = std::chrono::seconds{30};

/// Deployments as recorded: name -> DeploymentStatus (spec, traffic, stable
/// and previous versions), in DATA/serving/deployments.
class deployment_store {
public:
  static caf::expected<deployment_store> open(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    lmdb::env_options opts;
    opts.map_size = size_t{1} << 28;
    auto e = lmdb::env::open(dir, opts);
    if (!e) return e.error();
    auto db = e->open_db("deployments", MDB_CREATE);
    if (!db) return db.error();
    return deployment_store{std::move(*e), *db};
  }

  caf::error put(const std::string& name, const envelope& status) {
    auto t = lmdb::txn::begin(env_, false);
    if (!t) return t.error();
    auto bytes = status.words().asBytes();
    if (auto r = t->put(
            db_, name,
            {reinterpret_cast<const char*>(bytes.begin()), bytes.size()});
        !r)
      return r.error();
    if (auto r = t->commit(); !r) return r.error();
    return caf::none;
  }

  caf::error del(const std::string& name) {
    auto t = lmdb::txn::begin(env_, false);
    if (!t) return t.error();
    if (auto r = t->del(db_, name); !r) return r.error();
    if (auto r = t->commit(); !r) return r.error();
    return caf::none;
  }

  caf::expected<std::map<std::string, envelope>> all() {
    std::map<std::string, envelope> out;
    auto t = lmdb::txn::begin(env_, true);
    if (!t) return t.error();
    caf::error failure;
    auto r = t->scan(db_, "", [&](std::string_view k, std::string_view v) {
      auto e = envelope::from_bytes(capnp::typeId<schema::DeploymentStatus>(),
                                    v.data(), v.size());
      if (!e) {
        failure = e.error();
        return false;
      }
      out.emplace(std::string{k}, std::move(*e));
      return true;
    });
    if (!r) return r.error();
    if (failure) return failure;
    return out;
  }

private:
  deployment_store(lmdb::env e, MDB_dbi db) : env_(std::move(e)), db_(db) {}
  lmdb::env env_;
  MDB_dbi db_;
};

struct deployment {
  envelope status; ///< as recorded
  router_actor router;
};

struct service_state {
  std::shared_ptr<spdlog::logger> log = log::get("serving");
  std::string dir;
  std::shared_ptr<registry> models;
  std::optional<deployment_store> store;
  std::shared_ptr<prediction_sink> sink;
  caf::actor directory;
  std::map<std::string, deployment> deployments;
  uint64_t incoming = 0;
  /// What the routers' timed decisions read.
  clock_ptr clock;
};

using state_ptr = std::shared_ptr<service_state>;

/// The recorded status of deployment `name`, changed by `edit`.
envelope
edited(const envelope& status,
       const std::function<void(schema::DeploymentStatus::Builder)>& edit) {
  capnp::MallocMessageBuilder msg;
  (void)status.visit<schema::DeploymentStatus>([&](auto r) { msg.setRoot(r); });
  edit(msg.getRoot<schema::DeploymentStatus>());
  return envelope::of<schema::DeploymentStatus>(msg);
}

void set_traffic(schema::DeploymentStatus::Builder b,
                 const std::map<uint32_t, uint32_t>& weights) {
  auto t = b.initTraffic(static_cast<unsigned>(weights.size()));
  unsigned i = 0;
  for (auto& [v, w] : weights) {
    t[i].setVersion(v);
    t[i].setWeight(w);
    ++i;
  }
}

/// Answers with what `target` answers to `xs...`.
template <class Handle, class... Ts>
caf::result<envelope> forward(service_self* self, const Handle& target,
                              Ts... xs) {
  auto rp = self->make_response_promise<envelope>();
  self->request(target, request_timeout, xs...)
      .then([=](const envelope& e) mutable { rp.deliver(e); },
            [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

router_actor start_router(service_self* self, const state_ptr& st,
                          const envelope& status) {
  router_config cfg;
  cfg.service = caf::actor_cast<service_actor>(self);
  cfg.directory = st->directory;
  cfg.status = status;
  cfg.log = st->sink;
  cfg.clock = st->clock;
  auto r = spawn_router(self->system(), std::move(cfg));
  self->link_to(r);
  return r;
}

/// Records `status` for `name` and hands it to its router (started if
/// needed); answers the router's view.
caf::result<envelope> apply(service_self* self, const state_ptr& st,
                            const std::string& name, envelope status) {
  if (auto err = st->store->put(name, status)) return err;
  auto& d = st->deployments[name];
  d.status = status;
  if (!d.router) {
    d.router = start_router(self, st, status);
    return forward(self, d.router, deployment_atom::value);
  }
  return forward(self, d.router, configure_atom::value, status);
}

caf::expected<deployment*> find(const state_ptr& st, const std::string& name) {
  auto i = st->deployments.find(name);
  if (i != st->deployments.end()) return &i->second;
  std::string known;
  for (auto& [n, d] : st->deployments)
    known += (known.empty() ? "" : ", ") + n;
  return make_error(errc::not_found,
                    "no deployment '" + name +
                        "'; deployed: " + (known.empty() ? "none" : known));
}

/// Writes the files of a Registration into a fresh directory under DIR and
/// returns it (with the model file's and the spec's paths).
struct staged {
  fs::path dir;
  std::string artifact;
  std::string spec;
};

caf::expected<staged> stage(const std::string& root, uint64_t n,
                            schema::Registration::Reader r) {
  staged out;
  out.dir = fs::path{root} / "incoming" /
            (std::to_string(getpid()) + "-" + std::to_string(n));
  std::error_code ec;
  fs::remove_all(out.dir, ec);
  fs::create_directories(out.dir, ec);
  if (ec)
    return make_error(errc::io_failure, "cannot create " + out.dir.string() +
                                            ": " + ec.message());
  std::string format = r.getFormat();
  for (auto f : r.getFiles()) {
    std::string name = f.getName();
    if (!valid_file_name(name))
      return make_error(errc::invalid_argument, "register: file name '" + name +
                                                    "' is not a plain "
                                                    "name");
    auto content = f.getContent();
    std::ofstream o{out.dir / name, std::ios::binary};
    o.write(reinterpret_cast<const char*>(content.begin()),
            static_cast<std::streamsize>(content.size()));
    if (!o)
      return make_error(errc::io_failure,
                        "cannot write " + (out.dir / name).string());
    if (format != "troupe") {
      if (name == "spec.json")
        out.spec = (out.dir / name).string();
      else if (out.artifact.empty())
        out.artifact = (out.dir / name).string();
    }
  }
  if (format == "troupe") out.artifact = out.dir.string();
  return out;
}

/// Registers the model a Registration carries: stages its files under
/// `root`/incoming, adds it to `models` (which checks and loads it) and
/// answers the ModelVersion.
caf::expected<envelope> register_model(const std::string& root, uint64_t n,
                                       registry& models, spdlog::logger& log,
                                       const envelope& env) {
  auto out =
      env.visit<schema::Registration>([&](auto r) -> caf::expected<envelope> {
        auto where = stage(root, n, r);
        if (!where) return where.error();
        registration reg;
        reg.name = r.getName();
        auto fmt = parse_model_format(r.getFormat());
        if (!fmt) return fmt.error();
        reg.format = *fmt;
        reg.path = where->artifact;
        reg.spec_path = where->spec;
        reg.source = r.getSource();
        reg.registered_by = r.getRegisteredBy();
        reg.description = r.getDescription();
        for (auto m : r.getMetrics())
          reg.metrics[m.getName()] = m.getValue();
        for (auto s : r.getStages())
          reg.stages.push_back(s);
        reg.allow_nan = r.getAllowNan();
        auto v = models.add(reg);
        std::error_code ec;
        fs::remove_all(where->dir, ec);
        if (!v) return v.error();
        log.info("serving: registered {} v{} ({}) by {}", v->name, v->version,
                 r.getFormat().cStr(), v->registered_by);
        capnp::MallocMessageBuilder msg;
        auto b = msg.initRoot<schema::ModelVersion>();
        if (auto err = to_schema(*v, b, false)) return err;
        return envelope::of<schema::ModelVersion>(msg);
      });
  if (!out) return out.error();
  return std::move(*out);
}

/// One registration, on a thread of its own (spawned detached): answers the
/// register request delegated to it, then quits.
caf::behavior registrar(caf::event_based_actor* self, std::string root,
                        uint64_t n, std::shared_ptr<registry> models,
                        std::shared_ptr<spdlog::logger> log) {
  return {
      [=](register_atom, const envelope& env) -> caf::result<envelope> {
        self->quit();
        auto v = register_model(root, n, *models, *log, env);
        if (!v) return v.error();
        return std::move(*v);
      },
  };
}

// The handlers of the service's messages (service.hpp).

caf::result<envelope> on_register(service_self* self, const state_ptr& st,
                                  const envelope& env) {
  // Staging, checking and loading the model read, write and sync
  // whole files: a detached actor of its own does it and answers
  // the caller, so that routing on the scheduler goes on.
  auto rp = self->make_response_promise<envelope>();
  auto helper = self->spawn<caf::detached>(registrar, st->dir, ++st->incoming,
                                           st->models, st->log);
  return rp.delegate(helper, register_atom::value, env);
}

caf::result<envelope> on_models(service_self* self, const state_ptr& st,
                                const std::string& name) {
  std::vector<model_version> all;
  std::vector<std::string> names;
  if (name.empty()) {
    auto ns = st->models->names();
    if (!ns) return ns.error();
    names = *ns;
  } else {
    names.push_back(name);
  }
  for (auto& n : names) {
    auto vs = st->models->versions(n);
    if (!vs) return vs.error();
    all.insert(all.end(), vs->begin(), vs->end());
  }
  capnp::MallocMessageBuilder msg;
  auto l = msg.initRoot<schema::ModelList>().initVersions(
      static_cast<unsigned>(all.size()));
  for (unsigned i = 0; i < all.size(); ++i)
    if (auto err = to_schema(all[i], l[i], false)) return err;
  return envelope::of<schema::ModelList>(msg);
}

caf::result<envelope> on_stage(service_self* self, const state_ptr& st,
                               const std::string& name, uint32_t version,
                               const std::string& stage, bool on) {
  auto v = on ? st->models->set_stage(name, version, stage)
              : st->models->clear_stage(name, version, stage);
  if (!v) return v.error();
  capnp::MallocMessageBuilder msg;
  if (auto err = to_schema(*v, msg.initRoot<schema::ModelVersion>(), false))
    return err;
  return envelope::of<schema::ModelVersion>(msg);
}

caf::result<envelope> on_fetch(service_self* self, const state_ptr& st,
                               const std::string& name, uint32_t version) {
  auto v = st->models->get(name, version);
  if (!v) return v.error();
  capnp::MallocMessageBuilder msg;
  if (auto err = to_schema(*v, msg.initRoot<schema::ModelVersion>(), true))
    return err;
  return envelope::of<schema::ModelVersion>(msg);
}

caf::result<envelope> on_deploy(service_self* self, const state_ptr& st,
                                const envelope& env) {
  auto spec =
      env.visit<schema::DeploymentSpec>([](auto r) { return from_schema(r); });
  if (!spec) return spec.error();
  if (spec->name.empty()) spec->name = spec->model;
  if (auto err = validate(*spec)) return err;
  auto v = st->models->resolve(spec->model, spec->version);
  if (!v) return v.error();
  auto old = st->deployments.find(spec->name);
  uint32_t previous = 0;
  if (old != st->deployments.end())
    (void)old->second.status.visit<schema::DeploymentStatus>(
        [&](auto r) { previous = r.getStableVersion(); });
  auto status = make_envelope<schema::DeploymentStatus>([&](auto b) {
    to_schema(*spec, b.initSpec());
    set_traffic(b, {{v->version, 100}});
    b.setStableVersion(v->version);
    b.setPreviousVersion(previous == v->version ? 0 : previous);
  });
  st->log->info("serving: deploying {} = {} v{} ({}..{} replicas)", spec->name,
                spec->model, v->version, spec->min_replicas,
                spec->max_replicas);
  return apply(self, st, spec->name, status);
}

caf::result<envelope> on_deployments(service_self* self, const state_ptr& st) {
  auto rp = self->make_response_promise<envelope>();
  struct gather {
    std::vector<envelope> got;
    size_t left;
  };
  auto g = std::make_shared<gather>();
  g->left = st->deployments.size();
  auto done = [=]() mutable {
    rp.deliver(make_envelope<schema::DeploymentList>([&](auto b) {
      auto l = b.initDeployments(static_cast<unsigned>(g->got.size()));
      for (unsigned i = 0; i < g->got.size(); ++i)
        (void)g->got[i].visit<schema::DeploymentStatus>(
            [&](auto r) { l.setWithCaveats(i, r); });
    }));
  };
  if (g->left == 0) {
    done();
    return rp;
  }
  for (auto& [name, d] : st->deployments) {
    auto recorded = d.status;
    self->request(d.router, request_timeout, deployment_atom::value)
        .then(
            [=](const envelope& s) mutable {
              g->got.push_back(s);
              if (--g->left == 0) done();
            },
            [=](caf::error&) mutable {
              g->got.push_back(recorded);
              if (--g->left == 0) done();
            });
  }
  return rp;
}

caf::result<envelope> on_status(service_self* self, const state_ptr& st,
                                const std::string& name) {
  auto d = find(st, name);
  if (!d) return d.error();
  return forward(self, (*d)->router, deployment_atom::value);
}

caf::result<envelope> on_scale(service_self* self, const state_ptr& st,
                               const std::string& name, uint32_t lo,
                               uint32_t hi) {
  auto d = find(st, name);
  if (!d) return d.error();
  if (lo < 1 || hi < lo || hi > 1024)
    return make_error(errc::invalid_argument,
                      "scale " + name + ": replicas " + std::to_string(lo) +
                          ":" + std::to_string(hi) +
                          " are not 1 <= MIN <= MAX <= 1024");
  auto status = edited((*d)->status, [&](auto b) {
    b.getSpec().setMinReplicas(lo);
    b.getSpec().setMaxReplicas(hi);
  });
  return apply(self, st, name, status);
}

caf::result<envelope> on_traffic(service_self* self, const state_ptr& st,
                                 const std::string& name,
                                 const std::string& text) {
  auto d = find(st, name);
  if (!d) return d.error();
  auto weights = parse_weights(text);
  if (!weights) return weights.error();
  std::string model;
  (void)(*d)->status.visit<schema::DeploymentStatus>(
      [&](auto r) { model = r.getSpec().getModel(); });
  for (auto& [v, w] : *weights)
    if (auto m = st->models->get(model, v); !m) return m.error();
  auto status = edited((*d)->status, [&](auto b) { set_traffic(b, *weights); });
  return apply(self, st, name, status);
}

caf::result<envelope> on_promote(service_self* self, const state_ptr& st,
                                 const std::string& name, uint32_t version) {
  auto d = find(st, name);
  if (!d) return d.error();
  std::string model;
  uint32_t stable = 0;
  (void)(*d)->status.visit<schema::DeploymentStatus>([&](auto r) {
    model = r.getSpec().getModel();
    stable = r.getStableVersion();
  });
  if (auto m = st->models->get(model, version); !m) return m.error();
  (void)st->models->set_stage(model, version, "production");
  auto status = edited((*d)->status, [&](auto b) {
    set_traffic(b, {{version, 100}});
    if (stable != version) b.setPreviousVersion(stable);
    b.setStableVersion(version);
  });
  st->log->info("serving: {} promoted to v{}", name, version);
  return apply(self, st, name, status);
}

caf::result<envelope> on_rollback(service_self* self, const state_ptr& st,
                                  const std::string& name) {
  auto d = find(st, name);
  if (!d) return d.error();
  uint32_t stable = 0, previous = 0;
  bool only_stable = true;
  (void)(*d)->status.visit<schema::DeploymentStatus>([&](auto r) {
    stable = r.getStableVersion();
    previous = r.getPreviousVersion();
    for (auto t : r.getTraffic())
      if (t.getVersion() != stable && t.getWeight() > 0) only_stable = false;
  });
  if (only_stable && previous == 0)
    return make_error(errc::not_found, "rollback " + name + ": v" +
                                           std::to_string(stable) +
                                           " takes all traffic and there is no "
                                           "earlier stable version");
  auto target = only_stable ? previous : stable;
  auto status = edited((*d)->status, [&](auto b) {
    set_traffic(b, {{target, 100}});
    b.setStableVersion(target);
    if (only_stable) b.setPreviousVersion(0);
  });
  st->log->info("serving: {} rolled back to v{}", name, target);
  return apply(self, st, name, status);
}

caf::result<bool> on_undeploy(service_self* self, const state_ptr& st,
                              const std::string& name) {
  auto d = find(st, name);
  if (!d) return d.error();
  if (auto err = st->store->del(name)) return err;
  self->unlink_from((*d)->router);
  self->send_exit((*d)->router, caf::exit_reason::user_shutdown);
  st->deployments.erase(name);
  st->log->info("serving: {} undeployed", name);
  return true;
}

caf::result<caf::actor> on_router(service_self* self, const state_ptr& st,
                                  const std::string& name) {
  auto d = find(st, name);
  if (!d) return d.error();
  // the gateway holds routers dynamically (router.hpp says what they take)
  return caf::actor_cast<caf::actor>((*d)->router);
}

service_actor::behavior_type service(service_self* self, kind_args args,
                                     clock_ptr time) {
  auto st = std::make_shared<service_state>();
  st->clock = std::move(time);
  st->dir =
      (fs::path{args.config.empty() ? args.data_dir : args.config} / "serving")
          .string();
  auto reg = registry::open(st->dir);
  auto store = deployment_store::open(st->dir + "/deployments");
  if (!reg || !store) {
    auto err = !reg ? reg.error() : store.error();
    st->log->error("serving: {}", describe(err));
    self->quit(err);
    return stopped_behavior<service_actor>();
  }
  st->models = std::move(*reg);
  st->store.emplace(std::move(*store));
  auto sink = prediction_sink::open(st->dir + "/predictions");
  if (!sink)
    st->log->error("serving: predictions are not logged: {}",
                   describe(sink.error()));
  else
    st->sink = std::move(*sink);
  if (auto h = self->system().registry().get(directory_registry_key))
    st->directory = caf::actor_cast<caf::actor>(h);
  if (!st->directory) {
    auto err = make_error(errc::not_found, "serving: no directory here");
    self->quit(err);
    return stopped_behavior<service_actor>();
  }
  // deployments recorded before a restart
  if (auto all = st->store->all()) {
    for (auto& [name, status] : *all) {
      st->deployments[name] =
          deployment{status, start_router(self, st, status)};
      st->log->info("serving: deployment {} restored", name);
    }
  } else {
    st->log->error("serving: cannot read deployments: {}",
                   describe(all.error()));
  }
  self->identify(args);
  return {
      [=](register_atom, const envelope& env) {
        return on_register(self, st, env);
      },
      [=](models_atom, const std::string& name) {
        return on_models(self, st, name);
      },
      [=](stage_atom, const std::string& name, uint32_t version,
          const std::string& stage,
          bool on) { return on_stage(self, st, name, version, stage, on); },
      [=](fetch_atom, const std::string& name, uint32_t version) {
        return on_fetch(self, st, name, version);
      },
      [=](deploy_atom, const envelope& env) {
        return on_deploy(self, st, env);
      },
      [=](deployments_atom) { return on_deployments(self, st); },
      [=](status_atom, const std::string& name) {
        return on_status(self, st, name);
      },
      [=](scale_atom, const std::string& name, uint32_t lo, uint32_t hi) {
        return on_scale(self, st, name, lo, hi);
      },
      [=](traffic_atom, const std::string& name, const std::string& text) {
        return on_traffic(self, st, name, text);
      },
      [=](promote_atom, const std::string& name, uint32_t version) {
        return on_promote(self, st, name, version);
      },
      [=](rollback_atom, const std::string& name) {
        return on_rollback(self, st, name);
      },
      [=](undeploy_atom, const std::string& name) {
        return on_undeploy(self, st, name);
      },
      [=](router_atom, const std::string& name) {
        return on_router(self, st, name);
      },
      self->stats_handler(),
  };
}

/// The service as the directory spawns it: on the real clock.
service_actor::behavior_type service_kind_actor(service_self* self,
                                                kind_args args) {
  return service(self, std::move(args), real_clock());
}

} // namespace

void register_kinds(caf::actor_system_config& cfg) {
  cfg.add_actor_type(service_kind, service_kind_actor);
  mark_service_kind(service_kind);
  register_replica_kind(cfg);
}

} // namespace troupe::serving
