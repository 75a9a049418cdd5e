#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace troupe::test {

/// A child process started from argv, its stdout and stderr appended to a log
/// file. Killed with SIGKILL on destruction if still running.
class process {
public:
  process(std::vector<std::string> argv, std::string log_file);
  ~process();
  process(process&&) noexcept;
  process& operator=(process&&) = delete;
  process(const process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  /// Sends `sig`.
  void signal(int sig);
  /// Waits up to `timeout` for the exit; returns the exit code, or -1 if it
  /// is still running, or 128+signal if killed.
  int wait(std::chrono::milliseconds timeout);
  /// The log so far.
  std::string log() const;

private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_file_;
};

/// Result of running a command to completion.
struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

/// Runs argv (a bare program name is looked up in PATH) with a time limit
/// (killed past it), feeding `input` to stdin.
run_result run(const std::vector<std::string>& argv,
               std::chrono::milliseconds timeout,
               const std::string& input = {});

/// A TCP port on 127.0.0.1 that was free a moment ago.
uint16_t free_port();

/// Polls `pred` every 20 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout);

/// A fresh temporary directory, removed by the destructor.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

/// Path of the troupe binary under test.
std::string troupe_bin();

/// Writes text (or bytes) to a file.
void write_file(const std::string& path, const std::string& text);

/// The content of a file; throws (failing the test) if it cannot be read.
std::string read_file(const std::string& path);

/// Status line, headers and body of one HTTP/1.1 GET to 127.0.0.1:port, or
/// "" if it could not connect.
std::string http_get(uint16_t port, const std::string& path);

} // namespace troupe::test
