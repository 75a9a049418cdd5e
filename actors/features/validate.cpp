// A validation run over a feature group's shards (protocol in
// validate.hpp).

#include "actors/features/validate.hpp"

#include <nlohmann/json.hpp>

#include <caf/all.hpp>

#include "actors/features/errors.hpp"
#include "actors/features/group.hpp"
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
  std::vector<shard_actor> shards;
  size_t shard = 0;
  std::string after;
  uint64_t rows = 0;
  uint64_t limit = 0;
  std::optional<tabular::schema> schema;
  std::unique_ptr<tabular::profile_builder> profile;
  std::unique_ptr<tabular::checker> checker;
  std::vector<double> buf;
  bool running = false;
};

/// The actor's state: the run, shared and never moved (the checker keeps a
/// reference to the run's schema).
struct run_actor_state {
  static inline const char* name = "features.validation";
  std::shared_ptr<run_state> run;
};

using run_self = validation_actor::stateful_pointer<run_actor_state>;
using report_promise = caf::typed_response_promise<envelope>;

envelope report_of(run_state& st) {
  std::string schema_json;
  nlohmann::json anomalies = nlohmann::json::array();
  uint32_t blocking = 0;
  if (st.checker) {
    auto res = st.checker->finish();
    anomalies = anomalies_json(res);
    blocking = static_cast<uint32_t>(res.blocking());
    schema_json = tabular::to_json(*st.schema).dump(2);
  } else {
    auto stats = st.profile->finish();
    schema_json = tabular::to_json(tabular::infer_schema(stats)).dump(2);
  }
  return make_envelope<schema::ValidationReport>([&](auto b) {
    b.setGroup(st.group.name);
    b.setRows(st.rows);
    b.setSchema(schema_json);
    b.setAnomalies(anomalies.dump(2));
    b.setBlocking(blocking);
  });
}

/// Feeds one page of the current shard; an error when it is unreadable.
caf::error take_page(run_state& st, const envelope& env) {
  auto ok = env.visit<schema::LookupResult>(
      [&](auto r) {
        auto g = r.getGroups()[0];
        tabular::row_sink& sink =
            st.checker ? static_cast<tabular::row_sink&>(*st.checker)
                       : *st.profile;
        for (auto row : g.getRows()) {
          if (st.limit > 0 && st.rows >= st.limit) break;
          feed(sink, st.group, row, ++st.rows, st.buf);
        }
        st.after = g.getNext();
      },
      reader_limits{uint64_t{1} << 30, 64});
  if (!ok) return ok.error();
  if (st.after.empty()) ++st.shard;
  return caf::none;
}

/// Asks for the next page, or delivers the report when all are read.
void next_page(run_self self, report_promise rp) {
  auto& st = *self->state.run;
  if (st.shard >= st.shards.size() || (st.limit > 0 && st.rows >= st.limit)) {
    rp.deliver(report_of(st));
    self->quit();
    return;
  }
  self->request(st.shards[st.shard], page_timeout, scan_atom::value,
                st.group.name, st.after, page_rows)
      .then(
          [=](const envelope& env) mutable {
            if (auto err = take_page(*self->state.run, env)) {
              rp.deliver(err);
              self->quit();
              return;
            }
            next_page(self, rp);
          },
          [=](caf::error& err) mutable {
            auto& st = *self->state.run;
            rp.deliver(make_error(errc::scan_failed,
                                  "validate " + st.group.name + ": shard " +
                                      std::to_string(st.shard) + ": " +
                                      describe(err)));
            self->quit();
          });
}

validation_actor::behavior_type run(run_self self,
                                    std::shared_ptr<run_state> init) {
  self->state.run = std::move(init);
  return {
      [=](report_atom) -> caf::result<envelope> {
        auto& st = *self->state.run;
        if (st.running)
          return make_error(troupe::errc::invalid_argument,
                            "validate " + st.group.name +
                                ": the run was already asked for its report");
        st.running = true;
        auto rp = self->make_response_promise<envelope>();
        next_page(self, rp);
        return rp;
      },
  };
}

/// A SAX handler that builds the document as json::parse does and keeps the
/// parse error's text instead of throwing it.
struct json_reader : nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
  using base = nlohmann::detail::json_sax_dom_parser<nlohmann::json>;
  explicit json_reader(nlohmann::json& out) : base(out, false) {}
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    error = ex.what();
    return false;
  }
  std::string error;
};

} // namespace

caf::expected<validation_actor>
spawn_validation(caf::actor_system& sys, const group_spec& g,
                 std::vector<shard_actor> shards,
                 const std::string& schema_text, uint64_t limit) {
  auto st = std::make_shared<run_state>();
  st->group = g;
  st->shards = std::move(shards);
  st->limit = limit;
  auto cols = columns_of(g);
  if (!schema_text.empty()) {
    nlohmann::json j;
    json_reader reader{j};
    nlohmann::json::sax_parse(schema_text, &reader);
    if (!reader.error.empty())
      return make_error(troupe::errc::invalid_argument,
                        "validate " + g.name +
                            ": the schema is not JSON: " + reader.error);
    auto s = tabular::schema_from_json(j, "schema");
    if (!s) return s.error();
    st->schema = std::move(*s);
    st->checker = std::make_unique<tabular::checker>(*st->schema, cols);
  } else {
    st->profile = std::make_unique<tabular::profile_builder>(cols);
  }
  return sys.spawn<caf::detached>(run, st);
}

} // namespace troupe::features
