#include "actors/training/service.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

#include <caf/all.hpp>

#include "actors/graph/shard_actor.hpp"
#include "actors/training/job.hpp"
#include "actors/training/job_journal.hpp"
#include "actors/training/mlp_worker.hpp"
#include "actors/training/ps_shard.hpp"
#include "actors/training/ps_worker.hpp"
#include "actors/training/sage_worker.hpp"
#include "actors/training/stage_worker.hpp"
#include "actors/training/tp_worker.hpp"
#include "actors/training/xgb_worker.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/dataset_store.hpp"
#include "runtime/directory.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "runtime/kind_args.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

constexpr auto request_timeout = std::chrono::seconds{30};

struct service_state {
  std::string data_dir;
  std::shared_ptr<job_journal> journal;
  caf::error journal_error;
  caf::actor directory;
  std::map<std::string, job_actor> jobs;
  uint64_t next_id = 1;
  std::shared_ptr<spdlog::logger> log = log::get("training");
};

using service_self = typed_worker_of<service_actor>::type;
using state_ptr = std::shared_ptr<service_state>;

caf::expected<std::string> ref_of(const envelope& env) {
  return env.visit<schema::JobRef>(
      [](auto r) { return std::string{r.getId().cStr()}; });
}

caf::result<envelope> ask(service_self* self, const job_actor& job) {
  auto rp = self->make_response_promise<envelope>();
  self->request(job, request_timeout, status_atom::value)
      .then([rp](const envelope& e) mutable { rp.deliver(e); },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

/// A JobSubmit as read (from a client, or from the journal).
struct submit {
  std::string id, config, origin, out_dir, workers;
  /// The config's data files and their content in the head's cache.
  std::vector<std::pair<std::string, dataset_ref>> datasets;
  /// The nodes of the gang its submitter leased (not journaled: a resumed
  /// job leases its own).
  std::vector<std::string> gang;
};

caf::expected<submit> submit_of(const envelope& env) {
  auto sub = env.visit<schema::JobSubmit>([](auto r) {
    submit s{r.getId(),
             r.getConfig(),
             r.getOrigin(),
             r.getOutDir(),
             r.getWorkers(),
             {},
             {}};
    for (auto d : r.getDatasets())
      s.datasets.emplace_back(d.getPath(), read_ref(d.getData()));
    for (auto node : r.getGang())
      s.gang.emplace_back(node.cStr());
    return s;
  });
  if (!sub) return sub.error();
  for (auto& [path, ref] : sub->datasets)
    if (auto err = check_ref(ref)) return err;
  return sub;
}

/// The JobSubmit envelope of `sub`.
envelope to_envelope(const submit& sub) {
  return make_envelope<schema::JobSubmit>([&](auto b) {
    b.setId(sub.id);
    b.setConfig(sub.config);
    b.setOrigin(sub.origin);
    b.setOutDir(sub.out_dir);
    b.setWorkers(sub.workers);
    auto list = b.initDatasets(static_cast<unsigned>(sub.datasets.size()));
    for (unsigned i = 0; i < sub.datasets.size(); ++i) {
      list[i].setPath(sub.datasets[i].first);
      write_ref(list[i].initData(), sub.datasets[i].second);
    }
  });
}

/// Points `cfg`'s data at the head's copies: links named as the submitter's
/// files (so that messages still name them) in `view`, to the files of the
/// dataset cache; the Fashion-MNIST files of [data] images go to
/// `view`/images.
caf::error place_data(job_config& cfg, const submit& sub,
                      const std::vector<std::string>& held,
                      const std::filesystem::path& view) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove_all(view, ec);
  fs::create_directories(view / "images", ec);
  if (ec) return io_error("create", view, ec.value());
  for (size_t i = 0; i < sub.datasets.size(); ++i) {
    fs::path orig = sub.datasets[i].first;
    bool image =
        !cfg.images.empty() && orig.parent_path() == fs::path{cfg.images};
    auto link = (image ? view / "images" : view) / orig.filename();
    if (fs::exists(fs::symlink_status(link, ec)))
      link = view / (std::to_string(i) + "-" + orig.filename().string());
    fs::create_symlink(held[i], link, ec);
    if (ec) return io_error("link", link, ec.value());
    if (image) continue;
    if (cfg.train == orig.string()) cfg.train = link.string();
    if (cfg.valid == orig.string()) cfg.valid = link.string();
    if (cfg.module == orig.string()) cfg.module = link.string();
    auto& g = cfg.graph;
    for (auto& p : g.packages)
      if (p == orig.string()) p = link.string();
    if (g.nodes == orig.string()) g.nodes = link.string();
    if (g.edges == orig.string()) g.edges = link.string();
  }
  for (auto& [path, ref] : sub.datasets)
    if (!cfg.images.empty() &&
        fs::path{path}.parent_path() == fs::path{cfg.images}) {
      cfg.images = (view / "images").string();
      break;
    }
  return caf::none;
}

/// The submit's config, with its workers override.
caf::expected<job_config> config_of(const submit& sub) {
  auto cfg = parse_job_config(
      sub.config, sub.origin.empty() ? std::string{"job.toml"} : sub.origin);
  if (!cfg) return cfg.error();
  if (!sub.workers.empty())
    if (auto err = override_workers(*cfg, sub.workers)) return err;
  return cfg;
}

/// Starts a job's coordinator, with the service's directory and journal,
/// once its data uploaded to the head's cache is in place.
caf::result<envelope> start_job(service_self* self, const state_ptr& st,
                                job_init init, const submit& sub) {
  init.directory = st->directory;
  init.journal = st->journal;
  auto rp = self->make_response_promise<envelope>();
  auto kept = std::make_shared<const submit>(sub);
  auto go = [=](caf::expected<std::vector<std::string>> held) mutable {
    auto id = init.id;
    if (held && !held->empty())
      if (auto err = place_data(init.cfg, *kept, *held,
                                st->data_dir + "/" + id + ".data"))
        held = err;
    if (!held) {
      rp.deliver(held.error());
      return;
    }
    if (st->jobs.count(id)) { // a resume of the same job came first
      rp.deliver(make_error(errc::already_exists,
                            "job '" + id + "' is loaded here already"));
      return;
    }
    auto job = spawn_job(self->system(), std::move(init));
    st->jobs[id] = job;
    self->request(job, request_timeout, status_atom::value)
        .then([rp](const envelope& e) mutable { rp.deliver(e); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  };
  std::vector<dataset_ref> refs;
  for (auto& [path, ref] : sub.datasets)
    refs.push_back(ref);
  held_datasets(
      self, refs, [=](caf::expected<std::vector<std::string>> held) mutable {
        if (!held)
          held = make_error(errc::not_found,
                            "job " + kept->id + ": " + describe(held.error()));
        go(std::move(held));
      });
  return rp;
}

caf::result<envelope> on_submit(service_self* self, const state_ptr& st,
                                const envelope& env) {
  auto sub = submit_of(env);
  if (!sub) return sub.error();
  auto cfg = config_of(*sub);
  if (!cfg) return cfg.error();
  if (st->journal_error) return st->journal_error;
  auto stored = st->journal->ids();
  if (!stored) return stored.error();
  auto taken = [&](const std::string& id) {
    return st->jobs.count(id) > 0 ||
           std::find(stored->begin(), stored->end(), id) != stored->end();
  };
  auto id = sub->id;
  if (id.empty()) {
    do
      id = "train-" + std::to_string(st->next_id++);
    while (taken(id));
  } else if (!valid_name(id)) {
    return make_error(errc::invalid_argument,
                      "job id '" + id +
                          "' is invalid: use 1-64 characters from "
                          "[A-Za-z0-9._-]");
  } else if (taken(id)) {
    return make_error(errc::already_exists,
                      "a job named '" + id +
                          "' exists already (a stored one continues with "
                          "resume)");
  }
  if (!st->directory)
    return make_error(errc::not_found, "no directory in this process");
  job_init init;
  init.id = id;
  init.cfg = std::move(*cfg);
  init.out_dir = sub->out_dir.empty() ? st->data_dir + "/" + id : sub->out_dir;
  init.gang = sub->gang;
  sub->id = id;
  sub->out_dir = init.out_dir;
  if (auto err = st->journal->add_job(id, to_envelope(*sub))) return err;
  st->log->info("job {} submitted", id);
  return start_job(self, st, std::move(init), *sub);
}

caf::result<envelope> on_resume(service_self* self, const state_ptr& st,
                                const envelope& env) {
  if (st->journal_error) return st->journal_error;
  auto id = ref_of(env);
  if (!id) return id.error();
  if (st->jobs.count(*id))
    return make_error(errc::already_exists,
                      "job '" + *id + "' is loaded here already");
  auto stored = st->journal->job(*id);
  if (!stored) return stored.error();
  auto sub = submit_of(*stored);
  if (!sub) return sub.error();
  auto cfg = config_of(*sub);
  if (!cfg) return cfg.error();
  auto ckpt = st->journal->checkpoint(*id);
  if (!ckpt) return ckpt.error();
  auto events = st->journal->events(*id);
  if (!events) return events.error();
  uint32_t attempts = 0;
  bool finished = false;
  for (auto& e : *events)
    (void)e.visit<schema::JobEvent>([&](auto r) {
      attempts = std::max(attempts, r.getAttempt());
      finished = r.getKind() == schema::JobEvent::Kind::FINISHED;
      return true;
    });
  if (finished)
    return make_error(errc::invalid_argument,
                      "job '" + *id +
                          "' finished already (its results are in " +
                          sub->out_dir + "): nothing to resume");
  job_init init;
  init.id = *id;
  init.cfg = std::move(*cfg);
  init.out_dir = sub->out_dir;
  if (*ckpt) init.resume = **ckpt;
  init.attempts = attempts;
  st->log->info("job {} resumed", *id);
  return start_job(self, st, std::move(init), *sub);
}

caf::result<envelope> on_list(service_self* self, const state_ptr& st) {
  struct pending_t {
    caf::typed_response_promise<envelope> rp;
    size_t left = 0;
    std::map<std::string, envelope> got;
  };
  auto p = std::make_shared<pending_t>();
  p->rp = self->make_response_promise<envelope>();
  p->left = st->jobs.size();
  auto done = [p] {
    p->rp.deliver(make_envelope<schema::JobList>([&](auto l) {
      auto list = l.initJobs(static_cast<unsigned>(p->got.size()));
      unsigned i = 0;
      for (auto& [id, e] : p->got)
        (void)e.template visit<schema::JobStatus>([&](auto r) {
          list.setWithCaveats(i++, r);
          return true;
        });
    }));
  };
  if (p->left == 0) {
    done();
    return p->rp;
  }
  for (auto& [id, job] : st->jobs) {
    auto name = id;
    self->request(job, request_timeout, status_atom::value)
        .then(
            [=](const envelope& e) {
              p->got.emplace(name, e);
              if (--p->left == 0) done();
            },
            [=](caf::error&) {
              if (--p->left == 0) done();
            });
  }
  return p->rp;
}

service_actor::behavior_type training_service(service_self* self,
                                              kind_args args) {
  self->identify(args);
  auto st = std::make_shared<service_state>();
  st->data_dir = std::filesystem::absolute(
                     args.config.empty() ? std::string{"."} : args.config)
                     .lexically_normal()
                     .string();
  if (auto h = self->system().registry().get(directory_registry_key))
    st->directory = caf::actor_cast<caf::actor>(h);
  if (auto j = job_journal::open(st->data_dir + "/jobs")) {
    st->journal = std::move(*j);
  } else {
    st->journal_error = j.error();
    st->log->error("training: no job journal: {}", describe(j.error()));
  }
  self->attach_functor([st] {
    for (auto& [id, job] : st->jobs)
      caf::anon_send_exit(job, caf::exit_reason::user_shutdown);
  });
  auto unknown = [st](const std::string& id) {
    return make_error(errc::not_found, "no job '" + id + "' (see `jobs`)");
  };
  return {
      [=](submit_atom, const envelope& env) {
        return on_submit(self, st, env);
      },
      [=](status_atom, const envelope& env) -> caf::result<envelope> {
        auto id = ref_of(env);
        if (!id) return id.error();
        auto j = st->jobs.find(*id);
        if (j == st->jobs.end()) return unknown(*id);
        return ask(self, j->second);
      },
      [=](list_atom, const envelope&) { return on_list(self, st); },
      [=](stop_atom, const envelope& env) -> caf::result<envelope> {
        auto id = ref_of(env);
        if (!id) return id.error();
        auto j = st->jobs.find(*id);
        if (j == st->jobs.end()) return unknown(*id);
        self->send(j->second, stop_atom::value);
        return ask(self, j->second);
      },
      [=](resume_atom, const envelope& env) {
        return on_resume(self, st, env);
      },
      self->stats_handler(),
  };
}

} // namespace

void register_kinds(caf::actor_system_config& cfg) {
  cfg.add_actor_type(service_kind, training_service);
  mark_service_kind(service_kind);
  register_ps_kinds(cfg);
  register_xgb_kinds(cfg);
  register_mlp_kinds(cfg);
  register_stage_kinds(cfg);
  register_tp_kinds(cfg);
  register_sage_kinds(cfg);
  // the shards a graph job places and its workers sample through
  graph::register_graph_kinds(cfg);
  register_training_schemas();
}

} // namespace troupe::training
