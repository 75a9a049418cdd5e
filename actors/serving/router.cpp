// The router of one deployment: traffic split, least-loaded replica choice,
// retries when a replica is lost, load shedding, autoscaling (protocol in
// service.hpp).

#include "actors/serving/router.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <caf/all.hpp>

#include "actors/serving/autoscaler.hpp"
#include "actors/serving/convert.hpp"
#include "actors/serving/service.hpp"
#include "actors/serving/telemetry.hpp"
#include "actors/serving/traffic.hpp"
#include "runtime/bridge.hpp"
#include "runtime/cluster.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/cluster.capnp.h"

namespace troupe::serving {

namespace {

/// Times as the injected clock reads them.
using steady = troupe::clock;

constexpr auto request_timeout = std::chrono::seconds{30};
constexpr auto tick_every = std::chrono::milliseconds{250};
constexpr uint32_t max_attempts = 3;
constexpr size_t latency_window = 4096;
/// How long a version waits before starting another replica after a start
/// failed (no free slot, a node lost while spawning).
constexpr auto start_backoff = std::chrono::seconds{1};

enum class replica_phase { starting, ready, draining };

const char *to_string(replica_phase p) {
  switch (p) {
  case replica_phase::starting:
    return "starting";
  case replica_phase::ready:
    return "ready";
  default:
    return "draining";
  }
}

struct replica_slot {
  std::string name;
  std::string node;
  uint32_t version = 0;
  caf::actor handle;
  replica_phase phase = replica_phase::starting;
  uint32_t in_flight = 0; ///< rows sent and not answered
  uint64_t served = 0;
};

/// Rows outstanding (arrived, not answered), and their average over time
/// since the last reading: what the autoscaler reads, since a count taken
/// at each tick misses the requests that come and go between ticks.
struct load_meter {
  double rows = 0;
  double area = 0; ///< row-seconds since `window`
  steady::time_point since;
  steady::time_point window;

  explicit load_meter(steady::time_point start = {})
      : since(start), window(start) {}

  void change(double delta, steady::time_point now) {
    area += rows * std::chrono::duration<double>(now - since).count();
    since = now;
    rows += delta;
  }

  /// The average since the last call.
  double average(steady::time_point now) {
    change(0, now);
    auto span = std::chrono::duration<double>(now - window).count();
    auto avg = span > 0 ? area / span : rows;
    area = 0;
    window = now;
    return avg;
  }
};

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

/// A request between its arrival and its answer.
struct outstanding {
  reply_to reply;
  envelope request;
  std::string request_id;
  uint32_t version = 0;
  size_t rows = 0;
  std::string replica; ///< empty while parked
  uint32_t attempt = 0;
  steady::time_point arrived;
  steady::time_point sent; ///< when the current attempt went to `replica`
};

struct router_state {
  std::shared_ptr<spdlog::logger> log = log::get("serving");
  router_config cfg;
  /// cfg.clock: what every timed decision reads.
  clock_ptr clock;
  deployment_settings spec;
  traffic_split split;
  least_loaded chooser;
  std::map<uint32_t, uint32_t> weights; ///< version -> weight, as set
  uint32_t stable = 0;
  std::map<uint32_t, envelope> models; ///< version -> ModelVersion (content)
  std::map<uint32_t, bool> fetching;
  /// version -> no new replica is started before this time (after a start
  /// failed, e.g. no node had a free slot)
  std::map<uint32_t, steady::time_point> start_after;
  std::vector<replica_slot> replicas;
  std::map<uint64_t, outstanding> pending;
  load_meter load;
  std::deque<uint64_t> parked;
  uint64_t next_request = 1;
  uint32_t next_replica = 1;
  std::optional<autoscaler> scaler;
  uint32_t desired = 1;
  // counters
  uint64_t requests = 0, rows = 0, errors = 0, shed = 0, retries = 0;
  std::vector<double> latencies_us;
  size_t latency_next = 0;
  /// Latencies since the last tick, for a latency target (else empty).
  std::vector<double> tick_latencies_us;
  // metrics series
  deployment_metrics metrics;
};

using state_ptr = std::shared_ptr<router_state>;
using router = caf::event_based_actor;

double percentile(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  auto k = static_cast<size_t>(q * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + static_cast<long>(k), xs.end());
  return xs[k];
}

void record_latency(const state_ptr &st, double us) {
  if (st->spec.target_p99_ms > 0)
    st->tick_latencies_us.push_back(us);
  if (st->latencies_us.size() < latency_window)
    st->latencies_us.push_back(us);
  else
    st->latencies_us[st->latency_next++ % latency_window] = us;
}

/// Versions that take traffic now.
std::vector<uint32_t> live_versions(const state_ptr &st) {
  std::vector<uint32_t> out;
  for (auto &[v, w] : st->weights)
    if (w > 0)
      out.push_back(v);
  return out;
}

size_t count_replicas(const state_ptr &st, uint32_t version,
                      bool with_draining) {
  size_t n = 0;
  for (auto &r : st->replicas)
    if (r.version == version &&
        (with_draining || r.phase != replica_phase::draining))
      ++n;
  return n;
}

envelope status_of(const state_ptr &st) {
  return make_envelope<schema::DeploymentStatus>([&](auto b) {
    to_schema(st->spec, b.initSpec());
    auto &w = st->weights;
    auto tl = b.initTraffic(static_cast<unsigned>(w.size()));
    unsigned i = 0;
    for (auto &[v, weight] : w) {
      tl[i].setVersion(v);
      tl[i].setWeight(weight);
      ++i;
    }
    auto rl = b.initReplicas(static_cast<unsigned>(st->replicas.size()));
    for (unsigned k = 0; k < st->replicas.size(); ++k) {
      auto &r = st->replicas[k];
      rl[k].setName(r.name);
      rl[k].setNode(r.node);
      rl[k].setVersion(r.version);
      rl[k].setInFlight(r.in_flight);
      rl[k].setState(to_string(r.phase));
      rl[k].setServed(r.served);
    }
    b.setDesiredReplicas(st->desired);
    b.setRequests(st->requests);
    b.setRows(st->rows);
    b.setErrors(st->errors);
    b.setShed(st->shed);
    b.setRetries(st->retries);
    size_t parked_rows = 0;
    for (auto id : st->parked)
      parked_rows += st->pending[id].rows;
    b.setQueuedRows(static_cast<uint32_t>(parked_rows));
    b.setP50Us(percentile(st->latencies_us, 0.5));
    b.setP99Us(percentile(st->latencies_us, 0.99));
    b.setStableVersion(st->stable);
  });
}

void send_to(router *self, const state_ptr &st, uint64_t id);

/// Updates the replica and queue gauges.
void publish_gauges(const state_ptr &st) {
  uint32_t current = 0;
  for (auto &r : st->replicas)
    if (r.phase != replica_phase::draining)
      ++current;
  st->metrics.gauges(static_cast<double>(current), st->load.rows);
}

/// Fails request `id` with `err`, unless it was answered; counted as shed
/// (a replica's queue was full) or as an error.
void fail(const state_ptr &st, uint64_t id, caf::error err, bool shed = false) {
  auto i = st->pending.find(id);
  if (i == st->pending.end())
    return;
  if (shed) {
    ++st->shed;
    st->metrics.shed();
  } else {
    ++st->errors;
    st->metrics.errors(i->second.version);
  }
  i->second.reply.fail(std::move(err));
  st->load.change(-static_cast<double>(i->second.rows), st->clock->now());
  st->pending.erase(i);
}

/// Sends parked requests to ready replicas.
void unpark(router *self, const state_ptr &st) {
  auto parked = std::move(st->parked);
  st->parked.clear();
  for (auto id : parked)
    send_to(self, st, id);
}

replica_slot *find_replica(const state_ptr &st, const std::string &name) {
  for (auto &r : st->replicas)
    if (r.name == name)
      return &r;
  return nullptr;
}

/// Removes a replica; its requests go to another one. `name` is a copy: a
/// caller passing a replica's own name would see it change as the replica
/// is erased from the vector.
void lose_replica(router *self, const state_ptr &st, std::string name,
                  const std::string &why) {
  auto it = std::find_if(st->replicas.begin(), st->replicas.end(),
                         [&](auto &r) { return r.name == name; });
  if (it == st->replicas.end())
    return;
  st->log->warn("deployment {}: replica {} on {} lost: {}", st->spec.name, name,
                it->node, why);
  st->replicas.erase(it);
  std::vector<uint64_t> again;
  for (auto &[id, o] : st->pending)
    if (o.replica == name)
      again.push_back(id);
  for (auto id : again) {
    auto &o = st->pending[id];
    o.replica.clear();
    if (o.attempt >= max_attempts) {
      fail(st, id,
           make_error(
               errc::io_failure,
               "request " + o.request_id + ": " + std::to_string(o.attempt) +
                   " replicas were lost while serving it (last: " + name +
                   ", " + why + ")"));
      continue;
    }
    ++st->retries;
    st->metrics.retries();
    send_to(self, st, id);
  }
}

void send_to(router *self, const state_ptr &st, uint64_t id) {
  auto &o = st->pending[id];
  std::vector<replica_load> loads;
  for (size_t i = 0; i < st->replicas.size(); ++i) {
    auto &r = st->replicas[i];
    if (r.version != o.version)
      continue;
    loads.push_back(
        replica_load{i, r.in_flight, 0, r.phase == replica_phase::ready});
  }
  auto pick = st->chooser.pick(loads);
  if (!pick) {
    st->parked.push_back(id);
    return;
  }
  auto &r = st->replicas[*pick];
  r.in_flight += static_cast<uint32_t>(o.rows);
  o.replica = r.name;
  o.sent = st->clock->now();
  ++o.attempt;
  auto attempt = o.attempt;
  auto name = r.name;
  auto rows = static_cast<uint32_t>(o.rows);
  // What this attempt put on the replica comes off it whatever the outcome,
  // even when the request was meanwhile answered through another replica.
  auto settle = [=](bool served) {
    if (auto *rr = find_replica(st, name)) {
      rr->in_flight -= std::min(rr->in_flight, rows);
      if (served)
        rr->served += rows;
    }
  };
  // No CAF timeout (each would cost the clock thread a wake-up per
  // request): a lost replica is seen by its monitor, a stuck one by tick().
  self->request(r.handle, caf::infinite, predict_atom::value, o.request)
      .then(
          [=](const envelope &answer) {
            settle(true);
            auto i = st->pending.find(id);
            if (i == st->pending.end() || i->second.replica != name ||
                i->second.attempt != attempt)
              return; // answered by another replica after a retry
            auto &p = i->second;
            auto us = std::chrono::duration<double, std::micro>(
                          st->clock->now() - p.arrived)
                          .count();
            record_latency(st, us);
            ++st->requests;
            st->rows += p.rows;
            uint32_t batch_rows = 0;
            (void)answer.visit<schema::PredictResponse>(
                [&](auto r) { batch_rows = r.getBatchRows(); });
            st->metrics.answered(p.version, p.rows, us, batch_rows);
            if (st->cfg.log)
              st->cfg.log->submit(st->spec.name, p.request, answer,
                                  static_cast<int64_t>(us),
                                  st->spec.log_inputs == "hash");
            p.reply.deliver(answer);
            st->load.change(-static_cast<double>(p.rows), st->clock->now());
            st->pending.erase(i);
            unpark(self, st);
          },
          [=](caf::error &err) {
            settle(false);
            auto i = st->pending.find(id);
            if (i == st->pending.end() || i->second.replica != name ||
                i->second.attempt != attempt)
              return;
            if (err == caf::sec::request_receiver_down ||
                err == caf::sec::request_timeout ||
                err.code() == static_cast<uint8_t>(errc::shutting_down)) {
              lose_replica(self, st, name, describe(err));
              return;
            }
            auto shed = err.code() == static_cast<uint8_t>(errc::no_capacity);
            fail(st, id, std::move(err), shed);
            unpark(self, st);
          });
}

/// Starts one replica of `version` through the directory.
void start_replica(router *self, const state_ptr &st, uint32_t version) {
  if (auto b = st->start_after.find(version);
      b != st->start_after.end() && st->clock->now() < b->second)
    return;
  auto m = st->models.find(version);
  if (m == st->models.end()) {
    if (st->fetching[version])
      return;
    st->fetching[version] = true;
    self->request(st->cfg.service, request_timeout, fetch_atom::value,
                  st->spec.model, version)
        .then(
            [=](const envelope &mv) {
              st->fetching[version] = false;
              st->models[version] = mv;
            },
            [=](caf::error &err) {
              st->fetching[version] = false;
              st->log->error("deployment {}: cannot fetch {} v{}: {}",
                             st->spec.name, st->spec.model, version,
                             describe(err));
            });
    return;
  }
  auto name = "serving." + st->spec.name + ".v" + std::to_string(version) +
              "." + std::to_string(st->next_replica++);
  st->replicas.push_back(
      replica_slot{name, "", version, nullptr, replica_phase::starting, 0, 0});
  auto spec = make_envelope<schema::DeploymentSpec>(
      [&](auto b) { to_schema(st->spec, b); });
  auto model = m->second;
  auto gone = [=](const std::string &why) {
    auto it = std::find_if(st->replicas.begin(), st->replicas.end(),
                           [&](auto &r) { return r.name == name; });
    if (it == st->replicas.end())
      return;
    st->log->warn("deployment {}: replica {} did not start: {}; next try in "
                  "{} ms",
                  st->spec.name, name, why,
                  std::chrono::milliseconds{start_backoff}.count());
    st->start_after[version] = st->clock->now() + start_backoff;
    if (it->handle)
      self->request(st->cfg.directory, request_timeout, stop_atom::value, name)
          .then([](caf::unit_t) {}, [](caf::error &) {});
    st->replicas.erase(it);
  };
  self->request(st->cfg.directory, request_timeout, caf::spawn_atom::value,
                std::string{replica_kind}, std::string{}, st->spec.name, name)
      .then(
          [=](const envelope &snap) {
            std::string node;
            (void)snap.visit<schema::Snapshot>([&](auto s) {
              for (auto a : s.getActors())
                if (a.getName() == name)
                  node = a.getNode();
            });
            self->request(st->cfg.directory, request_timeout,
                          lookup_atom::value, name)
                .then(
                    [=](const caf::actor &h) {
                      auto *r = find_replica(st, name);
                      if (!r)
                        return;
                      r->handle = h;
                      r->node = node;
                      self->monitor(h);
                      self->request(h, request_timeout, load_atom::value, model,
                                    spec)
                          .then(
                              [=](bool) {
                                auto *r = find_replica(st, name);
                                if (!r)
                                  return;
                                r->phase = replica_phase::ready;
                                publish_gauges(st);
                                st->log->info(
                                    "deployment {}: replica {} ready on {}",
                                    st->spec.name, name, r->node);
                                unpark(self, st);
                              },
                              [=](caf::error &err) { gone(describe(err)); });
                    },
                    [=](caf::error &err) { gone(describe(err)); });
          },
          [=](caf::error &err) { gone(describe(err)); });
}

/// Drains a replica, then stops it.
void retire_replica(router *self, const state_ptr &st, replica_slot &r) {
  if (r.phase == replica_phase::draining)
    return;
  auto name = r.name;
  if (!r.handle) { // still starting: forget it
    st->replicas.erase(std::find_if(st->replicas.begin(), st->replicas.end(),
                                    [&](auto &x) { return x.name == name; }));
    return;
  }
  r.phase = replica_phase::draining;
  st->log->info("deployment {}: draining replica {}", st->spec.name, name);
  auto stop = [=] {
    self->request(st->cfg.directory, request_timeout, stop_atom::value, name)
        .then([](caf::unit_t) {}, [](caf::error &) {});
    auto it = std::find_if(st->replicas.begin(), st->replicas.end(),
                           [&](auto &x) { return x.name == name; });
    if (it != st->replicas.end()) {
      self->demonitor(it->handle);
      st->replicas.erase(it);
    }
  };
  self->request(r.handle, request_timeout, drain_atom::value)
      .then([=](bool) { stop(); }, [=](caf::error &) { stop(); });
}

/// How many replicas each live version should have now.
std::map<uint32_t, uint32_t> targets(const state_ptr &st) {
  std::map<uint32_t, uint32_t> out;
  auto live = live_versions(st);
  uint64_t total_weight = 0;
  for (auto v : live)
    total_weight += st->weights.at(v);
  for (auto v : live) {
    auto share = static_cast<double>(st->desired) *
                 static_cast<double>(st->weights.at(v)) /
                 static_cast<double>(total_weight);
    out[v] = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(share)));
  }
  return out;
}

/// Brings the replicas in line with the targets.
void reconcile(router *self, const state_ptr &st) {
  auto want = targets(st);
  for (auto &[v, n] : want) {
    auto have = count_replicas(st, v, false);
    for (auto k = have; k < n; ++k)
      start_replica(self, st, v);
    if (have > n) {
      // retire the idlest ones (never below the target)
      std::vector<replica_slot *> mine;
      for (auto &r : st->replicas)
        if (r.version == v && r.phase != replica_phase::draining)
          mine.push_back(&r);
      std::sort(mine.begin(), mine.end(), [](auto *a, auto *b) {
        return (a->phase == replica_phase::ready) <
                   (b->phase == replica_phase::ready) ||
               ((a->phase == replica_phase::ready) ==
                    (b->phase == replica_phase::ready) &&
                a->in_flight < b->in_flight);
      });
      std::vector<std::string> names;
      for (size_t k = 0; k < have - n; ++k)
        names.push_back(mine[k]->name);
      for (auto &name : names)
        if (auto *r = find_replica(st, name))
          retire_replica(self, st, *r);
    }
  }
  // Versions that lost their traffic keep their replicas until every
  // version that has traffic has a ready one: a promotion or a rollback
  // never leaves the deployment without a replica to answer.
  bool live_ready = std::all_of(want.begin(), want.end(), [&](auto &vn) {
    return std::any_of(st->replicas.begin(), st->replicas.end(), [&](auto &r) {
      return r.version == vn.first && r.phase == replica_phase::ready;
    });
  });
  std::vector<std::string> old;
  for (auto &r : st->replicas)
    if (!want.count(r.version) && r.phase != replica_phase::draining &&
        (live_ready || r.phase != replica_phase::ready))
      old.push_back(r.name);
  for (auto &name : old)
    if (auto *r = find_replica(st, name))
      retire_replica(self, st, *r);
  publish_gauges(st);
}

void tick(router *self, const state_ptr &st) {
  auto now = st->clock->now();
  // requests parked too long fail
  std::deque<uint64_t> keep;
  for (auto id : st->parked) {
    auto &o = st->pending[id];
    if (now - o.arrived > request_timeout)
      fail(st, id,
           make_error(errc::timeout, "request " + o.request_id +
                                         ": no replica of " + st->spec.name +
                                         " v" + std::to_string(o.version) +
                                         " became ready in 30 s"));
    else
      keep.push_back(id);
  }
  st->parked = std::move(keep);
  // a replica that has not answered an attempt in time is stuck: stop it
  // and retry its requests elsewhere
  std::set<std::string> stuck;
  for (auto &[id, o] : st->pending)
    if (!o.replica.empty() && now - o.sent > request_timeout)
      stuck.insert(o.replica);
  for (auto &name : stuck) {
    self->request(st->cfg.directory, request_timeout, stop_atom::value, name)
        .then([](caf::unit_t) {}, [](caf::error &) {});
    lose_replica(self, st, name, "no answer in 30 s");
  }
  // The p99 of the requests answered since the last tick, for a latency
  // target (none answered: 0, no data and no vote); the upscale delay
  // asks for it to stay high.
  double p99_ms =
      percentile(std::exchange(st->tick_latencies_us, {}), 0.99) / 1000.0;
  st->desired = static_cast<uint32_t>(st->scaler->observe(
      now, st->load.average(now), p99_ms, std::max<uint32_t>(st->desired, 1)));
  reconcile(self, st);
  self->delayed_send(self, tick_every, tick_atom::value);
}

caf::error apply_status(const state_ptr &st, const envelope &status) {
  std::map<uint32_t, uint32_t> weights;
  auto ok = status.visit<schema::DeploymentStatus>([&](auto s) {
    st->spec = from_schema(s.getSpec());
    for (auto t : s.getTraffic())
      weights[t.getVersion()] = t.getWeight();
    st->stable = s.getStableVersion();
  });
  if (!ok)
    return ok.error();
  if (auto err = validate(st->spec))
    return err;
  version_weights named;
  for (auto &[v, w] : weights)
    named[std::to_string(v)] = w;
  if (auto err = st->split.set_weights(named))
    return err;
  st->weights = weights;
  autoscaler_options opts;
  opts.min_replicas = st->spec.min_replicas;
  opts.max_replicas = st->spec.max_replicas;
  opts.target_in_flight_per_replica = st->spec.target_in_flight;
  opts.target_p99_ms = st->spec.target_p99_ms;
  opts.upscale_delay = std::chrono::milliseconds{st->spec.upscale_delay_ms};
  opts.downscale_delay = std::chrono::milliseconds{st->spec.downscale_delay_ms};
  if (auto err = validate(opts))
    return err;
  st->scaler.emplace(opts);
  st->desired =
      std::clamp(st->desired, st->spec.min_replicas, st->spec.max_replicas);
  return caf::none;
}

/// What admission found out about a request.
struct ticket {
  uint32_t version = 0;
  size_t rows = 0;
  std::string request_id;
};

/// Picks the request's version and checks it against the queue bound: the
/// ticket, or the error to answer at once (no such version, overloaded).
caf::expected<ticket> admit(const state_ptr &st, const envelope &req) {
  uint32_t pinned = 0;
  ticket t;
  auto ok = req.visit<schema::PredictRequest>([&](auto r) {
    pinned = r.getVersion();
    t.rows = r.getRows().size();
    t.request_id = r.getRequestId();
  });
  if (!ok)
    return ok.error();
  t.version = pinned;
  if (t.version == 0) {
    auto v = st->split.pick();
    if (!v)
      return make_error(errc::not_found, "deployment " + st->spec.name +
                                             " sends traffic nowhere");
    t.version = static_cast<uint32_t>(std::stoul(*v));
  } else if (auto w = st->weights.find(t.version);
             w == st->weights.end() || w->second == 0) {
    // a version without traffic has no replicas to answer
    return make_error(errc::not_found,
                      "deployment " + st->spec.name +
                          " does not serve version " +
                          std::to_string(t.version) +
                          (w == st->weights.end() ? "" : " (weight 0)"));
  }
  // shed past the bound of the version's replicas
  size_t queued = 0, replicas = 0;
  for (auto &r : st->replicas)
    if (r.version == t.version && r.phase != replica_phase::draining) {
      queued += r.in_flight;
      ++replicas;
    }
  for (auto id : st->parked)
    if (auto &o = st->pending[id]; o.version == t.version)
      queued += o.rows;
  size_t bound = std::max<size_t>(replicas, 1) * st->spec.queue_bound_rows;
  if (queued + t.rows > bound) {
    ++st->shed;
    st->metrics.shed();
    return make_error(errc::no_capacity,
                      "overloaded: deployment " + st->spec.name + " v" +
                          std::to_string(t.version) + " has " +
                          std::to_string(queued) + " rows waiting (bound " +
                          std::to_string(bound) + "); retry later");
  }
  return t;
}

/// Sends an admitted request on its way; `reply` gets its answer.
void start(router *self, const state_ptr &st, const envelope &req,
           const ticket &t, reply_to reply) {
  auto id = st->next_request++;
  auto &o = st->pending[id];
  o.reply = std::move(reply);
  o.request = req;
  o.request_id = t.request_id.empty() ? st->spec.name + "-" + std::to_string(id)
                                      : t.request_id;
  o.version = t.version;
  o.rows = t.rows;
  o.arrived = st->clock->now();
  st->load.change(static_cast<double>(t.rows), o.arrived);
  send_to(self, st, id);
}

caf::behavior router_actor(router *self, router_config cfg) {
  auto st = std::make_shared<router_state>();
  st->cfg = std::move(cfg);
  st->clock = st->cfg.clock ? st->cfg.clock : real_clock();
  st->load = load_meter{st->clock->now()};
  if (auto err = apply_status(st, st->cfg.status)) {
    st->log->error("router: {}", describe(err));
    self->quit(err);
    return {};
  }
  st->desired = st->spec.min_replicas;
  st->metrics = deployment_metrics{st->spec.name};
  self->set_down_handler([=](const caf::down_msg &dm) {
    for (auto &r : st->replicas)
      if (r.handle && r.handle.address() == dm.source) {
        lose_replica(self, st, r.name, to_string(dm.reason));
        return;
      }
  });
  self->set_exit_handler([=](caf::exit_msg &msg) {
    for (auto &[id, o] : st->pending)
      o.reply.fail(make_error(errc::shutting_down,
                              "deployment " + st->spec.name + " stopped"));
    st->pending.clear();
    for (auto &r : st->replicas)
      if (r.handle)
        caf::anon_send(st->cfg.directory, stop_atom::value, r.name);
    st->metrics.retire();
    self->quit(msg.reason);
  });
  reconcile(self, st);
  self->delayed_send(self, tick_every, tick_atom::value);
  return {
      [=](predict_atom, const envelope &req) -> caf::result<envelope> {
        auto ticket = admit(st, req);
        if (!ticket)
          return ticket.error();
        reply_to reply{self->make_response_promise<envelope>(), nullptr};
        auto rp = reply.rp;
        start(self, st, req, *ticket, std::move(reply));
        return rp;
      },
      [=](predict_atom, const envelope &req, const predict_reply &kj) {
        auto ticket = admit(st, req);
        if (!ticket) {
          (*kj)->reject(rpc_failure(describe(ticket.error())));
          return;
        }
        start(self, st, req, *ticket, reply_to{{}, kj});
      },
      [=](status_atom) { return status_of(st); },
      [=](configure_atom, const envelope &status) -> caf::result<envelope> {
        if (auto err = apply_status(st, status))
          return err;
        reconcile(self, st);
        return status_of(st);
      },
      [=](tick_atom) { tick(self, st); },
  };
}

} // namespace

caf::actor spawn_router(caf::actor_system &sys, router_config cfg) {
  return sys.spawn(router_actor, std::move(cfg));
}

} // namespace troupe::serving
