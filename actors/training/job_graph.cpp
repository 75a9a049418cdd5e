// A GraphSAGE job's plan (job_run.hpp): node classification on a graph
// (Debian's package index, or a node table and an edge list,
// graph_tables.hpp). The coordinator reads the graph once, partitions it
// into [run] shards parts by METIS, renumbers the nodes so each part owns
// a contiguous range (the O(P) partition map) and cuts each part's shard
// (its adjacency and halo, its nodes' features and labels). The gang is
// [run] workers training.sage_worker actors, one a slot, and beside them
// one graph.shard actor a partition, placed round-robin on the workers'
// nodes without slots of their own (they serve data, as the dataset caches
// do); each shard loads its file through the dataset caches. The workers
// are data-parallel replicas that sample their share of every minibatch
// through the shards, so no worker holds the graph. A shard or worker that
// goes regroups the gang from the last checkpoint (the first worker's net
// every checkpoint_epochs epochs). The job writes OUT/model.sage (the net
// and AdamW) and OUT/summary.json, with the held-out nodes' accuracy
// against the majority class's.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/graph/debian_packages.hpp"
#include "actors/graph/node_task.hpp"
#include "actors/graph/shard_actor.hpp"
#include "actors/graph/shard_file.hpp"
#include "actors/models/parallel_mlp.hpp"
#include "actors/training/graph_tables.hpp"
#include "actors/training/job_run.hpp"
#include "actors/training/part_worker.hpp"
#include "actors/training/sage_worker.hpp"
#include "runtime/dataset_cache.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"

namespace troupe::training {

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

constexpr auto shard_load_timeout = std::chrono::minutes{10};

class graph_plan : public job_plan {
public:
  explicit graph_plan(job_config cfg) : cfg_(std::move(cfg)) {}

  caf::error prepare() override {
    auto& g = cfg_.graph;
    caf::expected<graph::node_task> t = caf::error{};
    if (!g.packages.empty()) {
      auto l = graph::debian_package_graph(g.packages);
      if (!l)
        return invalid(cfg_.source +
                       ": [data] packages: " + describe(l.error()));
      label_names_ = l->label_names;
      t = graph::node_task_of(*l, cfg_.shards, g.dims, g.holdout);
    } else {
      auto tg = read_table_graph(g.nodes, g.edges, g.id, cfg_.target);
      if (!tg) return invalid(cfg_.source + ": " + describe(tg.error()));
      label_names_ = tg->graph.label_names;
      t = graph::node_task_of(tg->graph, tg->features, tg->cols, cfg_.shards,
                              g.holdout);
    }
    if (!t) return t.error();
    if (t->train.empty())
      return invalid(cfg_.source + ": no labelled node to train on among " +
                     std::to_string(t->graph.nodes) + " nodes");
    if (label_names_.size() < 2)
      return invalid(cfg_.source + ": the nodes have " +
                     std::to_string(label_names_.size()) +
                     " class(es): a classifier needs 2 at least");
    nodes_ = t->graph.nodes;
    edges_ = t->graph.edges();
    cols_ = t->cols;
    train_ = t->train;
    test_ = t->test;
    majority_accuracy_ = t->majority_accuracy;
    for (uint32_t p = 0; p < t->map.partitions(); ++p) {
      counts_.push_back(t->map.count(p));
      auto s = graph::graph_shard_of(t->graph, t->map, p, t->features, cols_,
                                     t->labels);
      if (!s) return s.error();
      halo_ += s->view.halo.size();
      shards_.push_back(std::move(*s));
    }
    return caf::none;
  }

  uint32_t gang_size() const override { return cfg_.workers; }
  uint32_t least_gang_size() const override { return cfg_.min_workers; }

  std::string data_line() const override {
    return std::to_string(nodes_) + " nodes, " + std::to_string(edges_) +
           " edges, " + std::to_string(label_names_.size()) + " classes, " +
           std::to_string(train_.size()) + " training and " +
           std::to_string(test_.size()) + " test nodes in " +
           std::to_string(counts_.size()) + " shards (" +
           std::to_string(halo_) + " halo nodes), " + std::to_string(steps()) +
           " minibatches of " + std::to_string(cfg_.batch) + " seeds an epoch";
  }

  /// The workers, one a slot, then a shard a partition on the workers'
  /// nodes in turn.
  std::vector<member> members(const std::vector<std::string>& nodes,
                              const std::string& prefix) const override {
    auto out = workers_of(nodes, prefix, sage_worker_kind);
    for (size_t p = 0; p < counts_.size(); ++p)
      out.push_back({prefix + "shard-" + std::to_string(p),
                     nodes[p % nodes.size()], graph::graph_shard_kind, "",
                     caf::actor{}});
    return out;
  }

  void start(job_self self) override {
    auto& st = self->state;
    workers_ = static_cast<uint32_t>(st.gang.size() - counts_.size());
    epochs_done_ = st.start_step;
    stepping_since_ = {};
    if (auto err = write_shard_files(self)) return fail(self, err);
    auto cache = local_dataset_cache(self->system());
    if (!cache)
      return fail(
          self, make_error(errc::not_found, "the head runs no dataset cache"));
    // every shard loads its file (its node's cache fetches it from the
    // head's), then the workers start
    auto attempt = st.attempt;
    auto left = std::make_shared<size_t>(files_.size());
    auto src = caf::actor_cast<caf::actor>(cache);
    for (size_t p = 0; p < files_.size(); ++p) {
      auto shard = st.gang[workers_ + p].handle;
      auto where = "graph shard " + std::to_string(p) + " on node '" +
                   st.gang[workers_ + p].node + "'";
      auto failed = [=](caf::error& err) {
        auto& st = self->state;
        if (st.attempt != attempt || ended(st)) return;
        // a shard that went regroups the gang (gang_error tells it by
        // its error); the others' are named with the shard
        if (err.category() == error_category)
          err = make_error(static_cast<errc>(err.code()),
                           where + ": " + describe(err));
        gang_error(self, err);
      };
      self->request(cache, shard_load_timeout, dataset_put_atom::value,
                    files_[p])
          .then(
              [=](const envelope& ref) {
                if (self->state.attempt != attempt || ended(self->state))
                  return;
                self->request(shard, shard_load_timeout,
                              graph::graph_load_atom::value, ref, src)
                    .then(
                        [=](const envelope&) {
                          auto& st = self->state;
                          if (st.attempt != attempt || ended(st)) return;
                          if (--*left == 0) train(self);
                        },
                        failed);
              },
              failed);
    }
  }

  void on_progress(job_self, uint64_t step, double loss) override {
    if (stepping_since_ == steady::time_point{})
      stepping_since_ = steady::now();
    epochs_done_ = std::max(epochs_done_, step);
    if (!std::isnan(loss)) last_loss_ = loss;
  }

  void disband(job_self) override { store_.reset(); }

  /// The shards' files stay (a regrouped gang loads them again) until the
  /// job ends.
  void release() override {
    shards_.clear();
    train_.clear();
    test_.clear();
    std::error_code ec;
    if (!shard_dir_.empty()) std::filesystem::remove_all(shard_dir_, ec);
  }

  void
  status(job_self self,
         std::function<void(std::function<void(schema::JobStatus::Builder)>)>
             done) override {
    done([=](auto s) {
      s.setEpochs(cfg_.epochs);
      s.setShards(static_cast<uint32_t>(counts_.size()));
      // an elastic gang's workers: its placement's, shards aside
      if (workers_ > 0) s.setWorkers(workers_);
      parallel_status(self->state, s, cfg_.epochs, epochs_done_, train_count_,
                      train_seconds_);
    });
  }

private:
  uint64_t steps() const {
    return (train_.size() + cfg_.batch - 1) / std::max(cfg_.batch, 1u);
  }

  /// The shards' files, written once into OUT/graph-shards.
  caf::error write_shard_files(job_self self) {
    if (!files_.empty()) return caf::none;
    auto& st = self->state;
    shard_dir_ = st.init.out_dir + "/graph-shards";
    std::error_code ec;
    std::filesystem::create_directories(shard_dir_, ec);
    if (ec)
      return io_error("cannot create the directory", shard_dir_, ec.value());
    for (size_t p = 0; p < shards_.size(); ++p) {
      files_.push_back(shard_dir_ + "/part-" + std::to_string(p));
      if (auto err = graph::write_graph_shard(files_.back(), shards_[p]))
        return err;
    }
    // the coordinator keeps no copy of the graph
    shards_.clear();
    shards_.shrink_to_fit();
    return caf::none;
  }

  void train(job_self self) {
    auto& st = self->state;
    if (workers_ > 1) {
      auto store = models::torch_rendezvous::serve(
          "0.0.0.0", static_cast<int>(workers_), 60);
      if (!store) return fail(self, store.error());
      store_ = std::make_unique<models::torch_rendezvous>(std::move(*store));
    }
    std::vector<uint8_t> start_state;
    if (!st.ckpt.empty())
      (void)st.ckpt.visit<schema::JobCheckpoint>(
          [&](auto c) {
            start_state = bytes_of(c.getModel());
            return true;
          },
          whole_message);
    std::vector<caf::actor> shards;
    for (size_t p = 0; p < counts_.size(); ++p)
      shards.push_back(st.gang[workers_ + p].handle);
    std::vector<envelope> parts;
    for (uint32_t w = 0; w < workers_; ++w) {
      // the shards before the part: one sender, so in this order
      self->send(caf::actor_cast<part_worker_actor>(st.gang[w].handle),
                 part_actors_atom::value, shards);
      parts.push_back(part_of(self, w, start_state));
    }
    train_count_ = train_.size();
    train_parts_all(self, parts, [=](const std::vector<envelope>& answers) {
      finish(self, answers.front());
    });
  }

  envelope part_of(job_self self, uint32_t w,
                   const std::vector<uint8_t>& state) const {
    auto& st = self->state;
    return make_envelope<schema::SagePart>([&](auto p) {
      p.setAttempt(st.attempt);
      p.setRank(w);
      p.setWorld(workers_);
      p.setStorePort(store_ ? store_->port() : 0);
      p.setGroup(st.init.id + ".a" + std::to_string(st.attempt));
      p.setInputs(cols_);
      p.setHidden(cfg_.graph.hidden);
      p.setClasses(static_cast<uint32_t>(label_names_.size()));
      p.setLr(cfg_.net.lr);
      p.setWeightDecay(cfg_.net.weight_decay);
      p.setSeed(cfg_.seed);
      p.setThreads(cfg_.threads);
      auto f = p.initFanouts(static_cast<unsigned>(cfg_.graph.fanouts.size()));
      for (unsigned i = 0; i < cfg_.graph.fanouts.size(); ++i)
        f.set(i, cfg_.graph.fanouts[i]);
      p.setBatch(cfg_.batch);
      p.setEpochs(cfg_.epochs);
      auto c = p.initPartCounts(static_cast<unsigned>(counts_.size()));
      for (unsigned i = 0; i < counts_.size(); ++i)
        c.set(i, counts_[i]);
      auto tr = p.initTrain(static_cast<unsigned>(train_.size()));
      for (unsigned i = 0; i < train_.size(); ++i)
        tr.set(i, train_[i]);
      auto te = p.initTest(static_cast<unsigned>(test_.size()));
      for (unsigned i = 0; i < test_.size(); ++i)
        te.set(i, test_[i]);
      p.setStartEpoch(static_cast<uint32_t>(st.start_step));
      p.setStartState(kj::arrayPtr(state.data(), state.size()));
      p.setCheckpointEvery(cfg_.checkpoint_seconds > 0 ? cfg_.checkpoint_epochs
                                                       : 0);
    });
  }

  void finish(job_self self, const envelope& model) {
    auto& st = self->state;
    auto now = steady::now();
    train_seconds_ =
        std::chrono::duration<double>(now - st.training_since).count();
    auto got = model.visit<schema::JobCheckpoint>(
        [](auto c) {
          return std::make_pair(bytes_of(c.getModel()),
                                std::string{c.getModelConfig().cStr()});
        },
        whole_message);
    if (!got) return fail(self, got.error());
    auto info = nlohmann::json::parse(got->second, nullptr, false);
    nlohmann::json valid = nlohmann::json::object();
    if (info.is_object() && info.contains("valid")) valid = info["valid"];
    auto path = st.init.out_dir + "/model.sage";
    std::error_code ec;
    std::filesystem::create_directories(st.init.out_dir, ec);
    if (ec)
      return fail(self, io_error("cannot create the directory", st.init.out_dir,
                                 ec.value()));
    if (auto err = write_synced(path, got->first.data(), got->first.size()))
      return fail(self, err);
    auto trained = cfg_.epochs - std::min<uint64_t>(cfg_.epochs, st.start_step);
    auto step_seconds =
        stepping_since_ == steady::time_point{}
            ? train_seconds_
            : std::chrono::duration<double>(now - stepping_since_).count();
    std::vector<std::string> placement;
    for (size_t p = 0; p < counts_.size() && workers_ + p < st.gang.size(); ++p)
      placement.push_back(st.gang[workers_ + p].name + "@" +
                          st.gang[workers_ + p].node);
    nlohmann::json summary{
        {"family", cfg_.family},
        {"config", cfg_.source},
        {"nodes", nodes_},
        {"edges", edges_},
        {"classes", label_names_},
        {"features", cols_},
        {"train_nodes", train_count_},
        {"test_nodes", test_.size()},
        {"shards", counts_.size()},
        {"shard_nodes", counts_},
        {"halo_nodes", halo_},
        {"shard_placement", placement},
        {"workers", workers_},
        {"threads", cfg_.threads},
        {"epochs", cfg_.epochs},
        {"batch", cfg_.batch},
        {"fanouts", cfg_.graph.fanouts},
        {"hidden", cfg_.graph.hidden},
        {"train_loss", last_loss_},
        {"train_seconds", train_seconds_},
        {"step_seconds", step_seconds},
        {"nodes_per_second",
         step_seconds > 0
             ? static_cast<double>(trained * train_count_) / step_seconds
             : 0.0},
        {"valid", valid},
        {"majority_accuracy", majority_accuracy_},
        {"resumed_from_step", st.start_step},
        {"attempts", st.attempt},
        {"usage", usage_json(st)},
        {"data_wait_share", data_wait_share_of(st)},
        {"elapsed_seconds",
         std::chrono::duration<double>(now - st.started).count()},
        {"model", path}};
    if (auto err = write_json_file(st.init.out_dir + "/summary.json", summary))
      return fail(self, err);
    finish_job(self, summary);
  }

  job_config cfg_;
  std::vector<std::string> label_names_;
  uint32_t nodes_ = 0;
  uint64_t edges_ = 0;
  uint32_t cols_ = 0;
  std::vector<uint32_t> train_, test_;
  size_t train_count_ = 0;
  double majority_accuracy_ = 0;
  std::vector<uint64_t> counts_;
  size_t halo_ = 0;
  /// Each partition's shard until its file is written, then the files.
  std::vector<graph::graph_shard> shards_;
  std::vector<std::string> files_;
  std::string shard_dir_;
  uint32_t workers_ = 0;
  std::unique_ptr<models::torch_rendezvous> store_;
  uint64_t epochs_done_ = 0;
  double last_loss_ = std::nan("");
  double train_seconds_ = 0;
  steady::time_point stepping_since_;
};

} // namespace

std::shared_ptr<job_plan> make_graph_plan(const job_config& cfg) {
  return std::make_shared<graph_plan>(cfg);
}

} // namespace troupe::training
