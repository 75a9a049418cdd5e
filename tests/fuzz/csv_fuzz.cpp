// Fuzz target: the CSV reader (actors/tabular/csv.hpp), fed arbitrary text
// as a user's file, with the first byte choosing the delimiter. Besides
// what ASan and UBSan catch, it checks what training and validation rely
// on: a table read is rectangular (every column has a cell per row, and
// numeric columns a number per row), missing cells are counted and are NaN
// in numeric columns, present numbers are finite; and a refusal names the
// source and says why.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "actors/tabular/csv.hpp"
#include "runtime/errors.hpp"

using namespace troupe;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "csv_fuzz: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  tabular::csv_options opts;
  const char delimiters[] = {',', ';', '\t', '|'};
  opts.delimiter = delimiters[data[0] % 4];
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto t = tabular::parse_csv(text, "fuzz.csv", opts);
  if (!t) {
    auto why = describe(t.error());
    if (why.find("fuzz.csv") == std::string::npos)
      broken("a refusal that does not name the source");
    return 0;
  }
  if (t->columns.empty()) broken("a table without columns");
  for (auto& c : t->columns) {
    if (c.text.size() != t->rows()) broken("a column of another length");
    size_t missing = 0;
    for (size_t r = 0; r < c.text.size(); ++r)
      missing += c.is_missing(r) ? 1 : 0;
    if (missing != c.missing) broken("a wrong count of missing cells");
    if (c.kind == tabular::column_kind::numeric) {
      if (c.numbers.size() != t->rows()) broken("numbers of another length");
      for (size_t r = 0; r < c.numbers.size(); ++r) {
        if (c.is_missing(r) != std::isnan(c.numbers[r]))
          broken("a missing cell that is not NaN, or a NaN that is present");
        if (!c.is_missing(r) && !std::isfinite(c.numbers[r]))
          broken("an infinite number in a numeric column");
      }
    }
  }
  return 0;
}
