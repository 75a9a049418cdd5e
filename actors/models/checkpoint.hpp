#pragma once

// Checkpoints as Cap'n Proto messages (schemas/models.capnp): a trainable
// builds its checkpoint struct and flattens it with `checkpoint_bytes`, and
// reads one back with `read_checkpoint`, which checks the framing first and
// turns every Cap'n Proto failure into an error value.

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>

namespace troupe::models {

/// The flat bytes of a built message (segment table, then the segments).
std::vector<uint8_t> checkpoint_bytes(capnp::MessageBuilder& message);

namespace detail {

/// Copies `bytes` into aligned words after checking that they frame one
/// whole message; errors (`errc::malformed_message`) start with `what` and
/// the size and say "truncated" when bytes are missing.
caf::expected<kj::Array<capnp::word>>
checkpoint_words(const std::vector<uint8_t>& bytes, const std::string& what);

/// The error for a message that is framed but cannot be read.
caf::error unreadable_checkpoint(const std::string& what, size_t size,
                                 const char* why);

} // namespace detail

/// Reads `bytes` as a message with root `T` and returns `f(T::Reader)`.
/// `what` names the checkpoint in errors ("XGBoost checkpoint"). Blobs that
/// are not such a message (including the little-endian layouts of older
/// troupe versions) give an `errc::malformed_message` error.
template <class T, class F>
auto read_checkpoint(const std::vector<uint8_t>& bytes, const std::string& what,
                     F&& f) -> std::invoke_result_t<F, typename T::Reader> {
  auto words = detail::checkpoint_words(bytes, what);
  if (!words) return words.error();
  capnp::ReaderOptions options;
  // each byte is read once; models are larger than the default limit allows
  options.traversalLimitInWords = 2 * words->size() + 1024;
  try {
    capnp::FlatArrayMessageReader reader{*words, options};
    return f(reader.getRoot<T>());
  } catch (const kj::Exception& e) {
    return detail::unreadable_checkpoint(what, bytes.size(),
                                         e.getDescription().cStr());
  }
}

} // namespace troupe::models
