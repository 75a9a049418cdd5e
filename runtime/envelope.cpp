#include "runtime/envelope.hpp"

#include <cstring>
#include <map>
#include <mutex>

#include <capnp/dynamic.h>
#include <capnp/schema.h>
#include <kj/exception.h>

#include "runtime/type_ids.hpp"
#include "schemas/cluster.capnp.h"
#include "schemas/common.capnp.h"

namespace troupe {

namespace {

struct schema_table {
  std::mutex mtx;
  std::map<uint64_t, capnp::Schema> by_id;

  schema_table() {
    for (auto s : {capnp::Schema::from<schema::TextMessage>(),
                   capnp::Schema::from<schema::Failure>(),
                   capnp::Schema::from<schema::KeyValue>(),
                   capnp::Schema::from<schema::NodeInfo>(),
                   capnp::Schema::from<schema::ActorInfo>(),
                   capnp::Schema::from<schema::JoinRequest>(),
                   capnp::Schema::from<schema::JoinReply>(),
                   capnp::Schema::from<schema::Heartbeat>(),
                   capnp::Schema::from<schema::SpawnRequest>(),
                   capnp::Schema::from<schema::ActorStats>(),
                   capnp::Schema::from<schema::StatsList>(),
                   capnp::Schema::from<schema::Snapshot>(),
                   capnp::Schema::from<schema::DirectoryEvent>(),
                   capnp::Schema::from<schema::SlotWant>(),
                   capnp::Schema::from<schema::SlotLease>(),
                   capnp::Schema::from<schema::SlotHolder>()})
      by_id.emplace(s.getProto().getId(), s);
  }
};

schema_table& schemas() {
  static schema_table table;
  return table;
}

std::string hex(uint64_t x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%016llx",
                static_cast<unsigned long long>(x));
  return buf;
}

} // namespace

envelope::envelope(uint64_t type_id, buffer words)
    : type_id_(type_id),
      buf_(std::make_shared<const buffer>(std::move(words))) {
  // nop
}

caf::expected<envelope> envelope::from_bytes(uint64_t type_id,
                                             const void* bytes, size_t size) {
  if (size % sizeof(capnp::word) != 0)
    return make_error(errc::malformed_message,
                      "envelope of type " + hex(type_id) + " has " +
                          std::to_string(size) +
                          " bytes, not a whole number of 8-byte words");
  if (size > max_envelope_bytes)
    return make_error(errc::malformed_message,
                      "envelope of " + std::to_string(size) +
                          " bytes exceeds the limit of " +
                          std::to_string(max_envelope_bytes));
  auto words = kj::heapArray<capnp::word>(size / sizeof(capnp::word));
  if (size > 0) std::memcpy(words.begin(), bytes, size);
  return envelope{type_id, std::move(words)};
}

kj::ArrayPtr<const capnp::word> envelope::words() const noexcept {
  if (!buf_) return nullptr;
  return buf_->asPtr();
}

caf::error envelope::check(uint64_t expected,
                           kj::StringPtr (*expected_name)()) const {
  if (type_id_ != expected)
    return make_error(errc::type_mismatch,
                      "envelope holds " + schema_name(type_id_) +
                          ", expected " + expected_name().cStr() + " (" +
                          hex(expected) + ")");
  if (empty())
    return make_error(errc::malformed_message,
                      std::string{"envelope claiming "} +
                          expected_name().cStr() + " carries no bytes");
  return caf::none;
}

caf::error envelope::save(caf::serializer& sink) const {
  uint64_t bytes = size_bytes();
  uint64_t tid = type_id_;
  if (auto err = sink(tid, bytes)) return err;
  if (bytes == 0) return caf::none;
  return sink.apply_raw(bytes, const_cast<void*>(data()));
}

caf::error envelope::load(caf::deserializer& source) {
  uint64_t tid = 0;
  uint64_t bytes = 0;
  if (auto err = source(tid, bytes)) return err;
  if (bytes % sizeof(capnp::word) != 0 || bytes > max_envelope_bytes)
    return make_error(errc::malformed_message, "envelope on the wire claims " +
                                                   std::to_string(bytes) +
                                                   " bytes");
  auto words = kj::heapArray<capnp::word>(bytes / sizeof(capnp::word));
  if (bytes > 0)
    if (auto err = source.apply_raw(bytes, words.begin())) return err;
  type_id_ = tid;
  buf_ = std::make_shared<const buffer>(std::move(words));
  return caf::none;
}

void register_schema(capnp::Schema schema) {
  auto& t = schemas();
  std::lock_guard<std::mutex> guard{t.mtx};
  t.by_id.emplace(schema.getProto().getId(), schema);
}

std::string schema_name(uint64_t type_id) {
  auto& t = schemas();
  std::lock_guard<std::mutex> guard{t.mtx};
  auto i = t.by_id.find(type_id);
  if (i == t.by_id.end()) return "unknown type " + hex(type_id);
  return std::string{i->second.getShortDisplayName().cStr()} + " (" +
         hex(type_id) + ")";
}

std::string to_text(const envelope& x) {
  capnp::Schema schema;
  bool known = false;
  {
    auto& t = schemas();
    std::lock_guard<std::mutex> guard{t.mtx};
    auto i = t.by_id.find(x.type_id());
    if (i != t.by_id.end()) {
      schema = i->second;
      known = true;
    }
  }
  if (!known || x.empty())
    return "<" + schema_name(x.type_id()) + ", " +
           std::to_string(x.size_bytes()) + " bytes>";
  try {
    capnp::FlatArrayMessageReader reader{x.words()};
    auto root = reader.getRoot<capnp::DynamicStruct>(schema.asStruct());
    return kj::str(root).cStr();
  } catch (const kj::Exception& e) {
    return "<malformed " + schema_name(x.type_id()) + ": " +
           e.getDescription().cStr() + ">";
  }
}

namespace detail {

caf::error kj_failure(const char* what, uint64_t type_id) {
  return make_error(errc::malformed_message, "envelope bytes are not a valid " +
                                                 schema_name(type_id) + ": " +
                                                 what);
}

} // namespace detail

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::troupe>();
  cfg.add_error_category(error_category, [](uint8_t code, caf::atom_value,
                                            const caf::message& ctx) {
    return describe(caf::error{code, error_category, ctx});
  });
}

} // namespace troupe
