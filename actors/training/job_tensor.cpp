// A tensor-parallel job's plan (job_run.hpp): a classifier whose layers are
// split over [run] workers training.tp_worker actors (tp_worker.hpp), one a
// slot of the gang: a column-parallel input layer, [model] blocks residual
// MLP blocks whose inner `hidden` features are split, and a classification
// layer split by classes. The coordinator reads the data once
// (net_data.hpp), learns the inputs' standardisation, serves the group's
// rendezvous (c10d's TCPStore) and sends every worker the same rows (the
// dataset caches keep one copy of equal shards a node). Every
// checkpoint_epochs epochs each rank sends its part; once every rank's part
// of that epoch is in, the job keeps them together (MemberStates) as its
// checkpoint, and a lost worker regroups the gang from it. The job writes
// OUT/model.tensor (every rank's part) and OUT/summary.json.

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/models/parallel_mlp.hpp"
#include "actors/training/job_run.hpp"
#include "actors/training/member_parts.hpp"
#include "actors/training/net_data.hpp"
#include "actors/training/part_worker.hpp"
#include "actors/training/row_shard.hpp"
#include "actors/training/tp_worker.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
}

std::vector<uint8_t> bytes_of(capnp::Data::Reader d) {
  return std::vector<uint8_t>(d.begin(), d.end());
}

std::vector<uint8_t> member_states(const std::vector<std::vector<uint8_t>>& s) {
  auto e = make_envelope<schema::MemberStates>([&](auto m) {
    auto l = m.initStates(static_cast<unsigned>(s.size()));
    for (unsigned i = 0; i < s.size(); ++i)
      l.set(i, kj::arrayPtr(s[i].data(), s[i].size()));
  });
  auto* b = static_cast<const uint8_t*>(e.data());
  return std::vector<uint8_t>(b, b + e.size_bytes());
}

class tensor_plan : public job_plan {
public:
  explicit tensor_plan(job_config cfg) : cfg_(std::move(cfg)) {}

  caf::error prepare() override {
    if (auto err = read_net_data(cfg_, data_)) return err;
    if (data_.task == tabular::task_kind::regression)
      return invalid(cfg_.source +
                     ": a tensor job trains a classifier; the target is a "
                     "regression's");
    classes_ = static_cast<uint32_t>(std::max<size_t>(data_.classes, 2));
    auto& t = data_.train;
    steps_ = t.rows / cfg_.batch;
    if (steps_ == 0)
      return invalid(cfg_.source + ": " + std::to_string(t.rows) +
                     " training rows make no minibatch of batch = " +
                     std::to_string(cfg_.batch));
    if (classes_ < cfg_.workers || cfg_.net.width < cfg_.workers ||
        cfg_.net.hidden < cfg_.workers)
      return invalid(cfg_.source + ": " + std::to_string(classes_) +
                     " classes, width " + std::to_string(cfg_.net.width) +
                     " and hidden " + std::to_string(cfg_.net.hidden) +
                     " cannot be split over " + std::to_string(cfg_.workers) +
                     " workers");
    center_.assign(t.cols, 0.f);
    scale_.assign(t.cols, 1.f);
    for (size_t c = 0; c < t.cols; ++c) {
      double sum = 0, sq = 0;
      for (size_t r = 0; r < t.rows; ++r) {
        double v = t.at(r, c);
        sum += v;
        sq += v * v;
      }
      double mean = sum / static_cast<double>(t.rows);
      double var = sq / static_cast<double>(t.rows) - mean * mean;
      center_[c] = static_cast<float>(mean);
      scale_[c] = static_cast<float>(var > 1e-12 ? std::sqrt(var) : 1.0);
    }
    return caf::none;
  }

  uint32_t gang_size() const override { return cfg_.workers; }

  std::string data_line() const override {
    return std::to_string(data_.train.rows) + " training and " +
           std::to_string(data_.valid.rows) + " validation rows, " +
           std::to_string(data_.train.cols) + " columns, " +
           std::to_string(classes_) + " classes split over " +
           std::to_string(cfg_.workers) + " workers, " +
           std::to_string(steps_) + " minibatches of " +
           std::to_string(cfg_.batch) + " rows an epoch";
  }

  std::vector<member> members(const std::vector<std::string>& nodes,
                              const std::string& prefix) const override {
    std::vector<member> out;
    for (size_t k = 0; k < nodes.size(); ++k)
      out.push_back({prefix + "rank-" + std::to_string(k), nodes[k],
                     tp_worker_kind, "", caf::actor{}});
    return out;
  }

  void start(job_self self) override {
    auto& st = self->state;
    parts_ = member_parts{cfg_.workers};
    epochs_done_ = st.start_step;
    stepping_since_ = {};
    auto store = models::torch_rendezvous::serve(
        "0.0.0.0", static_cast<int>(cfg_.workers), 60);
    if (!store) return fail(self, store.error());
    store_ = std::make_unique<models::torch_rendezvous>(std::move(*store));
    std::vector<std::vector<uint8_t>> states(cfg_.workers);
    if (!st.ckpt.empty())
      if (auto err = restore(st.ckpt, states)) return fail(self, err);
    auto shards = write_rank_shards(self);
    if (!shards) return fail(self, shards.error());
    std::vector<envelope> parts;
    for (uint32_t k = 0; k < cfg_.workers; ++k)
      parts.push_back(part_of(self, k, states[k]));
    train_parts_all(
        self, parts,
        [=](const std::vector<envelope>& answers) { finish(self, answers); },
        *shards);
  }

  std::optional<envelope> whole_checkpoint(job_self self, const envelope& ckpt,
                                           uint64_t step) override {
    auto& st = self->state;
    auto states = parts_.add(ckpt, step);
    if (!states) return std::nullopt;
    return model_checkpoint(step, st.attempt, member_states(*states));
  }

  void on_progress(job_self, uint64_t step, double loss) override {
    if (stepping_since_ == steady::time_point{})
      stepping_since_ = steady::now();
    epochs_done_ = std::max(epochs_done_, step);
    if (!std::isnan(loss)) last_loss_ = loss;
  }

  void disband(job_self) override {
    parts_.clear();
    store_.reset();
  }

  void release() override {
    data_.train = tabular::matrix{};
    data_.valid = tabular::matrix{};
  }

  void
  status(job_self self,
         std::function<void(std::function<void(schema::JobStatus::Builder)>)>
             done) override {
    done([=](auto s) {
      s.setEpochs(cfg_.epochs);
      parallel_status(self->state, s, cfg_.epochs, epochs_done_,
                      steps_ * cfg_.batch, train_seconds_);
    });
  }

private:
  caf::error restore(const envelope& ckpt,
                     std::vector<std::vector<uint8_t>>& states) const {
    auto model = ckpt.visit<schema::JobCheckpoint>(
        [](auto c) { return bytes_of(c.getModel()); }, whole_message);
    if (!model) return model.error();
    auto e = envelope::from_bytes(capnp::typeId<schema::MemberStates>(),
                                  model->data(), model->size());
    if (!e) return e.error();
    auto n = e->visit<schema::MemberStates>(
        [&](auto m) {
          auto s = m.getStates();
          if (s.size() != states.size()) return size_t{s.size()};
          for (unsigned i = 0; i < s.size(); ++i)
            states[i] = bytes_of(s[i]);
          return states.size();
        },
        whole_message);
    if (!n) return n.error();
    if (*n != states.size())
      return invalid("the checkpoint holds " + std::to_string(*n) +
                     " ranks' parts, the job has " +
                     std::to_string(states.size()) + " workers");
    return caf::none;
  }

  /// Every rank's shard: the same training rows (equal bytes, which each
  /// node's dataset cache keeps once).
  caf::expected<std::vector<std::string>> write_rank_shards(job_self self) {
    auto& st = self->state;
    std::error_code ec;
    std::filesystem::create_directories(st.init.out_dir, ec);
    if (ec) return io_error("create", st.init.out_dir, ec.value());
    auto& t = data_.train;
    std::vector<std::string> out;
    for (uint32_t k = 0; k < cfg_.workers; ++k) {
      auto path = st.init.out_dir + "/.rank-" + std::to_string(st.attempt) +
                  "-" + std::to_string(k);
      if (auto err = write_row_shard(path, static_cast<uint32_t>(t.cols),
                                     t.values.data(), t.labels.data(), t.rows))
        return err;
      out.push_back(std::move(path));
    }
    return out;
  }

  envelope part_of(job_self self, uint32_t k,
                   const std::vector<uint8_t>& state) const {
    auto& st = self->state;
    auto& v = data_.valid;
    return make_envelope<schema::TensorPart>([&](auto p) {
      p.setAttempt(st.attempt);
      p.setRank(k);
      p.setWorld(cfg_.workers);
      p.setStorePort(store_->port());
      p.setGroup(st.init.id + ".a" + std::to_string(st.attempt));
      p.setInputs(static_cast<uint32_t>(data_.train.cols));
      p.setClasses(classes_);
      p.setWidth(cfg_.net.width);
      p.setHidden(cfg_.net.hidden);
      p.setBlocks(cfg_.net.blocks);
      p.setLr(cfg_.net.lr);
      p.setWeightDecay(cfg_.net.weight_decay);
      p.setSeed(cfg_.seed);
      p.setEpochs(cfg_.epochs);
      p.setBatch(cfg_.batch);
      p.setSteps(steps_);
      p.setThreads(cfg_.threads);
      auto c = p.initCenter(static_cast<unsigned>(center_.size()));
      auto s = p.initScale(static_cast<unsigned>(scale_.size()));
      for (unsigned i = 0; i < center_.size(); ++i) {
        c.set(i, center_[i]);
        s.set(i, scale_[i]);
      }
      p.setStartEpoch(static_cast<uint32_t>(st.start_step));
      p.setStartState(kj::arrayPtr(state.data(), state.size()));
      p.setCheckpointEvery(cfg_.checkpoint_seconds > 0 ? cfg_.checkpoint_epochs
                                                       : 0);
      p.setValidValues(
          kj::arrayPtr(reinterpret_cast<const uint8_t*>(v.values.data()),
                       v.values.size() * sizeof(float)));
      p.setValidLabels(
          kj::arrayPtr(reinterpret_cast<const uint8_t*>(v.labels.data()),
                       v.labels.size() * sizeof(float)));
      p.setValidRows(static_cast<uint32_t>(v.rows));
    });
  }

  void finish(job_self self, const std::vector<envelope>& answers) {
    auto& st = self->state;
    auto now = steady::now();
    train_seconds_ =
        std::chrono::duration<double>(now - st.training_since).count();
    auto step_seconds =
        stepping_since_ == steady::time_point{}
            ? train_seconds_
            : std::chrono::duration<double>(now - stepping_since_).count();
    std::vector<std::vector<uint8_t>> states;
    nlohmann::json valid = nlohmann::json::object();
    std::vector<nlohmann::json> ranks;
    for (size_t k = 0; k < answers.size(); ++k) {
      auto r = answers[k].visit<schema::JobCheckpoint>(
          [&](auto c) {
            states.push_back(bytes_of(c.getModel()));
            auto info = nlohmann::json::parse(c.getModelConfig().cStr(),
                                              nullptr, false);
            nlohmann::json rank = {
                {"rank", k},
                {"node", k < st.gang.size() ? st.gang[k].node : ""}};
            if (info.is_object()) {
              if (info.contains("parameter_bytes"))
                rank["parameter_bytes"] = info["parameter_bytes"];
              if (k == 0 && info.contains("valid")) valid = info["valid"];
            }
            ranks.push_back(rank);
            return true;
          },
          whole_message);
      if (!r) return fail(self, r.error());
    }
    auto whole = member_states(states);
    std::error_code ec;
    std::filesystem::create_directories(st.init.out_dir, ec);
    if (ec)
      return fail(self, io_error("cannot create the directory", st.init.out_dir,
                                 ec.value()));
    auto path = st.init.out_dir + "/model.tensor";
    if (auto err = write_synced(path, whole.data(), whole.size()))
      return fail(self, err);
    auto trained = cfg_.epochs - std::min<uint64_t>(cfg_.epochs, st.start_step);
    auto per_epoch = steps_ * cfg_.batch;
    nlohmann::json summary{
        {"family", cfg_.family},
        {"config", cfg_.source},
        {"train_rows", data_.train.rows},
        {"valid_rows", data_.valid.rows},
        {"columns", data_.train.cols},
        {"classes", classes_},
        {"workers", cfg_.workers},
        {"ranks", ranks},
        {"width", cfg_.net.width},
        {"hidden", cfg_.net.hidden},
        {"blocks", cfg_.net.blocks},
        {"epochs", cfg_.epochs},
        {"batch", cfg_.batch},
        {"steps_per_epoch", steps_},
        {"train_loss", last_loss_},
        {"train_seconds", train_seconds_},
        {"step_seconds", step_seconds},
        {"examples_per_second_stepping",
         step_seconds > 0
             ? static_cast<double>(trained * per_epoch) / step_seconds
             : 0.0},
        {"resumed_from_step", st.start_step},
        {"attempts", st.attempt},
        {"valid", valid},
        {"usage", usage_json(st)},
        {"data_wait_share", data_wait_share_of(st)},
        {"elapsed_seconds",
         std::chrono::duration<double>(steady::now() - st.started).count()},
        {"model", path}};
    if (auto err = write_json_file(st.init.out_dir + "/summary.json", summary))
      return fail(self, err);
    finish_job(self, summary);
  }

  job_config cfg_;
  net_data data_;
  uint32_t classes_ = 2;
  uint64_t steps_ = 0;
  std::vector<float> center_, scale_;
  std::unique_ptr<models::torch_rendezvous> store_;
  member_parts parts_;
  uint64_t epochs_done_ = 0;
  double last_loss_ = std::nan("");
  double train_seconds_ = 0;
  steady::time_point stepping_since_;
};

} // namespace

std::shared_ptr<job_plan> make_tensor_plan(const job_config& cfg) {
  return std::make_shared<tensor_plan>(cfg);
}

} // namespace troupe::training
