#pragma once

// The dataset cache: one per node, so that datasets travel with the work and
// no feature needs a shared file system. Every node's agent starts one and
// puts it in its actor system's registry (local_dataset_cache). Files are
// held by content (dataset_store.hpp): a client uploads its file to the
// head's cache in checksummed chunks through the gateway (the Cluster
// interface's datasetOffer/datasetChunk, cluster_client::upload_dataset);
// a trial or a training worker on another node asks its own node's cache to
// fetch the dataset from the head's (or any cache that holds it), which
// pulls the missing chunks a few at a time, refuses and asks again for a
// chunk whose checksum does not match, checks the whole file's SHA-256 and
// answers with the local path. A node that holds the hash already answers
// at once. The cache runs on the node's scheduler, not on a thread of its
// own: CAF 0.17 ends an actor system only once each of its detached actors
// has been destroyed, not just stopped, and a stopped detached cache that
// had fetched from another node was seen still referenced from inside
// CAF when its node stopped (once in 20-50 runs of a two-node job under
// load): the node's shutdown then waited forever.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "runtime/dataset_store.hpp"
#include "runtime/envelope.hpp"
#include "runtime/errors.hpp"
#include "runtime/type_ids.hpp"

namespace troupe {

/// The protocol of a node's dataset cache.
using dataset_cache_actor = caf::typed_actor<
    /// (dataset_put_atom, path) -> envelope DatasetRef: stores a file of
    /// this node (a copy, named by its SHA-256). Errors name the file.
    caf::replies_to<dataset_put_atom, std::string>::with<envelope>,
    /// (dataset_adopt_atom, path) -> envelope DatasetRef: moves a file of
    /// this node into the store (it is gone from `path`).
    caf::replies_to<dataset_adopt_atom, std::string>::with<envelope>,
    /// (dataset_drop_atom, hash): one holder is done with a dataset (each
    /// adopt and each fetch answered counts one): the file goes with the
    /// last, e.g. a job's shards once they are read, unless it is being
    /// fetched. A hash no one holds is forgotten at once.
    caf::reacts_to<dataset_drop_atom, std::string>,
    /// (dataset_offer_atom, envelope DatasetRef) -> bool: a client is about
    /// to upload a file; true when its bytes are held already (send nothing).
    caf::replies_to<dataset_offer_atom, envelope>::with<bool>,
    /// (dataset_chunk_atom, envelope DatasetChunk) -> bool: one chunk of an
    /// offered file; true once the file is whole and its SHA-256 matched. A
    /// chunk whose checksum does not match is refused (an error naming it);
    /// the uploader sends it again.
    caf::replies_to<dataset_chunk_atom, envelope>::with<bool>,
    /// (dataset_read_atom, envelope DatasetRef, index) -> envelope
    /// DatasetChunk: a chunk of a held dataset, for another cache.
    caf::replies_to<dataset_read_atom, envelope, uint32_t>::with<envelope>,
    /// (dataset_fetch_atom, envelope DatasetRef, source) -> string: the path
    /// of the dataset on this node, pulled first from the cache `source`
    /// unless held. Fetches of one hash share one transfer.
    caf::replies_to<dataset_fetch_atom, envelope,
                    caf::actor>::with<std::string>,
    /// (dataset_stats_atom) -> envelope DatasetCacheStats.
    caf::replies_to<dataset_stats_atom>::with<envelope>>;

/// Settings of a dataset cache.
struct dataset_cache_config {
  /// The node's name (in stats and messages).
  std::string node;
  /// Where the files are kept; empty: a temporary folder, removed when the
  /// cache stops.
  std::string dir;
  /// The cache stops when this actor does (the node's agent); may be null.
  caf::actor owner;
  /// Chunks a fetch has in flight at once.
  uint32_t window = 4;
  /// How often one chunk may come back corrupt before a fetch fails.
  uint32_t tries = 3;
};

/// The key under which each node's cache is in its system's registry.
constexpr caf::atom_value dataset_cache_registry_key = caf::atom("datasets");

/// Spawns a dataset cache and registers it in the system's registry.
dataset_cache_actor spawn_dataset_cache(caf::actor_system& sys,
                                        dataset_cache_config cfg);

/// This system's (this node's) dataset cache; null if none runs.
dataset_cache_actor local_dataset_cache(caf::actor_system& sys);

/// The files on this node of `refs`, which its dataset cache holds (what
/// clients uploaded to the head): `then` gets their paths in order, or the
/// first error, which names the dataset. `self` is the asking actor.
template <class Self>
void held_datasets(
    Self* self, std::vector<dataset_ref> refs,
    std::function<void(caf::expected<std::vector<std::string>>)> then,
    std::vector<std::string> paths = {}) {
  auto i = paths.size();
  if (i == refs.size()) return then(std::move(paths));
  auto cache = local_dataset_cache(self->system());
  if (!cache)
    return then(make_error(errc::not_found, "this node runs no dataset cache"));
  auto ref = refs[i];
  self->request(cache, std::chrono::minutes{1}, dataset_fetch_atom::value,
                to_envelope(ref), caf::actor{})
      .then(
          [=](const std::string& path) mutable {
            paths.push_back(path);
            held_datasets(self, std::move(refs), std::move(then),
                          std::move(paths));
          },
          [=](caf::error& err) {
            then(make_error(errc::not_found,
                            "its data '" + ref.name +
                                "' is not in the head's dataset cache (" +
                                describe(err) + ")"));
          });
}

} // namespace troupe
