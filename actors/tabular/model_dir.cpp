#include "actors/tabular/model_dir.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <ostream>

#include <nlohmann/json.hpp>

#include "actors/tabular/csv_stream.hpp"
#include "runtime/errors.hpp"

namespace troupe::tabular {

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

} // namespace

std::string shortest(float v) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

bool model_info::members_layout() const {
  if (family != "xgboost" || !stacker.is_null()) return true;
  for (auto& m : ensemble)
    if (m.family != "xgboost" || !m.pipeline.is_null()) return true;
  return false;
}

nlohmann::json to_json(const model_info& info) {
  nlohmann::json j{{"format", "troupe.model"},
                   {"version", 1},
                   {"family", info.family},
                   {"task", to_string(info.task)},
                   {"target", info.target},
                   {"classes", info.classes},
                   {"metric", info.metric},
                   {"config", to_json(info.params)},
                   {"rounds", info.rounds},
                   {"cv_score", nullptr},
                   {"study", info.study},
                   {"trial", nullptr},
                   {"xgboost_version", info.xgboost_version},
                   {"created", info.created}};
  if (info.cv_score && std::isfinite(*info.cv_score))
    j["cv_score"] = *info.cv_score;
  if (info.trial) j["trial"] = *info.trial;
  if (!info.ensemble.empty()) {
    auto members = nlohmann::json::array();
    for (auto& m : info.ensemble) {
      nlohmann::json e{{"file", m.file},      {"weight", m.weight},
                       {"rounds", m.rounds},  {"config", to_json(m.params)},
                       {"cv_score", nullptr}, {"trial", nullptr}};
      if (m.cv_score && std::isfinite(*m.cv_score)) e["cv_score"] = *m.cv_score;
      if (m.trial) e["trial"] = *m.trial;
      if (info.members_layout()) {
        e["family"] = m.family;
        e["pipeline"] = m.pipeline;
      }
      members.push_back(std::move(e));
    }
    j["ensemble"] = std::move(members);
  }
  if (!info.stacker.is_null()) j["stacker"] = info.stacker;
  return j;
}

namespace {

/// A member's file name: a plain name ending in .ubj (or, in the members
/// layout, .bin), nothing that leaves the model directory.
bool plain_member_file(const std::string& f, bool members_layout) {
  auto ends = [&](const char* ext) {
    return f.size() > 4 && f.compare(f.size() - 4, 4, ext) == 0;
  };
  return (ends(".ubj") || (members_layout && ends(".bin"))) &&
         f.find('/') == std::string::npos &&
         f.find('\\') == std::string::npos && f[0] != '.';
}

/// A family name: letters, digits, '_' and '-', not empty.
bool plain_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
      return false;
  return true;
}

} // namespace

caf::expected<model_info> model_info_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("format") || j["format"] != "troupe.model")
    return invalid("not a troupe.model object");
  // The field being read, for the message when nlohmann::json throws.
  std::string name;
  auto field = [&](const char* key) -> const nlohmann::json& {
    name = key;
    return j.at(key);
  };
  try {
    if (field("version") != 1)
      return invalid("unsupported version " + j["version"].dump());
    model_info info;
    info.family = field("family").get<std::string>();
    if (!plain_name(info.family))
      return invalid("model family '" + info.family + "' is not a name");
    auto task = parse_task_kind(field("task").get<std::string>());
    if (!task) return task.error();
    info.task = *task;
    info.target = field("target").get<std::string>();
    info.classes = field("classes").get<std::vector<std::string>>();
    info.metric = field("metric").get<std::string>();
    auto params = config_from_json(field("config"));
    if (!params) return params.error();
    info.params = std::move(*params);
    if (!field("rounds").is_number_unsigned())
      return invalid("field 'rounds' holds " + j["rounds"].dump() +
                     ", not a count");
    info.rounds = j["rounds"].get<uint64_t>();
    if (auto& s = field("cv_score"); !s.is_null())
      info.cv_score = s.get<double>();
    info.study = field("study").get<std::string>();
    if (auto& t = field("trial"); !t.is_null()) {
      if (!t.is_number_unsigned())
        return invalid("field 'trial' holds " + t.dump() + ", not an id");
      info.trial = t.get<uint64_t>();
    }
    info.xgboost_version = field("xgboost_version").get<std::string>();
    info.created = field("created").get<std::string>();
    if (j.contains("ensemble")) {
      auto& members = field("ensemble");
      if (!members.is_array() || members.empty())
        return invalid("field 'ensemble' is not a list of members");
      double total = 0;
      for (size_t i = 0; i < members.size(); ++i) {
        auto& e = members[i];
        auto where = "ensemble member " + std::to_string(i);
        name = "ensemble";
        ensemble_member m;
        m.file = e.at("file").get<std::string>();
        if (e.contains("family")) {
          m.family = e["family"].get<std::string>();
          if (!plain_name(m.family))
            return invalid(where + ": family '" + m.family + "' is not a name");
        }
        if (e.contains("pipeline")) {
          m.pipeline = e["pipeline"];
          if (!m.pipeline.is_null() && !m.pipeline.is_object())
            return invalid(where + ": pipeline is not an object");
        }
        bool layout = info.family != "xgboost" || m.family != "xgboost" ||
                      !m.pipeline.is_null();
        if (!plain_member_file(m.file, layout))
          return invalid(where + ": file '" + m.file +
                         "' is not a .ubj file of the model directory");
        m.weight = e.at("weight").get<double>();
        if (!(m.weight > 0) || !std::isfinite(m.weight))
          return invalid(where + ": weight " + e.at("weight").dump() +
                         " is not positive");
        total += m.weight;
        if (!e.at("rounds").is_number_unsigned())
          return invalid(where + ": rounds " + e.at("rounds").dump() +
                         " is not a count");
        m.rounds = e.at("rounds").get<uint64_t>();
        auto p = config_from_json(e.at("config"));
        if (!p) return p.error();
        m.params = std::move(*p);
        if (e.contains("cv_score") && !e["cv_score"].is_null())
          m.cv_score = e["cv_score"].get<double>();
        if (e.contains("trial") && !e["trial"].is_null())
          m.trial = e["trial"].get<uint64_t>();
        info.ensemble.push_back(std::move(m));
      }
      if (std::fabs(total - 1.0) > 1e-6)
        return invalid("the ensemble's weights sum to " +
                       std::to_string(total) + ", not 1");
      if (!info.members_layout() && info.ensemble[0].file != model_file)
        return invalid("the ensemble's first member is not " +
                       std::string{model_file});
    }
    if (j.contains("stacker") && !j["stacker"].is_null()) {
      auto& st = field("stacker");
      if (!st.is_object() || !st.contains("family") || !st.contains("file") ||
          !st["family"].is_string() || !st["file"].is_string())
        return invalid("field 'stacker' is not an object with a family and "
                       "a file");
      if (!plain_name(st["family"].get<std::string>()))
        return invalid("stacker family " + st["family"].dump() +
                       " is not a name");
      if (!plain_member_file(st["file"].get<std::string>(), true))
        return invalid("stacker file " + st["file"].dump() +
                       " is not a .bin file of the model directory");
      if (info.ensemble.size() < 2)
        return invalid("a stacker over fewer than two members");
      info.stacker = st;
    }
    if (info.family != "xgboost" && info.ensemble.empty())
      return invalid("a model of family '" + info.family +
                     "' lists no members under 'ensemble'");
    return info;
  } catch (const nlohmann::json::out_of_range&) {
    return invalid("no field '" + name + "'");
  } catch (const nlohmann::json::exception& e) {
    return invalid("field '" + name + "': " + e.what());
  }
}

void write_predictions(std::ostream& out, const prediction_table& p) {
  auto write_field = [&out](const std::string& field) {
    std::string quoted;
    append_csv_field(quoted, field);
    out << quoted;
  };
  for (size_t c = 0; c < p.columns.size(); ++c) {
    if (c > 0) out << ',';
    write_field(p.columns[c]);
  }
  out << '\n';
  auto k = p.columns.size() - 1; // probability columns
  for (size_t r = 0; r < p.rows(); ++r) {
    write_field(p.prediction[r]);
    for (size_t c = 0; c < k; ++c)
      out << ',' << shortest(p.scores[r * k + c]);
    out << '\n';
  }
}

} // namespace troupe::tabular
