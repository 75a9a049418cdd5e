#pragma once

// Operational metrics in the Prometheus text exposition format 0.0.4: a
// registry of counters, gauges and histograms with label sets, rendered on
// demand and served over HTTP (GET /metrics) by a small cpp-httplib server on
// its own thread. Updates are lock-free: look a series up once, keep its
// handle, and increment through the handle (one atomic operation).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace troupe {

/// Labels of one series, as name/value pairs; order does not matter (they
/// are rendered sorted by name).
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// The Content-Type of the text exposition format.
inline constexpr std::string_view metrics_content_type =
    "text/plain; version=0.0.4";

namespace detail {

/// Adds `by` to an atomic double (C++17 has no fetch_add for doubles).
inline void atomic_add(std::atomic<double>& x, double by) noexcept {
  auto cur = x.load(std::memory_order_relaxed);
  while (!x.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

/// The value of one counter or gauge series.
struct value_cell {
  std::atomic<double> value{0.0};
};

/// The state of one histogram series: a count per bucket (not cumulative;
/// the last bucket is +Inf) and the sum of observations.
struct histogram_cell {
  explicit histogram_cell(std::vector<double> upper_bounds);
  std::vector<double> bounds;
  std::unique_ptr<std::atomic<uint64_t>[]> counts;
  std::atomic<double> sum{0.0};
};

} // namespace detail

/// A handle to one counter series: a value that only goes up. Cheap to copy;
/// a default-constructed handle ignores updates. Stays valid (but is no
/// longer rendered) after its series was removed from the registry.
class counter {
public:
  counter() = default;

  /// Adds `by` (1 by default); negative or NaN amounts are ignored.
  void inc(double by = 1.0) const noexcept {
    if (cell_ && by >= 0) detail::atomic_add(cell_->value, by);
  }

  /// The current value (0 for a default-constructed handle).
  double value() const noexcept {
    return cell_ ? cell_->value.load(std::memory_order_relaxed) : 0.0;
  }

  explicit operator bool() const noexcept { return cell_ != nullptr; }

private:
  friend class metrics_registry;
  explicit counter(std::shared_ptr<detail::value_cell> c)
      : cell_(std::move(c)) {}
  std::shared_ptr<detail::value_cell> cell_;
};

/// A handle to one gauge series: a value that goes up and down. Cheap to
/// copy; a default-constructed handle ignores updates.
class gauge {
public:
  gauge() = default;

  /// Replaces the value.
  void set(double v) const noexcept {
    if (cell_) cell_->value.store(v, std::memory_order_relaxed);
  }

  /// Adds `by` (1 by default).
  void inc(double by = 1.0) const noexcept {
    if (cell_) detail::atomic_add(cell_->value, by);
  }

  /// Subtracts `by` (1 by default).
  void dec(double by = 1.0) const noexcept { inc(-by); }

  /// The current value (0 for a default-constructed handle).
  double value() const noexcept {
    return cell_ ? cell_->value.load(std::memory_order_relaxed) : 0.0;
  }

  explicit operator bool() const noexcept { return cell_ != nullptr; }

private:
  friend class metrics_registry;
  explicit gauge(std::shared_ptr<detail::value_cell> c) : cell_(std::move(c)) {}
  std::shared_ptr<detail::value_cell> cell_;
};

/// A handle to one histogram series: observations counted into buckets by
/// upper bound (`le`), plus their sum and count. Cheap to copy; a
/// default-constructed handle ignores updates.
class histogram {
public:
  histogram() = default;

  /// Records one observation: it lands in the first bucket whose upper bound
  /// is >= v (NaN lands in +Inf only).
  void observe(double v) const noexcept;

  /// The number of observations so far.
  uint64_t count() const noexcept;

  /// The sum of observations so far.
  double sum() const noexcept;

  explicit operator bool() const noexcept { return cell_ != nullptr; }

private:
  friend class metrics_registry;
  explicit histogram(std::shared_ptr<detail::histogram_cell> c)
      : cell_(std::move(c)) {}
  std::shared_ptr<detail::histogram_cell> cell_;
};

/// Prometheus' default latency buckets, in seconds: .005 … 10.
std::vector<double> default_buckets();

/// `count` bucket bounds start, start·factor, start·factor², …
std::vector<double> exponential_buckets(double start, double factor,
                                        size_t count);

/// A set of metric families, each a name, help text, a type and its series
/// by label set. Thread-safe: creating and removing series takes a mutex;
/// updating through a handle takes none.
class metrics_registry {
public:
  /// Identifies a collector for remove_collector.
  using collector_id = uint64_t;

  metrics_registry();
  ~metrics_registry();
  metrics_registry(const metrics_registry&) = delete;
  metrics_registry& operator=(const metrics_registry&) = delete;

  /// The counter series `name{labels}`, creating it (and its family, with
  /// `help`) on first use. Fails on an invalid metric or label name, a
  /// repeated label name, or a family of that name with another type.
  caf::expected<counter> add_counter(std::string_view name,
                                     std::string_view help,
                                     metric_labels labels = {});

  /// The gauge series `name{labels}`, creating it on first use; fails like
  /// add_counter.
  caf::expected<gauge> add_gauge(std::string_view name, std::string_view help,
                                 metric_labels labels = {});

  /// The histogram series `name{labels}` with the given bucket upper bounds
  /// (strictly increasing and finite; +Inf is implied), creating it on first
  /// use. Every series of a family has the same buckets: other bounds fail,
  /// as does the reserved label name `le`.
  caf::expected<histogram> add_histogram(std::string_view name,
                                         std::string_view help,
                                         std::vector<double> buckets,
                                         metric_labels labels = {});

  /// Stops rendering the series `name{labels}` (handles to it keep working,
  /// unrendered); false if there was none. The family stays.
  bool remove(std::string_view name, const metric_labels& labels);

  /// Registers `f` to run at the start of every render() to refresh gauges
  /// (replica counts, queue depths, …). Collectors run one at a time, in
  /// registration order, on the rendering thread; they may create and
  /// update series but must not add or remove collectors. An exception
  /// escaping a collector is logged and skipped.
  collector_id add_collector(std::function<void()> f);

  /// Unregisters a collector; once this returns it is never called again.
  void remove_collector(collector_id id);

  /// The text exposition format 0.0.4 of every family, sorted by name, each
  /// with its HELP and TYPE lines and its series sorted by labels.
  std::string render();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Serves a registry's render() as GET /metrics over HTTP (cpp-httplib) on
/// its own thread; every other path answers 404. Stopped and joined on
/// destruction.
class metrics_server {
public:
  /// Starts serving `reg` (which must outlive the server) on `bind`:`port`;
  /// port 0 picks a free one (see port()). Fails with a message naming the
  /// address if it cannot listen.
  static caf::expected<std::unique_ptr<metrics_server>>
  start(metrics_registry& reg, const std::string& bind = "127.0.0.1",
        uint16_t port = 0);

  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  /// The port it listens on.
  uint16_t port() const;

  /// Closes the listening socket, finishes requests in flight and joins the
  /// server's threads; idempotent.
  void stop();

private:
  struct impl;
  explicit metrics_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace troupe
