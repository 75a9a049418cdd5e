#include "actors/features/ingest.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <optional>

#include <capnp/message.h>

#include "actors/tabular/csv_stream.hpp"
#include "runtime/errors.hpp"

namespace troupe::features {

using tabular::csv_stream;
using tabular::file_progress;

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::string trim(const std::string& s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t'))
    ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
    --e;
  return s.substr(b, e - b);
}

template <class T>
bool parse_value(const std::string& text, T& out) {
  auto s = trim(text);
  if (s.empty()) return false;
  const char* b = s.data();
  if (*b == '+') ++b;
  auto [p, ec] = std::from_chars(b, s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

/// How the file's columns map to the group.
struct column_map {
  int entity = -1;
  int time = -1;
  std::vector<int> fields; ///< per group field: column or -1
  int packed_vector = -1;  ///< one column holding the whole vector
  std::vector<int> vector; ///< or one column per element
};

caf::expected<column_map> map_columns(const csv_stream& in, const group_spec& g,
                                      const std::string& entity_col,
                                      const std::string& time_col,
                                      std::vector<std::string>& warnings) {
  column_map m;
  auto cols = [&] {
    std::string s;
    for (auto& h : in.header())
      s += (s.empty() ? "" : ", ") + h;
    return s;
  };
  auto need = [&](const std::string& name,
                  const char* what) -> caf::expected<int> {
    int i = in.column(name);
    if (i < 0)
      return make_error(errc::invalid_argument,
                        in.path() + ": no " + what + " column '" + name +
                            "' (columns: " + cols() + ")");
    return i;
  };
  auto e = need(entity_col, "entity");
  if (!e) return e.error();
  m.entity = *e;
  auto t = need(time_col, "time");
  if (!t) return t.error();
  m.time = *t;
  std::vector<bool> used(in.header().size());
  used[m.entity] = used[m.time] = true;
  for (auto& f : g.fields) {
    int i = in.column(f.name);
    if (i < 0 && !f.nullable)
      return make_error(errc::invalid_argument,
                        in.path() + ": no column for the non-nullable field '" +
                            f.name + "' of group " + g.name +
                            " (columns: " + cols() + ")");
    if (i < 0)
      warnings.push_back("no column '" + f.name + "': the field stays missing");
    else
      used[i] = true;
    m.fields.push_back(i);
  }
  if (g.width > 0) {
    m.packed_vector = in.column(g.vector_name);
    if (m.packed_vector >= 0) {
      used[m.packed_vector] = true;
    } else {
      for (uint32_t k = 0; k < g.width; ++k) {
        auto name = g.vector_name + "_" + std::to_string(k);
        int i = in.column(name);
        if (i < 0)
          return make_error(
              errc::invalid_argument,
              in.path() + ": group " + g.name + " has a vector '" +
                  g.vector_name + "' of width " + std::to_string(g.width) +
                  ": give it as one column '" + g.vector_name +
                  "' (values separated by ';' or spaces) or as columns " +
                  g.vector_name + "_0.." + g.vector_name + "_" +
                  std::to_string(g.width - 1) + "; '" + name + "' is missing");
        used[i] = true;
        m.vector.push_back(i);
      }
    }
  }
  std::string extra;
  for (size_t i = 0; i < used.size(); ++i)
    if (!used[i]) extra += (extra.empty() ? "" : ", ") + in.header()[i];
  if (!extra.empty())
    warnings.push_back("columns not in the group, ignored: " + extra);
  return m;
}

/// Fills `row` from one record; an error names the column.
caf::error fill_row(const group_spec& g, const column_map& m,
                    const std::vector<std::string>& header,
                    const std::vector<std::string>& rec,
                    const std::string& unit, bool upsert,
                    schema::FeatureRow::Builder row) {
  auto entity = trim(rec[m.entity]);
  row.setEntity(entity);
  auto t = parse_time(rec[m.time], unit);
  if (!t)
    return make_error(errc::invalid_argument, "column '" + header[m.time] +
                                                  "': " + describe(t.error()));
  row.setEventTime(*t);
  auto bad = [](const std::string& col, const std::string& why) {
    return make_error(errc::invalid_argument, "column '" + col + "': " + why);
  };
  if (g.width > 0) {
    if (m.packed_vector >= 0) {
      const auto& text = rec[m.packed_vector];
      std::vector<float> vals;
      vals.reserve(g.width);
      size_t i = 0;
      while (i < text.size()) {
        while (i < text.size() &&
               (text[i] == ' ' || text[i] == ';' || text[i] == '\t'))
          ++i;
        if (i >= text.size()) break;
        size_t j = i;
        while (j < text.size() && text[j] != ' ' && text[j] != ';' &&
               text[j] != '\t')
          ++j;
        float v;
        if (!parse_value(text.substr(i, j - i), v))
          return bad(g.vector_name,
                     "'" + text.substr(i, j - i) + "' is not a number");
        vals.push_back(v);
        i = j;
      }
      if (!(vals.empty() && upsert)) {
        if (vals.size() != g.width)
          return bad(g.vector_name, std::to_string(vals.size()) +
                                        " values, the group's width is " +
                                        std::to_string(g.width));
        auto out = row.initVector(g.width);
        for (uint32_t k = 0; k < g.width; ++k)
          out.set(k, vals[k]);
      }
    } else {
      auto out = row.initVector(g.width);
      for (uint32_t k = 0; k < g.width; ++k) {
        const auto& cell = rec[m.vector[k]];
        float v;
        if (!parse_value(cell, v)) {
          if (trim(cell).empty() && g.allow_nan) {
            v = std::nanf("");
          } else {
            return bad(g.vector_name + "_" + std::to_string(k),
                       trim(cell).empty() ? "the value is missing"
                                          : "'" + cell + "' is not a number");
          }
        }
        out.set(k, v);
      }
    }
  }
  auto fs = row.initFields(static_cast<unsigned>(g.fields.size()));
  for (unsigned i = 0; i < g.fields.size(); ++i) {
    auto& f = g.fields[i];
    if (m.fields[i] < 0) {
      fs[i].setMissing();
      continue;
    }
    auto cell = trim(rec[m.fields[i]]);
    if (cell.empty()) {
      fs[i].setMissing();
      continue;
    }
    switch (f.type) {
    case field_type::int64: {
      int64_t v;
      if (!parse_value(cell, v))
        return bad(f.name, "'" + cell + "' is not an integer");
      fs[i].setInt64(v);
      break;
    }
    case field_type::float64: {
      double v;
      if (!parse_value(cell, v))
        return bad(f.name, "'" + cell + "' is not a number");
      fs[i].setFloat64(v);
      break;
    }
    case field_type::text:
      fs[i].setText(cell);
      break;
    case field_type::timestamp: {
      auto v = parse_time(cell, unit);
      if (!v) return bad(f.name, describe(v.error()));
      fs[i].setTimestamp(*v);
      break;
    }
    }
  }
  return check_row(g, row.asReader(), "row", upsert);
}

} // namespace

caf::expected<ingest_result> ingest(store_connection& c,
                                    const ingest_options& opts) {
  if (opts.on_error != "stop" && opts.on_error != "skip")
    return make_error(errc::invalid_argument,
                      "--on-error '" + opts.on_error + "' is not stop or skip");
  auto g = c.group(opts.group);
  if (!g) return g.error();
  auto in = csv_stream::open(opts.file);
  if (!in) return in.error();
  std::vector<std::string> warnings;
  auto m = map_columns(*in, *g, opts.entity_column, opts.time_column, warnings);
  if (!m) return m.error();
  if (!opts.quiet)
    for (auto& w : warnings)
      std::fprintf(stderr, "ingest: %s\n", w.c_str());
  size_t row_bytes = g->width * 4 + g->fields.size() * 24 + 96;
  size_t batch_rows = opts.batch_rows;
  if (batch_rows == 0)
    // 4 MiB: the server reads a batch about three times (check, route,
    // copy), within the RPC reader's limit of 64 MiB traversed per message
    batch_rows = std::clamp<size_t>((size_t{4} << 20) / row_bytes, 1, 4096);
  ingest_result res;
  auto t0 = clock_type::now();
  file_progress prog{opts.quiet, "ingest " + opts.group};
  struct in_flight_batch {
    kj::Promise<capnp::Response<schema::FeatureStore::WriteResults>> reply;
    size_t first_line;
    size_t last_line;
    size_t rows;
  };
  std::deque<in_flight_batch> flying;
  caf::error failure;
  auto await_oldest = [&]() -> caf::error {
    auto b = std::move(flying.front());
    flying.pop_front();
    auto r =
        c.call("write", [&] { return c.client->wait(std::move(b.reply)); });
    if (!r)
      return make_error(errc::invalid_argument,
                        "the batch of lines " + std::to_string(b.first_line) +
                            "-" + std::to_string(b.last_line) +
                            " was refused: " + describe(r.error()));
    res.rows += r->getResult().getWritten();
    return caf::none;
  };
  // Rows of the current batch are built as orphans in `scratch`, checked,
  // and copied into the request when the batch is full.
  auto scratch = std::make_unique<capnp::MallocMessageBuilder>();
  std::vector<capnp::Orphan<schema::FeatureRow>> rows;
  size_t first_line = 0;
  size_t last_line = 0;
  auto send = [&]() -> caf::error {
    if (rows.empty()) return caf::none;
    auto req = c.store.writeRequest();
    auto b = req.initBatch();
    b.setGroup(opts.group);
    b.setUpsert(opts.upsert);
    auto list = b.initRows(static_cast<unsigned>(rows.size()));
    for (unsigned i = 0; i < rows.size(); ++i)
      list.setWithCaveats(i, rows[i].getReader());
    flying.push_back({req.send(), first_line, last_line, rows.size()});
    ++res.batches;
    rows.clear();
    scratch = std::make_unique<capnp::MallocMessageBuilder>();
    while (flying.size() >= std::max<size_t>(opts.in_flight, 1))
      if (auto err = await_oldest()) return err;
    return caf::none;
  };
  std::vector<std::string> rec;
  size_t line = 0;
  for (;;) {
    auto got = in->next(rec, line);
    caf::error bad;
    if (!got) {
      bad = got.error();
    } else if (!*got) {
      break;
    } else {
      auto orphan = scratch->getOrphanage().newOrphan<schema::FeatureRow>();
      if (auto err = fill_row(*g, *m, in->header(), rec, opts.time_unit,
                              opts.upsert, orphan.get())) {
        bad = make_error(errc::invalid_argument, opts.file + ":" +
                                                     std::to_string(line) +
                                                     ": " + describe(err));
      } else {
        if (rows.empty()) first_line = line;
        last_line = line;
        rows.push_back(std::move(orphan));
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
    if (rows.size() >= batch_rows)
      if (auto err = send()) {
        failure = err;
        break;
      }
    prog.update(res.rows, in->bytes_read(), in->size());
  }
  if (!failure) failure = send();
  while (!flying.empty())
    if (auto err = await_oldest(); err && !failure) failure = err;
  if (auto r = c.flush(); !r && !failure) failure = r.error();
  res.seconds = seconds_since(t0);
  prog.update(res.rows, in->bytes_read(), in->size(), true);
  if (failure) res.stopped = describe(failure);
  return res;
}

} // namespace troupe::features
