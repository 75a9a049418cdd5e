// The shell's feature-store commands: `groups`, `group G`, `get G ENTITY
// [AS_OF]`, the pure functions that render the FeatureStore's answers, and
// the calls of the "features" RPC service over a cluster_client.

#include "runtime/shell.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include <capnp/message.h>

#include "runtime/errors.hpp"
#include "runtime/shell_detail.hpp"
#include "schemas/features.capnp.h"

namespace troupe {

namespace {

/// The RPC service the head's gateway serves the feature store under.
const std::string features_service = "features";

/// Vector values `get` shows in full; wider vectors show the first 8 and the
/// last 2.
constexpr size_t vector_head = 8;
constexpr size_t vector_tail = 2;

constexpr int64_t micros_per_day = int64_t{86'400} * 1'000'000;

std::string text_of(capnp::Text::Reader x) {
  return std::string{x.cStr(), x.size()};
}

// -- time ---------------------------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct civil_date {
  int64_t year;
  int month;
  int day;
};

/// The inverse of days_from_civil.
civil_date civil_from_days(int64_t z) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  auto day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  auto month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2), month, day};
}

int days_in_month(int64_t year, int month) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

/// "2024-03-01T12:00:00Z", with ".250" or ".250001" when the time has a
/// fraction of a second.
std::string iso_time(int64_t micros) {
  int64_t days = micros / micros_per_day;
  int64_t rest = micros % micros_per_day;
  if (rest < 0) {
    rest += micros_per_day;
    --days;
  }
  auto date = civil_from_days(days);
  auto secs = rest / 1'000'000;
  auto frac = rest % 1'000'000;
  char buf[64];
  int n =
      std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02lld:%02lld:%02lld",
                    static_cast<long long>(date.year), date.month, date.day,
                    static_cast<long long>(secs / 3600),
                    static_cast<long long>(secs / 60 % 60),
                    static_cast<long long>(secs % 60));
  std::string result{buf, static_cast<size_t>(n)};
  if (frac % 1000 == 0 && frac != 0)
    std::snprintf(buf, sizeof(buf), ".%03lld",
                  static_cast<long long>(frac / 1000));
  else if (frac != 0)
    std::snprintf(buf, sizeof(buf), ".%06lld", static_cast<long long>(frac));
  else
    buf[0] = '\0';
  return result + buf + "Z";
}

/// Reads exactly `digits` decimal digits at text[i]; advances i.
bool take_digits(const std::string& text, size_t& i, size_t digits,
                 int64_t& value) {
  if (i + digits > text.size()) return false;
  value = 0;
  for (size_t j = 0; j < digits; ++j) {
    char c = text[i + j];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  i += digits;
  return true;
}

/// Parses "YYYY-MM-DD[THH:MM[:SS[.F]]][Z|+HH:MM|-HH:MM]" as UTC microseconds.
std::optional<int64_t> parse_iso(const std::string& text) {
  size_t i = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  auto expect = [&](char c) {
    if (i < text.size() && text[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  if (!take_digits(text, i, 4, year) || !expect('-') ||
      !take_digits(text, i, 2, month) || !expect('-') ||
      !take_digits(text, i, 2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, static_cast<int>(month)))
    return std::nullopt;
  int64_t micros = 0;
  if (expect('T') || expect('t')) {
    if (!take_digits(text, i, 2, hour) || !expect(':') ||
        !take_digits(text, i, 2, minute))
      return std::nullopt;
    if (expect(':')) {
      if (!take_digits(text, i, 2, second)) return std::nullopt;
      if (expect('.')) {
        size_t digits = 0;
        int64_t scale = 100'000;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
          if (digits++ < 6) {
            micros += (text[i] - '0') * scale;
            scale /= 10;
          }
          ++i;
        }
        if (digits == 0) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  }
  int64_t offset_minutes = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int64_t sign = text[i++] == '-' ? -1 : 1;
    int64_t oh = 0, om = 0;
    if (!take_digits(text, i, 2, oh) || !expect(':') ||
        !take_digits(text, i, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else if (!expect('Z')) {
    expect('z');
  }
  if (i != text.size()) return std::nullopt;
  int64_t secs = days_from_civil(year, month, day) * 86'400 + hour * 3600 +
                 minute * 60 + second - offset_minutes * 60;
  return secs * 1'000'000 + micros;
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
  int64_t value = 0;
  auto end = text.data() + text.size();
  if (auto r = std::from_chars(text.data(), end, value);
      !text.empty() && r.ec == std::errc{} && r.ptr == end)
    return value;
  if (auto micros = parse_iso(text)) return *micros;
  return make_error(errc::invalid_argument,
                    "AS_OF '" + text +
                        "' is neither an ISO time in UTC "
                        "(2024-03-01T12:00:00Z) nor microseconds since the "
                        "epoch");
}

// -- the client's calls -------------------------------------------------------

namespace shell_detail {

namespace {

/// Gets the feature store from `client` and runs `call(store)`, turning a
/// failure into an error with the server's message.
template <class F>
caf::expected<envelope> with_store(cluster_client& client, F&& call) {
  auto cap = client.service(features_service);
  if (!cap) return cap.error();
  try {
    return call(cap->castAs<schema::FeatureStore>());
  } catch (const kj::Exception& e) {
    return rpc_error("feature store", e);
  }
}

} // namespace

caf::expected<envelope> feature_groups(cluster_client& client) {
  return with_store(client, [&](schema::FeatureStore::Client store) {
    auto resp = client.wait(store.groupsRequest().send());
    capnp::MallocMessageBuilder message;
    message.initRoot<schema::FeatureGroupList>().setGroups(resp.getGroups());
    return envelope::of<schema::FeatureGroupList>(message);
  });
}

caf::expected<envelope> feature_group(cluster_client& client,
                                      const std::string& name) {
  return with_store(client, [&](schema::FeatureStore::Client store) {
    auto req = store.groupRequest();
    req.setName(name);
    auto resp = client.wait(req.send());
    capnp::MallocMessageBuilder message;
    message.setRoot(resp.getStats());
    return envelope::of<schema::GroupStats>(message);
  });
}

caf::expected<envelope> feature_get(cluster_client& client,
                                    const std::string& group,
                                    const std::string& entity,
                                    std::optional<int64_t> as_of) {
  return with_store(client, [&](schema::FeatureStore::Client store) {
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

} // namespace shell_detail

// -- backend defaults ---------------------------------------------------------

namespace {

caf::error no_feature_store() {
  return make_error(errc::not_found,
                    "this shell's backend has no feature store");
}

} // namespace

caf::expected<envelope> shell_backend::feature_groups() {
  return no_feature_store();
}

caf::expected<envelope> shell_backend::feature_group(const std::string&) {
  return no_feature_store();
}

caf::expected<envelope> shell_backend::feature_get(const std::string&,
                                                   const std::string&,
                                                   std::optional<int64_t>) {
  return no_feature_store();
}

// -- commands -----------------------------------------------------------------

void shell::refresh_groups() {
  auto now = env_.now();
  if (groups_valid_ && now - groups_fetched_ < std::chrono::seconds{1}) return;
  groups_valid_ = true;
  groups_fetched_ = now;
  if (auto list = backend_.feature_groups())
    if (auto names = feature_group_names(*list))
      group_names_ = std::move(*names);
}

shell::outcome shell::cmd_groups(const args& a) {
  if (!a.empty()) return usage("groups");
  auto list = backend_.feature_groups();
  if (!list) return fail(list.error());
  auto text = format_feature_groups(*list);
  if (!text) return fail(text.error());
  if (auto names = feature_group_names(*list)) {
    group_names_ = std::move(*names);
    groups_valid_ = true;
    groups_fetched_ = env_.now();
  }
  out_ << *text;
  return outcome::ok;
}

shell::outcome shell::cmd_group(const args& a) {
  if (a.size() != 1 || a[0].empty()) return usage("group");
  auto stats = backend_.feature_group(a[0]);
  if (!stats) return fail(stats.error());
  auto text = format_feature_group(*stats);
  if (!text) return fail(text.error());
  out_ << *text;
  return outcome::ok;
}

shell::outcome shell::cmd_get(const args& a) {
  if (a.size() < 2 || a.size() > 3 || a[0].empty() || a[1].empty())
    return usage("get");
  std::optional<int64_t> as_of;
  if (a.size() == 3) {
    auto t = parse_as_of(a[2]);
    if (!t) return fail(t.error());
    as_of = *t;
  }
  auto row = backend_.feature_get(a[0], a[1], as_of);
  if (!row) return fail(row.error());
  // The row names no fields: their names and the vector's come from the
  // group's definition.
  auto list = backend_.feature_groups();
  if (!list) return fail(list.error());
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
  if (!group) return fail(group.error());
  if (!*group) return fail("no feature group '" + a[0] + "'");
  auto text = format_feature_row(**group, *row);
  if (!text) return fail(text.error());
  out_ << *text;
  return outcome::ok;
}

} // namespace troupe
