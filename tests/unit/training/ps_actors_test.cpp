// Parameter-server training on actors in one process (actors/training/
// ps_shard, ps_worker): a synchronous job with one worker ends with exactly
// the weights of in-process training; asynchronous and bounded-staleness
// jobs of two workers land within 1% of the synchronous validation logloss;
// shards refuse keys outside their range and the gate unknown workers.

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/training/ps_shard.hpp"
#include "actors/training/ps_worker.hpp"
#include "actors/training/sparse_job.hpp"
#include "actors/training/sparse_lr.hpp"
#include "actors/training/step_clock.hpp"
#include "runtime/errors.hpp"
#include "runtime/type_ids.hpp"
#include "schemas/training.capnp.h"
#include "tests/unit/training/planted.hpp"

using namespace troupe;
using namespace troupe::training;

namespace {

std::vector<sparse_row> planted(size_t n, uint64_t seed) {
  return test::planted(n, 800, 10, seed, 0.2);
}

struct system_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  system_fixture() : sys{(troupe::register_types(cfg), cfg)} {}
};

/// Every shard's weights by key.
std::unordered_map<uint64_t, float>
dump(caf::actor_system& sys, const std::vector<ps_shard_actor>& shards) {
  std::unordered_map<uint64_t, float> out;
  caf::scoped_actor self{sys};
  for (auto& s : shards)
    self->request(s, caf::infinite, ps_dump_atom::value)
        .receive(
            [&](const envelope& e) {
              auto ok = e.visit<schema::SparseValues>([&](auto r) {
                for (unsigned i = 0; i < r.getKeys().size(); ++i)
                  out[r.getKeys()[i]] = r.getValues()[i];
                return true;
              });
              REQUIRE(ok);
            },
            [&](caf::error& err) { FAIL(describe(err)); });
  return out;
}

struct job_result {
  std::unordered_map<uint64_t, float> weights;
  uint64_t rows = 0;
};

/// Trains `parts` (one worker each) against `n_shards` shards.
job_result run_job(caf::actor_system& sys,
                   const std::vector<std::vector<sparse_row>>& parts,
                   uint32_t n_shards, const std::string& consistency,
                   sparse_params params, size_t batch, size_t epochs) {
  std::vector<ps_shard_actor> shards;
  for (uint32_t s = 0; s < n_shards; ++s)
    shards.push_back(spawn_ps_shard(sys, {s, n_shards, params}));
  std::vector<std::string> names;
  for (size_t w = 0; w < parts.size(); ++w)
    names.push_back("w" + std::to_string(w));
  auto tau = parse_consistency(consistency);
  REQUIRE(tau);
  auto gate = spawn_ps_gate(sys, names, *tau);
  std::vector<ps_worker_actor> workers;
  for (size_t w = 0; w < parts.size(); ++w) {
    ps_worker_config wc;
    wc.name = names[w];
    wc.rows = std::make_shared<const std::vector<sparse_row>>(parts[w]);
    wc.batch = batch;
    wc.epochs = epochs;
    wc.shards = shards;
    wc.gate = gate;
    workers.push_back(spawn_ps_worker(sys, wc));
  }
  job_result out;
  caf::scoped_actor self{sys};
  for (auto& w : workers)
    self->send(w, ps_train_atom::value);
  for (size_t i = 0; i < workers.size(); ++i)
    self->receive([&](uint64_t rows, double) { out.rows += rows; },
                  [&](caf::error& err) { FAIL(describe(err)); },
                  caf::after(std::chrono::seconds{60}) >>
                      [&] { FAIL("job timed out"); });
  out.weights = dump(sys, shards);
  for (auto& w : workers)
    self->send_exit(w, caf::exit_reason::user_shutdown);
  for (auto& s : shards)
    self->send_exit(s, caf::exit_reason::user_shutdown);
  self->send_exit(gate, caf::exit_reason::user_shutdown);
  return out;
}

double logloss(const std::unordered_map<uint64_t, float>& w,
               const std::vector<sparse_row>& rows) {
  auto weight = [&](uint64_t k) {
    auto i = w.find(k);
    return i == w.end() ? 0.0 : static_cast<double>(i->second);
  };
  double sum = 0;
  for (auto& r : rows) {
    double m = weight(bias_key);
    for (auto k : r.keys)
      m += weight(k);
    auto p = std::clamp(1 / (1 + std::exp(-m)), 1e-15, 1 - 1e-15);
    sum -= r.label * std::log(p) + (1 - r.label) * std::log(1 - p);
  }
  return sum / static_cast<double>(rows.size());
}

} // namespace

TEST_CASE("a synchronous parameter-server job with one worker ends with "
          "exactly the weights of in-process training",
          "[training][ps-actors]") {
  system_fixture f;
  auto rows = planted(3000, 1);
  sparse_params params;
  params.l1 = 0.2;
  params.l2 = 0.1;
  sparse_table whole{params};
  REQUIRE_FALSE(train_in_process(whole, rows, 16, 2));
  auto job = run_job(f.sys, {rows}, 3, "sync", params, 16, 2);
  CHECK(job.rows == 6000);
  REQUIRE(job.weights.size() == whole.size());
  size_t nonzero = 0;
  for (auto& [k, w] : job.weights) {
    CHECK(w == whole.weight(k)); // bit for bit
    nonzero += w != 0.f ? 1 : 0;
  }
  CHECK(nonzero > 100);
}

TEST_CASE("a worker's rows set up in several envelopes train as the same "
          "rows sent at once, and it trains only once the last has come",
          "[training][ps-actors]") {
  system_fixture f;
  // two workers' deal of 3001 rows; worker 1's share goes in envelopes of
  // 400 rows (the job's are about 64 MiB)
  auto train = planted(3001, 2);
  sparse_params params;
  params.l1 = 0.1;
  std::vector<sparse_row> mine;
  for (size_t i = 1; i < train.size(); i += 2)
    mine.push_back(train[i]);
  REQUIRE(rows_dealt(train.size(), 1, 2) == mine.size());
  sparse_table whole{params};
  REQUIRE_FALSE(train_in_process(whole, mine, 16, 2));

  auto shard = spawn_ps_shard(f.sys, {0, 1, params});
  auto gate = spawn_ps_gate(f.sys, {"w"}, uint64_t{0});
  auto worker = spawn_ps_worker(f.sys, ps_worker_config{});
  caf::scoped_actor self{f.sys};
  auto ok = [&](auto&&... xs) {
    bool done = false;
    self->request(worker, caf::infinite, xs...)
        .receive([&] { done = true; },
                 [&](caf::error& err) { FAIL(describe(err)); });
    return done;
  };
  auto refused = [&](auto&&... xs) {
    std::string why;
    self->request(worker, caf::infinite, xs...)
        .receive([&](uint64_t, double) { FAIL("it trained"); },
                 [&](caf::error& err) { why = describe(err); });
    return why;
  };
  const size_t chunk = 400, count = mine.size();
  REQUIRE(ok(ps_setup_atom::value,
             worker_setup("w", 16, 2, train, 1, 2, 0, chunk, true),
             std::vector<caf::actor>{caf::actor_cast<caf::actor>(shard)},
             caf::actor_cast<caf::actor>(gate)));
  CHECK_THAT(refused(ps_train_atom::value),
             Catch::Contains("waits for the rest of its rows"));
  for (size_t b = chunk; b < count; b += chunk) {
    auto e = std::min(b + chunk, count);
    REQUIRE(ok(ps_rows_atom::value,
               worker_setup({}, 0, 0, train, 1, 2, b, e, e < count)));
  }
  uint64_t trained = 0;
  self->request(worker, caf::infinite, ps_train_atom::value)
      .receive([&](uint64_t rows, double) { trained = rows; },
               [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(trained == 2 * count);
  auto weights = dump(f.sys, {shard});
  REQUIRE(weights.size() == whole.size());
  for (auto& [k, w] : weights)
    CHECK(w == whole.weight(k)); // bit for bit
  // no rows after the last envelope
  std::string why;
  self->request(worker, caf::infinite, ps_rows_atom::value,
                worker_setup({}, 0, 0, train, 1, 2, 0, 1, false))
      .receive([&] { FAIL("more rows were taken"); },
               [&](caf::error& err) { why = describe(err); });
  CHECK_THAT(why, Catch::Contains("takes no more rows"));
  for (auto a :
       {caf::actor_cast<caf::actor>(worker), caf::actor_cast<caf::actor>(shard),
        caf::actor_cast<caf::actor>(gate)})
    self->send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("asynchronous and bounded-staleness jobs of two workers land within "
          "1% of the synchronous validation logloss",
          "[training][ps-actors]") {
  system_fixture f;
  auto rows = planted(12000, 2);
  auto valid = planted(4000, 3);
  std::vector<std::vector<sparse_row>> parts(2);
  for (size_t i = 0; i < rows.size(); ++i)
    parts[i % 2].push_back(rows[i]);
  sparse_params params;
  params.alpha = 0.05;
  params.l2 = 0.1;
  std::map<std::string, double> loss;
  for (auto mode : {"sync", "async", "ssp:2"}) {
    auto job = run_job(f.sys, parts, 2, mode, params, 32, 2);
    CHECK(job.rows == 24000);
    loss[mode] = logloss(job.weights, valid);
  }
  INFO("validation logloss: sync " << loss["sync"] << ", async "
                                   << loss["async"] << ", ssp:2 "
                                   << loss["ssp:2"]);
  CHECK(loss["sync"] < 0.6); // learnt: a coin is 0.693
  CHECK(std::abs(loss["async"] - loss["sync"]) <= 0.01 * loss["sync"]);
  CHECK(std::abs(loss["ssp:2"] - loss["sync"]) <= 0.01 * loss["sync"]);
}

TEST_CASE("a shard refuses keys outside its range and bad pushes, and the "
          "gate refuses unknown workers",
          "[training][ps-actors]") {
  system_fixture f;
  auto shard = spawn_ps_shard(f.sys, {0, 2, {}});
  caf::scoped_actor self{f.sys};
  auto high = first_key_of(1, 2);
  auto pull = make_envelope<schema::SparseKeys>([&](auto b) {
    auto k = b.initKeys(2);
    k.set(0, 5);
    k.set(1, high);
  });
  self->request(shard, caf::infinite, ps_pull_atom::value, pull)
      .receive([&](const envelope&) { FAIL("a key of shard 1 was pulled"); },
               [&](caf::error& err) {
                 CHECK_THAT(describe(err),
                            Catch::Contains("key " + std::to_string(high)) &&
                                Catch::Contains("not in shard 0 of 2"));
               });
  auto push = make_envelope<schema::SparseValues>([&](auto b) {
    b.initKeys(2).set(0, 5);
    b.initValues(1).set(0, 0.5f);
  });
  self->request(shard, caf::infinite, ps_push_atom::value, push)
      .receive([&] { FAIL("a push of 2 keys and 1 gradient was taken"); },
               [&](caf::error& err) {
                 CHECK_THAT(describe(err), Catch::Contains("1 gradients"));
               });
  auto gate = spawn_ps_gate(f.sys, {"w0"}, 0);
  self->request(gate, caf::infinite, ps_step_atom::value, std::string{"w9"})
      .receive([&](uint64_t) { FAIL("an unknown worker stepped"); },
               [&](caf::error& err) {
                 CHECK_THAT(describe(err), Catch::Contains("'w9'"));
               });
  self->send_exit(shard, caf::exit_reason::user_shutdown);
  self->send_exit(gate, caf::exit_reason::user_shutdown);
}

TEST_CASE("a hold stops every worker at the same step, for a consistent "
          "checkpoint, and go lets them on",
          "[training][ps-actors]") {
  system_fixture f;
  auto gate = spawn_ps_gate(f.sys, {"a", "b"}, std::nullopt); // async
  caf::scoped_actor a{f.sys}, b{f.sys}, coordinator{f.sys};
  auto step = [&](caf::scoped_actor& w, const std::string& name) {
    uint64_t clock = 0;
    w->request(gate, caf::infinite, ps_step_atom::value, name)
        .receive([&](uint64_t c) { clock = c; },
                 [&](caf::error& err) { FAIL(describe(err)); });
    return clock;
  };
  CHECK(step(a, "a") == 1);
  CHECK(step(a, "a") == 2);
  CHECK(step(a, "a") == 3); // async: a runs ahead
  coordinator->send(gate, ps_hold_atom::value);
  // a pushes step 4 and is held there
  a->send(gate, ps_step_atom::value, std::string{"a"});
  CHECK(step(b, "b") == 1);
  CHECK(step(b, "b") == 2);
  CHECK(step(b, "b") == 3);
  // nothing answered yet: b is not at 4
  coordinator->receive([&](uint64_t) { FAIL("the hold answered early"); },
                       caf::after(std::chrono::milliseconds{50}) >> [] {});
  b->send(gate, ps_step_atom::value, std::string{"b"});
  coordinator->receive([&](uint64_t at) { CHECK(at == 4); },
                       caf::after(std::chrono::seconds{10}) >>
                           [] { FAIL("the hold never answered"); });
  a->receive([&](uint64_t) { FAIL("a went on during the hold"); },
             caf::after(std::chrono::milliseconds{50}) >> [] {});
  coordinator->send(gate, ps_go_atom::value);
  for (auto* w : {&a, &b})
    (*w)->receive([&](uint64_t c) { CHECK(c == 4); },
                  caf::after(std::chrono::seconds{10}) >>
                      [] { FAIL("a held worker never went on"); });
  uint64_t slowest = 0, steps = 0;
  coordinator->request(gate, caf::infinite, ps_clock_atom::value)
      .receive(
          [&](uint64_t s, uint64_t n) {
            slowest = s;
            steps = n;
          },
          [&](caf::error& err) { FAIL(describe(err)); });
  CHECK(slowest == 4);
  CHECK(steps == 8);
  coordinator->send_exit(gate, caf::exit_reason::user_shutdown);
}

TEST_CASE("a worker whose shard went waits for its replacement, which the "
          "job restores from a checkpoint, and trains every row once against "
          "it",
          "[training][ps-actors]") {
  system_fixture f;
  auto rows = planted(3000, 4);
  auto valid = planted(2000, 5);
  sparse_params params;
  params.alpha = 0.05;
  params.l2 = 0.1;
  auto straight = run_job(f.sys, {rows}, 2, "sync", params, 16, 2);

  std::vector<ps_shard_actor> shards{spawn_ps_shard(f.sys, {0, 2, params}),
                                     spawn_ps_shard(f.sys, {1, 2, params})};
  auto gate = spawn_ps_gate(f.sys, {"w0"}, 0);
  ps_worker_config wc;
  wc.name = "w0";
  wc.rows = std::make_shared<const std::vector<sparse_row>>(rows);
  wc.batch = 16;
  wc.epochs = 2;
  wc.shards = shards;
  wc.gate = gate;
  auto worker = spawn_ps_worker(f.sys, wc);
  caf::scoped_actor self{f.sys}, job{f.sys};
  self->send(worker, ps_train_atom::value);
  // a checkpoint of shard 1 at step 40 or so, then shard 1 goes
  std::this_thread::sleep_for(std::chrono::milliseconds{20});
  uint64_t held = 0;
  job->request(gate, caf::infinite, ps_hold_atom::value)
      .receive([&](uint64_t at) { held = at; },
               [&](caf::error& err) { FAIL(describe(err)); });
  REQUIRE(held > 0);
  envelope snapshot;
  job->request(shards[1], caf::infinite, ps_snapshot_atom::value)
      .receive([&](const envelope& e) { snapshot = e; },
               [&](caf::error& err) { FAIL(describe(err)); });
  job->send_exit(shards[1], caf::exit_reason::kill);
  job->send(gate, ps_go_atom::value);
  // the worker waits for shard 1: its clock stays put
  // (the slowest worker's clock, the steps pushed)
  auto clock = [&] {
    std::pair<uint64_t, uint64_t> out;
    job->request(gate, caf::infinite, ps_clock_atom::value)
        .receive(
            [&](uint64_t s, uint64_t n) {
              out = {s, n};
            },
            [&](caf::error& err) { FAIL(describe(err)); });
    return out;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  auto stuck = clock();
  std::this_thread::sleep_for(std::chrono::milliseconds{100});
  CHECK(clock() == stuck);
  CHECK(stuck.first <= held + 1);
  self->receive([&](uint64_t, double) { FAIL("the worker ended early"); },
                [&](caf::error& err) { FAIL(describe(err)); },
                caf::after(std::chrono::milliseconds{10}) >> [] {});
  // its replacement, restored from the checkpoint
  auto again = spawn_ps_shard(f.sys, {1, 2, params});
  job->request(again, caf::infinite, ps_restore_atom::value, snapshot)
      .receive([] {}, [&](caf::error& err) { FAIL(describe(err)); });
  job->send(worker, ps_reshard_atom::value, uint32_t{1},
            caf::actor_cast<caf::actor>(again));
  uint64_t trained = 0;
  self->receive([&](uint64_t n, double) { trained = n; },
                [&](caf::error& err) { FAIL(describe(err)); },
                caf::after(std::chrono::seconds{60}) >>
                    [] { FAIL("the worker never finished"); });
  CHECK(trained == 6000); // every row of both epochs, once
  CHECK(clock().second == steps_of(rows.size(), 16, 2)); // each step once
  auto weights = dump(f.sys, {shards[0], again});
  auto lost = logloss(weights, valid), whole = logloss(straight.weights, valid);
  INFO("validation logloss " << lost << " after the loss, " << whole
                             << " without");
  CHECK(lost < 0.6);
  CHECK(std::abs(lost - whole) <= 0.05 * whole);
  for (auto& a :
       std::vector<caf::actor>{caf::actor_cast<caf::actor>(worker),
                               caf::actor_cast<caf::actor>(gate),
                               caf::actor_cast<caf::actor>(again),
                               caf::actor_cast<caf::actor>(shards[0])})
    self->send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("the gate answers a wait for a step once the slowest worker has "
          "pushed it, or once no worker is left",
          "[training][ps-actors]") {
  system_fixture f;
  auto gate = spawn_ps_gate(f.sys, {"a", "b"}, std::nullopt); // async
  caf::scoped_actor a{f.sys}, b{f.sys}, job{f.sys};
  auto step = [&](caf::scoped_actor& w, const std::string& name) {
    w->request(gate, caf::infinite, ps_step_atom::value, name)
        .receive([](uint64_t) {},
                 [&](caf::error& err) { FAIL(describe(err)); });
  };
  job->send(gate, ps_clock_atom::value, uint64_t{2});
  step(a, "a");
  step(a, "a");
  step(a, "a"); // a at 3, b at 0
  job->receive([](uint64_t) { FAIL("answered before the slowest got there"); },
               caf::after(std::chrono::milliseconds{50}) >> [] {});
  step(b, "b");
  job->receive([](uint64_t) { FAIL("answered before the slowest got there"); },
               caf::after(std::chrono::milliseconds{50}) >> [] {});
  step(b, "b");
  job->receive([](uint64_t at) { CHECK(at == 2); },
               caf::after(std::chrono::seconds{10}) >>
                   [] { FAIL("never answered"); });
  // a wait past every step: answered when the workers leave
  job->send(gate, ps_clock_atom::value, uint64_t{100});
  a->send(gate, ps_leave_atom::value, std::string{"a"});
  job->receive([](uint64_t) { FAIL("answered with a worker left"); },
               caf::after(std::chrono::milliseconds{50}) >> [] {});
  b->send(gate, ps_leave_atom::value, std::string{"b"});
  job->receive([](uint64_t) {}, caf::after(std::chrono::seconds{10}) >>
                                    [] { FAIL("never answered"); });
  job->send_exit(gate, caf::exit_reason::user_shutdown);
}
