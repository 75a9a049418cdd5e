// bench_graph_partition: METIS against troupe's streaming partitioner on a
// real graph, Debian's binary-package index (issue 19: "METIS or a
// streaming partitioner for graphs too big for METIS"): the edge cut, the
// largest partition against its share, the halo (the remote nodes a shard
// must know, summed over the shards, as a fraction of the nodes) and the
// time to partition, for --parts (default 2,4,8,16), on one thread.
//
// The graph (actors/graph/debian_packages.hpp): every Packages file apt
// keeps in /var/lib/apt/lists (or the files given with --packages A,B,...),
// packages as nodes and Depends/Pre-Depends/Recommends as edges. METIS:
// 5% slack, seed 1. Streaming: restreaming LDG, 5 passes, 5% slack, over
// the nodes in index order. Each partitioner runs --repeats (default 3)
// times; the time is the median, the cut and halo the same every run
// (both are deterministic).
//
//   bench_graph_partition [--parts 2,4,8,16] [--repeats 3]
//                         [--packages FILE,FILE,...]
// bench-timeout: 600

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/graph/debian_packages.hpp"
#include "actors/graph/halo.hpp"
#include "actors/graph/metis.hpp"
#include "actors/graph/partition.hpp"
#include "runtime/errors.hpp"
#include "tests/bench/bench_common.hpp"
#include "tests/bench/bench_process.hpp"

using namespace troupe;
using namespace troupe::bench;
using namespace troupe::graph;

namespace {

struct quality {
  double cut = 0, balance = 0, halo = 0;
};

quality measure(const csr_graph& g, const std::vector<uint32_t>& part,
                uint32_t parts) {
  quality q;
  q.cut = edge_cut(g, part);
  std::vector<uint64_t> sizes(parts, 0);
  for (auto p : part)
    ++sizes[p];
  q.balance =
      static_cast<double>(*std::max_element(sizes.begin(), sizes.end())) /
      (static_cast<double>(g.nodes) / parts);
  auto r = renumber(part, parts);
  if (!r) fail(describe(r.error()));
  auto h = relabel(g, r->new_id);
  uint64_t halo = 0;
  for (uint32_t p = 0; p < parts; ++p) {
    auto s = shard_of(h, r->map, p);
    if (!s) fail(describe(s.error()));
    halo += s->halo.size();
  }
  q.halo = static_cast<double>(halo) / g.nodes;
  return q;
}

} // namespace

int main(int argc, char** argv) {
  program_name = "bench_graph_partition";
  auto parts_list = arg_list(argc, argv, "--parts", "2,4,8,16");
  int repeats = static_cast<int>(arg_or(argc, argv, "--repeats", 3));
  auto files = arg_list(argc, argv, "--packages");
  if (files.empty()) files = apt_package_files();
  if (files.empty())
    fail("no Packages files in /var/lib/apt/lists (run apt-get update, or "
         "give --packages)");
  auto t0 = clock_type::now();
  auto l = debian_package_graph(files);
  if (!l) fail(describe(l.error()));
  auto read_s = seconds_since(t0);
  auto& g = l->graph;
  progress("package graph: %u nodes, %llu edges, %zu labels (%.2f s)", g.nodes,
           static_cast<unsigned long long>(g.edges()), l->label_names.size(),
           read_s);
  nlohmann::json out{{"bench", "bench_graph_partition"},
                     {"nodes", g.nodes},
                     {"edges", g.edges()},
                     {"labels", l->label_names.size()},
                     {"sources", files},
                     {"repeats", repeats}};
  for (auto& ptext : parts_list) {
    auto parts = static_cast<uint32_t>(std::stoul(ptext));
    std::vector<double> metis_s, stream_s;
    std::vector<uint32_t> metis_part, stream_part;
    for (int r = 0; r < repeats; ++r) {
      // alternate which runs first
      for (int side = 0; side < 2; ++side) {
        bool metis = (side == 0) == (r % 2 == 0);
        auto t = clock_type::now();
        if (metis) {
          metis_options o;
          o.parts = parts;
          auto p = metis_partition(g, o);
          if (!p) fail(describe(p.error()));
          metis_s.push_back(seconds_since(t));
          metis_part = std::move(*p);
        } else {
          stream_options o;
          o.parts = parts;
          auto p = stream_partition(g, o);
          if (!p) fail(describe(p.error()));
          stream_s.push_back(seconds_since(t));
          stream_part = std::move(*p);
        }
      }
    }
    auto m = measure(g, metis_part, parts);
    auto s = measure(g, stream_part, parts);
    std::printf("bench_graph_partition: %u parts: METIS cut %.4f, largest "
                "%.3fx its share, halo %.3f of the nodes, %.3f s; streaming "
                "(5 passes) cut %.4f, largest %.3fx, halo %.3f, %.3f s\n",
                parts, m.cut, m.balance, m.halo, median(metis_s), s.cut,
                s.balance, s.halo, median(stream_s));
    out[ptext + "_parts"] = {{"metis",
                              {{"cut", m.cut},
                               {"balance", m.balance},
                               {"halo", m.halo},
                               {"seconds", metis_s}}},
                             {"streaming",
                              {{"cut", s.cut},
                               {"balance", s.balance},
                               {"halo", s.halo},
                               {"seconds", stream_s}}}};
  }
  out["nproc"] = nproc();
  out["cpu"] = cpu_model();
  out["date"] = utc_now();
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
