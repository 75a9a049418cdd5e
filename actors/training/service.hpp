#pragma once

// training.service: one per cluster, on the head, registered as "training";
// its config is the head's data directory (the job journal lives in
// DIR/jobs; a job writes to DIR/JOB unless its submit names an out dir). It
// checks each submitted job's config, records it in the journal, starts a
// coordinator for it (job.hpp), resumes a journal's job from its last
// checkpoint, and answers for its jobs over RPC
// (`send training submit|status|list|stop|resume`) and to the shell.

#include <caf/actor_system_config.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/training/atoms.hpp"
#include "runtime/envelope.hpp"
#include "runtime/worker.hpp"

namespace troupe::training {

using service_actor = caf::typed_actor<
    /// (submit_atom, JobSubmit) -> JobStatus: the job starts. Refused: a
    /// config that does not parse (named with its file, line and key), an
    /// id already used.
    caf::replies_to<submit_atom, envelope>::with<envelope>,
    /// (status_atom, JobRef) -> JobStatus; an unknown id is named.
    caf::replies_to<status_atom, envelope>::with<envelope>,
    /// (list_atom, any envelope) -> JobList: every job's status.
    caf::replies_to<list_atom, envelope>::with<envelope>,
    /// (stop_atom, JobRef) -> JobStatus: the job stops.
    caf::replies_to<stop_atom, envelope>::with<envelope>,
    /// (resume_atom, JobRef) -> JobStatus: a job of the journal whose
    /// process died starts again from its last checkpoint (refused for a
    /// job running here, or one the journal does not hold).
    caf::replies_to<resume_atom,
                    envelope>::with<envelope>>::extend_with<stats_actor>;

inline constexpr const char* service_kind = "training.service";
inline constexpr const char* service_name = "training";

/// Registers training.service, training.worker and training.ps_shard, and
/// the family's messages.
void register_kinds(caf::actor_system_config& cfg);

} // namespace troupe::training
