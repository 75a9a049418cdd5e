#pragma once

// How a gang member's time goes (issue 19, utilisation): computing, waiting
// for data, communicating, idle. A worker keeps a usage_meter from the
// moment it gets its part; what it measures itself (fetching its rows, a
// step's phases as the torch plugin times them) goes into its columns, and
// whatever the wall clock saw beyond them is idle. The job sums its
// workers' splits, and a rule flags a job whose workers wait for data more
// than a share of their time: what a data-starved GPU looks like. Plain
// C++; the clock is injected.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace troupe::training {

/// Seconds of a worker's time by what it was doing.
struct time_split {
  double compute = 0;
  /// Waiting for its rows: fetching and reading its shard, gathering each
  /// batch.
  double data = 0;
  /// Waiting for the collective: joining the group, the part of the
  /// gradients' allreduce backward did not hide, the parameter server's
  /// pulls and pushes.
  double comm = 0;
  /// The rest: reports, checkpoints, waiting on the job or its peers'
  /// start.
  double idle = 0;

  double total() const { return compute + data + comm + idle; }
  /// The share of `part` (one of the four) in the total; 0 when none.
  double share(double part) const;
  time_split& operator+=(const time_split& other);
};

/// A worker's clock of its time split. Not thread-safe: one training
/// thread owns it.
class usage_meter {
public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

  /// Starts counting now (`now` is the clock; steady_clock by default).
  explicit usage_meter(clock_fn now = &std::chrono::steady_clock::now);
  /// Starts counting at `start` (a time of the same clock).
  usage_meter(clock_fn now, std::chrono::steady_clock::time_point start);

  /// Adds measured seconds (negative or NaN ignored).
  void add_compute(double s);
  void add_data(double s);
  void add_comm(double s);
  /// Runs `f` and counts its time as data (comm, compute).
  template <class F>
  auto data(F&& f) {
    return timed(split_.data, f);
  }
  template <class F>
  auto comm(F&& f) {
    return timed(split_.comm, f);
  }

  /// The split so far: idle is the wall time since the start that no
  /// column holds (never negative).
  time_split split() const;

private:
  template <class F>
  auto timed(double& into, F& f) {
    auto t0 = now_();
    struct add_on_exit {
      usage_meter* m;
      double& into;
      std::chrono::steady_clock::time_point t0;
      ~add_on_exit() { m->add(into, m->now_() - t0); }
    } guard{this, into, t0};
    return f();
  }
  void add(double& into, std::chrono::steady_clock::duration d);
  static void add(double& into, double s);

  clock_fn now_;
  std::chrono::steady_clock::time_point start_;
  time_split split_;
};

/// The alert rule: a job is data-starved while its workers together spend
/// more than `threshold` of their time waiting for data. An alert in force
/// clears only once the share falls to `clear_share` of the threshold: a
/// share that hovers around it raises one alert, not one per report.
struct starvation_rule {
  double threshold = 0.3;
  double clear_share = 0.8;
};

/// The share of the workers' summed time spent waiting for data.
double data_wait_share(const std::vector<time_split>& workers);

/// Whether `workers` break `rule`.
bool data_starved(const std::vector<time_split>& workers,
                  const starvation_rule& rule);

/// What an alert does after a report: nothing, rise, or clear.
enum class alert_change { none, raise, clear };

/// The change the rule makes to an alert that is (`active`) or is not in
/// force, given the workers' splits.
alert_change next_alert(bool active, const std::vector<time_split>& workers,
                        const starvation_rule& rule);

/// "compute 71%, data 3%, comm 20%, idle 6%".
std::string describe_split(const time_split& t);

} // namespace troupe::training
