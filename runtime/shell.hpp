#pragma once

// The interactive actor shell: `troupe shell [HOST:PORT] [-c "cmd; cmd"]`.
//
// Layers, each testable on its own:
//   split_commands / tokenize / complete / format_table  pure text functions
//   command_table                                       the core's commands
//   shell_command / shell_extension   commands a family adds (its own replies
//                  rendered by its own code: actors/<family>/shell.hpp); the
//                  core knows no family by name
//   shell          runs command lines against a shell_backend and writes to
//                  the streams of a shell_env (fakes in tests)
//   run_shell      connects a cluster_client, picks -c, stdin or readline

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
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

/// Elapsed or budget time as the shell and progress bars show it: "M:SS",
/// or "H:MM:SS" from an hour on.
std::string clock_text(uint64_t ms);

/// Command-line settings of `troupe shell`.
struct shell_options {
  std::string address = "127.0.0.1:7701"; ///< gateway HOST:PORT
  std::string commands;     ///< -c "cmd; cmd"; empty = interactive or stdin
  std::string history_file; ///< empty = $HOME/.troupe_history
};

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

/// The core's commands, in the order `help` lists them (a shell lists the
/// commands of its families before ping, shutdown, quit and exit).
const std::vector<command_info>& command_table();

/// The text `help` prints for `commands` (default: the core's).
std::string help_text(const std::vector<command_info>& commands);
std::string help_text();

/// What a command ends in.
enum class shell_outcome { ok, failed, quit };

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
  virtual caf::expected<std::vector<slot_row>> slots() = 0;
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

  /// The connection to the head, for family commands that call RPC
  /// interfaces of their own (`Cluster.service`); null in fakes.
  virtual cluster_client* client();
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

class shell;

/// A command a family adds to the shell, declared with the family (its
/// family.cpp) the way an rpc_service adds an RPC interface: its name, usage
/// and summary as `help` shows them, what it does, and how its words
/// complete.
struct shell_command {
  command_info info;
  /// Runs the command on its arguments (the words after its name).
  std::function<shell_outcome(shell& sh, const std::vector<std::string>& args)>
      run;
  /// The candidates for a word, given the positional words typed before it
  /// after the name; null for a command whose words do not complete.
  std::function<std::vector<std::string>(
      shell& sh, const std::vector<std::string>& positional)>
      complete;
};

/// Makes a family's commands for a shell over `core` (whose client() reaches
/// the family's RPC interfaces in production).
using shell_extension =
    std::function<std::vector<shell_command>(shell_backend& core)>;

/// Runs the shell with the commands of `extensions`; returns the process
/// exit code (0 ok, 1 a command failed, 2 cannot reach the head / usage).
int run_shell(const shell_options& opts,
              const std::vector<shell_extension>& extensions = {});

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

/// Runs command lines against a backend.
class shell {
public:
  using outcome = shell_outcome;

  shell(shell_backend& backend, shell_env env,
        std::vector<shell_command> extra = {});

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
  /// spawn's KIND, options after "--"), or what a family command offers.
  /// Names are cached for about 1 s.
  std::vector<std::string> completions(const std::string& before,
                                       const std::string& word);

  /// Every command of this shell (the core's and its families'), in the
  /// order `help` lists them.
  const std::vector<command_info>& commands() const { return table_; }

  // For commands: where they write, the time, and how they fail.

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  std::chrono::steady_clock::time_point now() const { return env_.now(); }

  /// Prints `usage: ...` of `name` to err and returns failed.
  outcome usage(const std::string& name);
  /// Prints `error: <problem>`, then the usage of `name`; returns failed.
  outcome usage(const std::string& name, const std::string& problem);
  /// Prints `error: <describe(err)>` and returns failed.
  outcome fail(const caf::error& err);
  /// Prints `error: <text>` and returns failed.
  outcome fail(const std::string& text);

private:
  using args = std::vector<std::string>;

  outcome cmd_help(const args& a);
  outcome cmd_nodes(const args& a);
  outcome cmd_slots(const args& a);
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
  outcome cmd_quit(const args& a);

  void refresh_names();

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

  /// The families' commands, by name, and the whole table `help` shows.
  std::map<std::string, shell_command> extra_;
  std::vector<command_info> table_;
};

} // namespace troupe
