#include "actors/serving/telemetry.hpp"

#include <charconv>
#include <chrono>
#include <cmath>

#include "runtime/errors.hpp"
#include "runtime/log.hpp"
#include "runtime/time.hpp"
#include "schemas/serving.capnp.h"

namespace troupe::serving {

namespace {

constexpr size_t max_queued = 100'000;
constexpr auto write_every = std::chrono::milliseconds{50};
constexpr size_t write_rows = 512;

std::vector<double> latency_buckets() {
  // 50 us .. ~3.3 s
  return exponential_buckets(50e-6, 2, 17);
}

std::vector<double> batch_buckets() {
  return exponential_buckets(1, 2, 12); // 1 .. 2048 rows
}

template <class T>
T get_or_none(caf::expected<T> x) {
  return x ? std::move(*x) : T{};
}

} // namespace

deployment_metrics::deployment_metrics(const std::string& deployment)
    : name_(deployment) {
  auto& m = process_metrics();
  metric_labels l{{"deployment", name_}};
  shed_ = get_or_none(m.add_counter(
      "troupe_serving_shed_total",
      "Requests refused as overloaded (queue bound reached).", l));
  retries_ = get_or_none(m.add_counter(
      "troupe_serving_retries_total",
      "Requests re-sent to another replica after one was lost.", l));
  batch_ = get_or_none(m.add_histogram("troupe_serving_batch_rows",
                                       "Rows per batch the replicas predicted.",
                                       batch_buckets(), l));
  replicas_ = get_or_none(m.add_gauge("troupe_serving_replicas",
                                      "Replicas running or starting.", l));
  queued_ = get_or_none(m.add_gauge(
      "troupe_serving_queued_rows",
      "Rows sent to replicas or waiting for one, not yet answered.", l));
}

deployment_metrics::per_version& deployment_metrics::of(uint32_t version) {
  auto i = versions_.find(version);
  if (i != versions_.end()) return i->second;
  auto& m = process_metrics();
  metric_labels l{{"deployment", name_}, {"version", std::to_string(version)}};
  per_version v;
  v.requests = get_or_none(m.add_counter("troupe_serving_requests_total",
                                         "Prediction requests answered.", l));
  v.rows = get_or_none(
      m.add_counter("troupe_serving_rows_total",
                    "Rows predicted (a request may carry many).", l));
  v.errors = get_or_none(m.add_counter("troupe_serving_errors_total",
                                       "Prediction requests that failed.", l));
  v.latency = get_or_none(m.add_histogram(
      "troupe_serving_request_latency_seconds",
      "Time from a request's arrival at the router to its answer.",
      latency_buckets(), l));
  return versions_.emplace(version, std::move(v)).first->second;
}

void deployment_metrics::answered(uint32_t version, size_t rows, double us,
                                  size_t batch_rows) {
  if (name_.empty()) return;
  auto& v = of(version);
  v.requests.inc();
  v.rows.inc(static_cast<double>(rows));
  v.latency.observe(us / 1e6);
  if (batch_rows > 0) batch_.observe(static_cast<double>(batch_rows));
}

void deployment_metrics::errors(uint32_t version) {
  if (name_.empty()) return;
  of(version).errors.inc();
}

void deployment_metrics::shed() {
  shed_.inc();
}

void deployment_metrics::retries() {
  retries_.inc();
}

void deployment_metrics::retire() {
  if (name_.empty()) return;
  metric_labels l{{"deployment", name_}};
  process_metrics().remove("troupe_serving_replicas", l);
  process_metrics().remove("troupe_serving_queued_rows", l);
}

void deployment_metrics::gauges(double replicas, double queued_rows) {
  replicas_.set(replicas);
  queued_.set(queued_rows);
}

// -- prediction_sink ----------------------------------------------------------

caf::expected<std::shared_ptr<prediction_sink>>
prediction_sink::open(const std::string& dir, prediction_log_options opts) {
  auto log = prediction_log::open(dir, opts);
  if (!log) return log.error();
  return std::shared_ptr<prediction_sink>{new prediction_sink(std::move(*log))};
}

prediction_sink::prediction_sink(std::unique_ptr<prediction_log> log)
    : log_(std::move(log)), path_(log_->path()) {
  thread_ = std::thread([this] {
    log::name_thread("troupe.predlog");
    run();
  });
}

prediction_sink::~prediction_sink() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void prediction_sink::submit(const std::string& deployment,
                             const envelope& request, const envelope& response,
                             int64_t latency_us, bool hash) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (queue_.size() >= max_queued) {
      static auto lg = log::get("serving");
      if (dropped_++ % 10000 == 0)
        lg->warn("prediction log {}: writer behind, {} requests dropped so "
                 "far",
                 path_, dropped_);
      return;
    }
    queue_.push_back(
        item{deployment, request, response, latency_us, now_micros(), hash});
    // The writer wakes by itself every write_every; waking it for each
    // request would cost a context switch per prediction.
    if (queue_.size() != write_rows) return;
  }
  cv_.notify_one();
}

void prediction_sink::run() {
  std::unique_lock<std::mutex> lock{mtx_};
  for (;;) {
    cv_.wait_for(lock, write_every,
                 [this] { return stop_ || queue_.size() >= write_rows; });
    if (queue_.empty()) {
      if (stop_) return;
      continue;
    }
    auto items = std::move(queue_);
    queue_.clear();
    lock.unlock();
    write(items);
    lock.lock();
  }
}

void prediction_sink::write(std::deque<item>& items) {
  std::vector<prediction_record> batch;
  for (auto& it : items) {
    auto ok = it.response.visit<schema::PredictResponse>([&](auto res) {
      (void)it.request.visit<schema::PredictRequest>([&](auto req) {
        auto preds = res.getPredictions();
        auto rows = req.getRows();
        for (unsigned i = 0; i < preds.size(); ++i) {
          prediction_record r;
          r.request_id = res.getRequestId();
          r.row = i;
          r.deployment = it.deployment;
          r.model = res.getModel();
          r.version = res.getVersion();
          r.time_us = it.time_us;
          r.latency_us = it.latency_us;
          if (i < rows.size()) {
            for (auto v : rows[i].getValues())
              r.inputs.push_back(v);
            for (auto c : rows[i].getCells()) {
              switch (c.which()) {
              case schema::Cell::NUMBER: {
                char buf[32];
                auto end =
                    std::to_chars(buf, buf + sizeof(buf), c.getNumber()).ptr;
                r.input_cells.emplace_back(buf, end);
                break;
              }
              case schema::Cell::TEXT:
                r.input_cells.emplace_back(c.getText());
                break;
              default:
                r.input_cells.emplace_back();
              }
            }
          }
          for (auto s : preds[i].getScores())
            r.scores.push_back(s);
          r.label = preds[i].getLabel();
          r.confidence = preds[i].getConfidence();
          if (it.hash) hash_in_place(r);
          batch.push_back(std::move(r));
        }
      });
    });
    (void)ok;
  }
  if (batch.empty()) return;
  if (auto err = log_->append(batch)) {
    static auto lg = log::get("serving");
    lg->error("prediction log {}: {}", path_, describe(err));
  }
}

} // namespace troupe::serving
