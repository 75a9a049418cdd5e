#pragma once

// The feature store's layout as its readers cache it: the features service,
// every shard (its node and actor) and every group, fetched from the
// service and the directory. The RPC server and the RESP endpoint read
// through it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "actors/features/group.hpp"

namespace troupe::features {

/// One shard as a reader knows it.
struct shard_ref {
  uint32_t index = 0;
  std::string name;
  std::string node;
  caf::actor handle; ///< null when not running
};

/// What a reader caches from the features service.
struct store_layout {
  caf::actor service;
  std::vector<shard_ref> shards;
  std::map<std::string, group_spec> groups;
  uint64_t version = 0;
};

/// Asks, from `self`, the directory `dir` for the features service, the
/// service for its StoreLayout and the directory for each shard's handle
/// (a shard it does not know stays null); calls `done` once with the
/// layout or an error naming what failed. Asking for the layout places the
/// shards over the nodes present; unless `place`, a store with no group yet
/// is answered with no shards instead (its shards are placed when the
/// first group is created).
void fetch_layout(caf::event_based_actor* self, const caf::actor& dir,
                  std::chrono::milliseconds timeout, bool place,
                  std::function<void(caf::expected<store_layout>)> done);

} // namespace troupe::features
