#pragma once

// What the plans of nets held in parts by their gang's members share
// (job_run.hpp; job_pipeline.cpp's stages, job_tensor.cpp's ranks): the
// data read once (net_data.hpp) with the inputs' standardisation, every
// member's part of one epoch kept together as the job's checkpoint
// (member_parts.hpp), the reporting member's progress, the status, and at
// the end the whole model and summary.json written. Not a public header:
// only those plans include it.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/training/job_run.hpp"
#include "actors/training/member_parts.hpp"
#include "actors/training/net_data.hpp"

namespace troupe::training {

class parted_net_plan : public job_plan {
public:
  parted_net_plan(job_config cfg, uint32_t members)
      : cfg_(std::move(cfg)), members_(members), parts_(members) {}

  caf::error prepare() override;
  uint32_t gang_size() const override { return members_; }
  std::optional<envelope> whole_checkpoint(job_self self, const envelope& ckpt,
                                           uint64_t step) override;
  void on_progress(job_self, uint64_t step, double loss) override;
  void disband(job_self) override { parts_.clear(); }
  void release() override;
  void
  status(job_self self,
         std::function<void(std::function<void(schema::JobStatus::Builder)>)>
             done) override;

protected:
  using parts = std::vector<std::vector<uint8_t>>;

  /// After the data is read: the family's own checks and shapes.
  virtual caf::error prepared() { return caf::none; }
  /// The members' parts as one model's bytes (a PipelineState, a
  /// MemberStates), and back.
  virtual std::vector<uint8_t> whole_model(const parts& p) const = 0;
  virtual caf::error parts_of(const std::vector<uint8_t>& model,
                              parts& p) const = 0;

  /// A placement begins: progress starts from the checkpoint, whose parts
  /// (empty ones without a checkpoint) the members start from.
  caf::expected<parts> begin_placement(job_self self);

  /// Writes member k's row shard for this placement from `values` (rows x
  /// cols, or none) and `labels` (rows, or none): the paths, in member
  /// order.
  caf::expected<std::vector<std::string>>
  write_member_shards(job_self self, const std::string& name,
                      const std::function<bool(uint32_t)>& with_values,
                      const std::function<bool(uint32_t)>& with_labels);

  /// Every member trained to the end (its answer a JobCheckpoint whose
  /// modelConfig is a JSON object, the first with "valid" giving the
  /// validation): writes OUT/`file` and summary.json, the shared fields
  /// and what `extra` adds from the members' JSON, and finishes the job.
  void finish_parts(
      job_self self, const std::vector<envelope>& answers,
      const std::string& file,
      const std::function<void(nlohmann::json&,
                               const std::vector<nlohmann::json>&)>& extra);

  job_config cfg_;
  uint32_t members_;
  net_data data_;
  uint64_t steps_ = 0;
  std::vector<float> center_, scale_;

private:
  member_parts parts_;
  uint64_t epochs_done_ = 0;
  double last_loss_ = std::nan("");
  double train_seconds_ = 0;
  steady::time_point stepping_since_;
};

} // namespace troupe::training
