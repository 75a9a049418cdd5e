#include "tests/support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::test {

namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (auto& a : argv)
    out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

/// A log or output file's content; "" when there is none (yet).
std::string read_if_any(const std::string& path) {
  auto bytes = troupe::read_file(path);
  return bytes ? std::move(*bytes) : std::string{};
}

} // namespace

process::process(std::vector<std::string> argv, std::string log_file)
    : log_file_(std::move(log_file)) {
  auto args = c_argv(argv);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execv(args[0], args.data());
    _exit(127);
  }
}

process::process(process&& other) noexcept
    : pid_(other.pid_), status_(other.status_),
      log_file_(std::move(other.log_file_)) {
  other.pid_ = -1;
}

process::~process() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds{5});
  }
}

bool process::running() {
  if (pid_ <= 0 || status_ >= 0) return false;
  int st = 0;
  auto r = waitpid(pid_, &st, WNOHANG);
  if (r == 0) return true;
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return false;
}

void process::signal(int sig) {
  if (pid_ > 0 && running()) ::kill(pid_, sig);
}

int process::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return status_;
}

std::string process::log() const {
  return read_if_any(log_file_);
}

run_result run(const std::vector<std::string>& argv,
               std::chrono::milliseconds timeout, const std::string& input) {
  temp_dir dir;
  auto out_path = dir / "out";
  auto err_path = dir / "err";
  auto in_path = dir / "in";
  write_file(in_path, input);
  auto args = c_argv(argv);
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execvp(args[0], args.data()); // (a bare name is looked up in PATH)
    _exit(127);
  }
  run_result res;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int st = 0;
  for (;;) {
    auto r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      res.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      res.code = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  res.out = read_if_any(out_path);
  res.err = read_if_any(err_path);
  return res;
}

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

temp_dir::temp_dir() {
  std::string tmpl = "/tmp/troupe-test.XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  // TROUPE_KEEP_TEST_DIRS=1 keeps them (logs, data) for a post-mortem.
  if (auto* keep = std::getenv("TROUPE_KEEP_TEST_DIRS"); keep && *keep) {
    std::fprintf(stderr, "kept %s\n", path_.c_str());
    return;
  }
  std::string cmd = "rm -rf '" + path_ + "'";
  [[maybe_unused]] int r = std::system(cmd.c_str());
}

std::string troupe_bin() {
  if (auto* env = std::getenv("TROUPE_BIN")) return env;
  return TROUPE_BIN;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
}

std::string read_file(const std::string& path) {
  auto bytes = troupe::read_file(path);
  if (!bytes) throw std::runtime_error(describe(bytes.error()));
  return std::move(*bytes);
}

std::string http_get(uint16_t port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  // a server that accepts and never answers ends the read after 5 s
  timeval limit{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return {};
  }
  auto req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
             "Connection: close\r\n\r\n";
  if (send(fd, req.data(), req.size(), 0) < 0) {
    close(fd);
    return {};
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;)
    out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

} // namespace troupe::test
