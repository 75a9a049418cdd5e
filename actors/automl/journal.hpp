#pragma once

// The study journal: every study's spec and every trial's configuration,
// results and state changes, appended to LMDB in transactions. A study
// survives a kill -9 of its process: replay() rebuilds every trial from the
// events committed before the crash.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/automl/types.hpp"
#include "runtime/envelope.hpp"

namespace troupe::automl {

/// What can happen to a trial (mirrors schema::TrialEvent::Kind).
enum class event_kind : uint16_t {
  created,
  started,
  reported,
  paused,
  completed,
  pruned,
  failed,
  requeued,
};

/// One journal entry.
struct trial_event {
  trial_id trial = 0;
  event_kind kind = event_kind::created;
  config params;       ///< created
  uint64_t step = 0;   ///< reported
  double value = 0;    ///< reported, completed
  std::string node;    ///< started
  int64_t at_ms = 0;   ///< wall-clock ms
  std::string message; ///< failed, pruned, requeued
  /// Multi-objective studies: the secondary objectives at `step`
  /// (reported) or of the final value (completed).
  std::vector<double> objectives;
};

/// Trials rebuilt from a study's events.
struct replayed_study {
  std::map<trial_id, trial_record> trials;
  /// Trials that were running when the journal ends: the study re-queues
  /// them (once) when it resumes.
  std::vector<trial_id> interrupted;
  /// The next free trial id.
  trial_id next_trial = 0;
  /// Events read.
  uint64_t events = 0;
};

/// Applies one event to a set of trial records (used by replay and by
/// studies that keep their state in memory the same way).
void apply_event(std::map<trial_id, trial_record>& trials,
                 const trial_event& ev);

/// A study journal in one LMDB environment.
class study_journal {
public:
  /// Opens (creating) the journal in `dir`. `durable` syncs every commit.
  static caf::expected<std::unique_ptr<study_journal>>
  open(const std::string& dir, bool durable = true);

  ~study_journal();

  /// Records a new study; an existing id is an error.
  caf::expected<void> create(const std::string& study, const envelope& spec);

  /// The spec (a schema::StudySpec envelope) of a study.
  caf::expected<envelope> spec(const std::string& study);

  /// Every study id, sorted.
  caf::expected<std::vector<std::string>> studies();

  /// Appends events in one transaction: all or none are stored.
  caf::expected<void> append(const std::string& study,
                             const std::vector<trial_event>& events);

  /// Every event of a study, in order.
  caf::expected<std::vector<trial_event>> events(const std::string& study);

  /// Rebuilds the study's trials from its events.
  caf::expected<replayed_study> replay(const std::string& study);

  /// Records what a finished study learned, for the warm starts of later
  /// studies (JSON text, see warm_start.hpp); replaces the study's earlier
  /// record. Safe beside appends from other threads.
  caf::expected<void> record_meta(const std::string& study,
                                  const std::string& text);

  /// Every study's meta record as (study, text), sorted by study.
  caf::expected<std::vector<std::pair<std::string, std::string>>> metas();

private:
  struct impl;
  explicit study_journal(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::automl
