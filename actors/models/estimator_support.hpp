#pragma once

// Pieces the built-in estimator families share (builtin_estimators.hpp):
// reading a family's parameters from a configuration with errors that name
// the family, the parameter and the value; checking a matrix against what
// an estimator was built for; running blocks of rows on a few threads; and
// the task as the saved estimators write it. Internal to actors/models.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/models/estimator.hpp"
#include "actors/tabular/params.hpp"
#include "schemas/estimators.capnp.h"

namespace troupe::models::detail {

/// Reads one family's parameters from a configuration. Each read checks
/// the value's type and range; `unknown` names the first parameter no read
/// asked for. Errors are troupe::errc::invalid_argument.
class param_reader {
public:
  param_reader(const tabular::config& cfg, std::string family);

  /// A number in [low, high] (an integer value is taken as a number).
  caf::expected<double> real(const std::string& name, double fallback,
                             double low, double high);

  /// An integer in [low, high] (a number with no fraction is taken).
  caf::expected<int64_t> integer(const std::string& name, int64_t fallback,
                                 int64_t low, int64_t high);

  /// One of `choices`.
  caf::expected<std::string> choice(const std::string& name,
                                    std::string fallback,
                                    const std::vector<std::string>& choices);

  /// An error naming the first parameter of the configuration that was not
  /// read, with the parameters the family knows; none if all were read.
  caf::error unknown() const;

private:
  caf::error bad(const std::string& name, const std::string& why) const;

  const tabular::config& cfg_;
  std::string family_;
  std::set<std::string> known_;
};

/// Checks the context an estimator is made for: a classification task with
/// at least 2 classes (exactly 2 for binary), at least one thread.
caf::error check_context(const estimator_context& ctx,
                         const std::string& family);

/// Checks a training matrix: rows, a label per row, classes within range
/// for classification, finite labels.
caf::error check_train(const tabular::matrix& m, const estimator_context& ctx,
                       const std::string& family);

/// Checks that `m` has the `cols` columns the estimator was trained on.
caf::error check_columns(const tabular::matrix& m, size_t cols,
                         const std::string& family);

/// Rows are processed in blocks of this many: the unit that threads share
/// and that reductions sum in a fixed order.
constexpr size_t row_block = 1024;

/// Calls `f(block)` for every block in [0, blocks) on up to `threads`
/// threads (the calling thread among them), each block exactly once; returns
/// when all are done. `f` must not throw.
void parallel_blocks(size_t blocks, size_t threads,
                     const std::function<void(size_t)>& f);

/// The task as saved estimators write it, and back.
schema::EstimatorTask to_schema(tabular::task_kind task);
tabular::task_kind from_schema(schema::EstimatorTask task);

/// Checks that a loaded estimator fits the context it is loaded for (same
/// task and classes); `what` names it in the error.
caf::error check_loaded(tabular::task_kind task, size_t classes,
                        const estimator_context& ctx, const std::string& what);

/// A saved estimator whose bytes are wrong: "WHAT: WHY", errc::bad_model.
caf::error bad_saved(const std::string& what, const std::string& why);

/// Checks the header every saved estimator struct begins with (version @0,
/// task @1, classes @2 in schemas/estimators.capnp): the format `version`
/// this troupe reads, a known task, and the task and classes of `ctx`.
caf::error check_header(uint32_t saved_version, uint32_t version, uint16_t task,
                        uint32_t classes, const estimator_context& ctx,
                        const std::string& what);

/// check_header for a Cap'n Proto reader of such a struct.
template <class Reader>
caf::error check_saved(const Reader& in, uint32_t version,
                       const estimator_context& ctx, const std::string& what) {
  return check_header(in.getVersion(), version,
                      static_cast<uint16_t>(in.getTask()), in.getClasses(), ctx,
                      what);
}

} // namespace troupe::models::detail
