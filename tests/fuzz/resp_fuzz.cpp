// Fuzz target: the RESP request parser (actors/features/resp.hpp), fed
// arbitrary bytes as a client would send them, command after command.
// Besides what ASan and UBSan catch, it checks what the server relies on:
// a complete command consumed bytes it was given and respects the limits;
// an error says what went wrong; and no strict prefix of a complete command
// is anything but incomplete (a command split over reads parses the same).

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "actors/features/resp.hpp"

using namespace troupe::features;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "resp_fuzz: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  resp::limits l;
  l.max_bulk = 4096; // small limits, so the fuzzer reaches them
  l.max_args = 64;
  l.max_inline = 512;
  auto* p = reinterpret_cast<const char*>(data);
  size_t at = 0;
  while (at < size) {
    auto r = resp::parse_command(p + at, size - at, l);
    if (r.status == resp::parse_status::incomplete) {
      if (r.consumed != 0) broken("incomplete but consumed bytes");
      break;
    }
    if (r.status == resp::parse_status::error) {
      if (r.error.empty()) broken("an error without a message");
      break;
    }
    if (r.consumed == 0 || r.consumed > size - at)
      broken("a complete command consumed no bytes, or more than given");
    if (r.cmd.size() > l.max_args) broken("more arguments than the limit");
    for (auto& a : r.cmd)
      if (a.size() > l.max_bulk) broken("an argument over the limit");
    for (size_t cut : {r.consumed - 1, r.consumed / 2, size_t{1}}) {
      if (cut >= r.consumed) continue;
      auto q = resp::parse_command(p + at, cut, l);
      if (q.status != resp::parse_status::incomplete)
        broken("a strict prefix of a complete command is not incomplete");
    }
    at += r.consumed;
  }
  return 0;
}
