#pragma once

#include <cstdint>

#include <caf/actor_system_config.hpp>

namespace troupe::demo {

/// Counts primes in [lo, hi) by trial division: the demo's unit of work.
uint64_t count_primes(uint64_t lo, uint64_t hi);

/// Registers the "primes" actor kind:
///   (call_atom, envelope PrimeRange) -> envelope PrimeCount
void register_kinds(caf::actor_system_config& cfg);

/// Runs the embedded demo: a head and `nodes - 1` workers in this process,
/// joined over loopback; one "primes" actor per node; `tasks` ranges sent
/// through the RPC gateway; prints what came back. Returns an exit code.
int run_demo(size_t nodes, size_t tasks);

} // namespace troupe::demo
