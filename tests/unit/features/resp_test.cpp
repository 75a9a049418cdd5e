// The RESP wire protocol (actors/features/resp.hpp): commands as clients
// send them (arrays of bulk strings, binary-safe) and as people type them
// (inline, with quotes), read incrementally whatever way the bytes are cut,
// several in one buffer; malformed and oversized requests refused with the
// byte they went wrong at, before anything is reserved for them; replies
// written as Redis writes them.

#include <catch2/catch.hpp>

#include <string>

#include "actors/features/resp.hpp"

using namespace troupe::features;

namespace {

resp::parse_result parse(const std::string& s, const resp::limits& l = {}) {
  return resp::parse_command(s.data(), s.size(), l);
}

} // namespace

TEST_CASE("RESP arrays of bulk strings are read whole, binary-safe", "[resp]") {
  std::string bin{"a\r\nb\0c", 6};
  auto wire = "*3\r\n$3\r\nGET\r\n$7\r\nfoo:bar\r\n$6\r\n" + bin + "\r\n";
  auto r = parse(wire);
  REQUIRE(r.status == resp::parse_status::complete);
  CHECK(r.consumed == wire.size());
  CHECK(r.cmd == resp::command{"GET", "foo:bar", bin});
  // cut anywhere, it is incomplete and consumes nothing
  for (size_t cut = 0; cut < wire.size(); ++cut) {
    auto p = parse(wire.substr(0, cut));
    INFO("cut at " << cut);
    CHECK(p.status == resp::parse_status::incomplete);
    CHECK(p.consumed == 0);
  }
  // an empty array and an empty bulk string
  auto e = parse("*0\r\n");
  CHECK(e.status == resp::parse_status::complete);
  CHECK(e.cmd.empty());
  CHECK(e.consumed == 4);
  auto z = parse("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
  REQUIRE(z.status == resp::parse_status::complete);
  CHECK(z.cmd == resp::command{"ECHO", ""});
}

TEST_CASE("pipelined RESP commands are taken one by one", "[resp]") {
  std::string wire;
  for (int i = 0; i < 1000; ++i)
    wire += "*2\r\n$3\r\nGET\r\n$" + std::to_string(std::to_string(i).size()) +
            "\r\n" + std::to_string(i) + "\r\n";
  wire += "PING\r\n";
  size_t at = 0;
  int seen = 0;
  while (at < wire.size()) {
    auto r = resp::parse_command(wire.data() + at, wire.size() - at);
    REQUIRE(r.status == resp::parse_status::complete);
    if (seen < 1000) {
      CHECK(r.cmd == resp::command{"GET", std::to_string(seen)});
    } else {
      CHECK(r.cmd == resp::command{"PING"});
    }
    at += r.consumed;
    ++seen;
  }
  CHECK(seen == 1001);
}

TEST_CASE("inline commands split as redis-cli's users type them", "[resp]") {
  auto r = parse("GET  user:42\r\n");
  REQUIRE(r.status == resp::parse_status::complete);
  CHECK(r.cmd == resp::command{"GET", "user:42"});
  CHECK(r.consumed == 14);
  auto q = parse("SET \"a b\" 'c d' \"\\x41\\n\" 'it\\'s'\n");
  REQUIRE(q.status == resp::parse_status::complete);
  CHECK(q.cmd == resp::command{"SET", "a b", "c d", "A\n", "it's"});
  auto blank = parse("\r\n");
  CHECK(blank.status == resp::parse_status::complete);
  CHECK(blank.cmd.empty());
  CHECK(parse("PING").status == resp::parse_status::incomplete);
  auto bad = parse("GET \"open\r\n");
  CHECK(bad.status == resp::parse_status::error);
  CHECK_THAT(bad.error, Catch::Contains("unbalanced quotes"));
  CHECK(parse("GET \"a\"b\r\n").status == resp::parse_status::error);
}

TEST_CASE("malformed and oversized RESP requests are refused where they go "
          "wrong, before anything is reserved for them",
          "[resp]") {
  auto not_bulk = parse("*2\r\n$3\r\nGET\r\n:5\r\n");
  REQUIRE(not_bulk.status == resp::parse_status::error);
  CHECK_THAT(not_bulk.error, Catch::Contains("expected '$', got ':'") &&
                                 Catch::Contains("at byte 13"));
  CHECK_THAT(parse("*x\r\n").error,
             Catch::Contains("invalid multibulk length"));
  CHECK_THAT(parse("*1\r\n$-2\r\n").error,
             Catch::Contains("invalid bulk length"));
  CHECK_THAT(parse("*1\r\n$3\r\nabcd\r\n").error,
             Catch::Contains("not ended by CRLF") &&
                 Catch::Contains("at byte 11"));
  CHECK_THAT(parse("*1\r\n$3x\r\nabc\r\n").error,
             Catch::Contains("invalid bulk length"));
  resp::limits small;
  small.max_bulk = 16;
  small.max_args = 4;
  small.max_inline = 32;
  // a 2 GB bulk string is announced, not sent: refused at once
  auto huge = parse("*1\r\n$2000000000\r\n", small);
  REQUIRE(huge.status == resp::parse_status::error);
  CHECK_THAT(huge.error, Catch::Contains("at most 16"));
  CHECK_THAT(parse("*1000000\r\n", small).error,
             Catch::Contains("invalid multibulk length 1000000"));
  // a header or inline line that never ends
  CHECK(parse(std::string(40, '1'), small).status == resp::parse_status::error);
  CHECK(parse("*" + std::string(40, '1'), small).status ==
        resp::parse_status::error);
  CHECK(parse("*1\r\n$" + std::string(40, '1'), small).status ==
        resp::parse_status::error);
  CHECK_THAT(parse("GET " + std::string(40, 'k') + "\r\n", small).error,
             Catch::Contains("too big inline request"));
  // an inline line of more words than arguments allowed (found by
  // tests/fuzz/fuzz.sh resp)
  CHECK_THAT(parse("a b c d e\r\n", small).error,
             Catch::Contains("too many arguments in an inline request (5, at "
                             "most 4)"));
  CHECK(parse("a b c d\r\n", small).status == resp::parse_status::complete);
  // within the limits, the same shapes read
  CHECK(parse("*1\r\n$16\r\n" + std::string(16, 'v') + "\r\n", small).status ==
        resp::parse_status::complete);
}

TEST_CASE("RESP replies are written as Redis writes them", "[resp]") {
  std::string out;
  resp::simple(out, "OK");
  resp::error(out, "ERR unknown command 'FOO'");
  resp::integer(out, -7);
  resp::bulk(out, std::string{"a\0b", 3});
  resp::null_bulk(out);
  resp::array_header(out, 2);
  resp::bulk(out, "");
  resp::null_bulk(out);
  using namespace std::string_literals;
  CHECK(out == "+OK\r\n-ERR unknown command 'FOO'\r\n:-7\r\n$3\r\n"
               "a\0b\r\n$-1\r\n*2\r\n$0\r\n\r\n$-1\r\n"s);
}
