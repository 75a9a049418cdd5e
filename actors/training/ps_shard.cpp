#include "actors/training/ps_shard.hpp"

#include <algorithm>
#include <string>

#include <caf/all.hpp>

#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

struct shard_state {
  static inline const char* name = "troupe.ps_shard";
  ps_shard_config cfg;
  sparse_table table;
  uint64_t first = 0; ///< first key of the range
  uint64_t last = 0;  ///< last key of the range (inclusive)
};

using shard_self = ps_shard_actor::stateful_pointer<shard_state>;

caf::error out_of_range(const shard_state& st, uint64_t key) {
  return make_error(errc::invalid_argument,
                    "key " + std::to_string(key) + " is not in shard " +
                        std::to_string(st.cfg.index) + " of " +
                        std::to_string(st.cfg.shards) + " (keys " +
                        std::to_string(st.first) + ".." +
                        std::to_string(st.last) + ")");
}

envelope values_envelope(const std::vector<uint64_t>& keys,
                         const std::vector<float>& values) {
  return make_envelope<schema::SparseValues>([&](auto out) {
    auto k = out.initKeys(static_cast<unsigned>(keys.size()));
    auto v = out.initValues(static_cast<unsigned>(values.size()));
    for (unsigned i = 0; i < keys.size(); ++i)
      k.set(i, keys[i]);
    for (unsigned i = 0; i < values.size(); ++i)
      v.set(i, values[i]);
  });
}

} // namespace

ps_shard_actor spawn_ps_shard(caf::actor_system& sys, ps_shard_config cfg) {
  return sys.spawn([cfg](shard_self self) -> ps_shard_actor::behavior_type {
    auto& st = self->state;
    st.cfg = cfg;
    st.table = sparse_table{cfg.params};
    st.first = first_key_of(cfg.index, cfg.shards);
    st.last = cfg.index + 1 >= cfg.shards
                  ? ~uint64_t{0}
                  : first_key_of(cfg.index + 1, cfg.shards) - 1;
    return {
        [=](ps_pull_atom, const envelope& env) -> caf::result<envelope> {
          auto& st = self->state;
          std::vector<uint64_t> keys;
          auto ok = env.visit<schema::SparseKeys>([&](auto r) {
            for (auto k : r.getKeys())
              keys.push_back(k);
            return true;
          });
          if (!ok) return ok.error();
          for (auto k : keys)
            if (k < st.first || k > st.last) return out_of_range(st, k);
          return values_envelope(keys, st.table.pull(keys));
        },
        [=](ps_push_atom, const envelope& env) -> caf::result<void> {
          auto& st = self->state;
          std::vector<uint64_t> keys;
          std::vector<float> grads;
          auto ok = env.visit<schema::SparseValues>([&](auto r) {
            for (auto k : r.getKeys())
              keys.push_back(k);
            for (auto g : r.getValues())
              grads.push_back(g);
            return true;
          });
          if (!ok) return ok.error();
          for (auto k : keys)
            if (k < st.first || k > st.last) return out_of_range(st, k);
          if (auto err = st.table.push(keys, grads)) return err;
          return caf::unit;
        },
        [=](ps_dump_atom) -> envelope {
          auto entries = self->state.table.entries();
          std::sort(entries.begin(), entries.end(),
                    [](auto& a, auto& b) { return a.key < b.key; });
          std::vector<uint64_t> keys;
          std::vector<float> weights;
          for (auto& e : entries) {
            keys.push_back(e.key);
            weights.push_back(self->state.table.weight(e.key));
          }
          return values_envelope(keys, weights);
        },
    };
  });
}

void register_training_schemas() {
  register_schema<schema::SparseKeys>();
  register_schema<schema::SparseValues>();
}

} // namespace troupe::training
