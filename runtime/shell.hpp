#pragma once

// The interactive actor shell: `troupe shell [HOST:PORT] [-c "cmd; cmd"]`.
//
// Layers, each testable on its own:
//   split_commands / tokenize / complete / format_table  pure text functions
//   command_table                                       names and usages
//   format_studies / format_study / format_study_line   AutoML replies as text
//   format_feature_groups / _group / _row               feature store replies
//   format_deployments / _deployment / _deployment_line model serving replies
//   shell          runs command lines against a shell_backend and writes to
//                  the streams of a shell_env (fakes in tests)
//   run_shell      connects a cluster_client, picks -c, stdin or readline

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/client.hpp"
#include "runtime/envelope.hpp"

namespace troupe {

/// Elapsed or budget time as the shell and `troupe automl` show it: "M:SS",
/// or "H:MM:SS" from an hour on.
std::string clock_text(uint64_t ms);

/// Command-line settings of `troupe shell`.
struct shell_options {
  std::string address = "127.0.0.1:7701"; ///< gateway HOST:PORT
  std::string commands;     ///< -c "cmd; cmd"; empty = interactive or stdin
  std::string history_file; ///< empty = $HOME/.troupe_history
};

/// Runs the shell; returns the process exit code (0 ok, 1 a command failed,
/// 2 cannot reach the head / usage).
int run_shell(const shell_options& opts);

// -- pure text helpers --------------------------------------------------------

/// Splits a script on `;` outside quotes and backslash escapes. Pieces keep
/// their quotes and escapes (for `tokenize`), are trimmed, and empty pieces
/// are dropped.
std::vector<std::string> split_commands(const std::string& text);

/// Splits one command into words: whitespace separates, '...' is literal,
/// "..." allows \" and \\, and a backslash outside quotes escapes the next
/// character. An unterminated quote is an error naming its 1-based column.
caf::expected<std::vector<std::string>> tokenize(const std::string& line);

/// The candidates starting with `prefix`, sorted and without duplicates.
std::vector<std::string> complete(const std::string& prefix,
                                  const std::vector<std::string>& candidates);

/// Renders rows as left-aligned columns separated by two spaces, one line
/// per row, with `headers` as the first row (none if empty). Widths count
/// UTF-8 code points; lines carry no trailing blanks.
std::string format_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows);

/// One shell command as `help` shows it.
struct command_info {
  std::string name;    ///< first word, e.g. "spawn"
  std::string usage;   ///< e.g. "spawn KIND [NODE|any|head|every] ..."
  std::string summary; ///< one line
};

/// Every command the shell knows, in the order `help` lists them.
const std::vector<command_info>& command_table();

/// The text `help` prints.
std::string help_text();

// -- AutoML studies -----------------------------------------------------------
// The shell reaches the "automl" service on the head through the gateway's
// `send` (protocol: actors/automl/service.hpp, schemas/automl.capnp).

/// Renders a StudyList (the answer to `list`) as the `studies` table: ID
/// STATE TRIALS DONE RUNNING PRUNED FAILED BEST ELAPSED, one row per study,
/// then "N studies". Stored studies (not loaded) show "-" for their numbers.
/// An error if `list` holds no StudyList.
caf::expected<std::string> format_studies(const envelope& list);

/// Renders a StudyStatus (the answer to `status`) as `study ID` prints it:
/// its fields as aligned "key  value" lines, then the leaderboard (RANK TRIAL
/// STATE VALUE STEPS NODE CONFIG, best first). An error if `status` holds no
/// StudyStatus.
caf::expected<std::string> format_study(const envelope& status);

/// Renders a StudyStatus as one line ("study ID: STATE, N trials (...)").
caf::expected<std::string> format_study_line(const envelope& status);

/// The study ids of a StudyList, in its order.
caf::expected<std::vector<std::string>> study_ids(const envelope& list);

// -- feature store ------------------------------------------------------------
// The shell reaches the head's "features" RPC service (a FeatureStore,
// schemas/features.capnp) through the gateway's `service`.

/// Renders a FeatureGroupList as the `groups` table: NAME VECTOR (name×width)
/// FIELDS TTL SHARDS CREATED, one row per group, then "N groups". An error if
/// `list` holds no FeatureGroupList.
caf::expected<std::string> format_feature_groups(const envelope& list);

/// Renders a GroupStats as `group G` prints it: the definition as aligned
/// "key  value" lines, the fields (FIELD TYPE NULLABLE), then the shards
/// (SHARD NODE ACTOR STATE ENTITIES VERSIONS BYTES) and their totals.
caf::expected<std::string> format_feature_group(const envelope& stats);

/// Renders a FeatureRow of the FeatureGroup `group` as `get` prints it: the
/// entity, the event time (ISO, UTC), each field as "name = value", and the
/// vector (its first 8 values, "…" and the last 2 when wider than 10) with
/// its width, min, max and mean. A row that was not found renders as
/// "ENTITY: not found in GROUP".
caf::expected<std::string> format_feature_row(const envelope& group,
                                              const envelope& row);

/// The group names of a FeatureGroupList, in its order.
caf::expected<std::vector<std::string>>
feature_group_names(const envelope& list);

/// Parses the AS_OF of `get`: an ISO time in UTC ("2024-03-01",
/// "2024-03-01T12:00", "2024-03-01T12:00:00.25Z", "...+01:00") or an integer
/// of microseconds since the epoch. Returns microseconds since the epoch.
caf::expected<int64_t> parse_as_of(const std::string& text);

// -- model serving ------------------------------------------------------------
// The shell reaches the head's "serving" RPC service (a Predictor,
// schemas/serving.capnp) through the gateway's `service`.

/// Renders a DeploymentList as the `deployments` table: NAME MODEL VERSIONS
/// ("1=90,2=10", the traffic split) REPLICAS ("ready/desired (min..max)")
/// REQUESTS ERRORS SHED RETRIES QUEUED P50 P99, one row per deployment, then
/// "N deployments". An error if `list` holds no DeploymentList.
caf::expected<std::string> format_deployments(const envelope& list);

/// Renders a DeploymentStatus as `deployment NAME` prints it: the spec
/// (replicas as "MIN:MAX (want D, R ready)"), traffic split, stable and
/// previous version, counters and latencies as aligned "key  value" lines, then
/// the replicas (REPLICA NODE VERSION STATE IN-FLIGHT SERVED).
caf::expected<std::string> format_deployment(const envelope& status);

/// Renders a DeploymentStatus as one line, as `scale` prints it: "NAME:
/// model M, replicas MIN..MAX, R/D ready, traffic 1=100, N requests".
caf::expected<std::string> format_deployment_line(const envelope& status);

/// The deployment names of a DeploymentList, in its order.
caf::expected<std::vector<std::string>> deployment_names(const envelope& list);

/// Parses the replicas of `scale`: "N" (exactly N) or "MIN:MAX", with
/// 1 <= MIN <= MAX <= 1024. Errors name the part that is wrong.
caf::expected<std::pair<uint32_t, uint32_t>>
parse_replica_range(const std::string& text);

/// A latency or delay in microseconds as "850us", "1.23ms", "3s"; "-" for 0,
/// negative or NaN (no samples).
std::string duration_text(double micros);

// -- the shell ----------------------------------------------------------------

/// What the shell needs from the cluster: a connected cluster_client in
/// production (make_backend), a fake in tests. Mirrors cluster_client.
class shell_backend {
public:
  using event_handler = std::function<bool(const event_row&)>;
  using snapshot_handler = std::function<void(const std::vector<node_row>&,
                                              const std::vector<actor_row>&)>;

  virtual ~shell_backend();

  virtual caf::expected<std::vector<node_row>> nodes() = 0;
  virtual caf::expected<std::vector<actor_row>> actors() = 0;
  virtual caf::expected<std::vector<std::string>> kinds() = 0;
  virtual caf::expected<std::vector<actor_row>>
  spawn(const std::string& kind, const std::string& where,
        const std::string& config, const std::string& name) = 0;
  virtual caf::expected<envelope> send(const std::string& actor,
                                       const envelope& payload,
                                       const std::string& op) = 0;
  virtual caf::expected<std::vector<stats_row>>
  stats(const std::string& target) = 0;
  virtual caf::expected<void> stop(const std::string& actor) = 0;
  virtual caf::expected<void> shutdown() = 0;
  virtual caf::expected<void> ping() = 0;
  /// See cluster_client::watch.
  virtual caf::expected<void> watch(const event_handler& on_event,
                                    std::chrono::milliseconds max_wait,
                                    const snapshot_handler& on_snapshot) = 0;

  /// The feature store's answers as envelopes: a FeatureGroupList, a
  /// GroupStats, a FeatureRow (the latest version, or the one in force at
  /// `as_of` microseconds). The defaults answer that the backend has none.
  virtual caf::expected<envelope> feature_groups();
  virtual caf::expected<envelope> feature_group(const std::string& name);
  virtual caf::expected<envelope> feature_get(const std::string& group,
                                              const std::string& entity,
                                              std::optional<int64_t> as_of);

  /// The serving service's answers as envelopes: a DeploymentList, and a
  /// DeploymentStatus for `deployment` and `scale` (which sets the replica
  /// range). The defaults answer that the backend has no model serving.
  virtual caf::expected<envelope> deployments();
  virtual caf::expected<envelope> deployment(const std::string& name);
  virtual caf::expected<envelope>
  scale(const std::string& name, uint32_t min_replicas, uint32_t max_replicas);
};

/// Adapts a connected client.
std::unique_ptr<shell_backend>
make_backend(std::unique_ptr<cluster_client> client);

/// Where the shell writes and how it tells time. Unset functions get the
/// real ones; tests pass a manual clock.
struct shell_env {
  std::ostream* out = nullptr; ///< tables and replies (std::cout if null)
  std::ostream* err = nullptr; ///< "error: ..." lines (std::cerr if null)
  /// Interactive: `watch` without SECONDS runs until Ctrl-C.
  bool interactive = false;
  /// Monotonic time (timeouts, ping).
  std::function<std::chrono::steady_clock::time_point()> now;
  /// Pauses between polls of `wait-nodes`.
  std::function<void(std::chrono::milliseconds)> sleep;
  /// Wall-clock ms since the epoch (LAST-SEEN, event times).
  std::function<int64_t()> wall_ms;
  /// True once the user pressed Ctrl-C during the current command.
  std::function<bool()> interrupted;
};

/// Runs command lines against a backend.
class shell {
public:
  enum class outcome { ok, failed, quit };

  shell(shell_backend& backend, shell_env env);

  /// Runs one input line: ignored if blank or starting with '#', otherwise
  /// split on ';' and run piece by piece until one says quit.
  outcome run_line(const std::string& line);

  /// Runs a script (the -c text): split on ';', each piece run in order
  /// (pieces starting with '#' are ignored) until one says quit.
  outcome run_script(const std::string& text);

  /// Runs one command (no ';' splitting).
  outcome execute(const std::string& command);

  /// Commands that failed so far.
  size_t failures() const noexcept { return failures_; }

  /// Completions of `word` where `before` is the line up to it: command
  /// names for the first word, otherwise actor and node names (kinds for
  /// spawn's KIND, study ids for study and stop-study, feature group names
  /// for group and get, deployment names for deployment and scale, options
  /// after "--").
  /// Names are cached for about 1 s.
  std::vector<std::string> completions(const std::string& before,
                                       const std::string& word);

private:
  using args = std::vector<std::string>;

  outcome cmd_help(const args& a);
  outcome cmd_nodes(const args& a);
  outcome cmd_actors(const args& a);
  outcome cmd_kinds(const args& a);
  outcome cmd_spawn(const args& a);
  outcome cmd_send(const args& a);
  outcome cmd_stats(const args& a);
  outcome cmd_stop(const args& a);
  outcome cmd_watch(const args& a);
  outcome cmd_wait_nodes(const args& a);
  outcome cmd_ping(const args& a);
  outcome cmd_shutdown(const args& a);
  outcome cmd_studies(const args& a);
  outcome cmd_study(const args& a);
  outcome cmd_stop_study(const args& a);
  outcome cmd_groups(const args& a);
  outcome cmd_group(const args& a);
  outcome cmd_get(const args& a);
  outcome cmd_deployments(const args& a);
  outcome cmd_deployment(const args& a);
  outcome cmd_scale(const args& a);
  outcome cmd_quit(const args& a);

  /// Prints `usage: ...` of `name` to err and returns failed.
  outcome usage(const std::string& name);
  /// Prints `error: <problem>`, then the usage of `name`; returns failed.
  outcome usage(const std::string& name, const std::string& problem);
  /// Prints `error: <describe(err)>` and returns failed.
  outcome fail(const caf::error& err);
  /// Prints `error: <text>` and returns failed.
  outcome fail(const std::string& text);

  void refresh_names();
  /// Sends (op, StudyRef{id}) to the "automl" service; errors are worded
  /// for people (the service is not running, or the service's message).
  caf::expected<envelope> ask_automl(const std::string& op,
                                     const std::string& id);
  /// Refresh study_ids_, group_names_ and deployment_names_ for completion.
  void refresh_studies();
  void refresh_groups();
  void refresh_deployments();

  shell_backend& backend_;
  shell_env env_;
  std::ostream& out_;
  std::ostream& err_;
  size_t failures_ = 0;

  struct name_cache {
    std::chrono::steady_clock::time_point fetched;
    bool valid = false;
    std::vector<std::string> nodes;
    std::vector<std::string> actors;
    std::vector<std::string> kinds;
  };
  name_cache cache_;

  /// Names offered for completion, from the last listing of them (by a
  /// command or by a refresh), fetched again when about a second old.
  struct completion_list {
    std::vector<std::string> names;
    std::chrono::steady_clock::time_point fetched;
    bool valid = false;

    /// Keeps `fresh` (from a listing made at `now`) when it is a list.
    void keep(caf::expected<std::vector<std::string>> fresh,
              std::chrono::steady_clock::time_point now) {
      if (!fresh) return;
      names = std::move(*fresh);
      valid = true;
      fetched = now;
    }

    /// Calls `fetch` (returning the names) unless the names are younger
    /// than a second; a failed fetch is not retried within that second.
    template <class Fetch>
    void refresh(std::chrono::steady_clock::time_point now, Fetch&& fetch) {
      if (valid && now - fetched < std::chrono::seconds{1}) return;
      valid = true;
      fetched = now;
      if (auto fresh = fetch()) names = std::move(*fresh);
    }
  };

  completion_list study_ids_;        ///< `studies`
  completion_list group_names_;      ///< `groups`
  completion_list deployment_names_; ///< `deployments`
};

} // namespace troupe
