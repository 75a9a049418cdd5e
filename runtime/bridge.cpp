#include "runtime/bridge.hpp"

#include <caf/all.hpp>

// Jobs only ever travel to a local actor, never over the wire.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::detail::bridge_job)

namespace troupe {

namespace detail {

uint64_t bridge_state::watch(bridge_actor::pointer self,
                             const caf::actor& target,
                             std::function<void(const std::string&)> on_down) {
  auto [it, fresh] = waiting.try_emplace(target.address());
  if (fresh) self->monitor(target);
  auto call = ++next_call;
  it->second.emplace(call, std::move(on_down));
  return call;
}

bool bridge_state::done(const caf::actor& target, uint64_t call) {
  auto it = waiting.find(target.address());
  return it != waiting.end() && it->second.erase(call) > 0;
}

} // namespace detail

namespace {

bridge_actor::behavior_type bridge(bridge_actor::pointer self) {
  auto st = std::make_shared<detail::bridge_state>();
  // A target that goes down fails its calls at once (a request to the proxy
  // of an actor whose node went away is otherwise answered by nobody); the
  // target is watched until then.
  self->set_down_handler([st](caf::down_msg& dm) {
    auto it = st->waiting.find(dm.source);
    if (it == st->waiting.end()) return;
    auto calls = std::move(it->second);
    st->waiting.erase(it);
    auto why = to_string(dm.reason);
    for (auto& [call, on_down] : calls)
      on_down(why);
  });
  return {
      [self, st](const detail::bridge_job& job) { job.run(self, st); },
  };
}

} // namespace

actor_bridge::actor_bridge(caf::actor_system& sys)
    : actor_(sys.spawn(bridge)) {}

actor_bridge::~actor_bridge() {
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

void actor_bridge::post(detail::bridge_job job) {
  caf::anon_send(actor_, std::move(job));
}

} // namespace troupe
