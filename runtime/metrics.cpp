#include "runtime/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

#include <sys/socket.h>

#include <httplib.h>

#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace troupe {

// -- series -------------------------------------------------------------------

detail::histogram_cell::histogram_cell(std::vector<double> upper_bounds)
    : bounds(std::move(upper_bounds)),
      counts(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds.size(); ++i)
    counts[i] = 0;
}

void histogram::observe(double v) const noexcept {
  if (!cell_) return;
  auto& b = cell_->bounds;
  // NaN compares false with everything: it falls through to +Inf.
  auto i = std::isnan(v)
               ? b.size()
               : static_cast<size_t>(std::lower_bound(b.begin(), b.end(), v) -
                                     b.begin());
  cell_->counts[i].fetch_add(1, std::memory_order_relaxed);
  detail::atomic_add(cell_->sum, v);
}

uint64_t histogram::count() const noexcept {
  if (!cell_) return 0;
  uint64_t n = 0;
  for (size_t i = 0; i <= cell_->bounds.size(); ++i)
    n += cell_->counts[i].load(std::memory_order_relaxed);
  return n;
}

double histogram::sum() const noexcept {
  return cell_ ? cell_->sum.load(std::memory_order_relaxed) : 0.0;
}

std::vector<double> default_buckets() {
  return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
}

std::vector<double> exponential_buckets(double start, double factor,
                                        size_t count) {
  std::vector<double> out;
  for (size_t i = 0; i < count; ++i, start *= factor)
    out.push_back(start);
  return out;
}

// -- text format --------------------------------------------------------------

namespace {

enum class kind { counter, gauge, histogram };

const char* kind_name(kind k) {
  switch (k) {
  case kind::counter:
    return "counter";
  case kind::gauge:
    return "gauge";
  case kind::histogram:
    return "histogram";
  }
  return "untyped";
}

using cell = std::variant<std::shared_ptr<detail::value_cell>,
                          std::shared_ptr<detail::histogram_cell>>;

struct family {
  kind type;
  std::string help;
  std::vector<double> buckets; // histograms only
  std::map<metric_labels, cell> series;
};

bool valid_name(std::string_view s, bool colons) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (colons && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

/// Escapes HELP text (backslash, newline) or, with `quotes`, a label value.
void escape(std::string& out, std::string_view s, bool quotes) {
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quotes)
      out += "\\\"";
    else
      out += c;
  }
}

/// A sample value: integers without a fraction, others in the shortest form
/// that reads back exactly, and NaN, +Inf, -Inf.
void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto r =
        std::abs(v) < 1e15 && v == std::floor(v)
            ? std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v))
            : std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, r.ptr);
  }
}

void append_labels(std::string& out, const metric_labels& ls,
                   const std::string* le = nullptr) {
  if (ls.empty() && !le) return;
  out += '{';
  bool first = true;
  for (auto& [k, v] : ls) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    escape(out, v, true);
    out += '"';
  }
  if (le) {
    if (!first) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

void render_family(std::string& out, const std::string& name, const family& f) {
  out += "# HELP " + name + ' ';
  escape(out, f.help, false);
  out += "\n# TYPE " + name + ' ' + kind_name(f.type) + '\n';
  for (auto& [ls, c] : f.series) {
    if (f.type != kind::histogram) {
      out += name;
      append_labels(out, ls);
      out += ' ';
      append_value(out, std::get<0>(c)->value.load(std::memory_order_relaxed));
      out += '\n';
      continue;
    }
    auto& h = *std::get<1>(c);
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= h.bounds.size(); ++i) {
      cumulative += h.counts[i].load(std::memory_order_relaxed);
      std::string le;
      if (i < h.bounds.size())
        append_value(le, h.bounds[i]);
      else
        le = "+Inf";
      out += name + "_bucket";
      append_labels(out, ls, &le);
      out += ' ' + std::to_string(cumulative) + '\n';
    }
    out += name + "_sum";
    append_labels(out, ls);
    out += ' ';
    append_value(out, h.sum.load(std::memory_order_relaxed));
    out += '\n' + name + "_count";
    append_labels(out, ls);
    // The count is the +Inf bucket, so the two always agree.
    out += ' ' + std::to_string(cumulative) + '\n';
  }
}

} // namespace

// -- registry -----------------------------------------------------------------

struct metrics_registry::impl {
  std::mutex mtx; // guards families
  std::map<std::string, family, std::less<>> families;
  std::mutex collectors_mtx; // held while collectors run
  std::vector<std::pair<collector_id, std::function<void()>>> collectors;
  collector_id next_collector = 1;

  /// The cell of name{labels}, created on first use, after checking names.
  caf::expected<cell> find_or_add(std::string_view name, std::string_view help,
                                  kind type, std::vector<double> buckets,
                                  metric_labels labels) {
    auto where = "metric '" + std::string{name} + "'";
    if (!valid_name(name, true))
      return make_error(errc::invalid_argument,
                        where +
                            ": invalid name (want [a-zA-Z_:][a-zA-Z0-9_:]*)");
    std::sort(labels.begin(), labels.end());
    for (size_t i = 0; i < labels.size(); ++i) {
      auto& k = labels[i].first;
      if (!valid_name(k, false) || k.rfind("__", 0) == 0)
        return make_error(errc::invalid_argument,
                          where + ": invalid label name '" + k +
                              "' (want [a-zA-Z_][a-zA-Z0-9_]*, no leading __)");
      if (i > 0 && labels[i - 1].first == k)
        return make_error(errc::invalid_argument,
                          where + ": label '" + k + "' given twice");
      if (type == kind::histogram && k == "le")
        return make_error(errc::invalid_argument,
                          where + ": 'le' is reserved for histogram buckets");
    }
    if (type == kind::histogram) {
      for (size_t i = 0; i < buckets.size(); ++i)
        if (!std::isfinite(buckets[i]) ||
            (i > 0 && !(buckets[i - 1] < buckets[i])))
          return make_error(errc::invalid_argument,
                            where + ": bucket bounds must be finite and "
                                    "strictly increasing");
    }
    std::lock_guard<std::mutex> guard{mtx};
    auto it = families.find(name);
    if (it == families.end())
      it = families
               .emplace(std::string{name},
                        family{type, std::string{help}, buckets, {}})
               .first;
    auto& f = it->second;
    if (f.type != type)
      return make_error(errc::invalid_argument,
                        where + " is a " + kind_name(f.type) + ", not a " +
                            kind_name(type));
    if (type == kind::histogram && f.buckets != buckets)
      return make_error(errc::invalid_argument,
                        where + ": every series of a histogram needs the same "
                                "buckets");
    auto s = f.series.find(labels);
    if (s != f.series.end()) return s->second;
    cell c;
    if (type == kind::histogram)
      c = std::make_shared<detail::histogram_cell>(std::move(buckets));
    else
      c = std::make_shared<detail::value_cell>();
    f.series.emplace(std::move(labels), c);
    return c;
  }
};

metrics_registry::metrics_registry() : impl_(std::make_unique<impl>()) {}

metrics_registry::~metrics_registry() = default;

caf::expected<counter> metrics_registry::add_counter(std::string_view name,
                                                     std::string_view help,
                                                     metric_labels labels) {
  auto c = impl_->find_or_add(name, help, kind::counter, {}, std::move(labels));
  if (!c) return c.error();
  return counter{std::get<0>(*c)};
}

caf::expected<gauge> metrics_registry::add_gauge(std::string_view name,
                                                 std::string_view help,
                                                 metric_labels labels) {
  auto c = impl_->find_or_add(name, help, kind::gauge, {}, std::move(labels));
  if (!c) return c.error();
  return gauge{std::get<0>(*c)};
}

caf::expected<histogram>
metrics_registry::add_histogram(std::string_view name, std::string_view help,
                                std::vector<double> buckets,
                                metric_labels labels) {
  auto c = impl_->find_or_add(name, help, kind::histogram, std::move(buckets),
                              std::move(labels));
  if (!c) return c.error();
  return histogram{std::get<1>(*c)};
}

bool metrics_registry::remove(std::string_view name,
                              const metric_labels& labels) {
  auto key = labels;
  std::sort(key.begin(), key.end());
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto it = impl_->families.find(name);
  return it != impl_->families.end() && it->second.series.erase(key) > 0;
}

metrics_registry::collector_id
metrics_registry::add_collector(std::function<void()> f) {
  std::lock_guard<std::mutex> guard{impl_->collectors_mtx};
  auto id = impl_->next_collector++;
  impl_->collectors.emplace_back(id, std::move(f));
  return id;
}

void metrics_registry::remove_collector(collector_id id) {
  std::lock_guard<std::mutex> guard{impl_->collectors_mtx};
  auto& cs = impl_->collectors;
  cs.erase(std::remove_if(cs.begin(), cs.end(),
                          [id](auto& c) { return c.first == id; }),
           cs.end());
}

std::string metrics_registry::render() {
  {
    std::lock_guard<std::mutex> guard{impl_->collectors_mtx};
    for (auto& [id, f] : impl_->collectors) {
      try {
        f();
      } catch (const std::exception& e) {
        log::get("metrics")->warn("metrics collector {} failed: {}", id,
                                  e.what());
      } catch (...) {
        log::get("metrics")->warn("metrics collector {} failed", id);
      }
    }
  }
  std::string out;
  std::lock_guard<std::mutex> guard{impl_->mtx};
  for (auto& [name, f] : impl_->families)
    render_family(out, name, f);
  return out;
}

// -- HTTP server --------------------------------------------------------------

struct metrics_server::impl {
  httplib::Server server;
  std::thread thread;
  uint16_t port = 0;
};

metrics_server::metrics_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

metrics_server::~metrics_server() {
  stop();
}

caf::expected<std::unique_ptr<metrics_server>>
metrics_server::start(metrics_registry& reg, const std::string& bind,
                      uint16_t port) {
  auto p = std::make_unique<impl>();
  auto& svr = p->server;
  // A scrape is one short request: two workers, one request per connection
  // and short timeouts, so that stop() waits at most about a second on a
  // client that connected and stays silent.
  svr.new_task_queue = [] { return new httplib::ThreadPool(2); };
  svr.set_keep_alive_max_count(1);
  svr.set_keep_alive_timeout(1);
  svr.set_read_timeout(1);
  svr.set_write_timeout(5);
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second
  // process share the port silently and split the scrapes between the two.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  svr.Get("/metrics", [&reg](const httplib::Request&, httplib::Response& res) {
    res.set_content(reg.render(), std::string{metrics_content_type}.c_str());
  });
  auto where = bind + ":" + std::to_string(port);
  if (port == 0) {
    int got = svr.bind_to_any_port(bind);
    if (got <= 0)
      return make_error(errc::io_failure,
                        "metrics server: cannot listen on " + bind);
    p->port = static_cast<uint16_t>(got);
  } else {
    if (!svr.bind_to_port(bind, port))
      return make_error(errc::io_failure, "metrics server: cannot listen on " +
                                              where +
                                              " (address in use or invalid?)");
    p->port = port;
  }
  p->thread = std::thread{[&svr] {
    log::name_thread("troupe.metrics");
    svr.listen_after_bind();
  }};
  // httplib's stop() only acts on a running server: wait until it runs.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (!svr.is_running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  std::unique_ptr<metrics_server> out{new metrics_server{std::move(p)}};
  if (!out->impl_->server.is_running()) {
    out->stop();
    return make_error(errc::io_failure,
                      "metrics server on " + where + " did not start");
  }
  return out;
}

uint16_t metrics_server::port() const {
  return impl_->port;
}

void metrics_server::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

} // namespace troupe
