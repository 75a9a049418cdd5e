#include "runtime/worker.hpp"

#include "runtime/type_ids.hpp"
#include "schemas/cluster.capnp.h"

namespace troupe {

worker::worker(caf::actor_config& cfg)
    : caf::event_based_actor(cfg), started_(std::chrono::steady_clock::now()) {
  // nop
}

void worker::enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) {
  received_.fetch_add(1, std::memory_order_relaxed);
  caf::event_based_actor::enqueue(std::move(ptr), eu);
}

caf::behavior worker::with_stats(const kind_args& args,
                                 caf::message_handler bhvr) {
  name_ = args.name;
  node_ = args.node;
  return bhvr.or_else([this](stats_atom) -> envelope { return stats_now(); });
}

envelope worker::stats_now() {
  auto waiting = static_cast<uint64_t>(mailbox().size());
  auto received = received_.load(std::memory_order_relaxed);
  // The stats request itself has been received but is being handled now.
  auto handled = received > waiting + 1 ? received - waiting - 1 : 0;
  auto up = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - started_)
                .count();
  return make_envelope<schema::ActorStats>([&](auto s) {
    s.setTarget(name_);
    s.setNode(node_);
    s.setMailboxSize(waiting);
    s.setHandled(handled);
    s.setUptimeMs(static_cast<uint64_t>(up));
  });
}

} // namespace troupe
