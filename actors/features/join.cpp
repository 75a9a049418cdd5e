// `troupe features join`: label rows matched point-in-time with groups.

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>

#include "actors/features/ingest.hpp"
#include "actors/tabular/csv_stream.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::features {

using tabular::append_csv_field;
using tabular::csv_stream;
using tabular::file_progress;

namespace {

using clock_type = std::chrono::steady_clock;

template <class T>
void append_number(std::string& out, T v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec == std::errc{}) out.append(buf, p);
}

/// Appends one group's cells of a row (or empty cells when not found).
void append_row(std::string& out, const group_spec& g,
                schema::FeatureRow::Reader r) {
  using V = schema::FeatureValue;
  bool found = r.getFound();
  for (unsigned i = 0; i < g.fields.size(); ++i) {
    out.push_back(',');
    if (!found || i >= r.getFields().size()) continue;
    auto v = r.getFields()[i];
    switch (v.which()) {
    case V::MISSING:
      break;
    case V::INT64:
      append_number(out, v.getInt64());
      break;
    case V::FLOAT64:
      if (!std::isnan(v.getFloat64())) append_number(out, v.getFloat64());
      break;
    case V::TEXT:
      append_csv_field(out, v.getText());
      break;
    case V::TIMESTAMP:
      append_number(out, v.getTimestamp());
      break;
    }
  }
  auto vec = r.getVector();
  for (uint32_t k = 0; k < g.width; ++k) {
    out.push_back(',');
    if (found && k < vec.size() && !std::isnan(vec[k]))
      append_number(out, vec[k]);
  }
}

} // namespace

caf::expected<join_result> join(store_connection& c, const join_options& opts) {
  if (opts.on_error != "stop" && opts.on_error != "skip")
    return make_error(errc::invalid_argument,
                      "--on-error '" + opts.on_error + "' is not stop or skip");
  if (opts.groups.empty())
    return make_error(errc::invalid_argument, "join: give --groups G1,G2");
  std::vector<group_spec> groups;
  size_t row_bytes = 64;
  for (auto& name : opts.groups) {
    auto g = c.group(name);
    if (!g) return g.error();
    row_bytes += g->width * 4 + g->fields.size() * 24 + 64;
    groups.push_back(*g);
  }
  auto in = csv_stream::open(opts.labels);
  if (!in) return in.error();
  int ecol = in->column(opts.entity_column);
  int tcol = in->column(opts.time_column);
  if (ecol < 0 || tcol < 0)
    return make_error(errc::invalid_argument,
                      opts.labels + ": no column '" +
                          (ecol < 0 ? opts.entity_column : opts.time_column) +
                          "'");
  atomic_file file{opts.out};
  auto& out = file.stream();
  if (!out) return io_error("write", opts.out);
  std::string line_text;
  for (size_t i = 0; i < in->header().size(); ++i) {
    if (i) line_text.push_back(',');
    append_csv_field(line_text, in->header()[i]);
  }
  for (auto& g : groups)
    for (auto& name : joined_columns(g)) {
      line_text.push_back(',');
      append_csv_field(line_text, name);
    }
  line_text.push_back('\n');
  out << line_text;
  size_t chunk_rows =
      std::clamp<size_t>((size_t{32} << 20) / row_bytes, 1, max_lookup_keys);
  struct chunk {
    std::vector<std::vector<std::string>> records;
    kj::Promise<capnp::Response<schema::FeatureStore::LookupResults>> reply =
        nullptr;
  };
  join_result res;
  auto t0 = clock_type::now();
  std::deque<chunk> flying;
  chunk cur;
  caf::error failure;
  auto write_oldest = [&]() -> caf::error {
    auto ch = std::move(flying.front());
    flying.pop_front();
    auto done = c.call("lookup", [&] {
      auto r = c.client->wait(std::move(ch.reply));
      auto gs = r.getResult().getGroups();
      // each list is fetched once: a reader counts every fetch against its
      // traversal limit
      std::vector<capnp::List<schema::FeatureRow>::Reader> lists;
      for (unsigned g = 0; g < groups.size(); ++g)
        lists.push_back(gs[g].getRows());
      for (size_t i = 0; i < ch.records.size(); ++i) {
        line_text.clear();
        auto& rec = ch.records[i];
        for (size_t j = 0; j < rec.size(); ++j) {
          if (j) line_text.push_back(',');
          append_csv_field(line_text, rec[j]);
        }
        for (unsigned g = 0; g < groups.size(); ++g) {
          auto row = lists[g][static_cast<unsigned>(i)];
          if (row.getFound())
            ++res.matched;
          else
            ++res.missing;
          append_row(line_text, groups[g], row);
        }
        line_text.push_back('\n');
        out << line_text;
        ++res.rows;
      }
    });
    if (!done) return done.error();
    return caf::none;
  };
  std::vector<int64_t> times;
  auto send = [&]() -> caf::error {
    if (cur.records.empty()) return caf::none;
    auto req = c.store.lookupRequest();
    auto l = req.initRequest();
    auto gs = l.initGroups(static_cast<unsigned>(groups.size()));
    for (unsigned g = 0; g < groups.size(); ++g)
      gs.set(g, groups[g].name);
    auto ks = l.initKeys(static_cast<unsigned>(cur.records.size()));
    for (unsigned i = 0; i < cur.records.size(); ++i) {
      ks[i].setEntity(cur.records[i][ecol]);
      ks[i].setAsOf(times[i]);
    }
    cur.reply = req.send();
    flying.push_back(std::move(cur));
    cur = chunk{};
    times.clear();
    while (flying.size() >= std::max<size_t>(opts.in_flight, 1))
      if (auto err = write_oldest()) return err;
    return caf::none;
  };
  std::vector<std::string> rec;
  size_t line = 0;
  file_progress prog{opts.quiet, "join"};
  for (;;) {
    auto got = in->next(rec, line);
    caf::error bad;
    if (!got) {
      bad = got.error();
    } else if (!*got) {
      break;
    } else {
      auto t = parse_time(rec[tcol], opts.time_unit);
      auto where = opts.labels + ":" + std::to_string(line);
      if (!t) {
        bad = make_error(errc::invalid_argument,
                         where + ": column '" + opts.time_column +
                             "': " + describe(t.error()));
      } else if (auto err = check_entity(rec[ecol], where)) {
        bad = err;
      } else {
        times.push_back(*t);
        cur.records.push_back(rec);
      }
    }
    if (bad) {
      ++res.bad_rows;
      if (res.errors.size() < 10) res.errors.push_back(describe(bad));
      if (opts.on_error == "stop") {
        failure = bad;
        break;
      }
    }
    if (cur.records.size() >= chunk_rows)
      if (auto err = send()) {
        failure = err;
        break;
      }
    prog.update(res.rows, in->bytes_read(), in->size());
  }
  if (!failure) failure = send();
  while (!flying.empty())
    if (auto err = write_oldest(); err && !failure) failure = err;
  res.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  prog.update(res.rows, in->bytes_read(), in->size(), true);
  if (failure) return failure; // the temporary file goes with `file`
  if (auto err = file.commit()) return err;
  return res;
}

} // namespace troupe::features
