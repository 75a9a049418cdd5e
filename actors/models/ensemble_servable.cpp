#include "actors/models/servable.hpp"

#include <filesystem>

#include "actors/models/member.hpp"
#include "actors/models/servable_detail.hpp"
#include "actors/models/stacking.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"

// The ensemble servable: a troupe model directory holding an ensemble, or a
// model in the members layout (model_dir.hpp), is served by its members:
// an XGBoost member without a feature pipeline as an XGBoost servable
// (compiled into a forest where it can be), any other member (an estimator
// family, or a pipeline before the model) by the member itself; every batch
// is predicted by every member and combined by combine_members (the
// stacker of a stacked ensemble, the weighted average otherwise), as
// saved_model predicts. A single member is served as it is.

namespace troupe::models {

namespace fs = std::filesystem;

namespace {

class ensemble_servable : public servable {
public:
  ensemble_servable(std::string source, tabular::preprocessor prep,
                    bool allow_nan,
                    std::vector<std::unique_ptr<servable>> members,
                    std::vector<double> weights,
                    std::shared_ptr<const stacker> stack)
      : servable(model_format::troupe, std::move(source), std::move(prep),
                 allow_nan),
        members_(std::move(members)), weights_(std::move(weights)),
        stack_(std::move(stack)) {}

  std::string predictor() const override {
    std::string out = std::string{stack_ ? "stacked " : ""} + "ensemble of " +
                      std::to_string(members_.size()) + ": ";
    for (size_t i = 0; i < members_.size(); ++i)
      out += (i ? ", " : "") + members_[i]->predictor();
    return out;
  }

protected:
  caf::expected<std::vector<float>> run(const float* x,
                                        size_t rows) const override {
    std::vector<std::vector<float>> each;
    each.reserve(members_.size());
    for (auto& m : members_) {
      auto s = m->predict(x, rows);
      if (!s) return s.error();
      each.push_back(std::move(*s));
    }
    return combine_members(each, weights_, stack_.get());
  }

private:
  std::vector<std::unique_ptr<servable>> members_;
  std::vector<double> weights_;
  std::shared_ptr<const stacker> stack_;
};

/// A member of any family behind its pipeline, scoring rows as
/// saved_model does.
class member_servable : public servable {
public:
  member_servable(std::string source, tabular::preprocessor prep,
                  bool allow_nan, fitted_member member, size_t threads)
      : servable(model_format::troupe, std::move(source), std::move(prep),
                 allow_nan),
        member_(std::move(member)), threads_(threads) {}

  std::string predictor() const override {
    return member_.family() +
           (member_.pipeline().identity() ? "" : " behind a feature pipeline");
  }

protected:
  caf::expected<std::vector<float>> run(const float* x,
                                        size_t rows) const override {
    tabular::matrix m;
    m.rows = rows;
    m.cols = features();
    m.values.assign(x, x + rows * m.cols);
    return member_.scores(m, prep(), threads_);
  }

private:
  fitted_member member_;
  size_t threads_;
};

} // namespace

namespace detail {

caf::expected<std::unique_ptr<servable>>
load_ensemble(const std::string& dir, const tabular::preprocessor& prep,
              const std::vector<tabular::ensemble_member>& members,
              std::shared_ptr<const stacker> stack, const load_options& opts) {
  auto where = "model directory '" + dir + "'";
  std::vector<std::unique_ptr<servable>> loaded;
  std::vector<double> weights;
  for (auto& m : members) {
    // members take every value the ensemble takes: NaN is checked once,
    // by the ensemble
    auto member_opts = opts;
    member_opts.allow_nan = true;
    auto file = (fs::path{dir} / m.file).string();
    auto name = where + " member " + m.file;
    if (m.family == "xgboost" && m.pipeline.is_null()) {
      auto s =
          load_xgboost(model_format::troupe, name, file, prep, member_opts);
      if (!s) return s.error();
      loaded.push_back(std::move(*s));
    } else {
      auto bytes = read_file(file);
      if (!bytes) return bytes.error();
      std::vector<uint8_t> b(bytes->begin(), bytes->end());
      auto fm = fitted_member::from_bytes(m.family, m.pipeline, b, prep,
                                          opts.threads);
      if (!fm) return bad_model(name + ": " + describe(fm.error()));
      loaded.push_back(std::make_unique<member_servable>(
          name, prep, true, std::move(*fm), opts.threads));
    }
    weights.push_back(m.weight);
  }
  if (loaded.size() == 1 && opts.allow_nan && !stack)
    return std::move(loaded.front());
  return std::unique_ptr<servable>{std::make_unique<ensemble_servable>(
      where, prep, opts.allow_nan, std::move(loaded), std::move(weights),
      std::move(stack))};
}

} // namespace detail

} // namespace troupe::models
