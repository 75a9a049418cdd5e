#include "runtime/plugin.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace troupe {

namespace fs = std::filesystem;

namespace {

std::string exe_dir() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  buf[n] = '\0';
  return fs::path{buf}.parent_path().string();
}

} // namespace

std::vector<std::string> plugin_candidates(const char* env,
                                           const std::string& file,
                                           const std::string& build_path) {
  std::vector<std::string> out;
  if (auto* value = std::getenv(env); value && *value) out.emplace_back(value);
  if (auto dir = exe_dir(); !dir.empty()) out.push_back(dir + "/" + file);
  if (!build_path.empty()) out.push_back(build_path);
  return out;
}

bool open_plugin(const std::vector<std::string>& candidates,
                 const std::function<std::string(void* lib)>& bind,
                 std::string& tried) {
  for (auto& path : candidates) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      tried += "\n  " + path + ": no such file";
      continue;
    }
    void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      tried += "\n  " + path + ": " + ::dlerror();
      continue;
    }
    if (auto why = bind(lib); !why.empty()) {
      tried += "\n  " + path + ": " + why;
      continue;
    }
    return true;
  }
  return false;
}

void* plugin_address(void* lib, const char* name) {
  return ::dlsym(lib, name);
}

} // namespace troupe
