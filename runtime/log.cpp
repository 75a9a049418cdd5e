#include "runtime/log.hpp"

#include <mutex>
#include <vector>

#include <pthread.h>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace troupe::log {

namespace {

struct state {
  std::mutex mtx;
  std::vector<spdlog::sink_ptr> sinks;
  spdlog::level::level_enum level = spdlog::level::info;
  std::string pattern = "[%Y-%m-%d %H:%M:%S.%e] [-] [%n] [%l] %v";
};

state& global() {
  static state s;
  return s;
}

void ensure_sinks(state& s) {
  if (s.sinks.empty())
    s.sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
}

} // namespace

void name_thread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

bool valid_level(const std::string& level) {
  return level == "off" || spdlog::level::from_str(level) != spdlog::level::off;
}

void init(const std::string& node_name, const std::string& level,
          const std::string& file) {
  auto& s = global();
  std::lock_guard<std::mutex> guard{s.mtx};
  s.sinks.clear();
  s.sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (!file.empty())
    s.sinks.push_back(
        std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, false));
  s.level = spdlog::level::from_str(level);
  s.pattern = "[%Y-%m-%d %H:%M:%S.%e] [" + node_name + "] [%n] [%l] %v";
  spdlog::drop_all();
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  auto& s = global();
  std::lock_guard<std::mutex> guard{s.mtx};
  if (auto existing = spdlog::get(component)) return existing;
  ensure_sinks(s);
  auto lg = std::make_shared<spdlog::logger>(component, s.sinks.begin(),
                                             s.sinks.end());
  lg->set_level(s.level);
  lg->set_pattern(s.pattern);
  lg->flush_on(spdlog::level::info);
  spdlog::register_logger(lg);
  return lg;
}

} // namespace troupe::log
