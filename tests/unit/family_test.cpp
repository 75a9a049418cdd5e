// The `troupe` program as families make it: each family's subcommands, node
// options, kinds and head services reach the runtime without the runtime
// naming any family.

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/family.hpp"

using namespace troupe;

namespace {

/// What the fake families saw.
struct record {
  std::vector<std::string> kinds;    ///< families whose kinds were registered
  std::vector<std::string> services; ///< head services added, in order
  std::string ran;                   ///< the command that ran, with its value
};

/// A family "NAME" with a subcommand NAME --value V, a kind and a head
/// service.
family fake_family(const std::string& name, std::shared_ptr<record> rec) {
  family f;
  f.name = name;
  f.kinds = [name, rec](caf::actor_system_config&) {
    rec->kinds.push_back(name);
  };
  f.head_services = [name, rec](node_options& node) {
    node.services.push_back({name + "-kind", name, {}});
    rec->services.push_back(name);
  };
  f.commands = [name, rec](CLI::App& app) {
    auto value = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand(name, "the " + name + " command");
    cmd->add_option("--value", *value, "a value");
    cli_command c;
    c.chosen = [cmd] { return cmd->parsed(); };
    c.run = [name, value, rec](const program_context& program) {
      rec->ran = name + "=" + *value;
      // An embedded cluster gets every family's kinds and head services.
      caf::actor_system_config cfg;
      program.register_kinds(cfg);
      node_options node;
      program.add_head_services(node);
      return static_cast<int>(node.services.size()) + 40;
    };
    return std::vector<cli_command>{c};
  };
  return f;
}

int run(std::vector<std::string> args, const std::vector<family>& families) {
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  return run_program(static_cast<int>(argv.size()), argv.data(), families);
}

} // namespace

TEST_CASE("the program runs the chosen family's command with every family's "
          "kinds and head services") {
  auto rec = std::make_shared<record>();
  std::vector<family> families{fake_family("alpha", rec),
                               fake_family("beta", rec)};
  CHECK(run({"troupe", "beta", "--value", "7"}, families) == 42);
  CHECK(rec->ran == "beta=7");
  CHECK(rec->kinds == std::vector<std::string>{"alpha", "beta"});
  CHECK(rec->services == std::vector<std::string>{"alpha", "beta"});
}

TEST_CASE("an unknown subcommand is a usage error and runs nothing") {
  auto rec = std::make_shared<record>();
  CHECK(run({"troupe", "gamma"}, {fake_family("alpha", rec)}) != 0);
  CHECK(rec->ran.empty());
}

TEST_CASE("all_kinds registers every family's kinds in order") {
  auto rec = std::make_shared<record>();
  family bare; // a family may declare nothing at all
  auto kinds =
      all_kinds({fake_family("alpha", rec), bare, fake_family("beta", rec)});
  caf::actor_system_config cfg;
  kinds(cfg);
  CHECK(rec->kinds == std::vector<std::string>{"alpha", "beta"});
}
