#include "actors/automl/xgb.hpp"

#include <xgboost/c_api.h>

#include "runtime/errors.hpp"

namespace troupe::xgb {

namespace {

/// The one place XGBoost return codes become errors.
caf::error check(int rc, const char* call) {
  if (rc == 0) return caf::none;
  return make_error(errc::invalid_argument,
                    std::string{"XGBoost "} + call + ": " + XGBGetLastError());
}

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
  bst_ulong len = 0;
  const char* cfg = nullptr;
  if (auto err = check(XGBoosterSaveJsonConfig(handle_, &len, &cfg),
                       "XGBoosterSaveJsonConfig"))
    return err;
  return checkpoint{std::move(*model), std::string(cfg, len)};
}

caf::expected<booster> booster::load(const std::string& path) {
  auto b = create(nullptr);
  if (!b) return b.error();
  if (auto err = check(XGBoosterLoadModel(b->handle_, path.c_str()),
                       ("XGBoosterLoadModel(" + path + ")").c_str()))
    return err;
  return b;
}

booster::booster(booster&& other) noexcept : handle_(other.handle_) {
  other.handle_ = nullptr;
}

booster& booster::operator=(booster&& other) noexcept {
  std::swap(handle_, other.handle_);
  return *this;
}

booster::~booster() {
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

caf::expected<std::vector<float>> booster::predict(const dmatrix& data) const {
  const char* cfg = R"({"type": 0, "training": false, "iteration_begin": 0,)"
                    R"( "iteration_end": 0, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  if (auto err = check(XGBoosterPredictFromDMatrix(handle_, data.handle(), cfg,
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

caf::expected<void> booster::save(const std::string& path) const {
  if (auto err = check(XGBoosterSaveModel(handle_, path.c_str()),
                       ("XGBoosterSaveModel(" + path + ")").c_str()))
    return err;
  return {};
}

std::string version() {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." +
         std::to_string(patch);
}

} // namespace troupe::xgb
