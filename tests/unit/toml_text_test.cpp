// The check of TOML text before toml++ reads it (runtime/toml_text.hpp):
// non-ASCII text in strings (all four kinds) and comments passes, anywhere
// else it is refused with its line and column -- toml++ 3.3 reaches
// undefined behaviour on some such characters (found by
// tests/fuzz/fuzz.sh job_config); and a job config and a search space
// file are checked before they are parsed.

#include <catch2/catch.hpp>

#include "actors/automl/space.hpp"
#include "actors/automl/space_file.hpp"
#include "actors/training/job_config.hpp"
#include "runtime/errors.hpp"
#include "runtime/toml_text.hpp"

using namespace troupe;

TEST_CASE("non-ASCII TOML text is let through in strings and comments only",
          "[toml]") {
  CHECK_FALSE(check_toml_text("name = \"Ϋ café\"  # naïve\n"
                              "a = 'lit ü'\n"
                              "b = \"\"\"multi \"q\" \\\"\n ÿ\"\"\"\n"
                              "c = '''x\nü'''\n"
                              "\"ключ\" = 1\n",
                              "ok.toml"));
  auto bare = check_toml_text("a = 1\nb = \"x\" Ϋ\n", "job.toml");
  REQUIRE(bare);
  CHECK(describe(bare) ==
        "job.toml:2:9: invalid TOML: a non-ASCII character (byte 0xCE) "
        "outside a string or a comment; quote the text that holds it");
  // an escaped quote does not end a string; a newline ends a one-line one
  CHECK_FALSE(check_toml_text("a = \"x \\\" Ϋ\"\n", "t.toml"));
  CHECK(check_toml_text("a = \"open\nΫ = 1\n", "t.toml"));
}

TEST_CASE("job configs and search space files are checked before toml++ "
          "reads them",
          "[toml]") {
  auto job = training::parse_job_config("family = \"mlp\"\nΫ\n", "/x/job.toml");
  REQUIRE_FALSE(job);
  CHECK_THAT(describe(job.error()),
             Catch::StartsWith("/x/job.toml:2:1: invalid TOML: a non-ASCII"));
  auto space = automl::apply_space_text(automl::search_space{}, "Ϋ = 1\n",
                                        "toml", "space.toml");
  REQUIRE_FALSE(space);
  CHECK_THAT(describe(space.error()),
             Catch::StartsWith("space.toml:1:1: invalid TOML: a non-ASCII"));
}
