// automl.service: the study journal, the studies and the cluster's slots
// (protocol in service.hpp).

#include "actors/automl/service.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>

#include <caf/all.hpp>

#include "actors/automl/errors.hpp"
#include "actors/automl/runner.hpp"
#include "actors/automl/study_actor.hpp"
#include "actors/automl/wire.hpp"
#include "runtime/cluster.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"
#include "schemas/automl.capnp.h"
#include "schemas/cluster.capnp.h"

namespace troupe::automl {

namespace {

constexpr auto request_timeout = std::chrono::seconds{30};

struct service_state {
  std::string data_dir;
  clock_ptr clock;
  std::shared_ptr<study_journal> journal;
  caf::error journal_error;
  caf::actor directory;
  struct node_entry {
    uint32_t slots = 0;
    caf::actor runner;
  };
  std::map<std::string, node_entry> nodes;
  struct study_entry {
    study_actor actor;
    double weight = 1;
    bool wants = false;
    int priority = 0;
    bool preemptible = false;
    /// Slots per trial (a gang when its trials run as jobs).
    uint32_t gang = 1;
  };
  std::map<std::string, study_entry> studies;
  /// A study's lease: its slot (the first of a gang's), and the nodes of
  /// the gang's every slot ("a,b"; "" for one slot).
  struct held_lease {
    std::string study;
    std::string node;
    uint32_t slot = 0;
    std::string gang;
  };
  /// Leases handed to studies, by id.
  std::map<uint64_t, held_lease> leases;
  /// Leases on nodes whose runner is not up yet, handed over when it is.
  std::map<uint64_t, held_lease> parked;
  std::shared_ptr<spdlog::logger> log = log::get("automl");
};

using state_ptr = std::shared_ptr<service_state>;
using held_lease = service_state::held_lease;

/// The name of a study's slot consumer.
std::string consumer_of(const std::string& study) {
  return "automl/" + study;
}

/// Tells the directory what a study wants (or that it leaves).
void send_want(service_self* self, const state_ptr& st,
               const std::string& study, bool wants, bool leave = false) {
  if (!st->directory) return;
  auto s = st->studies.find(study);
  auto weight = s == st->studies.end() ? 1.0 : s->second.weight;
  auto env = make_envelope<schema::SlotWant>([&](auto w) {
    w.setConsumer(consumer_of(study));
    w.setWeight(weight);
    if (s != st->studies.end()) {
      w.setPriority(s->second.priority);
      w.setPreemptible(s->second.preemptible);
    }
    w.setSize(s != st->studies.end() ? s->second.gang : 1);
    w.setWants(wants);
    w.setLeave(leave);
  });
  self->request(st->directory, request_timeout, slot_want_atom::value, env)
      .then([] {},
            [=](caf::error& err) {
              st->log->warn("automl: the directory refused study {}'s slot "
                            "want: {}",
                            study, describe(err));
            });
}

void release_lease(service_self* self, const state_ptr& st,
                   const std::string& study, uint64_t lease) {
  st->leases.erase(lease);
  st->parked.erase(lease);
  if (st->directory)
    caf::unsafe_send_as(self, st->directory, slot_release_atom::value,
                        consumer_of(study), lease);
}

/// Hands a lease to its study, or gives it back when the study no longer
/// wants it; parks it while its node has no runner yet.
void hand_over(service_self* self, const state_ptr& st, uint64_t lease,
               const held_lease& h) {
  auto s = st->studies.find(h.study);
  if (s == st->studies.end() || !s->second.wants) {
    release_lease(self, st, h.study, lease);
    return;
  }
  auto n = st->nodes.find(h.node);
  // a gang's every node must have its runner (one may be going: its lease
  // waits for the directory to drop it)
  bool ready = n != st->nodes.end();
  for (auto& node : gang_nodes(h.node, h.gang))
    ready = ready && st->nodes.count(node) > 0;
  if (!ready) {
    st->parked[lease] = h;
    return;
  }
  st->parked.erase(lease);
  st->leases[lease] = h;
  self->send(s->second.actor, grant_atom::value, h.node, h.slot,
             n->second.runner, lease, h.gang);
}

void on_slot_grant(service_self* self, const state_ptr& st,
                   const envelope& env) {
  auto got = env.visit<schema::SlotLease>([&](auto l) {
    held_lease h;
    std::string consumer = l.getConsumer();
    auto prefix = consumer_of("");
    if (consumer.compare(0, prefix.size(), prefix) == 0)
      h.study = consumer.substr(prefix.size());
    if (l.getSlots().size() > 0) {
      h.node = l.getSlots()[0].getNode();
      h.slot = l.getSlots()[0].getIndex();
    }
    if (l.getSlots().size() > 1)
      for (auto slot : l.getSlots())
        h.gang += (h.gang.empty() ? "" : ",") + std::string{slot.getNode()};
    return std::make_pair(l.getId(), h);
  });
  if (!got) {
    st->log->warn("automl: a bad slot lease: {}", describe(got.error()));
    return;
  }
  hand_over(self, st, got->first, got->second);
}

/// The directory wants a preemptible study's lease back for higher-priority
/// work: the study gives the slot back (its trial there is re-queued).
void on_preempt(service_self* self, const state_ptr& st, const envelope& env) {
  auto id = env.visit<schema::SlotLease>([](auto l) { return l.getId(); });
  if (!id) return;
  if (auto p = st->parked.find(*id); p != st->parked.end()) {
    auto study = p->second.study;
    return release_lease(self, st, study, *id);
  }
  auto h = st->leases.find(*id);
  if (h == st->leases.end()) return;
  auto s = st->studies.find(h->second.study);
  if (s == st->studies.end())
    return release_lease(self, st, h->second.study, *id);
  self->send(s->second.actor, yield_atom::value, h->second.node, h->second.slot,
             *id);
}

void node_gone(service_self* self, const state_ptr& st, const std::string& node,
               const std::string& why) {
  // its runner may have stopped first: then the studies know, but a gang
  // lease parked since may hold a slot there
  bool known = st->nodes.erase(node) > 0;
  // the directory drops a lost node's leases itself; a node whose runner
  // stopped stays, so its leases are given back
  std::vector<std::pair<uint64_t, std::string>> gone;
  // a gang with a slot there is lost whole
  auto on_node = [&](const held_lease& h) {
    auto nodes = gang_nodes(h.node, h.gang);
    return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
  };
  for (auto& [id, h] : st->leases)
    if (on_node(h)) gone.emplace_back(id, h.study);
  for (auto& [id, h] : st->parked)
    if (on_node(h)) gone.emplace_back(id, h.study);
  for (auto& [id, study] : gone)
    release_lease(self, st, study, id);
  if (!known) return;
  st->log->warn("automl: node {} gone ({}), {} slot(s) in use lost", node, why,
                gone.size());
  for (auto& [id, s] : st->studies)
    self->send(s.actor, lost_atom::value, node);
}

void node_joined(service_self* self, const state_ptr& st,
                 const std::string& node, uint32_t slots) {
  if (slots == 0) return; // nothing to run there
  auto name = std::string{runner_kind} + "." + node;
  self->request(st->directory, request_timeout, caf::spawn_atom::value,
                std::string{runner_kind}, node, std::string{}, name)
      .then(
          [=](const envelope&) {
            self->request(st->directory, request_timeout, lookup_atom::value,
                          name)
                .then(
                    [=](const caf::actor& runner) {
                      self->monitor(runner);
                      st->nodes[node] = {slots, runner};
                      st->log->info("automl: runner on {} with {} slot(s)",
                                    node, slots);
                      // any parked lease may wait for this node (a
                      // gang's other nodes too): hand_over parks it again
                      // while one lacks its runner
                      std::vector<std::pair<uint64_t, held_lease>> ready(
                          st->parked.begin(), st->parked.end());
                      for (auto& [id, h] : ready)
                        hand_over(self, st, id, h);
                    },
                    [=](caf::error& err) {
                      st->log->warn("automl: no runner on {}: {}", node,
                                    describe(err));
                    });
          },
          [=](caf::error& err) {
            st->log->warn("automl: cannot start a runner on {}: {}", node,
                          describe(err));
          });
}

/// A study says whether it wants slots; the directory hears of changes.
void set_wants(service_self* self, const state_ptr& st,
               const std::string& study, bool wants) {
  auto s = st->studies.find(study);
  if (s == st->studies.end() || s->second.wants == wants) return;
  s->second.wants = wants;
  send_want(self, st, study, wants);
}

caf::error ensure_journal(const state_ptr& st) {
  if (st->journal) return caf::none;
  auto j = study_journal::open(st->data_dir + "/journal", false);
  if (!j) return j.error();
  st->journal = std::move(*j);
  return caf::none;
}

caf::result<envelope> status_of(service_self* self, const study_actor& study,
                                uint64_t board) {
  auto rp = self->make_response_promise<envelope>();
  self->request(study, request_timeout, progress_atom::value, board)
      .then([rp](const envelope& e) mutable { rp.deliver(e); },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

caf::expected<std::string> ref_of(const envelope& env) {
  return env.visit<schema::StudyRef>(
      [](auto r) { return std::string{r.getId().cStr()}; });
}

/// Spawns a study actor for `spec`, its data resolved to the head's files
/// (with its journal replayed if `replay`).
caf::expected<study_actor> start_study(service_self* self, const state_ptr& st,
                                       const study_spec& spec, double weight,
                                       const replayed_study* replay) {
  auto core = study_core::make(spec, replay, st->clock->wall_ms());
  if (!core) return core.error();
  study_init init;
  init.core = std::move(*core);
  init.journal = st->journal;
  init.service = caf::actor_cast<service_actor>(self);
  init.clock = st->clock;
  init.out_dir =
      spec.out_dir.empty() ? st->data_dir + "/" + spec.id : spec.out_dir;
  init.weight = weight;
  auto actor = spawn_study(self->system(), std::move(init));
  self->monitor(actor);
  st->studies[spec.id] = {
      actor,         weight,           false,
      spec.priority, spec.preemptible, trial_gang_size(spec)};
  send_want(self, st, spec.id, false);
  st->log->info("automl: study {} {} (sampler {}, scheduler {}, weight {})",
                spec.id, replay ? "resumed" : "started", spec.sampler,
                spec.scheduler, weight);
  return actor;
}

/// Starts a study actor for `spec` once its data named by content is
/// resolved to the head's files, and answers with its first status.
caf::result<envelope> launch(service_self* self, const state_ptr& st,
                             const study_spec& spec, double weight,
                             const replayed_study* replay) {
  auto rp = self->make_response_promise<envelope>();
  std::shared_ptr<const replayed_study> kept;
  if (replay) kept = std::make_shared<replayed_study>(*replay);
  auto go = [=](caf::expected<study_spec> s) mutable {
    if (!s) {
      rp.deliver(s.error());
      return;
    }
    if (st->studies.count(s->id)) {
      rp.deliver(make_error(errc::study_loaded,
                            "study " + s->id + " is already running"));
      return;
    }
    auto actor = start_study(self, st, *s, weight, kept.get());
    if (!actor) {
      rp.deliver(actor.error());
      return;
    }
    self->request(*actor, request_timeout, progress_atom::value, uint64_t{0})
        .then([rp](const envelope& e) mutable { rp.deliver(e); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  };
  // its CSVs named by content are read from the head's copies
  std::vector<dataset_ref> refs;
  std::vector<std::string*> paths;
  auto resolved = std::make_shared<study_spec>(spec);
  for (auto [ref, path] : {std::pair{&resolved->data, &resolved->data_path},
                           std::pair{&resolved->test, &resolved->test_path}})
    if (!ref->hash.empty()) {
      refs.push_back(*ref);
      paths.push_back(path);
    }
  held_datasets(self, refs,
                [=](caf::expected<std::vector<std::string>> held) mutable {
                  if (!held)
                    return go(make_error(troupe::errc::not_found,
                                         "study " + spec.id + ": " +
                                             describe(held.error())));
                  for (size_t i = 0; i < paths.size(); ++i)
                    *paths[i] = (*held)[i];
                  go(*resolved);
                });
  return rp;
}

caf::result<envelope> on_submit(service_self* self, const state_ptr& st,
                                const envelope& env) {
  if (st->journal_error) return st->journal_error;
  double weight = 1;
  // The nested spec, re-wrapped as a message of its own.
  auto full = env.visit<schema::StudySubmit>([&](auto s) {
    weight = s.getWeight() > 0 ? s.getWeight() : 1;
    capnp::MallocMessageBuilder mb;
    mb.setRoot(s.getSpec());
    return envelope::of<schema::StudySpec>(mb);
  });
  if (!full) return full.error();
  auto spec = spec_from(*full);
  if (!spec) return spec.error();
  if (spec->id == "journal")
    return make_error(errc::reserved_id, "study id 'journal' is reserved");
  if (auto err = validate(*spec)) return err;
  if (st->studies.count(spec->id))
    return make_error(errc::study_loaded,
                      "study " + spec->id + " is already running");
  spec->weight = weight;
  if (auto r = st->journal->create(spec->id, to_envelope(*spec)); !r)
    return r.error();
  return launch(self, st, *spec, weight, nullptr);
}

caf::result<envelope> on_resume(service_self* self, const state_ptr& st,
                                const envelope& env) {
  if (st->journal_error) return st->journal_error;
  auto id = ref_of(env);
  if (!id) return id.error();
  if (st->studies.count(*id))
    return make_error(errc::study_loaded,
                      "study " + *id + " is already loaded");
  auto stored = st->journal->spec(*id);
  if (!stored) return stored.error();
  auto spec = spec_from(*stored);
  if (!spec) return spec.error();
  auto replay = st->journal->replay(*id);
  if (!replay) return replay.error();
  return launch(self, st, *spec, spec->weight, &*replay);
}

caf::result<envelope> on_status(service_self* self, const state_ptr& st,
                                const envelope& env) {
  auto id = ref_of(env);
  if (!id) return id.error();
  auto i = st->studies.find(*id);
  if (i == st->studies.end())
    return make_error(errc::study_not_loaded,
                      "no study '" + *id +
                          "' is loaded (see `studies`; stored "
                          "studies continue with resume)");
  return status_of(self, i->second.actor, 20);
}

caf::result<envelope> on_stop(service_self* self, const state_ptr& st,
                              const envelope& env) {
  auto id = ref_of(env);
  if (!id) return id.error();
  auto i = st->studies.find(*id);
  if (i == st->studies.end())
    return make_error(errc::study_not_loaded,
                      "no study '" + *id + "' is loaded");
  self->send(i->second.actor, halt_atom::value,
             std::string{"stopped by request"});
  return status_of(self, i->second.actor, 0);
}

/// The statuses of the loaded studies (asked of each) and the stored ones.
caf::result<envelope> on_list(service_self* self, const state_ptr& st) {
  struct pending_t {
    caf::response_promise rp;
    size_t left = 0;
    std::map<std::string, envelope> got;
    std::vector<std::string> stored;
  };
  auto p = std::make_shared<pending_t>();
  p->rp = self->make_response_promise();
  if (st->journal)
    if (auto ids = st->journal->studies())
      for (auto& id : *ids)
        if (!st->studies.count(id)) p->stored.push_back(id);
  auto finish = [p] {
    p->rp.deliver(make_envelope<schema::StudyList>([&](auto b) {
      auto list = b.initStudies(
          static_cast<unsigned>(p->got.size() + p->stored.size()));
      unsigned i = 0;
      for (auto& [id, e] : p->got) {
        (void)e.template visit<schema::StudyStatus>(
            [&](auto s) { list.setWithCaveats(i, s); });
        ++i;
      }
      for (auto& id : p->stored) {
        list[i].setId(id);
        list[i].setStudyState(schema::StudyState::STORED);
        list[i].setState(to_text(schema::StudyState::STORED));
        ++i;
      }
    }));
  };
  p->left = st->studies.size();
  if (p->left == 0) {
    finish();
    return p->rp;
  }
  for (auto& [id, s] : st->studies) {
    auto name = id;
    self->request(s.actor, request_timeout, progress_atom::value, uint64_t{0})
        .then(
            [=](const envelope& e) {
              p->got.emplace(name, e);
              if (--p->left == 0) finish();
            },
            [=](caf::error&) {
              if (--p->left == 0) finish();
            });
  }
  return p->rp;
}

void on_directory_event(service_self* self, const state_ptr& st,
                        const envelope& ev) {
  (void)ev.visit<schema::DirectoryEvent>([&](auto e) {
    using K = schema::DirectoryEvent::Kind;
    std::string node = e.getNode().getName();
    if (e.getKind() == K::NODE_JOINED)
      node_joined(self, st, node, e.getNode().getSlots());
    else if (e.getKind() == K::NODE_LEFT)
      node_gone(self, st, node, e.getReason());
  });
}

/// Opens the journal, watches the directory and handles the deaths of
/// runners and studies.
void start_service(service_self* self, const state_ptr& st) {
  if (auto err = ensure_journal(st)) {
    st->journal_error = err;
    st->log->error("automl: {}", describe(err));
  }
  if (auto h = self->system().registry().get(directory_registry_key))
    st->directory = caf::actor_cast<caf::actor>(h);
  if (st->directory) {
    self->request(st->directory, caf::infinite, subscribe_atom::value)
        .then(
            [=](const envelope& snap) {
              (void)snap.visit<schema::Snapshot>([&](auto s) {
                for (auto n : s.getNodes())
                  node_joined(self, st, n.getName(), n.getSlots());
              });
            },
            [=](caf::error& err) {
              st->log->error("automl: cannot watch the directory: {}",
                             describe(err));
            });
  } else {
    st->log->error("automl: no directory in this process");
  }
  // Studies are not linked to the service; they go when it goes.
  self->attach_functor([st] {
    for (auto& [id, s] : st->studies)
      caf::anon_send_exit(s.actor, caf::exit_reason::user_shutdown);
  });
  self->set_down_handler([=](const caf::down_msg& dm) {
    for (auto& [node, n] : st->nodes)
      if (n.runner && n.runner.address() == dm.source) {
        auto name = node;
        node_gone(self, st, name, "its runner stopped");
        return;
      }
    for (auto i = st->studies.begin(); i != st->studies.end(); ++i)
      if (i->second.actor.address() == dm.source) {
        auto study = i->first;
        st->studies.erase(i);
        for (auto l = st->leases.begin(); l != st->leases.end();)
          l = l->second.study == study ? st->leases.erase(l) : std::next(l);
        for (auto l = st->parked.begin(); l != st->parked.end();)
          l = l->second.study == study ? st->parked.erase(l) : std::next(l);
        send_want(self, st, study, false, true);
        return;
      }
  });
}

} // namespace

service_actor::behavior_type automl_service(service_self* self, kind_args args,
                                            clock_ptr clock) {
  auto st = std::make_shared<service_state>();
  st->clock = clock ? std::move(clock) : real_clock();
  st->data_dir = std::filesystem::absolute(
                     args.config.empty() ? std::string{"."} : args.config)
                     .lexically_normal()
                     .string();
  start_service(self, st);
  self->identify(args);
  return {
      [=](submit_atom, const envelope& env) -> caf::result<envelope> {
        return on_submit(self, st, env);
      },
      [=](resume_atom, const envelope& env) -> caf::result<envelope> {
        return on_resume(self, st, env);
      },
      [=](status_atom, const envelope& env) -> caf::result<envelope> {
        return on_status(self, st, env);
      },
      [=](stop_atom, const envelope& env) -> caf::result<envelope> {
        return on_stop(self, st, env);
      },
      [=](list_atom, const envelope&) -> caf::result<envelope> {
        return on_list(self, st);
      },
      [=](event_atom, const envelope& ev) { on_directory_event(self, st, ev); },
      [=](wants_atom, const std::string& study, bool wants) {
        set_wants(self, st, study, wants);
      },
      [=](release_atom, const std::string& study, const std::string& node,
          uint32_t slot, uint64_t lease, bool wants) {
        auto h = st->leases.find(lease);
        if (h != st->leases.end() && h->second.study == study &&
            h->second.node == node && h->second.slot == slot)
          release_lease(self, st, study, lease);
        set_wants(self, st, study, wants);
      },
      [=](slot_grant_atom, const envelope& env) {
        on_slot_grant(self, st, env);
      },
      [=](preempt_atom, const envelope& env) { on_preempt(self, st, env); },
      self->stats_handler(),
  };
}

service_actor spawn_service(caf::actor_system& sys, kind_args args,
                            clock_ptr clock) {
  return sys.spawn(automl_service, std::move(args), std::move(clock));
}

void register_kinds(caf::actor_system_config& cfg) {
  register_kinds_with_clock(cfg, real_clock());
}

void register_kinds_with_clock(caf::actor_system_config& cfg, clock_ptr clock) {
  register_error_names();
  cfg.add_actor_type(service_kind, [clock](service_self* self, kind_args args) {
    return automl_service(self, std::move(args), clock);
  });
  cfg.add_actor_type(runner_kind, trial_runner);
  mark_service_kind(service_kind);
  mark_service_kind(runner_kind);
  register_schema<schema::StudySpec>();
  register_schema<schema::StudySubmit>();
  register_schema<schema::StudyRef>();
  register_schema<schema::StudyStatus>();
  register_schema<schema::StudyList>();
  register_schema<schema::TrialAssignment>();
  register_schema<schema::TrialReport>();
  register_schema<schema::TrialDecision>();
  register_schema<schema::TrialEnd>();
}

} // namespace troupe::automl
