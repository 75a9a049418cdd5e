#pragma once

// A parameter-server shard: one contiguous range of the key space
// (sparse_table.hpp's shard_of), holding only the keys that were pushed.
// Workers pull the weights of a minibatch's keys and push one gradient per
// key; the shard applies FTRL-Proximal or AdaGrad.

#include <cstdint>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/training/atoms.hpp"
#include "actors/training/sparse_table.hpp"
#include "runtime/envelope.hpp"
#include "runtime/worker.hpp"

namespace troupe::training {

using ps_shard_actor = caf::typed_actor<
    /// (ps_pull_atom, SparseKeys) -> SparseValues: each key's weight (0 for
    /// keys never pushed), in order. A key outside the shard's range is
    /// refused, naming it and the range.
    caf::replies_to<ps_pull_atom, envelope>::with<envelope>,
    /// (ps_push_atom, SparseValues) -> (): applies one gradient per key, all
    /// or none (a bad push names the key).
    caf::replies_to<ps_push_atom, envelope>::with<void>,
    /// (ps_dump_atom) -> SparseValues: every stored key and its weight, in
    /// no particular order.
    caf::replies_to<ps_dump_atom>::with<envelope>,
    /// (ps_snapshot_atom) -> ShardState: every stored key's optimizer
    /// state, for a checkpoint.
    caf::replies_to<ps_snapshot_atom>::with<envelope>,
    /// (ps_restore_atom, ShardState) -> (): replaces the table with a
    /// checkpoint's state (keys outside the shard's range are refused).
    caf::replies_to<ps_restore_atom,
                    envelope>::with<void>>::extend_with<stats_actor>;

struct ps_shard_config {
  uint32_t index = 0;  ///< this shard
  uint32_t shards = 1; ///< how many the key space is cut into
  sparse_params params;
};

ps_shard_actor spawn_ps_shard(caf::actor_system& sys, ps_shard_config cfg);

/// The kind of a shard spawned through the directory, its config text
/// ps_shard_config_json's. A service kind: it runs in a slot its job leased.
inline constexpr const char* shard_kind = "training.ps_shard";

/// A shard's kind config as JSON text: its index, the shard count and the
/// update rule; parsing names what is wrong.
std::string ps_shard_config_json(const ps_shard_config& cfg);
caf::expected<ps_shard_config> parse_ps_shard_config(const std::string& text);

/// Registers training.ps_shard.
void register_shard_kind(caf::actor_system_config& cfg);

/// Registers the family's Cap'n Proto messages for envelopes' text form.
void register_training_schemas();

} // namespace troupe::training
