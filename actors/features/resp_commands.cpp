#include "actors/features/resp_commands.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>
#include <map>
#include <string_view>

#include <capnp/any.h>

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
  // capnp keeps a List(Float32) as packed little-endian floats: the bytes
  // go out as they lie in LMDB's page
  auto raw = capnp::AnyList::Reader{row.getVector()}.getRawBytes();
  resp::bulk(out, std::string_view{reinterpret_cast<const char*>(raw.begin()),
                                   raw.size()});
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

/// One read command: its keys, the time they are read as of, and how each
/// key's answer is written.
struct read_plan {
  enum class shape { vector, vectors, field, fields };
  shape kind = shape::vector;
  std::vector<std::string> keys;
  int64_t as_of = 0;
  std::vector<int> fields; ///< field indices (HGET, HMGET); -1: unknown

  bool in_array() const { return kind == shape::vectors; }

  /// Writes one key's answer (row null: the entity has none).
  void answer(std::string& out, const schema::FeatureRow::Reader* r) const {
    if (kind == shape::vector || kind == shape::vectors) {
      if (r)
        packed_vector(out, *r);
      else
        resp::null_bulk(out);
      return;
    }
    if (kind == shape::fields) resp::array_header(out, fields.size());
    for (auto k : fields) {
      auto values =
          r ? r->getFields() : capnp::List<schema::FeatureValue>::Reader{};
      if (!r || k < 0 || static_cast<unsigned>(k) >= values.size())
        resp::null_bulk(out);
      else
        field_text(out, values[static_cast<unsigned>(k)]);
    }
  }

  /// Writes a key's failure: a null in an array, else the error.
  void failure(std::string& out, const std::string& why) const {
    if (in_array())
      resp::null_bulk(out);
    else
      resp::error(out, "ERR " + why);
  }
};

/// Where one key is read.
struct key_route {
  std::string group;
  std::string_view entity;
  uint32_t shard = 0;
  std::shared_ptr<const shard_store> store; ///< null: elsewhere
  std::string error;                        ///< non-empty: not readable
};

/// GET reads the latest version, as the RPC interface's get does (expiry
/// still counts from now).
constexpr int64_t latest = std::numeric_limits<int64_t>::max();

class handler {
public:
  explicit handler(feature_source s) : src_(std::move(s)) {}

  bool operator()(const resp::command& cmd, resp_call& call) const {
    auto& out = call.out();
    auto name = upper(cmd[0]);
    auto args = cmd.size() - 1;
    read_plan plan;
    if (name == "GET" && args == 1) {
      plan.keys = {cmd[1]};
      plan.as_of = latest;
      return read(std::move(plan), call), true;
    }
    if (name == "GETASOF" && args == 2) {
      int64_t t = 0;
      auto& s = cmd[2];
      auto r = std::from_chars(s.data(), s.data() + s.size(), t);
      if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) {
        resp::error(out, "ERR GETASOF: '" + s +
                             "' is no time in microseconds since the epoch");
        return true;
      }
      plan.keys = {cmd[1]};
      plan.as_of = t;
      return read(std::move(plan), call), true;
    }
    if (name == "MGET" && args >= 1) {
      plan.kind = read_plan::shape::vectors;
      plan.keys.assign(cmd.begin() + 1, cmd.end());
      plan.as_of = latest;
      return read(std::move(plan), call), true;
    }
    if ((name == "HGET" && args == 2) || (name == "HMGET" && args >= 2)) {
      plan.kind =
          name == "HGET" ? read_plan::shape::field : read_plan::shape::fields;
      plan.keys = {cmd[1]};
      plan.as_of = latest;
      std::string group;
      std::string_view entity;
      std::shared_ptr<const group_spec> g;
      if (split_key(cmd[1], group, entity) && src_.group) g = src_.group(group);
      for (size_t i = 2; i < cmd.size(); ++i)
        plan.fields.push_back(g ? g->field_index(cmd[i]) : -1);
      return read(std::move(plan), call), true;
    }
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
    if (name == "CONFIG" && args >= 1) {
      // what redis-benchmark asks on connecting: troupe has no Redis
      // settings to show, and none to set
      if (upper(cmd[1]) == "GET")
        resp::array_header(out, 0);
      else
        resp::error(out, "ERR troupe's RESP endpoint is configured by "
                         "`troupe node` flags, not CONFIG " +
                             cmd[1]);
      return true;
    }
    if (name == "COMMAND") {
      if (args >= 1 && upper(cmd[1]) == "COUNT")
        resp::integer(out, 12);
      else
        resp::array_header(out, 0);
      return true;
    }
    static const char* known[] = {"GET",    "GETASOF", "MGET",   "HGET",
                                  "HMGET",  "PING",    "ECHO",   "QUIT",
                                  "SELECT", "INFO",    "CONFIG", "COMMAND"};
    if (std::find(std::begin(known), std::end(known), name) != std::end(known))
      resp::error(out,
                  "ERR wrong number of arguments for '" + cmd[0] + "' command");
    else
      resp::error(out, "ERR unknown command '" + cmd[0] + "'");
    return true;
  }

private:
  int64_t now() const { return src_.now_us ? src_.now_us() : 0; }

  /// What one command has looked up so far: the last group, and a reader
  /// a shard store it read (one read transaction a store and command).
  struct lookups {
    std::string group;
    std::shared_ptr<const group_spec> spec;
    /// The group's shards looked up so far: (asked, store or null).
    std::vector<std::pair<bool, std::shared_ptr<const shard_store>>> stores;
    std::vector<std::pair<const shard_store*, caf::expected<shard_reader>>>
        readers;
  };

  /// Where `key` is read: its group, shard and store, or why it cannot be.
  key_route route(const std::string& key, lookups& seen) const {
    key_route r;
    if (!split_key(key, r.group, r.entity)) {
      r.error = "key '" + key + "' is no GROUP:ENTITY";
      return r;
    }
    if (!seen.spec || seen.group != r.group) {
      seen.group = r.group;
      seen.spec = src_.group ? src_.group(r.group) : nullptr;
      seen.stores.clear();
      if (seen.spec) seen.stores.resize(std::max(seen.spec->shards, 1u));
    }
    if (!seen.spec) {
      r.error = "no feature group '" + r.group + "'";
      return r;
    }
    r.shard = shard_of(r.entity, static_cast<uint32_t>(seen.stores.size()));
    auto& known = seen.stores[r.shard];
    if (!known.first) known = {true, src_.store(r.group, r.shard)};
    r.store = known.second;
    if (!r.store && !src_.remote)
      r.error = "shard " + std::to_string(r.shard) + " of group '" + r.group +
                "' is not on this node";
    return r;
  }

  /// Reads a key from its local store into `out` (its failure if any).
  void read_local(const read_plan& plan, const key_route& r, lookups& seen,
                  std::string& out) const {
    caf::expected<shard_reader>* reader = nullptr;
    for (auto& [store, rd] : seen.readers)
      if (store == r.store.get()) reader = &rd;
    if (!reader) {
      seen.readers.emplace_back(r.store.get(), r.store->reader(r.group, now()));
      reader = &seen.readers.back().second;
    }
    if (!*reader) return plan.failure(out, describe(reader->error()));
    (*reader)->read(
        r.entity, plan.as_of,
        [&](const schema::FeatureRow::Reader* row) { plan.answer(out, row); });
  }

  void read(read_plan plan, resp_call& call) const {
    std::vector<key_route> routes;
    routes.reserve(plan.keys.size());
    lookups seen;
    bool remote = false;
    for (auto& k : plan.keys) {
      routes.push_back(route(k, seen));
      remote = remote || (routes.back().error.empty() && !routes.back().store);
    }
    if (!remote) {
      auto& out = call.out();
      if (plan.in_array()) resp::array_header(out, plan.keys.size());
      for (auto& r : routes)
        if (!r.error.empty())
          plan.failure(out, r.error);
        else
          read_local(plan, r, seen, out);
      return;
    }
    read_async(std::make_shared<read_plan>(std::move(plan)), routes,
               call.defer());
  }

  /// Answers what is here now and the rest once the other nodes answered;
  /// the keys of one remote shard travel in one read.
  void read_async(std::shared_ptr<const read_plan> plan,
                  const std::vector<key_route>& routes,
                  resp_completion complete) const {
    struct pending {
      std::vector<std::string> parts;
      std::atomic<size_t> left{1};
      resp_completion complete;
      std::shared_ptr<const read_plan> plan;
      void finish() {
        if (--left != 0) return;
        std::string out;
        if (plan->in_array()) resp::array_header(out, parts.size());
        for (auto& p : parts)
          out += p;
        complete(std::move(out));
      }
    };
    auto p = std::make_shared<pending>();
    p->parts.resize(routes.size());
    p->complete = std::move(complete);
    p->plan = plan;
    std::map<std::pair<std::string, uint32_t>, std::vector<size_t>> elsewhere;
    lookups seen;
    for (size_t i = 0; i < routes.size(); ++i) {
      auto& r = routes[i];
      if (!r.error.empty())
        plan->failure(p->parts[i], r.error);
      else if (r.store)
        read_local(*plan, r, seen, p->parts[i]);
      else
        elsewhere[{r.group, r.shard}].push_back(i);
    }
    p->left += elsewhere.size();
    for (auto& [where, keys] : elsewhere) {
      std::vector<std::string> entities;
      for (auto i : keys)
        entities.emplace_back(routes[i].entity);
      auto shard = where.second;
      src_.remote(
          where.first, shard, std::move(entities), plan->as_of,
          [p, keys = keys,
           shard](const caf::error& err,
                  const std::vector<const schema::FeatureRow::Reader*>& rows) {
            for (size_t k = 0; k < keys.size(); ++k) {
              auto& part = p->parts[keys[k]];
              if (err)
                p->plan->failure(part, "shard " + std::to_string(shard) + ": " +
                                           describe(err));
              else
                p->plan->answer(part, k < rows.size() ? rows[k] : nullptr);
            }
            p->finish();
          });
    }
    p->finish();
  }

  feature_source src_;
};

} // namespace

resp_handler feature_commands(feature_source source) {
  return handler{std::move(source)};
}

} // namespace troupe::features
