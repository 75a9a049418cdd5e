#include "actors/serving/registry.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "actors/models/saved_model.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "runtime/time.hpp"

namespace troupe::serving {

using models::model_format;
using models::parse_model_format;
using models::servable;

namespace fs = std::filesystem;
using tabular::column_kind;

namespace {

constexpr size_t max_name = 64;

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

std::string hex(uint64_t x) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016llx",
                static_cast<unsigned long long>(x));
  return buf;
}

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i)
    out += (i ? ", " : "") + xs[i];
  return out;
}

/// The versions database's key: NAME \0 be64(version). Names hold no NUL,
/// so NAME \0 is the prefix of exactly NAME's versions, in version order.
std::string key(const std::string& name, uint32_t version) {
  return name + '\0' + lmdb::be64(version);
}

std::string prefix(const std::string& name) {
  return name + '\0';
}

/// `err` with `context` before its message, keeping a troupe error's code.
caf::error wrap(const caf::error& err, const std::string& context) {
  auto code = err.category() == error_category ? static_cast<errc>(err.code())
                                               : errc::invalid_argument;
  return make_error(code, context + ": " + describe(err));
}

/// Copies `src` to the new file `dst`, synced; returns its size and
/// checksum (of the bytes written).
caf::expected<model_file> copy_synced(const fs::path& src,
                                      const fs::path& dst) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return io_error("open", src);
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    auto err = io_error("create", dst);
    ::close(in);
    return err;
  }
  auto fail = [&](caf::error err) {
    ::close(in);
    ::close(out);
    return err;
  };
  model_file f{dst.filename().string(), 0, fnv1a64(nullptr, 0)};
  std::vector<char> buf(size_t{1} << 20);
  for (;;) {
    auto n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(io_error("read", src));
    if (n == 0) break;
    f.checksum = fnv1a64(buf.data(), static_cast<size_t>(n), f.checksum);
    f.size += static_cast<uint64_t>(n);
    for (const char* p = buf.data(); n > 0;) {
      auto w = ::write(out, p, static_cast<size_t>(n));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail(io_error("write", dst));
      p += w;
      n -= w;
    }
  }
  if (::fsync(out) != 0) return fail(io_error("sync", dst));
  ::close(in);
  if (::close(out) != 0) return io_error("close", dst);
  return f;
}

/// What a registration copies: source path -> name in the artifact.
struct planned_file {
  fs::path source;
  std::string name;
};

caf::expected<std::vector<planned_file>> plan(const registration& r) {
  std::error_code ec;
  std::vector<planned_file> out;
  auto what = to_string(r.format) + " model '" + r.path + "'";
  if (r.path.empty())
    return invalid("model '" + r.name + "': no artifact path given");
  if (!fs::exists(r.path, ec))
    return make_error(errc::not_found, what + " does not exist");
  if (r.format == model_format::troupe) {
    if (!fs::is_directory(r.path, ec))
      return invalid(what + " is not a directory (a troupe model is the "
                            "directory `troupe automl` saved)");
    for (auto& e : fs::directory_iterator{r.path, ec})
      if (e.is_regular_file(ec))
        out.push_back({e.path(), e.path().filename().string()});
    if (ec) return io_error("list", r.path, ec.value());
    std::sort(out.begin(), out.end(),
              [](auto& a, auto& b) { return a.name < b.name; });
    return out;
  }
  if (!fs::is_regular_file(r.path, ec)) return invalid(what + " is not a file");
  if (r.spec_path.empty())
    return invalid(what + ": no feature spec given (a troupe.preprocessor "
                          "JSON file, like a troupe model's "
                          "preprocessor.json)");
  if (!fs::is_regular_file(r.spec_path, ec))
    return make_error(errc::not_found,
                      "feature spec '" + r.spec_path + "' is not a file");
  std::string name = "model.pt";
  if (r.format == model_format::xgboost) {
    // XGBoost picks the format from the extension: keep it.
    auto ext = fs::path{r.path}.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (ext != ".json" && ext != ".ubj")
      return invalid(what + ": the file name must end in .json or .ubj");
    name = "model" + ext;
  }
  out.push_back({r.path, name});
  out.push_back({r.spec_path, "spec.json"});
  return out;
}

/// A troupe model's own scores: {metric: cv_score} from model.json, or a
/// training job's validation metrics from its summary.json.
std::map<std::string, double> troupe_metrics(const fs::path& dir) {
  std::map<std::string, double> out;
  if (auto summary = read_file(dir / "summary.json")) {
    auto j = nlohmann::json::parse(*summary, nullptr, false);
    if (j.is_object() && j.contains("valid") && j["valid"].is_object())
      for (auto& [k, v] : j["valid"].items())
        if (v.is_number()) out[k] = v.get<double>();
  }
  auto text = read_file(dir / "model.json");
  if (!text) return out;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  auto info = tabular::model_info_from_json(j);
  if (info && info->cv_score && !info->metric.empty())
    out[info->metric] = *info->cv_score;
  return out;
}

bool same_files(const std::vector<model_file>& a,
                const std::vector<model_file>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].size != b[i].size ||
        a[i].checksum != b[i].checksum)
      return false;
  return true;
}

caf::error check_stage(const std::string& stage) {
  auto& all = stage_labels();
  if (std::find(all.begin(), all.end(), stage) == all.end())
    return invalid("unknown stage '" + stage + "' (stages: " + join(all) + ")");
  return caf::none;
}

/// A temporary directory name no other registration uses.
std::string temp_name() {
  static std::atomic<uint64_t> counter{0};
  return ".tmp-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter++) + "-" + hex(now_micros()).substr(8);
}

} // namespace

// -- values ------------------------------------------------------------------

const std::vector<std::string>& stage_labels() {
  static const std::vector<std::string> all{"staging", "production", "canary"};
  return all;
}

caf::expected<model_file> hash_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path);
  model_file f{fs::path{path}.filename().string(), 0, fnv1a64(nullptr, 0)};
  std::vector<char> buf(size_t{1} << 20);
  for (;;) {
    auto n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto err = io_error("read", path);
      ::close(fd);
      return err;
    }
    if (n == 0) break;
    f.checksum = fnv1a64(buf.data(), static_cast<size_t>(n), f.checksum);
    f.size += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return f;
}

caf::error check_model_name(const std::string& name) {
  auto ok = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
           c == '_' || c == '-';
  };
  if (name.empty() || name.size() > max_name ||
      !std::isalnum(static_cast<unsigned char>(name[0])) ||
      !std::all_of(name.begin(), name.end(), ok))
    return invalid("bad model name '" + name +
                   "': use 1 to 64 letters, digits, '.', '_' or '-', "
                   "starting with a letter or digit");
  return caf::none;
}

std::string model_version::artifact() const {
  if (format == model_format::troupe || files.empty()) return artifact_dir;
  return (fs::path{artifact_dir} / files.front().name).string();
}

std::string model_version::spec() const {
  if (format == model_format::troupe) return {};
  return (fs::path{artifact_dir} / "spec.json").string();
}

std::string model_version::label() const {
  return "model " + name + " v" + std::to_string(version);
}

bool model_version::has_stage(const std::string& stage) const {
  return std::find(stages.begin(), stages.end(), stage) != stages.end();
}

nlohmann::json to_json(const model_version& v) {
  auto features = nlohmann::json::array();
  for (auto& f : v.features)
    features.push_back(
        {{"name", f.name},
         {"kind", f.kind == column_kind::numeric ? "numeric" : "categorical"}});
  auto files = nlohmann::json::array();
  for (auto& f : v.files)
    files.push_back(
        {{"name", f.name}, {"size", f.size}, {"checksum", f.checksum}});
  return {{"format", "troupe.model_version"},
          {"version", 1},
          {"name", v.name},
          {"number", v.version},
          {"model_format", to_string(v.format)},
          {"stages", v.stages},
          {"registered_by", v.registered_by},
          {"registered_at", v.registered_at},
          {"description", v.description},
          {"source", v.source},
          {"artifact_dir", v.artifact_dir},
          {"target", v.target},
          {"task", tabular::to_string(v.task)},
          {"classes", v.classes},
          {"features", std::move(features)},
          {"allow_nan", v.allow_nan},
          {"metrics", v.metrics},
          {"files", std::move(files)}};
}

caf::expected<model_version> model_version_from_json(const nlohmann::json& j) {
  std::string field;
  auto at = [&](const nlohmann::json& o, const char* k) -> const auto& {
    field = k;
    return o.at(k);
  };
  try {
    if (at(j, "format") != "troupe.model_version" || at(j, "version") != 1)
      return invalid("not a troupe.model_version record (version 1)");
    model_version v;
    v.name = at(j, "name").get<std::string>();
    v.version = at(j, "number").get<uint32_t>();
    auto f = parse_model_format(at(j, "model_format").get<std::string>());
    if (!f) return f.error();
    v.format = *f;
    v.stages = at(j, "stages").get<std::vector<std::string>>();
    v.registered_by = at(j, "registered_by").get<std::string>();
    v.registered_at = at(j, "registered_at").get<int64_t>();
    v.description = at(j, "description").get<std::string>();
    v.source = at(j, "source").get<std::string>();
    v.artifact_dir = at(j, "artifact_dir").get<std::string>();
    v.target = at(j, "target").get<std::string>();
    auto task = tabular::parse_task_kind(at(j, "task").get<std::string>());
    if (!task) return task.error();
    v.task = *task;
    v.classes = at(j, "classes").get<std::vector<std::string>>();
    for (auto& jf : at(j, "features")) {
      feature_info fi;
      fi.name = at(jf, "name").get<std::string>();
      auto kind = at(jf, "kind").get<std::string>();
      fi.kind = kind == "categorical" ? column_kind::categorical
                                      : column_kind::numeric;
      v.features.push_back(std::move(fi));
    }
    v.allow_nan = at(j, "allow_nan").get<bool>();
    v.metrics = at(j, "metrics").get<std::map<std::string, double>>();
    for (auto& jf : at(j, "files"))
      v.files.push_back({at(jf, "name").get<std::string>(),
                         at(jf, "size").get<uint64_t>(),
                         at(jf, "checksum").get<uint64_t>()});
    return v;
  } catch (const nlohmann::json::exception& e) {
    return invalid("model version record: field '" + field + "': " + e.what());
  }
}

// -- registry ----------------------------------------------------------------

caf::expected<std::unique_ptr<registry>> registry::open(const std::string& dir,
                                                        clock now) {
  if (dir.empty()) return invalid("model registry: no directory given");
  std::error_code ec;
  auto root = fs::absolute(dir, ec);
  if (ec) return io_error("resolve", dir, ec.value());
  fs::create_directories(root / "models", ec);
  if (ec) return io_error("create directory", root / "models", ec.value());
  lmdb::env_options opts;
  opts.map_size = size_t{1} << 30;
  opts.max_dbs = 4;
  auto env = lmdb::env::open((root / "registry").string(), opts);
  if (!env) return env.error();
  auto versions = env->open_db("versions");
  if (!versions) return versions.error();
  auto counters = env->open_db("counters");
  if (!counters) return counters.error();
  if (!now) now = now_micros;
  return std::unique_ptr<registry>{
      new registry{root.lexically_normal().string(), std::move(*env), *versions,
                   *counters, std::move(now)}};
}

caf::expected<std::vector<model_version>>
registry::read_versions(lmdb::txn& t, const std::string& name) {
  std::vector<model_version> out;
  caf::error bad;
  auto r = t.scan(
      versions_, prefix(name), [&](std::string_view, std::string_view v) {
        auto j = nlohmann::json::parse(v, nullptr, false);
        auto mv = model_version_from_json(j);
        if (!mv) {
          bad = make_error(errc::malformed_message,
                           env_.path() + ": a record of model '" + name +
                               "' is damaged: " + describe(mv.error()));
          return false;
        }
        mv->artifact_dir = (fs::path{dir_} / mv->artifact_dir).string();
        out.push_back(std::move(*mv));
        return true;
      });
  if (!r) return r.error();
  if (bad) return bad;
  return out;
}

caf::error registry::unknown_model(lmdb::txn& t, const std::string& name) {
  std::vector<std::string> all;
  auto r = t.scan(counters_, "", [&](std::string_view k, std::string_view) {
    all.emplace_back(k);
    return true;
  });
  if (!r) return r.error();
  return make_error(errc::not_found,
                    "no model '" + name + "'; registered: " +
                        (all.empty() ? std::string{"none"} : join(all)));
}

caf::error registry::put(lmdb::txn& t, const model_version& v) {
  auto rec = v;
  rec.artifact_dir =
      fs::path{v.artifact_dir}.lexically_relative(dir_).generic_string();
  // Invalid UTF-8 (in a description, say) is replaced rather than thrown.
  auto text = to_json(rec).dump(-1, ' ', false,
                                nlohmann::json::error_handler_t::replace);
  auto r = t.put(versions_, key(v.name, v.version), text);
  if (!r) return r.error();
  return caf::none;
}

caf::expected<std::vector<std::string>> registry::names() {
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.error();
  std::vector<std::string> out;
  auto r = t->scan(counters_, "", [&](std::string_view k, std::string_view) {
    out.emplace_back(k);
    return true;
  });
  if (!r) return r.error();
  return out;
}

caf::expected<std::vector<model_version>>
registry::versions(const std::string& name) {
  if (auto err = check_model_name(name)) return err;
  auto t = lmdb::txn::begin(env_, true);
  if (!t) return t.error();
  auto vs = read_versions(*t, name);
  if (!vs) return vs.error();
  if (vs->empty()) return unknown_model(*t, name);
  return vs;
}

caf::expected<model_version> registry::get(const std::string& name,
                                           uint32_t version) {
  auto vs = versions(name);
  if (!vs) return vs.error();
  std::vector<std::string> numbers;
  for (auto& v : *vs) {
    if (v.version == version) return v;
    numbers.push_back(std::to_string(v.version));
  }
  return make_error(errc::not_found, "model '" + name + "' has no version " +
                                         std::to_string(version) +
                                         "; versions: " + join(numbers));
}

caf::expected<model_version> registry::resolve(const std::string& name,
                                               const std::string& selector) {
  auto vs = versions(name);
  if (!vs) return vs.error();
  if (selector == "latest") return vs->back();
  auto digits =
      selector.size() > 1 && selector[0] == 'v' ? selector.substr(1) : selector;
  if (!digits.empty() && digits.size() <= 9 &&
      std::all_of(digits.begin(), digits.end(),
                  [](unsigned char c) { return std::isdigit(c); }))
    return get(name, static_cast<uint32_t>(std::stoul(digits)));
  if (check_stage(selector))
    return invalid("version selector '" + selector +
                   "' is not a number, vN, latest or a stage (" +
                   join(stage_labels()) + ")");
  std::vector<std::string> held;
  for (auto& v : *vs) {
    if (v.has_stage(selector)) return v;
    for (auto& s : v.stages)
      held.push_back(s + " (v" + std::to_string(v.version) + ")");
  }
  return make_error(errc::not_found,
                    "no version of model '" + name + "' holds stage '" +
                        selector + "'; stages held: " +
                        (held.empty() ? std::string{"none"} : join(held)));
}

caf::expected<model_version> registry::change_stage(const std::string& name,
                                                    uint32_t version,
                                                    const std::string& stage,
                                                    bool on) {
  if (auto err = check_model_name(name)) return err;
  if (auto err = check_stage(stage)) return err;
  auto t = lmdb::txn::begin(env_, false);
  if (!t) return t.error();
  auto vs = read_versions(*t, name);
  if (!vs) return vs.error();
  if (vs->empty()) return unknown_model(*t, name);
  auto target = std::find_if(vs->begin(), vs->end(),
                             [&](auto& v) { return v.version == version; });
  if (target == vs->end()) {
    std::vector<std::string> numbers;
    for (auto& v : *vs)
      numbers.push_back(std::to_string(v.version));
    return make_error(errc::not_found, "model '" + name + "' has no version " +
                                           std::to_string(version) +
                                           "; versions: " + join(numbers));
  }
  for (auto& v : *vs) {
    bool want = on && &v == &*target;
    if (v.has_stage(stage) == want) continue;
    if (want) {
      v.stages.push_back(stage);
      std::sort(v.stages.begin(), v.stages.end());
    } else {
      v.stages.erase(std::remove(v.stages.begin(), v.stages.end(), stage),
                     v.stages.end());
    }
    if (auto err = put(*t, v)) return err;
  }
  if (auto r = t->commit(); !r) return r.error();
  return *target;
}

caf::expected<model_version> registry::set_stage(const std::string& name,
                                                 uint32_t version,
                                                 const std::string& stage) {
  return change_stage(name, version, stage, true);
}

caf::expected<model_version> registry::clear_stage(const std::string& name,
                                                   uint32_t version,
                                                   const std::string& stage) {
  return change_stage(name, version, stage, false);
}

caf::expected<model_version> registry::add(const registration& r) {
  if (auto err = check_model_name(r.name)) return err;
  for (auto& s : r.stages)
    if (auto err = check_stage(s)) return err;
  for (auto& [k, x] : r.metrics)
    if (!std::isfinite(x))
      return invalid("model '" + r.name + "': metric '" + k +
                     "' is not a finite number");
  auto files = plan(r);
  if (!files) return files.error();
  auto where = "model '" + r.name + "': cannot register " +
               to_string(r.format) + " model '" +
               (r.source.empty() ? r.path : r.source) + "'";

  // The same content registered before: that version, with the stages.
  std::vector<model_file> hashes;
  for (auto& f : *files) {
    auto h = hash_file(f.source.string());
    if (!h) return h.error();
    h->name = f.name;
    hashes.push_back(std::move(*h));
  }
  auto same = [&](const model_version& v) {
    return v.format == r.format && v.allow_nan == r.allow_nan &&
           same_files(v.files, hashes);
  };
  auto reuse = [&](const model_version& v) -> caf::expected<model_version> {
    auto out = v;
    for (auto& s : r.stages) {
      auto changed = set_stage(v.name, v.version, s);
      if (!changed) return changed.error();
      out = std::move(*changed);
    }
    return out;
  };
  {
    auto t = lmdb::txn::begin(env_, true);
    if (!t) return t.error();
    auto vs = read_versions(*t, r.name);
    if (!vs) return vs.error();
    t->abort();
    for (auto& v : *vs)
      if (same(v)) return reuse(v);
  }

  // Copy, sync and check the copy.
  std::error_code ec;
  auto parent = fs::path{dir_} / "models" / r.name;
  fs::create_directories(parent, ec);
  if (ec) return io_error("create directory", parent, ec.value());
  auto tmp = parent / temp_name();
  if (!fs::create_directory(tmp, ec))
    return io_error("create directory", tmp, ec.value());
  // Removes the artifact (and the name's directory if that leaves it empty)
  // unless the registration commits.
  struct cleanup {
    fs::path dir;
    fs::path parent;
    ~cleanup() {
      std::error_code ec;
      if (dir.empty()) return;
      fs::remove_all(dir, ec);
      fs::remove(parent, ec); // only if empty
    }
  } guard{tmp, parent};
  model_version v;
  v.name = r.name;
  v.format = r.format;
  v.registered_by = r.registered_by;
  v.registered_at = now_();
  v.description = r.description;
  if (!r.source.empty()) {
    v.source = r.source;
  } else {
    auto src = fs::absolute(r.path, ec);
    v.source = (ec ? fs::path{r.path} : src).lexically_normal().string();
  }
  v.allow_nan = r.allow_nan;
  for (size_t i = 0; i < files->size(); ++i) {
    auto& f = (*files)[i];
    auto copied = copy_synced(f.source, tmp / f.name);
    if (!copied) return copied.error();
    if (copied->size != hashes[i].size ||
        copied->checksum != hashes[i].checksum)
      return make_error(errc::io_failure,
                        where + ": " + f.source.string() +
                            " changed while it was copied; try again");
    v.files.push_back(std::move(*copied));
  }
  if (auto err = sync_dir(tmp)) return err;
  v.artifact_dir = tmp.string();
  // Loaded to check it and read its spec, then dropped: not compiled.
  auto loaded =
      servable::load(r.format, v.artifact(), v.spec(), {1, r.allow_nan, false});
  if (!loaded) return wrap(loaded.error(), where);
  auto& prep = (*loaded)->prep();
  v.target = prep.target();
  v.task = prep.task();
  v.classes = prep.classes();
  for (auto& f : prep.features())
    v.features.push_back({f.name, f.kind});
  loaded->reset();
  if (r.format == model_format::troupe) v.metrics = troupe_metrics(tmp);
  for (auto& [k, x] : r.metrics)
    v.metrics[k] = x;

  // Number it, move it into place and commit.
  auto t = lmdb::txn::begin(env_, false);
  if (!t) return t.error();
  auto vs = read_versions(*t, r.name);
  if (!vs) return vs.error();
  for (auto& old : *vs)
    if (same(old)) { // registered meanwhile by another process
      t->abort();
      return reuse(old);
    }
  auto counter = t->get(counters_, r.name);
  if (!counter) return counter.error();
  uint64_t last = *counter ? lmdb::from_be64(**counter) : 0;
  if (last >= UINT32_MAX) return invalid(where + ": no version numbers left");
  v.version = static_cast<uint32_t>(last + 1);
  auto final_dir = parent / ("v" + std::to_string(v.version));
  fs::remove_all(final_dir, ec); // left by a crash before a commit
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0)
    return io_error("rename '" + tmp.string() + "' to", final_dir);
  guard.dir = final_dir; // removed unless committed
  if (auto err = sync_dir(parent)) return err;
  v.artifact_dir = final_dir.string();
  for (auto& s : r.stages)
    if (!v.has_stage(s)) v.stages.push_back(s);
  std::sort(v.stages.begin(), v.stages.end());
  for (auto& old : *vs) {
    auto before = old.stages.size();
    old.stages.erase(std::remove_if(old.stages.begin(), old.stages.end(),
                                    [&](auto& s) { return v.has_stage(s); }),
                     old.stages.end());
    if (old.stages.size() != before)
      if (auto err = put(*t, old)) return err;
  }
  if (auto err = put(*t, v)) return err;
  if (auto p = t->put(counters_, r.name, lmdb::be64(v.version)); !p)
    return p.error();
  if (auto c = t->commit(); !c) return c.error();
  guard.dir.clear();
  return v;
}

caf::error registry::verify(const model_version& v) {
  for (auto& f : v.files) {
    auto path = fs::path{v.artifact_dir} / f.name;
    std::error_code ec;
    if (!fs::exists(path, ec))
      return make_error(errc::not_found, v.label() + ": file " + f.name +
                                             " is missing from " +
                                             v.artifact_dir);
    auto h = hash_file(path.string());
    if (!h) return wrap(h.error(), v.label());
    if (h->size != f.size || h->checksum != f.checksum)
      return make_error(
          errc::invalid_argument,
          v.label() + ": file " + f.name + " changed since registration (" +
              std::to_string(f.size) + " bytes, checksum " + hex(f.checksum) +
              "; now " + std::to_string(h->size) + " bytes, checksum " +
              hex(h->checksum) + ")");
  }
  return caf::none;
}

caf::expected<std::unique_ptr<servable>> registry::load(const model_version& v,
                                                        size_t threads) {
  if (auto err = verify(v)) return err;
  auto s =
      servable::load(v.format, v.artifact(), v.spec(), {threads, v.allow_nan});
  if (!s) return wrap(s.error(), v.label());
  return s;
}

} // namespace troupe::serving
