// GPU utilisation through NVML: loaded when there is a library, and
// absent, with the reason, when there is none or it is not NVML.

#include <catch2/catch.hpp>

#include "runtime/gpu_usage.hpp"

using troupe::gpu_usage;

TEST_CASE("without NVML the GPU monitor is absent and says which library it "
          "tried",
          "[gpu-usage]") {
  gpu_usage none{"/nonexistent/libnvidia-ml.so.1"};
  CHECK_FALSE(none.present());
  CHECK(none.devices() == 0);
  CHECK_THAT(none.why_absent(),
             Catch::Contains("/nonexistent/libnvidia-ml.so.1"));
  CHECK_FALSE(none.utilisation(0).has_value());
  CHECK_FALSE(none.utilisation().has_value());
  // a library that is not NVML
  gpu_usage other{"libz.so.1"};
  CHECK_FALSE(other.present());
  CHECK_THAT(other.why_absent(), Catch::Contains("lacks the functions"));
}

TEST_CASE("the process's GPU monitor reads a busy share between 0 and 1 on "
          "each device NVML sees, or names why there is none",
          "[gpu-usage]") {
  auto& g = gpu_usage::get();
  if (!g.present()) {
    CHECK_FALSE(g.why_absent().empty());
    CHECK_FALSE(g.utilisation().has_value());
    return;
  }
  CHECK(g.why_absent().empty());
  for (unsigned i = 0; i < g.devices(); ++i) {
    auto u = g.utilisation(i);
    REQUIRE(u.has_value());
    CHECK(*u >= 0.0);
    CHECK(*u <= 1.0);
  }
  CHECK_FALSE(g.utilisation(g.devices()).has_value());
}
