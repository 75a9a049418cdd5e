#pragma once

// The automl kinds spawned by name through the directory (the service and
// the runners) are runtime `worker`s: the worker counts their messages and
// answers (stats_atom), which a typed behavior cannot add to itself. Their
// handlers are still written as the typed behavior of their declared
// protocol, so the compiler checks them against it, and are then handed to
// worker::with_stats as the message handler they box.

#include <utility>

#include <caf/behavior.hpp>
#include <caf/message_handler.hpp>
#include <caf/typed_behavior.hpp>

namespace troupe::automl {

/// The message handler inside a typed behavior.
template <class... Sigs>
caf::message_handler unbox_handlers(caf::typed_behavior<Sigs...> bhvr) {
  return caf::message_handler{bhvr.unbox().as_behavior_impl()};
}

} // namespace troupe::automl
