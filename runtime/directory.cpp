// The directory (protocol in directory.hpp).

#include "runtime/directory.hpp"

#include <memory>
#include <set>

#include <caf/all.hpp>

#include "runtime/cluster_slots.hpp"
#include "runtime/convert.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/cluster.capnp.h"

namespace troupe {

envelope to_event(const directory_change& change) {
  return make_envelope<schema::DirectoryEvent>([&](auto ev) {
    using k = schema::DirectoryEvent::Kind;
    switch (change.kind) {
    case directory_change::node_joined:
      ev.setKind(k::NODE_JOINED);
      break;
    case directory_change::node_left:
      ev.setKind(k::NODE_LEFT);
      break;
    case directory_change::actor_registered:
      ev.setKind(k::ACTOR_REGISTERED);
      break;
    case directory_change::actor_removed:
      ev.setKind(k::ACTOR_REMOVED);
      break;
    }
    fill(ev.initNode(), change.node);
    fill(ev.initActor(), change.actor);
    ev.setReason(change.reason);
    ev.setAtMs(to_ms(wall_clock::now()));
  });
}

namespace {

struct directory_state {
  static inline const char* name = "troupe.directory";
  directory_table table{std::string{}};
  cluster_slots slots;
  /// Actors that own slot consumers (monitored once each).
  std::set<caf::actor_addr> slot_owners;
  directory_config cfg;
  std::vector<caf::actor> watchers;
  std::shared_ptr<spdlog::logger> log = log::get("directory");
  bool shutting_down = false;
  /// The agent of the directory's own node, told to stop at the halt (after
  /// the shutdown's answer is out: it stops the gateway that carries it).
  caf::actor local_agent;
};

using directory_self = directory_actor::stateful_pointer<directory_state>;

envelope snapshot_of(const directory_table& t, const cluster_slots& slots,
                     bool with_nodes, bool with_actors) {
  return make_envelope<schema::Snapshot>([&](auto s) {
    if (with_nodes) {
      auto held = slots.holders();
      auto list = s.initSlots(static_cast<unsigned>(held.size()));
      for (unsigned i = 0; i < held.size(); ++i) {
        list[i].setNode(held[i].node);
        list[i].setIndex(held[i].index);
        list[i].setConsumer(held[i].consumer);
        list[i].setLease(held[i].lease);
      }
    }
    if (with_nodes) {
      auto nodes = s.initNodes(static_cast<unsigned>(t.nodes().size()));
      unsigned i = 0;
      for (auto& [name, rec] : t.nodes())
        fill(nodes[i++], rec);
    }
    if (with_actors) {
      auto actors = s.initActors(static_cast<unsigned>(t.actors().size()));
      unsigned i = 0;
      for (auto& [name, rec] : t.actors())
        fill(actors[i++], rec);
    }
  });
}

envelope lease_envelope(const slot_lease& l) {
  return make_envelope<schema::SlotLease>([&](auto out) {
    out.setConsumer(l.consumer);
    out.setId(l.id);
    auto list = out.initSlots(static_cast<unsigned>(l.slots.size()));
    for (unsigned i = 0; i < l.slots.size(); ++i) {
      list[i].setNode(l.slots[i].node);
      list[i].setIndex(l.slots[i].index);
    }
  });
}

/// Sends the grants and preemption notices due, and shows each node's free
/// slots as the scheduler counts them (the agents count only actors).
void dispatch_slots(directory_self self) {
  auto& st = self->state;
  for (auto& g : st.slots.grants())
    if (g.owner)
      caf::unsafe_send_as(self, g.owner, slot_grant_atom::value,
                          lease_envelope(g.lease));
  for (auto& p : st.slots.preemptions()) {
    st.log->info("asking {} to give back lease {} for higher-priority work",
                 p.lease.consumer, p.lease.id);
    caf::unsafe_send_as(self, p.owner, preempt_atom::value,
                        lease_envelope(p.lease));
  }
  for (auto& [name, n] : st.table.nodes())
    st.table.set_free_slots(name, st.slots.free_on(name));
}

/// Keeps the cluster's slots in step with membership and actors.
void apply_to_slots(directory_self self,
                    const std::vector<directory_change>& changes) {
  auto& slots = self->state.slots;
  for (auto& c : changes) {
    switch (c.kind) {
    case directory_change::node_joined:
      slots.add_node(c.node.name, c.node.slots);
      break;
    case directory_change::node_left:
      for (auto& l : slots.remove_node(c.node.name))
        if (slots.scheduler().lease(l.id))
          self->state.log->warn("lease {} of {} lost its slots on node {}",
                                l.id, l.consumer, c.node.name);
        else
          self->state.log->warn("lease {} of {} lost with node {}", l.id,
                                l.consumer, c.node.name);
      break;
    case directory_change::actor_registered:
      break;
    case directory_change::actor_removed:
      slots.actor_gone(c.actor.name);
      break;
    }
  }
  if (!changes.empty()) dispatch_slots(self);
}

void publish(directory_self self,
             const std::vector<directory_change>& changes) {
  apply_to_slots(self, changes);
  for (auto& c : changes) {
    switch (c.kind) {
    case directory_change::node_joined:
      self->state.log->info("node {} joined from {} (pid {}, {} slots, "
                            "incarnation {})",
                            c.node.name, c.node.host, c.node.pid, c.node.slots,
                            c.node.incarnation);
      break;
    case directory_change::node_left:
      self->state.log->warn("node {} removed: {}", c.node.name, c.reason);
      break;
    case directory_change::actor_registered:
      self->state.log->info("actor {} ({}) registered on {}", c.actor.name,
                            c.actor.kind, c.actor.node);
      break;
    case directory_change::actor_removed:
      self->state.log->info("actor {} removed: {}", c.actor.name, c.reason);
      break;
    }
    if (self->state.watchers.empty()) continue;
    auto ev = to_event(c);
    for (auto& w : self->state.watchers)
      caf::unsafe_send_as(self, w, event_atom::value, ev);
  }
}

// The directory talks to agents and watchers through dynamic handles, keeping
// itself as the sender (agents check it): caf::unsafe_send_as, since a typed
// actor's send() only reaches typed actors.

/// Refuses requests from processes that never joined.
caf::error check_member(directory_self self) {
  auto& src = self->current_sender();
  if (!src || src->node() == self->node() ||
      self->state.table.is_member(src->node()))
    return caf::none;
  self->state.log->warn("refused a request from non-member {}",
                        to_string(src->node()));
  return make_error(errc::unauthorized,
                    "the sender's node is not a member of this cluster");
}

join_request parse_join(schema::JoinRequest::Reader r) {
  join_request req;
  req.name = r.getName();
  auto secret = r.getSecret();
  req.secret.assign(reinterpret_cast<const char*>(secret.begin()),
                    secret.size());
  req.host = r.getHost();
  req.pid = r.getPid();
  req.slots = r.getSlots();
  req.is_head = r.getIsHead();
  for (auto kv : r.getLabels())
    req.labels.emplace_back(kv.getKey(), kv.getValue());
  return req;
}

caf::result<envelope> on_join(directory_self self, const envelope& env) {
  auto& st = self->state;
  auto agent = caf::actor_cast<caf::actor>(self->current_sender());
  if (!agent)
    return make_error(errc::invalid_argument, "join without a sender");
  auto req = env.visit<schema::JoinRequest>(parse_join);
  if (!req) return req.error();
  // The head's own agent lives in this process; there is one head.
  req->is_head = req->is_head && agent.node() == self->node() &&
                 std::none_of(st.table.nodes().begin(), st.table.nodes().end(),
                              [](auto& kv) { return kv.second.is_head; });
  auto changes = st.table.join(*req, agent, st.cfg.now());
  if (!changes) {
    st.log->warn("refused join of '{}' from {} (pid {}): {}", req->name,
                 req->host, req->pid, describe(changes.error()));
    return make_envelope<schema::JoinReply>([&](auto r) {
      r.setAccepted(false);
      r.setReason(describe(changes.error()));
    });
  }
  self->monitor(agent);
  publish(self, *changes);
  auto* rec = st.table.find_node(req->name);
  std::string head_name;
  for (auto& [name, n] : st.table.nodes())
    if (n.is_head) head_name = name;
  return make_envelope<schema::JoinReply>([&](auto r) {
    r.setAccepted(true);
    r.setHeadName(head_name);
    r.setIncarnation(rec->incarnation);
    r.setHeartbeatMs(static_cast<uint32_t>(st.cfg.heartbeat.count()));
  });
}

void on_heartbeat(directory_self self, const envelope& env) {
  auto& st = self->state;
  // the scheduler's count, not the agent's (which knows only the actors
  // spawned there), is the node's free slots
  auto known = env.visit<schema::Heartbeat>([&](auto hb) {
    std::string name = hb.getName();
    return st.table.heartbeat(name, hb.getIncarnation(), st.slots.free_on(name),
                              st.cfg.now());
  });
  if (!known) {
    st.log->warn("bad heartbeat: {}", describe(known.error()));
    return;
  }
  if (!*known && self->current_sender()) {
    st.log->info("heartbeat from an unknown incarnation: asking it to "
                 "rejoin");
    caf::unsafe_send_as(self,
                        caf::actor_cast<caf::actor>(self->current_sender()),
                        rejoin_atom::value);
  }
}

/// Checks a spawn request before any node is asked.
caf::error check_spawn(directory_self self, const std::string& kind,
                       const std::string& name) {
  auto& st = self->state;
  if (auto err = check_member(self)) return err;
  if (st.shutting_down)
    return make_error(errc::shutting_down, "the cluster is shutting down");
  if (!self->system().config().actor_factories.count(kind))
    return make_error(errc::not_found,
                      "unknown actor kind '" + kind + "' (see `kinds`)");
  if (!name.empty() && !valid_name(name))
    return make_error(errc::invalid_argument,
                      "actor name '" + name +
                          "' is invalid: use 1-64 characters from "
                          "[A-Za-z0-9._-]");
  if (!name.empty() && st.table.find_actor(name))
    return make_error(errc::already_exists,
                      "an actor named '" + name + "' is registered");
  return caf::none;
}

caf::result<envelope> on_spawn(directory_self self, const std::string& kind,
                               const std::string& where,
                               const std::string& config,
                               const std::string& name) {
  auto& st = self->state;
  if (auto err = check_spawn(self, kind, name)) return err;
  auto targets = st.table.place(where);
  if (!targets) return targets.error();
  if (!name.empty() && targets->size() > 1)
    return make_error(errc::invalid_argument,
                      "a name cannot be given with placement 'every'");
  struct pending_t {
    caf::typed_response_promise<envelope> rp;
    size_t left;
    std::vector<actor_record> done;
    caf::error err;
  };
  auto pending = std::make_shared<pending_t>();
  pending->rp = self->make_response_promise<envelope>();
  pending->left = targets->size();
  auto finish = [=] {
    if (--pending->left > 0) return;
    if (pending->err && pending->done.empty()) {
      pending->rp.deliver(pending->err);
      return;
    }
    pending->rp.deliver(make_envelope<schema::Snapshot>([&](auto s) {
      auto list = s.initActors(static_cast<unsigned>(pending->done.size()));
      for (unsigned i = 0; i < pending->done.size(); ++i)
        fill(list[i], pending->done[i]);
    }));
  };
  auto takes_slot = !is_service_kind(kind);
  for (auto* node : *targets) {
    auto actor_name = name.empty() ? st.table.fresh_name(kind) : name;
    auto node_name = node->name;
    if (takes_slot) {
      if (auto err = st.slots.take_for_actor(actor_name, node_name)) {
        pending->err = err;
        finish();
        continue;
      }
    }
    auto req = make_envelope<schema::SpawnRequest>([&](auto r) {
      r.setKind(kind);
      r.setName(actor_name);
      r.setConfig(config);
    });
    self->request(node->agent, st.cfg.request_timeout, caf::spawn_atom::value,
                  req)
        .then(
            [=](const caf::actor& handle, const envelope&) {
              actor_record rec{actor_name, node_name, kind, handle};
              auto c = self->state.table.add_actor(rec);
              if (!c) {
                self->send_exit(handle, caf::exit_reason::user_shutdown);
                pending->err = c.error();
                self->state.slots.actor_gone(actor_name);
                dispatch_slots(self);
              } else {
                self->monitor(handle);
                publish(self, {*c});
                pending->done.push_back(rec);
              }
              finish();
            },
            [=](caf::error& err) {
              self->state.log->warn("spawn of {} on {} failed: {}", kind,
                                    node_name, describe(err));
              self->state.slots.actor_gone(actor_name);
              dispatch_slots(self);
              pending->err =
                  make_error(errc::invalid_argument,
                             "spawn of '" + kind + "' on node '" + node_name +
                                 "' failed: " + describe(err));
              finish();
            });
  }
  return pending->rp;
}

caf::result<void> on_stop(directory_self self, const std::string& name) {
  auto& st = self->state;
  if (auto err = check_member(self)) return err;
  auto* rec = st.table.find_actor(name);
  if (!rec)
    return make_error(errc::not_found,
                      "no actor named '" + name + "' is registered");
  auto handle = rec->handle;
  self->demonitor(handle);
  self->send_exit(handle, caf::exit_reason::user_shutdown);
  if (auto c = st.table.remove_actor(name, "stopped by request"))
    publish(self, {*c});
  return caf::unit;
}

caf::result<envelope> on_stats(directory_self self, const std::string& target) {
  auto& st = self->state;
  if (auto err = check_member(self)) return err;
  std::vector<caf::actor> asks;
  if (target.empty()) {
    for (auto& [name, n] : st.table.nodes())
      asks.push_back(n.agent);
  } else if (auto* a = st.table.find_actor(target)) {
    asks.push_back(a->handle);
  } else if (auto* n = st.table.find_node(target)) {
    asks.push_back(n->agent);
  } else {
    return make_error(errc::not_found,
                      "no actor or node named '" + target + "'");
  }
  struct pending_t {
    caf::typed_response_promise<envelope> rp;
    size_t left;
    std::vector<envelope> got;
    caf::error err;
  };
  auto pending = std::make_shared<pending_t>();
  pending->rp = self->make_response_promise<envelope>();
  pending->left = asks.size();
  auto finish = [=] {
    if (--pending->left > 0) return;
    if (pending->err && pending->got.empty()) {
      pending->rp.deliver(pending->err);
      return;
    }
    auto out = make_envelope<schema::StatsList>([&](auto s) {
      auto list = s.initStats(static_cast<unsigned>(pending->got.size()));
      for (unsigned i = 0; i < pending->got.size(); ++i)
        (void)pending->got[i].visit<schema::ActorStats>(
            [&](auto r) { list.setWithCaveats(i, r); });
    });
    pending->rp.deliver(std::move(out));
  };
  for (auto& a : asks)
    self->request(a, st.cfg.request_timeout, stats_atom::value)
        .then(
            [=](const envelope& e) {
              pending->got.push_back(e);
              finish();
            },
            [=](caf::error& err) {
              pending->err =
                  make_error(errc::timeout, "stats of '" + target +
                                                "' failed: " + describe(err));
              finish();
            });
  return pending->rp;
}

caf::result<envelope> on_subscribe(directory_self self) {
  if (auto err = check_member(self)) return err;
  auto w = caf::actor_cast<caf::actor>(self->current_sender());
  if (w) {
    self->monitor(w);
    self->state.watchers.push_back(w);
  }
  return snapshot_of(self->state.table, self->state.slots, true, true);
}

caf::result<void> on_shutdown(directory_self self) {
  auto& st = self->state;
  if (auto err = check_member(self)) return err;
  st.log->warn("shutdown requested: stopping {} nodes",
               st.table.nodes().size());
  st.shutting_down = true;
  for (auto& [name, n] : st.table.nodes()) {
    self->demonitor(n.agent);
    if (st.cfg.on_shutdown && n.agent && n.agent.node() == self->node())
      st.local_agent = n.agent;
    else
      caf::unsafe_send_as(self, n.agent, shutdown_atom::value);
  }
  if (st.cfg.on_shutdown) {
    // Answer first, then let the head stop.
    auto done = st.cfg.on_shutdown;
    self->delayed_send(self, std::chrono::milliseconds{200}, halt_atom::value);
    self->attach_functor([done] { done(); });
  }
  return caf::unit;
}

caf::result<void> on_slot_want(directory_self self, const envelope& env) {
  auto& st = self->state;
  if (auto err = check_member(self)) return err;
  auto owner = caf::actor_cast<caf::actor>(self->current_sender());
  if (!owner)
    return make_error(errc::invalid_argument, "a slot want without a sender");
  auto w = env.visit<schema::SlotWant>([](auto r) {
    slot_want w;
    w.consumer = r.getConsumer();
    w.opts.weight = r.getWeight();
    w.opts.priority = r.getPriority();
    w.opts.preemptible = r.getPreemptible();
    w.opts.keeps_survivors = r.getKeepsSurvivors();
    w.size = r.getSize();
    w.min_size = r.getMinSize();
    using p = schema::SlotWant::Placement;
    w.where = r.getPlacement() == p::PACK     ? gang_placement::pack
              : r.getPlacement() == p::SPREAD ? gang_placement::spread
                                              : gang_placement::any;
    w.node = r.getNode();
    w.wants = r.getWants();
    w.leave = r.getLeave();
    return w;
  });
  if (!w) return w.error();
  if (auto err = st.slots.want(owner, *w)) return err;
  if (st.slot_owners.insert(owner.address()).second) self->monitor(owner);
  dispatch_slots(self);
  return caf::unit;
}

void on_down(directory_self self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.slot_owners.erase(dm.source) > 0) {
    st.slots.owner_down(dm.source);
    dispatch_slots(self);
  }
  auto gone = st.table.remove_agent(dm.source, "connection lost (" +
                                                   to_string(dm.reason) + ")");
  if (!gone.empty()) {
    publish(self, gone);
    return;
  }
  if (auto c =
          st.table.remove_actor(dm.source, "exited: " + to_string(dm.reason))) {
    publish(self, {*c});
    return;
  }
  auto& ws = st.watchers;
  ws.erase(std::remove_if(
               ws.begin(), ws.end(),
               [&](const caf::actor& w) { return w.address() == dm.source; }),
           ws.end());
}

directory_actor::behavior_type directory(directory_self self,
                                         directory_config cfg) {
  self->state.table = directory_table{cfg.secret};
  self->state.cfg = std::move(cfg);
  auto sweep_every =
      std::max(std::chrono::milliseconds{50}, self->state.cfg.node_timeout / 6);
  self->delayed_send(self, sweep_every, sweep_atom::value);
  self->set_down_handler([=](const caf::down_msg& dm) { on_down(self, dm); });
  return {
      [=](join_atom, const envelope& env) { return on_join(self, env); },
      [=](heartbeat_atom, const envelope& env) { on_heartbeat(self, env); },
      [=](sweep_atom) {
        auto& st = self->state;
        publish(self, st.table.expire(st.cfg.now(), st.cfg.node_timeout));
        self->delayed_send(self, sweep_every, sweep_atom::value);
      },
      [=](snapshot_atom) -> caf::result<envelope> {
        if (auto err = check_member(self)) return err;
        return snapshot_of(self->state.table, self->state.slots, true, true);
      },
      [=](lookup_atom, const std::string& name) -> caf::result<caf::actor> {
        if (auto err = check_member(self)) return err;
        if (auto* rec = self->state.table.find_actor(name)) return rec->handle;
        return make_error(errc::not_found,
                          "no actor named '" + name + "' is registered");
      },
      [=](caf::spawn_atom, const std::string& kind, const std::string& where,
          const std::string& config, const std::string& name) {
        return on_spawn(self, kind, where, config, name);
      },
      [=](stop_atom, const std::string& name) { return on_stop(self, name); },
      [=](gather_atom, const std::string& target) {
        return on_stats(self, target);
      },
      [=](subscribe_atom) { return on_subscribe(self); },
      [=](kinds_atom) -> caf::result<std::vector<std::string>> {
        std::vector<std::string> out;
        for (auto& kv : self->system().config().actor_factories)
          out.push_back(kv.first);
        std::sort(out.begin(), out.end());
        return out;
      },
      [=](slot_want_atom, const envelope& env) -> caf::result<void> {
        return on_slot_want(self, env);
      },
      [=](slot_release_atom, const std::string& consumer, uint64_t lease) {
        if (check_member(self)) return;
        self->state.slots.release(consumer, lease);
        dispatch_slots(self);
      },
      [=](ping_atom) { return ping_atom::value; },
      [=](shutdown_atom) { return on_shutdown(self); },
      [=](halt_atom) {
        auto& st = self->state;
        if (check_member(self) || !st.shutting_down) return;
        if (st.local_agent)
          caf::unsafe_send_as(self, st.local_agent, shutdown_atom::value);
        self->quit(caf::exit_reason::user_shutdown);
      },
  };
}

} // namespace

caf::actor spawn_directory(caf::actor_system& sys, directory_config cfg) {
  auto handle = sys.spawn(directory, std::move(cfg));
  sys.registry().put(directory_registry_key,
                     caf::actor_cast<caf::strong_actor_ptr>(handle));
  return caf::actor_cast<caf::actor>(handle);
}

} // namespace troupe
