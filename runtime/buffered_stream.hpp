#pragma once

// A connection whose reads go through a buffer in user space.
//
// Cap'n Proto reads each message as two reads (its segment table, then its
// segments), and an RPC call is two messages on the server (the call and its
// Finish), so a plain socket costs four read() calls per call. Through this
// wrapper one read() takes whatever the kernel holds (up to the buffer's
// size) and the message reader is served from memory. Reads at least as
// large as the buffer go straight into the caller's memory. Writes and
// socket options pass through unchanged.

#include <cstddef>

#include <kj/async-io.h>

namespace troupe {

/// `inner`, with its reads buffered in `capacity` bytes.
kj::Own<kj::AsyncIoStream> buffered(kj::Own<kj::AsyncIoStream> inner,
                                    size_t capacity = 64 * 1024);

} // namespace troupe
