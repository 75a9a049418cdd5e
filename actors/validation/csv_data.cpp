#include "actors/validation/csv_data.hpp"

namespace troupe::validation {

using tabular::check_options;
using tabular::check_result;
using tabular::checker;
using tabular::dataset_stats;
using tabular::profile_builder;
using tabular::profile_options;
using tabular::row_sink;
using tabular::schema;

std::vector<std::string> column_names(const tabular::table& t) {
  std::vector<std::string> out;
  out.reserve(t.columns.size());
  for (auto& c : t.columns)
    out.push_back(c.name);
  return out;
}

void feed(const tabular::table& t, row_sink& sink) {
  for (size_t r = 0; r < t.rows(); ++r) {
    sink.begin_row(t.lines[r]);
    for (size_t c = 0; c < t.columns.size(); ++c)
      sink.add_text(c, t.columns[c].text[r]);
    sink.end_row();
  }
}

caf::expected<dataset_stats> profile_csv(const std::string& path,
                                         const profile_options& options) {
  auto t = tabular::read_csv(path);
  if (!t) return t.error();
  profile_builder builder{column_names(*t), options};
  feed(*t, builder);
  return builder.finish();
}

caf::expected<check_result> check_csv(const schema& s, const std::string& path,
                                      const check_options& options) {
  auto t = tabular::read_csv(path);
  if (!t) return t.error();
  checker c{s, column_names(*t), options};
  feed(*t, c);
  return c.finish();
}

} // namespace troupe::validation
