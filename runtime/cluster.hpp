#pragma once

// The cluster's two actors: the directory (directory.hpp: nodes, actors,
// placement, events) and the node agent (agent.hpp: join, heartbeats,
// spawning on its node). Each header declares its actor's protocol and its
// spawn function.

#include "runtime/agent.hpp"
#include "runtime/directory.hpp"
