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

#include <cmath>
#include <memory>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/models/parallel_mlp.hpp"
#include "actors/training/part_worker.hpp"
#include "actors/training/parted_net_plan.hpp"
#include "actors/training/tp_worker.hpp"
#include "runtime/errors.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_argument, std::move(msg));
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

class tensor_plan : public parted_net_plan {
public:
  explicit tensor_plan(job_config cfg) : parted_net_plan(cfg, cfg.workers) {}

  caf::error prepared() override {
    if (data_.task == tabular::task_kind::regression)
      return invalid(cfg_.source +
                     ": a tensor job trains a classifier; the target is a "
                     "regression's");
    classes_ = static_cast<uint32_t>(std::max<size_t>(data_.classes, 2));
    if (classes_ < cfg_.workers || cfg_.net.width < cfg_.workers ||
        cfg_.net.hidden < cfg_.workers)
      return invalid(cfg_.source + ": " + std::to_string(classes_) +
                     " classes, width " + std::to_string(cfg_.net.width) +
                     " and hidden " + std::to_string(cfg_.net.hidden) +
                     " cannot be split over " + std::to_string(cfg_.workers) +
                     " workers");
    return caf::none;
  }

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
    auto states = begin_placement(self);
    if (!states) return fail(self, states.error());
    auto store = models::torch_rendezvous::serve(
        "0.0.0.0", static_cast<int>(cfg_.workers), 60);
    if (!store) return fail(self, store.error());
    store_ = std::make_unique<models::torch_rendezvous>(std::move(*store));
    // every rank the same rows
    auto shards = write_member_shards(
        self, "rank", [](uint32_t) { return true; },
        [](uint32_t) { return true; });
    if (!shards) return fail(self, shards.error());
    std::vector<envelope> parts;
    for (uint32_t k = 0; k < cfg_.workers; ++k)
      parts.push_back(part_of(self, k, (*states)[k]));
    train_parts_all(
        self, parts,
        [=](const std::vector<envelope>& answers) { finish(self, answers); },
        *shards);
  }

  void disband(job_self self) override {
    parted_net_plan::disband(self);
    store_.reset();
  }

  std::vector<uint8_t> whole_model(const parts& p) const override {
    return member_states(p);
  }

private:
  caf::error parts_of(const std::vector<uint8_t>& model,
                      parts& states) const override {
    auto e = envelope::from_bytes(capnp::typeId<schema::MemberStates>(),
                                  model.data(), model.size());
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
    finish_parts(
        self, answers, "model.tensor",
        [&](nlohmann::json& summary, const std::vector<nlohmann::json>& infos) {
          auto& st = self->state;
          std::vector<nlohmann::json> ranks;
          for (size_t k = 0; k < infos.size(); ++k) {
            nlohmann::json r = {
                {"rank", k},
                {"node", k < st.gang.size() ? st.gang[k].node : ""}};
            if (infos[k].contains("parameter_bytes"))
              r["parameter_bytes"] = infos[k]["parameter_bytes"];
            ranks.push_back(r);
          }
          summary["classes"] = classes_;
          summary["workers"] = cfg_.workers;
          summary["ranks"] = ranks;
          summary["hidden"] = cfg_.net.hidden;
          summary["blocks"] = cfg_.net.blocks;
        });
  }

  uint32_t classes_ = 2;
  std::unique_ptr<models::torch_rendezvous> store_;
};

} // namespace

std::shared_ptr<job_plan> make_tensor_plan(const job_config& cfg) {
  return std::make_shared<tensor_plan>(cfg);
}

} // namespace troupe::training
