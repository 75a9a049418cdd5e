#pragma once

// The model registry: named models, each with versions 1, 2, 3, ..., their
// metadata in one LMDB environment and their artifacts as files beside it.
// Plain C++, no CAF actors; errors are caf::expected values naming the
// model, the version and the file.
//
// Layout of a registry directory DIR:
//
//   DIR/registry/              LMDB: "versions" (NAME \0 be64(version) ->
//                              the version's JSON record), "counters" (NAME
//                              -> be64(last version given))
//   DIR/models/NAME/vN/        the artifact of version N: a troupe model
//                              directory's files, or the model file
//                              (model.ubj, model.json or model.pt) and
//                              spec.json
//
// A registration copies the files into DIR/models/NAME/.tmp-*, syncs them,
// loads the copy with servable::load (a corrupt or incompatible artifact is
// refused here), renames it to vN and commits the record; a failure at any
// step leaves neither record nor directory, and other versions untouched.
// Each file's size and FNV-1a 64 checksum are recorded, and load() refuses
// a file that changed since.
//
// LMDB makes the store safe to open from several processes (a node and the
// CLI); within one process, open a directory once at a time. No call keeps
// a transaction open past its return. add() and load() read, copy and sync
// whole files and load models: run them off the CAF scheduler threads (a
// detached actor or the compute pool).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

#include "actors/models/servable.hpp"
#include "actors/tabular/csv.hpp"
#include "actors/tabular/dataset.hpp"
#include "runtime/hash.hpp"
#include "runtime/lmdb.hpp"

namespace troupe::serving {

using models::model_format;
using models::servable;

/// The stage labels a version may hold; each is held by at most one version
/// of a model at a time.
const std::vector<std::string>& stage_labels();

/// One file of an artifact.
struct model_file {
  std::string name; ///< the file's name inside the artifact directory
  uint64_t size = 0;
  uint64_t checksum = 0; ///< fnv1a64 of the content
};

/// Size and checksum of the file at `path` (named by its file name).
caf::expected<model_file> hash_file(const std::string& path);

/// A feature of the training-set schema.
struct feature_info {
  std::string name;
  tabular::column_kind kind = tabular::column_kind::numeric;
};

/// One registered version of a model.
struct model_version {
  std::string name;
  uint32_t version = 0;
  model_format format = model_format::troupe;
  /// Stage labels held, sorted.
  std::vector<std::string> stages;
  std::string registered_by;
  /// Microseconds since the epoch (UTC).
  int64_t registered_at = 0;
  std::string description;
  /// Where the artifact was registered from.
  std::string source;
  /// The artifact's directory (absolute; the record keeps it relative to the
  /// registry, which may move).
  std::string artifact_dir;
  /// The feature spec: target, task, classes and the features.
  std::string target;
  tabular::task_kind task = tabular::task_kind::regression;
  std::vector<std::string> classes;
  std::vector<feature_info> features;
  bool allow_nan = true;
  /// Scores: a troupe model's study metric and cv score (e.g. "auc": 0.91),
  /// plus those given at registration.
  std::map<std::string, double> metrics;
  /// The artifact's files: for xgboost and torchscript the model file, then
  /// spec.json; for troupe the directory's files by name.
  std::vector<model_file> files;

  /// What servable::load takes: the directory (troupe) or the model file.
  std::string artifact() const;
  /// The spec file; empty for troupe.
  std::string spec() const;
  /// "NAME vN", for messages.
  std::string label() const;
  bool has_stage(const std::string& stage) const;
};

/// The record's JSON form (artifact_dir relative as stored) and back; the
/// error names the bad field.
nlohmann::json to_json(const model_version& v);
caf::expected<model_version> model_version_from_json(const nlohmann::json& j);

/// What to register.
struct registration {
  /// 1 to 64 characters of [A-Za-z0-9._-], starting with a letter or digit.
  std::string name;
  model_format format = model_format::troupe;
  /// The model directory (troupe) or the model file.
  std::string path;
  /// The feature spec file (xgboost, torchscript); ignored for troupe.
  std::string spec_path;
  /// Where the model came from as its registrant named it (recorded, and
  /// named in errors); empty: `path`. Set when `path` is a staging copy.
  std::string source;
  std::string registered_by;
  std::string description;
  /// Merged over a troupe model's own metric.
  std::map<std::string, double> metrics;
  /// Stage labels the version takes (from whichever version held them).
  std::vector<std::string> stages;
  bool allow_nan = true;
};

/// Checks a model name; the error names it and says what is allowed.
caf::error check_model_name(const std::string& name);

class registry {
public:
  /// Microseconds since the epoch, UTC.
  using clock = std::function<int64_t()>;

  /// Opens (creating) the registry at `dir`; `now` stamps registrations
  /// (the system clock when empty).
  static caf::expected<std::unique_ptr<registry>> open(const std::string& dir,
                                                       clock now = {});

  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Registers a version (see the top of this file) and gives it the
  /// requested stages. Idempotent, like re-running a deploy script: when an
  /// existing version of the name has the same format, allow_nan and files
  /// (names, sizes and checksums: the model and its spec), that version is
  /// returned instead of a new one, with the requested stages set on it; its
  /// description, metrics and registered_by stay as they were. Errors: a bad
  /// name, format, path or stage, an artifact that does not load or fit its
  /// spec (the message says why).
  caf::expected<model_version> add(const registration& r);

  /// The registered model names, sorted.
  caf::expected<std::vector<std::string>> names();

  /// The versions of `name`, oldest first; an unknown name is an error
  /// listing the registered ones.
  caf::expected<std::vector<model_version>> versions(const std::string& name);

  /// One version; errors list what exists.
  caf::expected<model_version> get(const std::string& name, uint32_t version);

  /// The version `selector` names: "3", "v3", "latest" or a stage label
  /// ("production": the version holding it).
  caf::expected<model_version> resolve(const std::string& name,
                                       const std::string& selector);

  /// Gives `stage` to a version, taking it from the version that held it;
  /// returns the version's record.
  caf::expected<model_version> set_stage(const std::string& name,
                                         uint32_t version,
                                         const std::string& stage);

  /// Takes `stage` from a version (nothing to do when it lacks it).
  caf::expected<model_version> clear_stage(const std::string& name,
                                           uint32_t version,
                                           const std::string& stage);

  /// Checks every file of `v` against its recorded size and checksum: "model
  /// NAME v3: file model.ubj changed since registration (...)".
  caf::error verify(const model_version& v);

  /// verify(v), then servable::load of its artifact with v.allow_nan.
  caf::expected<std::unique_ptr<servable>> load(const model_version& v,
                                                size_t threads = 1);

  /// The registry's directory (absolute).
  const std::string& dir() const { return dir_; }

private:
  registry(std::string dir, lmdb::env env, MDB_dbi versions, MDB_dbi counters,
           clock now)
      : dir_(std::move(dir)), env_(std::move(env)), versions_(versions),
        counters_(counters), now_(std::move(now)) {}

  /// Every version of `name` in `t` (empty when unknown).
  caf::expected<std::vector<model_version>> read_versions(lmdb::txn& t,
                                                          const std::string&);
  /// The "no model 'x'; registered: ..." error.
  caf::error unknown_model(lmdb::txn& t, const std::string& name);
  caf::error put(lmdb::txn& t, const model_version& v);
  /// set_stage / clear_stage in one write transaction.
  caf::expected<model_version> change_stage(const std::string& name,
                                            uint32_t version,
                                            const std::string& stage, bool on);

  std::string dir_;
  lmdb::env env_;
  MDB_dbi versions_;
  MDB_dbi counters_;
  clock now_;
};

} // namespace troupe::serving
