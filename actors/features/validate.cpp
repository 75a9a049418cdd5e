// Data validation as an actor step on a feature group: a detached actor
// pages through the latest rows of every shard (scan_atom) and feeds them to
// the validation library, inferring a schema or checking one.

#include <nlohmann/json.hpp>

#include <caf/all.hpp>

#include "actors/features/group.hpp"
#include "actors/features/service.hpp"
#include "actors/tabular/check.hpp"
#include "actors/tabular/schema.hpp"
#include "actors/tabular/stats.hpp"
#include "runtime/envelope.hpp"
#include "runtime/errors.hpp"
#include "schemas/features.capnp.h"

namespace troupe::features {

namespace {

constexpr uint64_t page_rows = 256;
constexpr auto page_timeout = std::chrono::seconds{60};

/// The columns a group's rows are validated as: its fields, then one column
/// per vector element (VECTOR_i), as `troupe features join` writes them.
std::vector<std::string> columns_of(const group_spec& g) {
  std::vector<std::string> cols;
  for (auto& f : g.fields)
    cols.push_back(f.name);
  for (uint32_t k = 0; k < g.width; ++k)
    cols.push_back(g.vector_name + "_" + std::to_string(k));
  return cols;
}

void feed(tabular::row_sink& sink, const group_spec& g,
          schema::FeatureRow::Reader r, uint64_t row,
          std::vector<double>& buf) {
  using V = schema::FeatureValue;
  sink.begin_row(row);
  auto fs = r.getFields();
  for (unsigned i = 0; i < g.fields.size() && i < fs.size(); ++i) {
    auto v = fs[i];
    switch (v.which()) {
    case V::MISSING:
      sink.add_missing(i);
      break;
    case V::INT64:
      sink.add_integer(i, v.getInt64());
      break;
    case V::FLOAT64:
      sink.add_number(i, v.getFloat64());
      break;
    case V::TEXT:
      sink.add_text(i, {v.getText().cStr(), v.getText().size()});
      break;
    case V::TIMESTAMP:
      sink.add_integer(i, v.getTimestamp());
      break;
    }
  }
  auto vec = r.getVector();
  buf.resize(vec.size());
  for (unsigned k = 0; k < vec.size(); ++k)
    buf[k] = vec[k];
  if (!buf.empty()) sink.add_numbers(buf.data(), buf.size(), g.fields.size());
  sink.end_row();
}

nlohmann::json anomalies_json(const tabular::check_result& res) {
  auto out = nlohmann::json::array();
  for (auto& a : res.anomalies) {
    nlohmann::json x;
    x["id"] = a.id();
    x["column"] = a.column;
    x["kind"] = tabular::to_string(a.kind);
    x["level"] = tabular::to_string(a.level);
    x["count"] = a.count;
    x["ratio"] = a.ratio;
    x["allowed"] = a.allowed;
    x["description"] = a.description;
    auto ex = nlohmann::json::array();
    for (auto& e : a.examples)
      ex.push_back({{"value", e.value}, {"row", e.line}});
    x["examples"] = ex;
    out.push_back(x);
  }
  return out;
}

struct run_state {
  group_spec group;
  std::vector<caf::actor> shards;
  size_t shard = 0;
  std::string after;
  uint64_t rows = 0;
  uint64_t limit = 0;
  std::optional<tabular::schema> schema;
  std::unique_ptr<tabular::profile_builder> profile;
  std::unique_ptr<tabular::checker> checker;
  std::vector<double> buf;
};

void next_page(caf::event_based_actor* self, std::shared_ptr<run_state> st,
               caf::response_promise rp);

void finish(std::shared_ptr<run_state> st, caf::response_promise& rp) {
  std::string schema_json;
  nlohmann::json anomalies = nlohmann::json::array();
  uint32_t blocking = 0;
  if (st->checker) {
    auto res = st->checker->finish();
    anomalies = anomalies_json(res);
    blocking = static_cast<uint32_t>(res.blocking());
    schema_json = tabular::to_json(*st->schema).dump(2);
  } else {
    auto stats = st->profile->finish();
    schema_json = tabular::to_json(tabular::infer_schema(stats)).dump(2);
  }
  rp.deliver(make_envelope<schema::ValidationReport>([&](auto b) {
    b.setGroup(st->group.name);
    b.setRows(st->rows);
    b.setSchema(schema_json);
    b.setAnomalies(anomalies.dump(2));
    b.setBlocking(blocking);
  }));
}

void next_page(caf::event_based_actor* self, std::shared_ptr<run_state> st,
               caf::response_promise rp) {
  if (st->shard >= st->shards.size() ||
      (st->limit > 0 && st->rows >= st->limit)) {
    finish(st, rp);
    self->quit();
    return;
  }
  self->request(st->shards[st->shard], page_timeout, scan_atom::value,
                st->group.name, st->after, page_rows)
      .then(
          [=](const envelope& env) mutable {
            auto ok = env.visit<schema::LookupResult>(
                [&](auto r) {
                  auto g = r.getGroups()[0];
                  tabular::row_sink& sink =
                      st->checker
                          ? static_cast<tabular::row_sink&>(*st->checker)
                          : *st->profile;
                  for (auto row : g.getRows()) {
                    if (st->limit > 0 && st->rows >= st->limit) break;
                    feed(sink, st->group, row, ++st->rows, st->buf);
                  }
                  st->after = g.getNext();
                },
                reader_limits{uint64_t{1} << 30, 64});
            if (!ok) {
              rp.deliver(ok.error());
              self->quit();
              return;
            }
            if (st->after.empty()) ++st->shard;
            next_page(self, st, rp);
          },
          [=](caf::error& err) mutable {
            rp.deliver(make_error(errc::io_failure,
                                  "validate " + st->group.name + ": shard " +
                                      std::to_string(st->shard) + ": " +
                                      describe(err)));
            self->quit();
          });
}

} // namespace

caf::expected<caf::actor>
spawn_validation(caf::actor_system& sys, const group_spec& g,
                 std::vector<caf::actor> shards, const std::string& schema_text,
                 uint64_t limit, caf::response_promise rp) {
  auto st = std::make_shared<run_state>();
  st->group = g;
  st->shards = std::move(shards);
  st->limit = limit;
  auto cols = columns_of(g);
  if (!schema_text.empty()) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(schema_text);
    } catch (const std::exception& e) {
      return make_error(errc::invalid_argument,
                        "validate " + g.name +
                            ": the schema is not JSON: " + e.what());
    }
    auto s = tabular::schema_from_json(j, "schema");
    if (!s) return s.error();
    st->schema = std::move(*s);
    st->checker = std::make_unique<tabular::checker>(*st->schema, cols);
  } else {
    st->profile = std::make_unique<tabular::profile_builder>(cols);
  }
  return sys.spawn<caf::detached>(
      [st, rp](caf::event_based_actor* self) { next_page(self, st, rp); });
}

} // namespace troupe::features
