#include "actors/serving/convert.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::serving {

using models::cell;
using models::check_no_nan;
using models::decide;
using models::load_options;
using models::model_format;
using models::parse_model_format;
using models::servable;

namespace fs = std::filesystem;

namespace {

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
          c == '-'))
      return false;
  return true;
}

caf::error bad(const std::string& what) {
  return make_error(errc::invalid_argument, what);
}

} // namespace

deployment_settings from_schema(schema::DeploymentSpec::Reader r) {
  deployment_settings d;
  d.name = r.getName();
  d.model = r.getModel();
  d.version = r.getVersion();
  if (d.version.empty()) d.version = "latest";
  d.min_replicas = r.getMinReplicas();
  d.max_replicas = r.getMaxReplicas();
  d.max_batch_rows = r.getMaxBatchRows();
  d.max_queue_delay_us = r.getMaxQueueDelayUs();
  d.queue_bound_rows = r.getQueueBoundRows();
  d.target_in_flight = r.getTargetInFlight();
  d.upscale_delay_ms = r.getUpscaleDelayMs();
  d.downscale_delay_ms = r.getDownscaleDelayMs();
  for (auto g : r.getFeatureGroups())
    d.feature_groups.push_back(g);
  d.log_inputs = r.getLogInputs();
  d.threads_per_replica = r.getThreadsPerReplica();
  d.target_p99_ms = r.getTargetP99Ms();
  return d;
}

void to_schema(const deployment_settings& d,
               schema::DeploymentSpec::Builder b) {
  b.setName(d.name);
  b.setModel(d.model);
  b.setVersion(d.version);
  b.setMinReplicas(d.min_replicas);
  b.setMaxReplicas(d.max_replicas);
  b.setMaxBatchRows(d.max_batch_rows);
  b.setMaxQueueDelayUs(d.max_queue_delay_us);
  b.setQueueBoundRows(d.queue_bound_rows);
  b.setTargetInFlight(d.target_in_flight);
  b.setUpscaleDelayMs(d.upscale_delay_ms);
  b.setDownscaleDelayMs(d.downscale_delay_ms);
  auto g = b.initFeatureGroups(static_cast<unsigned>(d.feature_groups.size()));
  for (unsigned i = 0; i < g.size(); ++i)
    g.set(i, d.feature_groups[i]);
  b.setLogInputs(d.log_inputs);
  b.setThreadsPerReplica(d.threads_per_replica);
  b.setTargetP99Ms(d.target_p99_ms);
}

caf::error validate(const deployment_settings& d) {
  auto where = "deployment '" + d.name + "': ";
  if (!valid_name(d.name))
    return bad("deployment name '" + d.name +
               "' is invalid: use 1-64 characters from [A-Za-z0-9._-]");
  if (d.model.empty()) return bad(where + "no model named");
  if (d.min_replicas < 1 || d.max_replicas < d.min_replicas ||
      d.max_replicas > 1024)
    return bad(where + "replicas " + std::to_string(d.min_replicas) + ":" +
               std::to_string(d.max_replicas) +
               " are not 1 <= MIN <= MAX <= 1024");
  if (d.max_batch_rows < 1 || d.max_batch_rows > 65536)
    return bad(where + "max batch rows " + std::to_string(d.max_batch_rows) +
               " is not within 1..65536");
  if (d.max_queue_delay_us > 10'000'000)
    return bad(where + "max queue delay " +
               std::to_string(d.max_queue_delay_us) + " us is above 10 s");
  if (d.queue_bound_rows < d.max_batch_rows)
    return bad(where + "queue bound " + std::to_string(d.queue_bound_rows) +
               " rows is below the batch size " +
               std::to_string(d.max_batch_rows));
  if (d.target_in_flight < 1)
    return bad(where + "target in-flight rows per replica must be >= 1");
  if (d.log_inputs != "values" && d.log_inputs != "hash")
    return bad(where + "log inputs '" + d.log_inputs +
               "' is neither 'values' nor 'hash'");
  if (d.threads_per_replica < 1 || d.threads_per_replica > 256)
    return bad(where + "threads per replica must be 1..256");
  return caf::none;
}

caf::expected<std::map<uint32_t, uint32_t>>
parse_weights(const std::string& text) {
  std::map<uint32_t, uint32_t> out;
  size_t at = 0;
  while (at <= text.size()) {
    auto end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    auto part = text.substr(at, end - at);
    auto eq = part.find('=');
    try {
      if (eq == std::string::npos) throw std::invalid_argument("no =");
      auto v = part.substr(0, eq);
      if (!v.empty() && (v[0] == 'v' || v[0] == 'V')) v = v.substr(1);
      size_t used = 0;
      auto version = std::stoul(v, &used);
      if (used != v.size() || version == 0 || version > UINT32_MAX)
        throw std::invalid_argument("version");
      auto w = part.substr(eq + 1);
      auto weight = std::stoul(w, &used);
      if (used != w.size() || weight > 1'000'000)
        throw std::invalid_argument("weight");
      if (out.count(static_cast<uint32_t>(version)))
        return bad("traffic '" + text + "': version " + v + " given twice");
      out[static_cast<uint32_t>(version)] = static_cast<uint32_t>(weight);
    } catch (const std::exception&) {
      return bad(
          "traffic '" + text + "': '" + part +
          "' is not VERSION=WEIGHT (e.g. 1=90,2=10; weights 0..1000000)");
    }
    at = end + 1;
  }
  uint64_t total = 0;
  for (auto& [v, w] : out)
    total += w;
  if (total == 0) return bad("traffic '" + text + "': every weight is 0");
  return out;
}

caf::error to_schema(const model_version& v, schema::ModelVersion::Builder b,
                     bool with_content) {
  b.setName(v.name);
  b.setVersion(v.version);
  b.setFormat(to_string(v.format)); // deprecated, kept for old readers
  b.setFormatKind(to_schema(v.format));
  auto st = b.initStages(static_cast<unsigned>(v.stages.size()));
  unsigned i = 0;
  for (auto& s : v.stages)
    st.set(i++, s);
  b.setRegisteredBy(v.registered_by);
  b.setRegisteredAt(v.registered_at);
  b.setDescription(v.description);
  b.setSource(v.source);
  b.setTask(tabular::to_string(v.task));
  auto cl = b.initClasses(static_cast<unsigned>(v.classes.size()));
  for (unsigned k = 0; k < cl.size(); ++k)
    cl.set(k, v.classes[k]);
  auto fe = b.initFeatures(static_cast<unsigned>(v.features.size()));
  auto fk = b.initFeatureKinds(static_cast<unsigned>(v.features.size()));
  for (unsigned k = 0; k < fe.size(); ++k) {
    fe.set(k, v.features[k].name);
    fk.set(k, v.features[k].kind == tabular::column_kind::numeric
                  ? "numeric"
                  : "categorical");
  }
  b.setAllowNan(v.allow_nan);
  auto ml = b.initMetrics(static_cast<unsigned>(v.metrics.size()));
  i = 0;
  for (auto& [name, value] : v.metrics) {
    ml[i].setName(name);
    ml[i].setValue(value);
    ++i;
  }
  auto files = b.initFiles(static_cast<unsigned>(v.files.size()));
  for (unsigned k = 0; k < files.size(); ++k) {
    auto& f = v.files[k];
    files[k].setName(f.name);
    files[k].setSize(f.size);
    files[k].setChecksum(f.checksum);
    if (!with_content) continue;
    auto path = fs::path{v.artifact_dir} / f.name;
    auto read = read_file(path);
    if (!read) return read.error();
    auto& bytes = *read;
    if (bytes.size() != f.size ||
        checksum(bytes.data(), bytes.size()) != f.checksum)
      return make_error(errc::malformed_message,
                        "model " + v.name + " v" + std::to_string(v.version) +
                            ": file " + f.name + " changed since registration");
    files[k].setContent(kj::arrayPtr(
        reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
  }
  return caf::none;
}

schema::ModelFormat to_schema(models::model_format f) {
  switch (f) {
  case models::model_format::troupe:
    return schema::ModelFormat::TROUPE;
  case models::model_format::xgboost:
    return schema::ModelFormat::XGBOOST;
  case models::model_format::torchscript:
    return schema::ModelFormat::TORCHSCRIPT;
  }
  return schema::ModelFormat::UNKNOWN;
}

caf::expected<models::model_format> format_of(schema::ModelVersion::Reader mv) {
  switch (mv.getFormatKind()) {
  case schema::ModelFormat::TROUPE:
    return models::model_format::troupe;
  case schema::ModelFormat::XGBOOST:
    return models::model_format::xgboost;
  case schema::ModelFormat::TORCHSCRIPT:
    return models::model_format::torchscript;
  default:
    return models::parse_model_format(mv.getFormat());
  }
}

caf::expected<std::unique_ptr<servable>>
load_cached(schema::ModelVersion::Reader mv, const std::string& dir,
            size_t threads) {
  auto format = format_of(mv);
  if (!format) return format.error();
  load_options opts;
  opts.threads = threads;
  opts.allow_nan = mv.getAllowNan();
  if (*format == model_format::troupe)
    return servable::load(*format, dir, {}, opts);
  std::string artifact;
  for (auto f : mv.getFiles())
    if (f.getName() != "spec.json" && artifact.empty())
      artifact = (fs::path{dir} / std::string{f.getName()}).string();
  if (artifact.empty())
    return make_error(errc::not_found, "model " + std::string{mv.getName()} +
                                           ": no model file among its files");
  return servable::load(*format, artifact,
                        (fs::path{dir} / "spec.json").string(), opts);
}

caf::expected<std::vector<float>>
encode_request(const servable& model, schema::PredictRequest::Reader r) {
  std::string where = "request " + std::string{r.getRequestId()} + ": ";
  auto rows = r.getRows();
  if (rows.size() == 0) return bad(where + "no rows to predict");
  bool cells = rows[0].getCells().size() > 0;
  auto width = model.features();
  std::vector<float> x;
  if (!cells) {
    x.reserve(rows.size() * width);
    for (unsigned i = 0; i < rows.size(); ++i) {
      auto v = rows[i].getValues();
      if (rows[i].getCells().size() > 0)
        return bad(where + "row " + std::to_string(i + 1) +
                   " gives cells where row 1 gives values: use one form");
      if (v.size() != width)
        return bad(where + "row " + std::to_string(i + 1) + " has " +
                   std::to_string(v.size()) + " values, the model takes " +
                   std::to_string(width) + " features");
      for (auto f : v)
        x.push_back(f);
    }
    auto enc = model.encode_values(std::move(x), rows.size());
    if (!enc) return bad(where + describe(enc.error()));
    x = std::move(*enc);
  } else {
    std::vector<std::string> columns;
    for (auto c : r.getColumns())
      columns.push_back(c);
    std::vector<std::vector<cell>> raw(rows.size());
    for (unsigned i = 0; i < rows.size(); ++i) {
      if (rows[i].getValues().size() > 0)
        return bad(where + "row " + std::to_string(i + 1) +
                   " gives values where row 1 gives cells: use one form");
      for (auto c : rows[i].getCells()) {
        switch (c.which()) {
        case schema::Cell::NUMBER:
          raw[i].push_back(cell::of(c.getNumber()));
          break;
        case schema::Cell::TEXT:
          raw[i].push_back(cell::of(std::string{c.getText()}));
          break;
        default:
          raw[i].push_back(cell::none());
        }
      }
    }
    auto enc = model.encode(columns, raw);
    if (!enc) return bad(where + describe(enc.error()));
    x = std::move(*enc);
  }
  if (!model.allow_nan())
    if (auto err = check_no_nan(model.prep(), x.data(), rows.size()))
      return bad(where + describe(err));
  return x;
}

void fill_predictions(const servable& model, const float* scores, size_t rows,
                      schema::PredictResponse::Builder r) {
  auto& classes = model.classes();
  auto cl = r.initClasses(static_cast<unsigned>(classes.size()));
  for (unsigned k = 0; k < cl.size(); ++k)
    cl.set(k, classes[k]);
  auto outputs = model.outputs();
  auto ds = decide(model.task(), outputs, scores, rows);
  auto ps = r.initPredictions(static_cast<unsigned>(rows));
  for (unsigned i = 0; i < rows; ++i) {
    auto s = ps[i].initScores(static_cast<unsigned>(outputs));
    for (unsigned k = 0; k < outputs; ++k)
      s.set(k, scores[i * outputs + k]);
    auto& d = ds[i];
    if (d.label >= 0 && static_cast<size_t>(d.label) < classes.size())
      ps[i].setLabel(classes[static_cast<size_t>(d.label)]);
    ps[i].setConfidence(d.confidence);
  }
}

} // namespace troupe::serving
