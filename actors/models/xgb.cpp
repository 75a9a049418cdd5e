#include "actors/models/xgb.hpp"

#include <cctype>
#include <cstdio>
#include <mutex>

#include <xgboost/c_api.h>

#include "actors/models/errors.hpp"
#include "runtime/errors.hpp"
#include "runtime/log.hpp"

namespace troupe::xgb {

namespace {

/// XGBGetLastError() without its time stamp, source location and stack
/// trace: "[18:51:50] ./src/c_api/c_api.cc:1073: Check failed: ..." gives
/// "Check failed: ...".
std::string last_error() {
  std::string msg = XGBGetLastError();
  if (auto st = msg.find("Stack trace:"); st != std::string::npos)
    msg.erase(st);
  if (!msg.empty() && msg[0] == '[')
    if (auto end = msg.find("] "); end != std::string::npos && end < 12)
      msg.erase(0, end + 2);
  if (auto colon = msg.find(": "); colon != std::string::npos) {
    auto head = msg.substr(0, colon);
    if (head.find(".cc:") != std::string::npos ||
        head.find(".h:") != std::string::npos)
      msg.erase(0, colon + 2);
  }
  while (!msg.empty() && std::isspace(static_cast<unsigned char>(msg.back())))
    msg.pop_back();
  return msg;
}

/// The one place XGBoost return codes become errors
/// (models::errc::xgboost_failure).
caf::error check(int rc, const char* call) {
  if (rc == 0) return caf::none;
  return make_error(models::errc::xgboost_failure,
                    std::string{"XGBoost "} + call + ": " + last_error());
}

/// In-place prediction: normal prediction, all trees, output shaped
/// [rows, groups], NaN for missing.
constexpr const char* dense_predict_config =
    R"({"type": 0, "training": false, "iteration_begin": 0,)"
    R"( "iteration_end": 0, "strict_shape": true, "cache_id": 0,)"
    R"( "missing": NaN})";

} // namespace

// -- dmatrix -----------------------------------------------------------------

caf::expected<dmatrix> dmatrix::dense(const float* data, size_t rows,
                                      size_t cols,
                                      const std::vector<float>& labels) {
  if (!labels.empty() && labels.size() != rows)
    return make_error(errc::invalid_argument,
                      "XGBoost DMatrix: " + std::to_string(labels.size()) +
                          " labels for " + std::to_string(rows) + " rows");
  DMatrixHandle h = nullptr;
  if (auto err = check(XGDMatrixCreateFromMat(data, rows, cols, NAN, &h),
                       "XGDMatrixCreateFromMat"))
    return err;
  dmatrix out{h, rows, cols};
  if (!labels.empty())
    if (auto err = check(
            XGDMatrixSetFloatInfo(h, "label", labels.data(), labels.size()),
            "XGDMatrixSetFloatInfo(label)"))
      return err;
  return out;
}

caf::expected<void>
dmatrix::set_feature_types(const std::vector<std::string>& types) {
  if (types.size() != cols_)
    return make_error(errc::invalid_argument,
                      "XGBoost DMatrix: " + std::to_string(types.size()) +
                          " feature types for " + std::to_string(cols_) +
                          " columns");
  std::vector<const char*> ptrs;
  ptrs.reserve(types.size());
  for (auto& t : types)
    ptrs.push_back(t.c_str());
  if (auto err = check(XGDMatrixSetStrFeatureInfo(handle_, "feature_type",
                                                  ptrs.data(), ptrs.size()),
                       "XGDMatrixSetStrFeatureInfo(feature_type)"))
    return err;
  return {};
}

dmatrix::dmatrix(dmatrix&& other) noexcept
    : handle_(other.handle_), rows_(other.rows_), cols_(other.cols_) {
  other.handle_ = nullptr;
}

dmatrix& dmatrix::operator=(dmatrix&& other) noexcept {
  std::swap(handle_, other.handle_);
  std::swap(rows_, other.rows_);
  std::swap(cols_, other.cols_);
  return *this;
}

dmatrix::~dmatrix() {
  if (handle_) XGDMatrixFree(handle_);
}

// -- booster
// -------------------------------------------------------------------

caf::expected<booster> booster::create(const dmatrix* train) {
  BoosterHandle h = nullptr;
  DMatrixHandle cache[1] = {train ? train->handle() : nullptr};
  if (auto err =
          check(XGBoosterCreate(cache, train ? 1 : 0, &h), "XGBoosterCreate"))
    return err;
  return booster{h};
}

caf::expected<booster> booster::from_bytes(const std::vector<uint8_t>& bytes) {
  auto b = create(nullptr);
  if (!b) return b.error();
  if (auto err = check(
          XGBoosterLoadModelFromBuffer(b->handle_, bytes.data(), bytes.size()),
          "XGBoosterLoadModelFromBuffer"))
    return err;
  return b;
}

caf::expected<booster> booster::restore(const checkpoint& cp) {
  auto b = from_bytes(cp.model);
  if (!b) return b.error();
  if (auto err = check(XGBoosterLoadJsonConfig(b->handle_, cp.config.c_str()),
                       "XGBoosterLoadJsonConfig"))
    return err;
  return b;
}

caf::expected<checkpoint> booster::save_checkpoint() const {
  auto model = save_bytes("ubj");
  if (!model) return model.error();
  auto cfg = config();
  if (!cfg) return cfg.error();
  return checkpoint{std::move(*model), std::move(*cfg)};
}

caf::expected<std::string> booster::config() const {
  bst_ulong len = 0;
  const char* cfg = nullptr;
  if (auto err = check(XGBoosterSaveJsonConfig(handle_, &len, &cfg),
                       "XGBoosterSaveJsonConfig"))
    return err;
  return std::string(cfg, len);
}

caf::expected<size_t> booster::num_features() const {
  bst_ulong n = 0;
  if (auto err =
          check(XGBoosterGetNumFeature(handle_, &n), "XGBoosterGetNumFeature"))
    return err;
  return static_cast<size_t>(n);
}

/// Proxy matrices for in-place prediction, one per concurrent call.
struct booster::proxy_pool {
  std::mutex mtx;
  std::vector<DMatrixHandle> free;

  ~proxy_pool() {
    for (auto p : free)
      XGDMatrixFree(p);
  }

  /// A proxy for one call (null if XGBoost cannot make one: the call then
  /// goes without).
  DMatrixHandle take() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (!free.empty()) {
        auto p = free.back();
        free.pop_back();
        return p;
      }
    }
    DMatrixHandle p = nullptr;
    if (XGProxyDMatrixCreate(&p) != 0) return nullptr;
    return p;
  }

  void give_back(DMatrixHandle p) {
    if (!p) return;
    std::lock_guard<std::mutex> guard{mtx};
    free.push_back(p);
  }
};

booster::booster(void* h)
    : handle_(h), proxies_(std::make_unique<proxy_pool>()) {
  // nop
}

caf::expected<std::vector<float>> booster::predict_dense(const float* x,
                                                         size_t rows,
                                                         size_t cols,
                                                         size_t& groups) const {
  char array[160];
  std::snprintf(array, sizeof(array),
                R"({"data": [%llu, true], "shape": [%zu, %zu],)"
                R"( "typestr": "<f4", "version": 3})",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(x)),
                rows, cols);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  auto proxy = proxies_->take();
  auto rc = XGBoosterPredictFromDense(handle_, array, dense_predict_config,
                                      proxy, &shape, &dim, &out);
  // The output lives in the booster's per-thread buffer, not the proxy.
  proxies_->give_back(proxy);
  if (auto err = check(rc, "XGBoosterPredictFromDense")) return err;
  size_t n = 1;
  for (bst_ulong i = 0; i < dim; ++i)
    n *= shape[i];
  groups = dim == 2 ? shape[1] : 1;
  if (dim == 0 || shape[0] != rows)
    return make_error(models::errc::xgboost_failure,
                      "XGBoost gave " + std::to_string(n) + " values for " +
                          std::to_string(rows) + " rows");
  return std::vector<float>(out, out + n);
}

caf::expected<booster> booster::load(const std::string& path) {
  auto b = create(nullptr);
  if (!b) return b.error();
  if (auto err = check(XGBoosterLoadModel(b->handle_, path.c_str()),
                       ("XGBoosterLoadModel(" + path + ")").c_str()))
    return err;
  return b;
}

booster::booster(booster&& other) noexcept
    : handle_(other.handle_), proxies_(std::move(other.proxies_)) {
  other.handle_ = nullptr;
}

booster& booster::operator=(booster&& other) noexcept {
  std::swap(handle_, other.handle_);
  std::swap(proxies_, other.proxies_);
  return *this;
}

booster::~booster() {
  proxies_.reset(); // the proxies go before the booster
  if (handle_) XGBoosterFree(handle_);
}

caf::expected<void> booster::set_param(const std::string& name,
                                       const std::string& value) {
  if (auto err =
          check(XGBoosterSetParam(handle_, name.c_str(), value.c_str()),
                ("XGBoosterSetParam(" + name + "=" + value + ")").c_str()))
    return err;
  return {};
}

caf::expected<void> booster::update(const dmatrix& train) {
  auto r = rounds();
  if (!r) return r.error();
  if (auto err = check(XGBoosterUpdateOneIter(handle_, *r, train.handle()),
                       "XGBoosterUpdateOneIter"))
    return err;
  return {};
}

caf::expected<int> booster::rounds() const {
  int n = 0;
  if (auto err =
          check(XGBoosterBoostedRounds(handle_, &n), "XGBoosterBoostedRounds"))
    return err;
  return n;
}

caf::expected<std::vector<float>> booster::predict(const dmatrix& data,
                                                   int rounds) const {
  auto cfg =
      std::string{R"({"type": 0, "training": false, "iteration_begin": 0,)"
                  R"( "iteration_end": )"} +
      std::to_string(std::max(rounds, 0)) + R"(, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  if (auto err =
          check(XGBoosterPredictFromDMatrix(handle_, data.handle(), cfg.c_str(),
                                            &shape, &dim, &out),
                "XGBoosterPredictFromDMatrix"))
    return err;
  size_t n = 1;
  for (bst_ulong i = 0; i < dim; ++i)
    n *= shape[i];
  return std::vector<float>(out, out + n);
}

caf::expected<std::vector<uint8_t>>
booster::save_bytes(const std::string& format) const {
  if (format != "ubj" && format != "json")
    return make_error(errc::invalid_argument, "XGBoost model format '" +
                                                  format +
                                                  "' is not ubj or json");
  auto cfg = "{\"format\": \"" + format + "\"}";
  bst_ulong len = 0;
  const char* buf = nullptr;
  if (auto err =
          check(XGBoosterSaveModelToBuffer(handle_, cfg.c_str(), &len, &buf),
                "XGBoosterSaveModelToBuffer"))
    return err;
  return std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(buf),
                              reinterpret_cast<const uint8_t*>(buf) + len);
}

caf::expected<booster> booster::slice(int rounds) const {
  BoosterHandle out = nullptr;
  if (auto err =
          check(XGBoosterSlice(handle_, 0, rounds, 1, &out), "XGBoosterSlice"))
    return err;
  return booster{out};
}

caf::expected<void> booster::save(const std::string& path) const {
  if (auto err = check(XGBoosterSaveModel(handle_, path.c_str()),
                       ("XGBoosterSaveModel(" + path + ")").c_str()))
    return err;
  return {};
}

// -- collective --------------------------------------------------------------

caf::expected<collective> collective::join(const std::string& host, int port,
                                           int world, const std::string& task) {
  if (world < 1 || port <= 0 || host.empty())
    return make_error(errc::invalid_argument,
                      "XGBoost collective: tracker " + host + ":" +
                          std::to_string(port) + " and world size " +
                          std::to_string(world) + " make no job");
  // keys and values as text: rabit takes its settings as name=value pairs
  auto quoted = [](const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  };
  auto config = std::string{"{"} + R"("xgboost_communicator": "rabit", )" +
                R"("rabit_tracker_uri": )" + quoted(host) + ", " +
                R"("rabit_tracker_port": )" + std::to_string(port) + ", " +
                R"("rabit_world_size": )" + std::to_string(world) + ", " +
                R"("rabit_task_id": )" + quoted(task) + ", " +
                R"("rabit_enable_tcp_no_delay": "true")" + "}";
  // rabit prints each rank it hands out to the console: XGBoost's messages
  // go to troupe's log instead (debug: XGBoost's warnings are turned off
  // per booster anyway); the callback is thread-local, as the communicator
  XGBRegisterLogCallback(
      [](const char* msg) { log::get("xgboost")->debug("{}", msg); });
  if (auto err =
          check(XGCommunicatorInit(config.c_str()), "XGCommunicatorInit"))
    return err;
  collective out{XGCommunicatorGetRank(), XGCommunicatorGetWorldSize()};
  return out;
}

collective::collective(collective&& other) noexcept
    : joined_(other.joined_), rank_(other.rank_), world_(other.world_) {
  other.joined_ = false;
}

collective::~collective() {
  if (joined_) XGCommunicatorFinalize();
}

std::string version() {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." +
         std::to_string(patch);
}

} // namespace troupe::xgb
