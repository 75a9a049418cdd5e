#include "actors/nas/model_export.hpp"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "actors/tabular/dataset.hpp"
#include "runtime/errors.hpp"

namespace troupe::nas {

nlohmann::json feature_spec(size_t pixels, size_t classes) {
  auto features = nlohmann::json::array();
  for (size_t i = 0; i < pixels; ++i)
    features.push_back(
        {{"name", "pixel" + std::to_string(i)}, {"kind", "numeric"}});
  auto names = nlohmann::json::array();
  for (size_t c = 0; c < classes; ++c)
    names.push_back(std::to_string(c));
  return {{"format", "troupe.preprocessor"},
          {"version", 1},
          {"target", "label"},
          {"task", "multiclass"},
          {"target_numeric", true},
          {"classes", names},
          {"features", features}};
}

caf::error write_model_dir(const network& net, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return make_error(troupe::errc::io_failure,
                      "cannot create '" + dir + "': " + ec.message());
  auto& a = net.arch();
  auto spec =
      feature_spec(static_cast<size_t>(a.image * a.image * a.in_channels),
                   static_cast<size_t>(a.classes));
  if (auto p = tabular::preprocessor::from_json(spec); !p) return p.error();
  auto spec_path = dir + "/spec.json";
  {
    std::ofstream f{spec_path};
    f << spec.dump(1) << "\n";
    if (!f)
      return make_error(troupe::errc::io_failure,
                        "cannot write '" + spec_path + "'");
  }
  return net.save(dir + "/model.pt");
}

} // namespace troupe::nas
