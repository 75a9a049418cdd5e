#include "actors/training/job_journal.hpp"

#include <cstring>

#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

/// A record: the envelope's type id (8 bytes, big-endian), then its words.
std::string record_of(const envelope& e) {
  auto out = lmdb::be64(e.type_id());
  out.append(static_cast<const char*>(e.data()), e.size_bytes());
  return out;
}

caf::expected<envelope> envelope_of(std::string_view bytes,
                                    const std::string& key) {
  if (bytes.size() < 8)
    return make_error(errc::io_failure,
                      "job journal record '" + key + "' is truncated");
  return envelope::from_bytes(lmdb::from_be64(bytes.substr(0, 8)),
                              bytes.data() + 8, bytes.size() - 8);
}

caf::error lift(const caf::expected<void>& r) {
  return r ? caf::error{} : r.error();
}

} // namespace

caf::expected<std::shared_ptr<job_journal>>
job_journal::open(const std::string& dir) {
  auto e = lmdb::env::open(dir);
  if (!e) return e.error();
  std::shared_ptr<job_journal> j{new job_journal};
  j->env_ = std::make_unique<lmdb::env>(std::move(*e));
  auto db = j->env_->open_db("jobs");
  if (!db) return db.error();
  j->db_ = *db;
  return j;
}

caf::error job_journal::add_job(const std::string& id, const envelope& submit) {
  auto t = lmdb::txn::begin(*env_, false);
  if (!t) return t.error();
  auto key = id + "/job";
  auto old = t->get(db_, key);
  if (!old) return old.error();
  if (*old)
    return make_error(errc::already_exists,
                      "a job named '" + id + "' is in the journal");
  if (auto err = lift(t->put(db_, key, record_of(submit)))) return err;
  return lift(t->commit());
}

caf::expected<envelope> job_journal::job(const std::string& id) {
  auto t = lmdb::txn::begin(*env_, true);
  if (!t) return t.error();
  auto v = t->get(db_, id + "/job");
  if (!v) return v.error();
  if (!*v)
    return make_error(errc::not_found,
                      "no job '" + id + "' in the journal " + env_->path());
  return envelope_of(**v, id + "/job");
}

caf::expected<std::vector<std::string>> job_journal::ids() {
  auto t = lmdb::txn::begin(*env_, true);
  if (!t) return t.error();
  std::vector<std::string> out;
  auto r = t->scan(db_, "", [&](std::string_view k, std::string_view) {
    auto slash = k.find('/');
    if (slash != std::string_view::npos && k.substr(slash) == "/job")
      out.emplace_back(k.substr(0, slash));
    return true;
  });
  if (!r) return r.error();
  return out;
}

caf::error job_journal::append_event(lmdb::txn& t, const std::string& id,
                                     const envelope& event) {
  auto prefix = id + "/ev/";
  auto last = t.last_key(db_, prefix);
  if (!last) return last.error();
  uint64_t seq = 0;
  if (*last)
    seq = lmdb::from_be64(std::string_view{**last}.substr(prefix.size())) + 1;
  return lift(t.put(db_, prefix + lmdb::be64(seq), record_of(event)));
}

caf::error job_journal::put_checkpoint(const std::string& id,
                                       const envelope& ckpt, uint64_t step,
                                       uint32_t attempt, int64_t at_ms) {
  auto t = lmdb::txn::begin(*env_, false);
  if (!t) return t.error();
  if (auto err = lift(t->put(db_, id + "/ckpt", record_of(ckpt)))) return err;
  auto manifest = "{\"step\":" + std::to_string(step) +
                  ",\"attempt\":" + std::to_string(attempt) +
                  ",\"bytes\":" + std::to_string(ckpt.size_bytes()) +
                  ",\"at_ms\":" + std::to_string(at_ms) + "}";
  if (auto err = lift(t->put(db_, id + "/manifest", manifest))) return err;
  auto ev = make_envelope<schema::JobEvent>([&](auto e) {
    e.setKind(schema::JobEvent::Kind::CHECKPOINT);
    e.setStep(step);
    e.setAttempt(attempt);
    e.setAtMs(at_ms);
  });
  if (auto err = append_event(*t, id, ev)) return err;
  return lift(t->commit());
}

caf::expected<std::optional<envelope>>
job_journal::checkpoint(const std::string& id) {
  auto t = lmdb::txn::begin(*env_, true);
  if (!t) return t.error();
  auto v = t->get(db_, id + "/ckpt");
  if (!v) return v.error();
  if (!*v) return std::optional<envelope>{};
  auto e = envelope_of(**v, id + "/ckpt");
  if (!e) return e.error();
  return std::optional<envelope>{std::move(*e)};
}

caf::error job_journal::add_event(const std::string& id,
                                  const envelope& event) {
  auto t = lmdb::txn::begin(*env_, false);
  if (!t) return t.error();
  if (auto err = append_event(*t, id, event)) return err;
  return lift(t->commit());
}

caf::expected<std::vector<envelope>>
job_journal::events(const std::string& id) {
  auto t = lmdb::txn::begin(*env_, true);
  if (!t) return t.error();
  std::vector<envelope> out;
  caf::error bad;
  auto r =
      t->scan(db_, id + "/ev/", [&](std::string_view k, std::string_view v) {
        auto e = envelope_of(v, std::string{k});
        if (!e) {
          bad = e.error();
          return false;
        }
        out.push_back(std::move(*e));
        return true;
      });
  if (!r) return r.error();
  if (bad) return bad;
  return out;
}

} // namespace troupe::training
