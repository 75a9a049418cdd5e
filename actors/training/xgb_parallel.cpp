#include "actors/training/xgb_parallel.hpp"

#include <chrono>
#include <optional>

#include "actors/models/xgb_data.hpp"
#include "runtime/errors.hpp"

namespace troupe::training {

std::pair<size_t, size_t> block_of(size_t rows, size_t index, size_t workers) {
  if (workers == 0) return {0, 0};
  auto base = rows / workers;
  auto extra = rows % workers;
  auto begin = index * base + std::min(index, extra);
  return {begin, begin + base + (index < extra ? 1 : 0)};
}

caf::expected<xgb::checkpoint> train_part(const xgb_part& part,
                                          const tabular::matrix& rows) {
  if (rows.rows == 0 || rows.labels.size() != rows.rows)
    return make_error(errc::invalid_argument,
                      "data-parallel XGBoost: " + std::to_string(rows.rows) +
                          " rows and " + std::to_string(rows.labels.size()) +
                          " labels; a worker needs labeled rows");
  // each phase into its column of the worker's time split, if one is kept
  usage_meter unused;
  auto& usage = part.usage ? *part.usage : unused;
  std::optional<xgb::collective> joined;
  if (part.tracker_port > 0) {
    auto c = usage.comm([&] {
      return xgb::collective::join(part.tracker_host, part.tracker_port,
                                   part.world, part.task);
    });
    if (!c) return c.error();
    joined.emplace(std::move(*c));
  }
  // the booster goes before the collective leaves (declared after it)
  auto train =
      usage.data([&] { return models::xgboost_matrix(rows, part.types); });
  if (!train) return train.error();
  auto b = part.start.model.empty() ? xgb::booster::create(&*train)
                                    : xgb::booster::restore(part.start);
  if (!b) return b.error();
  for (auto& [k, v] : part.params)
    if (auto r = b->set_param(k, v); !r) return r.error();
  auto done = b->rounds();
  if (!done) return done.error();
  for (auto r = static_cast<uint32_t>(*done); r < part.rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    auto ok = b->update(*train);
    usage.add_compute(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
    if (!ok) return ok.error();
    if (part.after_round && !part.after_round(r + 1, *b)) break;
  }
  return b->save_checkpoint();
}

} // namespace troupe::training
