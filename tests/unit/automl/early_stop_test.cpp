#include <catch2/catch.hpp>

#include <cmath>

#include "actors/automl/early_stop.hpp"

using troupe::automl::early_stop;

TEST_CASE("early stopping ends a trial once its best step is patience steps "
          "behind, keeping the best value and step",
          "[automl][early-stop]") {
  SECTION("a loss") {
    early_stop s{27, false};
    CHECK_FALSE(s.observe(9, 0.50));
    CHECK_FALSE(s.observe(18, 0.40));
    CHECK_FALSE(s.observe(27, 0.41));
    CHECK_FALSE(s.observe(36, 0.40)); // equal is no better
    CHECK(s.best_step() == 18);
    CHECK_FALSE(s.observe(44, 0.45)); // 26 steps behind
    CHECK(s.observe(45, 0.45));
    CHECK(s.best() == 0.40);
    CHECK(s.best_step() == 18);
  }
  SECTION("a score that grows (AUC)") {
    early_stop s{10, true};
    CHECK_FALSE(s.observe(5, 0.7));
    CHECK_FALSE(s.observe(10, 0.8));
    CHECK_FALSE(s.observe(15, 0.75));
    CHECK(s.observe(20, 0.79));
    CHECK(s.best() == 0.8);
    CHECK(s.best_step() == 10);
  }
  SECTION("an improvement resets the wait") {
    early_stop s{10, false};
    CHECK_FALSE(s.observe(5, 1.0));
    CHECK_FALSE(s.observe(14, 0.9));
    CHECK_FALSE(s.observe(23, 1.0));
    CHECK(s.observe(24, 1.0));
  }
  SECTION("patience 0 never stops") {
    early_stop s{0, false};
    CHECK_FALSE(s.observe(1, 1.0));
    CHECK_FALSE(s.observe(1000, 2.0));
    CHECK(s.best() == 1.0);
  }
  SECTION("NaN never counts as better, and only NaN never stops") {
    early_stop s{5, false};
    CHECK_FALSE(s.observe(1, std::nan("")));
    CHECK_FALSE(s.observe(100, std::nan("")));
    CHECK_FALSE(s.seen());
    CHECK_FALSE(s.observe(101, 3.0));
    CHECK_FALSE(s.observe(105, std::nan("")));
    CHECK(s.observe(106, std::nan("")));
    CHECK(s.best() == 3.0);
    CHECK(s.best_step() == 101);
  }
}
