#pragma once

// Finding and opening a shared-library plugin. LibTorch lives in plugins
// (libtroupe_torch.so, libtroupe_nas.so) so that the troupe binary does not
// link it; each loader names its library, its environment variable and its
// symbols, and this file does the rest the same way for all of them.

#include <functional>
#include <string>
#include <vector>

namespace troupe {

/// Where plugin `file` may be, in order: the path in environment variable
/// `env` (when set and not empty), `file` beside the running binary, then
/// `build_path` (when not empty: the build tree, for tests and benchmarks).
std::vector<std::string> plugin_candidates(const char* env,
                                           const std::string& file,
                                           const std::string& build_path);

/// Tries `candidates` in order: a missing file, a library dlopen() refuses
/// or one that `bind` refuses (bind reads its symbols and checks its
/// interface version; it returns "" to accept, or why not) is noted in
/// `tried` ("\n  PATH: why", one line each) and the next one tried. Returns
/// whether one was bound. Libraries are never dlclose()d: LibTorch does not
/// unload cleanly.
bool open_plugin(const std::vector<std::string>& candidates,
                 const std::function<std::string(void* lib)>& bind,
                 std::string& tried);

/// Symbol `name` of an opened plugin, as function pointer `fn`; whether it
/// is there.
template <class Fn>
bool plugin_symbol(void* lib, Fn& fn, const char* name);

/// The untyped lookup behind plugin_symbol.
void* plugin_address(void* lib, const char* name);

template <class Fn>
bool plugin_symbol(void* lib, Fn& fn, const char* name) {
  fn = reinterpret_cast<Fn>(plugin_address(lib, name));
  return fn != nullptr;
}

} // namespace troupe
