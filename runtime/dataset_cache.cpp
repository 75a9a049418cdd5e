// A node's dataset cache (protocol in dataset_cache.hpp).

#include "runtime/dataset_cache.hpp"

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include <caf/all.hpp>

#include "runtime/dataset_store.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "schemas/datasets.capnp.h"

namespace troupe {

namespace fs = std::filesystem;

namespace {

/// How long a peer may take to answer a chunk request.
constexpr auto chunk_timeout = std::chrono::seconds{60};

/// Uploads kept open at once; a further offer drops the least recent.
constexpr size_t most_uploads = 16;

/// A transfer from another cache, shared by every fetch of its hash.
struct fetch {
  std::unique_ptr<dataset_download> download;
  caf::actor source;
  std::vector<caf::typed_response_promise<std::string>> waiting;
  std::vector<uint32_t> todo; ///< chunks not asked for yet, reversed
  std::map<uint32_t, uint32_t> tries;
  uint32_t in_flight = 0;
};

struct upload {
  std::unique_ptr<dataset_download> download;
  uint64_t touched = 0;
};

struct cache_state {
  dataset_cache_config cfg;
  std::optional<dataset_store> store;
  bool temporary = false;
  std::map<std::string, fetch> fetches;
  std::map<std::string, upload> uploads;
  /// Holders of a dataset: each adopt and each fetch answered adds one; a
  /// drop removes one, and the file goes with the last (two jobs whose
  /// shards have the same bytes share the file until both are done).
  std::map<std::string, uint32_t> holds;
  uint64_t clock = 0;
  uint32_t fetched = 0;
  uint32_t skipped = 0;
  uint64_t chunks_in = 0;
  uint64_t chunks_out = 0;
  uint64_t chunks_refused = 0;
  std::shared_ptr<spdlog::logger> log;
  static inline const char* name = "troupe.datasets";
};

using cache_self = dataset_cache_actor::stateful_pointer<cache_state>;

/// The store, opened at first use (a temporary folder without a dir).
caf::expected<dataset_store*> store_of(cache_self self) {
  auto& st = self->state;
  if (st.store) return &*st.store;
  fs::path dir = st.cfg.dir;
  if (dir.empty()) {
    std::random_device rd;
    dir = fs::temp_directory_path() /
          ("troupe-datasets-" + st.cfg.node + "-" + std::to_string(rd()));
    st.temporary = true;
  }
  auto s = dataset_store::open(dir);
  if (!s) return s.error();
  st.store.emplace(std::move(*s));
  return &*st.store;
}

void end_fetch(cache_self self, const std::string& hash,
               const caf::expected<std::string>& result) {
  auto it = self->state.fetches.find(hash);
  if (it == self->state.fetches.end()) return;
  auto waiting = std::move(it->second.waiting);
  self->state.fetches.erase(it);
  if (result) self->state.holds[hash] += static_cast<uint32_t>(waiting.size());
  for (auto& p : waiting)
    if (result)
      p.deliver(*result);
    else
      p.deliver(result.error());
}

/// Asks the source for chunks while the window has room.
void pump(cache_self self, const std::string& hash) {
  auto it = self->state.fetches.find(hash);
  if (it == self->state.fetches.end()) return;
  auto& f = it->second;
  if (f.todo.empty() && f.in_flight == 0) {
    auto path = f.download->commit();
    if (!path) return end_fetch(self, hash, path.error());
    ++self->state.fetched;
    self->state.log->info("datasets: fetched {} ({} bytes)",
                          f.download->ref().name, f.download->ref().size);
    return end_fetch(self, hash, path->string());
  }
  auto ref_env = to_envelope(f.download->ref());
  while (!f.todo.empty() && f.in_flight < self->state.cfg.window) {
    auto index = f.todo.back();
    f.todo.pop_back();
    ++f.in_flight;
    self->request(f.source, chunk_timeout, dataset_read_atom::value, ref_env,
                  index)
        .then(
            [=](const envelope& chunk) {
              auto it = self->state.fetches.find(hash);
              if (it == self->state.fetches.end()) return;
              auto& f = it->second;
              --f.in_flight;
              caf::error failed;
              auto read = chunk.visit<schema::DatasetChunk>([&](auto c) {
                auto bytes = c.getBytes();
                if (c.getIndex() != index || c.getHash() != hash)
                  failed = make_error(errc::invalid_argument,
                                      "the source answered another chunk");
                else
                  failed = f.download->write(index, bytes.begin(), bytes.size(),
                                             c.getChecksum());
                return true;
              });
              if (!read) failed = read.error();
              if (failed) {
                ++self->state.chunks_refused;
                auto tries = ++f.tries[index];
                self->state.log->warn("datasets: {} (try {} of {})",
                                      describe(failed), tries,
                                      self->state.cfg.tries);
                if (tries >= self->state.cfg.tries)
                  return end_fetch(self, hash, failed);
                f.todo.push_back(index); // ask again
              } else {
                ++self->state.chunks_in;
              }
              pump(self, hash);
            },
            [=](caf::error& err) {
              auto it = self->state.fetches.find(hash);
              if (it == self->state.fetches.end()) return;
              auto name = it->second.download->ref().name;
              end_fetch(
                  self, hash,
                  make_error(errc::io_failure,
                             "dataset '" + name + "': chunk " +
                                 std::to_string(index) +
                                 " could not be fetched: " + describe(err)));
            });
  }
}

envelope chunk_envelope(const dataset_ref& ref, uint32_t index,
                        const std::vector<uint8_t>& bytes) {
  return make_envelope<schema::DatasetChunk>([&](auto c) {
    c.setHash(ref.hash);
    c.setIndex(index);
    c.setBytes(kj::arrayPtr(bytes.data(), bytes.size()));
    c.setChecksum(chunk_checksum(bytes.data(), bytes.size()));
  });
}

dataset_cache_actor::behavior_type cache(cache_self self,
                                         dataset_cache_config cfg) {
  self->state.cfg = std::move(cfg);
  self->state.log = log::get("datasets");
  if (self->state.cfg.owner) {
    self->monitor(self->state.cfg.owner);
    self->set_down_handler([=](caf::down_msg&) { self->quit(); });
  }
  self->attach_functor([=] {
    auto& st = self->state;
    self->system().registry().erase(dataset_cache_registry_key);
    st.fetches.clear();
    st.uploads.clear();
    if (st.temporary && st.store) {
      std::error_code ec;
      fs::remove_all(st.store->dir(), ec);
    }
  });
  return {
      [=](dataset_put_atom, const std::string& path) -> caf::result<envelope> {
        auto store = store_of(self);
        if (!store) return store.error();
        auto ref = (*store)->add_file(path);
        if (!ref) return ref.error();
        return to_envelope(*ref);
      },
      [=](dataset_adopt_atom,
          const std::string& path) -> caf::result<envelope> {
        auto store = store_of(self);
        if (!store) return store.error();
        auto ref = (*store)->adopt_file(path);
        if (!ref) return ref.error();
        ++self->state.holds[ref->hash];
        return to_envelope(*ref);
      },
      [=](dataset_drop_atom, const std::string& hash) {
        auto& st = self->state;
        if (auto h = st.holds.find(hash); h != st.holds.end()) {
          if (h->second > 1) {
            --h->second;
            return;
          }
          st.holds.erase(h);
        }
        if (st.fetches.count(hash)) return;
        if (auto store = store_of(self)) (*store)->remove(hash);
      },
      [=](dataset_offer_atom, const envelope& env) -> caf::result<bool> {
        auto ref = dataset_ref_of(env);
        if (!ref) return ref.error();
        auto store = store_of(self);
        if (!store) return store.error();
        auto& st = self->state;
        if ((*store)->find(ref->hash)) {
          ++st.skipped;
          return true;
        }
        auto& ups = st.uploads;
        if (auto it = ups.find(ref->hash); it != ups.end()) {
          it->second.touched = ++st.clock;
          return false;
        }
        if (ups.size() >= most_uploads) {
          auto oldest = ups.begin();
          for (auto it = ups.begin(); it != ups.end(); ++it)
            if (it->second.touched < oldest->second.touched) oldest = it;
          ups.erase(oldest);
        }
        auto d = dataset_download::begin(**store, *ref);
        if (!d) return d.error();
        ups[ref->hash] = {std::make_unique<dataset_download>(std::move(*d)),
                          ++st.clock};
        return false;
      },
      [=](dataset_chunk_atom, const envelope& env) -> caf::result<bool> {
        auto& st = self->state;
        auto r =
            env.visit<schema::DatasetChunk>([&](auto c) -> caf::expected<bool> {
              std::string hash = c.getHash();
              auto it = st.uploads.find(hash);
              if (it == st.uploads.end())
                return make_error(errc::not_found,
                                  "no upload of dataset " + hash.substr(0, 12) +
                                      " is open: offer it first");
              it->second.touched = ++st.clock;
              auto& d = *it->second.download;
              auto bytes = c.getBytes();
              if (auto err = d.write(c.getIndex(), bytes.begin(), bytes.size(),
                                     c.getChecksum())) {
                ++st.chunks_refused;
                return err;
              }
              ++st.chunks_in;
              if (!d.complete()) return false;
              auto path = d.commit();
              auto name = d.ref().name;
              st.uploads.erase(it);
              if (!path) return path.error();
              st.log->info("datasets: received {} from a client", name);
              return true;
            });
        if (!r) return r.error();
        if (!*r) return r->error();
        return **r;
      },
      [=](dataset_read_atom, const envelope& env,
          uint32_t index) -> caf::result<envelope> {
        auto ref = dataset_ref_of(env);
        if (!ref) return ref.error();
        auto store = store_of(self);
        if (!store) return store.error();
        auto bytes = (*store)->read_chunk(*ref, index);
        if (!bytes) return bytes.error();
        ++self->state.chunks_out;
        return chunk_envelope(*ref, index, *bytes);
      },
      [=](dataset_fetch_atom, const envelope& env,
          const caf::actor& source) -> caf::result<std::string> {
        auto ref = dataset_ref_of(env);
        if (!ref) return ref.error();
        auto store = store_of(self);
        if (!store) return store.error();
        auto& st = self->state;
        if (auto p = (*store)->find(ref->hash)) {
          ++st.skipped;
          ++st.holds[ref->hash];
          return p->string();
        }
        if (!source)
          return make_error(errc::invalid_argument,
                            "dataset '" + ref->name +
                                "' is not held here and no source was named");
        auto rp = self->make_response_promise<std::string>();
        auto it = st.fetches.find(ref->hash);
        if (it != st.fetches.end()) {
          it->second.waiting.push_back(rp);
          return rp;
        }
        auto d = dataset_download::begin(**store, *ref);
        if (!d) return d.error();
        auto& f = st.fetches[ref->hash];
        f.download = std::make_unique<dataset_download>(std::move(*d));
        f.source = source;
        f.waiting.push_back(rp);
        for (uint32_t i = ref->chunks(); i > 0; --i)
          f.todo.push_back(i - 1);
        pump(self, ref->hash);
        return rp;
      },
      [=](dataset_stats_atom) -> envelope {
        auto& st = self->state;
        dataset_store::usage held;
        if (auto store = store_of(self)) held = (*store)->held();
        return make_envelope<schema::DatasetCacheStats>([&](auto s) {
          s.setNode(st.cfg.node);
          s.setHeld(held.count);
          s.setHeldBytes(held.bytes);
          s.setFetched(st.fetched);
          s.setSkipped(st.skipped);
          s.setChunksIn(st.chunks_in);
          s.setChunksOut(st.chunks_out);
          s.setChunksRefused(st.chunks_refused);
        });
      },
  };
}

} // namespace

dataset_cache_actor spawn_dataset_cache(caf::actor_system& sys,
                                        dataset_cache_config cfg) {
  auto h = sys.spawn(cache, std::move(cfg));
  sys.registry().put(dataset_cache_registry_key,
                     caf::actor_cast<caf::strong_actor_ptr>(h));
  return h;
}

dataset_cache_actor local_dataset_cache(caf::actor_system& sys) {
  return caf::actor_cast<dataset_cache_actor>(
      sys.registry().get(dataset_cache_registry_key));
}

} // namespace troupe
