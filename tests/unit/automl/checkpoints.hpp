#pragma once

// What the study tests hand a study as a trial's checkpoint: the quadratic
// family's step as 8 little-endian bytes. The study keeps checkpoints opaque,
// so any bytes do; these let a test read back the step it resumed from.

#include <cstdint>
#include <vector>

namespace troupe::test_studies {

/// The checkpoint of a trial at `step`.
inline std::vector<uint8_t> checkpoint_of(uint64_t step) {
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<uint8_t>(step >> (8 * i));
  return out;
}

/// The step a checkpoint made by checkpoint_of holds.
inline uint64_t step_of(const std::vector<uint8_t>& cp) {
  uint64_t step = 0;
  for (size_t i = 0; i < cp.size() && i < 8; ++i)
    step |= uint64_t{cp[i]} << (8 * i);
  return step;
}

} // namespace troupe::test_studies
