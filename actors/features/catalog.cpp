#include "actors/features/catalog.hpp"

#include <cstring>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "runtime/errors.hpp"

namespace troupe::features {

caf::expected<catalog> catalog::open(const std::string& dir) {
  lmdb::env_options opts;
  opts.map_size = size_t{1} << 30;
  opts.max_dbs = 4;
  auto env = lmdb::env::open(dir, opts);
  if (!env) return env.error();
  auto g = env->open_db("groups");
  if (!g) return g.error();
  auto s = env->open_db("shards");
  if (!s) return s.error();
  return catalog{std::move(*env), *g, *s};
}

caf::expected<std::vector<group_spec>> read_groups(lmdb::env& env, MDB_dbi db) {
  auto t = lmdb::txn::begin(env, true);
  if (!t) return t.error();
  std::vector<group_spec> out;
  caf::error bad;
  auto r = t->scan(db, "", [&](std::string_view k, std::string_view v) {
    auto n = v.size() / sizeof(capnp::word);
    auto words = kj::heapArray<capnp::word>(n);
    std::memcpy(words.begin(), v.data(), n * sizeof(capnp::word));
    try {
      capnp::FlatArrayMessageReader reader{words};
      out.push_back(from_schema(reader.getRoot<schema::FeatureGroup>()));
    } catch (const kj::Exception& e) {
      bad = make_error(errc::malformed_message,
                       env.path() + ": the definition of group '" +
                           std::string{k} +
                           "' is damaged: " + e.getDescription().cStr());
      return false;
    }
    return true;
  });
  if (!r) return r.error();
  if (bad) return bad;
  return out;
}

caf::error write_group(lmdb::env& env, MDB_dbi db, const group_spec& g) {
  capnp::MallocMessageBuilder msg;
  to_schema(g, msg.initRoot<schema::FeatureGroup>());
  auto flat = capnp::messageToFlatArray(msg);
  auto t = lmdb::txn::begin(env, false);
  if (!t) return t.error();
  if (auto r = t->put(db, g.name,
                      {reinterpret_cast<const char*>(flat.begin()),
                       flat.size() * sizeof(capnp::word)});
      !r)
    return r.error();
  if (auto r = t->commit(); !r) return r.error();
  return caf::none;
}

caf::expected<std::vector<group_spec>> catalog::groups() {
  return read_groups(env_, groups_);
}

caf::error catalog::put_group(const group_spec& g) {
  return write_group(env_, groups_, g);
}

caf::expected<std::vector<placement>> catalog::placements() {
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.error();
  std::vector<placement> out;
  auto r = t->scan(shards_, "", [&](std::string_view k, std::string_view v) {
    out.push_back(
        placement{static_cast<uint32_t>(lmdb::from_be64(k)), std::string{v}});
    return true;
  });
  if (!r) return r.error();
  return out;
}

caf::error catalog::set_placements(const std::vector<placement>& ps) {
  auto t = lmdb::txn::begin(env_, false);
  if (!t) return t.error();
  for (auto& p : ps)
    if (auto r = t->put(shards_, lmdb::be64(p.index), p.node); !r)
      return r.error();
  if (auto r = t->commit(); !r) return r.error();
  return caf::none;
}

} // namespace troupe::features
