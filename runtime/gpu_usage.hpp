#pragma once

// GPU utilisation through NVIDIA's management library (NVML): loaded at
// first use from libnvidia-ml.so.1 (the driver's, or $TROUPE_NVML_LIBRARY)
// when there is one, never required. A machine without a GPU or driver
// answers "absent" with the reason.

#include <memory>
#include <optional>
#include <string>

namespace troupe {

class gpu_usage {
public:
  /// The process's monitor: NVML ($TROUPE_NVML_LIBRARY, else
  /// libnvidia-ml.so.1) loaded and initialised once.
  static const gpu_usage& get();

  /// NVML from `library` (a name dlopen() looks up, or a path).
  explicit gpu_usage(const std::string& library);
  gpu_usage(gpu_usage&&) noexcept;
  ~gpu_usage();

  /// Whether NVML is loaded, initialised and sees a device.
  bool present() const { return devices_ > 0; }
  /// Devices NVML sees (0 when absent).
  unsigned devices() const { return devices_; }
  /// Why there is none (the library tried, or NVML's error); empty when
  /// present.
  const std::string& why_absent() const { return why_; }

  /// The share of time (0..1) device `index` was busy over NVML's last
  /// sample period; nullopt when absent or the device is not there.
  std::optional<double> utilisation(unsigned index) const;
  /// The device this process uses: the first of $CUDA_VISIBLE_DEVICES when
  /// it names an index, else 0.
  std::optional<double> utilisation() const;

private:
  struct api;
  std::unique_ptr<api> api_;
  unsigned devices_ = 0;
  std::string why_;
};

} // namespace troupe
