// The feature store with the real `troupe` binary: the point-in-time join
// against a brute-force reference on generated data with out-of-order events,
// and a kill -9 in the middle of an ingest.

#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "actors/features/routing.hpp"
#include "actors/features/store.hpp"
#include "actors/tabular/csv.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using test::process;

namespace {

std::vector<std::string> cmd(std::vector<std::string> args) {
  args.insert(args.begin(), test::troupe_bin());
  return args;
}

void require_ok(const test::run_result& r, const std::string& what) {
  INFO(what << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.code == 0);
}

/// One generated feature event.
struct event {
  std::string entity;
  int64_t time = 0; ///< seconds
  int64_t n = 0;
  double x = 0;
  std::string s;
  float v[3] = {0, 0, 0};
  size_t order = 0; ///< position in the file
};

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

} // namespace

TEST_CASE("the point-in-time join matches a brute-force reference on "
          "out-of-order events",
          "[integration][features]") {
  test::temp_dir dir;
  auto data = dir / "store";
  std::mt19937_64 rng{7};
  const int64_t t0 = 1700000000;
  std::vector<event> events;
  std::vector<std::string> entities;
  for (int i = 0; i < 300; ++i)
    entities.push_back(i == 5 ? "e,\"5\"" : "e" + std::to_string(i));
  for (auto& e : entities) {
    int versions = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < versions; ++k) {
      event ev;
      ev.entity = e;
      ev.time = t0 + static_cast<int64_t>(rng() % 100000);
      ev.n = static_cast<int64_t>(rng() % 1000) - 500;
      ev.x = std::uniform_real_distribution<double>{-1, 1}(rng);
      ev.s = "s" + std::to_string(rng() % 5);
      for (auto& v : ev.v)
        v = std::uniform_real_distribution<float>{-10, 10}(rng);
      events.push_back(ev);
    }
  }
  // rewrites of existing (entity, time) pairs with new values
  size_t base = events.size();
  for (size_t i = 0; i < base / 10; ++i) {
    auto ev = events[rng() % base];
    ev.n += 10000;
    ev.v[0] += 100;
    events.push_back(ev);
  }
  std::shuffle(events.begin(), events.end(), rng);
  std::ostringstream f;
  f << "id,ts,n,x,s,v\n";
  for (size_t i = 0; i < events.size(); ++i) {
    auto& ev = events[i];
    ev.order = i;
    char buf[256];
    std::snprintf(buf, sizeof buf, ",%lld,%lld,%.17g,%s,%.9g;%.9g;%.9g\n",
                  static_cast<long long>(ev.time), static_cast<long long>(ev.n),
                  ev.x, ev.s.c_str(), static_cast<double>(ev.v[0]),
                  static_cast<double>(ev.v[1]), static_cast<double>(ev.v[2]));
    f << csv_cell(ev.entity) << buf;
  }
  test::write_file(dir / "events.csv", f.str());
  // labels: random times around the events, exact event times, unknown ids
  std::ostringstream l;
  l << "id,when,label\n";
  struct label {
    std::string entity;
    int64_t time;
  };
  std::vector<label> labels;
  for (int i = 0; i < 3000; ++i) {
    label lb;
    if (i % 10 == 0) {
      lb.entity = "nobody" + std::to_string(i);
      lb.time = t0 + 50000;
    } else if (i % 3 == 0) {
      auto& ev = events[rng() % events.size()];
      lb = {ev.entity, ev.time};
    } else {
      lb.entity = entities[rng() % entities.size()];
      lb.time = t0 - 1000 + static_cast<int64_t>(rng() % 102000);
    }
    labels.push_back(lb);
    l << csv_cell(lb.entity) << "," << lb.time << "," << (i % 2) << "\n";
  }
  test::write_file(dir / "labels.csv", l.str());

  auto store = std::vector<std::string>{"--data-dir", data, "--shards", "3"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), store.begin(), store.end());
    return cmd(args);
  };
  require_ok(test::run(with({"features", "create", "--group", "acct",
                             "--vector", "v:3", "--field", "n:int64", "--field",
                             "x:float64", "--field", "s:text"}),
                       60s),
             "create");
  require_ok(test::run(with({"features", "ingest", "--group", "acct", "--file",
                             dir / "events.csv", "--entity", "id", "--time",
                             "ts", "--batch-rows", "37", "--quiet"}),
                       120s),
             "ingest");
  auto joined =
      test::run(with({"features", "join", "--labels", dir / "labels.csv",
                      "--entity", "id", "--time", "when", "--groups", "acct",
                      "--out", dir / "train.csv", "--quiet"}),
                120s);
  require_ok(joined, "join");

  auto t = tabular::read_csv(dir / "train.csv");
  REQUIRE(t);
  REQUIRE(t->rows() == labels.size());
  auto col = [&](const std::string& name) {
    auto c = t->find(name);
    REQUIRE(c != nullptr);
    return c;
  };
  auto id = col("id");
  auto n = col("acct.n");
  auto x = col("acct.x");
  auto s = col("acct.s");
  auto v0 = col("acct.v_0");
  auto v2 = col("acct.v_2");
  size_t matched = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    INFO("label row " << i + 2 << ": " << labels[i].entity << " @ "
                      << labels[i].time);
    REQUIRE(id->text[i] == labels[i].entity);
    // brute force: the latest event at or before the label's time; among
    // rewrites of the same time, the last one in the file
    const event* best = nullptr;
    for (auto& ev : events)
      if (ev.entity == labels[i].entity && ev.time <= labels[i].time &&
          (!best || ev.time > best->time ||
           (ev.time == best->time && ev.order > best->order)))
        best = &ev;
    if (!best) {
      CHECK(n->is_missing(i));
      CHECK(v0->is_missing(i));
      continue;
    }
    ++matched;
    CHECK(n->numbers[i] == static_cast<double>(best->n));
    CHECK(x->numbers[i] == best->x);
    CHECK(s->text[i] == best->s);
    CHECK(static_cast<float>(v0->numbers[i]) == best->v[0]);
    CHECK(static_cast<float>(v2->numbers[i]) == best->v[2]);
  }
  CHECK(matched > 1500);
  CHECK(joined.out.find("joined 3000 label rows") != std::string::npos);

  // the training set goes straight into troupe automl
  auto am =
      test::run(cmd({"automl", "--data", dir / "train.csv", "--target", "label",
                     "--trials", "2", "--max-rounds", "4", "--min-rounds", "2",
                     "--slots", "1", "--out", dir / "runs", "--quiet"}),
                120s);
  INFO(am.out << am.err);
  CHECK(am.code == 0);
}

TEST_CASE("a kill -9 during an ingest leaves no partial batch, and "
          "re-ingesting converges",
          "[integration][features]") {
  test::temp_dir dir;
  auto data = dir / "store";
  const uint32_t width = 128;
  const size_t rows = 150000;
  const size_t batch = 500;
  const uint32_t shards = 4;
  {
    std::ofstream f{dir / "big.csv"};
    f << "key,ts,seq,v\n";
    std::string line;
    for (size_t i = 0; i < rows; ++i) {
      line = "k" + std::to_string(i) + ",1000," + std::to_string(i) + ",";
      for (uint32_t j = 0; j < width; ++j) {
        if (j) line += ';';
        line += std::to_string(static_cast<int>(i % 1000) + j);
      }
      line += '\n';
      f << line;
    }
  }
  auto store = std::vector<std::string>{"--data-dir", data, "--shards",
                                        std::to_string(shards)};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), store.begin(), store.end());
    return cmd(args);
  };
  require_ok(
      test::run(with({"features", "create", "--group", "big", "--vector",
                      "v:" + std::to_string(width), "--field", "seq:int64!"}),
                60s),
      "create");
  auto ingest_args = with({"features", "ingest", "--group", "big", "--file",
                           dir / "big.csv", "--entity", "key", "--time", "ts",
                           "--batch-rows", std::to_string(batch)});
  {
    process p{ingest_args, dir / "ingest.log"};
    // Kill it once about a tenth of the rows are committed: the shards'
    // files grow as transactions commit.
    auto committed_bytes = [&] {
      std::error_code ec;
      uintmax_t total = 0;
      for (uint32_t s = 0; s < shards; ++s) {
        auto size = std::filesystem::file_size(
            data + "/features/shard-" + std::to_string(s) + "/data.mdb", ec);
        if (!ec) total += size;
      }
      return total;
    };
    const uintmax_t tenth = rows * width * 4 / 10;
    REQUIRE(test::eventually(
        [&] { return committed_bytes() > tenth || !p.running(); }, 60s));
    REQUIRE(p.running());
    p.signal(SIGKILL);
    REQUIRE(p.wait(10s) == 128 + SIGKILL);
  }
  // Which rows each shard holds: rows of a batch that went to one shard are
  // one transaction, so each (batch, shard) is all there or not at all.
  auto present = [&] {
    std::vector<bool> seen(rows);
    for (uint32_t s = 0; s < shards; ++s) {
      auto st = features::shard_store::open(
          data + "/features/shard-" + std::to_string(s), s);
      REQUIRE(st);
      auto stats = (*st)->stats("big");
      REQUIRE(stats);
      CHECK(stats->versions == stats->entities); // one version per key
      std::string after;
      do {
        auto next = (*st)->scan_latest(
            "big", after, 5000,
            [&](schema::FeatureRow::Reader r) {
              auto seq = static_cast<size_t>(r.getFields()[0].getInt64());
              REQUIRE(seq < rows);
              REQUIRE(std::string{r.getEntity().cStr()} ==
                      "k" + std::to_string(seq));
              REQUIRE(features::shard_of(r.getEntity().cStr(), shards) == s);
              REQUIRE(r.getVector().size() == width);
              REQUIRE(r.getVector()[width - 1] ==
                      static_cast<float>(seq % 1000 + width - 1));
              seen[seq] = true;
            },
            troupe::now_micros());
        REQUIRE(next);
        after = *next;
      } while (!after.empty());
    }
    return seen;
  };
  auto seen = present();
  size_t count =
      static_cast<size_t>(std::count(seen.begin(), seen.end(), true));
  INFO(count << " of " << rows << " rows were written before the kill");
  CHECK(count > 0);
  CHECK(count < rows);
  size_t partial = 0;
  for (size_t b = 0; b * batch < rows; ++b) {
    std::map<uint32_t, std::pair<size_t, size_t>> per_shard; // have, total
    for (size_t i = b * batch; i < std::min(rows, (b + 1) * batch); ++i) {
      auto& c = per_shard[features::shard_of("k" + std::to_string(i), shards)];
      c.second += 1;
      c.first += seen[i] ? 1 : 0;
    }
    for (auto& [s, c] : per_shard)
      if (c.first != 0 && c.first != c.second) ++partial;
  }
  CHECK(partial == 0);

  // the same ingest again completes and leaves every row exactly once
  require_ok(test::run(ingest_args, 300s), "re-ingest");
  seen = present();
  CHECK(static_cast<size_t>(std::count(seen.begin(), seen.end(), true)) ==
        rows);
}

TEST_CASE("validation runs on a feature group's shards: a clean group has no "
          "anomaly, a corrupted ingest is caught",
          "[integration][features]") {
  test::temp_dir dir;
  auto data = std::string{TROUPE_SOURCE_DIR} + "/tests/data/";
  auto t = tabular::read_csv(data + "pima_diabetes.csv");
  REQUIRE(t);
  // two halves of pima as feature rows; the second with glucose x 10
  auto write_half = [&](const std::string& path, size_t from, size_t to,
                        bool corrupt) {
    std::ostringstream f;
    f << "pid,ts";
    for (auto& c : t->columns)
      f << "," << c.name;
    f << "\n";
    for (size_t r = from; r < to; ++r) {
      f << "p" << r << ",2024-01-01";
      for (auto& c : t->columns) {
        f << ",";
        if (c.is_missing(r)) continue;
        if (corrupt && c.name == "glucose")
          f << c.numbers[r] * 10;
        else
          f << c.text[r];
      }
      f << "\n";
    }
    test::write_file(path, f.str());
  };
  auto half = t->rows() / 2;
  write_half(dir / "clean.csv", 0, half, false);
  write_half(dir / "bad.csv", half, t->rows(), true);
  auto store = std::vector<std::string>{"--data-dir", dir / "store"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), store.begin(), store.end());
    return cmd(args);
  };
  std::vector<std::string> create = {"features", "create", "--group", "pima"};
  for (auto& c : t->columns) {
    create.push_back("--field");
    create.push_back(c.name + (c.kind == tabular::column_kind::numeric
                                   ? ":float64"
                                   : ":text"));
  }
  require_ok(test::run(with(create), 60s), "create");
  require_ok(test::run(with({"features", "ingest", "--group", "pima", "--file",
                             dir / "clean.csv", "--entity", "pid", "--time",
                             "ts", "--quiet"}),
                       60s),
             "ingest clean");
  auto infer = test::run(with({"features", "validate", "--group", "pima",
                               "--out", dir / "schema.json"}),
                         60s);
  require_ok(infer, "infer");
  CHECK(infer.out.find(std::to_string(half) + " rows validated") !=
        std::string::npos);
  auto clean = test::run(with({"features", "validate", "--group", "pima",
                               "--schema", dir / "schema.json"}),
                         60s);
  require_ok(clean, "check clean");
  CHECK(clean.out.find("0 blocking") != std::string::npos);
  require_ok(test::run(with({"features", "ingest", "--group", "pima", "--file",
                             dir / "bad.csv", "--entity", "pid", "--time", "ts",
                             "--quiet"}),
                       60s),
             "ingest corrupted");
  auto bad = test::run(with({"features", "validate", "--group", "pima",
                             "--schema", dir / "schema.json"}),
                       60s);
  INFO(bad.out << bad.err);
  CHECK(bad.code == 1);
  CHECK(bad.out.find("glucose:out_of_range") != std::string::npos);
  CHECK(bad.out.find(std::to_string(t->rows()) + " rows validated") !=
        std::string::npos);
}
