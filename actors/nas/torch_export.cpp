// Inside the NAS plugin: a whole network written as a TorchScript module.
// LibTorch's C++ API cannot script a C++ module, so this writes the forward
// pass as TorchScript source over the network's own tensors (registered as
// the module's parameters and buffers), the same operations in the same
// order as net::walker::run with batch norm on the running statistics.

#include "actors/nas/torch_net.hpp"

#include <sstream>

#include <torch/script.h>

namespace troupe::nas::plugin {

namespace {

/// A TorchScript attribute name for a tensor name ("s0.b1.ex.w" ->
/// "s0_b1_ex_w").
std::string attr(std::string name) {
  for (auto& c : name)
    if (c == '.') c = '_';
  return name;
}

/// Emits TorchScript lines for the walk of a whole network.
struct emitter {
  std::ostringstream src;

  void line(const std::string& s) { src << "        " << s << "\n"; }

  /// out = bn(conv(in)).
  std::string conv_bn(const std::string& in, const std::string& name, int k,
                      int stride, int groups) {
    std::ostringstream o;
    o << "torch.batch_norm(torch.conv2d(" << in << ", self." << attr(name)
      << "_w, None, [" << stride << ", " << stride << "], [" << k / 2 << ", "
      << k / 2 << "], [1, 1], " << groups << "), self." << attr(name)
      << "_bn_g, self." << attr(name) << "_bn_b, self." << attr(name)
      << "_bn_m, self." << attr(name) << "_bn_v, False, 0.0, 1e-05, False)";
    return o.str();
  }

  std::string linear(const std::string& in, const std::string& name) {
    return "torch.linear(" + in + ", self." + attr(name) + "_w, self." +
           attr(name) + "_b)";
  }
};

std::string forward_source(const layout& s) {
  emitter e;
  e.src << "def forward(self, x):\n";
  e.src << "        h = x.reshape([-1, " << s.in << ", " << s.image << ", "
        << s.image << "])\n";
  e.src.precision(17);
  e.src << "        h = (h / 255.0 - " << pixel_mean << ") / " << pixel_std
        << "\n";
  if (s.kind == "lenet") {
    auto k = s.stages[0].blocks[0].kernel;
    e.line("h = torch.relu(" + e.conv_bn("h", "c1", k, 1, 1) + ")");
    e.line("h = torch.max_pool2d(h, [2, 2])");
    e.line("h = torch.relu(" + e.conv_bn("h", "c2", k, 1, 1) + ")");
    e.line("h = torch.flatten(torch.max_pool2d(h, [2, 2]), 1)");
    e.line("h = torch.relu(" + e.linear("h", "f1") + ")");
    e.line("return " + e.linear("h", "f2"));
    return e.src.str();
  }
  e.line("h = torch.relu(" + e.conv_bn("h", "stem", 3, 1, 1) + ")");
  int c = s.stem;
  for (size_t si = 0; si < s.stages.size(); ++si) {
    auto& st = s.stages[si];
    for (size_t bi = 0; bi < st.blocks.size(); ++bi) {
      auto& b = st.blocks[bi];
      auto p = "s" + std::to_string(si) + ".b" + std::to_string(bi);
      int stride = bi == 0 ? st.stride : 1;
      int o = st.width;
      if (s.kind == "mobilenet") {
        e.line("y = torch.relu(" + e.conv_bn("h", p + ".ex", 1, 1, 1) + ")");
        e.line("y = torch.relu(" +
               e.conv_bn("y", p + ".dw", b.kernel, stride, b.hidden) + ")");
        e.line("y = " + e.conv_bn("y", p + ".pw", 1, 1, 1));
        e.line(stride == 1 && c == o ? "h = y + h" : "h = y");
      } else {
        e.line("y = torch.relu(" +
               e.conv_bn("h", p + ".c1", b.kernel, stride, 1) + ")");
        e.line("y = " + e.conv_bn("y", p + ".c2", b.kernel, 1, 1));
        if (stride != 1 || c != o)
          e.line("h = torch.relu(y + " +
                 e.conv_bn("h", p + ".sc", 1, stride, 1) + ")");
        else
          e.line("h = torch.relu(y + h)");
      }
      c = o;
    }
  }
  e.line("h = h.mean([2, 3])");
  e.line("return " + e.linear("h", "head"));
  return e.src.str();
}

} // namespace

void save_torchscript(const net& n, const std::string& path) {
  torch::jit::Module m("troupe_nas_net");
  for (auto& [name, t] : n.tensors()) {
    auto buffer =
        name.size() > 2 && (name.compare(name.size() - 2, 2, ".m") == 0 ||
                            name.compare(name.size() - 2, 2, ".v") == 0);
    m.register_parameter(attr(name), t.detach().clone(), buffer);
  }
  m.define(forward_source(n.shape()));
  m.eval();
  m.save(path);
}

} // namespace troupe::nas::plugin
