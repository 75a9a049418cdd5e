#include "runtime/buffered_stream.hpp"

#include <algorithm>
#include <cstring>

namespace troupe {

namespace {

class buffered_stream final : public kj::AsyncIoStream {
public:
  buffered_stream(kj::Own<kj::AsyncIoStream> inner, size_t capacity)
      : inner_(kj::mv(inner)), buf_(kj::heapArray<kj::byte>(capacity)) {
    // nop
  }

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes,
                              size_t max_bytes) override {
    auto out = static_cast<kj::byte*>(buffer);
    size_t n = take(out, max_bytes);
    if (n >= min_bytes) return n;
    out += n;
    min_bytes -= n;
    max_bytes -= n;
    if (max_bytes >= buf_.size())
      return inner_->tryRead(out, min_bytes, max_bytes).then([n](size_t got) {
        return n + got;
      });
    return inner_->tryRead(buf_.begin(), min_bytes, buf_.size())
        .then([this, out, n, max_bytes](size_t got) {
          begin_ = 0;
          end_ = got;
          return n + take(out, max_bytes);
        });
  }

  kj::Promise<void> write(const void* buffer, size_t size) override {
    return inner_->write(buffer, size);
  }

  kj::Promise<void>
  write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner_->write(pieces);
  }

  kj::Promise<void> whenWriteDisconnected() override {
    return inner_->whenWriteDisconnected();
  }

  void shutdownWrite() override { inner_->shutdownWrite(); }

  void abortRead() override { inner_->abortRead(); }

  void getsockopt(int level, int option, void* value, uint* length) override {
    inner_->getsockopt(level, option, value, length);
  }

  void setsockopt(int level, int option, const void* value,
                  uint length) override {
    inner_->setsockopt(level, option, value, length);
  }

  void getsockname(struct sockaddr* addr, uint* length) override {
    inner_->getsockname(addr, length);
  }

  void getpeername(struct sockaddr* addr, uint* length) override {
    inner_->getpeername(addr, length);
  }

  kj::Maybe<int> getFd() const override { return inner_->getFd(); }

private:
  /// Moves up to `max` buffered bytes to `out`; returns how many.
  size_t take(kj::byte* out, size_t max) {
    auto n = std::min(max, end_ - begin_);
    if (n > 0) std::memcpy(out, buf_.begin() + begin_, n);
    begin_ += n;
    return n;
  }

  kj::Own<kj::AsyncIoStream> inner_;
  kj::Array<kj::byte> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

} // namespace

kj::Own<kj::AsyncIoStream> buffered(kj::Own<kj::AsyncIoStream> inner,
                                    size_t capacity) {
  return kj::heap<buffered_stream>(kj::mv(inner), capacity);
}

} // namespace troupe
