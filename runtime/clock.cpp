#include "runtime/clock.hpp"

namespace troupe {

clock::~clock() = default;

namespace {

class system_clocks final : public clock {
public:
  time_point now() const override { return std::chrono::steady_clock::now(); }

  int64_t wall_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

} // namespace

clock_ptr real_clock() {
  static const clock_ptr instance = std::make_shared<system_clocks>();
  return instance;
}

manual_clock::manual_clock()
    : mono_ns_(std::chrono::nanoseconds{std::chrono::hours{1}}.count()),
      wall_ns_(default_wall_ms * 1000000) {}

clock::time_point manual_clock::now() const {
  return time_point{std::chrono::nanoseconds{mono_ns_.load()}};
}

int64_t manual_clock::wall_ms() const {
  return wall_ns_.load() / 1000000;
}

void manual_clock::advance(duration d) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  if (ns <= 0) return;
  mono_ns_ += ns;
  wall_ns_ += ns;
}

void manual_clock::set_wall_ms(int64_t ms) {
  wall_ns_ = ms * 1000000;
}

} // namespace troupe
