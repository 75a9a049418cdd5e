// The node agent (protocol in agent.hpp).

#include "runtime/agent.hpp"

#include <unistd.h>

#include <set>

#include <caf/all.hpp>

#include "runtime/convert.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"
#include "schemas/cluster.capnp.h"

namespace troupe {

namespace {

struct agent_state {
  static inline const char* name = "troupe.agent";
  agent_config cfg;
  caf::actor directory;
  uint64_t incarnation = 0;
  bool joined = false;
  bool stopping = false;
  std::chrono::milliseconds heartbeat{500};
  std::map<caf::actor_addr, std::string> spawned;
  /// Spawned actors of service kinds (they take no slot).
  std::set<caf::actor_addr> services;
  uint64_t received = 0;
  std::chrono::steady_clock::time_point started =
      std::chrono::steady_clock::now();
  std::shared_ptr<spdlog::logger> log = log::get("agent");
};

using agent_self = agent_actor::stateful_pointer<agent_state>;

uint32_t free_slots(const agent_state& st) {
  auto used = static_cast<uint32_t>(st.spawned.size() - st.services.size());
  return used >= st.cfg.slots ? 0 : st.cfg.slots - used;
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

void stop_agent(agent_self self, const std::string& reason) {
  auto& st = self->state;
  if (st.stopping) return;
  st.stopping = true;
  for (auto& [addr, name] : st.spawned)
    if (auto h = caf::actor_cast<caf::actor>(addr))
      self->send_exit(h, caf::exit_reason::user_shutdown);
  st.log->warn("node {} stops: {}", st.cfg.name, reason);
  if (st.cfg.on_stop) st.cfg.on_stop(reason);
  self->quit(caf::exit_reason::user_shutdown);
}

void join(agent_self self) {
  auto& st = self->state;
  auto req = make_envelope<schema::JoinRequest>([&](auto r) {
    r.setName(st.cfg.name);
    r.setSecret(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(st.cfg.secret.data()),
                     st.cfg.secret.size()));
    r.setHost(host_name());
    r.setPid(static_cast<uint32_t>(getpid()));
    r.setSlots(st.cfg.slots);
    r.setIsHead(st.cfg.is_head);
    auto labels = r.initLabels(static_cast<unsigned>(st.cfg.labels.size()));
    for (unsigned i = 0; i < st.cfg.labels.size(); ++i) {
      labels[i].setKey(st.cfg.labels[i].first);
      labels[i].setValue(st.cfg.labels[i].second);
    }
  });
  self->request(st.directory, std::chrono::seconds{10}, join_atom::value, req)
      .then(
          [=](const envelope& reply) {
            auto& st = self->state;
            auto ok = reply.visit<schema::JoinReply>([&](auto r) {
              if (!r.getAccepted()) {
                std::string reason = r.getReason();
                st.log->error("the head refused node {}: {}", st.cfg.name,
                              reason);
                if (st.cfg.on_refused) st.cfg.on_refused(reason);
                return false;
              }
              bool first = !st.joined;
              st.joined = true;
              st.incarnation = r.getIncarnation();
              st.heartbeat = std::chrono::milliseconds{
                  std::max<uint32_t>(10, r.getHeartbeatMs())};
              st.log->info(
                  "node {} joined the cluster (head {}, incarnation {})",
                  st.cfg.name, r.getHeadName().cStr(), st.incarnation);
              if (first) self->send(self, tick_atom::value);
              return true;
            });
            if (!ok || !*ok)
              stop_agent(self, ok ? "refused by the head"
                                  : "bad join reply: " + describe(ok.error()));
          },
          [=](caf::error& err) {
            auto& st = self->state;
            st.log->error("join failed: {}", describe(err));
            if (st.cfg.on_refused) st.cfg.on_refused(describe(err));
            stop_agent(self, "join failed");
          });
}

caf::result<caf::actor, envelope> on_spawn(agent_self self,
                                           const envelope& req) {
  auto& st = self->state;
  ++st.received;
  if (self->current_sender() != st.directory.address() &&
      self->current_sender() && self->current_sender()->node() != self->node())
    return make_error(errc::unauthorized,
                      "spawn requests are accepted from the head only");
  auto args = req.visit<schema::SpawnRequest>([&](auto r) {
    return kind_args{r.getName(), st.cfg.name,
                     std::string{r.getConfig().cStr()}, st.cfg.data_dir,
                     st.cfg.head_host};
  });
  if (!args) return args.error();
  auto kind = req.visit<schema::SpawnRequest>(
      [](auto r) { return std::string{r.getKind().cStr()}; });
  auto service = is_service_kind(*kind);
  if (!service && free_slots(st) == 0)
    return make_error(errc::no_capacity,
                      "node " + st.cfg.name + " has no free slot (" +
                          std::to_string(st.cfg.slots) + " slots)");
  // Kinds may be typed: spawn by name without checking the interface
  // (the directory keeps dynamic handles; messages still reach a typed
  // actor when they match its interface).
  auto handle = self->system().spawn<caf::actor>(
      *kind, caf::make_message(*args), nullptr, false);
  if (!handle)
    return make_error(errc::not_found,
                      "cannot spawn kind '" + *kind + "' on node " +
                          st.cfg.name + ": " +
                          self->system().render(handle.error()));
  self->monitor(*handle);
  st.spawned.emplace(handle->address(), args->name);
  if (service) st.services.insert(handle->address());
  st.log->info("spawned {} as {}", *kind, args->name);
  auto info = make_envelope<schema::ActorInfo>([&](auto a) {
    a.setName(args->name);
    a.setNode(st.cfg.name);
    a.setKind(*kind);
    a.setId(handle->id());
  });
  return {*handle, info};
}

agent_actor::behavior_type agent(agent_self self, caf::actor directory,
                                 agent_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.directory = directory;
  self->monitor(directory);
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.directory.address()) {
      stop_agent(self, "lost the head (" + to_string(dm.reason) + ")");
      return;
    }
    st.spawned.erase(dm.source);
    st.services.erase(dm.source);
  });
  self->set_exit_handler([=](const caf::exit_msg& em) {
    stop_agent(self, "exit requested (" + to_string(em.reason) + ")");
  });
  join(self);
  return {
      [=](tick_atom) {
        auto& st = self->state;
        ++st.received;
        auto hb = make_envelope<schema::Heartbeat>([&](auto h) {
          h.setName(st.cfg.name);
          h.setIncarnation(st.incarnation);
          h.setFreeSlots(free_slots(st));
        });
        caf::unsafe_send_as(self, st.directory, heartbeat_atom::value, hb);
        self->delayed_send(self, st.heartbeat, tick_atom::value);
      },
      [=](rejoin_atom) {
        ++self->state.received;
        self->state.log->warn("the head asks node {} to rejoin",
                              self->state.cfg.name);
        join(self);
      },
      [=](caf::spawn_atom, const envelope& req) { return on_spawn(self, req); },
      [=](stats_atom) {
        auto& st = self->state;
        auto waiting = static_cast<uint64_t>(self->mailbox().size());
        auto handled = st.received++;
        auto up = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - st.started)
                      .count();
        return make_envelope<schema::ActorStats>([&](auto s) {
          s.setTarget(st.cfg.name);
          s.setNode(st.cfg.name);
          s.setMailboxSize(waiting);
          s.setHandled(handled);
          s.setUptimeMs(static_cast<uint64_t>(up));
        });
      },
      [=](shutdown_atom) {
        auto& st = self->state;
        ++st.received;
        if (self->current_sender() &&
            self->current_sender()->node() != self->node() &&
            self->current_sender() != st.directory.address())
          return;
        stop_agent(self, "shutdown requested");
      },
  };
}

} // namespace

caf::actor spawn_agent(caf::actor_system& sys, caf::actor directory,
                       agent_config cfg) {
  dataset_cache_config dcfg;
  dcfg.node = cfg.name;
  if (!cfg.data_dir.empty()) dcfg.dir = cfg.data_dir + "/datasets";
  auto a = caf::actor_cast<caf::actor>(
      sys.spawn(agent, std::move(directory), std::move(cfg)));
  // the node's dataset cache lives as long as its agent
  dcfg.owner = a;
  spawn_dataset_cache(sys, std::move(dcfg));
  return a;
}

} // namespace troupe
