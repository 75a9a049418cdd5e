#include "actors/training/parted_net_plan.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "actors/training/part_worker.hpp"
#include "actors/training/row_shard.hpp"
#include "runtime/errors.hpp"
#include "runtime/files.hpp"
#include "schemas/training.capnp.h"

namespace troupe::training {

caf::error parted_net_plan::prepare() {
  if (auto err = read_net_data(cfg_, data_)) return err;
  auto& t = data_.train;
  steps_ = t.rows / cfg_.batch;
  if (steps_ == 0)
    return make_error(errc::invalid_argument,
                      cfg_.source + ": " + std::to_string(t.rows) +
                          " training rows make no minibatch of batch = " +
                          std::to_string(cfg_.batch));
  // the members standardise their inputs with the training rows' means and
  // deviations
  column_scaling(t, center_, scale_);
  return prepared();
}

std::optional<envelope> parted_net_plan::whole_checkpoint(job_self self,
                                                          const envelope& ckpt,
                                                          uint64_t step) {
  auto& st = self->state;
  auto p = parts_.add(ckpt, step);
  if (!p) return std::nullopt;
  st.log->info("job {}: every member's part at epoch {} is in", st.init.id,
               step);
  return model_checkpoint(step, st.attempt, whole_model(*p));
}

void parted_net_plan::on_progress(job_self, uint64_t step, double loss) {
  if (stepping_since_ == steady::time_point{}) stepping_since_ = steady::now();
  epochs_done_ = std::max(epochs_done_, step);
  if (!std::isnan(loss)) last_loss_ = loss;
}

void parted_net_plan::release() {
  data_.train = tabular::matrix{};
  data_.valid = tabular::matrix{};
}

void parted_net_plan::status(
    job_self self,
    std::function<void(std::function<void(schema::JobStatus::Builder)>)> done) {
  done([=](auto s) {
    s.setEpochs(cfg_.epochs);
    parallel_status(self->state, s, cfg_.epochs, epochs_done_,
                    steps_ * cfg_.batch, train_seconds_);
  });
}

caf::expected<parted_net_plan::parts>
parted_net_plan::begin_placement(job_self self) {
  auto& st = self->state;
  parts_ = member_parts{members_};
  epochs_done_ = st.start_step;
  stepping_since_ = {};
  parts p(members_);
  if (st.ckpt.empty()) return p;
  auto model = st.ckpt.visit<schema::JobCheckpoint>(
      [](auto c) {
        auto m = c.getModel();
        return std::vector<uint8_t>(m.begin(), m.end());
      },
      whole_message);
  if (!model) return model.error();
  if (auto err = parts_of(*model, p)) return err;
  return p;
}

caf::expected<std::vector<std::string>> parted_net_plan::write_member_shards(
    job_self self, const std::string& name,
    const std::function<bool(uint32_t)>& with_values,
    const std::function<bool(uint32_t)>& with_labels) {
  auto& st = self->state;
  std::error_code ec;
  std::filesystem::create_directories(st.init.out_dir, ec);
  if (ec) return io_error("create", st.init.out_dir, ec.value());
  auto& t = data_.train;
  std::vector<std::string> out;
  for (uint32_t k = 0; k < members_; ++k) {
    auto path = st.init.out_dir + "/." + name + "-" +
                std::to_string(st.attempt) + "-" + std::to_string(k);
    bool values = with_values(k);
    bool labels = values || with_labels(k);
    if (auto err = write_row_shard(
            path, values ? static_cast<uint32_t>(t.cols) : 0,
            values ? t.values.data() : nullptr,
            labels ? t.labels.data() : nullptr, labels ? t.rows : 0))
      return err;
    out.push_back(std::move(path));
  }
  return out;
}

void parted_net_plan::finish_parts(
    job_self self, const std::vector<envelope>& answers,
    const std::string& file,
    const std::function<void(nlohmann::json&,
                             const std::vector<nlohmann::json>&)>& extra) {
  auto& st = self->state;
  auto now = steady::now();
  train_seconds_ =
      std::chrono::duration<double>(now - st.training_since).count();
  auto step_seconds =
      stepping_since_ == steady::time_point{}
          ? train_seconds_
          : std::chrono::duration<double>(now - stepping_since_).count();
  parts p;
  std::vector<nlohmann::json> infos;
  nlohmann::json valid = nlohmann::json::object();
  for (auto& a : answers) {
    auto r = a.visit<schema::JobCheckpoint>(
        [&](auto c) {
          auto m = c.getModel();
          p.emplace_back(m.begin(), m.end());
          auto info =
              nlohmann::json::parse(c.getModelConfig().cStr(), nullptr, false);
          if (!info.is_object()) info = nlohmann::json::object();
          if (info.contains("valid") && valid.empty()) valid = info["valid"];
          infos.push_back(std::move(info));
          return true;
        },
        whole_message);
    if (!r) return fail(self, r.error());
  }
  auto whole = whole_model(p);
  std::error_code ec;
  std::filesystem::create_directories(st.init.out_dir, ec);
  if (ec)
    return fail(self, io_error("cannot create the directory", st.init.out_dir,
                               ec.value()));
  auto path = st.init.out_dir + "/" + file;
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
      {"task", tabular::to_string(data_.task)},
      {"width", cfg_.net.width},
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
  extra(summary, infos);
  if (auto err = write_json_file(st.init.out_dir + "/summary.json", summary))
    return fail(self, err);
  finish_job(self, summary);
}

} // namespace troupe::training
