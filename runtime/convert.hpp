#pragma once

#include "runtime/directory_table.hpp"
#include "schemas/cluster.capnp.h"

namespace troupe {

/// Milliseconds since the epoch.
inline int64_t to_ms(wall_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             t.time_since_epoch())
      .count();
}

inline void fill(schema::NodeInfo::Builder out, const node_record& n) {
  out.setName(n.name);
  out.setHost(n.host);
  out.setPid(n.pid);
  out.setSlots(n.slots);
  out.setFreeSlots(n.free_slots);
  auto labels = out.initLabels(static_cast<unsigned>(n.labels.size()));
  for (unsigned i = 0; i < n.labels.size(); ++i) {
    labels[i].setKey(n.labels[i].first);
    labels[i].setValue(n.labels[i].second);
  }
  out.setLastSeenMs(to_ms(n.last_seen));
  out.setJoinedMs(to_ms(n.joined));
  out.setIsHead(n.is_head);
  out.setIncarnation(n.incarnation);
}

inline void fill(schema::ActorInfo::Builder out, const actor_record& a) {
  out.setName(a.name);
  out.setNode(a.node);
  out.setKind(a.kind);
  out.setId(a.handle ? a.handle.id() : 0);
}

} // namespace troupe
