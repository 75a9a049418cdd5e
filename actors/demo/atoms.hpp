#pragma once

// The demo family's atoms. The primes actor answers the runtime's call_atom
// (runtime/type_ids.hpp), which the gateway's `send` uses; the demo declares
// no atom of its own.

#include "runtime/type_ids.hpp"
