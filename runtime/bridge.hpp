#pragma once

// Meeting CAF from a KJ event loop: a request sent from a short-lived actor
// whose reply (or error) resolves a KJ promise through a cross-thread
// fulfiller. Used by the RPC gateway and by the RPC services it hosts.

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <kj/async.h>

#include "runtime/errors.hpp"

namespace troupe {

/// A KJ failure carrying `what` as its description.
inline kj::Exception rpc_failure(const std::string& what) {
  return kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                       kj::str(what.c_str()));
}

/// Throws the error of `r` (a failed visit of a reply) as a KJ failure.
inline void check(const caf::expected<void>& r) {
  if (!r) throw rpc_failure(describe(r.error()));
}

/// Sends `xs...` to `target` from a short-lived actor and resolves the KJ
/// promise with the reply (`R`), or rejects it with `context` followed by the
/// error's message.
template <class R, class... Ts>
kj::Promise<R> ask(caf::actor_system& sys, caf::actor target,
                   std::chrono::milliseconds timeout, std::string context,
                   Ts... xs) {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<R>();
  auto f = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<R>>>(
      std::move(paf.fulfiller));
  sys.spawn([=](caf::event_based_actor* self) {
    if constexpr (std::is_void_v<R>) {
      self->request(target, timeout, xs...)
          .then([=] { (*f)->fulfill(); },
                [=](caf::error& err) {
                  (*f)->reject(rpc_failure(context + describe(err)));
                });
    } else {
      self->request(target, timeout, xs...)
          .then([=](R& r) { (*f)->fulfill(std::move(r)); },
                [=](caf::error& err) {
                  (*f)->reject(rpc_failure(context + describe(err)));
                });
    }
  });
  return std::move(paf.promise);
}

/// Like ask(), and fails at once (instead of at the timeout) when `target`
/// is or becomes down: a request to the proxy of an actor whose node went
/// away is otherwise answered by nobody. Costs a monitor per call.
template <class R, class... Ts>
kj::Promise<R> ask_watched(caf::actor_system& sys, caf::actor target,
                           std::chrono::milliseconds timeout,
                           std::string context, Ts... xs) {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<R>();
  auto f = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<R>>>(
      std::move(paf.fulfiller));
  sys.spawn([=](caf::event_based_actor* self) {
    auto done = std::make_shared<bool>(false);
    self->monitor(target);
    self->set_down_handler([=](caf::down_msg& dm) {
      if (!*done) {
        *done = true;
        (*f)->reject(rpc_failure(context + "not running (" +
                                 to_string(dm.reason) + ")"));
      }
      self->quit();
    });
    self->request(target, timeout, xs...)
        .then(
            [=](R& r) {
              if (!*done) {
                *done = true;
                (*f)->fulfill(std::move(r));
              }
              self->quit();
            },
            [=](caf::error& err) {
              if (!*done) {
                *done = true;
                (*f)->reject(rpc_failure(context + describe(err)));
              }
              self->quit();
            });
  });
  return std::move(paf.promise);
}

} // namespace troupe
