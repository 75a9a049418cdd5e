#pragma once

// The training service's journal (LMDB, DIR/jobs): each job's submit (its
// config), its last checkpoint with a manifest, written in one transaction
// so that a checkpoint is whole or absent, and its history of events
// (started, checkpoint, lost, finished, ...). A job resumed after its
// process died (`troupe train --resume JOB`) reads its submit and last
// checkpoint back. Plain C++; a transaction begins and ends in one call.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "runtime/envelope.hpp"
#include "runtime/lmdb.hpp"

namespace troupe::training {

class job_journal {
public:
  static caf::expected<std::shared_ptr<job_journal>>
  open(const std::string& dir);

  /// Stores a job's JobSubmit (refused when the id is stored already).
  caf::error add_job(const std::string& id, const envelope& submit);
  /// The stored JobSubmit of `id`; not_found names it.
  caf::expected<envelope> job(const std::string& id);
  /// Every stored job id.
  caf::expected<std::vector<std::string>> ids();

  /// Replaces the job's checkpoint (a JobCheckpoint) and its manifest, and
  /// appends a checkpoint event, in one transaction.
  caf::error put_checkpoint(const std::string& id, const envelope& ckpt,
                            uint64_t step, uint32_t attempt, int64_t at_ms);
  /// The last checkpoint, if any.
  caf::expected<std::optional<envelope>> checkpoint(const std::string& id);

  /// Appends a JobEvent.
  caf::error add_event(const std::string& id, const envelope& event);
  /// The job's JobEvents, oldest first.
  caf::expected<std::vector<envelope>> events(const std::string& id);

private:
  job_journal() = default;
  caf::error append_event(lmdb::txn& t, const std::string& id,
                          const envelope& event);

  std::unique_ptr<lmdb::env> env_;
  MDB_dbi db_ = 0;
};

} // namespace troupe::training
