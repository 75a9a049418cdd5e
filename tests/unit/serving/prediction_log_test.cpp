#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "actors/serving/prediction_log.hpp"
#include "runtime/errors.hpp"
#include "runtime/lmdb.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::serving;

namespace {

constexpr int64_t t0 = 1709251200000000; // 2024-03-01T00:00:00Z

prediction_record make_record(int i) {
  prediction_record r;
  r.request_id = "req-" + std::to_string(i / 4);
  r.row = static_cast<uint32_t>(i % 4);
  r.deployment = i % 2 == 0 ? "iris" : "wine";
  r.model = "iris-xgb";
  r.version = 3;
  r.time_us = t0 + int64_t{i} * 1000000;
  r.latency_us = 250 + i;
  r.inputs = {5.1f + static_cast<float>(i), 3.5f, 1.4f, 0.2f};
  r.scores = {0.25f, 0.25f, 0.5f};
  r.label = "virginica";
  r.confidence = static_cast<float>(i) / 20.0f;
  return r;
}

void check_same(const prediction_record& got, const prediction_record& want) {
  INFO("request " << want.request_id << " row " << want.row);
  CHECK(got.request_id == want.request_id);
  CHECK(got.row == want.row);
  CHECK(got.deployment == want.deployment);
  CHECK(got.model == want.model);
  CHECK(got.version == want.version);
  CHECK(got.time_us == want.time_us);
  CHECK(got.latency_us == want.latency_us);
  CHECK(got.inputs == want.inputs);
  CHECK(got.input_cells == want.input_cells);
  CHECK(got.hashed == want.hashed);
  CHECK(got.input_hash == want.input_hash);
  CHECK(got.scores == want.scores);
  CHECK(got.label == want.label);
  CHECK(got.confidence == want.confidence);
}

std::vector<std::pair<uint64_t, prediction_record>>
read_all(prediction_log& log) {
  std::vector<std::pair<uint64_t, prediction_record>> out;
  auto err = log.scan(0, 1u << 30, [&](uint64_t seq, const auto& r) {
    out.emplace_back(seq, r);
    return true;
  });
  REQUIRE_FALSE(err);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

bool mentions(const caf::error& err, const std::string& what) {
  INFO(describe(err));
  return describe(err).find(what) != std::string::npos;
}

} // namespace

TEST_CASE("a log keeps only the newest max_records rows, in order, across "
          "reopening",
          "[serving]") {
  test::temp_dir dir;
  prediction_log_options opts;
  opts.max_records = 10;
  std::vector<prediction_record> all;
  {
    auto log = prediction_log::open(dir / "log", opts);
    REQUIRE(log);
    for (int i = 0; i < 25; i += 3) {
      std::vector<prediction_record> batch;
      for (int j = i; j < std::min(i + 3, 25); ++j)
        batch.push_back(make_record(j));
      all.insert(all.end(), batch.begin(), batch.end());
      REQUIRE_FALSE((*log)->append(batch));
      auto n = (*log)->size();
      REQUIRE(n);
      CHECK(*n == std::min<size_t>(all.size(), 10));
    }
  }
  auto log = prediction_log::open(dir / "log", opts);
  REQUIRE(log);
  auto st = (*log)->stats();
  REQUIRE(st);
  CHECK(st->records == 10);
  CHECK(st->first_seq == 15);
  CHECK(st->next_seq == 25);
  auto got = read_all(**log);
  REQUIRE(got.size() == 10);
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].first == 15 + i);
    check_same(got[i].second, all[15 + i]);
  }
  // scan honours from_seq, limit and an early stop.
  std::vector<uint64_t> seqs;
  REQUIRE_FALSE((*log)->scan(20, 3, [&](uint64_t seq, const auto&) {
    seqs.push_back(seq);
    return true;
  }));
  CHECK(seqs == std::vector<uint64_t>{20, 21, 22});
  seqs.clear();
  REQUIRE_FALSE((*log)->scan(0, 100, [&](uint64_t seq, const auto&) {
    seqs.push_back(seq);
    return seqs.size() < 2;
  }));
  CHECK(seqs == std::vector<uint64_t>{15, 16});
}

TEST_CASE("a batch larger than the bound keeps its newest rows", "[serving]") {
  test::temp_dir dir;
  prediction_log_options opts;
  opts.max_records = 10;
  auto log = prediction_log::open(dir / "log", opts);
  REQUIRE(log);
  std::vector<prediction_record> batch;
  for (int i = 0; i < 30; ++i)
    batch.push_back(make_record(i));
  REQUIRE_FALSE((*log)->append(batch));
  auto got = read_all(**log);
  REQUIRE(got.size() == 10);
  CHECK(got.front().first == 20);
  check_same(got.front().second, batch[20]);
  check_same(got.back().second, batch[29]);
  REQUIRE_FALSE((*log)->append({make_record(30)}));
  auto st = (*log)->stats();
  REQUIRE(st);
  CHECK(st->next_seq == 31);
  CHECK(st->first_seq == 21);
}

TEST_CASE("the byte bound holds under many small appends", "[serving]") {
  test::temp_dir dir;
  prediction_log_options opts;
  opts.max_bytes = 8192;
  auto log = prediction_log::open(dir / "log", opts);
  REQUIRE(log);
  auto one = encode(make_record(0)).size() + 8;
  for (int i = 0; i < 5000; ++i) {
    REQUIRE_FALSE((*log)->append({make_record(i)}));
    auto st = (*log)->stats();
    REQUIRE(st);
    REQUIRE(st->bytes <= opts.max_bytes);
    // Trimming removes no more than it must.
    REQUIRE(st->bytes + one + 4 >
            std::min<uint64_t>(opts.max_bytes, (i + 1) * one));
  }
  auto got = read_all(**log);
  REQUIRE_FALSE(got.empty());
  CHECK(got.back().first == 4999);
  check_same(got.back().second, make_record(4999));
  for (size_t i = 1; i < got.size(); ++i)
    CHECK(got[i].first == got[i - 1].first + 1);
  // Freed pages are reused: the file stays far below 5000 records' worth.
  struct stat sb {};
  REQUIRE(::stat((dir / "log/data.mdb").c_str(), &sb) == 0);
  CHECK(sb.st_size < 256 * 1024);
}

TEST_CASE("NaN scores and a very long request id round-trip", "[serving]") {
  test::temp_dir dir;
  auto r = make_record(1);
  r.request_id = std::string(100000, 'x') + std::string{"\0,\"\n", 4};
  r.scores = {std::nanf(""), std::numeric_limits<float>::infinity(), -0.0f};
  r.confidence = std::nanf("");
  r.input_cells = {"", "a,b", "ünïcode"};
  r.label.clear(); // regression
  {
    auto log = prediction_log::open(dir / "log");
    REQUIRE(log);
    REQUIRE_FALSE((*log)->append({r}));
  }
  auto log = prediction_log::open(dir / "log");
  REQUIRE(log);
  auto got = read_all(**log);
  REQUIRE(got.size() == 1);
  auto& g = got[0].second;
  CHECK(g.request_id == r.request_id);
  REQUIRE(g.scores.size() == 3);
  CHECK(std::isnan(g.scores[0]));
  CHECK(std::isinf(g.scores[1]));
  CHECK(std::signbit(g.scores[2]));
  CHECK(std::isnan(g.confidence));
  CHECK(g.input_cells == r.input_cells);
  CHECK(g.label.empty());
}

TEST_CASE("export writes exactly the rows below the threshold as CSV",
          "[serving]") {
  test::temp_dir dir;
  auto log = prediction_log::open(dir / "log");
  REQUIRE(log);
  std::vector<prediction_record> batch;
  for (int i = 0; i < 20; ++i)
    batch.push_back(make_record(i));
  batch[3].request_id = "has,comma \"quoted\"";
  batch[5].confidence = std::nanf(""); // unsure: exported too
  batch[15].confidence = std::nanf("");
  batch[15].deployment = "iris";
  REQUIRE_FALSE((*log)->append(batch));

  std::ostringstream out;
  auto n = (*log)->export_low_confidence(0.5, out);
  REQUIRE(n);
  // confidence i/20 < 0.5 for i < 10 (0.5 itself is not below), plus row 15.
  CHECK(*n == 11);
  auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 12);
  CHECK(lines[0] == "request_id,row,deployment,model,version,time,latency_us,"
                    "label,confidence,input_0,input_1,input_2,input_3,"
                    "score_0,score_1,score_2");
  CHECK(lines[1] == "req-0,0,iris,iris-xgb,3,2024-03-01T00:00:00Z,250,"
                    "virginica,0,5.1,3.5,1.4,0.2,0.25,0.25,0.5");
  CHECK(lines[4] == "\"has,comma \"\"quoted\"\"\",3,wine,iris-xgb,3,"
                    "2024-03-01T00:00:03Z,253,virginica,0.15,8.1,3.5,1.4,0.2,"
                    "0.25,0.25,0.5");
  CHECK(lines[6].find(",virginica,NaN,") != std::string::npos);
  CHECK(lines[11].rfind("req-3,3,iris,", 0) == 0);

  SECTION("filters narrow the export") {
    std::ostringstream o2;
    export_filter f;
    f.deployment = "iris";
    f.since_us = t0 + 4 * 1000000;
    f.input_names = {"sepal_length", "sepal_width"};
    f.score_names = {"setosa", "versicolor", "virginica"};
    auto m = (*log)->export_low_confidence(0.5, o2, f);
    REQUIRE(m);
    // iris rows are the even ones, plus row 15: 4, 6, 8, 15.
    CHECK(*m == 4);
    auto ls = lines_of(o2.str());
    REQUIRE(ls.size() == 5);
    CHECK(ls[0] == "request_id,row,deployment,model,version,time,latency_us,"
                   "label,confidence,sepal_length,sepal_width,input_2,"
                   "input_3,setosa,versicolor,virginica");
    CHECK(ls[1].rfind("req-1,0,iris,", 0) == 0);
    f.model = "other";
    std::ostringstream o3;
    auto none = (*log)->export_low_confidence(0.5, o3, f);
    REQUIRE(none);
    CHECK(*none == 0);
    CHECK(lines_of(o3.str()).size() == 1); // the header only
  }
}

TEST_CASE("a log that hashes inputs exports an input_hash column",
          "[serving]") {
  test::temp_dir dir;
  prediction_log_options opts;
  opts.hash_inputs = true;
  auto log = prediction_log::open(dir / "log", opts);
  REQUIRE(log);
  auto r = make_record(0);
  REQUIRE_FALSE((*log)->append({r, make_record(1)}));
  auto got = read_all(**log);
  REQUIRE(got.size() == 2);
  CHECK(got[0].second.hashed);
  CHECK(got[0].second.inputs.empty());
  CHECK(got[0].second.input_hash == hash_inputs(r));
  CHECK(got[0].second.input_hash != got[1].second.input_hash);
  std::ostringstream out;
  REQUIRE((*log)->export_low_confidence(1.0, out));
  auto lines = lines_of(out.str());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find(",confidence,input_hash,score_0,") != std::string::npos);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(hash_inputs(r)));
  CHECK(lines[1].find(std::string{",0,"} + hex + ",0.25,") !=
        std::string::npos);
}

TEST_CASE("bad options and damaged stores give clear errors", "[serving]") {
  test::temp_dir dir;
  prediction_log_options zero;
  zero.max_records = 0;
  auto a = prediction_log::open(dir / "a", zero);
  REQUIRE_FALSE(a);
  CHECK(mentions(a.error(), "max_records must be at least 1"));

  prediction_log_options tight;
  tight.max_bytes = 1 << 20;
  tight.map_size = 1 << 20;
  auto b = prediction_log::open(dir / "b", tight);
  REQUIRE_FALSE(b);
  CHECK(mentions(b.error(), "too small for max_bytes"));

  // Not an LMDB file at all.
  ::mkdir((dir / "c").c_str(), 0755);
  test::write_file(dir / "c/data.mdb", std::string(8192, 'z'));
  auto c = prediction_log::open(dir / "c");
  REQUIRE_FALSE(c);
  CHECK(mentions(c.error(), dir / "c"));

  // A damaged record is named by its sequence number.
  {
    auto log = prediction_log::open(dir / "d");
    REQUIRE(log);
    REQUIRE_FALSE((*log)->append({make_record(0), make_record(1)}));
  }
  {
    auto env = lmdb::env::open(dir / "d");
    REQUIRE(env);
    auto db = env->open_db("records");
    REQUIRE(db);
    auto t = lmdb::txn::begin(*env, false);
    REQUIRE(t);
    REQUIRE(t->put(*db, lmdb::be64(1), std::string{"\x01\x05req"}));
    REQUIRE(t->commit());
  }
  auto d = prediction_log::open(dir / "d");
  REQUIRE(d);
  auto err = (*d)->scan(0, 10, [](uint64_t, const auto&) { return true; });
  CHECK(mentions(err, "record 1 is damaged"));
  std::ostringstream out;
  auto e = (*d)->export_low_confidence(1.0, out);
  REQUIRE_FALSE(e);
  CHECK(mentions(e.error(), "record 1 is damaged"));

  // A row larger than max_bytes fails its batch and stores nothing.
  prediction_log_options small;
  small.max_bytes = 256;
  auto f = prediction_log::open(dir / "f", small);
  REQUIRE(f);
  auto big = make_record(2);
  big.inputs.assign(100, 1.0f);
  auto err2 = (*f)->append({make_record(1), big});
  CHECK(mentions(err2, "more than max_bytes 256"));
  CHECK(*(*f)->size() == 0);
}

TEST_CASE("a full map keeps the stored rows and says what to raise",
          "[serving]") {
  test::temp_dir dir;
  prediction_log_options opts;
  opts.max_bytes = 0; // only the map bounds it
  opts.map_size = 1 << 20;
  auto log = prediction_log::open(dir / "log", opts);
  REQUIRE(log);
  auto big = make_record(0);
  big.inputs.assign(40000, 0.5f); // ~160 KB a row
  size_t stored = 0;
  caf::error err;
  for (int i = 0; i < 20 && !err; ++i) {
    big.row = static_cast<uint32_t>(i);
    err = (*log)->append({big});
    if (!err) ++stored;
  }
  REQUIRE(err);
  CHECK(err.code() == static_cast<uint8_t>(errc::no_capacity));
  CHECK(mentions(err, "is full"));
  CHECK(mentions(err, "raise map_size"));
  REQUIRE(stored > 0);
  auto got = read_all(**log);
  REQUIRE(got.size() == stored);
  CHECK(got.back().second.row == stored - 1);
  CHECK(got.back().second.inputs == big.inputs);
}

TEST_CASE("another process reads a consistent log while one writes",
          "[serving]") {
  test::temp_dir dir;
  prediction_log_options opts;
  opts.max_records = 50;
  { REQUIRE(prediction_log::open(dir / "log", opts)); }
  // The writer stops half-way until the reader has read once, so that at
  // least one read surely falls in the middle of the writes.
  int half_way[2];
  REQUIRE(pipe(half_way) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(half_way[1]); // a parent that fails early closes its end: EOF
    int rc = 0;
    auto log = prediction_log::open(dir / "log", opts);
    for (int i = 0; log && i < 400 && rc == 0; ++i) {
      if (i == 200) {
        char go = 0;
        if (read(half_way[0], &go, 1) != 1) _exit(3);
      }
      rc = (*log)->append({make_record(2 * i), make_record(2 * i + 1)}) ? 1 : 0;
    }
    _exit(log ? rc : 2);
  }
  close(half_way[0]);
  // Closed however this test ends, so that the writer never waits forever.
  struct closer {
    int fd;
    ~closer() { close(fd); }
  } go{half_way[1]};
  auto log = prediction_log::open(dir / "log", opts);
  REQUIRE(log);
  REQUIRE(test::eventually(
      [&] {
        auto st = (*log)->stats();
        return st && st->next_seq == 400;
      },
      std::chrono::seconds{30}));
  int status = 0;
  size_t checks = 0, mid_write = 0;
  for (bool done = false; !done;) {
    done = waitpid(child, &status, WNOHANG) == child;
    // Each read is one snapshot: within the bound, contiguous, and the
    // records match their sequence numbers.
    auto got = read_all(**log);
    REQUIRE(got.size() <= 50);
    for (size_t i = 0; i < got.size(); ++i) {
      REQUIRE(got[i].first == got.front().first + i);
      REQUIRE(got[i].second.latency_us ==
              250 + static_cast<int64_t>(got[i].first));
    }
    if (!got.empty() && got.back().first < 799) ++mid_write;
    if (checks++ == 0) REQUIRE(write(go.fd, "g", 1) == 1);
  }
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto st = (*log)->stats();
  REQUIRE(st);
  CHECK(st->next_seq == 800);
  CHECK(st->records == 50);
  CHECK(mid_write > 0);
}

TEST_CASE("decode refuses truncated and overlong bytes", "[serving]") {
  auto bytes = encode(make_record(7));
  auto ok = decode(bytes);
  REQUIRE(ok);
  check_same(*ok, make_record(7));
  auto cut = decode(bytes.substr(0, bytes.size() - 2));
  REQUIRE_FALSE(cut);
  CHECK(mentions(cut.error(), "truncated at its confidence"));
  auto longer = decode(bytes + "xy");
  REQUIRE_FALSE(longer);
  CHECK(mentions(longer.error(), "2 unexpected bytes"));
  auto version = decode("\x09");
  REQUIRE_FALSE(version);
  CHECK(mentions(version.error(), "unknown format version 9"));
}
