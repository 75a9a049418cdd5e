#pragma once

// A connection whose reads go through a buffer in user space and whose small
// writes are gathered into one.
//
// Reads: Cap'n Proto reads each message as two reads (its segment table,
// then its segments), and an RPC call is two messages on the server (the
// call and its Finish), so a plain socket costs four read() calls per call.
// Through this wrapper one read() takes whatever the kernel holds (up to the
// buffer's size) and the message reader is served from memory. Reads at
// least as large as the buffer go straight into the caller's memory.
//
// Writes: Cap'n Proto writes one message at a time and starts the next only
// when the last is written, so a client that drops an answer (its Finish)
// and makes the next call writes twice, and the server wakes twice. Here a
// write smaller than `direct_bytes` is copied into a pending buffer and
// completes at once; the buffer goes to the socket in one write when the
// event loop has nothing else queued (kj::evalLast), so the messages of one
// turn leave together. A write at least `direct_bytes` long, with nothing
// pending, goes straight through. Past `max_pending` bytes a write completes
// only when the earlier data is written (back-pressure). A failed flush
// fails every later write; shutdownWrite() waits for the pending data.
// Socket options pass through unchanged.

#include <cstddef>

#include <kj/async-io.h>

namespace troupe {

/// How `buffered` buffers.
struct buffer_sizes {
  size_t read = 64 * 1024;         ///< read buffer
  size_t direct_bytes = 16 * 1024; ///< writes this large skip the buffer
  size_t max_pending = 1 << 20;    ///< pending bytes before back-pressure
};

/// `inner`, with its reads buffered and its small writes gathered.
kj::Own<kj::AsyncIoStream> buffered(kj::Own<kj::AsyncIoStream> inner,
                                    buffer_sizes sizes = {});

} // namespace troupe
