#include "actors/training/ps_shard.hpp"

#include <algorithm>
#include <string>

#include <caf/all.hpp>

#include <nlohmann/json.hpp>

#include "runtime/errors.hpp"
#include "runtime/kind_args.hpp"
#include "runtime/node.hpp"
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

using shard_self =
    caf::stateful_actor<shard_state, typed_worker_of<ps_shard_actor>::type>*;

/// Refuses the first key outside the shard's range, naming it and the range.
caf::error check_range(const shard_state& st,
                       const std::vector<uint64_t>& keys) {
  for (auto key : keys)
    if (key < st.first || key > st.last)
      return make_error(errc::invalid_argument,
                        "key " + std::to_string(key) + " is not in shard " +
                            std::to_string(st.cfg.index) + " of " +
                            std::to_string(st.cfg.shards) + " (keys " +
                            std::to_string(st.first) + ".." +
                            std::to_string(st.last) + ")");
  return caf::none;
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

namespace {

ps_shard_actor::behavior_type shard_behavior(shard_self self,
                                             ps_shard_config cfg) {
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
        if (auto err = check_range(st, keys)) return err;
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
        if (auto err = check_range(st, keys)) return err;
        if (auto err = st.table.push(keys, grads)) return err;
        return caf::unit;
      },
      [=](ps_dump_atom) -> envelope {
        std::vector<uint64_t> keys;
        std::vector<float> weights;
        self->state.table.weights(keys, weights);
        return values_envelope(keys, weights);
      },
      [=](ps_snapshot_atom) -> envelope {
        auto& st = self->state;
        auto entries = st.table.entries();
        return make_envelope<schema::ShardState>([&](auto out) {
          out.setIndex(st.cfg.index);
          auto n = static_cast<unsigned>(entries.size());
          auto k = out.initKeys(n);
          auto z = out.initZ(n);
          auto nn = out.initN(n);
          for (unsigned i = 0; i < n; ++i) {
            k.set(i, entries[i].key);
            z.set(i, entries[i].z);
            nn.set(i, entries[i].n);
          }
        });
      },
      [=](ps_restore_atom, const envelope& env) -> caf::result<void> {
        auto& st = self->state;
        std::vector<sparse_table::entry> xs;
        std::vector<uint64_t> keys;
        auto ok = env.visit<schema::ShardState>(
            [&](auto r) {
              auto k = r.getKeys();
              auto z = r.getZ();
              auto n = r.getN();
              if (z.size() != k.size() || n.size() != k.size()) return false;
              for (unsigned i = 0; i < k.size(); ++i) {
                xs.push_back({k[i], z[i], n[i]});
                keys.push_back(k[i]);
              }
              return true;
            },
            // a whole shard: any size the wire takes
            reader_limits{max_envelope_bytes / 8 + 1024, 64});
        if (!ok) return ok.error();
        if (!*ok)
          return make_error(errc::invalid_argument,
                            "a shard state whose keys, z and n differ in "
                            "length");
        if (auto err = check_range(st, keys)) return err;
        st.table = sparse_table{st.cfg.params};
        st.table.restore(xs);
        return caf::unit;
      },
      self->stats_handler(),
  };
}

} // namespace

ps_shard_actor spawn_ps_shard(caf::actor_system& sys, ps_shard_config cfg) {
  return sys.spawn(shard_behavior, cfg);
}

std::string ps_shard_config_json(const ps_shard_config& cfg) {
  return nlohmann::json{{"index", cfg.index},
                        {"shards", cfg.shards},
                        {"optimizer", to_string(cfg.params.optimizer)},
                        {"alpha", cfg.params.alpha},
                        {"beta", cfg.params.beta},
                        {"l1", cfg.params.l1},
                        {"l2", cfg.params.l2}}
      .dump();
}

caf::expected<ps_shard_config> parse_ps_shard_config(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_argument,
                      "shard config '" + text + "': " + why);
  };
  if (!j.is_object()) return bad("not a JSON object");
  ps_shard_config cfg;
  try {
    cfg.index = j.at("index").get<uint32_t>();
    cfg.shards = j.at("shards").get<uint32_t>();
    auto opt = parse_sparse_optimizer(j.at("optimizer").get<std::string>());
    if (!opt) return bad(describe(opt.error()));
    cfg.params.optimizer = *opt;
    cfg.params.alpha = j.at("alpha").get<double>();
    cfg.params.beta = j.at("beta").get<double>();
    cfg.params.l1 = j.at("l1").get<double>();
    cfg.params.l2 = j.at("l2").get<double>();
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  if (cfg.shards == 0 || cfg.index >= cfg.shards)
    return bad("index " + std::to_string(cfg.index) + " of " +
               std::to_string(cfg.shards) + " shards");
  if (auto err = cfg.params.check()) return bad(describe(err));
  return cfg;
}

void register_shard_kind(caf::actor_system_config& cfg) {
  cfg.add_actor_type(
      shard_kind,
      [](shard_self self, kind_args args) -> ps_shard_actor::behavior_type {
        self->identify(args);
        auto parsed = parse_ps_shard_config(args.config);
        if (!parsed) {
          self->quit(parsed.error());
          return stopped_behavior<ps_shard_actor>();
        }
        return shard_behavior(self, *parsed);
      });
  mark_service_kind(shard_kind);
}

void register_training_schemas() {
  register_schema<schema::SparseKeys>();
  register_schema<schema::SparseValues>();
  register_schema<schema::SparseRow>();
  register_schema<schema::WorkerSetup>();
  register_schema<schema::JobSubmit>();
  register_schema<schema::JobRef>();
  register_schema<schema::JobStatus>();
  register_schema<schema::JobList>();
  register_schema<schema::ShardState>();
  register_schema<schema::JobCheckpoint>();
  register_schema<schema::JobEvent>();
  register_schema<schema::XgbPart>();
  register_schema<schema::MlpPart>();
  register_schema<schema::PipelinePart>();
  register_schema<schema::PipelineTensor>();
  register_schema<schema::PipelineState>();
  register_schema<schema::TensorPart>();
  register_schema<schema::MemberStates>();
  register_schema<schema::SagePart>();
}

} // namespace troupe::training
