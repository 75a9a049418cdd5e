#include "runtime/worker.hpp"

#include "schemas/cluster.capnp.h"

namespace troupe {

namespace detail {

worker_counters::worker_counters()
    : started_(std::chrono::steady_clock::now()) {
  // nop
}

void worker_counters::identify(const kind_args& args) {
  name_ = args.name;
  node_ = args.node;
}

envelope worker_counters::stats(uint64_t waiting) const {
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

} // namespace detail

worker::worker(caf::actor_config& cfg) : caf::event_based_actor(cfg) {
  // nop
}

void worker::enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) {
  counters_.received();
  caf::event_based_actor::enqueue(std::move(ptr), eu);
}

caf::behavior worker::with_stats(const kind_args& args,
                                 caf::message_handler bhvr) {
  counters_.identify(args);
  return bhvr.or_else([this](stats_atom) -> envelope { return stats_now(); });
}

envelope worker::stats_now() {
  return counters_.stats(static_cast<uint64_t>(mailbox().size()));
}

} // namespace troupe
