#include "actors/features/cli.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "actors/features/parse.hpp"
#include "actors/features/shell.hpp"
#include "runtime/bridge.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::features {

namespace {

caf::expected<int64_t> parse_ttl_ms(const std::string& text) {
  if (text.empty() || text == "0") return int64_t{0};
  // The number in front of the unit (what std::stod reads, without its
  // exceptions: no number, or one out of range, uses nothing).
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  size_t used = errno == ERANGE ? 0 : static_cast<size_t>(end - text.c_str());
  auto unit = text.substr(used);
  double mult = 0;
  if (unit == "ms")
    mult = 1;
  else if (unit == "s")
    mult = 1e3;
  else if (unit == "m")
    mult = 60e3;
  else if (unit == "h")
    mult = 3600e3;
  else if (unit == "d")
    mult = 86400e3;
  if (used == 0 || mult == 0 || v < 0)
    return make_error(errc::invalid_argument,
                      "--ttl '" + text + "' is not like 30d, 12h, 90m, 45s");
  return static_cast<int64_t>(v * mult);
}

caf::expected<group_spec> spec_from(const cli_options& o) {
  group_spec g;
  g.name = o.group;
  g.description = o.description;
  if (!o.vector.empty()) {
    auto colon = o.vector.rfind(':');
    if (colon == std::string::npos)
      return make_error(errc::invalid_argument,
                        "--vector '" + o.vector + "' is not NAME:WIDTH");
    g.vector_name = o.vector.substr(0, colon);
    auto w = parse_unsigned(std::string_view{o.vector}.substr(colon + 1));
    if (!w || *w == 0)
      return make_error(errc::invalid_argument, "--vector '" + o.vector +
                                                    "': the width is not a "
                                                    "positive integer");
    g.width = static_cast<uint32_t>(*w);
  }
  for (auto& f : o.fields) {
    auto colon = f.find(':');
    if (colon == std::string::npos)
      return make_error(errc::invalid_argument,
                        "--field '" + f +
                            "' is not NAME:TYPE (add ! for "
                            "not nullable)");
    field_spec fs;
    fs.name = f.substr(0, colon);
    auto type = f.substr(colon + 1);
    if (!type.empty() && type.back() == '!') {
      fs.nullable = false;
      type.pop_back();
    }
    auto t = parse_field_type(type);
    if (!t) return t.error();
    fs.type = *t;
    g.fields.push_back(fs);
  }
  auto ttl = parse_ttl_ms(o.ttl);
  if (!ttl) return ttl.error();
  g.ttl_ms = *ttl;
  g.allow_nan = o.allow_nan;
  if (auto err = validate_group(g)) return err;
  return g;
}

/// The groups as the shell's `groups` table prints them.
std::string groups_table(const std::vector<group_spec>& gs) {
  auto list = make_envelope<schema::FeatureGroupList>([&](auto b) {
    auto out = b.initGroups(static_cast<unsigned>(gs.size()));
    for (unsigned i = 0; i < gs.size(); ++i)
      to_schema(gs[i], out[i]);
  });
  auto text = format_feature_groups(list);
  return text ? *text : describe(text.error());
}

} // namespace

CLI::App* add_command(CLI::App& app, cli_options& o) {
  auto* cmd = app.add_subcommand(
      "features", "feature store: groups, ingest, point-in-time join, get");
  cmd->require_subcommand(1);
  auto store_flags = [&o](CLI::App* c) {
    c->add_option("--cluster", o.store.cluster,
                  "gateway HOST:PORT (default: an embedded store)");
    c->add_option("--data-dir", o.store.data_dir, "embedded store's directory")
        ->capture_default_str();
    c->add_option("--shards", o.store.shards, "shards of a new embedded store")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
  };
  o.create_cmd = cmd->add_subcommand("create", "register a feature group");
  o.create_cmd->add_option("--group", o.group, "group name")->required();
  o.create_cmd->add_option("--vector", o.vector,
                           "float32 vector NAME:WIDTH, e.g. emb:5000");
  o.create_cmd->add_option("--field", o.fields,
                           "scalar field NAME:TYPE (int64|float64|text|"
                           "timestamp; a trailing ! = not nullable); "
                           "repeatable");
  o.create_cmd->add_option("--ttl", o.ttl,
                           "retention: 30d, 12h (default: "
                           "keep forever)");
  o.create_cmd->add_flag("--allow-nan", o.allow_nan, "accept NaN values");
  o.create_cmd->add_option("--description", o.description, "free text");
  store_flags(o.create_cmd);

  o.groups_cmd = cmd->add_subcommand("groups", "list the feature groups");
  store_flags(o.groups_cmd);

  o.get_cmd = cmd->add_subcommand("get", "one entity's features");
  o.get_cmd->add_option("group", o.group, "group")->required();
  o.get_cmd->add_option("entity", o.entity, "entity key")->required();
  o.get_cmd->add_option("--as-of", o.as_of,
                        "time (ISO 8601 or seconds since 1970)");
  store_flags(o.get_cmd);

  auto& in = o.ingest;
  o.ingest_cmd = cmd->add_subcommand("ingest", "stream a CSV into a group");
  o.ingest_cmd->add_option("--group", in.group, "group")->required();
  o.ingest_cmd->add_option("--file", in.file, "CSV file")->required();
  o.ingest_cmd->add_option("--entity", in.entity_column, "entity column")
      ->required();
  o.ingest_cmd->add_option("--time", in.time_column, "event time column")
      ->required();
  o.ingest_cmd
      ->add_option("--time-unit", in.time_unit,
                   "unit of integer times: s|ms|us")
      ->check(CLI::IsMember({"s", "ms", "us"}))
      ->capture_default_str();
  o.ingest_cmd->add_option("--on-error", in.on_error, "stop|skip")
      ->check(CLI::IsMember({"stop", "skip"}))
      ->capture_default_str();
  o.ingest_cmd->add_flag("--upsert", in.upsert,
                         "missing values keep the values in force");
  o.ingest_cmd->add_option("--batch-rows", in.batch_rows,
                           "rows per batch (default: about 4 MiB)");
  o.ingest_cmd->add_flag("--quiet", in.quiet, "no progress");
  store_flags(o.ingest_cmd);

  auto& j = o.join;
  o.join_cmd = cmd->add_subcommand(
      "join", "label rows + features as of each row's time -> training CSV");
  o.join_cmd->add_option("--labels", j.labels, "labels CSV")->required();
  o.join_cmd->add_option("--entity", j.entity_column, "entity column")
      ->required();
  o.join_cmd->add_option("--time", j.time_column, "time column")->required();
  o.join_cmd->add_option("--groups", o.groups, "G1,G2")->required();
  o.join_cmd->add_option("--out", j.out, "output CSV")->required();
  o.join_cmd
      ->add_option("--time-unit", j.time_unit, "unit of integer times: s|ms|us")
      ->check(CLI::IsMember({"s", "ms", "us"}))
      ->capture_default_str();
  o.join_cmd->add_option("--on-error", j.on_error, "stop|skip")
      ->check(CLI::IsMember({"stop", "skip"}))
      ->capture_default_str();
  o.join_cmd->add_flag("--quiet", j.quiet, "no progress");
  store_flags(o.join_cmd);

  o.validate_cmd = cmd->add_subcommand(
      "validate", "validate a group's latest rows on the shards: infer a "
                  "schema, or check one (exit 1 on blocking anomalies)");
  o.validate_cmd->add_option("--group", o.group, "group")->required();
  o.validate_cmd->add_option("--schema", o.schema_in,
                             "schema JSON to check against (from troupe "
                             "validate infer); default: infer one");
  o.validate_cmd->add_option("--out", o.schema_out,
                             "write the (inferred) schema here");
  o.validate_cmd->add_option("--sample", o.sample,
                             "rows to read at most (default: all)");
  store_flags(o.validate_cmd);
  return cmd;
}

int run(cli_options& o, const kind_registrar& kinds) {
  auto fail = [](const caf::error& err, int code) {
    std::fprintf(stderr, "troupe features: %s\n", describe(err).c_str());
    return code;
  };
  group_spec spec;
  if (*o.create_cmd) {
    auto g = spec_from(o);
    if (!g) return fail(g.error(), 2);
    spec = *g;
  }
  auto c = connect_store(o.store, kinds);
  if (!c) return fail(c.error(), 2);
  if (*o.create_cmd) {
    auto g = c->create(spec);
    if (!g) return fail(g.error(), 1);
    std::printf("%s", groups_table({*g}).c_str());
    return 0;
  }
  if (*o.groups_cmd) {
    auto gs = c->groups();
    if (!gs) return fail(gs.error(), 1);
    std::printf("%s", groups_table(*gs).c_str());
    return 0;
  }
  if (*o.get_cmd) {
    auto g = c->group(o.group);
    if (!g) return fail(g.error(), 1);
    int64_t as_of = INT64_MAX;
    if (!o.as_of.empty()) {
      auto t = parse_time(o.as_of, "s");
      if (!t) return fail(t.error(), 2);
      as_of = *t;
    }
    auto r = c->call("get", [&] {
      auto req = c->store.getAsOfRequest();
      req.setGroup(o.group);
      req.setEntity(o.entity);
      req.setAsOf(as_of);
      auto resp = c->client->wait(req.send());
      // rendered as the shell's `get` renders it
      capnp::MallocMessageBuilder mb;
      mb.setRoot(resp.getRow());
      auto text = format_feature_row(make_envelope<schema::FeatureGroup>(
                                         [&](auto b) { to_schema(*g, b); }),
                                     envelope::of<schema::FeatureRow>(mb));
      std::printf("%s", text ? text->c_str() : describe(text.error()).c_str());
      return resp.getRow().getFound();
    });
    if (!r) return fail(r.error(), 1);
    return *r ? 0 : 1;
  }
  if (*o.ingest_cmd) {
    auto r = ingest(*c, o.ingest);
    if (!r) return fail(r.error(), 2);
    for (auto& e : r->errors)
      std::fprintf(stderr, "bad row: %s\n", e.c_str());
    if (r->bad_rows > r->errors.size())
      std::fprintf(
          stderr, "... and %llu more bad rows\n",
          static_cast<unsigned long long>(r->bad_rows - r->errors.size()));
    std::printf("ingested %llu rows into %s in %.2f s (%.0f rows/s, %llu "
                "batches), %llu bad rows%s\n",
                static_cast<unsigned long long>(r->rows),
                o.ingest.group.c_str(), r->seconds,
                r->seconds > 0 ? r->rows / r->seconds : 0.0,
                static_cast<unsigned long long>(r->batches),
                static_cast<unsigned long long>(r->bad_rows),
                o.ingest.on_error == "skip" && r->bad_rows ? " skipped" : "");
    if (!r->stopped.empty()) {
      std::fprintf(stderr, "troupe features: ingest stopped: %s\n",
                   r->stopped.c_str());
      return 1;
    }
    return 0;
  }
  if (*o.validate_cmd) {
    std::string schema_text;
    if (!o.schema_in.empty()) {
      std::ifstream in{o.schema_in};
      if (!in)
        return fail(
            make_error(errc::not_found, "cannot read '" + o.schema_in + "'"),
            2);
      std::stringstream ss;
      ss << in.rdbuf();
      schema_text = ss.str();
    }
    auto r = c->call("validate", [&] {
      auto req = c->store.validateRequest();
      auto v = req.initRequest();
      v.setGroup(o.group);
      v.setSchema(schema_text);
      v.setSample(o.sample);
      auto old = c->client->timeout();
      c->client->set_timeout(std::chrono::hours{1});
      auto resp = c->client->wait(req.send());
      c->client->set_timeout(old);
      auto rep = resp.getReport();
      auto anomalies = nlohmann::json::parse(rep.getAnomalies().cStr());
      std::printf("%s: %llu rows validated%s\n", o.group.c_str(),
                  static_cast<unsigned long long>(rep.getRows()),
                  schema_text.empty() ? ", schema inferred" : "");
      for (auto& a : anomalies)
        std::printf("  %-8s %-40s %8llu  %s\n", a.value("level", "").c_str(),
                    a.value("id", "").c_str(),
                    static_cast<unsigned long long>(a.value("count", 0ull)),
                    a.value("description", "").c_str());
      if (!schema_text.empty())
        std::printf("%zu anomalies, %u blocking\n", anomalies.size(),
                    rep.getBlocking());
      return std::make_pair(rep.getBlocking(),
                            std::string{rep.getSchema().cStr()});
    });
    if (!r) return fail(r.error(), 1);
    auto& [blocking, schema_json] = *r;
    if (!o.schema_out.empty()) {
      atomic_file out{o.schema_out};
      out.stream() << schema_json << "\n";
      if (auto err = out.commit())
        return fail(
            make_error(errc::invalid_argument, "validate: " + describe(err)),
            1);
    }
    return blocking > 0 ? 1 : 0;
  }
  if (*o.join_cmd) {
    std::stringstream ss{o.groups};
    std::string g;
    while (std::getline(ss, g, ','))
      if (!g.empty()) o.join.groups.push_back(g);
    auto r = join(*c, o.join);
    if (!r) return fail(r.error(), 1);
    for (auto& e : r->errors)
      std::fprintf(stderr, "bad row: %s\n", e.c_str());
    std::printf("joined %llu label rows with %zu group(s) in %.2f s (%.0f "
                "rows/s): %llu matched, %llu without a version, %llu bad "
                "rows skipped -> %s\n",
                static_cast<unsigned long long>(r->rows), o.join.groups.size(),
                r->seconds, r->seconds > 0 ? r->rows / r->seconds : 0.0,
                static_cast<unsigned long long>(r->matched),
                static_cast<unsigned long long>(r->missing),
                static_cast<unsigned long long>(r->bad_rows),
                o.join.out.c_str());
    return 0;
  }
  return 2;
}

} // namespace troupe::features
