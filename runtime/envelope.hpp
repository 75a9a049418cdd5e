#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

#include <caf/deserializer.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/serializer.hpp>
#include <capnp/generated-header-support.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/array.h>

#include "runtime/errors.hpp"

namespace troupe {

/// Limits applied when an envelope's bytes are read as a Cap'n Proto message.
struct reader_limits {
  /// Words the reader may traverse before it gives up (amplification guard).
  uint64_t traversal_words = 8 * 1024 * 1024;
  /// Deepest pointer nesting accepted.
  int nesting = 64;
};

/// Largest envelope accepted from the wire (bytes).
constexpr size_t max_envelope_bytes = 512u * 1024 * 1024;

/// The one CAF message type that carries any Cap'n Proto struct: the flat
/// words of a message plus its root struct's capnp type id. Copies share the
/// buffer, so in-process sends never copy the payload; across nodes the bytes
/// are written to the wire as they are.
class envelope {
public:
  using buffer = kj::Array<capnp::word>;

  envelope() = default;

  /// Takes ownership of flat message words claiming to hold `type_id`.
  envelope(uint64_t type_id, buffer words);

  /// Flattens a built message whose root is a `T`.
  template <class T>
  static envelope of(capnp::MessageBuilder& message) {
    return envelope{capnp::typeId<T>(), capnp::messageToFlatArray(message)};
  }

  /// Copies `bytes` (a flat message, any alignment) into a new envelope.
  static caf::expected<envelope> from_bytes(uint64_t type_id, const void* bytes,
                                            size_t size);

  /// The capnp type id of the root struct.
  uint64_t type_id() const noexcept { return type_id_; }

  /// The flat message words (empty for a default-constructed envelope).
  kj::ArrayPtr<const capnp::word> words() const noexcept;

  /// Size of the payload in bytes.
  size_t size_bytes() const noexcept {
    return words().size() * sizeof(capnp::word);
  }

  /// True if no payload is attached.
  bool empty() const noexcept { return !buf_ || buf_->size() == 0; }

  /// Address of the first payload byte; equal across copies (shared buffer).
  const void* data() const noexcept { return words().begin(); }

  /// Checks that this envelope claims to hold a `T` and that its bytes are a
  /// well-formed message within `limits`, then calls `f(T::Reader)`. Any
  /// Cap'n Proto failure while `f` reads is turned into an error value, so a
  /// malformed payload can never escape a handler as an exception.
  template <class T, class F>
  auto visit(F&& f, reader_limits limits = {}) const
      -> caf::expected<std::invoke_result_t<F, typename T::Reader>>;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, envelope& x);

private:
  /// Checks the type id; `expected_name` is called only to word an error.
  caf::error check(uint64_t expected, kj::StringPtr (*expected_name)()) const;
  caf::error save(caf::serializer& sink) const;
  caf::error load(caf::deserializer& source);

  uint64_t type_id_ = 0;
  std::shared_ptr<const buffer> buf_;
};

/// Builds a message with root `T`, fills it with `fill(T::Builder)`, and
/// wraps it in an envelope.
template <class T, class F>
envelope make_envelope(F&& fill) {
  // A small first segment (512 bytes; later ones grow with the message):
  // capnp's default of 8 KiB, zeroed, cost a large calloc per small message
  // on hot paths (predictions, replies), which the flat copy below repeats.
  capnp::MallocMessageBuilder message{64};
  fill(message.initRoot<T>());
  return envelope::of<T>(message);
}

/// Human-readable name of a capnp type id, if its schema is linked in.
std::string schema_name(uint64_t type_id);

/// Renders the payload in Cap'n Proto text form when its schema is known, or
/// as "<type-id, N bytes>" otherwise. Never throws.
std::string to_text(const envelope& x);

/// Registers a schema so that schema_name and to_text know it.
void register_schema(capnp::Schema schema);

template <class T>
void register_schema() {
  register_schema(capnp::Schema::from<T>());
}

namespace detail {
std::string describe_kj_exception(const void* exception);
caf::error kj_failure(const char* what, uint64_t type_id);
} // namespace detail

template <class T, class F>
auto envelope::visit(F&& f, reader_limits limits) const
    -> caf::expected<std::invoke_result_t<F, typename T::Reader>> {
  using result = std::invoke_result_t<F, typename T::Reader>;
  if (auto err = check(capnp::typeId<T>(), [] {
        return capnp::Schema::from<T>().getShortDisplayName();
      }))
    return err;
  capnp::ReaderOptions options;
  options.traversalLimitInWords = limits.traversal_words;
  options.nestingLimit = limits.nesting;
  try {
    capnp::FlatArrayMessageReader reader{words(), options};
    auto root = reader.getRoot<T>();
    if constexpr (std::is_void_v<result>) {
      f(root);
      return caf::expected<void>{};
    } else {
      return caf::expected<result>{f(root)};
    }
  } catch (const kj::Exception& e) {
    return detail::kj_failure(e.getDescription().cStr(), type_id_);
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, envelope& x) {
  if constexpr (std::is_base_of_v<caf::serializer, Inspector>) {
    return x.save(f);
  } else if constexpr (std::is_base_of_v<caf::deserializer, Inspector>) {
    return x.load(f);
  } else {
    // String conversion and other inspectors see a summary.
    uint64_t bytes = x.size_bytes();
    return f(caf::meta::type_name("troupe::envelope"), x.type_id_, bytes);
  }
}

} // namespace troupe
