#include "actors/training/worker_usage.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace troupe::training {

double time_split::share(double part) const {
  auto t = total();
  return t > 0 ? part / t : 0.0;
}

time_split& time_split::operator+=(const time_split& other) {
  compute += other.compute;
  data += other.data;
  comm += other.comm;
  idle += other.idle;
  return *this;
}

usage_meter::usage_meter(clock_fn now) : now_(std::move(now)) {
  start_ = now_();
}

usage_meter::usage_meter(clock_fn now,
                         std::chrono::steady_clock::time_point start)
    : now_(std::move(now)), start_(start) {}

void usage_meter::add(double& into, double s) {
  if (std::isfinite(s) && s > 0) into += s;
}

void usage_meter::add(double& into, std::chrono::steady_clock::duration d) {
  add(into, std::chrono::duration<double>(d).count());
}

void usage_meter::add_compute(double s) {
  add(split_.compute, s);
}
void usage_meter::add_data(double s) {
  add(split_.data, s);
}
void usage_meter::add_comm(double s) {
  add(split_.comm, s);
}

time_split usage_meter::split() const {
  auto out = split_;
  auto wall = std::chrono::duration<double>(now_() - start_).count();
  out.idle = std::max(0.0, wall - (out.compute + out.data + out.comm));
  return out;
}

double data_wait_share(const std::vector<time_split>& workers) {
  time_split sum;
  for (auto& w : workers)
    sum += w;
  return sum.share(sum.data);
}

bool data_starved(const std::vector<time_split>& workers,
                  const starvation_rule& rule) {
  time_split sum;
  for (auto& w : workers)
    sum += w;
  return sum.total() > 0 && sum.share(sum.data) > rule.threshold;
}

alert_change next_alert(bool active, const std::vector<time_split>& workers,
                        const starvation_rule& rule) {
  if (!active)
    return data_starved(workers, rule) ? alert_change::raise
                                       : alert_change::none;
  return data_wait_share(workers) <= rule.clear_share * rule.threshold
             ? alert_change::clear
             : alert_change::none;
}

std::string describe_split(const time_split& t) {
  char buf[128];
  auto pct = [&](double x) { return 100.0 * t.share(x); };
  std::snprintf(buf, sizeof buf,
                "compute %.0f%%, data %.0f%%, comm %.0f%%, "
                "idle %.0f%%",
                pct(t.compute), pct(t.data), pct(t.comm), pct(t.idle));
  return buf;
}

} // namespace troupe::training
