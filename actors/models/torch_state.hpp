#pragma once

// A part of a net as the torch plugin saves it (pipeline stages,
// tensor-parallel ranks): a format name, the fields that say which part it
// is, each parameter in order and the optimizer's state, in one archive
// written through the caller's sink; read back only into the same part.
// Included by the plugin's torch code only.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace troupe::models::torch_plugin {

/// Which part: (name, value) pairs that must match on load.
using part_fields = std::vector<std::pair<std::string, int64_t>>;

inline void save_part(const char* format, const part_fields& fields,
                      const std::vector<torch::Tensor>& params,
                      torch::optim::Optimizer& optimizer, void* sink,
                      void (*write)(void* sink, const void* data,
                                    size_t size)) {
  torch::serialize::OutputArchive a;
  a.write("format", c10::IValue(std::string{format}));
  for (auto& [k, v] : fields)
    a.write(k, c10::IValue(v));
  for (size_t i = 0; i < params.size(); ++i)
    a.write("p" + std::to_string(i), params[i]);
  torch::serialize::OutputArchive opt;
  optimizer.save(opt);
  a.write("optimizer", opt);
  a.save_to([&](const void* data, size_t size) -> size_t {
    write(sink, data, size);
    return size;
  });
}

/// Throws std::invalid_argument naming `what` when the bytes are no such
/// part, or another one (its fields, then ours, in the message).
inline void load_part(const char* format, const std::string& what,
                      const part_fields& fields,
                      const std::vector<torch::Tensor>& params,
                      torch::optim::Optimizer& optimizer, const void* bytes,
                      size_t size) {
  torch::serialize::InputArchive a;
  a.load_from(static_cast<const char*>(bytes), size);
  c10::IValue v;
  if (!a.try_read("format", v) || !v.isString() || v.toStringRef() != format)
    throw std::invalid_argument("not " + what);
  std::string theirs, ours;
  bool same = true;
  for (auto& [k, want] : fields) {
    c10::IValue got;
    auto n = a.try_read(k, got) && got.isInt() ? got.toInt() : int64_t{-1};
    same = same && n == want;
    theirs += (theirs.empty() ? "" : ", ") + k + " " + std::to_string(n);
    ours += (ours.empty() ? "" : ", ") + k + " " + std::to_string(want);
  }
  if (!same)
    throw std::invalid_argument("the state is of another part (" + theirs +
                                "; this one is " + ours + ")");
  torch::NoGradGuard off;
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor t;
    a.read("p" + std::to_string(i), t);
    if (!t.sizes().equals(params[i].sizes()))
      throw std::invalid_argument("the state's parameter " + std::to_string(i) +
                                  " has another shape");
    params[i].copy_(t);
  }
  torch::serialize::InputArchive opt;
  a.read("optimizer", opt);
  optimizer.load(opt);
}

} // namespace troupe::models::torch_plugin
