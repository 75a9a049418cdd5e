#include "actors/graph/shard_file.hpp"

#include <cstring>
#include <fstream>

#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::graph {

namespace {

constexpr char magic[8] = {'T', 'R', 'P', 'G', 'S', 'H', 'D', '1'};
constexpr uint32_t layout_version = 1;

struct header {
  char magic[8];
  uint32_t version;
  uint32_t partition;
  uint32_t begin;
  uint32_t end;
  uint64_t halo;
  uint64_t edges;
  uint32_t dims;
  uint32_t reserved;
};
static_assert(sizeof(header) == 48);

caf::error bad(const std::string& path, const std::string& what) {
  return make_error(errc::invalid_argument,
                    path + ": not a usable graph shard file: " + what);
}

template <class T>
bool put(std::ofstream& out, const std::vector<T>& v) {
  return static_cast<bool>(
      out.write(reinterpret_cast<const char*>(v.data()),
                static_cast<std::streamsize>(v.size() * sizeof(T))));
}

template <class T>
bool get(std::ifstream& in, std::vector<T>& v, uint64_t n) {
  v.resize(n);
  return static_cast<bool>(
      in.read(reinterpret_cast<char*>(v.data()),
              static_cast<std::streamsize>(n * sizeof(T))));
}

} // namespace

caf::error write_graph_shard(const std::string& path, const graph_shard& s) {
  auto& v = s.view;
  uint64_t owned = v.owned();
  if (s.features.size() != owned * s.dims || s.labels.size() != owned)
    return make_error(errc::invalid_argument,
                      "graph shard " + std::to_string(v.partition) + ": " +
                          std::to_string(s.features.size()) + " feature " +
                          "values and " + std::to_string(s.labels.size()) +
                          " labels for " + std::to_string(owned) +
                          " nodes of " + std::to_string(s.dims) + " dims");
  if (v.offsets.size() != owned + 1 || v.offsets.back() != v.neighbours.size())
    return make_error(errc::invalid_argument,
                      "graph shard " + std::to_string(v.partition) +
                          ": its offsets do not match its nodes and edges");
  header h{};
  std::memcpy(h.magic, magic, sizeof magic);
  h.version = layout_version;
  h.partition = v.partition;
  h.begin = v.begin;
  h.end = v.end;
  h.halo = v.halo.size();
  h.edges = v.neighbours.size();
  h.dims = s.dims;
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  if (!out) return io_error("create", path);
  out.write(reinterpret_cast<const char*>(&h), sizeof h);
  if (!out || !put(out, v.halo) || !put(out, v.offsets) ||
      !put(out, v.neighbours) || !put(out, s.features) || !put(out, s.labels) ||
      !out.flush())
    return io_error("write", path);
  return caf::none;
}

caf::expected<graph_shard> read_graph_shard(const std::string& path) {
  std::ifstream in{path, std::ios::binary | std::ios::ate};
  if (!in) return io_error("open", path);
  auto size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  header h{};
  if (size < sizeof h || !in.read(reinterpret_cast<char*>(&h), sizeof h) ||
      std::memcmp(h.magic, magic, sizeof magic) != 0)
    return bad(path, "no TRPGSHD1 header");
  if (h.version != layout_version)
    return bad(path, "layout version " + std::to_string(h.version) +
                         ", this troupe reads " +
                         std::to_string(layout_version));
  if (h.end < h.begin)
    return bad(path, "its owned range ends before it starts");
  uint64_t owned = h.end - h.begin;
  uint64_t want = sizeof h + h.halo * 4 + (owned + 1) * 8 + h.edges * 4 +
                  owned * h.dims * 4 + owned * 4;
  if (size != want)
    return bad(path, std::to_string(size) + " bytes where its header says " +
                         std::to_string(want));
  graph_shard s;
  auto& v = s.view;
  v.partition = h.partition;
  v.begin = h.begin;
  v.end = h.end;
  s.dims = h.dims;
  if (!get(in, v.halo, h.halo) || !get(in, v.offsets, owned + 1) ||
      !get(in, v.neighbours, h.edges) || !get(in, s.features, owned * h.dims) ||
      !get(in, s.labels, owned))
    return io_error("read", path);
  if (v.offsets.front() != 0 || v.offsets.back() != h.edges)
    return bad(path, "its offsets do not span its edges");
  for (uint64_t i = 0; i < owned; ++i)
    if (v.offsets[i] > v.offsets[i + 1])
      return bad(path,
                 "its offsets go down at node " + std::to_string(h.begin + i));
  uint64_t locals = owned + h.halo;
  for (auto n : v.neighbours)
    if (n >= locals)
      return bad(path, "a neighbour's local ID " + std::to_string(n) +
                           " is past its " + std::to_string(locals) + " nodes");
  return s;
}

caf::expected<graph_shard> graph_shard_of(const csr_graph& g,
                                          const partition_map& map, uint32_t p,
                                          const std::vector<float>& features,
                                          uint32_t dims,
                                          const std::vector<uint32_t>& labels) {
  if (features.size() != static_cast<size_t>(g.nodes) * dims ||
      labels.size() != g.nodes)
    return make_error(errc::invalid_argument,
                      "graph shard " + std::to_string(p) + ": " +
                          std::to_string(features.size()) +
                          " feature values "
                          "and " +
                          std::to_string(labels.size()) +
                          " labels "
                          "for a graph of " +
                          std::to_string(g.nodes) + " nodes of " +
                          std::to_string(dims) + " dims");
  auto view = shard_of(g, map, p);
  if (!view) return view.error();
  graph_shard s;
  s.view = std::move(*view);
  s.dims = dims;
  s.features.assign(features.begin() + static_cast<std::ptrdiff_t>(
                                           size_t{s.view.begin} * dims),
                    features.begin() +
                        static_cast<std::ptrdiff_t>(size_t{s.view.end} * dims));
  s.labels.assign(labels.begin() + s.view.begin, labels.begin() + s.view.end);
  return s;
}

} // namespace troupe::graph
