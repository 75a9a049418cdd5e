#pragma once

// What serving tells operators: per-deployment Prometheus series in the
// process's metrics registry, and the prediction log, written by a thread of
// its own so that routers never wait for LMDB.

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/expected.hpp>

#include "actors/serving/prediction_log.hpp"
#include "runtime/envelope.hpp"
#include "runtime/metrics.hpp"
#include "runtime/node.hpp"

namespace troupe::serving {

/// The series of one deployment: troupe_serving_requests_total,
/// _rows_total, _errors_total, _shed_total, _retries_total,
/// _request_latency_seconds (histogram), _batch_rows (histogram),
/// _replicas and _queued_rows (gauges), labelled deployment (and version).
class deployment_metrics {
public:
  deployment_metrics() = default;
  explicit deployment_metrics(const std::string& deployment);

  /// A request of `rows` rows answered by `version` after `us` microseconds
  /// in a batch of `batch_rows` rows.
  void answered(uint32_t version, size_t rows, double us, size_t batch_rows);
  void errors(uint32_t version);
  void shed();
  void retries();
  void gauges(double replicas, double queued_rows);
  /// Removes the deployment's gauges (it stopped): a scrape no longer shows
  /// replicas that are gone. Its counters stay, as counters do.
  void retire();

private:
  struct per_version {
    counter requests, rows, errors;
    histogram latency;
  };
  per_version& of(uint32_t version);

  std::string name_;
  std::map<uint32_t, per_version> versions_;
  counter shed_, retries_;
  histogram batch_;
  gauge replicas_, queued_;
};

/// Takes answered requests and appends their rows to a prediction log on a
/// thread of its own, in batches (at most every 50 ms or 512 rows).
class prediction_sink {
public:
  /// Opens the log at `dir` and starts the writer.
  static caf::expected<std::shared_ptr<prediction_sink>>
  open(const std::string& dir, prediction_log_options opts = {});

  ~prediction_sink();

  /// Queues the rows of `request` (PredictRequest) answered by `response`
  /// (PredictResponse); `hash` keeps only a hash of the inputs. Never
  /// blocks on I/O; past 100,000 queued requests new ones are dropped (and
  /// counted).
  void submit(const std::string& deployment, const envelope& request,
              const envelope& response, int64_t latency_us, bool hash);

  const std::string& path() const { return path_; }

private:
  struct item {
    std::string deployment;
    envelope request;
    envelope response;
    int64_t latency_us = 0;
    int64_t time_us = 0;
    bool hash = false;
  };

  explicit prediction_sink(std::unique_ptr<prediction_log> log);
  void run();
  void write(std::deque<item>& items);

  std::unique_ptr<prediction_log> log_;
  std::string path_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<item> queue_;
  uint64_t dropped_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace troupe::serving
