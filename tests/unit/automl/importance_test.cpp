#include <catch2/catch.hpp>

#include <random>

#include "actors/automl/importance.hpp"
#include "actors/automl/report_svg.hpp"
#include "runtime/errors.hpp"

using namespace troupe;
using namespace troupe::automl;

TEST_CASE("permutation importance ranks the parameter the value depends on "
          "first, and needs enough complete trials",
          "[automl][report]") {
  auto space = search_space::make({param_spec::real("x", 0, 1),
                                   param_spec::real("lr", 1e-4, 1, true),
                                   param_spec::categorical("kind", {"a", "b"}),
                                   param_spec::integer("noise", 0, 9)});
  REQUIRE(space);
  std::mt19937_64 gen{3};
  std::vector<trial_record> trials;
  for (trial_id i = 0; i < 60; ++i) {
    trial_record t;
    t.id = i;
    t.params = space->sample(gen);
    auto lr = std::get<double>(t.params.at("lr"));
    auto kind = std::get<std::string>(t.params.at("kind"));
    // mostly lr (on its log scale), a little kind, nothing of x or noise
    t.value = std::log10(lr) + (kind == "b" ? 0.3 : 0.0);
    t.state = i % 5 == 4 ? trial_state::pruned : trial_state::complete;
    trials.push_back(std::move(t));
  }
  auto imp = param_importances(*space, trials, 1);
  if (!imp) FAIL(describe(imp.error()));
  REQUIRE(imp->size() == 4);
  CHECK((*imp)[0].first == "lr");
  CHECK((*imp)[0].second > 0.7);
  CHECK((*imp)[1].first == "kind");
  double sum = 0;
  for (auto& [name, share] : *imp)
    sum += share;
  CHECK(sum == Approx(1.0));
  // log parameters enter on their log scale, choices as indices
  CHECK(encoded_value(*space->find("lr"), {{"lr", 0.01}}) == Approx(-2));
  CHECK(encoded_value(*space->find("kind"), {{"kind", std::string{"b"}}}) == 1);
  CHECK(std::isnan(encoded_value(*space->find("x"), {})));
  trials.resize(8); // 7 complete (trial 4 was pruned)
  auto few = param_importances(*space, trials, 1);
  REQUIRE_FALSE(few);
  CHECK(describe(few.error()).find("8 complete trials") != std::string::npos);
}

TEST_CASE("report charts escape text and scale their axes",
          "[automl][report]") {
  CHECK(html_escape("<a href=\"x\">&</a>") ==
        "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
  CHECK(short_number(0.123456789) == "0.12346");
  CHECK(short_number(NAN) == "n/a");
  auto a = svg_chart::range_of({1, 2, 3}, false, "x");
  CHECK(a.lo < 1);
  CHECK(a.hi > 3);
  auto l = svg_chart::range_of({0.001, 10, -1}, true, "lr");
  CHECK(l.lo > 0);
  CHECK(l.lo < 0.001);
  svg_chart c{300, 200, a, svg_chart::range_of({0, 1}, false, "y")};
  c.points({{1, 0.5}, {NAN, 1}}, "#000", {"a <tip>"});
  c.line({{1, 0}, {3, 1}}, "#f00");
  auto svg = c.str();
  CHECK(svg.find("<circle") != std::string::npos);
  CHECK(svg.find("<circle", svg.find("<circle") + 1) == std::string::npos);
  CHECK(svg.find("a &lt;tip&gt;") != std::string::npos);
  CHECK(svg.find("<polyline") != std::string::npos);
}
