#include "runtime/shell.hpp"

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "runtime/errors.hpp"
#include "runtime/shell_detail.hpp"
#include "schemas/common.capnp.h"

namespace troupe {

using shell_detail::is_space;
using shell_detail::starts_with;
using shell_detail::trim;

namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

/// Offset just after the last `;` outside quotes, or 0.
size_t last_command_start(const std::string& text) {
  size_t start = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote == '\'') {
      if (c == '\'') quote = 0;
    } else if (c == '\\') {
      ++i;
    } else if (quote == '"') {
      if (c == '"') quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == ';') {
      start = i + 1;
    }
  }
  return start;
}

/// Words of a partial line for completion: tokenized if possible, split on
/// whitespace otherwise (an open quote is normal while typing).
std::vector<std::string> loose_words(const std::string& text) {
  if (auto words = tokenize(text)) return std::move(*words);
  std::vector<std::string> words;
  std::istringstream in{text};
  for (std::string word; in >> word;)
    words.push_back(word);
  return words;
}

/// Parses a non-negative number of seconds ("10", "0.5").
std::optional<double> parse_seconds(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value) || value < 0 ||
      value > 1e7)
    return std::nullopt;
  return value;
}

/// Parses a non-negative integer.
std::optional<uint64_t> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(text);
}

milliseconds to_ms(double seconds) {
  return milliseconds{static_cast<int64_t>(std::llround(seconds * 1000))};
}

std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

/// One decimal: "0.0", "61.3".
std::string format_fixed(double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f", value);
  return buf;
}

/// "HH:MM:SS.mmm" in local time.
std::string format_clock(int64_t wall_ms) {
  auto secs = static_cast<std::time_t>(wall_ms / 1000);
  std::tm parts{};
  localtime_r(&secs, &parts);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%03d", parts.tm_hour,
                parts.tm_min, parts.tm_sec,
                static_cast<int>(((wall_ms % 1000) + 1000) % 1000));
  return buf;
}

/// Takes `--flag VALUE` or `--flag=VALUE` at a[i]; advances i past VALUE.
/// Returns false if a[i] is not this flag; sets `bad` if VALUE is missing.
bool take_option(const std::vector<std::string>& a, size_t& i,
                 const std::string& flag, std::string& value, bool& bad) {
  if (a[i] == flag) {
    if (i + 1 >= a.size()) {
      bad = true;
    } else {
      value = a[++i];
    }
    return true;
  }
  if (starts_with(a[i], flag + "=")) {
    value = a[i].substr(flag.size() + 1);
    return true;
  }
  return false;
}

std::vector<std::string> actor_cells(const actor_row& x) {
  return {x.name, x.kind, x.node, std::to_string(x.id)};
}

const std::vector<std::string> actor_headers{"NAME", "KIND", "NODE", "ID"};

} // namespace

// -- backend ------------------------------------------------------------------

shell_backend::~shell_backend() = default;

cluster_client* shell_backend::client() {
  return nullptr;
}

namespace {

class client_backend final : public shell_backend {
public:
  explicit client_backend(std::unique_ptr<cluster_client> client)
      : client_(std::move(client)) {
    // nop
  }

  caf::expected<std::vector<node_row>> nodes() override {
    return client_->nodes();
  }

  caf::expected<std::vector<actor_row>> actors() override {
    return client_->actors();
  }

  caf::expected<std::vector<slot_row>> slots() override {
    return client_->slots();
  }

  caf::expected<std::vector<std::string>> kinds() override {
    return client_->kinds();
  }

  caf::expected<std::vector<actor_row>>
  spawn(const std::string& kind, const std::string& where,
        const std::string& config, const std::string& name) override {
    return client_->spawn(kind, where, config, name);
  }

  caf::expected<envelope> send(const std::string& actor,
                               const envelope& payload,
                               const std::string& op) override {
    return client_->send(actor, payload, op);
  }

  caf::expected<std::vector<stats_row>>
  stats(const std::string& target) override {
    return client_->stats(target);
  }

  caf::expected<void> stop(const std::string& actor) override {
    return client_->stop(actor);
  }

  caf::expected<void> shutdown() override { return client_->shutdown(); }

  caf::expected<void> ping() override { return client_->ping(); }

  caf::expected<void> watch(const event_handler& on_event,
                            milliseconds max_wait,
                            const snapshot_handler& on_snapshot) override {
    return client_->watch(on_event, max_wait, on_snapshot);
  }

  cluster_client* client() override { return client_.get(); }

private:
  std::unique_ptr<cluster_client> client_;
};

} // namespace

std::unique_ptr<shell_backend>
make_backend(std::unique_ptr<cluster_client> client) {
  return std::make_unique<client_backend>(std::move(client));
}

// -- shell --------------------------------------------------------------------

namespace {

shell_env with_defaults(shell_env env) {
  if (!env.out) env.out = &std::cout;
  if (!env.err) env.err = &std::cerr;
  if (!env.now) env.now = [] { return clock_type::now(); };
  if (!env.sleep)
    env.sleep = [](milliseconds x) { std::this_thread::sleep_for(x); };
  if (!env.wall_ms)
    env.wall_ms = [] {
      using namespace std::chrono;
      return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
          .count();
    };
  if (!env.interrupted) env.interrupted = [] { return false; };
  return env;
}

} // namespace

shell::shell(shell_backend& backend, shell_env env,
             std::vector<shell_command> extra)
    : backend_(backend), env_(with_defaults(std::move(env))), out_(*env_.out),
      err_(*env_.err) {
  // The core's commands, the families' before the last four (ping,
  // shutdown, quit, exit).
  auto& core = command_table();
  auto tail = core.end() - 4;
  table_.assign(core.begin(), tail);
  for (auto& cmd : extra) {
    table_.push_back(cmd.info);
    auto name = cmd.info.name;
    extra_.emplace(std::move(name), std::move(cmd));
  }
  table_.insert(table_.end(), tail, core.end());
}

shell::outcome shell::run_line(const std::string& line) {
  auto text = trim(line);
  if (text.empty() || text[0] == '#') return outcome::ok;
  return run_script(text);
}

shell::outcome shell::run_script(const std::string& text) {
  auto result = outcome::ok;
  for (auto& command : split_commands(text)) {
    auto x = execute(command);
    if (x == outcome::quit) return outcome::quit;
    if (x == outcome::failed) result = outcome::failed;
  }
  return result;
}

shell::outcome shell::execute(const std::string& command) {
  using handler = outcome (shell::*)(const args&);
  static const std::map<std::string, handler> handlers{
      {"help", &shell::cmd_help},
      {"nodes", &shell::cmd_nodes},
      {"slots", &shell::cmd_slots},
      {"actors", &shell::cmd_actors},
      {"kinds", &shell::cmd_kinds},
      {"spawn", &shell::cmd_spawn},
      {"send", &shell::cmd_send},
      {"stats", &shell::cmd_stats},
      {"stop", &shell::cmd_stop},
      {"watch", &shell::cmd_watch},
      {"wait-nodes", &shell::cmd_wait_nodes},
      {"ping", &shell::cmd_ping},
      {"shutdown", &shell::cmd_shutdown},
      {"quit", &shell::cmd_quit},
      {"exit", &shell::cmd_quit},
  };
  auto text = trim(command);
  if (text.empty() || text[0] == '#') return outcome::ok;
  auto result = outcome::ok;
  if (auto words = tokenize(text); !words) {
    result = fail(words.error());
  } else if (!words->empty()) {
    auto& name = words->front();
    args rest(words->begin() + 1, words->end());
    if (auto i = handlers.find(name); i != handlers.end()) {
      result = (this->*(i->second))(rest);
    } else if (auto j = extra_.find(name); j != extra_.end()) {
      result = j->second.run(*this, rest);
    } else {
      out_.flush();
      err_ << "unknown command '" << name << "'\n" << help_text(table_);
      result = outcome::failed;
    }
  }
  out_.flush();
  if (result == outcome::failed) ++failures_;
  return result;
}

shell::outcome shell::usage(const std::string& name) {
  for (auto& cmd : table_) {
    if (cmd.name == name) {
      out_.flush();
      err_ << "usage: " << cmd.usage << '\n';
      break;
    }
  }
  return outcome::failed;
}

shell::outcome shell::usage(const std::string& name,
                            const std::string& problem) {
  out_.flush();
  err_ << "error: " << problem << '\n';
  return usage(name);
}

shell::outcome shell::fail(const caf::error& err) {
  return fail(describe(err));
}

shell::outcome shell::fail(const std::string& text) {
  out_.flush();
  err_ << "error: " << text << '\n';
  return outcome::failed;
}

shell::outcome shell::cmd_help(const args& a) {
  if (a.empty()) {
    out_ << help_text(table_);
    return outcome::ok;
  }
  if (a.size() > 1) return usage("help");
  for (auto& cmd : table_) {
    if (cmd.name == a[0]) {
      out_ << "usage: " << cmd.usage << "\n  " << cmd.summary << '\n';
      return outcome::ok;
    }
  }
  return fail("unknown command '" + a[0] + "'");
}

shell::outcome shell::cmd_nodes(const args& a) {
  if (!a.empty()) return usage("nodes");
  auto xs = backend_.nodes();
  if (!xs) return fail(xs.error());
  auto now = env_.wall_ms();
  std::vector<std::vector<std::string>> rows;
  for (auto& x : *xs) {
    std::string labels;
    for (auto& [key, value] : x.labels)
      labels += (labels.empty() ? "" : ",") + key + "=" + value;
    auto seen =
        x.last_seen_ms > 0
            ? std::to_string(std::max<int64_t>(0, now - x.last_seen_ms)) +
                  "ms ago"
            : std::string{"-"};
    rows.push_back({x.name, x.host, std::to_string(x.pid),
                    std::to_string(x.slots), std::to_string(x.free_slots),
                    x.is_head ? "yes" : "no", labels.empty() ? "-" : labels,
                    seen});
  }
  out_ << format_table({"NAME", "HOST", "PID", "SLOTS", "FREE", "HEAD",
                        "LABELS", "LAST-SEEN"},
                       rows)
       << xs->size() << " nodes\n";
  return outcome::ok;
}

shell::outcome shell::cmd_slots(const args& a) {
  if (!a.empty()) return usage("slots");
  auto xs = backend_.slots();
  if (!xs) return fail(xs.error());
  std::vector<std::vector<std::string>> rows;
  std::map<std::string, size_t> held;
  size_t free = 0;
  for (auto& x : *xs) {
    rows.push_back({x.node, std::to_string(x.index),
                    x.consumer.empty() ? "-" : x.consumer,
                    x.lease ? std::to_string(x.lease) : "-"});
    if (x.consumer.empty())
      ++free;
    else
      ++held[x.consumer];
  }
  out_ << format_table({"NODE", "SLOT", "HELD-BY", "LEASE"}, rows) << xs->size()
       << " slots, " << free << " free";
  std::string who;
  for (auto& [consumer, k] : held)
    who += (who.empty() ? "" : ", ") + consumer + " " + std::to_string(k);
  if (!who.empty()) out_ << "; held: " << who;
  out_ << '\n';
  return outcome::ok;
}

shell::outcome shell::cmd_actors(const args& a) {
  if (!a.empty()) return usage("actors");
  auto xs = backend_.actors();
  if (!xs) return fail(xs.error());
  std::vector<std::vector<std::string>> rows;
  for (auto& x : *xs)
    rows.push_back(actor_cells(x));
  out_ << format_table(actor_headers, rows) << xs->size() << " actors\n";
  return outcome::ok;
}

shell::outcome shell::cmd_kinds(const args& a) {
  if (!a.empty()) return usage("kinds");
  auto xs = backend_.kinds();
  if (!xs) return fail(xs.error());
  for (auto& x : *xs)
    out_ << x << '\n';
  return outcome::ok;
}

shell::outcome shell::cmd_spawn(const args& a) {
  std::string name;
  std::string config;
  std::vector<std::string> positional;
  for (size_t i = 0; i < a.size(); ++i) {
    bool bad = false;
    if (take_option(a, i, "--name", name, bad) ||
        take_option(a, i, "--config", config, bad)) {
      if (bad) return usage("spawn");
    } else if (starts_with(a[i], "--")) {
      return usage("spawn");
    } else {
      positional.push_back(a[i]);
    }
  }
  if (positional.empty() || positional.size() > 2 || positional[0].empty())
    return usage("spawn");
  auto where = positional.size() == 2 ? positional[1] : std::string{"any"};
  auto xs = backend_.spawn(positional[0], where, config, name);
  if (!xs) return fail(xs.error());
  cache_.valid = false;
  std::vector<std::vector<std::string>> rows;
  for (auto& x : *xs)
    rows.push_back(actor_cells(x));
  out_ << format_table(actor_headers, rows);
  return outcome::ok;
}

shell::outcome shell::cmd_send(const args& a) {
  std::string op = "call";
  size_t i = 0;
  for (; i < a.size(); ++i) {
    bool bad = false;
    if (!take_option(a, i, "--op", op, bad)) break;
    if (bad || op.empty()) return usage("send");
  }
  if (i >= a.size() || a[i].empty()) return usage("send");
  const auto& actor = a[i];
  std::string text;
  for (size_t j = i + 1; j < a.size(); ++j)
    text += (j > i + 1 ? " " : "") + a[j];
  auto payload =
      make_envelope<schema::TextMessage>([&](auto msg) { msg.setText(text); });
  auto reply = backend_.send(actor, payload, op);
  if (!reply) return fail(reply.error());
  out_ << "reply: " << to_text(*reply) << '\n';
  return outcome::ok;
}

shell::outcome shell::cmd_stats(const args& a) {
  if (a.size() > 1) return usage("stats");
  auto xs = backend_.stats(a.empty() ? std::string{} : a[0]);
  if (!xs) return fail(xs.error());
  std::vector<std::vector<std::string>> rows;
  for (auto& x : *xs)
    rows.push_back({x.target, std::to_string(x.mailbox_size),
                    std::to_string(x.handled),
                    format_fixed(x.uptime_ms / 1000.0) + "s"});
  out_ << format_table({"TARGET", "MAILBOX", "HANDLED", "UPTIME"}, rows);
  return outcome::ok;
}

shell::outcome shell::cmd_stop(const args& a) {
  if (a.size() != 1 || a[0].empty()) return usage("stop");
  if (auto r = backend_.stop(a[0]); !r) return fail(r.error());
  cache_.valid = false;
  out_ << "stopped " << a[0] << '\n';
  return outcome::ok;
}

shell::outcome shell::cmd_watch(const args& a) {
  std::optional<double> seconds;
  std::optional<uint64_t> count;
  for (size_t i = 0; i < a.size(); ++i) {
    std::string value;
    bool bad = false;
    if (take_option(a, i, "--count", value, bad)) {
      count = parse_count(value);
      if (bad || !count || *count == 0) return usage("watch");
    } else if (seconds || !(seconds = parse_seconds(a[i]))) {
      return usage("watch");
    }
  }
  // Interactive sessions watch until Ctrl-C (capped at a day) in short
  // rounds, so that Ctrl-C is seen even when nothing happens.
  milliseconds total = seconds            ? to_ms(*seconds)
                       : env_.interactive ? milliseconds{24 * 3600 * 1000}
                                          : milliseconds{10'000};
  milliseconds round =
      env_.interactive ? std::min(total, milliseconds{500}) : total;
  auto max_rounds = total.count() / std::max<int64_t>(1, round.count()) + 2;
  auto deadline = env_.now() + total;
  std::map<std::string, node_row> known_nodes;
  std::map<std::string, actor_row> known_actors;
  uint64_t seen = 0;
  bool have_snapshot = false;
  auto done = [&] { return (count && seen >= *count) || env_.interrupted(); };
  auto print = [&](const event_row& ev) {
    std::string name =
        ev.kind.rfind("node", 0) == 0 ? ev.node.name : ev.actor.name;
    std::string detail;
    if (ev.kind == "node-joined")
      detail = ev.node.host + ", " + std::to_string(ev.node.slots) + " slots";
    else if (ev.kind == "actor-registered")
      detail = ev.actor.kind + " on " + ev.actor.node;
    if (!ev.reason.empty())
      detail += (detail.empty() ? "" : ", ") + ev.reason;
    else if (ev.kind == "actor-removed" && !ev.actor.node.empty())
      detail = "on " + ev.actor.node;
    out_ << format_clock(ev.at_ms > 0 ? ev.at_ms : env_.wall_ms()) << ' '
         << ev.kind << ' ' << name;
    if (!detail.empty()) out_ << " (" << detail << ')';
    out_ << std::endl;
    ++seen;
  };
  auto on_event = [&](const event_row& ev) {
    if (ev.kind == "node-joined")
      known_nodes[ev.node.name] = ev.node;
    else if (ev.kind == "node-left")
      known_nodes.erase(ev.node.name);
    else if (ev.kind == "actor-registered")
      known_actors[ev.actor.name] = ev.actor;
    else if (ev.kind == "actor-removed")
      known_actors.erase(ev.actor.name);
    if (!done()) print(ev);
    return !done();
  };
  auto on_snapshot = [&](const std::vector<node_row>& nodes,
                         const std::vector<actor_row>& actors) {
    std::map<std::string, node_row> now_nodes;
    for (auto& x : nodes)
      now_nodes[x.name] = x;
    std::map<std::string, actor_row> now_actors;
    for (auto& x : actors)
      now_actors[x.name] = x;
    if (!have_snapshot) {
      have_snapshot = true;
      auto list = [](const auto& xs) {
        std::string names;
        for (auto& [name, x] : xs)
          names += (names.empty() ? ": " : ", ") + name;
        return names;
      };
      out_ << now_nodes.size() << " nodes" << list(now_nodes) << '\n'
           << now_actors.size() << " actors" << list(now_actors) << std::endl;
    } else {
      // A later round: report what changed between two subscriptions.
      const std::string gap = "while re-subscribing";
      auto at = env_.wall_ms();
      for (auto& [name, x] : known_nodes)
        if (!now_nodes.count(name) && !done())
          print(event_row{"node-left", x, {}, gap, at});
      for (auto& [name, x] : now_nodes)
        if (!known_nodes.count(name) && !done())
          print(event_row{"node-joined", x, {}, {}, at});
      for (auto& [name, x] : known_actors)
        if (!now_actors.count(name) && !done())
          print(event_row{"actor-removed", {}, x, gap, at});
      for (auto& [name, x] : now_actors)
        if (!known_actors.count(name) && !done())
          print(event_row{"actor-registered", {}, x, {}, at});
    }
    known_nodes = std::move(now_nodes);
    known_actors = std::move(now_actors);
  };
  for (int64_t i = 0; i < max_rounds && !done(); ++i) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - env_.now());
    if (left.count() <= 0) break;
    auto r = backend_.watch(on_event, std::min(left, round), on_snapshot);
    if (!r) return fail(r.error());
  }
  if (env_.interrupted()) out_ << '\n'; // after the terminal's "^C"
  return outcome::ok;
}

shell::outcome shell::cmd_wait_nodes(const args& a) {
  if (a.empty() || a.size() > 2) return usage("wait-nodes");
  auto wanted = parse_count(a[0]);
  auto seconds = a.size() == 2 ? parse_seconds(a[1]) : std::optional{30.0};
  if (!wanted || !seconds) return usage("wait-nodes");
  const milliseconds poll{100};
  auto deadline = env_.now() + to_ms(*seconds);
  auto max_polls = to_ms(*seconds).count() / poll.count() + 2;
  size_t have = 0;
  caf::error last_error;
  for (int64_t i = 0; i < max_polls; ++i) {
    if (auto xs = backend_.nodes()) {
      have = xs->size();
      last_error = caf::error{};
      if (have >= *wanted) {
        out_ << have << " nodes\n";
        return outcome::ok;
      }
    } else {
      last_error = std::move(xs.error());
    }
    if (env_.interrupted() || env_.now() + poll > deadline) break;
    env_.sleep(poll);
  }
  auto text = "only " + std::to_string(have) + " of " +
              std::to_string(*wanted) + " nodes joined within " +
              format_number(*seconds) + " s";
  if (env_.interrupted()) text += " (interrupted)";
  if (last_error) text += " (last error: " + describe(last_error) + ")";
  return fail(text);
}

shell::outcome shell::cmd_ping(const args& a) {
  if (!a.empty()) return usage("ping");
  auto start = env_.now();
  if (auto r = backend_.ping(); !r) return fail(r.error());
  auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(env_.now() - start);
  out_ << "pong in " << us.count() << " us\n";
  return outcome::ok;
}

shell::outcome shell::cmd_shutdown(const args& a) {
  if (!a.empty()) return usage("shutdown");
  if (auto r = backend_.shutdown(); !r) return fail(r.error());
  out_ << "cluster shutting down\n";
  return outcome::ok;
}

shell::outcome shell::cmd_quit(const args&) {
  return outcome::quit;
}

void shell::refresh_names() {
  auto now = env_.now();
  if (cache_.valid && now - cache_.fetched < std::chrono::seconds{1}) return;
  cache_.valid = true;
  cache_.fetched = now;
  if (auto xs = backend_.nodes()) {
    cache_.nodes.clear();
    for (auto& x : *xs)
      cache_.nodes.push_back(x.name);
  }
  if (auto xs = backend_.actors()) {
    cache_.actors.clear();
    for (auto& x : *xs)
      cache_.actors.push_back(x.name);
  }
  if (auto xs = backend_.kinds()) cache_.kinds = std::move(*xs);
}

std::vector<std::string> shell::completions(const std::string& before,
                                            const std::string& word) {
  auto words = loose_words(before.substr(last_command_start(before)));
  if (words.empty()) {
    std::vector<std::string> names;
    for (auto& cmd : table_)
      names.push_back(cmd.name);
    return complete(word, names);
  }
  const auto& cmd = words[0];
  static const std::map<std::string, std::vector<std::string>> options{
      {"spawn", {"--name", "--config"}},
      {"send", {"--op"}},
      {"watch", {"--count"}},
  };
  if (starts_with(word, "-")) {
    auto i = options.find(cmd);
    return i == options.end() ? std::vector<std::string>{}
                              : complete(word, i->second);
  }
  if (cmd == "help" && words.size() == 1) return completions("", word);
  // Words after the command, without options and their values.
  std::vector<std::string> positional;
  for (size_t i = 1; i < words.size(); ++i) {
    if (starts_with(words[i], "--")) {
      if (words[i].find('=') == std::string::npos) ++i;
      continue;
    }
    positional.push_back(words[i]);
  }
  if (words.size() > 1 && starts_with(words.back(), "--") &&
      words.back().find('=') == std::string::npos)
    return {}; // completing an option's value
  if (auto i = extra_.find(cmd); i != extra_.end())
    return i->second.complete
               ? complete(word, i->second.complete(*this, positional))
               : std::vector<std::string>{};
  static const std::vector<std::string> no_args{
      "help", "nodes", "actors",   "kinds", "watch",     "ping",
      "quit", "slots", "shutdown", "exit",  "wait-nodes"};
  if (std::find(no_args.begin(), no_args.end(), cmd) != no_args.end())
    return {};
  refresh_names();
  auto both = cache_.actors;
  both.insert(both.end(), cache_.nodes.begin(), cache_.nodes.end());
  if (cmd == "spawn") {
    if (positional.empty()) return complete(word, cache_.kinds);
    if (positional.size() == 1) {
      auto where = cache_.nodes;
      where.insert(where.end(), {"any", "head", "every"});
      return complete(word, where);
    }
    return {};
  }
  if (cmd == "send" || cmd == "stop")
    return positional.empty() ? complete(word, cache_.actors)
                              : std::vector<std::string>{};
  if (cmd == "stats" && !positional.empty()) return {};
  return complete(word, both);
}
} // namespace troupe
