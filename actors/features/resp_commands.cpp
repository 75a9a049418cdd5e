#include "actors/features/resp_commands.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>
#include <string_view>

#include "actors/features/routing.hpp"
#include "runtime/errors.hpp"

namespace troupe::features {

namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return s;
}

/// GROUP:ENTITY split at the first ':'.
bool split_key(const std::string& key, std::string& group,
               std::string_view& entity) {
  auto colon = key.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == key.size())
    return false;
  group = key.substr(0, colon);
  entity = std::string_view{key}.substr(colon + 1);
  return true;
}

void packed_vector(std::string& out, schema::FeatureRow::Reader row) {
  auto v = row.getVector();
  std::string bytes(v.size() * sizeof(float), '\0');
  for (unsigned i = 0; i < v.size(); ++i) {
    float x = v[i];
    std::memcpy(&bytes[i * sizeof(float)], &x, sizeof x);
  }
  resp::bulk(out, bytes);
}

void field_text(std::string& out, schema::FeatureValue::Reader v) {
  char buf[64];
  switch (v.which()) {
  case schema::FeatureValue::MISSING:
    return resp::null_bulk(out);
  case schema::FeatureValue::INT64:
    return resp::bulk(out, std::to_string(v.getInt64()));
  case schema::FeatureValue::TIMESTAMP:
    return resp::bulk(out, std::to_string(v.getTimestamp()));
  case schema::FeatureValue::FLOAT64: {
    auto r = std::to_chars(buf, buf + sizeof buf, v.getFloat64());
    return resp::bulk(out,
                      std::string_view{buf, static_cast<size_t>(r.ptr - buf)});
  }
  case schema::FeatureValue::TEXT:
    return resp::bulk(out,
                      std::string_view{v.getText().cStr(), v.getText().size()});
  }
  resp::null_bulk(out);
}

class handler {
public:
  explicit handler(feature_source s) : src_(std::move(s)) {}

  bool operator()(const resp::command& cmd, std::string& out) const {
    auto name = upper(cmd[0]);
    auto args = cmd.size() - 1;
    if (name == "GET" && args == 1) return get(cmd[1], now(), out), true;
    if (name == "GETASOF" && args == 2) {
      int64_t t = 0;
      auto& s = cmd[2];
      auto r = std::from_chars(s.data(), s.data() + s.size(), t);
      if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) {
        resp::error(out, "ERR GETASOF: '" + s +
                             "' is no time in microseconds since the epoch");
        return true;
      }
      return get(cmd[1], t, out), true;
    }
    if (name == "MGET" && args >= 1) {
      resp::array_header(out, args);
      for (size_t i = 1; i < cmd.size(); ++i)
        get(cmd[i], now(), out, true);
      return true;
    }
    if (name == "HGET" && args == 2) return hget(cmd, 2, false, out), true;
    if (name == "HMGET" && args >= 2) return hget(cmd, 2, true, out), true;
    if (name == "PING") {
      if (args == 0)
        resp::simple(out, "PONG");
      else
        resp::bulk(out, cmd[1]);
      return true;
    }
    if (name == "ECHO" && args == 1) return resp::bulk(out, cmd[1]), true;
    if (name == "QUIT") return resp::simple(out, "OK"), false;
    if (name == "SELECT" && args == 1) {
      if (cmd[1] == "0")
        resp::simple(out, "OK");
      else
        resp::error(out, "ERR DB index is out of range (troupe has db 0)");
      return true;
    }
    if (name == "INFO") {
      resp::bulk(out, "# Server\r\nredis_version:7.0.0\r\n"
                      "troupe_feature_endpoint:1\r\n");
      return true;
    }
    if (name == "COMMAND") {
      if (args >= 1 && upper(cmd[1]) == "COUNT")
        resp::integer(out, 11);
      else
        resp::array_header(out, 0);
      return true;
    }
    static const char* known[] = {"GET",    "GETASOF", "MGET",   "HGET",
                                  "HMGET",  "PING",    "ECHO",   "QUIT",
                                  "SELECT", "INFO",    "COMMAND"};
    if (std::find(std::begin(known), std::end(known), name) != std::end(known))
      resp::error(out,
                  "ERR wrong number of arguments for '" + cmd[0] + "' command");
    else
      resp::error(out, "ERR unknown command '" + cmd[0] + "'");
    return true;
  }

private:
  int64_t now() const { return src_.now_us ? src_.now_us() : 0; }

  /// Calls f(row or null) for key's entity; false after writing an error
  /// (or, in an array, a null) for a key that is no GROUP:ENTITY, names
  /// no group, or whose shard is elsewhere.
  template <class F>
  bool with_row(const std::string& key, int64_t as_of, std::string& out,
                bool in_array, F&& f) const {
    std::string group;
    std::string_view entity;
    auto fail = [&](const std::string& why) {
      if (in_array)
        resp::null_bulk(out);
      else
        resp::error(out, why);
      return false;
    };
    if (!split_key(key, group, entity))
      return fail("ERR key '" + key + "' is no GROUP:ENTITY");
    auto g = src_.group ? src_.group(group) : std::nullopt;
    if (!g) return fail("ERR no feature group '" + group + "'");
    auto shard = shard_of(entity, std::max(g->shards, 1u));
    auto store = src_.store(group, shard);
    if (!store)
      return fail("ERR shard " + std::to_string(shard) + " of group '" + group +
                  "' is not on this node");
    bool answered = false;
    auto err = store->visit(group, {entity}, as_of, now(),
                            [&](size_t, const schema::FeatureRow::Reader* r) {
                              f(r);
                              answered = true;
                            });
    if (err) return fail("ERR " + describe(err));
    return answered;
  }

  void get(const std::string& key, int64_t as_of, std::string& out,
           bool in_array = false) const {
    with_row(key, as_of, out, in_array,
             [&](const schema::FeatureRow::Reader* r) {
               if (r)
                 packed_vector(out, *r);
               else
                 resp::null_bulk(out);
             });
  }

  void hget(const resp::command& cmd, size_t first, bool many,
            std::string& out) const {
    std::string group;
    std::string_view entity;
    split_key(cmd[1], group, entity);
    auto g = src_.group && !group.empty() ? src_.group(group) : std::nullopt;
    std::vector<int> index;
    for (auto i = first; i < cmd.size(); ++i)
      index.push_back(g ? g->field_index(cmd[i]) : -1);
    std::string body;
    if (many) resp::array_header(body, cmd.size() - first);
    bool ok = with_row(
        cmd[1], now(), out, false, [&](const schema::FeatureRow::Reader* r) {
          for (auto k : index) {
            auto fields = r ? r->getFields()
                            : capnp::List<schema::FeatureValue>::Reader{};
            if (!r || k < 0 || static_cast<unsigned>(k) >= fields.size())
              resp::null_bulk(body);
            else
              field_text(body, fields[static_cast<unsigned>(k)]);
          }
        });
    if (ok) out += body;
  }

  feature_source src_;
};

} // namespace

resp_handler feature_commands(feature_source source) {
  return handler{std::move(source)};
}

} // namespace troupe::features
