#include "actors/tabular/feature_columns.hpp"

namespace troupe::tabular {

std::vector<std::string> feature_layout::columns() const {
  std::vector<std::string> out;
  out.reserve(size());
  for (auto& f : fields)
    out.push_back(group + "." + f);
  for (uint32_t k = 0; k < width; ++k)
    out.push_back(group + "." + vector_name + "_" + std::to_string(k));
  return out;
}

feature_layout layout_of(schema::FeatureGroup::Reader group) {
  feature_layout out;
  out.group = group.getName();
  for (auto f : group.getFields())
    out.fields.emplace_back(f.getName());
  out.vector_name = group.getVectorName();
  out.width = group.getWidth();
  return out;
}

} // namespace troupe::tabular
