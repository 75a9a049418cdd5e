#include "actors/graph/shard_placement.hpp"

#include <caf/all.hpp>

#include "actors/graph/shard_actor.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/errors.hpp"
#include "runtime/type_ids.hpp"

namespace troupe::graph {

caf::expected<std::vector<caf::actor>>
place_shards(caf::actor_system& sys, const caf::actor& directory,
             const std::vector<std::string>& nodes,
             const std::vector<std::string>& files,
             const shard_placement& how) {
  if (nodes.size() != files.size() || nodes.empty())
    return make_error(errc::invalid_argument,
                      std::to_string(files.size()) + " shard files for " +
                          std::to_string(nodes.size()) + " nodes");
  caf::scoped_actor self{sys};
  std::vector<std::string> names;
  std::vector<caf::actor> shards;
  caf::error failed;
  auto stop_all = [&] {
    for (auto& n : names)
      self->request(directory, how.timeout, stop_atom::value, n)
          .receive([] {}, [](caf::error&) {});
  };
  auto where = [&](size_t p) {
    return "graph shard " + std::to_string(p) + " on node '" + nodes[p] + "'";
  };
  for (size_t p = 0; p < nodes.size() && !failed; ++p) {
    auto name = how.prefix + "shard-" + std::to_string(p);
    self->request(directory, how.timeout, caf::spawn_atom::value,
                  std::string{graph_shard_kind}, nodes[p], std::string{}, name)
        .receive([&](const envelope&) { names.push_back(name); },
                 [&](caf::error& err) {
                   failed = make_error(errc::not_found,
                                       where(p) + ": " + describe(err));
                 });
    if (failed) break;
    self->request(directory, how.timeout, lookup_atom::value, name)
        .receive([&](const caf::actor& a) { shards.push_back(a); },
                 [&](caf::error& err) {
                   failed = make_error(errc::not_found,
                                       where(p) + ": " + describe(err));
                 });
  }
  if (failed) {
    stop_all();
    return failed;
  }
  // every shard loads at once; through the caches the head's cache takes
  // each file in first
  dataset_cache_actor cache;
  if (how.through_caches) cache = local_dataset_cache(sys);
  if (how.through_caches && !cache) {
    stop_all();
    return make_error(errc::not_found,
                      "this node runs no dataset cache to ship the shards");
  }
  using handle = decltype(self->request(shards[0], how.timeout,
                                        graph_load_atom::value, std::string{}));
  std::vector<handle> loads;
  for (size_t p = 0; p < shards.size(); ++p) {
    if (!cache) {
      loads.push_back(self->request(shards[p], how.timeout,
                                    graph_load_atom::value, files[p]));
      continue;
    }
    envelope ref;
    self->request(cache, how.timeout, dataset_put_atom::value, files[p])
        .receive([&](const envelope& r) { ref = r; },
                 [&](caf::error& err) {
                   if (!failed) failed = err;
                 });
    if (failed) break;
    loads.push_back(self->request(shards[p], how.timeout,
                                  graph_load_atom::value, ref,
                                  caf::actor_cast<caf::actor>(cache)));
  }
  for (size_t p = 0; p < loads.size(); ++p)
    loads[p].receive([](const envelope&) {},
                     [&](caf::error& err) {
                       if (!failed)
                         failed = make_error(errc::invalid_argument,
                                             where(p) + ": " + describe(err));
                     });
  if (failed) {
    stop_all();
    return failed;
  }
  return shards;
}

} // namespace troupe::graph
