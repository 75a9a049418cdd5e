#pragma once

// The atoms of the training family, one message each (the protocols that
// use them are declared in ps_shard.hpp and ps_worker.hpp).

#include <caf/atom.hpp>

namespace troupe::training {

// a parameter-server shard (ps_shard.hpp)
using ps_pull_atom = caf::atom_constant<caf::atom("pspull")>;
using ps_push_atom = caf::atom_constant<caf::atom("pspush")>;
using ps_dump_atom = caf::atom_constant<caf::atom("psdump")>;

// the step gate and the workers (ps_worker.hpp)
using ps_step_atom = caf::atom_constant<caf::atom("psstep")>;
using ps_leave_atom = caf::atom_constant<caf::atom("psleave")>;
using ps_train_atom = caf::atom_constant<caf::atom("pstrain")>;

} // namespace troupe::training
