#pragma once

// The demo: "primes" actors counting primes in ranges sent through the RPC
// gateway, over an embedded cluster.

#include <cstdint>

#include <caf/actor_system_config.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/demo/atoms.hpp"
#include "runtime/envelope.hpp"
#include "runtime/worker.hpp"

namespace troupe::demo {

/// The protocol of a "primes" actor (kind "primes", one per node in the
/// demo).
using primes_actor = caf::typed_actor<
    /// (call_atom, envelope PrimeRange) -> envelope PrimeCount: counts the
    /// primes in [lo, hi) and says who counted them, where and how long it
    /// took; troupe::errc::invalid_argument when the range is reversed or
    /// wider than 1e8.
    caf::replies_to<call_atom,
                    envelope>::with<envelope>>::extend_with<stats_actor>;

/// Counts primes in [lo, hi) by trial division: the demo's unit of work.
uint64_t count_primes(uint64_t lo, uint64_t hi);

/// Registers the "primes" actor kind (primes_actor).
void register_kinds(caf::actor_system_config& cfg);

/// Runs the embedded demo: a head and `nodes - 1` workers in this process,
/// joined over loopback; one "primes" actor per node; `tasks` ranges sent
/// through the RPC gateway; prints what came back. Returns an exit code.
int run_demo(size_t nodes, size_t tasks);

} // namespace troupe::demo
