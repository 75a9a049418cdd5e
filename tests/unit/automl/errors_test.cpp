// automl's own error codes: their category, names and numbers.

#include <catch2/catch.hpp>

#include "actors/automl/errors.hpp"

using namespace troupe;

TEST_CASE("automl errors carry the automl category and name their code",
          "[automl]") {
  auto err = make_error(automl::errc::study_not_loaded, "no study 'x'");
  CHECK(err.category() == caf::atom("automl"));
  CHECK(err.code() == 2);
  CHECK(is(err, automl::errc::study_not_loaded));
  CHECK_FALSE(is(err, automl::errc::study_loaded));
  CHECK_FALSE(is(err, troupe::errc::not_found));
  CHECK(describe(err) == "no study 'x'");
  CHECK(describe(caf::error{static_cast<uint8_t>(automl::errc::journal_corrupt),
                            caf::atom("automl")}) == "automl: journal_corrupt");
  // The numbers are part of the wire format: they never change.
  CHECK(static_cast<int>(automl::errc::study_loaded) == 1);
  CHECK(static_cast<int>(automl::errc::journal_corrupt) == 3);
  CHECK(static_cast<int>(automl::errc::reserved_id) == 4);
}
