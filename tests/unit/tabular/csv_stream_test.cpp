#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "actors/tabular/csv.hpp"
#include "actors/tabular/csv_stream.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::tabular;

namespace {

/// Every record of `in`, or the first error's message.
std::vector<std::vector<std::string>> records(csv_stream& in,
                                              std::string* error = nullptr) {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> fields;
  size_t line = 0;
  for (;;) {
    auto got = in.next(fields, line);
    if (!got) {
      if (error && error->empty()) *error = describe(got.error());
      continue;
    }
    if (!*got) break;
    out.push_back(fields);
  }
  return out;
}

} // namespace

TEST_CASE("the stream reads in-memory text with another delimiter", "[csv]") {
  std::string text = "\xEF\xBB\xBF a ;b\n1;\"x;y\"\r\n\n2; \"q\"\"t\" \n";
  auto in = csv_stream::from_text(text, "mem.csv", ';');
  REQUIRE(in);
  CHECK(in->header() == std::vector<std::string>{"a", "b"});
  auto rows = records(*in);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == std::vector<std::string>{"1", "x;y"});
  CHECK(rows[1] == std::vector<std::string>{"2", "q\"t"});
  // read_csv and parse_csv take the same delimiter option
  csv_options semi;
  semi.delimiter = ';';
  auto t = parse_csv(text, "mem.csv", semi);
  REQUIRE(t);
  CHECK(t->find("b")->text[0] == "x;y");
}

TEST_CASE("a stream's errors name line and column, and reading goes on",
          "[csv]") {
  std::string text = "a,b,c\n"
                     "1,\"x\"y,3\n"
                     "4,5\n"
                     "6,7,\xFF\n"
                     "8,9,10\n";
  auto in = csv_stream::from_text(text, "s.csv");
  REQUIRE(in);
  std::vector<std::string> fields;
  size_t line = 0;
  auto quote = in->next(fields, line);
  REQUIRE_FALSE(quote);
  CHECK_THAT(describe(quote.error()),
             Catch::Contains("s.csv:2:2: unexpected text after a closing "
                             "quote"));
  auto ragged = in->next(fields, line);
  REQUIRE_FALSE(ragged);
  CHECK_THAT(describe(ragged.error()),
             Catch::Contains("s.csv:3:3: line 3 has 2 fields, header has 3"));
  auto utf8 = in->next(fields, line);
  REQUIRE_FALSE(utf8);
  CHECK_THAT(describe(utf8.error()), Catch::Contains("s.csv:4:3: invalid"));
  auto good = in->next(fields, line);
  REQUIRE(good);
  REQUIRE(*good);
  CHECK(line == 5);
  CHECK(fields == std::vector<std::string>{"8", "9", "10"});
}

TEST_CASE("a file streams like the same text in memory", "[csv]") {
  test::temp_dir dir;
  std::string text = "k,v\nx,\"multi\nline\"\ny,2\n";
  auto path = dir / "f.csv";
  test::write_file(path, text);
  auto file = csv_stream::open(path);
  REQUIRE(file);
  auto mem = csv_stream::from_text(text, path);
  REQUIRE(mem);
  CHECK(records(*file) == records(*mem));
  CHECK(file->bytes_read() == text.size());
  auto empty = csv_stream::from_text("", "e.csv");
  REQUIRE_FALSE(empty);
  CHECK_THAT(describe(empty.error()), Catch::Contains("e.csv: empty file"));
  auto dup = csv_stream::from_text("a, a\n", "d.csv");
  REQUIRE_FALSE(dup);
  CHECK_THAT(describe(dup.error()),
             Catch::Contains("d.csv:1:2: duplicate column name 'a'"));
}

TEST_CASE("a sample of a CSV file: every row of a small file as read_csv "
          "reads it, a uniform sample of a large one in file order",
          "[csv]") {
  test::temp_dir dir;
  // 1000 rows, names padded with spaces, every seventh missing
  std::string text = "n,name\n";
  for (int i = 0; i < 1000; ++i)
    text += std::to_string(i) + ", row " + (i % 7 ? std::to_string(i) : "NA") +
            "\n";
  auto path = dir / "rows.csv";
  test::write_file(path, text);
  auto whole = read_csv(path);
  REQUIRE(whole);
  auto all = sample_csv(path, 1000, 3);
  REQUIRE(all);
  REQUIRE(all->rows() == 1000);
  for (size_t c = 0; c < 2; ++c) {
    CHECK(all->columns[c].text == whole->columns[c].text);
    CHECK(all->columns[c].kind == whole->columns[c].kind);
  }
  CHECK(all->lines == whole->lines);
  auto some = sample_csv(path, 100, 3);
  REQUIRE(some);
  REQUIRE(some->rows() == 100);
  CHECK(some->columns[0].kind == column_kind::numeric);
  auto& n = some->columns[0].numbers;
  CHECK(std::is_sorted(n.begin(), n.end()));
  CHECK(std::adjacent_find(n.begin(), n.end()) == n.end());
  // spread over the file, not its head
  CHECK(n.back() > 500);
  CHECK(n.front() < 500);
  auto other = sample_csv(path, 100, 4);
  REQUIRE(other);
  CHECK(other->columns[0].numbers != n);
  // cells as read_csv keeps them
  std::string cell = "  NA ";
  normalize_cell(cell);
  CHECK(cell.empty());
  cell = "\t row 5 ";
  normalize_cell(cell);
  CHECK(cell == "row 5");
  test::write_file(dir / "head.csv", "a,b\n");
  auto none = sample_csv(dir / "head.csv", 10, 1);
  REQUIRE_FALSE(none);
  CHECK_THAT(describe(none.error()), Catch::Contains("no data rows"));
}
