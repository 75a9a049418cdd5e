#include "actors/training/ps_worker.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include <caf/all.hpp>

#include "actors/training/job.hpp"
#include "actors/training/step_clock.hpp"
#include "actors/training/wire.hpp"
#include "actors/training/worker_usage.hpp"
#include "runtime/allocator.hpp"
#include "runtime/errors.hpp"
#include "runtime/gpu_usage.hpp"
#include "runtime/kind_args.hpp"
#include "runtime/node.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

constexpr auto request_timeout = std::chrono::seconds{60};

// -- the gate -----------------------------------------------------------------

struct gate_state {
  static inline const char* name = "troupe.ps_gate";
  step_clock clock;
  uint64_t steps = 0; ///< pushed by all workers together
  std::map<std::string, caf::typed_response_promise<uint64_t>> waiting;
  /// A hold: workers that reach `hold` wait in `held` until go.
  uint64_t hold = 0;
  caf::typed_response_promise<uint64_t> hold_done;
  std::map<std::string, caf::typed_response_promise<uint64_t>> held;
  /// (ps_clock_atom, at_least) asked before the slowest worker got there.
  std::multimap<uint64_t, caf::typed_response_promise<uint64_t>> watchers;
};

using gate_self = ps_gate_actor::stateful_pointer<gate_state>;

void release(gate_self self, const std::vector<std::string>& workers) {
  auto& st = self->state;
  for (auto& w : workers) {
    auto p = st.waiting.find(w);
    if (p == st.waiting.end()) continue;
    p->second.deliver(st.clock.clock(w));
    st.waiting.erase(p);
  }
}

/// Answers the watchers whose step the slowest worker has reached (all of
/// them once no worker is left).
void check_watchers(gate_self self) {
  auto& st = self->state;
  auto slowest = st.clock.slowest();
  while (!st.watchers.empty() &&
         (st.clock.size() == 0 || st.watchers.begin()->first <= slowest)) {
    st.watchers.begin()->second.deliver(slowest);
    st.watchers.erase(st.watchers.begin());
  }
}

/// Answers a hold once every remaining worker is held at it (the workers
/// behind are never blocked by the held ones: staleness holds back only the
/// fast).
void check_hold(gate_self self) {
  auto& st = self->state;
  if (st.hold == 0 || !st.hold_done.pending()) return;
  if (st.held.size() == st.clock.size()) st.hold_done.deliver(st.hold);
}

// -- a worker -----------------------------------------------------------------

/// A request to a shard not answered yet: `again` sends it anew (to the
/// shard's replacement), `settled` once answered or sent anew.
struct shard_call {
  std::shared_ptr<bool> settled;
  std::function<void()> again;
};

struct worker_state {
  static inline const char* name = "troupe.ps_worker";
  ps_worker_config cfg;
  /// Per shard, its calls in flight: a shard that went (its node died)
  /// answers none of them, or with an error; its replacement
  /// (ps_reshard_atom) gets them again.
  std::vector<std::vector<shard_call>> calls;
  caf::typed_response_promise<uint64_t, double> done;
  bool running = false;
  /// The setup said more rows follow (ps_rows_atom).
  bool more_rows = false;
  size_t next = 0; ///< first row of the next minibatch
  size_t epoch = 0;
  uint64_t rows = 0;
  double loss = 0;
  /// Each minibatch takes and frees the same buffers: the node keeps the
  /// pages while a worker lives (runtime/allocator.hpp).
  freed_pages_kept keep;
  /// Its time split while it trains: a minibatch's keys are data, the
  /// pulls and pushes comm, the gradient compute; the gate's wait (the
  /// consistency bound holding it back) is idle. Sent to the gate every
  /// quarter second and at the end.
  std::optional<usage_meter> usage;
  std::chrono::steady_clock::time_point mark, reported;
  uint64_t steps = 0;
};

using worker_self =
    caf::stateful_actor<worker_state, typed_worker_of<ps_worker_actor>::type>*;

/// One minibatch in flight: its keys by shard and the weights pulled.
struct step_ctx {
  size_t begin = 0, end = 0;
  std::vector<uint64_t> keys;
  std::vector<float> weights;
  /// per shard: positions in `keys`
  std::vector<std::vector<size_t>> at;
  size_t pending = 0;
  bool failed = false;
};

void run_step(worker_self self);

/// Adds the time since `since` to a column of the worker's split and
/// starts the next phase (st.mark) now.
void lap(worker_self self, std::chrono::steady_clock::time_point since,
         void (usage_meter::*column)(double)) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  if (st.usage)
    ((*st.usage).*column)(std::chrono::duration<double>(now - since).count());
  st.mark = now;
}

/// The worker's split to its gate (which passes it on to the job).
void report_usage(worker_self self) {
  auto& st = self->state;
  if (!st.usage || !st.cfg.gate) return;
  auto gpu = gpu_usage::get().utilisation();
  self->send(
      st.cfg.gate, job_usage_atom::value,
      to_envelope(worker_usage{st.cfg.name, 0, 0, st.cfg.start_step + st.steps,
                               st.usage->split(), gpu ? *gpu : std::nan("")}));
  st.reported = std::chrono::steady_clock::now();
}

void fail(worker_self self, const caf::error& err) {
  auto& st = self->state;
  if (!st.running) return;
  st.running = false;
  self->send(st.cfg.gate, ps_leave_atom::value, st.cfg.name);
  st.done.deliver(err);
}

/// Keeps a call to shard `s` until it is answered; returns its flag.
std::shared_ptr<bool> track(worker_self self, size_t s,
                            std::function<void()> again) {
  auto& calls = self->state.calls[s];
  calls.erase(std::remove_if(calls.begin(), calls.end(),
                             [](auto& c) { return *c.settled; }),
              calls.end());
  auto settled = std::make_shared<bool>(false);
  calls.push_back({settled, std::move(again)});
  return settled;
}

/// A shard's error: one that went leaves the call for its replacement;
/// any other fails the worker.
void shard_error(worker_self self, const std::shared_ptr<bool>& settled,
                 const caf::error& err) {
  if (*settled || went_away(err)) return;
  *settled = true;
  fail(self, err);
}

/// Pulls `keys` from shard `s`, then `then(reply)`.
void pull_from(worker_self self, size_t s, envelope keys,
               std::function<void(const envelope&)> then) {
  auto settled =
      track(self, s, [=] { pull_from(self, s, keys, std::move(then)); });
  self->request(self->state.cfg.shards[s], request_timeout, ps_pull_atom::value,
                keys)
      .then(
          [=](const envelope& reply) {
            if (*settled) return;
            *settled = true;
            then(reply);
          },
          [=](caf::error& err) { shard_error(self, settled, err); });
}

/// Pushes `grads` to shard `s`, then `then()`.
void push_to(worker_self self, size_t s, envelope grads,
             std::function<void()> then) {
  auto settled =
      track(self, s, [=] { push_to(self, s, grads, std::move(then)); });
  self->request(self->state.cfg.shards[s], request_timeout, ps_push_atom::value,
                grads)
      .then(
          [=] {
            if (*settled) return;
            *settled = true;
            then();
          },
          [=](caf::error& err) { shard_error(self, settled, err); });
}

/// Shard `s` is `shard` from now on: the calls the one before left
/// unanswered go to it.
void reshard(worker_self self, uint32_t s, const caf::actor& shard) {
  auto& st = self->state;
  if (s >= st.cfg.shards.size()) return;
  st.cfg.shards[s] = caf::actor_cast<ps_shard_actor>(shard);
  auto calls = std::move(st.calls[s]);
  st.calls[s].clear();
  for (auto& c : calls)
    if (!*c.settled) {
      *c.settled = true;
      if (st.running) c.again();
    }
}

void after_push(worker_self self) {
  auto& st = self->state;
  lap(self, st.mark, &usage_meter::add_comm);
  ++st.steps;
  if (std::chrono::steady_clock::now() - st.reported >=
      std::chrono::milliseconds{250})
    report_usage(self);
  self->request(st.cfg.gate, caf::infinite, ps_step_atom::value, st.cfg.name)
      .then([=](uint64_t) { run_step(self); },
            [=](caf::error& err) { fail(self, err); });
}

void after_pull(worker_self self, const std::shared_ptr<step_ctx>& ctx) {
  auto& st = self->state;
  lap(self, st.mark, &usage_meter::add_comm);
  auto t0 = st.mark;
  auto g =
      gradient(*st.cfg.rows, ctx->begin, ctx->end, ctx->keys, ctx->weights);
  if (!g) return fail(self, g.error());
  st.loss += g->loss;
  st.rows += g->rows;
  auto n = st.cfg.shards.size();
  auto left = std::make_shared<size_t>(0);
  std::vector<envelope> pushes(n);
  for (size_t s = 0; s < n; ++s) {
    auto& pos = ctx->at[s];
    if (pos.empty()) continue;
    pushes[s] = make_envelope<schema::SparseValues>([&](auto out) {
      auto k = out.initKeys(static_cast<unsigned>(pos.size()));
      auto v = out.initValues(static_cast<unsigned>(pos.size()));
      for (unsigned i = 0; i < pos.size(); ++i) {
        k.set(i, g->keys[pos[i]]);
        v.set(i, g->grads[pos[i]]);
      }
    });
    ++*left;
  }
  lap(self, t0, &usage_meter::add_compute);
  for (size_t s = 0; s < n; ++s) {
    if (ctx->at[s].empty()) continue;
    push_to(self, s, pushes[s], [=] {
      if (--*left == 0 && self->state.running) after_push(self);
    });
  }
}

void run_step(worker_self self) {
  auto& st = self->state;
  if (!st.running) return;
  auto& rows = *st.cfg.rows;
  if (st.next >= rows.size()) {
    st.next = 0;
    ++st.epoch;
  }
  if (st.epoch >= st.cfg.epochs || rows.empty()) {
    report_usage(self);
    st.running = false;
    self->send(st.cfg.gate, ps_leave_atom::value, st.cfg.name);
    st.done.deliver(st.rows, st.loss);
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto ctx = std::make_shared<step_ctx>();
  ctx->begin = st.next;
  ctx->end = std::min(rows.size(), st.next + st.cfg.batch);
  st.next = ctx->end;
  ctx->keys = keys_of(rows, ctx->begin, ctx->end);
  ctx->weights.assign(ctx->keys.size(), 0.f);
  auto n = static_cast<uint32_t>(st.cfg.shards.size());
  ctx->at.resize(n);
  for (size_t i = 0; i < ctx->keys.size(); ++i)
    ctx->at[shard_of(ctx->keys[i], n)].push_back(i);
  for (auto& pos : ctx->at)
    ctx->pending += pos.empty() ? 0 : 1;
  lap(self, t0, &usage_meter::add_data);
  for (uint32_t s = 0; s < n; ++s) {
    auto& pos = ctx->at[s];
    if (pos.empty()) continue;
    auto req = make_envelope<schema::SparseKeys>([&](auto out) {
      auto k = out.initKeys(static_cast<unsigned>(pos.size()));
      for (unsigned i = 0; i < pos.size(); ++i)
        k.set(i, ctx->keys[pos[i]]);
    });
    pull_from(self, s, req, [=](const envelope& reply) {
      if (ctx->failed) return;
      auto ok = reply.visit<schema::SparseValues>([&](auto r) {
        auto vs = r.getValues();
        if (vs.size() != ctx->at[s].size()) return false;
        for (unsigned i = 0; i < vs.size(); ++i)
          ctx->weights[ctx->at[s][i]] = vs[i];
        return true;
      });
      if (!ok || !*ok) {
        ctx->failed = true;
        return fail(self, make_error(errc::invalid_argument,
                                     "shard " + std::to_string(s) +
                                         " answered a pull with the "
                                         "wrong number of weights"));
      }
      if (--ctx->pending == 0) after_pull(self, ctx);
    });
  }
}

} // namespace

ps_gate_actor spawn_ps_gate(caf::actor_system& sys,
                            std::vector<std::string> workers,
                            std::optional<uint64_t> staleness, uint64_t at,
                            caf::actor job, uint32_t attempt) {
  return sys.spawn([=](gate_self self) -> ps_gate_actor::behavior_type {
    self->state.clock = step_clock{staleness};
    for (auto& w : workers)
      self->state.clock.add(w, at);
    return {
        [=](ps_step_atom, const std::string& w) -> caf::result<uint64_t> {
          auto& st = self->state;
          if (std::find(workers.begin(), workers.end(), w) == workers.end())
            return make_error(errc::not_found,
                              "no worker '" + w + "' in this job's gate");
          ++st.steps;
          release(self, st.clock.finish(w));
          check_watchers(self);
          if (st.hold > 0 && st.clock.clock(w) >= st.hold) {
            auto rp = self->make_response_promise<uint64_t>();
            st.held[w] = rp;
            check_hold(self);
            return rp;
          }
          if (st.clock.may_start(w)) return st.clock.clock(w);
          st.clock.wait(w);
          auto rp = self->make_response_promise<uint64_t>();
          st.waiting[w] = rp;
          return rp;
        },
        [=](ps_leave_atom, const std::string& w) {
          auto& st = self->state;
          st.waiting.erase(w);
          st.held.erase(w);
          release(self, st.clock.remove(w));
          check_hold(self);
          check_watchers(self);
        },
        [=](ps_hold_atom) -> caf::result<uint64_t> {
          auto& st = self->state;
          if (st.hold > 0)
            return make_error(errc::invalid_argument,
                              "the gate holds already at step " +
                                  std::to_string(st.hold));
          st.hold = st.clock.fastest() + 1;
          st.hold_done = self->make_response_promise<uint64_t>();
          auto rp = st.hold_done;
          check_hold(self);
          return rp;
        },
        [=](ps_go_atom) {
          auto& st = self->state;
          st.hold = 0;
          auto held = std::move(st.held);
          st.held.clear();
          for (auto& [w, p] : held) {
            if (st.clock.may_start(w)) {
              p.deliver(st.clock.clock(w));
            } else {
              st.clock.wait(w);
              st.waiting[w] = p;
            }
          }
        },
        [=](ps_clock_atom) {
          auto& st = self->state;
          return caf::make_result(st.clock.slowest(), st.steps);
        },
        [=](ps_clock_atom, uint64_t at_least) -> caf::result<uint64_t> {
          auto& st = self->state;
          auto rp = self->make_response_promise<uint64_t>();
          st.watchers.emplace(at_least, rp);
          check_watchers(self);
          return rp;
        },
        [=](job_usage_atom, const envelope& report) {
          auto u = worker_usage_of(report);
          if (!u || !job) return;
          auto w = std::find(workers.begin(), workers.end(), u->worker);
          if (w == workers.end()) return;
          u->rank = static_cast<uint32_t>(w - workers.begin());
          u->attempt = attempt;
          self->send(caf::actor_cast<job_actor>(job), job_usage_atom::value,
                     to_envelope(*u));
        },
    };
  });
}

namespace {

/// An envelope of rows: any size the wire takes.
const reader_limits rows_limits{max_envelope_bytes / 8 + 1024, 64};

/// Appends the rows of a WorkerSetup.
template <class Reader>
void append_rows(Reader r, std::vector<sparse_row>& rows) {
  // each list read once: every read of a list pointer counts its words
  // against the traversal limit
  auto list = r.getRows();
  rows.reserve(rows.size() + list.size());
  for (auto x : list) {
    sparse_row row;
    row.label = x.getLabel();
    auto keys = x.getKeys();
    row.keys.reserve(keys.size());
    for (auto k : keys)
      row.keys.push_back(k);
    rows.push_back(std::move(row));
  }
}

caf::result<void> on_rows(worker_self self, const envelope& env) {
  auto& st = self->state;
  if (st.running || !st.more_rows || !st.cfg.rows)
    return make_error(errc::invalid_argument,
                      "worker " + st.cfg.name +
                          " takes no more rows (it was not set up to, or "
                          "trains already)");
  // the rows are the worker's alone until it trains
  auto rows = std::const_pointer_cast<std::vector<sparse_row>>(st.cfg.rows);
  auto ok = env.visit<schema::WorkerSetup>(
      [&](auto r) {
        st.more_rows = r.getMore();
        append_rows(r, *rows);
        return true;
      },
      rows_limits);
  if (!ok) return ok.error();
  return caf::unit;
}

caf::result<void> on_setup(worker_self self, const envelope& env,
                           const std::vector<caf::actor>& shards,
                           const caf::actor& gate) {
  auto& st = self->state;
  if (st.running)
    return make_error(errc::invalid_argument,
                      "worker " + st.cfg.name + " is training already");
  auto rows = std::make_shared<std::vector<sparse_row>>();
  auto ok = env.visit<schema::WorkerSetup>(
      [&](auto r) {
        st.cfg.name = r.getName();
        st.cfg.batch = r.getBatch();
        st.cfg.epochs = r.getEpochs();
        st.cfg.start_step = r.getStartStep();
        st.more_rows = r.getMore();
        append_rows(r, *rows);
        return true;
      },
      rows_limits);
  if (!ok) return ok.error();
  st.cfg.rows = std::move(rows);
  st.cfg.shards.clear();
  for (auto& s : shards)
    st.cfg.shards.push_back(caf::actor_cast<ps_shard_actor>(s));
  st.cfg.gate = caf::actor_cast<ps_gate_actor>(gate);
  return caf::unit;
}

ps_worker_actor::behavior_type worker_behavior(worker_self self,
                                               ps_worker_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
      [=](ps_setup_atom, const envelope& env,
          const std::vector<caf::actor>& shards,
          const caf::actor& gate) -> caf::result<void> {
        return on_setup(self, env, shards, gate);
      },
      [=](ps_rows_atom, const envelope& env) -> caf::result<void> {
        return on_rows(self, env);
      },
      [=](ps_train_atom) -> caf::result<uint64_t, double> {
        auto& st = self->state;
        if (st.running)
          return make_error(errc::invalid_argument,
                            "worker " + st.cfg.name + " is training already");
        if (st.cfg.shards.empty() || st.cfg.batch == 0 || !st.cfg.rows)
          return make_error(errc::invalid_argument,
                            "worker " + st.cfg.name +
                                " needs shards, rows and a batch > 0");
        if (st.more_rows)
          return make_error(errc::invalid_argument,
                            "worker " + st.cfg.name +
                                " waits for the rest of its rows");
        st.running = true;
        st.usage.emplace();
        st.steps = 0;
        st.reported = std::chrono::steady_clock::now();
        st.calls.assign(st.cfg.shards.size(), {});
        st.done = self->make_response_promise<uint64_t, double>();
        // a resumed job starts after the steps its checkpoint holds
        auto n = st.cfg.rows->size();
        if (n > 0 && st.cfg.start_step > 0) {
          auto per_epoch = (n + st.cfg.batch - 1) / st.cfg.batch;
          st.epoch = st.cfg.start_step / per_epoch;
          st.next = (st.cfg.start_step % per_epoch) * st.cfg.batch;
        }
        run_step(self);
        return st.done;
      },
      [=](ps_reshard_atom, uint32_t s, const caf::actor& shard) {
        reshard(self, s, shard);
      },
      self->stats_handler(),
  };
}

} // namespace

ps_worker_actor spawn_ps_worker(caf::actor_system& sys, ps_worker_config cfg) {
  return sys.spawn<caf::detached>(worker_behavior, std::move(cfg));
}

uint64_t rows_after(size_t n, size_t batch, uint64_t steps) {
  if (n == 0 || batch == 0) return 0;
  auto per_epoch = (n + batch - 1) / batch;
  auto part = std::min<uint64_t>(n, (steps % per_epoch) * batch);
  return (steps / per_epoch) * n + part;
}

uint64_t steps_of(size_t n, size_t batch, size_t epochs) {
  return batch == 0 ? 0 : epochs * ((n + batch - 1) / batch);
}

envelope worker_setup(const std::string& name, size_t batch, size_t epochs,
                      const std::vector<sparse_row>& train, uint32_t w,
                      uint32_t workers, size_t begin, size_t end, bool more,
                      uint64_t start_step) {
  return make_envelope<schema::WorkerSetup>([&](auto s) {
    s.setName(name);
    s.setStartStep(start_step);
    s.setBatch(static_cast<uint32_t>(batch));
    s.setEpochs(static_cast<uint32_t>(epochs));
    s.setMore(more);
    end = std::max(begin, end);
    auto list = s.initRows(static_cast<unsigned>(end - begin));
    for (size_t i = begin; i < end; ++i) {
      auto& row = train[w + i * workers];
      auto out = list[static_cast<unsigned>(i - begin)];
      out.setLabel(row.label);
      auto keys = out.initKeys(static_cast<unsigned>(row.keys.size()));
      for (unsigned k = 0; k < row.keys.size(); ++k)
        keys.set(k, row.keys[k]);
    }
  });
}

size_t rows_per_envelope(const std::vector<sparse_row>& train,
                         size_t max_bytes) {
  size_t keys = 0;
  for (auto& r : train)
    keys += r.keys.size();
  // a row: its struct and list pointer (16 bytes) and its keys
  double mean = 16 + 8.0 * static_cast<double>(keys) /
                         static_cast<double>(std::max<size_t>(train.size(), 1));
  return std::max<size_t>(1, static_cast<size_t>(max_bytes / mean));
}

void register_ps_kinds(caf::actor_system_config& cfg) {
  cfg.add_actor_type(worker_kind, [](worker_self self, kind_args args) {
    self->identify(args);
    return worker_behavior(self, ps_worker_config{});
  });
  mark_service_kind(worker_kind);
  register_shard_kind(cfg);
}

} // namespace troupe::training
