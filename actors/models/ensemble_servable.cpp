#include "actors/models/servable.hpp"

#include <filesystem>

#include "actors/models/ensemble.hpp"
#include "actors/models/servable_detail.hpp"

// The ensemble servable: a troupe model directory holding an ensemble
// (model_dir.hpp) is served by its members, each an XGBoost servable
// (compiled into a forest where it can be), every batch predicted by every
// member and combined by weighted_average, as saved_model predicts.

namespace troupe::models {

namespace fs = std::filesystem;

namespace {

class ensemble_servable : public servable {
public:
  ensemble_servable(std::string source, tabular::preprocessor prep,
                    bool allow_nan,
                    std::vector<std::unique_ptr<servable>> members,
                    std::vector<double> weights)
      : servable(model_format::troupe, std::move(source), std::move(prep),
                 allow_nan),
        members_(std::move(members)), weights_(std::move(weights)) {}

  std::string predictor() const override {
    std::string out = "ensemble of " + std::to_string(members_.size()) + ": ";
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
    return weighted_average(each, weights_);
  }

private:
  std::vector<std::unique_ptr<servable>> members_;
  std::vector<double> weights_;
};

} // namespace

namespace detail {

caf::expected<std::unique_ptr<servable>>
load_ensemble(const std::string& dir, const tabular::preprocessor& prep,
              const std::vector<tabular::ensemble_member>& members,
              const load_options& opts) {
  auto where = "model directory '" + dir + "'";
  std::vector<std::unique_ptr<servable>> loaded;
  std::vector<double> weights;
  for (auto& m : members) {
    // members take every value the ensemble takes: NaN is checked once,
    // by the ensemble
    auto member_opts = opts;
    member_opts.allow_nan = true;
    auto s = load_xgboost(model_format::troupe, where + " member " + m.file,
                          (fs::path{dir} / m.file).string(), prep, member_opts);
    if (!s) return s.error();
    loaded.push_back(std::move(*s));
    weights.push_back(m.weight);
  }
  return std::unique_ptr<servable>{std::make_unique<ensemble_servable>(
      where, prep, opts.allow_nan, std::move(loaded), std::move(weights))};
}

} // namespace detail

} // namespace troupe::models
