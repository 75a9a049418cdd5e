// predict_reply: how a router's answer reaches the gateway's KJ promise, and
// how the gateway tells a router that dropped a request from one that
// answered with an error.

#include <catch2/catch.hpp>

#include <kj/async-io.h>

#include "actors/serving/service.hpp"
#include "runtime/bridge.hpp"

using troupe::envelope;
using troupe::serving::make_predict_reply;

TEST_CASE("a predict_reply dropped unanswered rejects its promise as "
          "DISCONNECTED, and an answered one does not",
          "[serving]") {
  auto io = kj::setupAsyncIo();
  {
    auto paf = kj::newPromiseAndCrossThreadFulfiller<envelope>();
    auto reply = make_predict_reply(kj::mv(paf.fulfiller));
    auto copy = reply; // a router keeps copies; the last one decides
    reply.reset();
    CHECK_FALSE(paf.promise.poll(io.waitScope));
    copy.reset();
    try {
      paf.promise.wait(io.waitScope);
      FAIL("a dropped reply was not rejected");
    } catch (const kj::Exception& e) {
      CHECK(e.getType() == kj::Exception::Type::DISCONNECTED);
      CHECK_THAT(std::string{e.getDescription().cStr()},
                 Catch::Contains("dropped"));
    }
  }
  {
    auto paf = kj::newPromiseAndCrossThreadFulfiller<envelope>();
    auto reply = make_predict_reply(kj::mv(paf.fulfiller));
    (*reply)->reject(troupe::rpc_failure("overloaded"));
    reply.reset();
    try {
      paf.promise.wait(io.waitScope);
      FAIL("a rejected reply was fulfilled");
    } catch (const kj::Exception& e) {
      // a router's error is not taken for a dropped request
      CHECK(e.getType() != kj::Exception::Type::DISCONNECTED);
      CHECK(std::string{e.getDescription().cStr()} == "overloaded");
    }
  }
  {
    auto paf = kj::newPromiseAndCrossThreadFulfiller<envelope>();
    auto reply = make_predict_reply(kj::mv(paf.fulfiller));
    (*reply)->fulfill(envelope{});
    reply.reset();
    CHECK_NOTHROW(paf.promise.wait(io.waitScope));
  }
}
