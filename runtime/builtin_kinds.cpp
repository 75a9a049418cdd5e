#include <caf/all.hpp>

#include "runtime/node.hpp"
#include "runtime/type_ids.hpp"
#include "runtime/worker.hpp"

namespace troupe {

namespace {

/// "echo": answers (call_atom, envelope) with the same envelope. Used to
/// check request/reply paths through the cluster and the gateway.
caf::behavior echo(worker* self, kind_args args) {
  return self->with_stats(args,
                          {
                              [](call_atom, const envelope& x) { return x; },
                          });
}

} // namespace

void register_builtin_kinds(caf::actor_system_config& cfg) {
  cfg.add_actor_type("echo", echo);
}

} // namespace troupe
