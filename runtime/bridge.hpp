#pragma once

// Meeting CAF from threads that are no actors: an actor_bridge makes
// requests from one long-lived actor, whose replies (or errors) reach a
// callback, or resolve KJ promises through cross-thread fulfillers. Used by
// the RPC gateway, the RPC services it hosts and the RESP endpoint.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/replies_to.hpp>
#include <caf/sec.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
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

namespace detail {

struct bridge_state;
struct bridge_job;

} // namespace detail

/// The protocol of an actor_bridge's actor (local only: jobs never travel
/// over the wire).
using bridge_actor = caf::typed_actor<
    /// (bridge_job): runs the job, which makes one request and settles one
    /// KJ promise with its reply or error.
    caf::reacts_to<detail::bridge_job>>;

namespace detail {

/// What the actor of an actor_bridge keeps: the calls waiting on each
/// watched target, each with the function that fails it when the target
/// goes down.
struct bridge_state {
  uint64_t next_call = 0;
  std::map<caf::actor_addr,
           std::map<uint64_t, std::function<void(const std::string&)>>>
      waiting;

  /// Registers a call on `target` (monitoring the target the first time).
  uint64_t watch(bridge_actor::pointer self, const caf::actor& target,
                 std::function<void(const std::string&)> on_down);

  /// Ends a call; false if it had already failed (its target went down).
  bool done(const caf::actor& target, uint64_t call);
};

/// A job the bridge actor runs: it makes one request and settles one KJ
/// promise.
struct bridge_job {
  std::function<void(bridge_actor::pointer, std::shared_ptr<bridge_state>)> run;
};

} // namespace detail

/// A long-lived actor that makes requests for one KJ event loop (one per RPC
/// service instance): a call costs two mailbox hops, not the spawn,
/// monitor and stop of an actor per call. Calls fail at once
/// when their target is or goes down. Stops its actor when destroyed; calls
/// still waiting then fail.
class actor_bridge {
public:
  explicit actor_bridge(caf::actor_system& sys);
  ~actor_bridge();
  actor_bridge(const actor_bridge&) = delete;
  actor_bridge& operator=(const actor_bridge&) = delete;

  /// Sends `xs...` to `target` and calls `done` once, on the bridge's
  /// actor, with its reply (`R`) or an error whose message is `context`
  /// followed by the failure's (a target that is or goes down fails at
  /// once). `timeout` is a std::chrono duration, or caf::infinite.
  template <class R, class Timeout, class... Ts>
  void call(caf::actor target, Timeout timeout, std::string context,
            std::function<void(caf::expected<R>)> done, Ts... xs) {
    auto d = std::make_shared<std::function<void(caf::expected<R>)>>(
        std::move(done));
    detail::bridge_job job{[=](bridge_actor::pointer self,
                               std::shared_ptr<detail::bridge_state> st) {
      auto call = st->watch(self, target, [d, context](const std::string& why) {
        (*d)(make_error(errc::io_failure,
                        context + "not running (" + why + ")"));
      });
      auto failed = [=](caf::error& err) {
        if (st->done(target, call))
          (*d)(make_error(err == caf::sec::request_timeout ? errc::timeout
                                                           : errc::io_failure,
                          context + describe(err)));
      };
      if constexpr (std::is_void_v<R>)
        self->request(target, timeout, xs...)
            .then(
                [=] {
                  if (st->done(target, call)) (*d)(caf::expected<void>{});
                },
                failed);
      else
        self->request(target, timeout, xs...)
            .then(
                [=](R& r) {
                  if (st->done(target, call)) (*d)(std::move(r));
                },
                failed);
    }};
    post(std::move(job));
  }

  /// call(), settling a KJ promise: resolved with the reply, or rejected
  /// with `context` followed by the error's message.
  template <class R, class Timeout, class... Ts>
  kj::Promise<R> ask(caf::actor target, Timeout timeout, std::string context,
                     Ts... xs) {
    auto paf = kj::newPromiseAndCrossThreadFulfiller<R>();
    auto f = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<R>>>(
        std::move(paf.fulfiller));
    call<R>(
        std::move(target), timeout, std::move(context),
        [f](caf::expected<R> r) {
          if (!r)
            (*f)->reject(rpc_failure(describe(r.error())));
          else if constexpr (std::is_void_v<R>)
            (*f)->fulfill();
          else
            (*f)->fulfill(std::move(*r));
        },
        xs...);
    return std::move(paf.promise);
  }

private:
  void post(detail::bridge_job job);
  bridge_actor actor_;
};

} // namespace troupe
