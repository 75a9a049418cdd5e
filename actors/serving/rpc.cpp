#include "actors/serving/rpc.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <random>

#include <caf/all.hpp>
#include <capnp/message.h>

#include "actors/serving/service.hpp"
#include "actors/tabular/feature_columns.hpp"
#include "runtime/bridge.hpp"
#include "runtime/clock.hpp"
#include "runtime/envelope.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/features.capnp.h"
#include "schemas/serving.capnp.h"

namespace troupe::serving {

namespace {

const reader_limits big{uint64_t{1} << 30, 64};

/// A prefix that makes this process's request ids unique among processes.
const std::string& id_prefix() {
  static const std::string prefix = [] {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%08x", rd());
    return std::string{buf};
  }();
  return prefix;
}

std::atomic<uint64_t> request_counter{0};

template <class T>
envelope wrap(typename T::Reader r) {
  capnp::MallocMessageBuilder mb;
  mb.setRoot(r);
  return envelope::of<T>(mb);
}

class predictor_server final : public schema::Predictor::Server {
public:
  /// `time` dates the cached feature groups of deployments.
  predictor_server(const rpc_context& ctx, clock_ptr time)
      : sys_(ctx.sys), dir_(ctx.directory), lookup_(ctx.service),
        bridge_(ctx.sys), clock_(std::move(time)) {}

  kj::Promise<void> predict(PredictContext ctx) override {
    auto req = ctx.getParams().getRequest();
    std::string name = req.getDeployment();
    if (name.empty()) throw rpc_failure("predict: no deployment named");
    // one segment that fits the copy (and the request id it may get)
    capnp::MallocMessageBuilder mb{
        static_cast<unsigned>(req.totalSize().wordCount + 16)};
    mb.setRoot(req);
    auto root = mb.getRoot<schema::PredictRequest>();
    if (root.getRequestId().size() == 0)
      root.setRequestId(id_prefix() + "-" + std::to_string(++request_counter));
    if (root.getEntities().size() > 0 && root.getRows().size() > 0)
      throw rpc_failure("predict " + std::string{root.getRequestId().cStr()} +
                        ": give rows or entities, not both");
    auto env = envelope::of<schema::PredictRequest>(mb);
    if (req.getEntities().size() > 0)
      return with_features(name, env).then(
          [this, ctx, name](envelope e) mutable {
            return forward(ctx, name, std::move(e));
          });
    return forward(ctx, name, std::move(env));
  }

  kj::Promise<void> register_(RegisterContext ctx) override {
    auto env = wrap<schema::Registration>(ctx.getParams().getRegistration());
    return call(register_atom::value, env).then([ctx](envelope e) mutable {
      check(e.visit<schema::ModelVersion>(
          [&](auto r) { ctx.getResults().setVersion(r); }));
    });
  }

  kj::Promise<void> models(ModelsContext ctx) override {
    return call(models_atom::value, std::string{ctx.getParams().getName()})
        .then([ctx](envelope e) mutable {
          check(e.visit<schema::ModelList>(
              [&](auto r) { ctx.getResults().setList(r); }, big));
        });
  }

  kj::Promise<void> setStage(SetStageContext ctx) override {
    auto p = ctx.getParams();
    return call(stage_atom::value, std::string{p.getName()}, p.getVersion(),
                std::string{p.getStage()}, p.getOn())
        .then([ctx](envelope e) mutable {
          check(e.visit<schema::ModelVersion>(
              [&](auto r) { ctx.getResults().setVersion(r); }));
        });
  }

  kj::Promise<void> deploy(DeployContext ctx) override {
    auto env = wrap<schema::DeploymentSpec>(ctx.getParams().getSpec());
    return status(ctx, call(deploy_atom::value, env));
  }

  kj::Promise<void> deployments(DeploymentsContext ctx) override {
    return call(deployments_atom::value).then([ctx](envelope e) mutable {
      check(e.visit<schema::DeploymentList>(
          [&](auto r) { ctx.getResults().setList(r); }, big));
    });
  }

  kj::Promise<void> deployment(DeploymentContext ctx) override {
    return status(
        ctx, call(status_atom::value, std::string{ctx.getParams().getName()}));
  }

  kj::Promise<void> scale(ScaleContext ctx) override {
    auto p = ctx.getParams();
    return status(ctx, call(scale_atom::value, std::string{p.getName()},
                            p.getMinReplicas(), p.getMaxReplicas()));
  }

  kj::Promise<void> setTraffic(SetTrafficContext ctx) override {
    auto p = ctx.getParams();
    std::string text;
    for (auto w : p.getWeights())
      text += (text.empty() ? "" : ",") + std::to_string(w.getVersion()) + "=" +
              std::to_string(w.getWeight());
    return status(ctx,
                  call(traffic_atom::value, std::string{p.getName()}, text));
  }

  kj::Promise<void> promote(PromoteContext ctx) override {
    auto p = ctx.getParams();
    return status(ctx, call(promote_atom::value, std::string{p.getName()},
                            p.getVersion()));
  }

  kj::Promise<void> rollback(RollbackContext ctx) override {
    return status(ctx, call(rollback_atom::value,
                            std::string{ctx.getParams().getName()}));
  }

  kj::Promise<void> undeploy(UndeployContext ctx) override {
    return service().then([this, ctx](caf::actor svc) mutable {
      return bridge_
          .ask<bool>(svc, timeout_, "", undeploy_atom::value,
                     std::string{ctx.getParams().getName()})
          .then([this, ctx](bool) mutable {
            routers_.erase(std::string{ctx.getParams().getName()});
          });
    });
  }

private:
  template <class Context>
  kj::Promise<void> status(Context ctx, kj::Promise<envelope> p) {
    return p.then([ctx](envelope e) mutable {
      check(e.visit<schema::DeploymentStatus>(
          [&](auto r) { ctx.getResults().setStatus(r); }));
    });
  }

  kj::Promise<caf::actor> service() {
    if (service_) return kj::Promise<caf::actor>(service_);
    return bridge_
        .ask<caf::actor>(dir_, timeout_, "serving: ", lookup_atom::value,
                         std::string{service_name})
        .then([this](caf::actor svc) {
          service_ = svc;
          return svc;
        });
  }

  template <class... Ts>
  kj::Promise<envelope> call(Ts... xs) {
    return service().then([this, xs...](caf::actor svc) {
      return bridge_.ask<envelope>(svc, timeout_, "", xs...);
    });
  }

  kj::Promise<caf::actor> router(const std::string& name) {
    if (auto i = routers_.find(name); i != routers_.end())
      return kj::Promise<caf::actor>(i->second);
    return service()
        .then([this, name](caf::actor svc) {
          return bridge_.ask<caf::actor>(svc, timeout_, "", router_atom::value,
                                         name);
        })
        .then([this, name](caf::actor r) {
          routers_[name] = r;
          return r;
        });
  }

  /// Sends the request to the deployment's router. A router that went
  /// away (undeployed, or redeployed through another gateway thread) drops
  /// the request unanswered: the router is looked up once more and the
  /// request sent again, so only a deployment that is gone fails.
  kj::Promise<void> forward(PredictContext ctx, const std::string& name,
                            envelope env, bool again = true) {
    return router(name).then(
        [this, ctx, name, env, again](caf::actor r) mutable {
          // Straight to the router, which settles the promise itself: no actor
          // in between and no CAF timeout (each would cost a thread wake-up per
          // request); the router answers every request within its bounds.
          auto paf = kj::newPromiseAndCrossThreadFulfiller<envelope>();
          caf::anon_send(r, relay_atom::value, env,
                         make_predict_reply(kj::mv(paf.fulfiller)));
          return paf.promise.then(
              [ctx](envelope e) mutable -> kj::Promise<void> {
                check(e.visit<schema::PredictResponse>(
                    [&](auto r) { ctx.getResults().setResponse(r); }, big));
                return kj::READY_NOW;
              },
              [this, ctx, name, env,
               again](kj::Exception&& e) mutable -> kj::Promise<void> {
                if (e.getType() != kj::Exception::Type::DISCONNECTED)
                  kj::throwFatalException(kj::mv(e));
                routers_.erase(name);
                if (again) return forward(ctx, name, std::move(env), false);
                throw rpc_failure("deployment " + name + " is not running");
              });
        });
  }

  /// The request `env` (with entities) with rows of raw cells filled from
  /// the deployment's feature groups, named as `troupe features join` names
  /// its columns (tabular::feature_layout).
  kj::Promise<envelope> with_features(const std::string& name, envelope env) {
    return deployment_groups(name).then(
        [this, env](std::vector<std::string> groups) mutable {
          if (groups.empty())
            throw rpc_failure("predict by entity: the deployment names no "
                              "feature groups (deploy with --features G,...)");
          return group_specs(groups).then(
              [this, groups, env]() mutable { return lookup(groups, env); });
        });
  }

  /// The feature groups of deployment `name`, asked of the service at most
  /// every few seconds (a redeployment may change them).
  kj::Promise<std::vector<std::string>>
  deployment_groups(const std::string& name) {
    auto now = clock_->now();
    if (auto i = deployment_groups_.find(name);
        i != deployment_groups_.end() && now - i->second.first < groups_ttl)
      return i->second.second;
    return call(status_atom::value, name)
        .then([this, name, now](envelope status) {
          std::vector<std::string> groups;
          check(status.visit<schema::DeploymentStatus>([&](auto s) {
            for (auto g : s.getSpec().getFeatureGroups())
              groups.push_back(g);
          }));
          deployment_groups_[name] = {now, groups};
          return groups;
        });
  }

  schema::FeatureStore::Client& store() {
    if (!features_)
      features_ = lookup_("features").castAs<schema::FeatureStore>();
    return *features_;
  }

  /// Fetches the definitions of `groups` not known yet (a group's
  /// definition never changes once created).
  kj::Promise<void> group_specs(const std::vector<std::string>& groups) {
    bool known = true;
    for (auto& g : groups)
      known = known && group_defs_.count(g) > 0;
    if (known) return kj::READY_NOW;
    return store().groupsRequest().send().then([this, groups](auto answer) {
      for (auto g : answer.getGroups())
        group_defs_[g.getName()] = tabular::layout_of(g);
      for (auto& g : groups)
        if (!group_defs_.count(g))
          throw rpc_failure("predict by entity: no feature group '" + g + "'");
    });
  }

  kj::Promise<envelope> lookup(std::vector<std::string> groups, envelope env) {
    auto req = store().lookupRequest();
    auto l = req.initRequest();
    auto gl = l.initGroups(static_cast<unsigned>(groups.size()));
    for (unsigned i = 0; i < groups.size(); ++i)
      gl.set(i, groups[i]);
    check(env.visit<schema::PredictRequest>([&](auto r) {
      auto keys = l.initKeys(r.getEntities().size());
      for (unsigned k = 0; k < keys.size(); ++k)
        keys[k].setEntity(r.getEntities()[k]);
    }));
    return req.send().then([this, env, groups](auto answer) mutable {
      capnp::MallocMessageBuilder mb;
      check(env.visit<schema::PredictRequest>([&](auto r) { mb.setRoot(r); }));
      auto out = mb.getRoot<schema::PredictRequest>();
      std::vector<std::string> names;
      for (auto& g : groups)
        for (auto& c : group_defs_.at(g).columns())
          names.push_back(c);
      auto cols = out.initColumns(static_cast<unsigned>(names.size()));
      for (unsigned c = 0; c < names.size(); ++c)
        cols.set(c, names[c]);
      auto result = answer.getResult().getGroups();
      auto rows = out.initRows(out.getEntities().size());
      for (unsigned k = 0; k < rows.size(); ++k) {
        auto cells = rows[k].initCells(static_cast<unsigned>(names.size()));
        unsigned at = 0;
        for (unsigned g = 0; g < result.size(); ++g) {
          auto& def = group_defs_.at(groups[g]);
          auto row = result[g].getRows()[k];
          if (!row.getFound()) { // every cell of the group stays missing
            at += static_cast<unsigned>(def.size());
            continue;
          }
          for (auto f : row.getFields()) {
            using V = schema::FeatureValue;
            switch (f.which()) {
            case V::INT64:
              cells[at].setNumber(static_cast<double>(f.getInt64()));
              break;
            case V::FLOAT64:
              cells[at].setNumber(f.getFloat64());
              break;
            case V::TEXT:
              cells[at].setText(f.getText());
              break;
            case V::TIMESTAMP:
              cells[at].setNumber(static_cast<double>(f.getTimestamp()));
              break;
            default:
              break;
            }
            ++at;
          }
          auto vec = row.getVector();
          for (unsigned i = 0; i < def.width; ++i)
            cells[at++].setNumber(i < vec.size() ? vec[i] : NAN);
        }
      }
      out.initEntities(0);
      return envelope::of<schema::PredictRequest>(mb);
    });
  }

  caf::actor_system& sys_;
  caf::actor dir_;
  /// The other RPC interfaces of this gateway thread ("features").
  std::function<capnp::Capability::Client(const std::string&)> lookup_;
  actor_bridge bridge_;
  std::chrono::milliseconds timeout_{30000};
  caf::actor service_;
  std::map<std::string, caf::actor> routers_;
  static constexpr auto groups_ttl = std::chrono::seconds{5};
  clock_ptr clock_;
  std::map<std::string,
           std::pair<troupe::clock::time_point, std::vector<std::string>>>
      deployment_groups_;
  std::map<std::string, tabular::feature_layout> group_defs_;
  std::optional<schema::FeatureStore::Client> features_;
};

} // namespace

rpc_service make_rpc_service() {
  return rpc_service{service_name, [](const rpc_context& ctx) {
                       return capnp::Capability::Client{
                           kj::heap<predictor_server>(ctx, real_clock())};
                     }};
}

} // namespace troupe::serving
