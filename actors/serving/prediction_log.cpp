#include "actors/serving/prediction_log.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <ostream>

#include "runtime/errors.hpp"
#include "runtime/hash.hpp"
#include "runtime/time.hpp"

namespace troupe::serving {

// -- encoding -----------------------------------------------------------------

namespace {

constexpr uint8_t format_version = 1;
constexpr uint8_t flag_hashed = 1;

void put_varint(std::string& out, uint64_t x) {
  while (x >= 0x80) {
    out += static_cast<char>((x & 0x7f) | 0x80);
    x >>= 7;
  }
  out += static_cast<char>(x);
}

void put_signed(std::string& out, int64_t x) {
  put_varint(out, (static_cast<uint64_t>(x) << 1) ^
                      static_cast<uint64_t>(x >> 63)); // zigzag
}

void put_fixed(std::string& out, uint64_t x, int bytes) {
  for (int i = 0; i < bytes; ++i, x >>= 8)
    out += static_cast<char>(x & 0xff);
}

void put_float(std::string& out, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  put_fixed(out, bits, 4);
}

void put_text(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

void put_floats(std::string& out, const std::vector<float>& xs) {
  put_varint(out, xs.size());
  for (auto x : xs)
    put_float(out, x);
}

/// Reads encode()'s layout; the first failure sticks in `bad`.
struct reader {
  std::string_view in;
  const char* bad = nullptr;

  bool need(uint64_t n, const char* what) {
    if (!bad && n > in.size()) bad = what;
    return !bad;
  }
  uint64_t varint(const char* what) {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1, what)) return 0;
      auto b = static_cast<unsigned char>(in[0]);
      in.remove_prefix(1);
      x |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return x;
    }
    bad = what;
    return 0;
  }
  uint64_t fixed(int bytes, const char* what) {
    if (!need(static_cast<uint64_t>(bytes), what)) return 0;
    uint64_t x = 0;
    for (int i = bytes - 1; i >= 0; --i)
      x = (x << 8) | static_cast<unsigned char>(in[static_cast<size_t>(i)]);
    in.remove_prefix(static_cast<size_t>(bytes));
    return x;
  }
  float f32(const char* what) {
    auto bits = static_cast<uint32_t>(fixed(4, what));
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  std::string text(const char* what) {
    auto n = varint(what);
    if (!need(n, what)) return {};
    std::string s{in.substr(0, n)};
    in.remove_prefix(n);
    return s;
  }
  std::vector<float> floats(const char* what) {
    auto n = varint(what);
    if (!bad && n > in.size()) bad = what;
    if (!need(n * 4, what)) return {};
    std::vector<float> xs(n);
    for (auto& x : xs)
      x = f32(what);
    return xs;
  }
};

} // namespace

uint64_t hash_inputs(const prediction_record& r) {
  std::string buf;
  put_floats(buf, r.inputs);
  put_varint(buf, r.input_cells.size());
  for (auto& c : r.input_cells)
    put_text(buf, c);
  return fnv1a64(buf);
}

void hash_in_place(prediction_record& r) {
  if (r.hashed) return;
  r.input_hash = hash_inputs(r);
  r.hashed = true;
  r.inputs.clear();
  r.input_cells.clear();
}

std::string encode(const prediction_record& r) {
  std::string out;
  out.reserve(64 + r.request_id.size() +
              4 * (r.inputs.size() + r.scores.size()));
  out += static_cast<char>(format_version);
  put_text(out, r.request_id);
  put_varint(out, r.row);
  put_text(out, r.deployment);
  put_text(out, r.model);
  put_varint(out, r.version);
  put_signed(out, r.time_us);
  put_signed(out, r.latency_us);
  out += static_cast<char>(r.hashed ? flag_hashed : 0);
  if (r.hashed) put_fixed(out, r.input_hash, 8);
  put_floats(out, r.inputs);
  put_varint(out, r.input_cells.size());
  for (auto& c : r.input_cells)
    put_text(out, c);
  put_floats(out, r.scores);
  put_text(out, r.label);
  put_float(out, r.confidence);
  return out;
}

caf::expected<prediction_record> decode(std::string_view bytes) {
  reader in{bytes};
  prediction_record r;
  auto v = in.fixed(1, "format version");
  if (!in.bad && v != format_version)
    return make_error(errc::malformed_message,
                      "prediction record: unknown format version " +
                          std::to_string(v));
  r.request_id = in.text("request id");
  r.row = static_cast<uint32_t>(in.varint("row"));
  r.deployment = in.text("deployment");
  r.model = in.text("model");
  r.version = static_cast<uint32_t>(in.varint("version"));
  auto zigzag = [](uint64_t x) {
    return static_cast<int64_t>(x >> 1) ^ -static_cast<int64_t>(x & 1);
  };
  r.time_us = zigzag(in.varint("time"));
  r.latency_us = zigzag(in.varint("latency"));
  r.hashed = (in.fixed(1, "flags") & flag_hashed) != 0;
  if (r.hashed) r.input_hash = in.fixed(8, "input hash");
  r.inputs = in.floats("inputs");
  auto cells = in.varint("input cells");
  if (in.need(cells, "input cells"))
    for (uint64_t i = 0; i < cells && !in.bad; ++i)
      r.input_cells.push_back(in.text("input cells"));
  r.scores = in.floats("scores");
  r.label = in.text("label");
  r.confidence = in.f32("confidence");
  if (in.bad)
    return make_error(errc::malformed_message,
                      std::string{"prediction record: truncated at its "} +
                          in.bad);
  if (!in.in.empty())
    return make_error(errc::malformed_message,
                      "prediction record: " + std::to_string(in.in.size()) +
                          " unexpected bytes at its end");
  return r;
}

// -- the log ------------------------------------------------------------------

namespace {

constexpr std::string_view key_next = "next_seq";
constexpr std::string_view key_records = "records";
constexpr std::string_view key_bytes = "bytes";
constexpr uint64_t key_size = 8;

caf::error in_log(const std::string& dir, const caf::error& err) {
  auto code = err.category() == error_category ? static_cast<errc>(err.code())
                                               : errc::io_failure;
  return make_error(code, "prediction log '" + dir + "': " + describe(err));
}

/// Calls f(key, value) from the first key >= `from` on, until f says stop.
caf::error
scan_from(lmdb::txn& t, MDB_dbi db, const std::string& from,
          const std::string& path,
          const std::function<bool(std::string_view, std::string_view)>& f) {
  MDB_cursor* cur = nullptr;
  if (int rc = mdb_cursor_open(t.get(), db, &cur); rc != MDB_SUCCESS)
    return make_error(errc::io_failure, "LMDB mdb_cursor_open on '" + path +
                                            "': " + mdb_strerror(rc));
  MDB_val k{from.size(), const_cast<char*>(from.data())};
  MDB_val v{};
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS &&
         f({static_cast<const char*>(k.mv_data), k.mv_size},
           {static_cast<const char*>(v.mv_data), v.mv_size}))
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  mdb_cursor_close(cur);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
    return make_error(errc::io_failure, "LMDB mdb_cursor_get on '" + path +
                                            "': " + mdb_strerror(rc));
  return caf::none;
}

} // namespace

caf::expected<std::unique_ptr<prediction_log>>
prediction_log::open(const std::string& dir, prediction_log_options opts) {
  auto bad = [&](const std::string& what) {
    return make_error(errc::invalid_argument,
                      "prediction log '" + dir + "': " + what);
  };
  if (opts.max_records == 0) return bad("max_records must be at least 1");
  constexpr uint64_t headroom = uint64_t{64} << 20;
  if (opts.max_bytes > (uint64_t{1} << 44))
    return bad("max_bytes " + std::to_string(opts.max_bytes) +
               " is beyond 16 TiB");
  if (opts.map_size == 0)
    opts.map_size =
        opts.max_bytes ? 3 * opts.max_bytes + headroom : size_t{1} << 34;
  else if (opts.map_size / 2 < opts.max_bytes)
    return bad("map_size " + std::to_string(opts.map_size) +
               " is too small for max_bytes " + std::to_string(opts.max_bytes) +
               " (want at least twice as much)");
  lmdb::env_options eo;
  eo.map_size = opts.map_size;
  eo.max_dbs = 2;
  eo.no_sync = opts.no_sync;
  auto env = lmdb::env::open(dir, eo);
  if (!env) return in_log(dir, env.error());
  auto records = env->open_db("records");
  if (!records) return in_log(dir, records.error());
  auto meta = env->open_db("meta");
  if (!meta) return in_log(dir, meta.error());
  std::unique_ptr<prediction_log> out{
      new prediction_log{std::move(*env), *records, *meta, opts}};
  if (auto st = out->stats(); !st) return st.error();
  return out;
}

caf::expected<prediction_log_stats> prediction_log::read_stats(lmdb::txn& t) {
  prediction_log_stats st;
  for (auto [key, dst] :
       {std::pair{key_next, &st.next_seq}, std::pair{key_records, &st.records},
        std::pair{key_bytes, &st.bytes}}) {
    auto v = t.get(meta_, key);
    if (!v) return in_log(path(), v.error());
    if (!*v) continue;
    if ((*v)->size() != 8)
      return make_error(errc::malformed_message,
                        "prediction log '" + path() + "': counter '" +
                            std::string{key} + "' is damaged");
    *dst = lmdb::from_be64(**v);
  }
  if (st.records > st.next_seq)
    return make_error(errc::malformed_message,
                      "prediction log '" + path() +
                          "': more records than were ever appended");
  st.first_seq = st.next_seq - st.records;
  return st;
}

caf::expected<prediction_log_stats> prediction_log::stats() {
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return in_log(path(), t.error());
  return read_stats(*t);
}

caf::expected<size_t> prediction_log::size() {
  auto st = stats();
  if (!st) return st.error();
  return static_cast<size_t>(st->records);
}

caf::error prediction_log::append(const std::vector<prediction_record>& batch) {
  if (batch.empty()) return caf::none;
  // Encode outside the transaction; rows the bounds would trim at once are
  // skipped (they still take sequence numbers).
  std::vector<std::string> values;
  uint64_t batch_bytes = 0;
  for (size_t i = batch.size(); i-- > 0 && values.size() < opts_.max_records;) {
    auto& r = batch[i];
    std::string v;
    if (opts_.hash_inputs) {
      auto h = r;
      hash_in_place(h);
      v = encode(h);
    } else {
      v = encode(r);
    }
    auto size = key_size + v.size();
    if (opts_.max_bytes && size > opts_.max_bytes)
      return make_error(
          errc::invalid_argument,
          "prediction log '" + path() + "': row " + std::to_string(i) +
              " of the batch (request '" + r.request_id + "') takes " +
              std::to_string(size) + " bytes, more than max_bytes " +
              std::to_string(opts_.max_bytes) + "; the batch was not stored");
    if (opts_.max_bytes && batch_bytes + size > opts_.max_bytes) break;
    batch_bytes += size;
    values.push_back(std::move(v));
  }
  auto full = [&](const caf::error& err) {
    if (err.category() != error_category ||
        static_cast<errc>(err.code()) != errc::no_capacity)
      return in_log(path(), err);
    return make_error(errc::no_capacity,
                      "prediction log '" + path() + "' is full (LMDB map of " +
                          std::to_string(opts_.map_size) +
                          " bytes): a batch of " +
                          std::to_string(batch.size()) +
                          " rows was not stored, the stored rows are kept; "
                          "raise map_size or lower max_bytes");
  };
  auto t = lmdb::txn::begin(env_, false);
  if (!t) return in_log(path(), t.error());
  auto st = read_stats(*t);
  if (!st) return st.error();
  uint64_t seq = st->next_seq + batch.size() - values.size();
  for (auto v = values.rbegin(); v != values.rend(); ++v)
    if (auto r = t->put(records_, lmdb::be64(seq++), *v, MDB_APPEND); !r)
      return full(r.error());
  st->next_seq += batch.size();
  st->records += values.size();
  st->bytes += batch_bytes;
  // Trim the oldest records until both bounds hold.
  auto over = [&] {
    return st->records > opts_.max_records ||
           (opts_.max_bytes && st->bytes > opts_.max_bytes);
  };
  std::vector<std::string> doomed;
  if (over()) {
    auto r = t->scan(records_, "", [&](std::string_view k, std::string_view v) {
      doomed.emplace_back(k);
      st->records -= 1;
      st->bytes -= std::min<uint64_t>(st->bytes, k.size() + v.size());
      return over();
    });
    if (!r) return in_log(path(), r.error());
  }
  for (auto& k : doomed)
    if (auto r = t->del(records_, k); !r) return full(r.error());
  for (auto [key, x] :
       {std::pair{key_next, st->next_seq}, std::pair{key_records, st->records},
        std::pair{key_bytes, st->bytes}})
    if (auto r = t->put(meta_, key, lmdb::be64(x)); !r) return full(r.error());
  if (auto r = t->commit(); !r) return full(r.error());
  return caf::none;
}

caf::error prediction_log::scan(
    uint64_t from_seq, size_t limit,
    const std::function<bool(uint64_t, const prediction_record&)>& f) {
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return in_log(path(), t.error());
  caf::error bad;
  size_t seen = 0;
  auto err = scan_from(*t, records_, lmdb::be64(from_seq), path(),
                       [&](std::string_view k, std::string_view v) {
                         if (seen == limit) return false;
                         ++seen;
                         auto seq = lmdb::from_be64(k);
                         auto r = decode(v);
                         if (!r) {
                           bad = make_error(
                               errc::malformed_message,
                               "prediction log '" + path() + "': record " +
                                   std::to_string(seq) + " is damaged (" +
                                   describe(r.error()) + ")");
                           return false;
                         }
                         return f(seq, *r);
                       });
  return err ? err : bad;
}

// -- CSV export ---------------------------------------------------------------

namespace {

void csv_field(std::ostream& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out << s;
    return;
  }
  out << '"';
  for (char c : s) {
    if (c == '"') out << '"';
    out << c;
  }
  out << '"';
}

/// Shortest text that reads back to the same float; NaN, inf, -inf.
void csv_float(std::ostream& out, float x) {
  if (std::isnan(x)) {
    out << "NaN";
  } else if (std::isinf(x)) {
    out << (x > 0 ? "inf" : "-inf");
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), x);
    out.write(buf, r.ptr - buf);
  }
}

void csv_names(std::ostream& out, const std::vector<std::string>& names,
               size_t n, const char* prefix) {
  for (size_t i = 0; i < n; ++i) {
    out << ',';
    if (i < names.size())
      csv_field(out, names[i]);
    else
      out << prefix << i;
  }
}

} // namespace

caf::expected<size_t>
prediction_log::export_low_confidence(double threshold, std::ostream& out,
                                      const export_filter& filter) {
  auto wanted = [&](const prediction_record& r) {
    return (filter.deployment.empty() || r.deployment == filter.deployment) &&
           (filter.model.empty() || r.model == filter.model) &&
           r.time_us >= filter.since_us &&
           (std::isnan(r.confidence) ||
            static_cast<double>(r.confidence) < threshold);
  };
  // Two passes over one snapshot: the first sizes the columns.
  size_t inputs = 0;
  size_t scores = 0;
  bool any_hashed = false;
  size_t rows = 0;
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return in_log(path(), t.error());
  auto pass = [&](const std::function<void(const prediction_record&)>& f)
      -> caf::error {
    caf::error bad;
    auto err = scan_from(
        *t, records_, lmdb::be64(0), path(),
        [&](std::string_view k, std::string_view v) {
          auto r = decode(v);
          if (!r) {
            bad = make_error(errc::malformed_message,
                             "prediction log '" + path() + "': record " +
                                 std::to_string(lmdb::from_be64(k)) +
                                 " is damaged (" + describe(r.error()) + ")");
            return false;
          }
          if (wanted(*r)) f(*r);
          return true;
        });
    return err ? err : bad;
  };
  if (auto err = pass([&](const prediction_record& r) {
        inputs = std::max({inputs, r.inputs.size(), r.input_cells.size()});
        scores = std::max(scores, r.scores.size());
        any_hashed = any_hashed || r.hashed;
      }))
    return err;
  out << "request_id,row,deployment,model,version,time,latency_us,label,"
         "confidence";
  csv_names(out, filter.input_names, inputs, "input_");
  if (any_hashed) out << ",input_hash";
  csv_names(out, filter.score_names, scores, "score_");
  out << '\n';
  if (auto err = pass([&](const prediction_record& r) {
        csv_field(out, r.request_id);
        out << ',' << r.row << ',';
        csv_field(out, r.deployment);
        out << ',';
        csv_field(out, r.model);
        out << ',' << r.version << ',' << format_time(r.time_us) << ','
            << r.latency_us << ',';
        csv_field(out, r.label);
        out << ',';
        csv_float(out, r.confidence);
        for (size_t i = 0; i < inputs; ++i) {
          out << ',';
          if (i < r.input_cells.size())
            csv_field(out, r.input_cells[i]);
          else if (r.input_cells.empty() && i < r.inputs.size())
            csv_float(out, r.inputs[i]);
        }
        if (any_hashed) {
          out << ',';
          if (r.hashed) {
            char hex[17];
            std::snprintf(hex, sizeof hex, "%016llx",
                          static_cast<unsigned long long>(r.input_hash));
            out << hex;
          }
        }
        for (size_t i = 0; i < scores; ++i) {
          out << ',';
          if (i < r.scores.size()) csv_float(out, r.scores[i]);
        }
        out << '\n';
        ++rows;
      }))
    return err;
  if (!out)
    return make_error(errc::io_failure, "prediction log '" + path() +
                                            "': writing the export failed");
  return rows;
}

} // namespace troupe::serving
