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

#include <fcntl.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "runtime/errors.hpp"
#include "runtime/shell_detail.hpp"

namespace troupe {

using shell_detail::is_space;
using shell_detail::starts_with;
using shell_detail::trim;

// -- run_shell ----------------------------------------------------------------

namespace {

volatile std::sig_atomic_t interrupted_flag = 0;
volatile std::sig_atomic_t command_running = 0;

extern "C" void on_sigint(int) {
  // A second Ctrl-C while a command ignores the first (a blocking call)
  // ends the process.
  if (interrupted_flag && command_running) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
    return;
  }
  interrupted_flag = 1;
}

/// Ctrl-C at the prompt: drop the line and show a fresh prompt. Readline
/// calls this after a read was interrupted, and ten times a second while it
/// waits (for a signal that came between two reads).
int on_signal_event() {
  if (interrupted_flag) {
    interrupted_flag = 0;
    rl_replace_line("", 0);
    rl_crlf();
    rl_on_new_line();
    rl_redisplay();
  }
  return 0;
}

shell* completing_shell = nullptr;
int completion_start = 0;

char* completion_generator(const char* text, int state) {
  static std::vector<std::string> matches;
  static size_t next = 0;
  if (state == 0) {
    next = 0;
    matches.clear();
    try {
      auto start = std::min<size_t>(std::max(completion_start, 0),
                                    std::strlen(rl_line_buffer));
      matches = completing_shell->completions(
          std::string(rl_line_buffer, start), text);
    } catch (...) {
      // Never let an exception cross readline's C frames.
    }
  }
  if (next >= matches.size()) return nullptr;
  return strdup(matches[next++].c_str());
}

char** attempt_completion(const char* text, int start, int) {
  rl_attempted_completion_over = 1; // no file names
  if (!completing_shell) return nullptr;
  completion_start = start;
  return rl_completion_matches(text, completion_generator);
}

std::string default_history_file() {
  const char* home = std::getenv("HOME");
  return home && *home ? std::string{home} + "/.troupe_history" : std::string{};
}

int run_interactive(shell& sh, const std::string& address,
                    const std::string& history) {
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0; // no SA_RESTART: blocking reads see EINTR
  struct sigaction previous {};
  sigaction(SIGINT, &action, &previous);
  rl_readline_name = "troupe";
  rl_attempted_completion_function = attempt_completion;
  rl_signal_event_hook = on_signal_event;
  rl_event_hook = on_signal_event;
  completing_shell = &sh;
  using_history();
  if (!history.empty()) {
    // append_history needs the file to exist.
    if (int fd = ::open(history.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        fd >= 0)
      ::close(fd);
    read_history(history.c_str());
  }
  auto prompt = "troupe " + address + "> ";
  std::string previous_line;
  for (;;) {
    interrupted_flag = 0;
    char* raw = readline(prompt.c_str());
    if (!raw) { // Ctrl-D
      std::cout << std::endl;
      break;
    }
    std::string line{raw};
    std::free(raw);
    auto text = trim(line);
    if (text.empty()) continue;
    if (text != previous_line) {
      add_history(text.c_str());
      if (!history.empty()) append_history(1, history.c_str());
      previous_line = text;
    }
    interrupted_flag = 0;
    command_running = 1;
    auto result = sh.run_line(text);
    command_running = 0;
    interrupted_flag = 0;
    if (result == shell::outcome::quit) break;
  }
  if (!history.empty()) history_truncate_file(history.c_str(), 5000);
  completing_shell = nullptr;
  rl_signal_event_hook = nullptr;
  rl_event_hook = nullptr;
  sigaction(SIGINT, &previous, nullptr);
  return 0;
}

} // namespace

int run_shell(const shell_options& opts,
              const std::vector<shell_extension>& extensions) {
  auto hp = parse_host_port(opts.address, "127.0.0.1", 7701);
  if (!hp) {
    std::cerr << "troupe shell: " << describe(hp.error()) << '\n'
              << "usage: troupe shell [HOST:PORT] [-c \"cmd; cmd\"]\n";
    return 2;
  }
  auto address = hp->first + ":" + std::to_string(hp->second);
  auto unreachable = [&](const caf::error& err) {
    // The client may already say where it failed: say it once.
    auto prefix = "cannot reach the head at " + address;
    auto reason = describe(err);
    if (starts_with(reason, prefix + ": ")) reason.erase(0, prefix.size() + 2);
    std::cerr << "troupe shell: " << prefix << ": " << reason << '\n';
    return 2;
  };
  auto client = cluster_client::connect(hp->first, hp->second);
  if (!client) return unreachable(client.error());
  // connect may succeed before the gateway answers anything: ask once.
  if (auto r = (*client)->ping(); !r) return unreachable(r.error());
  auto backend = make_backend(std::move(*client));
  bool tty = ::isatty(STDIN_FILENO) == 1;
  shell_env env;
  env.interactive = opts.commands.empty() && tty;
  env.interrupted = [] { return interrupted_flag != 0; };
  std::vector<shell_command> extra;
  for (auto& extension : extensions)
    for (auto& cmd : extension(*backend))
      extra.push_back(std::move(cmd));
  shell sh{*backend, std::move(env), std::move(extra)};
  if (!opts.commands.empty()) {
    sh.run_script(opts.commands);
  } else if (!tty) {
    for (std::string line; std::getline(std::cin, line);)
      if (sh.run_line(line) == shell::outcome::quit) break;
  } else {
    auto history =
        opts.history_file.empty() ? default_history_file() : opts.history_file;
    return run_interactive(sh, address, history);
  }
  std::cout.flush();
  return sh.failures() > 0 ? 1 : 0;
}

} // namespace troupe
