#pragma once

// Schema evolution, as in TFDV: accepting an anomaly changes the schema so
// that the same data passes next time.
//
// | anomaly            | accepting it                                    |
// |--------------------|-------------------------------------------------|
// | missing_column     | makes the column optional                       |
// | extra_column       | adds the column, inferred from the checked data |
// |                    | (required, like every inferred column)          |
// | type_mismatch      | widens integer to float when every offending    |
// |                    | value is a number, else to string (no range, no |
// |                    | domain)                                         |
// | out_of_range       | widens the range to the data's min and max      |
// | out_of_domain      | adds the unseen values to the domain; drops the |
// |                    | domain when there were more than max_domain     |
// | missing_ratio_jump | raises the allowed missing ratio as inference   |
// |                    | would for the data's ratio                      |

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/tabular/check.hpp"
#include "actors/tabular/schema.hpp"

namespace troupe::validation {

using tabular::check_result;
using tabular::infer_options;
using tabular::schema;

/// One change `accept` made.
struct schema_change {
  /// The accepted anomaly's id ("COLUMN:KIND").
  std::string id;
  /// What changed, with the old and new values.
  std::string description;
};

/// Accepts the anomalies of `result` named in `ids` ("COLUMN:KIND", or
/// "all" for every anomaly) into `s`, which `result` was checked against.
/// Fails, changing nothing, when an id names no anomaly of `result`.
caf::expected<std::vector<schema_change>>
accept(schema& s, const check_result& result,
       const std::vector<std::string>& ids, const infer_options& options = {});

} // namespace troupe::validation
