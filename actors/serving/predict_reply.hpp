#pragma once

// How the gateway's predict is answered without a reply hop through an
// actor: the router settles a KJ promise on the gateway's thread directly.

#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>
#include <kj/async.h>

#include "runtime/envelope.hpp"

namespace troupe::serving {

/// Where the router sends the answer of a gateway's predict: the fulfiller
/// of a promise on the gateway's KJ thread (thread-safe). Made by
/// make_predict_reply.
using predict_reply =
    std::shared_ptr<kj::Own<kj::CrossThreadPromiseFulfiller<envelope>>>;

/// A predict_reply for `f`. Dropping its last copy unanswered (a router
/// that is gone drops its messages) rejects the promise with a
/// DISCONNECTED exception, which no answer of a router carries.
inline predict_reply
make_predict_reply(kj::Own<kj::CrossThreadPromiseFulfiller<envelope>> f) {
  using own = kj::Own<kj::CrossThreadPromiseFulfiller<envelope>>;
  return predict_reply{
      new own(kj::mv(f)), [](own* p) {
        if ((*p)->isWaiting())
          (*p)->reject(kj::Exception(kj::Exception::Type::DISCONNECTED,
                                     __FILE__, __LINE__,
                                     kj::heapString("the router dropped the "
                                                    "request")));
        delete p;
      }};
}

} // namespace troupe::serving

// A predict_reply only ever travels to a local actor, never over the wire.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::serving::predict_reply)
