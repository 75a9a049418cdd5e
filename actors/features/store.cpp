#include "actors/features/store.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "actors/features/catalog.hpp"
#include "actors/features/errors.hpp"
#include "runtime/errors.hpp"

namespace troupe::features {

namespace {

caf::error lmdb_error(int rc, const char* call, const std::string& where) {
  return make_error(errc::storage_failure, std::string{call} + " on " + where +
                                               ": " + mdb_strerror(rc));
}

/// Order-preserving map of a signed time to unsigned, inverted so that
/// newer versions sort first.
uint64_t inverted(int64_t t) {
  return ~(static_cast<uint64_t>(t) ^ (uint64_t{1} << 63));
}

int64_t time_of_key(std::string_view key) {
  auto u = ~lmdb::from_be64(key.substr(key.size() - 8));
  return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
}

std::string entity_prefix(std::string_view entity) {
  std::string k;
  k.reserve(entity.size() + 9);
  k.push_back(static_cast<char>(entity.size()));
  k.append(entity);
  return k;
}

std::string_view as_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

MDB_val as_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

/// A stored row, readable in place when LMDB's bytes are word-aligned and
/// from an aligned copy otherwise.
class stored_row {
public:
  explicit stored_row(std::string_view bytes) {
    auto n = bytes.size() / sizeof(capnp::word);
    if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) {
      words_ =
          kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), n);
    } else {
      copy_ = kj::heapArray<capnp::word>(n);
      std::memcpy(copy_.begin(), bytes.data(), n * sizeof(capnp::word));
      words_ = copy_.asPtr();
    }
    capnp::ReaderOptions opts;
    opts.traversalLimitInWords = 1u << 30;
    reader_.emplace(words_, opts);
  }

  schema::FeatureRow::Reader row() {
    return reader_->getRoot<schema::FeatureRow>();
  }

private:
  kj::Array<capnp::word> copy_;
  kj::ArrayPtr<const capnp::word> words_;
  std::optional<capnp::FlatArrayMessageReader> reader_;
};

/// A cursor closed on destruction, or by close(). LMDB frees the cursors of
/// a write transaction when the transaction ends: such a cursor must be
/// closed before its transaction commits, or it would be freed twice.
class cursor {
public:
  cursor(MDB_txn* txn, MDB_dbi db, const std::string& where) {
    if (int rc = mdb_cursor_open(txn, db, &cur_); rc != 0)
      err_ = lmdb_error(rc, "mdb_cursor_open", where);
  }
  ~cursor() { close(); }
  void close() {
    if (cur_) mdb_cursor_close(cur_);
    cur_ = nullptr;
  }
  cursor(const cursor&) = delete;
  cursor& operator=(const cursor&) = delete;

  const caf::error& error() const { return err_; }

  /// Positions at the first key >= `key`; false at the end.
  bool seek(std::string_view key, MDB_val& k, MDB_val& v) {
    k = as_val(key);
    return mdb_cursor_get(cur_, &k, &v, MDB_SET_RANGE) == 0;
  }
  bool next(MDB_val& k, MDB_val& v) {
    return mdb_cursor_get(cur_, &k, &v, MDB_NEXT) == 0;
  }
  bool first(MDB_val& k, MDB_val& v) {
    return mdb_cursor_get(cur_, &k, &v, MDB_FIRST) == 0;
  }
  int del() { return mdb_cursor_del(cur_, 0); }

private:
  MDB_cursor* cur_ = nullptr;
  caf::error err_;
};

bool expired(const group_spec& g, int64_t t, int64_t now_us) {
  return g.ttl_ms > 0 && t < now_us - g.ttl_ms * 1000;
}

/// Finds the version of `entity` in force at `as_of`; false if none.
bool find_version(cursor& cur, std::string_view entity, int64_t as_of,
                  MDB_val& k, MDB_val& v) {
  // the key, built on the stack (entities are at most 255 bytes): this is
  // every read's path
  char key[1 + max_entity_bytes + 8];
  if (entity.size() > max_entity_bytes) return false; // none is stored
  auto n = entity.size();
  key[0] = static_cast<char>(n);
  std::memcpy(key + 1, entity.data(), n);
  auto t = lmdb::be64(inverted(as_of));
  std::memcpy(key + 1 + n, t.data(), 8);
  if (!cur.seek({key, n + 9}, k, v)) return false;
  auto found = as_view(k);
  return found.size() == n + 9 && std::memcmp(found.data(), key, n + 1) == 0;
}

/// Moves to the first key after every version of `entity`; false at the end.
bool skip_entity(cursor& cur, std::string_view entity, MDB_val& k, MDB_val& v) {
  // the oldest possible version of the entity, then past it
  auto last = version_key(entity, INT64_MIN);
  bool more = cur.seek(last, k, v);
  if (more && as_view(k) == last) more = cur.next(k, v);
  return more;
}

/// Calls f(row) with the live version of `entity` in force at `as_of`;
/// false if there is none (or it expired).
template <class F>
bool with_version(cursor& cur, const group_spec& g, std::string_view entity,
                  int64_t as_of, int64_t now_us, F&& f) {
  MDB_val k;
  MDB_val v;
  if (!find_version(cur, entity, as_of, k, v) ||
      expired(g, time_of_key(as_view(k)), now_us))
    return false;
  stored_row row{as_view(v)};
  f(row.row());
  return true;
}

void set_missing(schema::FeatureRow::Builder out, std::string_view entity) {
  out.setEntity(capnp::Text::Reader{entity.data(), entity.size()});
  out.setFound(false);
}

} // namespace

std::string version_key(std::string_view entity, int64_t time_us) {
  auto k = entity_prefix(entity);
  k += lmdb::be64(inverted(time_us));
  return k;
}

shard_store::shard_store(lmdb::env env, MDB_dbi groups_db, uint32_t index)
    : env_(std::move(env)), groups_db_(groups_db), index_(index) {
  // nop
}

caf::expected<std::shared_ptr<shard_store>>
shard_store::open(const std::string& dir, uint32_t index) {
  lmdb::env_options opts;
  opts.map_size = size_t{1} << 40; // address space, not disk
  opts.max_dbs = 1024;
  opts.no_sync = true; // sync() at the end of an ingest
  auto env = lmdb::env::open(dir, opts);
  if (!env) return env.error();
  auto gdb = env->open_db("groups");
  if (!gdb) return gdb.error();
  auto store = std::shared_ptr<shard_store>(
      new shard_store(std::move(*env), *gdb, index));
  auto specs = read_groups(store->env_, *gdb);
  if (!specs) return specs.error();
  for (auto& g : *specs) {
    auto db = store->env_.open_db("g:" + g.name);
    if (!db) return db.error();
    store->groups_.emplace(g.name, group_entry{g, *db});
  }
  return store;
}

caf::error shard_store::add_group(const group_spec& g) {
  {
    std::shared_lock<std::shared_mutex> guard{mtx_};
    auto i = groups_.find(g.name);
    if (i != groups_.end()) {
      if (i->second.spec.same_definition(g)) return caf::none;
      return make_error(troupe::errc::invalid_argument,
                        "group " + g.name + " exists on shard " +
                            std::to_string(index_) +
                            " with a different definition");
    }
  }
  auto db = env_.open_db("g:" + g.name);
  if (!db) return db.error();
  if (auto err = write_group(env_, groups_db_, g)) return err;
  std::unique_lock<std::shared_mutex> guard{mtx_};
  groups_.emplace(g.name, group_entry{g, *db});
  return caf::none;
}

std::optional<group_spec> shard_store::group(const std::string& name) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = groups_.find(name);
  if (i == groups_.end()) return std::nullopt;
  return i->second.spec;
}

std::vector<group_spec> shard_store::groups() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  std::vector<group_spec> out;
  for (auto& [name, e] : groups_)
    out.push_back(e.spec);
  return out;
}

caf::expected<shard_store::group_entry>
shard_store::entry(const std::string& name) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = groups_.find(name);
  if (i == groups_.end())
    return make_error(troupe::errc::not_found, "no feature group '" + name +
                                                   "' on shard " +
                                                   std::to_string(index_));
  return i->second;
}

caf::expected<uint64_t> shard_store::write(schema::FeatureWrite::Reader batch,
                                           const std::vector<uint32_t>& rows,
                                           int64_t now_us) {
  std::string group = batch.getGroup();
  auto e = entry(group);
  if (!e) return e.error();
  auto& g = e->spec;
  auto all = batch.getRows();
  auto t = lmdb::txn::begin(env_, false);
  if (!t) return t.error();
  cursor cur{t->get(), e->db, path()};
  if (cur.error()) return cur.error();
  bool upsert = batch.getUpsert();
  uint64_t written = 0;
  auto write_one = [&](uint32_t i) -> caf::error {
    auto row = all[i];
    std::string_view entity{row.getEntity().cStr(), row.getEntity().size()};
    auto where = "row " + std::to_string(i + 1);
    // the row as given: a partial row is fine for an upsert, but a wrong
    // width or too many values is not, whatever the merge would make of it
    if (auto err = check_row(g, row, where, upsert)) return err;
    // one segment (the vector, the fields and room to spare): a reader then
    // finds the whole row without a segment table to allocate
    capnp::MallocMessageBuilder msg(
        static_cast<unsigned>(64 + g.width / 2 + row.totalSize().wordCount +
                              g.fields.size() * 4),
        capnp::AllocationStrategy::FIXED_SIZE);
    auto out = msg.initRoot<schema::FeatureRow>();
    out.setEntity(row.getEntity());
    out.setEventTime(row.getEventTime());
    bool partial = upsert && (row.getVector().size() != g.width ||
                              row.getFields().size() != g.fields.size());
    if (!partial && upsert)
      for (auto v : row.getFields())
        if (v.isMissing()) partial = true;
    if (!partial) {
      out.setVector(row.getVector());
      out.setFields(row.getFields());
    } else {
      // missing values come from the version in force at the row's time
      auto merge = [&](std::optional<schema::FeatureRow::Reader> prev) {
        if (row.getVector().size() == g.width)
          out.setVector(row.getVector());
        else if (prev)
          out.setVector(prev->getVector());
        else
          out.initVector(0);
        auto fs = out.initFields(static_cast<unsigned>(g.fields.size()));
        // each list read once: every read of a list pointer counts its
        // words against the reader's traversal limit
        auto given = row.getFields();
        auto before = prev ? prev->getFields()
                           : capnp::List<schema::FeatureValue>::Reader{};
        for (unsigned f = 0; f < g.fields.size(); ++f) {
          if (f < given.size() && !given[f].isMissing())
            fs.setWithCaveats(f, given[f]);
          else if (f < before.size())
            fs.setWithCaveats(f, before[f]);
        }
      };
      if (!with_version(cur, g, entity, row.getEventTime(), now_us,
                        [&](auto prev) { merge(prev); }))
        merge(std::nullopt);
    }
    if (auto err = check_row(g, out.asReader(), where, false)) return err;
    auto flat = capnp::messageToFlatArray(msg);
    auto key = version_key(entity, row.getEventTime());
    if (auto r = t->put(e->db, key,
                        {reinterpret_cast<const char*>(flat.begin()),
                         flat.size() * sizeof(capnp::word)});
        !r)
      return r.error();
    ++written;
    return caf::none;
  };
  if (rows.empty()) {
    for (uint32_t i = 0; i < all.size(); ++i)
      if (auto err = write_one(i)) return err;
  } else {
    for (auto i : rows) {
      if (i >= all.size())
        return make_error(troupe::errc::invalid_argument,
                          "row index " + std::to_string(i) + " out of range");
      if (auto err = write_one(i)) return err;
    }
  }
  cur.close();
  if (auto r = t->commit(); !r) return r.error();
  return written;
}

template <class F>
caf::error shard_store::in_read(const std::string& group, F&& f) const {
  auto e = entry(group);
  if (!e) return e.error();
  auto t = lmdb::txn::begin(const_cast<lmdb::env&>(env_), true);
  if (!t) return t.error();
  cursor cur{t->get(), e->db, path()};
  if (cur.error()) return cur.error();
  return f(*e, t->get(), cur);
}

caf::error shard_store::read(const std::string& group,
                             capnp::List<schema::LookupKey>::Reader keys,
                             const std::vector<uint32_t>& indices,
                             capnp::List<schema::FeatureRow>::Builder out,
                             int64_t now_us) const {
  return in_read(group, [&](const group_entry& e, MDB_txn*, cursor& cur) {
    for (auto i : indices) {
      auto key = keys[i];
      std::string_view entity{key.getEntity().cStr(), key.getEntity().size()};
      if (!with_version(cur, e.spec, entity, key.getAsOf(), now_us,
                        [&](auto row) { out.setWithCaveats(i, row); }))
        set_missing(out[i], entity);
    }
    return caf::error{};
  });
}

struct shard_reader::impl {
  group_spec spec;
  int64_t now_us = 0;
  std::optional<lmdb::txn> txn;
  std::optional<cursor> cur;
};

shard_reader::shard_reader(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
shard_reader::shard_reader(shard_reader&&) noexcept = default;
shard_reader& shard_reader::operator=(shard_reader&&) noexcept = default;
shard_reader::~shard_reader() {
  if (impl_) impl_->cur.reset(); // before its transaction ends
}

void shard_reader::read(
    std::string_view entity, int64_t as_of,
    const std::function<void(const schema::FeatureRow::Reader*)>& f) {
  if (!with_version(*impl_->cur, impl_->spec, entity, as_of, impl_->now_us,
                    [&](auto row) { f(&row); }))
    f(nullptr);
}

caf::expected<shard_reader> shard_store::reader(const std::string& group,
                                                int64_t now_us) const {
  auto e = entry(group);
  if (!e) return e.error();
  auto t = lmdb::txn::begin(const_cast<lmdb::env&>(env_), true);
  if (!t) return t.error();
  auto p = std::make_unique<shard_reader::impl>();
  p->spec = std::move(e->spec);
  p->now_us = now_us;
  p->txn.emplace(std::move(*t));
  p->cur.emplace(p->txn->get(), e->db, path());
  if (p->cur->error()) return p->cur->error();
  return shard_reader{std::move(p)};
}

void shard_store::prefault() const {
  std::lock_guard<std::mutex> guard{prefault_mtx_};
  prefaulted_ = env_.prefault(prefaulted_);
}

caf::error shard_store::read_one(const std::string& group,
                                 std::string_view entity, int64_t as_of,
                                 schema::FeatureRow::Builder out,
                                 int64_t now_us) const {
  return in_read(group, [&](const group_entry& e, MDB_txn*, cursor& cur) {
    auto found = with_version(cur, e.spec, entity, as_of, now_us, [&](auto r) {
      out.setEntity(r.getEntity());
      out.setEventTime(r.getEventTime());
      out.setVector(r.getVector());
      out.setFields(r.getFields());
      out.setFound(true);
    });
    if (!found) set_missing(out, entity);
    return caf::error{};
  });
}

caf::expected<shard_group_stats>
shard_store::stats(const std::string& group) const {
  shard_group_stats s;
  auto err = in_read(group, [&](const group_entry& e, MDB_txn* t, cursor& cur) {
    MDB_stat st;
    if (int rc = mdb_stat(t, e.db, &st); rc != 0)
      return lmdb_error(rc, "mdb_stat", path());
    s.versions = st.ms_entries;
    s.bytes = (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) *
              uint64_t{st.ms_psize};
    MDB_val k;
    MDB_val v;
    for (bool more = cur.first(k, v); more;) {
      ++s.entities;
      auto key = as_view(k);
      more = skip_entity(cur, key.substr(1, static_cast<unsigned char>(key[0])),
                         k, v);
    }
    return caf::error{};
  });
  if (err) return err;
  return s;
}

caf::expected<std::string> shard_store::scan_latest(
    const std::string& group, const std::string& after, size_t limit,
    const std::function<void(schema::FeatureRow::Reader)>& f,
    int64_t now_us) const {
  if (limit == 0) limit = SIZE_MAX; // no limit
  std::string next;
  auto err = in_read(group, [&](const group_entry& e, MDB_txn*, cursor& cur) {
    MDB_val k;
    MDB_val v;
    bool more = after.empty() ? cur.first(k, v) : skip_entity(cur, after, k, v);
    std::string entity;
    for (size_t visited = 0; more && visited < limit; ++visited) {
      auto key = as_view(k);
      entity.assign(key.substr(1, static_cast<unsigned char>(key[0])));
      if (!expired(e.spec, time_of_key(key), now_us)) {
        stored_row row{as_view(v)};
        f(row.row());
      }
      more = skip_entity(cur, entity, k, v);
    }
    if (more) next = entity;
    return caf::error{};
  });
  if (err) return err;
  return next;
}

caf::expected<uint64_t> shard_store::sweep(int64_t now_us) {
  uint64_t deleted = 0;
  for (auto& g : groups()) {
    if (g.ttl_ms <= 0) continue;
    auto e = entry(g.name);
    if (!e) return e.error();
    auto t = lmdb::txn::begin(env_, false);
    if (!t) return t.error();
    {
      cursor cur{t->get(), e->db, path()};
      if (cur.error()) return cur.error();
      MDB_val k;
      MDB_val v;
      bool more = cur.first(k, v);
      while (more) {
        if (expired(g, time_of_key(as_view(k)), now_us)) {
          if (int rc = cur.del(); rc != 0)
            return lmdb_error(rc, "mdb_cursor_del", path());
          ++deleted;
        }
        // after a delete, MDB_NEXT yields the item that followed it
        more = cur.next(k, v);
      }
    }
    if (auto r = t->commit(); !r) return r.error();
  }
  return deleted;
}

caf::error shard_store::sync() {
  if (auto r = env_.sync(true); !r) return r.error();
  return caf::none;
}

} // namespace troupe::features
