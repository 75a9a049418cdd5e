#include "runtime/buffered_stream.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace troupe {

namespace {

class buffered_stream final : public kj::AsyncIoStream,
                              private kj::TaskSet::ErrorHandler {
public:
  buffered_stream(kj::Own<kj::AsyncIoStream> inner, buffer_sizes sizes)
      : inner_(kj::mv(inner)), sizes_(sizes),
        buf_(kj::heapArray<kj::byte>(std::max<size_t>(sizes.read, 1))) {
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
    kj::ArrayPtr<const kj::byte> piece{static_cast<const kj::byte*>(buffer),
                                       size};
    return write(kj::arrayPtr(&piece, 1));
  }

  kj::Promise<void>
  write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    KJ_IF_MAYBE (e, failed_) {
      return kj::cp(*e);
    }
    size_t total = 0;
    for (auto& p : pieces)
      total += p.size();
    if (!flushing_ && total >= sizes_.direct_bytes)
      return inner_->write(pieces);
    for (auto& p : pieces)
      pending_.insert(pending_.end(), p.begin(), p.end());
    if (!flushing_) {
      flushing_ = true;
      tasks_.add(kj::evalLast([this] { return flush(); }));
    }
    if (pending_.size() <= sizes_.max_pending) return kj::READY_NOW;
    auto paf = kj::newPromiseAndFulfiller<void>();
    waiters_.push_back(kj::mv(paf.fulfiller));
    return kj::mv(paf.promise);
  }

  kj::Promise<void> whenWriteDisconnected() override {
    return inner_->whenWriteDisconnected();
  }

  void shutdownWrite() override {
    if (flushing_)
      shutdown_after_flush_ = true;
    else
      inner_->shutdownWrite();
  }

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

  /// Writes the pending bytes, and those added meanwhile, until none are
  /// left. The writers held back by `max_pending` go on once their bytes
  /// are in the write under way.
  kj::Promise<void> flush() {
    sending_.clear();
    if (pending_.empty()) {
      flushing_ = false;
      if (shutdown_after_flush_) inner_->shutdownWrite();
      return kj::READY_NOW;
    }
    std::swap(pending_, sending_);
    for (auto& w : waiters_)
      w->fulfill();
    waiters_.clear();
    return inner_->write(sending_.data(), sending_.size()).then([this] {
      return flush();
    });
  }

  void taskFailed(kj::Exception&& e) override {
    flushing_ = false;
    pending_.clear();
    for (auto& w : waiters_)
      w->reject(kj::cp(e));
    waiters_.clear();
    failed_ = kj::mv(e);
  }

  kj::Own<kj::AsyncIoStream> inner_;
  buffer_sizes sizes_;
  kj::Array<kj::byte> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  std::vector<kj::byte> pending_; ///< written, not yet handed to `inner_`
  std::vector<kj::byte> sending_; ///< in the write under way
  bool flushing_ = false;         ///< a flush is queued or under way
  bool shutdown_after_flush_ = false;
  std::vector<kj::Own<kj::PromiseFulfiller<void>>> waiters_;
  kj::Maybe<kj::Exception> failed_;
  kj::TaskSet tasks_{*this}; ///< last: goes first, before what it uses
};

} // namespace

kj::Own<kj::AsyncIoStream> buffered(kj::Own<kj::AsyncIoStream> inner,
                                    buffer_sizes sizes) {
  return kj::heap<buffered_stream>(kj::mv(inner), sizes);
}

} // namespace troupe
