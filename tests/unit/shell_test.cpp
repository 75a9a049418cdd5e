#include "runtime/shell.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <catch2/catch.hpp>

#include "actors/automl/shell.hpp"
#include "actors/features/shell.hpp"
#include "actors/serving/shell.hpp"
#include "runtime/errors.hpp"
#include "schemas/automl.capnp.h"
#include "schemas/common.capnp.h"
#include "schemas/serving.capnp.h"

using namespace std::chrono_literals;
using troupe::actor_row;
using troupe::event_row;
using troupe::node_row;
using troupe::shell;
using troupe::stats_row;
using words = std::vector<std::string>;

namespace {

/// Counts lines of `text` that contain `needle`.
size_t count_lines_with(const std::string& text, const std::string& needle) {
  std::istringstream in{text};
  size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) ++n;
  return n;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

node_row make_node(std::string name, bool head = false) {
  node_row x;
  x.name = std::move(name);
  x.host = "10.0.0.1";
  x.pid = 42;
  x.slots = 4;
  x.free_slots = 3;
  x.is_head = head;
  x.last_seen_ms = 1'000'000;
  return x;
}

actor_row make_actor(std::string name, std::string kind, std::string node,
                     uint64_t id) {
  return actor_row{std::move(name), std::move(node), std::move(kind), id};
}

/// A cluster in memory that records what the shell asked for. Its watch
/// replays `events` and then lets the manual clock run to the deadline.
class fake_backend : public troupe::shell_backend,
                     public troupe::serving::serving_shell_backend {
public:
  std::vector<node_row> node_list;
  std::vector<actor_row> actor_list;
  std::vector<std::string> kind_list{"echo", "counter"};
  std::vector<event_row> events;
  caf::error failure; ///< returned by every call when set
  /// Called on each nodes() before answering (e.g. to let a node join).
  std::function<void()> before_nodes;
  /// Called at the start of each watch().
  std::function<void()> before_watch;
  std::chrono::steady_clock::time_point* clock = nullptr;

  size_t nodes_calls = 0;
  size_t watch_calls = 0;
  /// Answers send() instead of echoing a TextMessage when set.
  std::function<caf::expected<troupe::envelope>(const troupe::envelope&)>
      answer;

  size_t send_calls = 0;
  words spawned; ///< kind, where, config, name
  std::string sent_actor, sent_op, sent_text;
  troupe::envelope sent_payload;
  std::string stopped;
  bool shut_down = false;

  caf::expected<std::vector<node_row>> nodes() override {
    ++nodes_calls;
    if (before_nodes) before_nodes();
    if (failure) return failure;
    return node_list;
  }

  caf::expected<std::vector<actor_row>> actors() override {
    if (failure) return failure;
    return actor_list;
  }

  std::vector<troupe::slot_row> slot_list;

  caf::expected<std::vector<troupe::slot_row>> slots() override {
    if (failure) return failure;
    return slot_list;
  }

  caf::expected<std::vector<std::string>> kinds() override {
    if (failure) return failure;
    return kind_list;
  }

  caf::expected<std::vector<actor_row>>
  spawn(const std::string& kind, const std::string& where,
        const std::string& config, const std::string& name) override {
    if (failure) return failure;
    spawned = {kind, where, config, name};
    auto actor = make_actor(name.empty() ? kind + "-1" : name, kind, "head", 7);
    actor_list.push_back(actor);
    return std::vector<actor_row>{actor};
  }

  caf::expected<troupe::envelope> send(const std::string& actor,
                                       const troupe::envelope& payload,
                                       const std::string& op) override {
    ++send_calls;
    if (failure) return failure;
    sent_actor = actor;
    sent_op = op;
    sent_payload = payload;
    if (answer) return answer(payload);
    auto text = payload.visit<troupe::schema::TextMessage>(
        [](auto msg) { return std::string{msg.getText().cStr()}; });
    if (!text) return text.error();
    sent_text = *text;
    return troupe::make_envelope<troupe::schema::TextMessage>(
        [&](auto msg) { msg.setText("echo: " + sent_text); });
  }

  caf::expected<std::vector<stats_row>>
  stats(const std::string& target) override {
    if (failure) return failure;
    return std::vector<stats_row>{
        stats_row{target.empty() ? "head" : target, "head", 3, 120, 61'260}};
  }

  caf::expected<void> stop(const std::string& actor) override {
    if (failure) return failure;
    stopped = actor;
    return {};
  }

  caf::expected<void> shutdown() override {
    if (failure) return failure;
    shut_down = true;
    return {};
  }

  caf::expected<void> ping() override {
    if (failure) return failure;
    *clock += 250us;
    return {};
  }

  /// Model serving: the DeploymentList that deployments() answers (none:
  /// the default answer, no model serving), and the last scale's arguments.
  std::optional<troupe::envelope> deployment_list;
  size_t serving_calls = 0;
  words scaled; ///< name, min, max

  caf::expected<troupe::envelope> deployments() override {
    ++serving_calls;
    if (failure) return failure;
    if (!deployment_list) return serving_shell_backend::deployments();
    return *deployment_list;
  }

  caf::expected<troupe::envelope> deployment(const std::string& name) override {
    ++serving_calls;
    if (failure) return failure;
    return find_deployment(name, [](auto) {});
  }

  caf::expected<troupe::envelope> scale(const std::string& name, uint32_t lo,
                                        uint32_t hi) override {
    ++serving_calls;
    if (failure) return failure;
    scaled = {name, std::to_string(lo), std::to_string(hi)};
    return find_deployment(name, [&](auto b) {
      b.getSpec().setMinReplicas(lo);
      b.getSpec().setMaxReplicas(hi);
      b.setDesiredReplicas(lo);
    });
  }

  /// The status of `name` in deployment_list, edited by `edit`, or the
  /// serving service's error.
  template <class F>
  caf::expected<troupe::envelope> find_deployment(const std::string& name,
                                                  F&& edit) {
    using troupe::schema::DeploymentList;
    using troupe::schema::DeploymentStatus;
    if (!deployment_list) return serving_shell_backend::deployment(name);
    auto found = deployment_list->visit<DeploymentList>(
        [&](DeploymentList::Reader l) -> std::optional<troupe::envelope> {
          for (auto s : l.getDeployments()) {
            if (s.getSpec().getName() != name) continue;
            capnp::MallocMessageBuilder message;
            message.setRoot(s);
            edit(message.getRoot<DeploymentStatus>());
            return troupe::envelope::of<DeploymentStatus>(message);
          }
          return std::nullopt;
        });
    if (!found) return found.error();
    if (!*found)
      return troupe::make_error(troupe::errc::invalid_argument,
                                "serving: no deployment '" + name +
                                    "'; deployed: churn, fraud");
    return **found;
  }

  caf::expected<void> watch(const event_handler& on_event,
                            std::chrono::milliseconds max_wait,
                            const snapshot_handler& on_snapshot) override {
    ++watch_calls;
    if (before_watch) before_watch();
    if (failure) return failure;
    if (on_snapshot) on_snapshot(node_list, actor_list);
    while (!events.empty()) {
      auto ev = events.front();
      events.erase(events.begin());
      if (!on_event(ev)) return {};
    }
    *clock += max_wait;
    return {};
  }
};

/// The families' commands, in the order troupe lists its families: AutoML
/// over the fake's `send`, a feature store that is not there, and model
/// serving over the fake.
std::vector<troupe::shell_command> family_commands(fake_backend& backend) {
  auto out = troupe::automl::shell_commands(backend);
  for (auto& cmd : troupe::features::shell_commands(
           std::make_shared<troupe::features::feature_shell_backend>()))
    out.push_back(std::move(cmd));
  // Not owned: the fake outlives the shell.
  std::shared_ptr<troupe::serving::serving_shell_backend> serving{
      std::shared_ptr<void>{}, &backend};
  for (auto& cmd : troupe::serving::shell_commands(serving))
    out.push_back(std::move(cmd));
  return out;
}

/// A shell over a fake backend, a manual clock and string streams. `tweak`
/// may change the environment before the shell is made.
struct fixture {
  using tweak_fn = std::function<void(fixture&, troupe::shell_env&)>;

  fake_backend backend;
  std::ostringstream out;
  std::ostringstream err;
  std::chrono::steady_clock::time_point now{};
  shell sh;

  explicit fixture(const tweak_fn& tweak = {})
      : sh{backend, make_env(tweak), family_commands(backend)} {
    backend.clock = &now;
    troupe::register_schema<troupe::schema::TextMessage>();
  }

  troupe::shell_env make_env(const tweak_fn& tweak) {
    troupe::shell_env env;
    env.out = &out;
    env.err = &err;
    env.now = [this] { return now; };
    env.sleep = [this](std::chrono::milliseconds x) { now += x; };
    env.wall_ms = [] { return int64_t{1'000'250}; };
    if (tweak) tweak(*this, env);
    return env;
  }
};

} // namespace

// -- tokenize -----------------------------------------------------------------

TEST_CASE("tokenize splits on runs of whitespace", "[shell]") {
  auto x = troupe::tokenize("  spawn\techo   head  ");
  REQUIRE(x);
  CHECK(*x == words{"spawn", "echo", "head"});
  auto empty = troupe::tokenize("   ");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("tokenize keeps quoted text as one word", "[shell]") {
  auto x = troupe::tokenize(R"(send echo-1 'hello  world' "a b")");
  REQUIRE(x);
  CHECK(*x == words{"send", "echo-1", "hello  world", "a b"});
}

TEST_CASE("tokenize treats single quotes literally", "[shell]") {
  auto x = troupe::tokenize(R"('a\b' 'say "hi"')");
  REQUIRE(x);
  CHECK(*x == words{R"(a\b)", R"(say "hi")"});
}

TEST_CASE("tokenize honours escapes in double quotes", "[shell]") {
  auto x = troupe::tokenize(R"("say \"hi\"" "back\\slash" "keep\n")");
  REQUIRE(x);
  CHECK(*x == words{R"(say "hi")", R"(back\slash)", R"(keep\n)"});
}

TEST_CASE("a backslash outside quotes escapes the next character", "[shell]") {
  auto x = troupe::tokenize(R"(a\ b c\"d \'e trail\)");
  REQUIRE(x);
  CHECK(*x == words{"a b", "c\"d", "'e", "trail\\"});
}

TEST_CASE("adjacent quoted parts join into one word", "[shell]") {
  auto x = troupe::tokenize(R"(pre"mid dle"'post' '' "")");
  REQUIRE(x);
  CHECK(*x == words{"premid dlepost", "", ""});
}

TEST_CASE("an unterminated quote is an error naming its column", "[shell]") {
  auto dq = troupe::tokenize(R"(send a "hello)");
  REQUIRE_FALSE(dq);
  auto text = troupe::describe(dq.error());
  CHECK_THAT(text, Catch::Contains("unterminated double quote"));
  CHECK_THAT(text, Catch::Contains("column 8"));
  auto sq = troupe::tokenize("ab 'cd ef");
  REQUIRE_FALSE(sq);
  CHECK_THAT(troupe::describe(sq.error()),
             Catch::Contains("unterminated single quote") &&
                 Catch::Contains("column 4"));
  // A backslash does not escape inside single quotes: the last one opens.
  auto literal = troupe::tokenize(R"(x 'it\'s')");
  REQUIRE_FALSE(literal);
  CHECK_THAT(troupe::describe(literal.error()), Catch::Contains("column 9"));
  CHECK_FALSE(troupe::tokenize(R"("ends with escaped quote\")"));
}

// -- split_commands -----------------------------------------------------------

TEST_CASE("split_commands splits on semicolons and trims", "[shell]") {
  CHECK(troupe::split_commands(" nodes;actors ;  kinds ") ==
        words{"nodes", "actors", "kinds"});
}

TEST_CASE("split_commands drops empty pieces", "[shell]") {
  CHECK(troupe::split_commands(";; nodes ;  ; ") == words{"nodes"});
  CHECK(troupe::split_commands("").empty());
}

TEST_CASE("split_commands keeps quoted and escaped semicolons", "[shell]") {
  auto x =
      troupe::split_commands(R"(send a 'x;y'; send b "p;\"q;"; send c r\;s)");
  CHECK(x == words{R"(send a 'x;y')", R"(send b "p;\"q;")", R"(send c r\;s)"});
  auto last = troupe::tokenize(x.back());
  REQUIRE(last);
  CHECK(*last == words{"send", "c", "r;s"});
}

// -- complete -----------------------------------------------------------------

TEST_CASE("complete returns sorted unique candidates with the prefix",
          "[shell]") {
  words names{"stop", "stats", "spawn", "send", "stats", "shutdown"};
  CHECK(troupe::complete("st", names) == words{"stats", "stop"});
  CHECK(troupe::complete("s", names) ==
        words{"send", "shutdown", "spawn", "stats", "stop"});
  CHECK(troupe::complete("x", names).empty());
  CHECK(troupe::complete("", {"b", "a"}) == words{"a", "b"});
}

// -- format_table -------------------------------------------------------------

TEST_CASE("format_table aligns every column", "[shell]") {
  auto text =
      troupe::format_table({"NAME", "KIND", "ID"}, {{"echo-1", "echo", "7"},
                                                    {"a", "counter", "12345"}});
  auto lines = lines_of(text);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "NAME    KIND     ID");
  CHECK(lines[1] == "echo-1  echo     7");
  CHECK(lines[2] == "a       counter  12345");
}

TEST_CASE("format_table writes no trailing blanks", "[shell]") {
  auto text = troupe::format_table({"A", "B"}, {{"long-value", ""}, {"x"}});
  CHECK(text == "A           B\nlong-value\nx\n");
}

TEST_CASE("format_table counts code points and not bytes", "[shell]") {
  auto text = troupe::format_table({}, {{"größe", "1"}, {"abcdef", "2"}});
  auto lines = lines_of(text);
  REQUIRE(lines.size() == 2);
  // "größe" is 5 code points (7 bytes): padded to 6, then two blanks.
  CHECK(lines[0] == "größe   1");
  CHECK(lines[1] == "abcdef  2");
}

TEST_CASE("help lists every command with its usage", "[shell]") {
  auto text = troupe::help_text();
  for (auto& cmd : troupe::command_table())
    CHECK(count_lines_with(text, cmd.usage) >= 1);
  CHECK_THAT(text, Catch::Contains("wait-nodes N [SECONDS]"));
  for (auto& line : lines_of(text))
    CHECK(line.size() <= 80);
}

// -- the shell ----------------------------------------------------------------

TEST_CASE("an unknown command fails and prints the help", "[shell]") {
  fixture f;
  CHECK(f.sh.execute("bogus 1 2") == shell::outcome::failed);
  CHECK_THAT(f.err.str(), Catch::StartsWith("unknown command 'bogus'\n") &&
                              Catch::Contains("spawn KIND"));
  CHECK(f.out.str().empty());
  CHECK(f.sh.failures() == 1);
}

TEST_CASE("every command in the table is understood", "[shell]") {
  fixture f;
  for (auto& cmd : f.sh.commands()) {
    auto result = f.sh.execute(cmd.name);
    INFO(cmd.name);
    bool leaves = cmd.name == "quit" || cmd.name == "exit";
    CHECK((result == shell::outcome::quit) == leaves);
  }
  CHECK(count_lines_with(f.err.str(), "unknown command") == 0);
  // Those that need arguments say how to use them.
  CHECK(count_lines_with(f.err.str(), "usage: ") == 10);
}

TEST_CASE("nodes prints a table and a count", "[shell]") {
  fixture f;
  f.backend.node_list = {make_node("head", true), make_node("worker-1")};
  f.backend.node_list[1].labels = {{"gpu", "1"}, {"zone", "b"}};
  REQUIRE(f.sh.execute("nodes") == shell::outcome::ok);
  auto lines = lines_of(f.out.str());
  REQUIRE(lines.size() == 4);
  CHECK_THAT(lines[0], Catch::StartsWith("NAME      HOST      PID  SLOTS"));
  CHECK_THAT(lines[0], Catch::EndsWith("LAST-SEEN"));
  CHECK_THAT(lines[1],
             Catch::Contains(" yes ") && Catch::EndsWith("250ms ago"));
  CHECK_THAT(lines[2], Catch::Contains("gpu=1,zone=b"));
  CHECK(lines[3] == "2 nodes");
  // Every row starts its HOST column at the same offset.
  auto col = lines[0].find("HOST");
  CHECK(lines[1].substr(col, 8) == "10.0.0.1");
  CHECK(lines[2].substr(col, 8) == "10.0.0.1");
}

TEST_CASE("slots prints who holds each slot, the free count and each "
          "holder's share",
          "[shell]") {
  fixture f;
  f.backend.slot_list = {{"head", 0, "automl/s1", 4},
                         {"head", 1, "serving.replica-1", 2},
                         {"worker-1", 0, "automl/s1", 5},
                         {"worker-1", 1, "", 0}};
  REQUIRE(f.sh.execute("slots") == shell::outcome::ok);
  CHECK(f.out.str() == "NODE      SLOT  HELD-BY            LEASE\n"
                       "head      0     automl/s1          4\n"
                       "head      1     serving.replica-1  2\n"
                       "worker-1  0     automl/s1          5\n"
                       "worker-1  1     -                  -\n"
                       "4 slots, 1 free; held: automl/s1 2, "
                       "serving.replica-1 1\n");
  f.out.str("");
  CHECK(f.sh.execute("slots head") == shell::outcome::failed);
  f.backend.failure =
      troupe::make_error(troupe::errc::timeout, "the head is slow");
  CHECK(f.sh.execute("slots") == shell::outcome::failed);
  CHECK_THAT(f.err.str(), Catch::Contains("the head is slow"));
}

TEST_CASE("actors prints NAME KIND NODE ID and a count", "[shell]") {
  fixture f;
  f.backend.actor_list = {make_actor("echo-1", "echo", "head", 9)};
  REQUIRE(f.sh.execute("actors") == shell::outcome::ok);
  CHECK(f.out.str() == "NAME    KIND  NODE  ID\n"
                       "echo-1  echo  head  9\n"
                       "1 actors\n");
}

TEST_CASE("kinds prints one kind per line", "[shell]") {
  fixture f;
  REQUIRE(f.sh.execute("kinds") == shell::outcome::ok);
  CHECK(f.out.str() == "echo\ncounter\n");
}

TEST_CASE("spawn passes kind and place and name and config", "[shell]") {
  fixture f;
  REQUIRE(f.sh.execute("spawn echo worker-1 --name e --config 'x = 1'") ==
          shell::outcome::ok);
  CHECK(f.backend.spawned == words{"echo", "worker-1", "x = 1", "e"});
  CHECK_THAT(f.out.str(), Catch::Contains("e     echo  head  7"));
  REQUIRE(f.sh.execute("spawn --name=f counter") == shell::outcome::ok);
  CHECK(f.backend.spawned == words{"counter", "any", "", "f"});
}

TEST_CASE("spawn with wrong arguments prints its usage", "[shell]") {
  fixture f;
  CHECK(f.sh.execute("spawn") == shell::outcome::failed);
  CHECK(f.sh.execute("spawn echo head extra") == shell::outcome::failed);
  CHECK(f.sh.execute("spawn echo --name") == shell::outcome::failed);
  CHECK(f.sh.execute("spawn echo --bogus 1") == shell::outcome::failed);
  CHECK(count_lines_with(f.err.str(), "usage: spawn KIND") == 4);
  CHECK(f.backend.spawned.empty());
  CHECK(f.sh.failures() == 4);
}

TEST_CASE("send joins the text with single blanks and prints the reply",
          "[shell]") {
  fixture f;
  REQUIRE(f.sh.execute("send echo-1 hello   big 'wide  world'") ==
          shell::outcome::ok);
  CHECK(f.backend.sent_actor == "echo-1");
  CHECK(f.backend.sent_op == "call");
  CHECK(f.backend.sent_text == "hello big wide  world");
  CHECK_THAT(f.out.str(), Catch::StartsWith("reply: ") &&
                              Catch::Contains("echo: hello big"));
}

TEST_CASE("send takes --op before the actor", "[shell]") {
  fixture f;
  REQUIRE(f.sh.execute("send --op get counter-1") == shell::outcome::ok);
  CHECK(f.backend.sent_op == "get");
  CHECK(f.backend.sent_actor == "counter-1");
  CHECK(f.backend.sent_text.empty());
  CHECK(f.sh.execute("send --op") == shell::outcome::failed);
  CHECK(f.sh.execute("send") == shell::outcome::failed);
  CHECK(count_lines_with(f.err.str(), "usage: send") == 2);
}

TEST_CASE("backend errors are printed as error lines", "[shell]") {
  fixture f;
  f.backend.failure =
      troupe::make_error(troupe::errc::not_found, "no actor named 'ghost'");
  CHECK(f.sh.execute("send ghost hi") == shell::outcome::failed);
  CHECK(f.sh.execute("stop ghost") == shell::outcome::failed);
  CHECK(f.err.str() == "error: no actor named 'ghost'\n"
                       "error: no actor named 'ghost'\n");
  CHECK(f.out.str().empty());
}

TEST_CASE("a tokenizer error fails the command", "[shell]") {
  fixture f;
  CHECK(f.sh.execute("send a 'oops") == shell::outcome::failed);
  CHECK_THAT(f.err.str(), Catch::StartsWith("error: unterminated single") &&
                              Catch::Contains("column 8"));
}

TEST_CASE("stats and stop and ping and shutdown print their results",
          "[shell]") {
  fixture f;
  REQUIRE(f.sh.execute("stats echo-1") == shell::outcome::ok);
  REQUIRE(f.sh.execute("stop echo-1") == shell::outcome::ok);
  REQUIRE(f.sh.execute("ping") == shell::outcome::ok);
  REQUIRE(f.sh.execute("shutdown") == shell::outcome::ok);
  CHECK(f.backend.stopped == "echo-1");
  CHECK(f.backend.shut_down);
  CHECK(f.out.str() == "TARGET  MAILBOX  HANDLED  UPTIME\n"
                       "echo-1  3        120      61.3s\n"
                       "stopped echo-1\n"
                       "pong in 250 us\n"
                       "cluster shutting down\n");
}

TEST_CASE("wait-nodes succeeds once enough nodes joined", "[shell]") {
  fixture f;
  f.backend.before_nodes = [&] {
    if (f.backend.nodes_calls == 3)
      f.backend.node_list.push_back(make_node("w3"));
    if (f.backend.nodes_calls == 5)
      f.backend.node_list.push_back(make_node("w5"));
  };
  REQUIRE(f.sh.execute("wait-nodes 2 5") == shell::outcome::ok);
  CHECK(f.out.str() == "2 nodes\n");
  CHECK(f.backend.nodes_calls == 5);
  CHECK(f.now.time_since_epoch() == 400ms); // four 100 ms pauses
}

TEST_CASE("wait-nodes gives up after its deadline", "[shell]") {
  fixture f;
  f.backend.node_list = {make_node("head", true)};
  CHECK(f.sh.execute("wait-nodes 3 0.5") == shell::outcome::failed);
  CHECK(f.err.str() == "error: only 1 of 3 nodes joined within 0.5 s\n");
  CHECK(f.backend.nodes_calls <= 7);
  CHECK(f.now.time_since_epoch() <= 500ms);
}

TEST_CASE("wait-nodes is bounded even if the clock stands still", "[shell]") {
  fixture f{[](fixture&, troupe::shell_env& env) {
    env.sleep = [](std::chrono::milliseconds) {};
  }};
  CHECK(f.sh.execute("wait-nodes 1 1") == shell::outcome::failed);
  CHECK(f.backend.nodes_calls <= 12);
  CHECK_THAT(f.err.str(), Catch::Contains("only 0 of 1 nodes"));
}

TEST_CASE("watch prints the summary and stops after --count events",
          "[shell]") {
  fixture f;
  f.backend.node_list = {make_node("head", true), make_node("worker-2")};
  event_row left{"node-left", make_node("worker-2"), {}, "connection lost", 0};
  event_row joined{
      "actor-registered", {}, make_actor("e", "echo", "head", 3), {}, 0};
  f.backend.events = {left, joined, left};
  REQUIRE(f.sh.execute("watch --count 2") == shell::outcome::ok);
  auto lines = lines_of(f.out.str());
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "2 nodes: head, worker-2");
  CHECK(lines[1] == "0 actors");
  CHECK_THAT(lines[2],
             Catch::Matches(R"(\d\d:\d\d:\d\d\.\d{3} node-left worker-2 )"
                            R"(\(connection lost\))"));
  CHECK_THAT(lines[3], Catch::EndsWith(" actor-registered e (echo on head)"));
  CHECK(f.backend.events.size() == 1); // the third was never asked for
}

TEST_CASE("watch without events ends after SECONDS", "[shell]") {
  fixture f;
  REQUIRE(f.sh.execute("watch 3") == shell::outcome::ok);
  CHECK(f.now.time_since_epoch() == 3s);
  CHECK(f.backend.watch_calls == 1);
  CHECK(f.out.str() == "0 nodes\n0 actors\n");
  CHECK(f.sh.execute("watch 1 2") == shell::outcome::failed);
  CHECK(f.sh.execute("watch --count 0") == shell::outcome::failed);
  CHECK(count_lines_with(f.err.str(), "usage: watch") == 2);
}

TEST_CASE("interactive watch runs in short rounds and reports gaps",
          "[shell]") {
  fixture f{[](fixture&, troupe::shell_env& env) { env.interactive = true; }};
  f.backend.node_list = {make_node("head", true)};
  // A node joins between two rounds, so no event reaches the shell.
  f.backend.before_watch = [&] {
    if (f.backend.watch_calls == 2)
      f.backend.node_list.push_back(make_node("late"));
  };
  REQUIRE(f.sh.execute("watch 1.2") == shell::outcome::ok);
  CHECK(f.backend.watch_calls == 3); // 500 + 500 + 200 ms
  CHECK(f.now.time_since_epoch() == 1200ms);
  auto lines = lines_of(f.out.str());
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "1 nodes: head");
  CHECK_THAT(lines[2],
             Catch::EndsWith(" node-joined late (10.0.0.1, 4 slots)"));
}

TEST_CASE("interactive watch stops on Ctrl-C", "[shell]") {
  fixture f{[](fixture& self, troupe::shell_env& env) {
    env.interactive = true;
    env.interrupted = [&self] { return self.now.time_since_epoch() >= 2s; };
  }};
  REQUIRE(f.sh.execute("watch") == shell::outcome::ok);
  CHECK(f.now.time_since_epoch() == 2s);
  CHECK(f.backend.watch_calls == 4); // 500 ms rounds
}

TEST_CASE("scripts run in order and skip comments and stop at quit",
          "[shell]") {
  fixture f;
  auto result = f.sh.run_script("kinds; # a comment; bogus; quit; kinds");
  CHECK(result == shell::outcome::quit);
  CHECK(f.out.str() == "echo\ncounter\n");
  CHECK(f.sh.failures() == 1);
  CHECK(f.sh.run_line("# kinds; kinds") == shell::outcome::ok);
  CHECK(f.sh.run_line("   ") == shell::outcome::ok);
  CHECK(f.out.str() == "echo\ncounter\n");
}

TEST_CASE("a failing command makes the script fail", "[shell]") {
  fixture f;
  CHECK(f.sh.run_script("kinds; stop; kinds") == shell::outcome::failed);
  CHECK(f.out.str() == "echo\ncounter\necho\ncounter\n");
  CHECK(f.err.str() == "usage: stop ACTOR\n");
}

// -- completion ---------------------------------------------------------------

TEST_CASE("the first word completes to command names", "[shell]") {
  fixture f;
  CHECK(f.sh.completions("", "s") == words{"scale", "send", "shutdown", "slots",
                                           "spawn", "stats", "stop",
                                           "stop-study", "studies", "study"});
  CHECK(f.sh.completions("nodes; ", "w") == words{"wait-nodes", "watch"});
  CHECK(f.sh.completions("help ", "ki") == words{"kinds"});
}

TEST_CASE("later words complete to actor and node names", "[shell]") {
  fixture f;
  f.backend.node_list = {make_node("head", true), make_node("worker-1")};
  f.backend.actor_list = {make_actor("echo-1", "echo", "head", 1),
                          make_actor("worker-log", "log", "worker-1", 2)};
  CHECK(f.sh.completions("stats ", "w") == words{"worker-1", "worker-log"});
  CHECK(f.sh.completions("send ", "") == words{"echo-1", "worker-log"});
  CHECK(f.sh.completions("send echo-1 ", "w").empty());
  CHECK(f.sh.completions("spawn ", "e") == words{"echo"});
  CHECK(f.sh.completions("spawn echo ", "") ==
        words{"any", "every", "head", "worker-1"});
  CHECK(f.sh.completions("spawn echo --name ", "e").empty());
  CHECK(f.sh.completions("spawn echo ", "--c") == words{"--config"});
  CHECK(f.sh.completions("nodes ", "").empty());
}

TEST_CASE("completion caches names for about a second", "[shell]") {
  fixture f;
  f.backend.node_list = {make_node("head", true)};
  f.sh.completions("stats ", "");
  f.sh.completions("stats ", "h");
  CHECK(f.backend.nodes_calls == 1);
  f.backend.node_list.push_back(make_node("hub"));
  f.now += 1500ms;
  CHECK(f.sh.completions("stats ", "h") == words{"head", "hub"});
  CHECK(f.backend.nodes_calls == 2);
}

// -- AutoML studies -----------------------------------------------------------

namespace {

using troupe::schema::StudyList;
using troupe::schema::StudyStatus;

/// Study "s1" while it runs: 57 trials, the best AUC 0.931237 from trial 12,
/// 63.4 s into a 10 min budget.
void fill_running(StudyStatus::Builder b) {
  b.setId("s1");
  b.setState("running");
  b.setMetric("auc");
  b.setMaximize(true);
  b.setElapsedMs(63'400);
  b.setBudgetMs(600'000);
  b.setTotalTrials(57);
  b.setDone(40);
  b.setRunning(2);
  b.setPruned(10);
  b.setFailed(5);
  b.setRequeued(1);
  b.setHasBest(true);
  b.setBestValue(0.931237);
  b.setBestTrial(12);
  b.setWeight(1);
}

/// s1 with a leaderboard: a complete trial with a float, an int and a
/// category parameter, and a running one without a value.
troupe::envelope running_status() {
  return troupe::make_envelope<StudyStatus>([](StudyStatus::Builder b) {
    fill_running(b);
    auto board = b.initLeaderboard(2);
    board[0].setId(12);
    board[0].setState("complete");
    board[0].setValue(0.931237);
    board[0].setSteps(243);
    board[0].setNode("head");
    auto p = board[0].initParams(3);
    p[0].setName("eta");
    p[0].setReal(0.0312345);
    p[1].setName("max_depth");
    p[1].setInteger(6);
    p[2].setName("booster");
    p[2].setCategory("gbtree");
    board[1].setId(7);
    board[1].setState("running");
    board[1].setValue(std::nan(""));
    board[1].setSteps(9);
    auto q = board[1].initParams(2);
    q[0].setName("eta");
    q[0].setReal(0.1);
    q[1].setName("lambda");
    q[1].setReal(1234.5678);
  });
}

/// s1 running, "done" finished with a model and no best, "old" only stored.
troupe::envelope study_list() {
  return troupe::make_envelope<StudyList>([](StudyList::Builder b) {
    auto xs = b.initStudies(3);
    fill_running(xs[0]);
    xs[1].setId("done");
    xs[1].setState("finished");
    xs[1].setMetric("rmse");
    xs[1].setElapsedMs(3'725'000);
    xs[1].setTotalTrials(200);
    xs[1].setDone(180);
    xs[1].setPruned(20);
    xs[2].setId("old");
    xs[2].setState("stored");
  });
}

std::string ref_id(const troupe::envelope& e) {
  auto id = e.visit<troupe::schema::StudyRef>(
      [](auto r) { return std::string{r.getId().cStr()}; });
  return id ? *id : "<not a StudyRef: " + troupe::describe(id.error()) + ">";
}

} // namespace

TEST_CASE("studies shows one aligned row per study", "[shell][automl]") {
  auto text = troupe::automl::format_studies(study_list());
  REQUIRE(text);
  auto lines = lines_of(*text);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] ==
        "ID    STATE     TRIALS  DONE  RUNNING  PRUNED  FAILED  BEST         "
        "ELAPSED");
  CHECK(lines[1] ==
        "s1    running   57      40    2        10      5       auc 0.93124  "
        "1:03");
  // No best trial: "-"; over an hour: H:MM:SS.
  CHECK(lines[2] ==
        "done  finished  200     180   0        20      0       -            "
        "1:02:05");
  // A stored study has no numbers to show.
  CHECK(lines[3] ==
        "old   stored    -       -     -        -       -       -            "
        "-");
  CHECK(lines[4] == "3 studies");
}

TEST_CASE("an empty study list says so", "[shell][automl]") {
  auto empty =
      troupe::make_envelope<StudyList>([](StudyList::Builder b) { (void)b; });
  auto text = troupe::automl::format_studies(empty);
  REQUIRE(text);
  CHECK_THAT(*text, Catch::EndsWith("\n0 studies\n"));
  auto ids = troupe::automl::study_ids(study_list());
  REQUIRE(ids);
  CHECK(*ids == words{"s1", "done", "old"});
}

TEST_CASE("study shows its fields and the leaderboard", "[shell][automl]") {
  auto text = troupe::automl::format_study(running_status());
  REQUIRE(text);
  CHECK(*text == "study     s1\n"
                 "state     running\n"
                 "metric    auc (higher is better)\n"
                 "best      0.93124 (trial 12)\n"
                 "trials    57: 40 done, 2 running, 10 pruned, 5 failed, "
                 "0 paused\n"
                 "requeued  1\n"
                 "elapsed   1:03\n"
                 "budget    10:00\n"
                 "weight    1\n"
                 "\n"
                 "RANK  TRIAL  STATE     AUC      STEPS  NODE  CONFIG\n"
                 "1     12     complete  0.93124  243    head  eta=0.03123 "
                 "max_depth=6 booster=gbtree\n"
                 "2     7      running   -        9      -     eta=0.1 "
                 "lambda=1235\n");
}

TEST_CASE("a multi-objective study shows its objectives and its Pareto "
          "front after the leaderboard",
          "[shell][automl][pareto]") {
  auto status = troupe::make_envelope<StudyStatus>([](StudyStatus::Builder b) {
    fill_running(b);
    auto names = b.initObjectives(1);
    names.set(0, "model-size");
    auto board = b.initLeaderboard(1);
    board[0].setId(3);
    board[0].setState("complete");
    board[0].setValue(0.91);
    board[0].setSteps(27);
    board[0].initObjectives(1).set(0, 20480);
    auto front = b.initParetoFront(1);
    front[0].setId(3);
    front[0].setState("complete");
    front[0].setValue(0.91);
    front[0].setSteps(27);
    front[0].initObjectives(1).set(0, 20480);
    auto p = front[0].initParams(1);
    p[0].setName("max_depth");
    p[0].setInteger(4);
  });
  auto text = troupe::automl::format_study(status);
  REQUIRE(text);
  INFO(*text);
  CHECK(count_lines_with(*text, "objectives") == 1);
  CHECK(count_lines_with(*text, "auc, model-size (lower is better)") == 1);
  auto lines = lines_of(*text);
  auto at = std::find(lines.begin(), lines.end(), "pareto front");
  REQUIRE(at != lines.end());
  REQUIRE(lines.end() - at == 3);
  CHECK_THAT(at[1], Catch::StartsWith("TRIAL") && Catch::Contains("AUC") &&
                        Catch::Contains("MODEL-SIZE") &&
                        Catch::Contains("CONFIG"));
  CHECK_THAT(at[2], Catch::StartsWith("3 ") && Catch::Contains("0.91") &&
                        Catch::Contains("20480") &&
                        Catch::Contains("max_depth=4"));
  // a single-objective study shows neither
  auto single = troupe::automl::format_study(running_status());
  REQUIRE(single);
  CHECK(single->find("objectives") == std::string::npos);
  CHECK(single->find("pareto front") == std::string::npos);
}

TEST_CASE("a finished study shows its model dir and message and budget",
          "[shell][automl]") {
  auto status = troupe::make_envelope<StudyStatus>([](StudyStatus::Builder b) {
    b.setId("s2");
    b.setState("finished");
    b.setMetric("rmse");
    b.setMaxTrials(200);
    b.setBudgetMs(90'000);
    b.setModelDir("/data/s2/best");
    b.setMessage("stopped by request");
  });
  auto text = troupe::automl::format_study(status);
  REQUIRE(text);
  auto lines = lines_of(*text);
  CHECK(count_lines_with(*text, "metric     rmse (lower is better)") == 1);
  CHECK(count_lines_with(*text, "best       -") == 1);
  CHECK(count_lines_with(*text, "budget     1:30 or 200 trials") == 1);
  CHECK(count_lines_with(*text, "model dir  /data/s2/best") == 1);
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.back() == "no trial has a result yet");
  CHECK(lines[lines.size() - 2] == "message    stopped by request");
}

TEST_CASE("the status line sums a study up", "[shell][automl]") {
  auto line = troupe::automl::format_study_line(running_status());
  REQUIRE(line);
  CHECK(*line == "study s1: running, 57 trials (40 done, 2 running, 10 "
                 "pruned, 5 failed), best auc 0.93124 (trial 12), elapsed "
                 "1:03\n");
}

TEST_CASE("rendering another payload is an error naming both types",
          "[shell][automl]") {
  auto text = troupe::make_envelope<troupe::schema::TextMessage>(
      [](auto m) { m.setText("hi"); });
  auto list = troupe::automl::format_studies(text);
  REQUIRE_FALSE(list);
  CHECK_THAT(troupe::describe(list.error()),
             Catch::Contains("TextMessage") && Catch::Contains("StudyList"));
  CHECK_FALSE(troupe::automl::format_study(study_list()));
  CHECK_FALSE(troupe::automl::format_study_line(text));
}

TEST_CASE("studies and study and stop-study ask the automl service",
          "[shell][automl]") {
  fixture f;
  f.backend.answer = [&](const troupe::envelope&) {
    return f.backend.sent_op == "list" ? study_list() : running_status();
  };
  REQUIRE(f.sh.execute("studies") == shell::outcome::ok);
  CHECK(f.backend.sent_actor == "automl");
  CHECK(f.backend.sent_op == "list");
  CHECK(ref_id(f.backend.sent_payload).empty());
  CHECK_THAT(f.out.str(), Catch::Contains("\n3 studies\n"));

  f.out.str("");
  REQUIRE(f.sh.execute("study s1") == shell::outcome::ok);
  CHECK(f.backend.sent_op == "status");
  CHECK(ref_id(f.backend.sent_payload) == "s1");
  CHECK_THAT(f.out.str(), Catch::StartsWith("study     s1\n") &&
                              Catch::Contains("RANK  TRIAL"));

  f.out.str("");
  REQUIRE(f.sh.execute("stop-study s1") == shell::outcome::ok);
  CHECK(f.backend.sent_op == "stop");
  CHECK(ref_id(f.backend.sent_payload) == "s1");
  CHECK_THAT(f.out.str(), Catch::StartsWith("study s1: running, 57 trials"));
  CHECK(f.err.str().empty());
}

TEST_CASE("study commands without the service say it is not running",
          "[shell][automl]") {
  fixture f;
  // What cluster_client::send returns when no actor has the name.
  f.backend.failure = troupe::make_error(
      troupe::errc::invalid_argument,
      "send to automl: no actor named 'automl' is registered");
  CHECK(f.sh.execute("studies") == shell::outcome::failed);
  CHECK(f.sh.execute("study s1") == shell::outcome::failed);
  CHECK(f.err.str() ==
        "error: the AutoML service is not running: no actor named 'automl' "
        "is registered (the head starts it)\n"
        "error: the AutoML service is not running: no actor named 'automl' "
        "is registered (the head starts it)\n");
  CHECK(f.out.str().empty());
}

TEST_CASE("an unknown study prints the service's message", "[shell][automl]") {
  fixture f;
  f.backend.failure = troupe::make_error(
      troupe::errc::invalid_argument,
      "send to automl: actor 'automl' answered no study 'nope' is loaded");
  CHECK(f.sh.execute("study nope") == shell::outcome::failed);
  CHECK(f.sh.execute("stop-study nope") == shell::outcome::failed);
  CHECK(f.err.str() == "error: no study 'nope' is loaded\n"
                       "error: no study 'nope' is loaded\n");
}

TEST_CASE("a reply of the wrong type fails the command", "[shell][automl]") {
  fixture f; // the fake echoes a TextMessage
  f.backend.answer = [](const troupe::envelope&) {
    return troupe::make_envelope<troupe::schema::TextMessage>(
        [](auto m) { m.setText("?"); });
  };
  CHECK(f.sh.execute("studies") == shell::outcome::failed);
  CHECK_THAT(f.err.str(),
             Catch::StartsWith("error: ") && Catch::Contains("StudyList"));
  CHECK(f.out.str().empty());
}

TEST_CASE("study commands check their arguments", "[shell][automl]") {
  fixture f;
  CHECK(f.sh.execute("studies s1") == shell::outcome::failed);
  CHECK(f.sh.execute("study") == shell::outcome::failed);
  CHECK(f.sh.execute("study a b") == shell::outcome::failed);
  CHECK(f.sh.execute("stop-study ''") == shell::outcome::failed);
  CHECK(f.err.str() == "usage: studies\n"
                       "usage: study ID\n"
                       "usage: study ID\n"
                       "usage: stop-study ID\n");
  CHECK(f.backend.send_calls == 0);
}

TEST_CASE("study and stop-study complete study ids", "[shell][automl]") {
  fixture f;
  f.backend.answer = [](const troupe::envelope&) { return study_list(); };
  CHECK(f.sh.completions("study ", "") == words{"done", "old", "s1"});
  CHECK(f.sh.completions("nodes; stop-study ", "s") == words{"s1"});
  CHECK(f.backend.send_calls == 1); // cached for about a second
  CHECK(f.sh.completions("study s1 ", "").empty());
  CHECK(f.sh.completions("studies ", "").empty());
  // Without the service there is nothing to complete, and no error.
  fixture g;
  g.backend.failure = troupe::make_error(troupe::errc::not_found, "gone");
  CHECK(g.sh.completions("study ", "").empty());
  CHECK(g.err.str().empty());
}

// -- model serving ------------------------------------------------------------

namespace {

using troupe::schema::DeploymentList;
using troupe::schema::DeploymentStatus;

/// "churn": a 90/10 canary of v1 and v2 between 1 and 3 replicas (2 wanted,
/// one ready, one starting) after 1250 requests; "fraud": one replica of v4
/// that has answered nothing yet.
troupe::envelope deployment_list() {
  return troupe::make_envelope<DeploymentList>([](DeploymentList::Builder l) {
    auto ds = l.initDeployments(2);
    auto churn = ds[0];
    auto spec = churn.initSpec();
    spec.setName("churn");
    spec.setModel("churn");
    spec.setVersion("latest");
    spec.setMinReplicas(1);
    spec.setMaxReplicas(3);
    spec.setTargetP99Ms(250);
    auto groups = spec.initFeatureGroups(2);
    groups.set(0, "users");
    groups.set(1, "clicks");
    auto traffic = churn.initTraffic(2);
    traffic[0].setVersion(1);
    traffic[0].setWeight(90);
    traffic[1].setVersion(2);
    traffic[1].setWeight(10);
    auto rs = churn.initReplicas(2);
    rs[0].setName("churn.replica.1");
    rs[0].setNode("head");
    rs[0].setVersion(1);
    rs[0].setState("ready");
    rs[0].setInFlight(3);
    rs[0].setServed(1200);
    rs[1].setName("churn.replica.2");
    rs[1].setNode("worker-1");
    rs[1].setVersion(2);
    rs[1].setState("starting");
    churn.setDesiredReplicas(2);
    churn.setRequests(1250);
    churn.setRows(4000);
    churn.setErrors(3);
    churn.setShed(1);
    churn.setRetries(2);
    churn.setQueuedRows(17);
    churn.setP50Us(850.4);
    churn.setP99Us(12'345.6);
    churn.setStableVersion(1);
    auto fraud = ds[1];
    auto fspec = fraud.initSpec();
    fspec.setName("fraud");
    fspec.setModel("fraud-xgb");
    fspec.setVersion("4");
    fspec.setMaxBatchRows(1);
    fspec.setLogInputs("hash");
    auto ft = fraud.initTraffic(1);
    ft[0].setVersion(4);
    ft[0].setWeight(100);
    auto fr = fraud.initReplicas(1);
    fr[0].setName("fraud.replica.1");
    fr[0].setNode("head");
    fr[0].setVersion(4);
    fr[0].setState("ready");
    fraud.setDesiredReplicas(1);
    fraud.setStableVersion(4);
    fraud.setPreviousVersion(3);
  });
}

} // namespace

TEST_CASE("deployments shows one row per deployment with its split and "
          "replicas and latencies",
          "[shell][serving]") {
  fixture f;
  f.backend.deployment_list = deployment_list();
  REQUIRE(f.sh.execute("deployments") == shell::outcome::ok);
  CHECK(f.out.str() ==
        "NAME   MODEL      VERSIONS   REPLICAS    REQUESTS  ERRORS  SHED  "
        "RETRIES  QUEUED  P50    P99\n"
        "churn  churn      1=90,2=10  1/2 (1..3)  1250      3       1     "
        "2        17      850us  12.3ms\n"
        "fraud  fraud-xgb  4=100      1/1 (1..1)  0         0       0     "
        "0        0       -      -\n"
        "2 deployments\n");
  CHECK(f.err.str().empty());
}

TEST_CASE("deployment shows the spec and split and counters and one line "
          "per replica",
          "[shell][serving]") {
  fixture f;
  f.backend.deployment_list = deployment_list();
  REQUIRE(f.sh.execute("deployment churn") == shell::outcome::ok);
  CHECK(f.out.str() == "deployment        churn\n"
                       "model             churn\n"
                       "version           latest\n"
                       "replicas          1:3 (want 2, 1 ready)\n"
                       "max batch rows    32\n"
                       "max queue delay   2ms\n"
                       "queue bound       4096 rows\n"
                       "target in flight  16 rows\n"
                       "target p99        250ms\n"
                       "upscale delay     3s\n"
                       "downscale delay   30s\n"
                       "feature groups    users, clicks\n"
                       "log inputs        values\n"
                       "traffic           1=90,2=10\n"
                       "stable version    v1\n"
                       "previous version  -\n"
                       "requests          1250\n"
                       "rows              4000\n"
                       "errors            3\n"
                       "shed              1\n"
                       "retries           2\n"
                       "queued rows       17\n"
                       "latency           p50 850us, p99 12.3ms\n"
                       "\n"
                       "REPLICA          NODE      VERSION  STATE     "
                       "IN-FLIGHT  SERVED\n"
                       "churn.replica.1  head      v1       ready     3"
                       "          1200\n"
                       "churn.replica.2  worker-1  v2       starting  0"
                       "          0\n"
                       "2 replicas\n");

  f.out.str("");
  REQUIRE(f.sh.execute("deployment fraud") == shell::outcome::ok);
  auto text = f.out.str();
  CHECK_THAT(text,
             Catch::Contains("\nmax batch rows    1\n") &&
                 Catch::Contains("\nfeature groups    -\n") &&
                 Catch::Contains("\ntarget p99        - (latency ignored)\n") &&
                 Catch::Contains("\nlog inputs        hash\n") &&
                 Catch::Contains("\nprevious version  v3\n") &&
                 Catch::Contains("\nlatency           p50 -, p99 -\n") &&
                 Catch::EndsWith("\n1 replicas\n"));
}

TEST_CASE("scale N sets min and max to N and MIN:MAX sets the range",
          "[shell][serving]") {
  fixture f;
  f.backend.deployment_list = deployment_list();
  REQUIRE(f.sh.execute("scale churn 2") == shell::outcome::ok);
  CHECK(f.backend.scaled == words{"churn", "2", "2"});
  CHECK(f.out.str() == "churn: model churn, replicas 2..2, 1/2 ready, traffic "
                       "1=90,2=10, 1250 requests\n");
  f.out.str("");
  REQUIRE(f.sh.execute("scale fraud 1:1024") == shell::outcome::ok);
  CHECK(f.backend.scaled == words{"fraud", "1", "1024"});
  CHECK(f.out.str() == "fraud: model fraud-xgb, replicas 1..1024, 1/1 ready, "
                       "traffic 4=100, 0 requests\n");
  CHECK(f.err.str().empty());
}

TEST_CASE("scale names the argument that is wrong and sends nothing",
          "[shell][serving]") {
  fixture f;
  f.backend.deployment_list = deployment_list();
  const std::string use = "usage: scale NAME N|MIN:MAX\n";
  auto error_of = [&](const std::string& command) {
    f.err.str("");
    CHECK(f.sh.execute(command) == shell::outcome::failed);
    return f.err.str();
  };
  CHECK(error_of("scale") == "error: scale: NAME is missing\n" + use);
  CHECK(error_of("scale '' 2") == "error: scale: NAME is missing\n" + use);
  CHECK(error_of("scale churn") ==
        "error: scale: N or MIN:MAX is missing\n" + use);
  CHECK(error_of("scale churn two") ==
        "error: scale: replicas 'two': N 'two' is not a whole number\n" + use);
  CHECK(error_of("scale churn -1") ==
        "error: scale: replicas '-1': N '-1' is not a whole number\n" + use);
  CHECK(error_of("scale churn 0") ==
        "error: scale: replicas '0': N must be at least 1\n" + use);
  CHECK(error_of("scale churn 3:2") ==
        "error: scale: replicas '3:2': MIN 3 is greater than MAX 2\n" + use);
  CHECK(error_of("scale churn 0:2") ==
        "error: scale: replicas '0:2': MIN must be at least 1\n" + use);
  CHECK(error_of("scale churn 1:") ==
        "error: scale: replicas '1:': MAX '' is not a whole number\n" + use);
  CHECK(error_of("scale churn 1:2:3") ==
        "error: scale: replicas '1:2:3': MAX '2:3' is not a whole number\n" +
            use);
  CHECK(error_of("scale churn 1025") ==
        "error: scale: replicas '1025': N must be at most 1024\n" + use);
  CHECK(error_of("scale churn 2 3") == use);
  CHECK(error_of("deployment") ==
        "error: deployment: NAME is missing\nusage: deployment NAME\n");
  CHECK(error_of("deployment a b") == "usage: deployment NAME\n");
  CHECK(error_of("deployments x") == "usage: deployments\n");
  CHECK(f.backend.serving_calls == 0);
  CHECK(f.backend.scaled.empty());
  CHECK(f.out.str().empty());
}

TEST_CASE("an unknown deployment prints the serving service's message",
          "[shell][serving]") {
  fixture f;
  f.backend.deployment_list = deployment_list();
  CHECK(f.sh.execute("deployment nope") == shell::outcome::failed);
  CHECK(f.sh.execute("scale nope 2") == shell::outcome::failed);
  CHECK(f.err.str() ==
        "error: serving: no deployment 'nope'; deployed: churn, fraud\n"
        "error: serving: no deployment 'nope'; deployed: churn, fraud\n");
  CHECK(f.out.str().empty());
  CHECK(f.sh.failures() == 2);
}

TEST_CASE("serving commands on a backend without serving say so",
          "[shell][serving]") {
  fixture f; // no deployment_list: the shell_backend defaults answer
  CHECK(f.sh.execute("deployments") == shell::outcome::failed);
  CHECK(f.sh.execute("deployment churn") == shell::outcome::failed);
  CHECK(f.sh.execute("scale churn 2") == shell::outcome::failed);
  CHECK(count_lines_with(f.err.str(),
                         "error: this shell's backend has no model serving") ==
        3);
  // Completion asks quietly and offers nothing.
  CHECK(f.sh.completions("deployment ", "").empty());
  CHECK(count_lines_with(f.err.str(), "error: ") == 3);
}

TEST_CASE("a serving reply of the wrong type is an error and not a table",
          "[shell][serving]") {
  troupe::register_schema<DeploymentStatus>(); // names it in errors
  auto list = deployment_list();
  auto status = troupe::make_envelope<DeploymentStatus>([](auto) {});
  CHECK_FALSE(troupe::serving::format_deployments(status));
  CHECK_FALSE(troupe::serving::format_deployment(list));
  CHECK_FALSE(troupe::serving::format_deployment_line(list));
  auto names = troupe::serving::deployment_names(status);
  REQUIRE_FALSE(names);
  CHECK_THAT(troupe::describe(names.error()),
             Catch::Contains("DeploymentStatus") &&
                 Catch::Contains("DeploymentList"));
  CHECK(troupe::serving::deployment_names(list).value() ==
        words{"churn", "fraud"});
}

TEST_CASE("deployment and scale complete deployment names",
          "[shell][serving]") {
  fixture f;
  f.backend.deployment_list = deployment_list();
  CHECK(f.sh.completions("deployment ", "") == words{"churn", "fraud"});
  CHECK(f.sh.completions("nodes; scale ", "f") == words{"fraud"});
  CHECK(f.backend.serving_calls == 1); // cached for about a second
  CHECK(f.sh.completions("scale churn ", "").empty());
  CHECK(f.sh.completions("deployments ", "").empty());
  CHECK(f.sh.completions("", "dep") == words{"deployment", "deployments"});
  CHECK(f.sh.completions("help ", "sc") == words{"scale"});
}

TEST_CASE("durations pick a unit and never show an exponent",
          "[shell][serving]") {
  using troupe::serving::duration_text;
  CHECK(duration_text(0) == "-");
  CHECK(duration_text(-3) == "-");
  CHECK(duration_text(std::nan("")) == "-");
  CHECK(duration_text(0.25) == "0.25us");
  CHECK(duration_text(850.4) == "850us");
  CHECK(duration_text(999.7) == "1ms");
  CHECK(duration_text(1234.5) == "1.23ms");
  CHECK(duration_text(2000) == "2ms");
  CHECK(duration_text(3e6) == "3s");
  CHECK(duration_text(45.5e6) == "45.5s");
  CHECK(duration_text(2e9) == "2000s");
}

TEST_CASE("parse_replica_range takes N or MIN:MAX", "[shell][serving]") {
  using troupe::serving::parse_replica_range;
  using range = std::pair<uint32_t, uint32_t>;
  CHECK(parse_replica_range("3").value() == range{3, 3});
  CHECK(parse_replica_range("1:4").value() == range{1, 4});
  CHECK(parse_replica_range("2:2").value() == range{2, 2});
  CHECK(parse_replica_range("1024").value() == range{1024, 1024});
  CHECK_FALSE(parse_replica_range(""));
  CHECK_FALSE(parse_replica_range(":"));
  CHECK_FALSE(parse_replica_range(" 2"));
  CHECK_FALSE(parse_replica_range("+2"));
  CHECK_FALSE(parse_replica_range("2.0"));
  CHECK_FALSE(parse_replica_range("99999999999"));
}
