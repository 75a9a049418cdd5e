#include "actors/graph/debian_packages.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <unordered_map>

#include <sys/wait.h>

#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::graph {

namespace {

bool compressed(const std::string& path) {
  for (auto* ext : {".lz4", ".gz", ".xz", ".zst", ".bz2"}) {
    std::string_view e{ext};
    if (path.size() > e.size() &&
        path.compare(path.size() - e.size(), e.size(), e) == 0)
      return true;
  }
  return false;
}

/// A compressed index, through apt's own decompressors.
caf::expected<std::string> cat_compressed(const std::string& path) {
  std::string quoted = "'";
  for (char c : path)
    quoted += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  quoted += "'";
  auto cmd = "/usr/lib/apt/apt-helper cat-file " + quoted + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return io_error("decompress", path);
  std::string out;
  char buf[1 << 16];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
    out.append(buf, n);
  int st = ::pclose(p);
  if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return make_error(errc::invalid_argument,
                      "cannot decompress '" + path +
                          "' with apt-helper cat-file (is it a Packages "
                          "file apt can read?)");
  return out;
}

/// `s` without the blanks around it (a folded field's line breaks too).
std::string_view trim(std::string_view s) {
  auto blank = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  };
  while (!s.empty() && blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && blank(s.back()))
    s.remove_suffix(1);
  return s;
}

/// One stanza's fields that make the graph.
struct stanza {
  std::string_view package, section;
  std::vector<std::string_view> relations; // Depends, Pre-Depends, Recommends
};

/// The package name an alternative names: "libc6 (>= 2.34)", "perl:any",
/// "foo [amd64] <!nocheck>" give libc6, perl, foo.
std::string_view name_of(std::string_view alt) {
  alt = trim(alt);
  auto end = alt.find_first_of(" \t\r\n(:[<");
  return alt.substr(0, end);
}

/// Calls `each` with every stanza of `text`.
template <class F>
void stanzas(std::string_view text, F&& each) {
  stanza s;
  std::string_view* last = nullptr; // the field a continuation line extends
  auto flush = [&] {
    if (!s.package.empty()) each(s);
    s = stanza{};
    last = nullptr;
  };
  for (size_t at = 0; at < text.size();) {
    auto nl = std::min(text.find('\n', at), text.size());
    auto line = text.substr(at, nl - at);
    at = nl + 1;
    if (trim(line).empty()) {
      flush();
    } else if (line.front() == ' ' || line.front() == '\t') {
      // a folded field goes on (only relations are kept): the view grows
      // over the line break to the line's end
      if (last != nullptr)
        *last = std::string_view{
            last->data(),
            static_cast<size_t>(line.data() + line.size() - last->data())};
    } else {
      auto colon = line.find(':');
      auto key = line.substr(0, colon);
      auto value = colon == std::string_view::npos
                       ? std::string_view{}
                       : trim(line.substr(colon + 1));
      last = nullptr;
      if (key == "Package") {
        s.package = value;
      } else if (key == "Section") {
        s.section = value;
      } else if (key == "Depends" || key == "Pre-Depends" ||
                 key == "Recommends") {
        s.relations.push_back(value);
        last = &s.relations.back();
      }
    }
  }
  flush();
}

} // namespace

caf::expected<labeled_graph>
debian_package_graph_of(const std::vector<std::string>& texts,
                        const std::vector<std::string>& sources) {
  labeled_graph out;
  std::unordered_map<std::string, uint32_t> id_of;
  std::unordered_map<std::string, uint32_t> label_of;
  // pass 1: the nodes (every file), so that a relation may name a package
  // listed later
  std::vector<std::vector<std::string>> relations; // per node, raw text
  for (size_t f = 0; f < texts.size(); ++f) {
    size_t found = 0;
    stanzas(texts[f], [&](const stanza& s) {
      ++found;
      std::string name{s.package};
      auto [it, fresh] =
          id_of.emplace(name, static_cast<uint32_t>(out.names.size()));
      if (fresh) {
        out.names.push_back(name);
        auto section = s.section;
        if (auto slash = section.rfind('/'); slash != std::string_view::npos)
          section = section.substr(slash + 1);
        std::string label = section.empty() ? "(none)" : std::string{section};
        auto [lt, new_label] = label_of.emplace(
            label, static_cast<uint32_t>(out.label_names.size()));
        if (new_label) out.label_names.push_back(label);
        out.labels.push_back(lt->second);
        relations.emplace_back();
      }
      for (auto r : s.relations)
        relations[it->second].emplace_back(r);
    });
    if (found == 0)
      return make_error(errc::invalid_argument,
                        "'" + sources[f] +
                            "' holds no package (no 'Package:' stanza): "
                            "not a Debian Packages index");
  }
  if (out.names.size() > UINT32_MAX)
    return make_error(errc::invalid_argument,
                      "more packages than 32-bit node IDs hold");
  // pass 2: the edges, each undirected pair once
  std::vector<edge> edges;
  for (uint32_t v = 0; v < relations.size(); ++v)
    for (auto& field : relations[v]) {
      std::string_view rest{field};
      while (!rest.empty()) {
        auto comma = rest.find(',');
        auto group = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{}
                                               : rest.substr(comma + 1);
        // the first alternative the index holds
        while (!group.empty()) {
          auto bar = group.find('|');
          auto name = name_of(group.substr(0, bar));
          group = bar == std::string_view::npos ? std::string_view{}
                                                : group.substr(bar + 1);
          auto it = id_of.find(std::string{name});
          if (it == id_of.end()) continue;
          ++out.relations;
          if (it->second != v)
            edges.emplace_back(std::min(v, it->second),
                               std::max(v, it->second));
          break;
        }
      }
    }
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  auto g =
      csr_graph::from_edges(static_cast<uint32_t>(out.names.size()), edges);
  if (!g) return g.error();
  out.graph = std::move(*g);
  return out;
}

caf::expected<labeled_graph>
debian_package_graph(const std::vector<std::string>& files) {
  if (files.empty())
    return make_error(errc::invalid_argument,
                      "the package graph needs at least one Packages file");
  std::vector<std::string> texts;
  for (auto& f : files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(f, ec))
      return make_error(errc::not_found, "'" + f + "': no such Packages file");
    auto t = compressed(f) ? cat_compressed(f) : read_file(f);
    if (!t) return t.error();
    texts.push_back(std::move(*t));
  }
  return debian_package_graph_of(texts, files);
}

std::vector<std::string> apt_package_files(const std::string& lists) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(lists, ec))
    if (e.path().filename().string().find("_Packages") != std::string::npos)
      files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

} // namespace troupe::graph
