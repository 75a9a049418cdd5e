// The router actor of one deployment: adapts messages to router_core (the
// decisions: traffic split, replica choice, shedding, retries, lifecycle,
// autoscaling) and carries out what the core asks through CAF requests
// (protocol in router.hpp).

#include "actors/serving/router.hpp"

#include <map>
#include <utility>

#include <caf/all.hpp>

#include "actors/serving/replica.hpp"
#include "actors/serving/router_core.hpp"
#include "actors/serving/service.hpp"
#include "runtime/bridge.hpp"
#include "runtime/cluster.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/cluster.capnp.h"

namespace troupe::serving {

namespace {

struct router_state;
using router_pointer = router_actor::stateful_pointer<router_state>;

/// Where a request's answer goes: the promise of an actor's request, or the
/// gateway's KJ promise (predict_reply).
struct reply_to {
  caf::typed_response_promise<envelope> rp;
  predict_reply kj;

  void deliver(envelope answer) {
    if (kj)
      (*kj)->fulfill(std::move(answer));
    else
      rp.deliver(std::move(answer));
  }

  void fail(caf::error err) {
    if (kj)
      (*kj)->reject(rpc_failure(describe(err)));
    else
      rp.deliver(std::move(err));
  }
};

/// Carries out the core's wishes as the router actor `self`.
class actor_io final : public router_io {
public:
  actor_io(router_actor::pointer self, router_config cfg)
      : self_(self), cfg_(std::move(cfg)) {}

  /// Set once the core exists (it calls back into this object).
  void attach(router_core* core) { core_ = core; }

  const router_config& config() const { return cfg_; }

  /// The callers of the requests in flight, by the core's id.
  std::map<uint64_t, reply_to>& replies() { return replies_; }

  /// The name of the replica whose handle has address `a` (empty: none).
  std::string replica_at(const caf::actor_addr& a) const {
    for (auto& [name, h] : handles_)
      if (h.address() == a) return name;
    return {};
  }

  void forget(const std::string& name) { handles_.erase(name); }

  void send(const router_attempt& a, const envelope& request) override {
    auto h = handles_.find(a.replica);
    if (h == handles_.end()) {
      core_->on_error(a, make_error(troupe::errc::shutting_down,
                                    "replica " + a.replica + " is gone"));
      return;
    }
    // No CAF timeout (each would cost the clock thread a wake-up per
    // request): a lost replica is seen by its monitor, a stuck one by tick.
    auto core = core_;
    self_->request(h->second, caf::infinite, predict_atom::value, request)
        .then([=](const envelope& answer) { core->on_answer(a, answer); },
              [=](caf::error& err) { core->on_error(a, std::move(err)); });
  }

  void answer(uint64_t id, const envelope& response) override {
    auto i = replies_.find(id);
    if (i == replies_.end()) return;
    i->second.deliver(response);
    replies_.erase(i);
  }

  void fail(uint64_t id, caf::error err) override {
    auto i = replies_.find(id);
    if (i == replies_.end()) return;
    i->second.fail(std::move(err));
    replies_.erase(i);
  }

  void fetch(const std::string& model, uint32_t version) override {
    auto core = core_;
    self_
        ->request(cfg_.service, router_request_timeout, fetch_atom::value,
                  model, version)
        .then([=](const envelope& mv) { core->model_fetched(version, mv); },
              [=](caf::error& err) {
                core->model_fetched(version, std::move(err));
              });
  }

  void start(const std::string& name, const envelope& model,
             const envelope& spec) override {
    auto core = core_;
    auto gone = [=](caf::error& err) {
      core->replica_start_failed(name, describe(err));
    };
    self_
        ->request(cfg_.directory, router_request_timeout,
                  caf::spawn_atom::value, std::string{replica_kind},
                  std::string{}, core->spec().name, name)
        .then(
            [=](const envelope& snap) {
              std::string node;
              (void)snap.visit<schema::Snapshot>([&](auto s) {
                for (auto a : s.getActors())
                  if (a.getName() == name) node = a.getNode();
              });
              self_
                  ->request(cfg_.directory, router_request_timeout,
                            lookup_atom::value, name)
                  .then(
                      [=](const caf::actor& found) {
                        if (!core->replica_placed(name, node)) return;
                        auto h = caf::actor_cast<replica_actor>(found);
                        handles_[name] = h;
                        self_->monitor(h);
                        self_
                            ->request(h, router_request_timeout,
                                      load_atom::value, model, spec)
                            .then([=](bool) { core->replica_ready(name); },
                                  gone);
                      },
                      gone);
            },
            gone);
  }

  void drain(const std::string& name) override {
    auto h = handles_.find(name);
    if (h == handles_.end()) {
      core_->replica_drained(name);
      return;
    }
    auto core = core_;
    self_->request(h->second, router_request_timeout, drain_atom::value)
        .then([=](bool) { core->replica_drained(name); },
              [=](caf::error&) { core->replica_drained(name); });
  }

  void stop(const std::string& name) override {
    // Fire and forget: the directory's answer changes nothing here.
    caf::anon_send(cfg_.directory, stop_atom::value, name);
    if (auto h = handles_.find(name); h != handles_.end()) {
      self_->demonitor(h->second.address());
      handles_.erase(h);
    }
  }

private:
  router_actor::pointer self_;
  router_config cfg_;
  router_core* core_ = nullptr;
  std::map<uint64_t, reply_to> replies_;
  std::map<std::string, replica_actor> handles_;
};

/// The router's state: the core and the adapter it calls.
struct router_state {
  const char* name = "serving.router";
  std::unique_ptr<actor_io> io;
  std::unique_ptr<router_core> core;
};

// The handlers of router_actor's messages (router.hpp).

caf::result<envelope> on_predict(router_pointer self, const envelope& req) {
  auto& st = self->state;
  auto ticket = st.core->admit(req);
  if (!ticket) return ticket.error();
  auto rp = self->make_response_promise<envelope>();
  auto id = st.core->open(req, *ticket);
  st.io->replies().emplace(id, reply_to{rp, nullptr});
  st.core->route(id);
  return rp;
}

void on_relay(router_pointer self, const envelope& req,
              const predict_reply& kj) {
  auto& st = self->state;
  auto ticket = st.core->admit(req);
  if (!ticket) {
    (*kj)->reject(rpc_failure(describe(ticket.error())));
    return;
  }
  auto id = st.core->open(req, *ticket);
  st.io->replies().emplace(id, reply_to{{}, kj});
  st.core->route(id);
}

caf::result<envelope> on_configure(router_pointer self,
                                   const envelope& status) {
  auto& core = *self->state.core;
  if (auto err = core.configure(status)) return err;
  core.reconcile();
  return core.status();
}

void on_tick(router_pointer self) {
  self->state.core->tick();
  self->delayed_send(self, router_tick_every, tick_atom::value);
}

router_actor::behavior_type handlers(router_pointer self) {
  return {
      [self](predict_atom, const envelope& req) {
        return on_predict(self, req);
      },
      [self](relay_atom, const envelope& req, const predict_reply& kj) {
        on_relay(self, req, kj);
      },
      [self](deployment_atom) { return self->state.core->status(); },
      [self](configure_atom, const envelope& status) {
        return on_configure(self, status);
      },
      [self](tick_atom) { on_tick(self); },
  };
}

router_actor::behavior_type router_fn(router_pointer self, router_config cfg) {
  auto log = log::get("serving");
  auto time = cfg.clock ? cfg.clock : real_clock();
  auto sink = cfg.log;
  auto status = cfg.status;
  auto& st = self->state;
  st.io = std::make_unique<actor_io>(self, std::move(cfg));
  st.core = std::make_unique<router_core>(*st.io, time, sink);
  st.io->attach(st.core.get());
  if (auto err = st.core->configure(status)) {
    log->error("router: {}", describe(err));
    self->quit(err);
    return handlers(self);
  }
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& st = self->state;
    auto name = st.io->replica_at(dm.source);
    if (name.empty()) return;
    st.io->forget(name);
    st.core->replica_down(name, to_string(dm.reason));
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    self->state.core->shutdown();
    self->quit(msg.reason);
  });
  st.core->reconcile();
  self->delayed_send(self, router_tick_every, tick_atom::value);
  return handlers(self);
}

} // namespace

router_actor spawn_router(caf::actor_system& sys, router_config cfg) {
  return sys.spawn(router_fn, std::move(cfg));
}

} // namespace troupe::serving
