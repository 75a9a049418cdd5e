#include "runtime/directory_table.hpp"

#include <algorithm>
#include <cctype>

#include "runtime/errors.hpp"

namespace troupe {

bool secrets_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  auto n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
           c == '_' || c == '-';
  });
}

caf::expected<std::vector<directory_change>>
directory_table::join(const join_request& req, caf::actor agent,
                      wall_clock::time_point now) {
  if (!req.is_head && (secret_.empty() || !secrets_equal(req.secret, secret_)))
    return make_error(errc::unauthorized,
                      "node '" + req.name + "' from " + req.host + " (pid " +
                          std::to_string(req.pid) +
                          ") presented a wrong or missing cluster secret");
  if (!valid_name(req.name))
    return make_error(errc::invalid_argument,
                      "node name '" + req.name +
                          "' is invalid: use 1-64 characters from "
                          "[A-Za-z0-9._-]");
  std::vector<directory_change> changes;
  if (auto i = nodes_.find(req.name); i != nodes_.end()) {
    if (i->second.is_head && !req.is_head)
      return make_error(errc::already_exists,
                        "node name '" + req.name + "' is the head's");
    changes = drop(i, "replaced by a new incarnation");
  }
  node_record rec;
  rec.name = req.name;
  rec.host = req.host;
  rec.pid = req.pid;
  rec.slots = req.slots;
  rec.free_slots = req.slots;
  rec.labels = req.labels;
  rec.last_seen = now;
  rec.joined = now;
  rec.is_head = req.is_head;
  rec.incarnation = next_incarnation_++;
  rec.agent = std::move(agent);
  changes.push_back({directory_change::node_joined, rec, {}, "joined"});
  nodes_.emplace(rec.name, std::move(rec));
  return changes;
}

bool directory_table::heartbeat(const std::string& name, uint64_t incarnation,
                                uint32_t free_slots,
                                wall_clock::time_point now) {
  auto i = nodes_.find(name);
  if (i == nodes_.end() || i->second.incarnation != incarnation) return false;
  i->second.last_seen = now;
  i->second.free_slots = std::min(free_slots, i->second.slots);
  return true;
}

std::vector<directory_change>
directory_table::expire(wall_clock::time_point now,
                        std::chrono::milliseconds timeout) {
  std::vector<directory_change> changes;
  for (auto i = nodes_.begin(); i != nodes_.end();) {
    auto next = std::next(i);
    if (!i->second.is_head && now - i->second.last_seen > timeout) {
      auto more = drop(i, "no heartbeat for " +
                              std::to_string(timeout.count()) + " ms");
      changes.insert(changes.end(), more.begin(), more.end());
    }
    i = next;
  }
  return changes;
}

std::vector<directory_change>
directory_table::remove_agent(const caf::actor_addr& agent,
                              const std::string& reason) {
  for (auto i = nodes_.begin(); i != nodes_.end(); ++i)
    if (i->second.agent && i->second.agent.address() == agent)
      return drop(i, reason);
  return {};
}

std::vector<directory_change>
directory_table::remove_node(const std::string& name,
                             const std::string& reason) {
  auto i = nodes_.find(name);
  if (i == nodes_.end()) return {};
  return drop(i, reason);
}

std::vector<directory_change>
directory_table::drop(std::map<std::string, node_record>::iterator i,
                      const std::string& reason) {
  std::vector<directory_change> changes;
  const auto& node = i->first;
  for (auto j = actors_.begin(); j != actors_.end();) {
    if (j->second.node == node) {
      changes.push_back({directory_change::actor_removed,
                         {},
                         j->second,
                         "its node " + node + " left: " + reason});
      j = actors_.erase(j);
    } else {
      ++j;
    }
  }
  changes.push_back({directory_change::node_left, i->second, {}, reason});
  nodes_.erase(i);
  return changes;
}

caf::expected<directory_change> directory_table::add_actor(actor_record rec) {
  if (!valid_name(rec.name))
    return make_error(errc::invalid_argument,
                      "actor name '" + rec.name +
                          "' is invalid: use 1-64 characters from "
                          "[A-Za-z0-9._-]");
  if (actors_.count(rec.name) > 0)
    return make_error(errc::already_exists,
                      "an actor named '" + rec.name + "' is registered");
  if (nodes_.count(rec.node) == 0)
    return make_error(errc::not_found, "node '" + rec.node + "' of actor '" +
                                           rec.name + "' is not a member");
  directory_change change{
      directory_change::actor_registered, {}, rec, "spawned"};
  actors_.emplace(rec.name, std::move(rec));
  return change;
}

std::optional<directory_change>
directory_table::remove_actor(const std::string& name,
                              const std::string& reason) {
  auto i = actors_.find(name);
  if (i == actors_.end()) return std::nullopt;
  directory_change change{
      directory_change::actor_removed, {}, i->second, reason};
  actors_.erase(i);
  return change;
}

std::optional<directory_change>
directory_table::remove_actor(const caf::actor_addr& addr,
                              const std::string& reason) {
  for (auto& [name, rec] : actors_)
    if (rec.handle && rec.handle.address() == addr)
      return remove_actor(std::string{name}, reason);
  return std::nullopt;
}

std::string directory_table::fresh_name(const std::string& kind) {
  for (;;) {
    auto candidate = kind + "-" + std::to_string(++name_counters_[kind]);
    if (actors_.count(candidate) == 0) return candidate;
  }
}

caf::expected<std::vector<const node_record*>>
directory_table::place(const std::string& where) const {
  std::vector<const node_record*> out;
  if (where == "every") {
    for (auto& [name, rec] : nodes_)
      out.push_back(&rec);
    if (out.empty())
      return make_error(errc::no_capacity, "placement 'every': no nodes");
    return out;
  }
  if (where == "head") {
    for (auto& [name, rec] : nodes_)
      if (rec.is_head) return std::vector<const node_record*>{&rec};
    return make_error(errc::not_found, "placement 'head': no head registered");
  }
  if (where.empty() || where == "any") {
    const node_record* best = nullptr;
    for (auto& [name, rec] : nodes_)
      if (rec.free_slots > 0 && (!best || rec.free_slots > best->free_slots))
        best = &rec;
    if (!best)
      return make_error(errc::no_capacity,
                        "placement 'any': no node has a free slot (" +
                            std::to_string(nodes_.size()) + " nodes)");
    return std::vector<const node_record*>{best};
  }
  auto i = nodes_.find(where);
  if (i == nodes_.end())
    return make_error(errc::not_found,
                      "placement: no node named '" + where + "'");
  return std::vector<const node_record*>{&i->second};
}

bool directory_table::is_member(const caf::node_id& nid) const {
  for (auto& [name, rec] : nodes_)
    if (rec.agent && rec.agent.node() == nid) return true;
  return false;
}

const node_record* directory_table::find_node(const std::string& name) const {
  auto i = nodes_.find(name);
  return i == nodes_.end() ? nullptr : &i->second;
}

const actor_record* directory_table::find_actor(const std::string& name) const {
  auto i = actors_.find(name);
  return i == actors_.end() ? nullptr : &i->second;
}

void directory_table::set_free_slots(const std::string& node,
                                     uint32_t free_slots) {
  if (auto i = nodes_.find(node); i != nodes_.end())
    i->second.free_slots = std::min(free_slots, i->second.slots);
}

} // namespace troupe
