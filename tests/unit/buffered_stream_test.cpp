// buffered(): reads served from a user-space buffer, small writes of one
// event-loop turn gathered into one write, on a real socket pair.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <kj/async-io.h>
#include <kj/debug.h>

#include "runtime/buffered_stream.hpp"

namespace {

/// Passes everything to a real stream and records the writes and reads it
/// is asked for; can hold its writes until released, or fail them.
class recording_stream final : public kj::AsyncIoStream {
public:
  explicit recording_stream(kj::Own<kj::AsyncIoStream> inner)
      : inner_(kj::mv(inner)) {}

  std::vector<size_t> writes; ///< size of each write asked for
  size_t reads = 0;           ///< tryRead calls
  bool hold = false;          ///< writes wait for release()
  bool fail = false;          ///< writes fail
  bool shut_down = false;

  void release() {
    hold = false;
    for (auto& f : held_)
      f->fulfill();
    held_.clear();
  }

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes,
                              size_t max_bytes) override {
    ++reads;
    return inner_->tryRead(buffer, min_bytes, max_bytes);
  }

  kj::Promise<void> write(const void* buffer, size_t size) override {
    kj::ArrayPtr<const kj::byte> piece{static_cast<const kj::byte*>(buffer),
                                       size};
    return write(kj::arrayPtr(&piece, 1));
  }

  kj::Promise<void>
  write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    size_t n = 0;
    for (auto& p : pieces)
      n += p.size();
    writes.push_back(n);
    if (fail) return KJ_EXCEPTION(DISCONNECTED, "the peer went away (test)");
    if (!hold) return inner_->write(pieces);
    // copy, since the caller may reuse its memory once this completes
    auto copy = std::make_shared<std::string>();
    for (auto& p : pieces)
      copy->append(reinterpret_cast<const char*>(p.begin()), p.size());
    auto paf = kj::newPromiseAndFulfiller<void>();
    held_.push_back(kj::mv(paf.fulfiller));
    return paf.promise.then(
        [this, copy] { return inner_->write(copy->data(), copy->size()); });
  }

  kj::Promise<void> whenWriteDisconnected() override {
    return inner_->whenWriteDisconnected();
  }
  void shutdownWrite() override {
    shut_down = true;
    inner_->shutdownWrite();
  }

private:
  kj::Own<kj::AsyncIoStream> inner_;
  std::vector<kj::Own<kj::PromiseFulfiller<void>>> held_;
};

/// A buffered stream over a recording stream over one end of a socket pair.
struct pair {
  kj::AsyncIoContext& io;
  kj::Own<kj::AsyncIoStream> peer;
  recording_stream* rec = nullptr;
  kj::Own<kj::AsyncIoStream> stream;

  pair(kj::AsyncIoContext& io, troupe::buffer_sizes sizes = {}) : io(io) {
    auto p = io.provider->newTwoWayPipe();
    peer = kj::mv(p.ends[1]);
    auto r = kj::heap<recording_stream>(kj::mv(p.ends[0]));
    rec = r.get();
    stream = troupe::buffered(kj::mv(r), sizes);
  }

  /// Reads exactly n bytes on the peer's end.
  std::string peer_reads(size_t n) {
    std::string out(n, '\0');
    peer->read(out.data(), n).wait(io.waitScope);
    return out;
  }
};

} // namespace

TEST_CASE("small writes of one turn reach the socket as one write, in order",
          "[buffered_stream]") {
  auto io = kj::setupAsyncIo();
  pair p{io};
  // as Cap'n Proto writes: each message once the last is written (a Finish,
  // then the next Call)
  std::string a(40, 'a'), b(300, 'b'), c(7, 'c');
  auto done = p.stream->write(a.data(), a.size())
                  .then([&] { return p.stream->write(b.data(), b.size()); })
                  .then([&] { return p.stream->write(c.data(), c.size()); });
  done.wait(io.waitScope);
  CHECK(p.peer_reads(a.size() + b.size() + c.size()) == a + b + c);
  CHECK(p.rec->writes == std::vector<size_t>{347});

  // the next turn's writes go in a write of their own
  p.stream->write(c.data(), c.size()).wait(io.waitScope);
  CHECK(p.peer_reads(c.size()) == c);
  CHECK(p.rec->writes == std::vector<size_t>{347, 7});
}

TEST_CASE("a large write with nothing pending goes straight through and "
          "one behind pending bytes keeps its place",
          "[buffered_stream]") {
  auto io = kj::setupAsyncIo();
  pair p{io, troupe::buffer_sizes{64 * 1024, 1000, 1 << 20}};
  std::string big(5000, 'B'), small(10, 's');
  p.stream->write(big.data(), big.size()).wait(io.waitScope);
  CHECK(p.rec->writes == std::vector<size_t>{5000});
  CHECK(p.peer_reads(big.size()) == big);

  auto done = p.stream->write(small.data(), small.size()).then([&] {
    return p.stream->write(big.data(), big.size());
  });
  done.wait(io.waitScope);
  io.waitScope.poll(); // the flush
  CHECK(p.rec->writes == std::vector<size_t>{5000, 5010});
  CHECK(p.peer_reads(small.size() + big.size()) == small + big);
}

TEST_CASE("past max_pending a write completes only when the earlier bytes "
          "are under way",
          "[buffered_stream]") {
  auto io = kj::setupAsyncIo();
  pair p{io, troupe::buffer_sizes{64 * 1024, 1 << 20, 100}};
  std::string a(60, 'a'), b(60, 'b'), c(60, 'c');
  p.rec->hold = true;
  auto wa = p.stream->write(a.data(), a.size());
  CHECK(wa.poll(io.waitScope)); // buffered
  io.waitScope.poll();          // the flush starts, and is held
  CHECK(p.rec->writes == std::vector<size_t>{60});
  auto wb = p.stream->write(b.data(), b.size());
  CHECK(wb.poll(io.waitScope)); // 60 pending: under the bound
  auto wc = p.stream->write(c.data(), c.size());
  CHECK_FALSE(wc.poll(io.waitScope)); // 120 pending, the write held
  p.rec->release();
  CHECK(wc.poll(io.waitScope));
  wc.wait(io.waitScope);
  CHECK(p.peer_reads(180) == a + b + c);
  CHECK(p.rec->writes == std::vector<size_t>{60, 120});
}

TEST_CASE("shutdownWrite waits for the pending bytes", "[buffered_stream]") {
  auto io = kj::setupAsyncIo();
  pair p{io};
  std::string a(50, 'a');
  p.stream->write(a.data(), a.size()).wait(io.waitScope);
  p.stream->shutdownWrite(); // the 50 bytes are not written yet
  CHECK(p.rec->writes.empty());
  CHECK_FALSE(p.rec->shut_down);
  auto all = p.peer->readAllText().wait(io.waitScope);
  CHECK(std::string{all.cStr()} == a);
  CHECK(p.rec->shut_down);
}

TEST_CASE("a failed flush fails every later write", "[buffered_stream]") {
  auto io = kj::setupAsyncIo();
  pair p{io};
  p.rec->fail = true;
  std::string a(50, 'a');
  p.stream->write(a.data(), a.size()).wait(io.waitScope); // accepted
  io.waitScope.poll();                                    // the flush fails
  CHECK_THROWS_WITH(p.stream->write(a.data(), a.size()).wait(io.waitScope),
                    Catch::Contains("the peer went away"));
  std::string big(100 * 1024, 'b');
  CHECK_THROWS_WITH(p.stream->write(big.data(), big.size()).wait(io.waitScope),
                    Catch::Contains("the peer went away"));
  CHECK(p.rec->writes.size() == 1);
}

TEST_CASE("messages that arrive together are read with one read of the "
          "socket",
          "[buffered_stream]") {
  auto io = kj::setupAsyncIo();
  pair p{io};
  std::string both = std::string(8, 'h') + std::string(200, 'm');
  p.peer->write(both.data(), both.size()).wait(io.waitScope);
  char head[8], body[200];
  p.stream->read(head, sizeof head).wait(io.waitScope);
  p.stream->read(body, sizeof body).wait(io.waitScope);
  CHECK(std::string(head, 8) == both.substr(0, 8));
  CHECK(std::string(body, 200) == both.substr(8));
  CHECK(p.rec->reads == 1);
}
