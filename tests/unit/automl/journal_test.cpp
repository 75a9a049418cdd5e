#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/automl/journal.hpp"
#include "runtime/errors.hpp"
#include "schemas/automl.capnp.h"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::automl;
using namespace troupe::tabular;

namespace {

envelope spec_of(const std::string& id) {
  return make_envelope<schema::StudySpec>([&](auto s) {
    s.setId(id);
    s.setMetric("auc");
    s.setMaximize(true);
  });
}

trial_event ev(trial_id t, event_kind k, double value = 0, uint64_t step = 0) {
  trial_event e;
  e.trial = t;
  e.kind = k;
  e.value = value;
  e.step = step;
  return e;
}

} // namespace

TEST_CASE("a study's events replay into its trials", "[journal]") {
  test::temp_dir dir;
  auto j = study_journal::open(dir / "j");
  REQUIRE(j);
  REQUIRE((*j)->create("s1", spec_of("s1")));
  auto created = ev(0, event_kind::created);
  created.params = {{"eta", 0.1},
                    {"max_depth", int64_t{4}},
                    {"booster", std::string{"gbtree"}}};
  REQUIRE((*j)->append("s1", {created, ev(0, event_kind::started),
                              ev(0, event_kind::reported, 0.7, 10),
                              ev(0, event_kind::completed, 0.8),
                              ev(1, event_kind::created),
                              ev(1, event_kind::started)}));
  REQUIRE((*j)->append("s1",
                       {ev(2, event_kind::created), ev(2, event_kind::started),
                        ev(2, event_kind::pruned)}));
  auto r = (*j)->replay("s1");
  REQUIRE(r);
  CHECK(r->events == 9);
  CHECK(r->next_trial == 3);
  REQUIRE(r->trials.size() == 3);
  auto& t0 = r->trials.at(0);
  CHECK(t0.state == trial_state::complete);
  CHECK(*t0.value == 0.8);
  CHECK(t0.intermediate.at(10) == 0.7);
  CHECK(std::get<int64_t>(t0.params.at("max_depth")) == 4);
  CHECK(std::get<std::string>(t0.params.at("booster")) == "gbtree");
  CHECK(r->trials.at(2).state == trial_state::pruned);
  CHECK(r->interrupted == std::vector<trial_id>{1});
}

TEST_CASE("studies are listed, duplicates refused, unknown ones named",
          "[journal]") {
  test::temp_dir dir;
  auto j = study_journal::open(dir / "j");
  REQUIRE(j);
  REQUIRE((*j)->create("b", spec_of("b")));
  REQUIRE((*j)->create("a", spec_of("a")));
  auto dup = (*j)->create("a", spec_of("a"));
  REQUIRE_FALSE(dup);
  CHECK_THAT(describe(dup.error()), Catch::Contains("already exists"));
  CHECK(*(*j)->studies() == std::vector<std::string>{"a", "b"});
  auto missing = (*j)->append("zzz", {ev(0, event_kind::created)});
  REQUIRE_FALSE(missing);
  CHECK_THAT(describe(missing.error()), Catch::Contains("'zzz'"));
  auto spec = (*j)->spec("a");
  REQUIRE(spec);
  CHECK(*spec->visit<schema::StudySpec>(
            [](auto s) { return std::string{s.getMetric().cStr()}; }) == "auc");
  // Events of one study never leak into another with a longer name.
  REQUIRE((*j)->create("a2", spec_of("a2")));
  REQUIRE((*j)->append("a2", {ev(5, event_kind::created)}));
  CHECK((*j)->events("a")->empty());
}

TEST_CASE("events appended after reopening continue the sequence",
          "[journal]") {
  test::temp_dir dir;
  {
    auto j = study_journal::open(dir / "j");
    REQUIRE(j);
    REQUIRE((*j)->create("s", spec_of("s")));
    REQUIRE((*j)->append("s", {ev(0, event_kind::created)}));
  }
  auto j = study_journal::open(dir / "j");
  REQUIRE(j);
  REQUIRE((*j)->append(
      "s", {ev(0, event_kind::started), ev(0, event_kind::completed, 1.5)}));
  auto evs = (*j)->events("s");
  REQUIRE(evs);
  REQUIRE(evs->size() == 3);
  CHECK(evs->back().kind == event_kind::completed);
}

TEST_CASE("a kill -9 while appending loses no committed event and leaves "
          "no partial batch",
          "[journal]") {
  test::temp_dir dir;
  auto path = dir / "j";
  {
    auto j = study_journal::open(path);
    REQUIRE(j);
    REQUIRE((*j)->create("s", spec_of("s")));
  }
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(fds[0]);
    auto j = study_journal::open(path);
    if (!j) _exit(2);
    // Batches of 3 events per trial; report each committed trial id.
    for (trial_id t = 0; t < 100000; ++t) {
      if (!(*j)->append("s",
                        {ev(t, event_kind::created), ev(t, event_kind::started),
                         ev(t, event_kind::completed, double(t))}))
        _exit(3);
      uint64_t done = t + 1;
      if (write(fds[1], &done, sizeof(done)) != sizeof(done)) _exit(4);
    }
    _exit(0);
  }
  close(fds[1]);
  uint64_t acknowledged = 0;
  uint64_t got = 0;
  while (acknowledged < 40 && read(fds[0], &got, sizeof(got)) == sizeof(got))
    acknowledged = got;
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  while (read(fds[0], &got, sizeof(got)) == sizeof(got))
    acknowledged = got;
  close(fds[0]);
  REQUIRE(WIFSIGNALED(status));
  auto j = study_journal::open(path);
  REQUIRE(j);
  auto r = (*j)->replay("s");
  REQUIRE(r);
  CHECK(r->events % 3 == 0);
  CHECK(r->trials.size() >= acknowledged);
  for (auto& [id, t] : r->trials) {
    CHECK(t.state == trial_state::complete);
    CHECK(*t.value == double(id));
  }
  CHECK(r->interrupted.empty());
}
