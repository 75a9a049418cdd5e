// The router core's admission: which version a request goes to, and
// whether the version's replicas can take it (router_core.hpp).

#include "actors/serving/router_core.hpp"

#include <algorithm>

#include "runtime/errors.hpp"
#include "schemas/serving.capnp.h"

namespace troupe::serving {

caf::expected<router_ticket> router_core::admit(const envelope& req) {
  uint32_t pinned = 0;
  router_ticket t;
  auto ok = req.visit<schema::PredictRequest>([&](auto r) {
    pinned = r.getVersion();
    t.rows = r.getRows().size();
    t.request_id = r.getRequestId();
  });
  if (!ok) return ok.error();
  t.version = pinned;
  if (t.version == 0) {
    auto v = split_.pick();
    if (!v)
      return make_error(errc::no_traffic,
                        "deployment " + spec_.name + " sends traffic nowhere");
    t.version = static_cast<uint32_t>(std::stoul(*v));
  } else if (auto w = weights_.find(t.version);
             w == weights_.end() || w->second == 0) {
    // a version without traffic has no replicas to answer
    return make_error(errc::no_traffic,
                      "deployment " + spec_.name + " does not serve version " +
                          std::to_string(t.version) +
                          (w == weights_.end() ? "" : " (weight 0)"));
  }
  // shed past the bound of the version's replicas
  size_t queued = 0, replicas = 0;
  for (auto& r : replicas_)
    if (r.version == t.version && r.phase != replica_phase::draining) {
      queued += r.in_flight;
      ++replicas;
    }
  for (auto id : parked_)
    if (auto o = pending_.find(id);
        o != pending_.end() && o->second.version == t.version)
      queued += o->second.rows;
  size_t bound = std::max<size_t>(replicas, 1) * spec_.queue_bound_rows;
  if (queued + t.rows > bound) {
    ++shed_;
    metrics_.shed();
    return make_error(errc::overloaded,
                      "overloaded: deployment " + spec_.name + " v" +
                          std::to_string(t.version) + " has " +
                          std::to_string(queued) + " rows waiting (bound " +
                          std::to_string(bound) + "); retry later");
  }
  return t;
}

} // namespace troupe::serving
