#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/expected.hpp>
#include <caf/node_id.hpp>

namespace troupe {

using wall_clock = std::chrono::system_clock;

/// One member node as the directory keeps it.
struct node_record {
  std::string name;
  std::string host;
  uint32_t pid = 0;
  uint32_t slots = 0;
  uint32_t free_slots = 0;
  std::vector<std::pair<std::string, std::string>> labels;
  wall_clock::time_point last_seen;
  wall_clock::time_point joined;
  bool is_head = false;
  uint64_t incarnation = 0;
  caf::actor agent; ///< the node's agent; the directory monitors it
};

/// One named actor.
struct actor_record {
  std::string name;
  std::string node;
  std::string kind;
  caf::actor handle;
};

/// A change of the directory, for watchers.
struct directory_change {
  enum kind_t { node_joined, node_left, actor_registered, actor_removed };
  kind_t kind;
  node_record node;   ///< for node changes
  actor_record actor; ///< for actor changes
  std::string reason;
};

/// What a join asks for.
struct join_request {
  std::string name;
  std::string secret;
  std::string host;
  uint32_t pid = 0;
  uint32_t slots = 0;
  std::vector<std::pair<std::string, std::string>> labels;
  bool is_head = false;
};

/// The cluster directory as a plain class: membership, named actors and
/// placement, with time passed in. The directory actor adapts messages to it.
class directory_table {
public:
  explicit directory_table(std::string secret) : secret_(std::move(secret)) {}

  /// Admits a node if its secret matches. A name already present is taken
  /// over by the new incarnation (a restarted node rejoins under its name):
  /// the old record and its actors are removed first. Returns the changes, or
  /// an `unauthorized`/`invalid_argument` error.
  caf::expected<std::vector<directory_change>>
  join(const join_request& req, caf::actor agent, wall_clock::time_point now);

  /// Records a heartbeat. False if the node/incarnation is not a member.
  bool heartbeat(const std::string& name, uint64_t incarnation,
                 uint32_t free_slots, wall_clock::time_point now);

  /// Removes every node not seen within `timeout` of `now`.
  std::vector<directory_change> expire(wall_clock::time_point now,
                                       std::chrono::milliseconds timeout);

  /// Removes the node whose agent is `agent` (its connection was lost).
  std::vector<directory_change> remove_agent(const caf::actor_addr& agent,
                                             const std::string& reason);

  /// Removes a node by name.
  std::vector<directory_change> remove_node(const std::string& name,
                                            const std::string& reason);

  /// Registers a named actor; the name must be free and the node a member.
  caf::expected<directory_change> add_actor(actor_record rec);

  /// Removes a named actor, if present.
  std::optional<directory_change> remove_actor(const std::string& name,
                                               const std::string& reason);

  /// Removes the actor whose handle is `addr`, if present.
  std::optional<directory_change> remove_actor(const caf::actor_addr& addr,
                                               const std::string& reason);

  /// A fresh actor name "<kind>-<n>" not in use.
  std::string fresh_name(const std::string& kind);

  /// Picks nodes for a spawn: a node name, "any"/"" (the node with most free
  /// slots), "head", or "every" (all nodes). Errors name the request.
  caf::expected<std::vector<const node_record*>>
  place(const std::string& where) const;

  /// True if `nid` belongs to a member node (or to the head's own process).
  bool is_member(const caf::node_id& nid) const;

  const node_record* find_node(const std::string& name) const;
  const actor_record* find_actor(const std::string& name) const;
  const std::map<std::string, node_record>& nodes() const { return nodes_; }
  const std::map<std::string, actor_record>& actors() const { return actors_; }

  /// Adjusts a node's free slot count (spawns and exits between heartbeats).
  void set_free_slots(const std::string& node, uint32_t free_slots);

private:
  std::vector<directory_change>
  drop(std::map<std::string, node_record>::iterator i,
       const std::string& reason);

  std::string secret_;
  std::map<std::string, node_record> nodes_;
  std::map<std::string, actor_record> actors_;
  uint64_t next_incarnation_ = 1;
  std::map<std::string, uint64_t> name_counters_;
};

/// Compares two secrets in time independent of where they differ.
bool secrets_equal(const std::string& a, const std::string& b);

/// True if `name` is a valid node or actor name: 1-64 characters from
/// [A-Za-z0-9._-], starting with a letter or digit.
bool valid_name(const std::string& name);

} // namespace troupe
