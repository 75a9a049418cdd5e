// The shell's feature-store commands: `groups`, `group G`, `get G ENTITY
// [AS_OF]`, the pure functions that render the FeatureStore's answers, and
// the calls of the "features" RPC service over a cluster_client.

#include "actors/features/shell.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include <capnp/message.h>

#include "runtime/errors.hpp"
#include "runtime/shell_detail.hpp"
#include "runtime/time.hpp"
#include "schemas/features.capnp.h"

namespace troupe::features {

namespace {

using shell_detail::text_of;

/// The RPC service the head's gateway serves the feature store under.
const std::string features_service = "features";

/// Vector values `get` shows in full; wider vectors show the first 8 and the
/// last 2.
constexpr size_t vector_head = 8;
constexpr size_t vector_tail = 2;

/// ISO UTC with the shortest exact fraction ("….250Z").
std::string iso_time(int64_t micros) {
  return format_time(micros, fraction::shortest);
}

// -- numbers ------------------------------------------------------------------

/// The shortest text that reads back as `value` ("0.1", "1e-07", "nan").
template <class T>
std::string shortest(T value) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string{buf, r.ptr};
}

/// 6 significant digits.
std::string rounded(double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  return buf;
}

/// "30d", "12h", "1d12h", "90s" ... or "-" for 0 (never expires).
std::string ttl_text(int64_t ms) {
  if (ms <= 0) return "-";
  static const std::pair<int64_t, const char*> units[] = {{86'400'000, "d"},
                                                          {3'600'000, "h"},
                                                          {60'000, "m"},
                                                          {1000, "s"},
                                                          {1, "ms"}};
  std::string result;
  for (auto [size, name] : units) {
    if (ms >= size) {
      result += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return result;
}

/// "512 B", "4.0 KiB", "1.5 MiB", "2.0 GiB", "1.1 TiB".
std::string bytes_text(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f %s", value, units[unit]);
  return buf;
}

/// A time of creation in ms, to the second; "-" if unknown.
std::string created_text(int64_t ms) {
  if (ms <= 0) return "-";
  return iso_time(ms / 1000 * 1'000'000);
}

const char* type_text(schema::FeatureField::Type t) {
  switch (t) {
  case schema::FeatureField::Type::INT64:
    return "int64";
  case schema::FeatureField::Type::FLOAT64:
    return "float64";
  case schema::FeatureField::Type::TEXT:
    return "text";
  case schema::FeatureField::Type::TIMESTAMP:
    return "timestamp";
  }
  return "?";
}

/// "emb×16", or "-" without a vector.
std::string vector_cell(schema::FeatureGroup::Reader g) {
  if (g.getWidth() == 0) return "-";
  return text_of(g.getVectorName()) + "×" + std::to_string(g.getWidth());
}

/// Text in double quotes, with '"' and '\' escaped.
std::string quoted(const std::string& text) {
  std::string result = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') result += '\\';
    result += c;
  }
  return result + '"';
}

std::string value_text(schema::FeatureValue::Reader v) {
  switch (v.which()) {
  case schema::FeatureValue::MISSING:
    return "(missing)";
  case schema::FeatureValue::INT64:
    return std::to_string(v.getInt64());
  case schema::FeatureValue::FLOAT64:
    return shortest(v.getFloat64());
  case schema::FeatureValue::TEXT:
    return quoted(text_of(v.getText()));
  case schema::FeatureValue::TIMESTAMP:
    return iso_time(v.getTimestamp());
  }
  return "?";
}

/// "[0.5, 1, …, 8]": every value up to 10, else the first 8 and the last 2.
std::string vector_values(capnp::List<float>::Reader xs) {
  std::string result = "[";
  auto n = static_cast<size_t>(xs.size());
  bool elide = n > vector_head + vector_tail;
  for (size_t i = 0; i < n; ++i) {
    if (elide && i == vector_head) {
      result += ", …";
      i = n - vector_tail;
    }
    result += (i == 0 ? "" : ", ") + shortest(xs[static_cast<unsigned>(i)]);
  }
  return result + "]";
}

/// "width 16, min 0.5, max 8, mean 4.25" (NaN values are left out and
/// counted).
std::string vector_summary(capnp::List<float>::Reader xs) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  double sum = 0;
  size_t nans = 0;
  for (float x : xs) {
    if (std::isnan(x)) {
      ++nans;
      continue;
    }
    lo = std::min(lo, static_cast<double>(x));
    hi = std::max(hi, static_cast<double>(x));
    sum += x;
  }
  auto result = "width " + std::to_string(xs.size());
  auto numbers = xs.size() - nans;
  if (numbers > 0)
    result += ", min " + rounded(lo) + ", max " + rounded(hi) + ", mean " +
              rounded(sum / static_cast<double>(numbers));
  if (nans > 0) result += ", " + std::to_string(nans) + " NaN";
  return result;
}

} // namespace

// -- rendering ----------------------------------------------------------------

caf::expected<std::string> format_feature_groups(const envelope& list) {
  return list.visit<schema::FeatureGroupList>(
      [](schema::FeatureGroupList::Reader x) {
        std::vector<std::vector<std::string>> rows;
        for (auto g : x.getGroups())
          rows.push_back({text_of(g.getName()), vector_cell(g),
                          std::to_string(g.getFields().size()),
                          ttl_text(g.getTtlMs()), std::to_string(g.getShards()),
                          created_text(g.getCreatedMs())});
        return format_table(
                   {"NAME", "VECTOR", "FIELDS", "TTL", "SHARDS", "CREATED"},
                   rows) +
               std::to_string(rows.size()) + " groups\n";
      });
}

caf::expected<std::string> format_feature_group(const envelope& stats) {
  return stats.visit<schema::GroupStats>([](schema::GroupStats::Reader s) {
    auto g = s.getGroup();
    auto vector = g.getWidth() == 0
                      ? std::string{"none"}
                      : text_of(g.getVectorName()) + ", " +
                            std::to_string(g.getWidth()) + " float32";
    std::vector<std::vector<std::string>> lines{
        {"group", text_of(g.getName())}};
    if (g.getDescription().size() > 0)
      lines.push_back({"description", text_of(g.getDescription())});
    lines.push_back({"vector", vector});
    lines.push_back({"allow NaN", g.getAllowNan() ? "yes" : "no"});
    lines.push_back({"ttl", ttl_text(g.getTtlMs())});
    lines.push_back({"created", created_text(g.getCreatedMs())});
    auto result = format_table({}, lines) + '\n';
    std::vector<std::vector<std::string>> fields;
    for (auto f : g.getFields())
      fields.push_back({text_of(f.getName()), type_text(f.getType()),
                        f.getNullable() ? "yes" : "no"});
    if (fields.empty())
      result += "no fields\n";
    else
      result += format_table({"FIELD", "TYPE", "NULLABLE"}, fields);
    std::vector<std::vector<std::string>> shards;
    uint64_t entities = 0, versions = 0, bytes = 0;
    size_t up = 0;
    for (auto x : s.getShards()) {
      std::vector<std::string> row{std::to_string(x.getShard()),
                                   text_of(x.getNode()), text_of(x.getActor())};
      if (x.getUp()) {
        ++up;
        entities += x.getEntities();
        versions += x.getVersions();
        bytes += x.getBytes();
        row.insert(row.end(),
                   {"up", std::to_string(x.getEntities()),
                    std::to_string(x.getVersions()), bytes_text(x.getBytes())});
      } else {
        row.insert(row.end(), {"down", "-", "-", "-"});
      }
      shards.push_back(std::move(row));
    }
    shards.push_back({"total", "", "",
                      std::to_string(up) + "/" +
                          std::to_string(s.getShards().size()) + " up",
                      std::to_string(entities), std::to_string(versions),
                      bytes_text(bytes)});
    return result + '\n' +
           format_table({"SHARD", "NODE", "ACTOR", "STATE", "ENTITIES",
                         "VERSIONS", "BYTES"},
                        shards);
  });
}

caf::expected<std::string> format_feature_row(const envelope& group,
                                              const envelope& row) {
  struct names {
    std::string group;
    std::string vector;
    std::vector<std::string> fields;
  };
  auto def = group.visit<schema::FeatureGroup>([](auto g) {
    names result{text_of(g.getName()), text_of(g.getVectorName()), {}};
    for (auto f : g.getFields())
      result.fields.push_back(text_of(f.getName()));
    return result;
  });
  if (!def) return def.error();
  return row.visit<schema::FeatureRow>([&](schema::FeatureRow::Reader r) {
    auto entity = text_of(r.getEntity());
    if (!r.getFound()) return entity + ": not found in " + def->group + '\n';
    auto result = format_table(
        {}, {{"entity", entity}, {"event time", iso_time(r.getEventTime())}});
    auto values = r.getFields();
    auto n = std::max<size_t>(def->fields.size(), values.size());
    for (size_t i = 0; i < n; ++i) {
      auto field =
          i < def->fields.size() ? def->fields[i] : "#" + std::to_string(i + 1);
      auto value = i < values.size()
                       ? value_text(values[static_cast<unsigned>(i)])
                       : std::string{"(missing)"};
      result += field + " = " + value + '\n';
    }
    auto xs = r.getVector();
    if (xs.size() == 0 && def->vector.empty()) return result;
    auto label = def->vector.empty() ? std::string{"vector"} : def->vector;
    if (xs.size() == 0) return result + label + " = (missing)\n";
    return result + label + " = " + vector_values(xs) + "\n  " +
           vector_summary(xs) + '\n';
  });
}

caf::expected<std::vector<std::string>>
feature_group_names(const envelope& list) {
  return list.visit<schema::FeatureGroupList>(
      [](schema::FeatureGroupList::Reader x) {
        std::vector<std::string> names;
        for (auto g : x.getGroups())
          names.push_back(text_of(g.getName()));
        return names;
      });
}

caf::expected<int64_t> parse_as_of(const std::string& text) {
  if (auto t = parse_time(text, "us")) return *t;
  return make_error(errc::invalid_argument,
                    "AS_OF '" + text +
                        "' is neither an ISO time in UTC "
                        "(2024-03-01T12:00:00Z) nor microseconds since the "
                        "epoch");
}

// -- backends -----------------------------------------------------------------

namespace {

caf::expected<envelope> rpc_groups(cluster_client& client) {
  return shell_detail::with_service<schema::FeatureStore>(
      client, features_service, [&](schema::FeatureStore::Client store) {
        auto resp = client.wait(store.groupsRequest().send());
        capnp::MallocMessageBuilder message;
        message.initRoot<schema::FeatureGroupList>().setGroups(
            resp.getGroups());
        return envelope::of<schema::FeatureGroupList>(message);
      });
}

caf::expected<envelope> rpc_group(cluster_client& client,
                                  const std::string& name) {
  return shell_detail::with_service<schema::FeatureStore>(
      client, features_service, [&](schema::FeatureStore::Client store) {
        auto req = store.groupRequest();
        req.setName(name);
        auto resp = client.wait(req.send());
        capnp::MallocMessageBuilder message;
        message.setRoot(resp.getStats());
        return envelope::of<schema::GroupStats>(message);
      });
}

caf::expected<envelope> rpc_get(cluster_client& client,
                                const std::string& group,
                                const std::string& entity,
                                std::optional<int64_t> as_of) {
  return shell_detail::with_service<schema::FeatureStore>(
      client, features_service, [&](schema::FeatureStore::Client store) {
        capnp::MallocMessageBuilder message;
        if (as_of) {
          auto req = store.getAsOfRequest();
          req.setGroup(group);
          req.setEntity(entity);
          req.setAsOf(*as_of);
          message.setRoot(client.wait(req.send()).getRow());
        } else {
          auto req = store.getRequest();
          req.setGroup(group);
          req.setEntity(entity);
          message.setRoot(client.wait(req.send()).getRow());
        }
        return envelope::of<schema::FeatureRow>(message);
      });
}

/// The production backend: the head's "features" RPC service.
class rpc_backend final : public feature_shell_backend {
public:
  explicit rpc_backend(cluster_client& client) : client_(client) {}

  caf::expected<envelope> groups() override { return rpc_groups(client_); }

  caf::expected<envelope> group(const std::string& name) override {
    return rpc_group(client_, name);
  }

  caf::expected<envelope> get(const std::string& group,
                              const std::string& entity,
                              std::optional<int64_t> as_of) override {
    return rpc_get(client_, group, entity, as_of);
  }

private:
  cluster_client& client_;
};

caf::error no_feature_store() {
  return make_error(errc::not_found,
                    "this shell's backend has no feature store");
}

} // namespace

feature_shell_backend::~feature_shell_backend() = default;

caf::expected<envelope> feature_shell_backend::groups() {
  return no_feature_store();
}

caf::expected<envelope> feature_shell_backend::group(const std::string&) {
  return no_feature_store();
}

caf::expected<envelope> feature_shell_backend::get(const std::string&,
                                                   const std::string&,
                                                   std::optional<int64_t>) {
  return no_feature_store();
}

// -- commands -----------------------------------------------------------------

namespace {

using args = std::vector<std::string>;

shell_outcome run_get(shell& sh, feature_shell_backend& backend,
                      const args& a) {
  if (a.size() < 2 || a.size() > 3 || a[0].empty() || a[1].empty())
    return sh.usage("get");
  std::optional<int64_t> as_of;
  if (a.size() == 3) {
    auto t = parse_as_of(a[2]);
    if (!t) return sh.fail(t.error());
    as_of = *t;
  }
  auto row = backend.get(a[0], a[1], as_of);
  if (!row) return sh.fail(row.error());
  // The row names no fields: their names and the vector's come from the
  // group's definition.
  auto list = backend.groups();
  if (!list) return sh.fail(list.error());
  auto group = list->visit<schema::FeatureGroupList>(
      [&](schema::FeatureGroupList::Reader x) -> std::optional<envelope> {
        for (auto g : x.getGroups()) {
          if (text_of(g.getName()) != a[0]) continue;
          capnp::MallocMessageBuilder message;
          message.setRoot(g);
          return envelope::of<schema::FeatureGroup>(message);
        }
        return std::nullopt;
      });
  if (!group) return sh.fail(group.error());
  if (!*group) return sh.fail("no feature group '" + a[0] + "'");
  auto text = format_feature_row(**group, *row);
  if (!text) return sh.fail(text.error());
  sh.out() << *text;
  return shell_outcome::ok;
}

} // namespace

std::vector<shell_command>
shell_commands(std::shared_ptr<feature_shell_backend> backend) {
  // The group names offered for completion, shared by the commands.
  auto names = std::make_shared<completion_list>();
  auto complete_group = [backend, names](shell& sh, const args& positional) {
    if (!positional.empty()) return std::vector<std::string>{};
    names->refresh(sh.now(), [&]() -> caf::expected<std::vector<std::string>> {
      auto list = backend->groups();
      if (!list) return list.error();
      return feature_group_names(*list);
    });
    return names->names;
  };
  std::vector<shell_command> out;
  out.push_back({{"groups", "groups", "list the feature groups"},
                 [backend, names](shell& sh, const args& a) {
                   if (!a.empty()) return sh.usage("groups");
                   auto list = backend->groups();
                   if (!list) return sh.fail(list.error());
                   auto text = format_feature_groups(*list);
                   if (!text) return sh.fail(text.error());
                   names->keep(feature_group_names(*list), sh.now());
                   sh.out() << *text;
                   return shell_outcome::ok;
                 },
                 nullptr});
  out.push_back(
      {{"group", "group G", "a feature group's definition and shards"},
       [backend](shell& sh, const args& a) {
         if (a.size() != 1 || a[0].empty()) return sh.usage("group");
         auto stats = backend->group(a[0]);
         if (!stats) return sh.fail(stats.error());
         auto text = format_feature_group(*stats);
         if (!text) return sh.fail(text.error());
         sh.out() << *text;
         return shell_outcome::ok;
       },
       complete_group});
  out.push_back(
      {{"get", "get G ENTITY [AS_OF]",
        "an entity's features (AS_OF: ISO time or us)"},
       [backend](shell& sh, const args& a) { return run_get(sh, *backend, a); },
       complete_group});
  return out;
}

shell_extension make_shell_extension() {
  return [](shell_backend& core) {
    auto* client = core.client();
    return client ? shell_commands(std::make_shared<rpc_backend>(*client))
                  : shell_commands(std::make_shared<feature_shell_backend>());
  };
}

} // namespace troupe::features
