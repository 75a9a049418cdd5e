#include "actors/automl/journal.hpp"

#include <capnp/serialize.h>

#include "actors/automl/errors.hpp"
#include "actors/automl/wire.hpp"
#include "runtime/errors.hpp"
#include "runtime/lmdb.hpp"
#include "schemas/automl.capnp.h"

namespace troupe::automl {

namespace {

using kind_t = schema::TrialEvent::Kind;

std::string event_prefix(const std::string& study) {
  return study + '\0';
}

std::string encode(const trial_event& ev) {
  capnp::MallocMessageBuilder mb;
  auto e = mb.initRoot<schema::TrialEvent>();
  e.setTrial(ev.trial);
  e.setKind(static_cast<kind_t>(ev.kind));
  write_params(e.initParams(static_cast<unsigned>(ev.params.size())),
               ev.params);
  e.setStep(ev.step);
  e.setValue(ev.value);
  e.setNode(ev.node);
  e.setAtMs(ev.at_ms);
  e.setMessage(ev.message);
  if (!ev.objectives.empty()) {
    auto list = e.initObjectives(static_cast<unsigned>(ev.objectives.size()));
    for (unsigned i = 0; i < ev.objectives.size(); ++i)
      list.set(i, ev.objectives[i]);
  }
  auto words = capnp::messageToFlatArray(mb);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()),
                     bytes.size());
}

caf::expected<trial_event> decode(std::string_view bytes,
                                  const std::string& where) {
  auto env = envelope::from_bytes(capnp::typeId<schema::TrialEvent>(),
                                  bytes.data(), bytes.size());
  if (!env)
    return make_error(errc::journal_corrupt,
                      where + ": " + describe(env.error()));
  auto r = env->visit<schema::TrialEvent>([](auto e) {
    trial_event ev;
    ev.trial = e.getTrial();
    ev.kind = static_cast<event_kind>(e.getKind());
    ev.params = read_params(e.getParams());
    ev.step = e.getStep();
    ev.value = e.getValue();
    ev.node = e.getNode();
    ev.at_ms = e.getAtMs();
    ev.message = e.getMessage();
    for (auto v : e.getObjectives()) // absent in older journals: none
      ev.objectives.push_back(v);
    return ev;
  });
  if (!r)
    return make_error(errc::journal_corrupt,
                      where + ": " + describe(r.error()));
  return std::move(*r);
}

} // namespace

void apply_event(std::map<trial_id, trial_record>& trials,
                 const trial_event& ev) {
  auto& t = trials[ev.trial];
  t.id = ev.trial;
  switch (ev.kind) {
  case event_kind::created:
    t.params = ev.params;
    t.state = trial_state::pending;
    break;
  case event_kind::started:
    t.state = trial_state::running;
    break;
  case event_kind::reported:
    t.intermediate[ev.step] = ev.value;
    if (!ev.objectives.empty()) t.secondary[ev.step] = ev.objectives;
    break;
  case event_kind::paused:
    t.state = trial_state::paused;
    break;
  case event_kind::completed:
    t.state = trial_state::complete;
    t.value = ev.value;
    t.secondary_value = ev.objectives;
    break;
  case event_kind::pruned:
    t.state = trial_state::pruned;
    break;
  case event_kind::failed:
    t.state = trial_state::failed;
    break;
  case event_kind::requeued:
    t.state = trial_state::pending;
    break;
  }
}

struct study_journal::impl {
  lmdb::env env;
  MDB_dbi specs = 0;
  MDB_dbi events = 0;
  MDB_dbi metas = 0;
  std::map<std::string, uint64_t> next_seq;

  explicit impl(lmdb::env e) : env(std::move(e)) {}

  caf::expected<uint64_t> seq_of(lmdb::txn& t, const std::string& study) {
    if (auto i = next_seq.find(study); i != next_seq.end()) return i->second;
    auto prefix = event_prefix(study);
    auto last = t.last_key(events, prefix);
    if (!last) return last.error();
    uint64_t next =
        *last
            ? lmdb::from_be64(std::string_view{**last}.substr(prefix.size())) +
                  1
            : 0;
    next_seq[study] = next;
    return next;
  }
};

study_journal::study_journal(std::unique_ptr<impl> ptr)
    : impl_(std::move(ptr)) {
  // nop
}

study_journal::~study_journal() = default;

caf::expected<std::unique_ptr<study_journal>>
study_journal::open(const std::string& dir, bool durable) {
  lmdb::env_options opts;
  opts.no_sync = !durable;
  auto e = lmdb::env::open(dir, opts);
  if (!e) return e.error();
  auto st = std::make_unique<impl>(std::move(*e));
  auto specs = st->env.open_db("specs");
  if (!specs) return specs.error();
  auto events = st->env.open_db("events");
  if (!events) return events.error();
  auto metas = st->env.open_db("metas");
  if (!metas) return metas.error();
  st->specs = *specs;
  st->events = *events;
  st->metas = *metas;
  return std::unique_ptr<study_journal>{new study_journal(std::move(st))};
}

caf::expected<void> study_journal::create(const std::string& study,
                                          const envelope& spec) {
  if (study.empty() || study.find('\0') != std::string::npos)
    return make_error(troupe::errc::invalid_argument,
                      "study id '" + study + "' is empty or has a NUL byte");
  if (spec.type_id() != capnp::typeId<schema::StudySpec>())
    return make_error(troupe::errc::type_mismatch,
                      "study spec must be a StudySpec, not " +
                          schema_name(spec.type_id()));
  auto t = lmdb::txn::begin(impl_->env, false);
  if (!t) return t.error();
  auto existing = t->get(impl_->specs, study);
  if (!existing) return existing.error();
  if (*existing)
    return make_error(troupe::errc::already_exists,
                      "study '" + study +
                          "' already exists in the journal at " +
                          impl_->env.path());
  auto r = t->put(impl_->specs, study,
                  std::string_view{static_cast<const char*>(spec.data()),
                                   spec.size_bytes()});
  if (!r) return r;
  return t->commit();
}

caf::expected<envelope> study_journal::spec(const std::string& study) {
  auto t = lmdb::txn::begin(impl_->env, true);
  if (!t) return t.error();
  auto v = t->get(impl_->specs, study);
  if (!v) return v.error();
  if (!*v)
    return make_error(troupe::errc::not_found, "no study '" + study +
                                                   "' in the journal at " +
                                                   impl_->env.path());
  return envelope::from_bytes(capnp::typeId<schema::StudySpec>(), (*v)->data(),
                              (*v)->size());
}

caf::expected<void> study_journal::record_meta(const std::string& study,
                                               const std::string& text) {
  auto t = lmdb::txn::begin(impl_->env, false);
  if (!t) return t.error();
  if (auto r = t->put(impl_->metas, study, text); !r) return r.error();
  return t->commit();
}

caf::expected<std::vector<std::pair<std::string, std::string>>>
study_journal::metas() {
  auto t = lmdb::txn::begin(impl_->env, true);
  if (!t) return t.error();
  std::vector<std::pair<std::string, std::string>> out;
  auto r = t->scan(impl_->metas, "", [&](auto k, auto v) {
    out.emplace_back(std::string{k}, std::string{v});
    return true;
  });
  if (!r) return r.error();
  return out;
}

caf::expected<std::vector<std::string>> study_journal::studies() {
  auto t = lmdb::txn::begin(impl_->env, true);
  if (!t) return t.error();
  std::vector<std::string> out;
  auto r = t->scan(impl_->specs, "", [&](auto k, auto) {
    out.emplace_back(k);
    return true;
  });
  if (!r) return r.error();
  return out;
}

caf::expected<void>
study_journal::append(const std::string& study,
                      const std::vector<trial_event>& events) {
  auto t = lmdb::txn::begin(impl_->env, false);
  if (!t) return t.error();
  auto known = t->get(impl_->specs, study);
  if (!known) return known.error();
  if (!*known)
    return make_error(troupe::errc::not_found,
                      "cannot append to unknown study '" + study + "'");
  auto seq = impl_->seq_of(*t, study);
  if (!seq) return seq.error();
  auto prefix = event_prefix(study);
  uint64_t next = *seq;
  for (auto& ev : events)
    if (auto r = t->put(impl_->events, prefix + lmdb::be64(next++), encode(ev));
        !r)
      return r;
  if (auto r = t->commit(); !r) {
    impl_->next_seq.erase(study);
    return r;
  }
  impl_->next_seq[study] = next;
  return {};
}

caf::expected<std::vector<trial_event>>
study_journal::events(const std::string& study) {
  auto t = lmdb::txn::begin(impl_->env, true);
  if (!t) return t.error();
  std::vector<trial_event> out;
  caf::error bad;
  auto r = t->scan(impl_->events, event_prefix(study), [&](auto k, auto v) {
    auto seq = lmdb::from_be64(k.substr(study.size() + 1));
    auto ev = decode(v, "journal " + impl_->env.path() + ", study '" + study +
                            "', event " + std::to_string(seq));
    if (!ev) {
      bad = ev.error();
      return false;
    }
    out.push_back(std::move(*ev));
    return true;
  });
  if (!r) return r.error();
  if (bad) return bad;
  return out;
}

caf::expected<replayed_study> study_journal::replay(const std::string& study) {
  auto evs = events(study);
  if (!evs) return evs.error();
  replayed_study out;
  for (auto& ev : *evs) {
    apply_event(out.trials, ev);
    out.next_trial = std::max(out.next_trial, ev.trial + 1);
  }
  out.events = evs->size();
  for (auto& [id, t] : out.trials)
    if (t.state == trial_state::running) out.interrupted.push_back(id);
  return out;
}

} // namespace troupe::automl
