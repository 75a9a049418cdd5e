#include "actors/training/member_parts.hpp"

#include <string>

#include "actors/training/job_run.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

std::optional<std::vector<std::vector<uint8_t>>>
member_parts::add(const envelope& ckpt, uint64_t step) {
  auto part = ckpt.visit<schema::JobCheckpoint>(
      [](auto c) {
        auto m = c.getModel();
        return std::make_pair(std::string{c.getModelConfig().cStr()},
                              std::vector<uint8_t>(m.begin(), m.end()));
      },
      whole_message);
  if (!part || part->first.empty() ||
      part->first.find_first_not_of("0123456789") != std::string::npos ||
      part->first.size() > 6)
    return std::nullopt;
  auto k = std::stoul(part->first);
  if (k >= members_ || part->second.empty()) return std::nullopt;
  auto& parts = pending_[step];
  parts.resize(members_);
  parts[k] = std::move(part->second);
  for (auto& p : parts)
    if (p.empty()) return std::nullopt;
  auto whole = std::move(parts);
  pending_.erase(pending_.begin(), pending_.upper_bound(step));
  return whole;
}

} // namespace troupe::training
