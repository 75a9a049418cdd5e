#pragma once

// The Redis serialization protocol (RESP2) as a feature-read endpoint
// speaks it, so that any Redis client reads troupe's feature shards:
// commands parsed from a connection's bytes as they arrive (an array of
// bulk strings, as clients send, or an inline command, as a person types
// into telnet), and replies written into an output buffer. Incremental:
// a command cut anywhere reads as incomplete until its last byte is in,
// and several commands in one read (pipelining) are taken one by one.
// Every limit a client could push past (a bulk string's length, a
// command's arguments, an inline line's length) is checked before memory
// is reserved for it. Plain C++, no CAF.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::features::resp {

struct limits {
  /// The longest bulk string (an argument) accepted.
  size_t max_bulk = size_t{64} << 20;
  /// The most arguments a command may have.
  size_t max_args = size_t{1} << 20;
  /// The longest inline command line, and the longest header line
  /// ("*N", "$N") before its CRLF.
  size_t max_inline = size_t{64} << 10;
};

/// A command as sent: its name, then its arguments.
using command = std::vector<std::string>;

enum class parse_status {
  /// A command was read (possibly empty: "*0" or a blank inline line,
  /// which Redis ignores).
  complete,
  /// More bytes are needed; nothing was consumed.
  incomplete,
  /// The bytes are no RESP request; the connection should get the
  /// message as an error reply and be closed.
  error,
};

struct parse_result {
  parse_status status = parse_status::incomplete;
  /// Bytes the complete command took from the front of the input.
  size_t consumed = 0;
  command cmd;
  /// What was wrong and at which byte of the input.
  std::string error;
};

/// Parses the first command in data[0..size).
parse_result parse_command(const char* data, size_t size, const limits& l = {});

// -- replies (appended to `out`) ---------------------------------------------

/// +text (a status: no CR or LF in it).
void simple(std::string& out, std::string_view text);
/// -text (an error: "ERR ...", "WRONGTYPE ...").
void error(std::string& out, std::string_view text);
/// :value
void integer(std::string& out, int64_t value);
/// $len, the bytes as they are.
void bulk(std::string& out, std::string_view bytes);
/// $-1: no such key.
void null_bulk(std::string& out);
/// *n: n elements follow.
void array_header(std::string& out, size_t n);

} // namespace troupe::features::resp
