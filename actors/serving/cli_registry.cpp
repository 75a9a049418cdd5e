#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "actors/serving/cli_detail.hpp"
#include "actors/serving/rpc.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "runtime/time.hpp"

// `troupe models register|list|stage`: the model registry of a cluster.

namespace troupe::serving::cli_detail {

namespace fs = std::filesystem;

namespace {

void add_file(capnp::List<schema::ModelFile>::Builder list, unsigned i,
              const std::string& name, const std::string& bytes) {
  list[i].setName(name);
  list[i].setSize(bytes.size());
  list[i].setChecksum(checksum(bytes.data(), bytes.size()));
  list[i].setContent(kj::arrayPtr(
      reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
}

} // namespace

caf::error fill_registration(const cli_options& opts,
                             schema::Registration::Builder r) {
  int given = !opts.model_dir.empty() + !opts.xgboost_file.empty() +
              !opts.torchscript_file.empty();
  if (given != 1)
    return make_error(errc::invalid_argument,
                      "give exactly one of --model DIR, --xgboost FILE or "
                      "--torchscript FILE");
  std::vector<std::pair<std::string, std::string>> files;
  std::string format;
  std::string source;
  if (!opts.model_dir.empty()) {
    format = "troupe";
    source = opts.model_dir;
    std::error_code ec;
    if (!fs::is_directory(opts.model_dir, ec))
      return make_error(errc::not_found,
                        "--model " + opts.model_dir + " is not a directory");
    for (auto& e : fs::directory_iterator(opts.model_dir, ec)) {
      if (!e.is_regular_file()) continue;
      auto bytes = read_file(e.path());
      if (!bytes) return bytes.error();
      files.emplace_back(e.path().filename().string(), std::move(*bytes));
    }
    std::sort(files.begin(), files.end());
  } else {
    format = opts.xgboost_file.empty() ? "torchscript" : "xgboost";
    source =
        opts.xgboost_file.empty() ? opts.torchscript_file : opts.xgboost_file;
    if (opts.spec_file.empty())
      return make_error(errc::invalid_argument,
                        "--" + format +
                            " needs --spec SPEC.json (the "
                            "features, task and classes)");
    auto bytes = read_file(source);
    if (!bytes) return bytes.error();
    auto name = fs::path{source}.filename().string();
    if (name == "spec.json")
      name = "model" + fs::path{source}.extension().string();
    files.emplace_back(name, std::move(*bytes));
    auto spec = read_file(opts.spec_file);
    if (!spec) return spec.error();
    files.emplace_back("spec.json", std::move(*spec));
  }
  r.setName(opts.name);
  r.setFormat(format);
  auto fl = r.initFiles(static_cast<unsigned>(files.size()));
  for (unsigned i = 0; i < files.size(); ++i)
    add_file(fl, i, files[i].first, files[i].second);
  const char* user = std::getenv("USER");
  r.setRegisteredBy(user ? user : "unknown");
  r.setDescription(opts.description);
  std::error_code ec;
  auto abs = fs::absolute(source, ec);
  r.setSource(ec ? source : abs.string());
  auto ml = r.initMetrics(static_cast<unsigned>(opts.metrics.size()));
  for (unsigned i = 0; i < ml.size(); ++i) {
    auto& kv = opts.metrics[i];
    auto eq = kv.find('=');
    try {
      if (eq == std::string::npos || eq == 0) throw std::invalid_argument("");
      ml[i].setName(kv.substr(0, eq));
      ml[i].setValue(std::stod(kv.substr(eq + 1)));
    } catch (const std::exception&) {
      return make_error(errc::invalid_argument,
                        "--metric '" + kv + "' is not NAME=NUMBER");
    }
  }
  auto sl = r.initStages(static_cast<unsigned>(opts.stages.size()));
  for (unsigned i = 0; i < sl.size(); ++i)
    sl.set(i, opts.stages[i]);
  r.setAllowNan(!opts.disallow_nan);
  return caf::none;
}

std::string describe_version(schema::ModelVersion::Reader v) {
  std::string out =
      std::string{v.getName()} + " v" + std::to_string(v.getVersion()) + " (" +
      std::string{v.getFormat()} + ", " + std::string{v.getTask()} + ", " +
      std::to_string(v.getFeatures().size()) + " features";
  for (auto m : v.getMetrics()) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), ", %s %.4g", m.getName().cStr(),
                  m.getValue());
    out += buf;
  }
  out += ")";
  if (v.getStages().size() > 0) {
    out += " [";
    for (unsigned i = 0; i < v.getStages().size(); ++i)
      out += (i ? "," : "") + std::string{v.getStages()[i]};
    out += "]";
  }
  out += " by " + std::string{v.getRegisteredBy()} + " at " +
         format_time(v.getRegisteredAt(), fraction::shortest);
  return out;
}

int run_register(cli_options& opts) {
  const std::string cmd = "models register";
  capnp::MallocMessageBuilder msg;
  if (auto err = fill_registration(opts, msg.initRoot<schema::Registration>()))
    return fail(cmd, describe(err), 2);
  auto c = connect(opts.cluster);
  if (!c) return fail(cmd, describe(c.error()));
  auto v = rpc_call("register", [&] {
    auto req = c->api.registerRequest();
    req.setRegistration(msg.getRoot<schema::Registration>().asReader());
    auto answer = c->client->wait(req.send());
    return describe_version(answer.getVersion());
  });
  if (!v) return fail(cmd, describe(v.error()));
  std::printf("registered %s\n", v->c_str());
  return 0;
}

int run_list(cli_options& opts) {
  auto c = connect(opts.cluster);
  if (!c) return fail("models list", describe(c.error()));
  auto out = rpc_call("models", [&] {
    auto req = c->api.modelsRequest();
    req.setName(opts.name);
    std::vector<std::string> lines;
    auto answer = c->client->wait(req.send());
    for (auto v : answer.getList().getVersions())
      lines.push_back(describe_version(v));
    return lines;
  });
  if (!out) return fail("models list", describe(out.error()));
  for (auto& l : *out)
    std::printf("%s\n", l.c_str());
  if (out->empty()) std::printf("no models registered\n");
  return 0;
}

int run_stage(cli_options& opts) {
  auto c = connect(opts.cluster);
  if (!c) return fail("models stage", describe(c.error()));
  auto parsed = parse_version(opts.version);
  if (!parsed) return fail("models stage", describe(parsed.error()), 2);
  auto version = *parsed;
  auto out = rpc_call("stage", [&] {
    auto req = c->api.setStageRequest();
    req.setName(opts.name);
    req.setVersion(version);
    req.setStage(opts.stage);
    req.setOn(!opts.off);
    auto answer = c->client->wait(req.send());
    return describe_version(answer.getVersion());
  });
  if (!out) return fail("models stage", describe(out.error()));
  std::printf("%s\n", out->c_str());
  return 0;
}

} // namespace troupe::serving::cli_detail
