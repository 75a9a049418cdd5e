#include "actors/automl/warm_start.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "actors/models/families.hpp"
#include "runtime/errors.hpp"

namespace troupe::automl {

namespace {

caf::error bad_record(const std::string& what) {
  return make_error(errc::invalid_argument, "warm-start record: " + what);
}

} // namespace

nlohmann::json meta_features::to_json() const {
  return {{"log_rows", log_rows},       {"log_features", log_features},
          {"categorical", categorical}, {"missing", missing},
          {"minority", minority},       {"log_classes", log_classes},
          {"target_skew", target_skew}};
}

caf::expected<meta_features> meta_features::from_json(const nlohmann::json& j) {
  meta_features m;
  try {
    m.log_rows = j.at("log_rows").get<double>();
    m.log_features = j.at("log_features").get<double>();
    m.categorical = j.at("categorical").get<double>();
    m.missing = j.at("missing").get<double>();
    m.minority = j.at("minority").get<double>();
    m.log_classes = j.at("log_classes").get<double>();
    m.target_skew = j.at("target_skew").get<double>();
  } catch (const nlohmann::json::exception& e) {
    return bad_record(std::string{"meta-features: "} + e.what());
  }
  return m;
}

meta_features describe_dataset(const tabular::dataset& d) {
  meta_features m;
  auto& X = d.X;
  m.log_rows = std::log10(std::max<double>(1, static_cast<double>(X.rows)));
  m.log_features = std::log10(std::max<double>(1, static_cast<double>(X.cols)));
  size_t cat = 0;
  for (auto& f : d.prep.features())
    cat += f.kind == tabular::column_kind::categorical ? 1 : 0;
  m.categorical = X.cols ? static_cast<double>(cat) / X.cols : 0;
  size_t nan = 0;
  for (auto v : X.values)
    nan += std::isnan(v) ? 1 : 0;
  m.missing = X.values.empty() ? 0 : static_cast<double>(nan) / X.values.size();
  if (tabular::is_classification(d.task) && !d.classes.empty()) {
    std::vector<size_t> counts(d.classes.size(), 0);
    for (auto y : X.labels) {
      auto k = static_cast<size_t>(y);
      if (k < counts.size()) ++counts[k];
    }
    auto rare = *std::min_element(counts.begin(), counts.end());
    m.minority =
        X.labels.empty() ? 0 : static_cast<double>(rare) / X.labels.size();
    m.log_classes = std::log10(static_cast<double>(d.classes.size()));
  } else if (X.labels.size() > 2) {
    double mean = 0;
    for (auto y : X.labels)
      mean += y;
    mean /= X.labels.size();
    double m2 = 0, m3 = 0;
    for (auto y : X.labels) {
      double e = y - mean;
      m2 += e * e;
      m3 += e * e * e;
    }
    m2 /= X.labels.size();
    m3 /= X.labels.size();
    auto skew = m2 > 0 ? m3 / std::pow(m2, 1.5) : 0.0;
    m.target_skew = std::clamp(skew, -5.0, 5.0);
  }
  return m;
}

double meta_distance(const meta_features& a, const meta_features& b) {
  // scales: a tenfold size is 1, a skew of 5 is 1
  double d[] = {a.log_rows - b.log_rows,
                a.log_features - b.log_features,
                a.categorical - b.categorical,
                a.missing - b.missing,
                2 * (a.minority - b.minority),
                a.log_classes - b.log_classes,
                (a.target_skew - b.target_skew) / 5};
  double sum = 0;
  for (auto x : d)
    sum += x * x;
  return std::sqrt(sum);
}

nlohmann::json study_record::to_json() const {
  auto list = nlohmann::json::array();
  for (auto& [cfg, score] : best)
    list.push_back({{"config", tabular::to_json(cfg)},
                    {"cv_score", std::isfinite(score) ? nlohmann::json(score)
                                                      : nlohmann::json()}});
  return {{"format", "troupe.study-record"},
          {"version", 1},
          {"study", study},
          {"family", family},
          {"task", task},
          {"metric", metric},
          {"maximize", maximize},
          {"derived_from", derived_from},
          {"meta_features", features.to_json()},
          {"best", std::move(list)}};
}

caf::expected<study_record> study_record::from_json(const nlohmann::json& j) {
  if (!j.is_object() || j.value("format", "") != "troupe.study-record")
    return bad_record("not a troupe.study-record object");
  study_record r;
  try {
    r.study = j.at("study").get<std::string>();
    r.family = j.at("family").get<std::string>();
    r.task = j.at("task").get<std::string>();
    r.metric = j.at("metric").get<std::string>();
    r.maximize = j.at("maximize").get<bool>();
    r.derived_from = j.at("derived_from").get<std::vector<std::string>>();
    auto f = meta_features::from_json(j.at("meta_features"));
    if (!f) return f.error();
    r.features = *f;
    for (auto& b : j.at("best")) {
      auto cfg = tabular::config_from_json(b.at("config"));
      if (!cfg) return cfg.error();
      auto& s = b.at("cv_score");
      r.best.emplace_back(std::move(*cfg), s.is_null() ? NAN : s.get<double>());
    }
  } catch (const nlohmann::json::exception& e) {
    return bad_record(e.what());
  }
  return r;
}

std::vector<seed> choose_seeds(const std::vector<study_record>& past,
                               const std::string& family,
                               const std::string& task,
                               const meta_features& features,
                               const std::vector<std::string>& parents,
                               size_t nearest, size_t per_study, size_t limit) {
  std::vector<seed> out;
  std::set<std::string> seen; // configurations already chosen, as JSON
  // the studies of one group take turns, best configuration first
  auto take =
      [&](const std::vector<std::pair<const study_record*, double>>& group) {
        for (size_t rank = 0; rank < per_study; ++rank)
          for (auto& [r, distance] : group) {
            if (out.size() >= limit) return;
            if (rank >= r->best.size()) continue;
            auto& cfg = r->best[rank].first;
            if (seen.insert(tabular::to_json(cfg).dump()).second)
              out.push_back({cfg, r->study, distance});
          }
      };
  auto fits = [&](const study_record& r) {
    return r.family == family && r.task == task;
  };
  // the parents first, in the order given
  std::vector<std::pair<const study_record*, double>> group;
  for (auto& p : parents)
    for (auto& r : past)
      if (r.study == p && fits(r))
        group.emplace_back(&r, meta_distance(r.features, features));
  take(group);
  // then the nearest others
  std::vector<std::pair<const study_record*, double>> by_distance;
  for (auto& r : past)
    if (fits(r) &&
        std::find(parents.begin(), parents.end(), r.study) == parents.end())
      by_distance.emplace_back(&r, meta_distance(r.features, features));
  std::stable_sort(by_distance.begin(), by_distance.end(),
                   [](auto& a, auto& b) { return a.second < b.second; });
  if (by_distance.size() > nearest) by_distance.resize(nearest);
  take(by_distance);
  return out;
}

caf::expected<std::vector<seed>> find_seeds(study_journal& journal,
                                            const study_spec& spec) {
  auto texts = journal.metas();
  if (!texts) return texts.error();
  std::vector<study_record> past;
  for (auto& [id, text] : *texts) {
    if (id == spec.id) continue;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) continue;
    if (auto r = study_record::from_json(j)) past.push_back(std::move(*r));
  }
  if (past.empty()) return std::vector<seed>{};
  auto data = models::shared_dataset(spec.data_path, spec.target, spec.task);
  if (!data) return data.error();
  return choose_seeds(past, spec.family, tabular::to_string((*data)->task),
                      describe_dataset(**data), split_names(spec.derived_from),
                      3, recorded_best, warm_start_seeds);
}

caf::error
record_study(study_journal& journal, const study_spec& spec,
             const std::vector<std::pair<tabular::config, double>>& best) {
  auto data = models::shared_dataset(spec.data_path, spec.target, spec.task);
  if (!data) return data.error();
  study_record r;
  r.study = spec.id;
  r.family = spec.family;
  r.task = tabular::to_string((*data)->task);
  r.metric = spec.metric;
  r.maximize = spec.maximize;
  r.derived_from = split_names(spec.derived_from);
  r.features = describe_dataset(**data);
  r.best = best;
  if (auto ok = journal.record_meta(spec.id, r.to_json().dump()); !ok)
    return ok.error();
  return caf::none;
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    auto name = text.substr(start, end - start);
    auto b = name.find_first_not_of(" \t");
    auto e = name.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(name.substr(b, e - b + 1));
    start = end + 1;
  }
  return out;
}

} // namespace troupe::automl
