// serving.replica (actors/serving/replica.cpp, protocol in service.hpp),
// spawned as the cluster spawns it and talked to with messages: loading a
// registered version (and refusing a corrupted one or a second one),
// answering predictions with the scores of the same model loaded locally in
// batches as the deployment settings form them, the queue bound, drain, and
// the answer to requests still waiting when the replica stops.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>
#include <capnp/message.h>

#include "actors/serving/convert.hpp"
#include "actors/serving/service.hpp"
#include "runtime/envelope.hpp"
#include "runtime/errors.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"
#include "schemas/serving.capnp.h"
#include "tests/support/process.hpp"
#include "tests/unit/serving/models.hpp"

using namespace troupe;
using namespace troupe::models;
using namespace troupe::serving;
using namespace troupe::tabular;
using namespace troupe::test_models;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

/// How long any one answer may take before the test gives up on it.
constexpr auto answer_timeout = 30s;

/// An actor system that knows troupe's types and the serving kinds.
struct serving_config : caf::actor_system_config {
  serving_config() {
    register_types(*this);
    register_kinds(*this);
  }
};

/// A binary model registered as churn v1, the same version loaded locally,
/// 20 rows encoded for it with the scores the local model gives them, and an
/// actor system to spawn replicas in (stopped at the end of the test).
struct replica_fixture {
  test::temp_dir tmp;
  model_version version;
  std::unique_ptr<servable> local;
  tabular::matrix rows;
  std::vector<float> want;
  serving_config cfg;
  caf::actor_system sys{cfg};
  std::vector<caf::actor> replicas;

  replica_fixture() {
    auto a = make_model(tmp / "a", tabular::task_kind::binary, 5);
    auto reg = open_registry(tmp / "reg");
    version = must_add(*reg, raw("churn", a));
    auto s = reg->load(version);
    if (!s) FAIL(describe(s.error()));
    local = std::move(*s);
    auto scored = score_new_rows(*local);
    rows = std::move(scored.rows);
    want = std::move(scored.scores);
    REQUIRE(local->outputs() == 1);
    REQUIRE(want.size() == rows.rows);
  }

  ~replica_fixture() {
    for (auto& r : replicas)
      caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  }

  /// Where replicas keep their node's data.
  std::string node_dir() const { return tmp / "node"; }

  /// A replica named `name`, spawned by kind name as a node spawns it.
  caf::actor spawn_replica(const std::string& name) {
    auto r = sys.spawn<caf::actor>(
        replica_kind,
        caf::make_message(kind_args{name, "node-1", "churn", node_dir()}),
        nullptr, false);
    if (!r) FAIL(sys.render(r.error()));
    replicas.push_back(*r);
    return *r;
  }

  /// The ModelVersion a replica gets from the service's fetch, files and
  /// content included.
  envelope version_envelope() const {
    capnp::MallocMessageBuilder msg;
    REQUIRE_FALSE(
        to_schema(version, msg.initRoot<schema::ModelVersion>(), true));
    return envelope::of<schema::ModelVersion>(msg);
  }

  /// A request `id` of the encoded rows first .. first + n - 1.
  envelope request(const std::string& id, size_t first, size_t n) const {
    REQUIRE(first + n <= rows.rows);
    return make_envelope<schema::PredictRequest>([&](auto r) {
      r.setDeployment("churn");
      r.setRequestId(id);
      auto list = r.initRows(static_cast<unsigned>(n));
      for (unsigned i = 0; i < n; ++i) {
        auto v = list[i].initValues(static_cast<unsigned>(rows.cols));
        for (unsigned k = 0; k < rows.cols; ++k)
          v.set(k, rows.values[(first + i) * rows.cols + k]);
      }
    });
  }

  /// Checks an answer to request(id, first, n) from replica `name`, predicted
  /// in a batch of `batch_rows` rows.
  void check_answer(const caf::expected<envelope>& answer,
                    const std::string& id, size_t first, size_t n,
                    const std::string& name, uint32_t batch_rows) const {
    if (!answer) FAIL("request " << id << ": " << describe(answer.error()));
    auto ok = answer->visit<schema::PredictResponse>([&](auto r) {
      CHECK(std::string{r.getRequestId()} == id);
      CHECK(std::string{r.getModel()} == "churn");
      CHECK(r.getVersion() == 1);
      CHECK(std::string{r.getReplica()} == name);
      CHECK(r.getBatchRows() == batch_rows);
      auto ps = r.getPredictions();
      REQUIRE(ps.size() == n);
      for (unsigned i = 0; i < n; ++i) {
        REQUIRE(ps[i].getScores().size() == 1);
        CHECK(ps[i].getScores()[0] == Approx(want[first + i]).margin(1e-6));
      }
    });
    if (!ok) FAIL(describe(ok.error()));
  }
};

/// Whole milliseconds since `start`.
int64_t ms_since(steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() -
                                                               start)
      .count();
}

/// A DeploymentSpec with these batching settings.
envelope spec(uint32_t max_batch_rows, uint32_t max_queue_delay_us,
              uint32_t queue_bound_rows) {
  deployment_settings d;
  d.name = "churn";
  d.model = "churn";
  d.max_batch_rows = max_batch_rows;
  d.max_queue_delay_us = max_queue_delay_us;
  d.queue_bound_rows = queue_bound_rows;
  return make_envelope<schema::DeploymentSpec>(
      [&](auto b) { to_schema(d, b); });
}

/// The answer (or error) of a pending request.
template <class T, class Handle>
caf::expected<T> await(Handle& pending) {
  caf::expected<T> out{caf::sec::unexpected_response};
  pending.receive([&](T& x) { out = std::move(x); },
                  [&](caf::error& err) { out = std::move(err); });
  return out;
}

/// Sends `xs` to `to` and waits for the answer.
template <class T, class... Ts>
caf::expected<T> ask(caf::scoped_actor& self, const caf::actor& to,
                     Ts&&... xs) {
  auto pending = self->request(to, answer_timeout, std::forward<Ts>(xs)...);
  return await<T>(pending);
}

/// The error of an answer expected to fail, described.
template <class T>
std::string error_of(const caf::expected<T>& answer) {
  if (answer) FAIL("expected an error, got an answer");
  return describe(answer.error());
}

/// Loads churn v1 on `replica` with these settings; fails the test if the
/// replica does not answer true.
void must_load(caf::scoped_actor& self, const caf::actor& replica,
               const envelope& version, const envelope& settings) {
  auto ok = ask<bool>(self, replica, load_atom::value, version, settings);
  if (!ok) FAIL("load: " << describe(ok.error()));
  REQUIRE(*ok);
}

/// Replica churn-r1 of `f`, with churn v1 loaded under these settings.
caf::actor loaded_replica(replica_fixture& f, caf::scoped_actor& self,
                          const envelope& settings) {
  auto replica = f.spawn_replica("churn-r1");
  must_load(self, replica, f.version_envelope(), settings);
  return replica;
}

/// Sends `req` to `replica` without waiting: the handle to await its answer.
auto predict_later(caf::scoped_actor& self, const caf::actor& replica,
                   envelope req) {
  return self->request(replica, answer_timeout, predict_atom::value,
                       std::move(req));
}

} // namespace

TEST_CASE_METHOD(replica_fixture,
                 "a replica loads a version then answers each request with "
                 "the local model's scores in batches of the configured size",
                 "[replica]") {
  caf::scoped_actor self{sys};
  auto settings = spec(4, 2'000'000, 64);
  auto replica = loaded_replica(*this, self, settings);
  // The files landed in the node's cache.
  auto cached = fs::path{node_dir()} / "serving" / "cache" / "churn" / "v1";
  CHECK(fs::exists(cached / "model.ubj"));
  CHECK(fs::exists(cached / "spec.json"));

  // 8 one-row requests in flight at once: two full batches of 4, long
  // before the 2 s delay would send a partial one.
  using handle = decltype(predict_later(self, replica, envelope{}));
  std::vector<handle> pending;
  for (size_t i = 0; i < 8; ++i)
    pending.push_back(predict_later(self, replica,
                                    request("req-" + std::to_string(i), i, 1)));
  for (size_t i = 0; i < 8; ++i)
    check_answer(await<envelope>(pending[i]), "req-" + std::to_string(i), i, 1,
                 "churn-r1", 4);

  // A request of several rows gets each row's own score.
  auto several = ask<envelope>(self, replica, predict_atom::value,
                               request("req-many", 8, 6));
  check_answer(several, "req-many", 8, 6, "churn-r1", 6);

  auto again =
      ask<bool>(self, replica, load_atom::value, version_envelope(), settings);
  CHECK_THAT(error_of(again),
             Catch::Contains("replica churn-r1 holds a model"));
}

TEST_CASE_METHOD(replica_fixture,
                 "a lone request waits for its batch delay and no longer",
                 "[replica]") {
  caf::scoped_actor self{sys};
  auto replica = loaded_replica(*this, self, spec(8, 100'000, 64));
  auto sent = steady::now();
  auto answer =
      ask<envelope>(self, replica, predict_atom::value, request("alone", 3, 1));
  auto took = ms_since(sent);
  check_answer(answer, "alone", 3, 1, "churn-r1", 1);
  CHECK(took >= 100);
  CHECK(took < 100 + 5000);
}

TEST_CASE_METHOD(replica_fixture,
                 "a version whose file arrived corrupted is refused and the "
                 "replica serves nothing",
                 "[replica]") {
  caf::scoped_actor self{sys};
  auto replica = spawn_replica("churn-r1");
  capnp::MallocMessageBuilder msg;
  auto mv = msg.initRoot<schema::ModelVersion>();
  REQUIRE_FALSE(to_schema(version, mv, true));
  REQUIRE(mv.getFiles().size() == 2);
  REQUIRE(std::string{mv.getFiles()[0].getName().cStr()} == "model.ubj");
  // One bit flipped in transit; size and checksum as registered.
  auto content = mv.getFiles()[0].getContent();
  REQUIRE(content.size() > 0);
  content[content.size() / 2] ^= 0x01;
  auto corrupted = envelope::of<schema::ModelVersion>(msg);

  auto loaded =
      ask<bool>(self, replica, load_atom::value, corrupted, spec(4, 1000, 64));
  auto why = error_of(loaded);
  CHECK_THAT(why, Catch::Contains("model file model.ubj arrived corrupted"));
  // The corrupted bytes never reached the cache.
  CHECK_FALSE(fs::exists(fs::path{node_dir()} / "serving" / "cache" / "churn" /
                         "v1" / "model.ubj"));
  auto answer =
      ask<envelope>(self, replica, predict_atom::value, request("r", 0, 1));
  CHECK_THAT(error_of(answer),
             Catch::Contains("replica churn-r1 has no model yet"));
}

TEST_CASE_METHOD(replica_fixture,
                 "the queue bound refuses a request with overloaded and "
                 "nothing is lost",
                 "[replica]") {
  caf::scoped_actor self{sys};
  // Batches of 8 rows, 8 rows queued at most, and a delay no test waits
  // for: a partial batch stays queued.
  auto replica = loaded_replica(*this, self, spec(8, 30'000'000, 8));
  auto first = predict_later(self, replica, request("five", 0, 5));
  // 5 + 4 rows would pass the bound while the 5 wait.
  auto refused =
      ask<envelope>(self, replica, predict_atom::value, request("four", 5, 4));
  auto why = error_of(refused);
  CHECK_THAT(why, Catch::Contains("overloaded"));
  CHECK_THAT(why, Catch::Contains("has 5 rows queued (bound 8)"));
  // More rows than the bound can never be queued.
  auto huge =
      ask<envelope>(self, replica, predict_atom::value, request("nine", 0, 9));
  CHECK_THAT(error_of(huge), Catch::Contains("request nine has 9 rows, more "
                                             "than a replica queues (8)"));
  // The refused requests took no room: 3 more rows fill the batch exactly,
  // which runs at once, with the waiting request's rows in it.
  auto last = predict_later(self, replica, request("three", 10, 3));
  check_answer(await<envelope>(first), "five", 0, 5, "churn-r1", 8);
  check_answer(await<envelope>(last), "three", 10, 3, "churn-r1", 8);
}

TEST_CASE_METHOD(replica_fixture,
                 "drain answers once every accepted request is answered",
                 "[replica]") {
  caf::scoped_actor self{sys};
  // Batches of 2: the first two requests run at once, the third waits for
  // the delay.
  auto replica = loaded_replica(*this, self, spec(2, 300'000, 64));
  auto idle = ask<bool>(self, replica, drain_atom::value);
  REQUIRE(idle);
  CHECK(*idle);

  // An actor that notes the answers in the order they reach it and then
  // tells the test.
  auto test_actor = caf::actor_cast<caf::actor>(self);
  std::vector<envelope> reqs{request("a", 0, 1), request("b", 1, 1),
                             request("c", 2, 1)};
  sys.spawn([=](caf::event_based_actor* a) {
    auto order = std::make_shared<std::string>();
    auto count = std::make_shared<int>(0);
    auto note = [=](const std::string& what) {
      *order += (order->empty() ? "" : " ") + what;
      if (++*count == 4) a->send(test_actor, *order);
    };
    for (auto& req : reqs)
      a->request(replica, answer_timeout, predict_atom::value, req)
          .then(
              [=](const envelope& e) {
                auto id = e.visit<schema::PredictResponse>(
                    [](auto r) { return std::string{r.getRequestId()}; });
                note(id ? *id : "?");
              },
              [=](caf::error& err) { note("error(" + describe(err) + ")"); });
    a->request(replica, answer_timeout, drain_atom::value)
        .then([=](bool done) { note(done ? "drained" : "not-drained"); },
              [=](caf::error& err) { note("error(" + describe(err) + ")"); });
  });
  std::string order;
  self->receive([&](std::string& x) { order = std::move(x); },
                caf::after(2 * answer_timeout) >>
                    [&] { FAIL("no answers within the timeout"); });
  CHECK(order == "a b c drained");
}

TEST_CASE_METHOD(replica_fixture,
                 "a stopped replica answers its waiting requests and drains "
                 "with an error",
                 "[replica]") {
  caf::scoped_actor self{sys};
  auto replica = loaded_replica(*this, self, spec(8, 10'000'000, 64));
  auto sent = steady::now();
  auto waiting = predict_later(self, replica, request("late", 0, 1));
  auto draining = self->request(replica, answer_timeout, drain_atom::value);
  // Sent after the requests from the same thread: the replica takes the
  // requests first.
  caf::anon_send_exit(replica, caf::exit_reason::user_shutdown);
  auto answer = await<envelope>(waiting);
  CHECK_THAT(error_of(answer), Catch::Contains("replica churn-r1 stopped"));
  // A drain waiting for that request is answered too, not left to its
  // caller's timeout.
  CHECK_THAT(error_of(await<bool>(draining)),
             Catch::Contains("replica churn-r1 stopped"));
  // Long before the 10 s delay would have sent the batch.
  CHECK(ms_since(sent) < 5000);
}
