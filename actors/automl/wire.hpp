#pragma once

// Conversions between AutoML values and their Cap'n Proto form
// (schemas/automl.capnp), shared by the journal and the actors.

#include <string>
#include <variant>
#include <vector>

#include "actors/automl/types.hpp"
#include "schemas/automl.capnp.h"

namespace troupe::automl {

/// The nodes of a study's gang as the service hands it over: `text` names
/// every slot's node, comma-separated (node names hold no comma); empty
/// for a single slot, which is `first`'s.
inline std::vector<std::string> gang_nodes(const std::string& first,
                                           const std::string& text) {
  if (text.empty()) return {first};
  std::vector<std::string> out;
  for (size_t at = 0;;) {
    auto comma = text.find(',', at);
    out.push_back(text.substr(at, comma == std::string::npos ? std::string::npos
                                                             : comma - at));
    if (comma == std::string::npos) return out;
    at = comma + 1;
  }
}

/// A trial's state on the wire (TrialRow.trialState).
inline schema::TrialState to_schema(trial_state x) {
  switch (x) {
  case trial_state::pending:
    return schema::TrialState::PENDING;
  case trial_state::running:
    return schema::TrialState::RUNNING;
  case trial_state::paused:
    return schema::TrialState::PAUSED;
  case trial_state::complete:
    return schema::TrialState::COMPLETE;
  case trial_state::pruned:
    return schema::TrialState::PRUNED;
  case trial_state::failed:
    return schema::TrialState::FAILED;
  }
  return schema::TrialState::UNKNOWN;
}

/// The text of a study's state, as the deprecated StudyStatus.state field
/// and people show it ("running", ..., "stored"; "" for unknown).
inline std::string to_text(schema::StudyState x) {
  switch (x) {
  case schema::StudyState::UNKNOWN:
    return "";
  case schema::StudyState::RUNNING:
    return "running";
  case schema::StudyState::STOPPING:
    return "stopping";
  case schema::StudyState::REFITTING:
    return "refitting";
  case schema::StudyState::FINISHED:
    return "finished";
  case schema::StudyState::FAILED:
    return "failed";
  case schema::StudyState::STORED:
    return "stored";
  }
  return "";
}

/// The text of a trial's state on the wire ("" for unknown).
inline std::string to_text(schema::TrialState x) {
  switch (x) {
  case schema::TrialState::UNKNOWN:
    return "";
  case schema::TrialState::PENDING:
    return "pending";
  case schema::TrialState::RUNNING:
    return "running";
  case schema::TrialState::PAUSED:
    return "paused";
  case schema::TrialState::COMPLETE:
    return "complete";
  case schema::TrialState::PRUNED:
    return "pruned";
  case schema::TrialState::FAILED:
    return "failed";
  }
  return "";
}

/// A StudyStatus's state: the enum, or the deprecated text from a writer
/// older than the enum.
template <class StatusReader>
std::string state_of(StatusReader s) {
  auto x = s.getStudyState();
  return x != schema::StudyState::UNKNOWN ? to_text(x)
                                          : std::string{s.getState().cStr()};
}

/// A TrialRow's state, the same way.
template <class RowReader>
std::string trial_state_of(RowReader r) {
  auto x = r.getTrialState();
  return x != schema::TrialState::UNKNOWN ? to_text(x)
                                          : std::string{r.getState().cStr()};
}

/// Writes `cfg` into a List(ParamValue) builder of size cfg.size().
template <class ListBuilder>
void write_params(ListBuilder list, const config& cfg) {
  unsigned i = 0;
  for (auto& [name, v] : cfg) {
    auto p = list[i++];
    p.setName(name);
    if (auto* d = std::get_if<double>(&v))
      p.setReal(*d);
    else if (auto* n = std::get_if<int64_t>(&v))
      p.setInteger(*n);
    else
      p.setCategory(std::get<std::string>(v));
  }
}

/// Reads a List(ParamValue).
template <class ListReader>
config read_params(ListReader list) {
  config cfg;
  for (auto p : list) {
    switch (p.which()) {
    case schema::ParamValue::REAL:
      cfg[p.getName()] = p.getReal();
      break;
    case schema::ParamValue::INTEGER:
      cfg[p.getName()] = p.getInteger();
      break;
    case schema::ParamValue::CATEGORY:
      cfg[p.getName()] = std::string{p.getCategory().cStr()};
      break;
    }
  }
  return cfg;
}

} // namespace troupe::automl
