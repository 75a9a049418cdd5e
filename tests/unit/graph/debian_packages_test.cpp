// Debian's package index as a labelled graph (actors/graph/
// debian_packages.hpp): relations resolve to the first alternative the
// index holds, versions and architecture qualifiers are read past, a
// package listed twice is one node, sections lose their archive area; the
// shipped sample of bookworm's index reads as its stanzas say; bad input
// is named.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "actors/graph/debian_packages.hpp"
#include "runtime/errors.hpp"
#include "tests/support/process.hpp"

using namespace troupe;
using namespace troupe::graph;

namespace {

bool linked(const labeled_graph& l, const std::string& a,
            const std::string& b) {
  auto at = [&](const std::string& n) {
    auto it = std::find(l.names.begin(), l.names.end(), n);
    REQUIRE(it != l.names.end());
    return static_cast<uint32_t>(it - l.names.begin());
  };
  auto u = at(a), v = at(b);
  return std::find(l.graph.begin(u), l.graph.end(u), v) != l.graph.end(u);
}

std::string label(const labeled_graph& l, const std::string& n) {
  auto it = std::find(l.names.begin(), l.names.end(), n);
  REQUIRE(it != l.names.end());
  return l.label_names[l.labels[static_cast<size_t>(it - l.names.begin())]];
}

} // namespace

TEST_CASE("package relations link the first alternative the index holds",
          "[graph]") {
  std::string a = "Package: app\n"
                  "Section: contrib/net\n"
                  "Pre-Depends: dpkg (>= 1.17)\n"
                  "Depends: libc6 (>= 2.34), mail-transport-agent | postfix,"
                  " python3:any, libfoo [amd64] <!nocheck>\n"
                  "Recommends: app-doc\n"
                  "Description: an app\n"
                  " with a folded description: Depends: nothing\n"
                  "\n"
                  "Package: libc6\nSection: libs\n\n"
                  "Package: dpkg\nSection: admin\nDepends: libc6\n\n";
  std::string b = "Package: postfix\nSection: mail\n\n"
                  "Package: python3\nSection: python\nDepends: libc6\n\n"
                  "Package: app-doc\nSection: doc\nDepends: app\n\n"
                  "Package: libc6\nSection: oldlibs\nDepends: dpkg\n\n"
                  "Package: lonely\n";
  auto l = debian_package_graph_of({a, b}, {"a", "b"});
  REQUIRE(l);
  CHECK(l->names.size() == 7); // libc6 once
  CHECK(linked(*l, "app", "dpkg"));
  CHECK(linked(*l, "app", "libc6"));
  CHECK(linked(*l, "app", "postfix")); // the virtual first alternative skipped
  CHECK(linked(*l, "app", "python3"));
  CHECK(linked(*l, "app", "app-doc"));
  CHECK(linked(*l, "dpkg", "libc6")); // and the later file's libc6 -> dpkg
  CHECK(linked(*l, "python3", "libc6"));
  CHECK_FALSE(linked(*l, "app", "lonely"));
  // libfoo is in no file: nothing; app <-> app-doc both ways: one edge
  CHECK(l->graph.edges() == 7);
  CHECK(l->relations == 9);
  CHECK(label(*l, "app") == "net");
  CHECK(label(*l, "libc6") == "libs"); // the first file's section
  CHECK(label(*l, "lonely") == "(none)");
  CHECK(l->graph.degree(static_cast<uint32_t>(
            std::find(l->names.begin(), l->names.end(), "lonely") -
            l->names.begin())) == 0);
}

TEST_CASE("a relation field folded over several lines links each of its "
          "packages",
          "[graph]") {
  std::string text = "Package: a\nDepends:\n b (>= 1),\n c\n   | d\n"
                     "Description: x\n\n"
                     "Package: b\n\nPackage: c\n\nPackage: d\n";
  auto l = debian_package_graph_of({text}, {"folded"});
  REQUIRE(l);
  CHECK(l->names.size() == 4);
  CHECK(linked(*l, "a", "b"));
  CHECK(linked(*l, "a", "c"));
  CHECK_FALSE(linked(*l, "a", "d")); // the second alternative of c's group
  CHECK(l->relations == 2);
}

TEST_CASE("the shipped sample of bookworm's package index reads as a graph",
          "[graph]") {
  auto path =
      std::string{TROUPE_SOURCE_DIR} + "/tests/data/graph/Packages.sample";
  auto l = debian_package_graph({path});
  REQUIRE(l);
  CHECK(l->names.size() == 466);
  CHECK(l->labels.size() == 466);
  CHECK(linked(*l, "git", "perl"));
  CHECK(linked(*l, "python3-numpy", "libc6"));
  CHECK(label(*l, "perl") == "perl");
  CHECK(label(*l, "python3-numpy") == "python");
  // the sample is a closure of its packages' relations: every package but
  // a few leaves links somewhere
  uint32_t isolated = 0;
  for (uint32_t v = 0; v < l->graph.nodes; ++v)
    isolated += l->graph.degree(v) == 0;
  CHECK(isolated < 10);
  CHECK(l->graph.edges() > 466);
}

TEST_CASE("a package graph names its bad input", "[graph]") {
  test::temp_dir dir;
  auto missing = debian_package_graph({dir / "Packages"});
  REQUIRE_FALSE(missing);
  CHECK(describe(missing.error()).find(dir / "Packages") != std::string::npos);
  test::write_file(dir / "notes.txt", "just some text\nwith: a colon\n");
  auto junk = debian_package_graph({dir / "notes.txt"});
  REQUIRE_FALSE(junk);
  CHECK(describe(junk.error()).find("notes.txt' holds no package") !=
        std::string::npos);
  test::write_file(dir / "Packages.lz4", "not lz4 at all");
  auto bad = debian_package_graph({dir / "Packages.lz4"});
  REQUIRE_FALSE(bad);
  CHECK(describe(bad.error()).find("Packages.lz4") != std::string::npos);
  CHECK_FALSE(debian_package_graph({}));
}
