#include "actors/models/checkpoint.hpp"

#include <cstring>

#include "runtime/errors.hpp"

namespace troupe::models {

std::vector<uint8_t> checkpoint_bytes(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return {bytes.begin(), bytes.end()};
}

namespace detail {

caf::expected<kj::Array<capnp::word>>
checkpoint_words(const std::vector<uint8_t>& bytes, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::malformed_message,
                      what + " of " + std::to_string(bytes.size()) +
                          " bytes: " + why +
                          " (not a Cap'n Proto checkpoint; the layouts of "
                          "older troupe versions are not read)");
  };
  constexpr size_t word = sizeof(capnp::word);
  if (bytes.empty() || bytes.size() % word != 0)
    return bad("truncated, not a whole number of 8-byte words");
  auto words = kj::heapArray<capnp::word>(bytes.size() / word);
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  try {
    auto need = capnp::expectedSizeInWordsFromPrefix(words);
    if (need > words.size())
      return bad("truncated, the message needs " + std::to_string(need * word) +
                 " bytes");
    if (need < words.size())
      return bad(std::to_string((words.size() - need) * word) +
                 " bytes after the message");
  } catch (const kj::Exception& e) {
    return bad(e.getDescription().cStr());
  }
  return words;
}

caf::error unreadable_checkpoint(const std::string& what, size_t size,
                                 const char* why) {
  return make_error(errc::malformed_message,
                    what + " of " + std::to_string(size) +
                        " bytes cannot be read: " + why);
}

} // namespace detail

} // namespace troupe::models
