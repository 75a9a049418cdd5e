#include "actors/models/saved_model.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "actors/models/ensemble.hpp"
#include "actors/models/errors.hpp"
#include "actors/models/trainable.hpp"
#include "actors/models/xgb_data.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::models {

using tabular::model_file;
using tabular::model_info_file;
using tabular::model_info_from_json;
using tabular::preprocessor_file;
using tabular::shortest;
using tabular::task_kind;

namespace fs = std::filesystem;

namespace {

caf::error invalid(std::string msg) {
  return make_error(troupe::errc::invalid_argument, std::move(msg));
}

/// A model directory that cannot be read or does not hold together.
caf::error bad_model(std::string msg) {
  return make_error(errc::bad_model, std::move(msg));
}

std::string now_utc() {
  auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// `path` without a trailing separator ("out/best/" -> "out/best").
fs::path plain(const std::string& path) {
  fs::path p{path};
  return p.has_filename() ? p : p.parent_path();
}

fs::path temp_beside(const fs::path& p) {
  auto tmp = p;
  tmp += ".tmp-" + std::to_string(::getpid());
  return tmp;
}

/// Puts `tmp` in the place of `dst`: an atomic swap with an existing `dst`
/// where the file system allows it (the old one is then removed), a plain
/// rename otherwise.
caf::error replace_dir(const fs::path& tmp, const fs::path& dst) {
  std::error_code ec;
  if (fs::exists(dst, ec)) {
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dst.c_str(),
                    RENAME_EXCHANGE) == 0) {
      fs::remove_all(tmp, ec); // the old model now
      return caf::none;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
      return io_error("replace", dst);
    fs::remove_all(dst, ec);
    if (ec) return io_error("remove the old", dst, ec.value());
  }
  if (::rename(tmp.c_str(), dst.c_str()) != 0)
    return io_error("rename '" + tmp.string() + "' to", dst);
  return caf::none;
}

} // namespace

// -- refit -------------------------------------------------------------------

caf::expected<xgb::booster> refit_xgboost(const dataset& data,
                                          const config& cfg, uint64_t rounds,
                                          size_t threads, uint64_t seed) {
  if (rounds == 0) return invalid("refit: 0 boosting rounds");
  auto& X = data.X;
  if (X.rows == 0 || X.labels.size() != X.rows)
    return invalid("refit: " + std::to_string(X.rows) + " rows and " +
                   std::to_string(X.labels.size()) +
                   " labels; need labeled rows");
  auto params =
      xgboost_params(cfg, data.task, data.classes.size(), threads, seed);
  if (!params) return params.error();
  auto train = xgboost_matrix(X, data.prep);
  if (!train) return train.error();
  auto b = xgb::booster::create(&*train);
  if (!b) return b.error();
  for (auto& [k, v] : *params)
    if (auto r = b->set_param(k, v); !r) return r.error();
  for (uint64_t i = 0; i < rounds; ++i)
    if (auto r = b->update(*train); !r) return r.error();
  return b;
}

// -- saving ------------------------------------------------------------------

namespace {

/// Writes a model directory: each booster under its file name, the
/// preprocessor and `meta` (completed here), all or nothing.
caf::error save_files(
    const std::string& dir,
    const std::vector<std::pair<std::string, std::vector<uint8_t>>>& bytes,
    const preprocessor& prep, model_info meta) {
  if (dir.empty()) return invalid("save model: no directory given");
  auto dst = plain(dir);
  std::error_code ec;
  if (fs::exists(dst, ec) && !fs::is_directory(dst, ec))
    return invalid("cannot save the model to '" + dir +
                   "': it exists and is not a directory");
  meta.task = prep.task();
  meta.target = prep.target();
  meta.classes = prep.classes();
  if (meta.xgboost_version.empty()) meta.xgboost_version = xgb::version();
  if (meta.created.empty()) meta.created = now_utc();

  auto parent = dst.parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec) return io_error("create directory", parent, ec.value());
  }
  auto tmp = temp_beside(dst);
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec))
    return io_error("create directory", tmp, ec.value());
  auto write_all = [&]() -> caf::error {
    for (auto& [name, b] : bytes)
      if (auto err = write_synced(tmp / name, b.data(), b.size())) return err;
    if (auto err = write_synced(tmp / preprocessor_file,
                                prep.to_json().dump(2) + "\n"))
      return err;
    if (auto err =
            write_synced(tmp / model_info_file, to_json(meta).dump(2) + "\n"))
      return err;
    if (auto err = sync_dir(tmp)) return err;
    if (auto err = replace_dir(tmp, dst)) return err;
    return sync_dir(parent);
  };
  if (auto err = write_all()) {
    fs::remove_all(tmp, ec);
    return err;
  }
  return caf::none;
}

/// Checks that every member has a model and a positive weight; returns the
/// members' indices heaviest first and their total weight.
template <class Member>
caf::expected<std::pair<std::vector<size_t>, double>>
by_weight(const std::vector<Member>& members, const std::string& what) {
  if (members.empty()) return invalid(what + ": no members");
  double total = 0;
  for (auto& m : members) {
    if (!m.model || !(m.info.weight > 0))
      return invalid(what + ": a member without a model or a weight");
    total += m.info.weight;
  }
  std::vector<size_t> order(members.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return members[a].info.weight > members[b].info.weight;
  });
  return std::make_pair(std::move(order), total);
}

} // namespace

caf::error save_model(const std::string& dir, const xgb::booster& model,
                      const preprocessor& prep, const model_info& info) {
  auto rounds = model.rounds();
  if (!rounds) return rounds.error();
  auto meta = info;
  meta.rounds = static_cast<uint64_t>(*rounds);
  meta.ensemble.clear();
  auto b = model.save_bytes("ubj");
  if (!b) return b.error();
  return save_files(dir, {{model_file, std::move(*b)}}, prep, std::move(meta));
}

caf::error save_ensemble(const std::string& dir,
                         const std::vector<saved_member>& members,
                         const preprocessor& prep, const model_info& info) {
  // the heaviest first: it is model.ubj, what a reader of one booster gets
  auto sorted = by_weight(members, "save ensemble");
  if (!sorted) return sorted.error();
  auto& [order, total] = *sorted;
  auto meta = info;
  meta.ensemble.clear();
  std::vector<std::pair<std::string, std::vector<uint8_t>>> files;
  for (size_t i = 0; i < members.size(); ++i) {
    auto& member = members[order[i]];
    auto rounds = member.model->rounds();
    if (!rounds) return rounds.error();
    auto m = member.info;
    m.file = i == 0 ? std::string{model_file}
                    : "member-" + std::to_string(i) + ".ubj";
    m.family = "xgboost";
    m.pipeline = nullptr;
    m.weight /= total;
    m.rounds = static_cast<uint64_t>(*rounds);
    auto b = member.model->save_bytes("ubj");
    if (!b) return b.error();
    files.emplace_back(m.file, std::move(*b));
    meta.ensemble.push_back(std::move(m));
  }
  auto& first = meta.ensemble.front();
  meta.rounds = first.rounds;
  meta.params = first.params;
  meta.trial = first.trial;
  return save_files(dir, files, prep, std::move(meta));
}

caf::error save_members(const std::string& dir,
                        const std::vector<member_to_save>& members,
                        const preprocessor& prep, const model_info& info,
                        const stacking_choice* stack) {
  auto sorted = by_weight(members, "save model");
  if (!sorted) return sorted.error();
  auto& [order, total] = *sorted;
  auto meta = info;
  meta.ensemble.clear();
  meta.stacker = nullptr;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> files;
  if (stack) { // the stacker's features follow the members' order
    if (!stack->model || stack->model->members() != members.size())
      return invalid(
          "save model: a stacker over " +
          std::to_string(stack->model ? stack->model->members() : 0) +
          " members for " + std::to_string(members.size()));
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    auto b = stack->model->save();
    if (!b) return b.error();
    files.emplace_back("stacker.bin", std::move(*b));
    meta.stacker = {{"family", stacker_family},
                    {"file", "stacker.bin"},
                    {"alpha", stack->alpha}};
  }
  meta.family = members[order[0]].model->family();
  for (size_t i = 0; i < members.size(); ++i) {
    auto& member = members[order[i]];
    auto m = member.info;
    m.family = member.model->family();
    if (m.family != meta.family) meta.family = "ensemble";
    m.pipeline = member.model->pipeline().identity()
                     ? nlohmann::json(nullptr)
                     : member.model->pipeline().to_json();
    m.file = "member-" + std::to_string(i) + member.model->extension();
    m.weight /= total;
    m.rounds = member.model->steps();
    auto b = member.model->bytes();
    if (!b) return b.error();
    files.emplace_back(m.file, std::move(*b));
    meta.ensemble.push_back(std::move(m));
  }
  // the members layout even for plain XGBoost members: a reader that looks
  // for model.ubj finds none rather than a part of the model
  if (meta.family == "xgboost") meta.family = "ensemble";
  auto& first = meta.ensemble.front();
  meta.rounds = first.rounds;
  meta.params = first.params;
  meta.trial = first.trial;
  return save_files(dir, files, prep, std::move(meta));
}

// -- loading -----------------------------------------------------------------

caf::expected<saved_model> saved_model::load(const std::string& dir) {
  auto where = "model directory '" + dir + "'";
  auto root = plain(dir);
  std::error_code ec;
  if (!fs::exists(root, ec))
    return make_error(troupe::errc::not_found, where + " does not exist");
  if (!fs::is_directory(root, ec))
    return bad_model(where + " is not a directory");
  for (auto name : {model_info_file, preprocessor_file})
    if (!fs::exists(root / name, ec))
      return make_error(troupe::errc::not_found,
                        where + " has no " + name + "; is it a saved model?");
  auto bad = [&](const std::string& file, const std::string& why) {
    return bad_model(where + ": " + file + ": " + why);
  };

  auto text = read_file(root / model_info_file);
  if (!text) return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return bad(model_info_file, "not valid JSON");
  auto info = model_info_from_json(j);
  if (!info) return bad(model_info_file, describe(info.error()));

  text = read_file(root / preprocessor_file);
  if (!text) return text.error();
  j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return bad(preprocessor_file, "not valid JSON");
  auto prep = preprocessor::from_json(j);
  if (!prep) return bad(preprocessor_file, describe(prep.error()));
  if (info->task != prep->task() || info->target != prep->target() ||
      info->classes != prep->classes())
    return bad_model(where + ": " + model_info_file + " (task " +
                     to_string(info->task) + ", target '" + info->target +
                     "') does not match " + preprocessor_file + " (task " +
                     to_string(prep->task()) + ", target '" + prep->target() +
                     "')");

  std::vector<fitted_member> members;
  std::vector<double> weights;
  if (info->members_layout()) {
    for (auto& m : info->ensemble) {
      if (!fs::exists(root / m.file, ec))
        return make_error(troupe::errc::not_found,
                          where + " has no " + m.file + ", which " +
                              model_info_file + " lists");
      auto bytes = read_file(root / m.file);
      if (!bytes) return bytes.error();
      std::vector<uint8_t> b(bytes->begin(), bytes->end());
      auto fm = fitted_member::from_bytes(m.family, m.pipeline, b, *prep, 1);
      if (!fm) return bad(m.file, describe(fm.error()));
      if (fm->steps() != m.rounds)
        return bad_model(where + ": " + model_info_file + " says member " +
                         m.file + " has " + std::to_string(m.rounds) +
                         " steps, but it holds " + std::to_string(fm->steps()));
      members.push_back(std::move(*fm));
      weights.push_back(m.weight);
    }
    std::shared_ptr<const stacker> stack;
    if (!info->stacker.is_null()) {
      auto file = info->stacker["file"].get<std::string>();
      if (info->stacker["family"] != stacker_family)
        return bad(model_info_file, "stacker family " +
                                        info->stacker["family"].dump() +
                                        " is not " + stacker_family);
      if (!fs::exists(root / file, ec))
        return make_error(troupe::errc::not_found,
                          where + " has no " + file + ", which " +
                              model_info_file + " names as its stacker");
      auto bytes = read_file(root / file);
      if (!bytes) return bytes.error();
      auto st = stacker::load({bytes->begin(), bytes->end()}, info->task,
                              info->classes.size(), members.size());
      if (!st) return bad(file, describe(st.error()));
      stack = std::make_shared<const stacker>(std::move(*st));
    }
    return saved_model{dir,
                       std::move(members),
                       std::move(weights),
                       std::move(*prep),
                       std::move(*info),
                       std::move(stack)};
  }

  if (!fs::exists(root / model_file, ec))
    return make_error(troupe::errc::not_found, where + " has no " + model_file +
                                                   "; is it a saved model?");
  auto b = xgb::booster::load((root / model_file).string());
  if (!b) return bad(model_file, describe(b.error()));
  auto rounds = b->rounds();
  if (!rounds) return bad(model_file, describe(rounds.error()));
  if (info->rounds != static_cast<uint64_t>(*rounds))
    return bad_model(where + ": " + model_info_file + " says " +
                     std::to_string(info->rounds) + " rounds, but " +
                     model_file + " holds " + std::to_string(*rounds));
  members.push_back(fitted_member::of_booster(std::move(*b)));
  weights.push_back(1.0);
  if (!info->ensemble.empty()) {
    weights.clear();
    for (size_t i = 0; i < info->ensemble.size(); ++i) {
      auto& m = info->ensemble[i];
      weights.push_back(m.weight);
      if (i == 0) continue; // model.ubj, loaded above
      auto mb = xgb::booster::load((root / m.file).string());
      if (!mb) return bad(m.file, describe(mb.error()));
      auto mr = mb->rounds();
      if (!mr) return bad(m.file, describe(mr.error()));
      if (m.rounds != static_cast<uint64_t>(*mr))
        return bad_model(where + ": " + model_info_file + " says member " +
                         m.file + " has " + std::to_string(m.rounds) +
                         " rounds, but it holds " + std::to_string(*mr));
      members.push_back(fitted_member::of_booster(std::move(*mb)));
    }
  }
  return saved_model{dir, std::move(members), std::move(weights),
                     std::move(*prep), std::move(*info)};
}

// -- predicting --------------------------------------------------------------

caf::expected<std::vector<float>>
saved_model::scores(const tabular::matrix& m) const {
  auto k = prep_.task() == task_kind::multiclass ? prep_.classes().size()
                                                 : size_t{1};
  // XGBoost members without a pipeline share one DMatrix
  std::optional<xgb::dmatrix> shared;
  std::vector<std::vector<float>> each;
  for (size_t i = 0; i < members_.size(); ++i) {
    auto& member = members_[i];
    caf::expected<std::vector<float>> s = std::vector<float>{};
    if (member.booster() && member.pipeline().identity()) {
      if (!shared) {
        auto d = xgboost_matrix(m, prep_);
        if (!d) return d.error();
        shared.emplace(std::move(*d));
      }
      s = member.booster()->predict(*shared);
    } else {
      s = member.scores(m, prep_);
    }
    if (!s) return s.error();
    if (s->size() != m.rows * k)
      return invalid("model directory '" + dir_ + "': member " +
                     std::to_string(i) + " gave " + std::to_string(s->size()) +
                     " values for " + std::to_string(m.rows) +
                     " rows; expected " + std::to_string(m.rows * k));
    each.push_back(std::move(*s));
  }
  return combine_members(each, weights_, stacker_.get());
}

caf::expected<prediction_table> saved_model::predict(const table& t) const {
  prediction_table out;
  auto m = prep_.transform(t, &out.warnings);
  if (!m) return m.error();
  auto& classes = prep_.classes();
  out.columns.push_back("prediction");
  switch (prep_.task()) {
  case task_kind::binary:
    out.columns.push_back("p_" + classes[1]);
    break;
  case task_kind::multiclass:
    for (auto& c : classes)
      out.columns.push_back("p_" + c);
    break;
  case task_kind::regression:
    break;
  }
  if (m->rows == 0) return out;
  auto scores = this->scores(*m);
  if (!scores) {
    auto err = scores.error();
    return caf::error{
        err.code(), err.category(),
        caf::make_message(describe(err) + " (rows of " + t.source + ")")};
  }
  auto k = prep_.task() == task_kind::multiclass ? classes.size() : size_t{1};
  out.scores = std::move(*scores);
  out.prediction.reserve(m->rows);
  for (size_t r = 0; r < m->rows; ++r) {
    switch (prep_.task()) {
    case task_kind::binary:
      out.prediction.push_back(classes[out.scores[r] >= 0.5f ? 1 : 0]);
      break;
    case task_kind::multiclass: {
      auto* row = out.scores.data() + r * k;
      size_t best = 0;
      for (size_t c = 1; c < k; ++c)
        if (row[c] > row[best]) best = c;
      out.prediction.push_back(classes[best]);
      break;
    }
    case task_kind::regression:
      out.prediction.push_back(shortest(out.scores[r]));
      break;
    }
  }
  return out;
}

} // namespace troupe::models
