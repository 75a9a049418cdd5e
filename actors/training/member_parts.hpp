#pragma once

// A model its gang's members hold in parts (a pipeline's stages, a
// tensor-parallel job's ranks), sent one by one as JobCheckpoints whose
// modelConfig names the member's index: whole once every member's part of
// one step is in. Kept by the job's coordinator.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "runtime/envelope.hpp"

namespace troupe::training {

class member_parts {
public:
  explicit member_parts(uint32_t members = 0) : members_(members) {}

  /// Adds a member's part of `step`: every member's part in member order
  /// once all are in (the parts of that step and older ones are then
  /// dropped); nothing while some are missing, or for a part that names no
  /// member.
  std::optional<std::vector<std::vector<uint8_t>>> add(const envelope& ckpt,
                                                       uint64_t step);

  void clear() { pending_.clear(); }

private:
  uint32_t members_;
  std::map<uint64_t, std::vector<std::vector<uint8_t>>> pending_;
};

} // namespace troupe::training
