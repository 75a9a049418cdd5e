#pragma once

// What the benchmark drivers share about processes: progress lines, failing
// (children stopped, the program's clean-up run), starting and stopping
// child servers, free loopback ports and command-line flags.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

extern char** environ;

namespace troupe::bench {

using clock_type = std::chrono::steady_clock;

/// The program's name, which starts its progress and failure lines.
inline std::string program_name = "bench";

/// Run by fail() after the children are stopped (print logs, remove the
/// scratch directory).
inline std::function<void()> on_failure;

/// Children to stop when the program fails or is told to stop.
inline constexpr int max_children = 8;
inline volatile pid_t children[max_children] = {};

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// "PROGRAM: <printf text>" on stderr.
inline void progress(const char* fmt, ...) {
  std::va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "%s: ", program_name.c_str());
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
}

/// SIGTERM to every child, SIGKILL after 5 s, reaping them.
inline void stop_children_now() {
  for (auto& pid : children)
    if (pid > 0) {
      kill(pid, SIGTERM);
      int st = 0;
      for (int i = 0; i < 500 && waitpid(pid, &st, WNOHANG) == 0; ++i)
        usleep(10000);
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      pid = 0;
    }
}

/// Reports `what`, stops the children, runs on_failure and exits 1.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "%s: FAILED: %s\n", program_name.c_str(), what.c_str());
  stop_children_now();
  if (on_failure) on_failure();
  std::exit(1);
}

/// For SIGINT and SIGTERM: the children get SIGTERM, then the program dies
/// of the signal.
inline void on_signal(int sig) {
  for (auto& pid : children)
    if (pid > 0) kill(pid, SIGTERM);
  signal(sig, SIG_DFL);
  raise(sig);
}

/// Starts `args` (args[0] a path) with stdout and stderr appended to `log`.
inline pid_t spawn(const std::vector<std::string>& args,
                   const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) fail("cannot start " + args[0] + ": " + std::strerror(rc));
  for (auto& slot : children)
    if (slot == 0) {
      slot = pid;
      return pid;
    }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  fail("too many child processes");
}

/// Waits for a child to exit by itself; returns the wait status.
inline int wait_child(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  for (auto& slot : children)
    if (slot == pid) slot = 0;
  return st;
}

/// SIGTERM, then waits (SIGKILL after `grace_s` seconds). Returns the wait
/// status.
inline int stop_child(pid_t pid, double grace_s = 60) {
  kill(pid, SIGTERM);
  int st = 0;
  auto t0 = clock_type::now();
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (seconds_since(t0) > grace_s) {
      progress("pid %d ignored SIGTERM for %.0f s: SIGKILL", pid, grace_s);
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      break;
    }
    usleep(20000);
  }
  for (auto& slot : children)
    if (slot == pid) slot = 0;
  return st;
}

/// This program's own executable, to start it again in another mode.
inline std::string self_exe() {
  char buf[4096];
  auto n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    fail(std::string{"cannot read /proc/self/exe: "} + std::strerror(errno));
  return std::string(buf, static_cast<size_t>(n));
}

/// Whether a child has not exited yet.
inline bool alive(pid_t pid) {
  int st = 0;
  return waitpid(pid, &st, WNOHANG) == 0;
}

/// Whether something accepts connections on 127.0.0.1:port.
inline bool accepts(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok =
      fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
inline uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    fail("cannot find a free port");
  close(fd);
  return ntohs(a.sin_port);
}

inline bool has_flag(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0) return true;
  return false;
}

/// The value after `flag`, or `fallback`.
inline std::string arg_text(int argc, char** argv, const char* flag,
                            const std::string& fallback = {}) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0) return argv[i + 1];
  return fallback;
}

/// The comma-separated values after `flag` (or in `fallback`), empty ones
/// dropped.
inline std::vector<std::string> arg_list(int argc, char** argv,
                                         const char* flag,
                                         const std::string& fallback = {}) {
  auto list = arg_text(argc, argv, flag, fallback);
  std::vector<std::string> out;
  for (size_t at = 0; at < list.size();) {
    auto comma = list.find(',', at);
    if (comma == std::string::npos) comma = list.size();
    if (comma > at) out.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

} // namespace troupe::bench
